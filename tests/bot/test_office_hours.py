"""Support office hours: parsing SUPPORT_HOURS, and when staff are back."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.office_hours import parse_office_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_working_days_and_hours_in_the_operator_s_zone() -> None:
    hours = parse_office_hours("Mon-Fri 09:00-18:00")
    friday_morning = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert hours.is_open(friday_morning, SHANGHAI)
    friday_evening = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai
    assert not hours.is_open(friday_evening, SHANGHAI)
    # Friday evening: back on Monday at 09:00.
    assert hours.next_opening(friday_evening, SHANGHAI) == datetime(
        2026, 11, 30, 9, 0, tzinfo=SHANGHAI
    )
    early_tuesday = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # Tue 07:00 in Shanghai
    assert hours.next_opening(early_tuesday, SHANGHAI) == datetime(
        2026, 12, 1, 9, 0, tzinfo=SHANGHAI
    )


def test_lists_and_ranges_that_wrap_the_week() -> None:
    assert parse_office_hours("Sat,Sun 10:00-12:00").days == {5, 6}
    assert parse_office_hours("Fri-Mon 08:00-20:00").days == {4, 5, 6, 0}


@pytest.mark.parametrize(
    "value", ["", "Mon-Fri", "Monday 09:00-18:00", "Mon-Fri 18:00-09:00", "Mon-Fri 9-18"]
)
def test_malformed_hours_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_office_hours(value)


def test_settings_check_the_support_values(tmp_path: object) -> None:
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="SUPPORT_HOURS is invalid"):
        load_settings(_env_file=None, SUPPORT_HOURS="always")
    with pytest.raises(ConfigError, match="SUPPORT_CHAT_ID is invalid"):
        load_settings(_env_file=None, SUPPORT_CHAT_ID="12345")
    with pytest.raises(ConfigError, match="ADMIN_USER_IDS is invalid"):
        load_settings(_env_file=None, ADMIN_USER_IDS="12,abc")
    settings = load_settings(_env_file=None, SUPPORT_CHAT_ID="-100123", ADMIN_USER_IDS="1, 2")
    assert settings.SUPPORT_CHAT_ID == -100123
    assert settings.admin_user_ids == {1, 2}
