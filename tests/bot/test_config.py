"""Settings: STAFF_LOCALE falls back to DEFAULT_LOCALE and is checked like it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


def test_staff_read_the_default_locale_unless_told_otherwise() -> None:
    assert (
        load_settings(_env_file=None, DEFAULT_LOCALE="ru", STAFF_LOCALE=None).staff_locale == "ru"
    )
    assert load_settings(_env_file=None, DEFAULT_LOCALE="ru", STAFF_LOCALE="").staff_locale == "ru"
    chosen = load_settings(_env_file=None, DEFAULT_LOCALE="ru", STAFF_LOCALE="zh_Hans")
    assert chosen.staff_locale == "zh_Hans"
    assert chosen.DEFAULT_LOCALE == "ru"


@pytest.mark.parametrize("value", ["xx", "english", "zh"])
def test_an_unknown_staff_locale_is_refused_with_the_shipped_ones_listed(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, STAFF_LOCALE=value)
    message = str(refused.value)
    assert message.startswith("STAFF_LOCALE is invalid: expected one of en, ")
    assert "zh_Hans" in message
    assert f"(got {value!r})" in message
