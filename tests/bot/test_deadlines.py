"""Deadline rules: the 90/30-day extension window and the 10-working-day filing rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.deadlines import ExtensionWindow, WorkingCalendar, extension_deadline, official_holidays

TODAY = date(2026, 11, 27)  # a Friday


@pytest.mark.parametrize(
    ("days_left", "window"),
    [
        (400, ExtensionWindow.NOT_YET),
        (91, ExtensionWindow.NOT_YET),
        (90, ExtensionWindow.OPEN),
        (31, ExtensionWindow.OPEN),
        (30, ExtensionWindow.OPEN),
        (29, ExtensionWindow.TOO_LATE),
        (0, ExtensionWindow.TOO_LATE),
        (-1, ExtensionWindow.EXPIRED),
    ],
)
def test_extension_window_on_each_side_of_90_and_30_days(
    days_left: int, window: ExtensionWindow
) -> None:
    valid_until = TODAY + timedelta(days=days_left)
    deadline = extension_deadline(valid_until, TODAY)
    assert deadline.window is window
    assert deadline.days_left == days_left
    assert deadline.opens_on == valid_until - timedelta(days=90)
    assert deadline.last_day == valid_until - timedelta(days=30)


def test_ten_working_days_skip_the_weekend() -> None:
    calendar = WorkingCalendar()
    assert calendar.filing_deadline(TODAY) == date(2026, 12, 11)
    # An event on a Saturday counts from the next Monday.
    assert calendar.filing_deadline(date(2026, 11, 28)) == date(2026, 12, 11)


def test_public_holidays_from_the_list_are_not_working_days() -> None:
    calendar = WorkingCalendar({date(2026, 12, 1), date(2026, 12, 2)})
    assert calendar.filing_deadline(TODAY) == date(2026, 12, 15)


def test_china_national_day_week_is_skipped() -> None:
    calendar = WorkingCalendar(official_holidays("CN", 2026, 2026))
    assert calendar.filing_deadline(date(2026, 9, 30)) == date(2026, 10, 21)


def test_no_calendar_means_weekends_only() -> None:
    assert official_holidays("none", 2026, 2027) == frozenset()
