"""Validating a Telegram Mini App's `initData` exactly as Telegram specifies.

secret_key = HMAC-SHA256(key="WebAppData", message=bot_token); the expected `hash` is
HMAC-SHA256(key=secret_key, message=data_check_string), where data_check_string is every
received field but `hash`, as `key=value`, sorted by key and joined with line feeds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_INIT_DATA = 4096


class InitDataRejected(Exception):
    """`initData` that is forged, altered, stale or incomplete."""


@dataclass(frozen=True, slots=True)
class WebAppUser:
    """The Telegram user a valid `initData` vouches for."""

    id: int
    language_code: str | None
    auth_date: int


def data_check_string(fields: dict[str, str]) -> str:
    """The string Telegram signs: fields but `hash`, `key=value`, sorted, joined by LF."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """The `hash` Telegram would compute for these fields (used by tests and the demo)."""
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def validate_init_data(init_data: str, bot_token: str, max_age: int, now: float) -> WebAppUser:
    """The user of a genuine, fresh `initData`, else `InitDataRejected` (reason inside)."""
    if not init_data or len(init_data) > MAX_INIT_DATA:
        raise InitDataRejected("missing or oversized initData")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataRejected("malformed initData") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRejected("repeated field")
    received = fields.get("hash", "")
    expected = sign_init_data(fields, bot_token)
    if not hmac.compare_digest(received.encode(), expected.encode()):
        raise InitDataRejected("bad hash")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise InitDataRejected("missing auth_date or user") from None
    if now - auth_date > max_age or auth_date - now > 60:
        raise InitDataRejected("stale initData")
    language = user.get("language_code")
    return WebAppUser(user_id, language if isinstance(language, str) else None, auth_date)
