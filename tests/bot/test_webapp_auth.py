"""initData validation against vectors built with Telegram's documented algorithm."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote, urlencode

import pytest

from bot.webapp_auth import InitDataRejected, validate_init_data

TOKEN = "123456789:AAEwebAppTestTokenXXXXXXXXXXXX"
NOW = 1_795_766_400


def telegram_init_data(token: str = TOKEN, auth_date: int = NOW - 10, **extra: str) -> str:
    """initData as Telegram builds it (independently of our implementation)."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": 279058397, "first_name": "Vlad", "language_code": "ru"}, separators=(",", ":")
        ),
        "auth_date": str(auth_date),
        **extra,
    }
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def test_genuine_init_data_names_the_user() -> None:
    user = validate_init_data(telegram_init_data(), TOKEN, 3600, NOW)
    assert (user.id, user.language_code) == (279058397, "ru")


def test_extra_fields_are_part_of_the_signed_string() -> None:
    data = telegram_init_data(chat_type="private", signature="abc")
    assert validate_init_data(data, TOKEN, 3600, NOW).id == 279058397


@pytest.mark.parametrize(
    ("init_data", "reason"),
    [
        (telegram_init_data().replace("Vlad", "Vlax"), "bad hash"),
        (telegram_init_data(token="987654321:AAEanotherBotTokenXXXXXXXXXXXX"), "bad hash"),
        (telegram_init_data(auth_date=NOW - 3601), "stale"),
        (telegram_init_data(auth_date=NOW + 3600), "stale"),
        (telegram_init_data().split("&hash=")[0], "bad hash"),
        ("", "missing"),
        ("x" * 5000, "oversized"),
        ("%%%", "malformed"),
        (telegram_init_data() + "&auth_date=1", "repeated"),
    ],
)
def test_forged_altered_stale_or_incomplete_data_is_rejected(init_data: str, reason: str) -> None:
    with pytest.raises(InitDataRejected, match=reason):
        validate_init_data(init_data, TOKEN, 3600, NOW)


def test_missing_user_is_rejected_even_when_signed() -> None:
    fields = {"auth_date": str(NOW), "query_id": "q"}
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    with pytest.raises(InitDataRejected, match="user"):
        validate_init_data(urlencode(fields), TOKEN, 3600, NOW)
