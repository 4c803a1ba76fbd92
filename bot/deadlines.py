"""Permit deadline rules: the extension window, the Notification Letter's validity and the
10-working-day filing rule."""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

EXTENSION_OPENS_DAYS = 90
EXTENSION_CLOSES_DAYS = 30
FILING_WORKING_DAYS = 10
NOTIFICATION_LETTER_MONTHS = 6
RESIDENCE_PERMIT_DAYS = 30  # days after entry on a Z visa to apply for the residence permit


class ExtensionWindow(enum.StrEnum):
    """Where today falls relative to the extension window of a permit."""

    NOT_YET = "not_yet"  # more than 90 days left: too early to apply
    OPEN = "open"  # 90 to 30 days left: apply now
    TOO_LATE = "too_late"  # fewer than 30 days left: the system refuses extensions
    EXPIRED = "expired"  # past the valid-until date


@dataclass(frozen=True, slots=True)
class ExtensionDeadline:
    """The extension window of one permit, seen from one day."""

    window: ExtensionWindow
    days_left: int
    opens_on: date
    last_day: date
    valid_until: date

    @property
    def days_to_last_day(self) -> int:
        """Days from today to the last day an extension can be applied for."""
        return self.days_left - EXTENSION_CLOSES_DAYS


def extension_deadline(valid_until: date, today: date) -> ExtensionDeadline:
    """Which side of the 90/30-day window `today` is on, with the window's dates."""
    days_left = (valid_until - today).days
    if days_left < 0:
        window = ExtensionWindow.EXPIRED
    elif days_left < EXTENSION_CLOSES_DAYS:
        window = ExtensionWindow.TOO_LATE
    elif days_left <= EXTENSION_OPENS_DAYS:
        window = ExtensionWindow.OPEN
    else:
        window = ExtensionWindow.NOT_YET
    return ExtensionDeadline(
        window=window,
        days_left=days_left,
        opens_on=valid_until - timedelta(days=EXTENSION_OPENS_DAYS),
        last_day=valid_until - timedelta(days=EXTENSION_CLOSES_DAYS),
        valid_until=valid_until,
    )


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def notification_letter_valid_until(issued_on: date) -> date:
    """The last day a Notification Letter can be used: 6 months after it was issued."""
    return add_months(issued_on, NOTIFICATION_LETTER_MONTHS)


def residence_permit_due(entered_on: date) -> date:
    """The last day to apply for the residence permit after entering on a Z visa."""
    return entered_on + timedelta(days=RESIDENCE_PERMIT_DAYS)


class WorkingCalendar:
    """Working days: Monday to Friday, minus public holidays."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day."""
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, count: int) -> date:
        """The day `count` working days after `start` (the day of the event itself excluded)."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def filing_deadline(self, event_day: date) -> date:
        """Last day to file a change or a cancellation for something that happened on a day."""
        return self.add_working_days(event_day, FILING_WORKING_DAYS)


@cache
def official_holidays(country: str, first_year: int, last_year: int) -> frozenset[date]:
    """Public holidays of a country from the `holidays` package (empty for `none`)."""
    if country.lower() == "none":
        return frozenset()
    import holidays

    calendar = holidays.country_holidays(country, years=range(first_year, last_year + 1))
    return frozenset(calendar.keys())
