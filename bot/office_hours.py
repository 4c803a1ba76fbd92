"""Support office hours (`SUPPORT_HOURS`, e.g. "Mon-Fri 09:00-18:00") and when staff are back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from bot.preferences import parse_clock

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days(spec: str) -> frozenset[int]:
    chosen: set[int] = set()
    for part in spec.lower().split(","):
        first, sep, last = part.strip().partition("-")
        if first not in DAYS or (sep and last not in DAYS):
            raise ValueError(f"not a day or range of days: {part!r}")
        start = DAYS.index(first)
        end = DAYS.index(last) if sep else start
        day = start
        while True:
            chosen.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(chosen)


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Working days and a daily opening range (not past midnight)."""

    days: frozenset[int]
    opens: time
    closes: time

    def is_open(self, moment: datetime, zone: tzinfo) -> bool:
        """Whether staff are at work at this moment."""
        local = moment.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        return local.weekday() in self.days and self.opens <= clock < self.closes

    def next_opening(self, moment: datetime, zone: tzinfo) -> datetime:
        """When staff are next at work (local time in `zone`); `moment` itself if open."""
        local = moment.astimezone(zone)
        if self.is_open(local, zone):
            return local
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            opening = datetime.combine(day, self.opens, tzinfo=local.tzinfo)
            if day.weekday() in self.days and opening > local:
                return opening
        raise ValueError("office hours with no working day")


def parse_office_hours(value: str) -> OfficeHours:
    """`"Mon-Fri 09:00-18:00"` → OfficeHours; ValueError for anything else."""
    days, _, hours = value.strip().partition(" ")
    opens, sep, closes = hours.strip().partition("-")
    if not sep:
        raise ValueError(f"not office hours: {value!r}")
    parsed = OfficeHours(_days(days), parse_clock(opens), parse_clock(closes))
    if parsed.opens >= parsed.closes:
        raise ValueError(f"office hours must open before they close: {value!r}")
    return parsed
