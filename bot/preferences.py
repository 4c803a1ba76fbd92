"""What notifications a person wants, and when: kinds they muted and their quiet hours.

Kept in `TelegramUser.settings` (JSON) under two keys:

- `"muted"`: a list of `NotificationKind` values the person does not want;
- `"quiet_hours"`: `"HH:MM-HH:MM"`, `"off"`, or absent for the operator's default.

The dispatcher reads them when it sends, so a change applies to notices already queued.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any


class NotificationKind(enum.StrEnum):
    """Groups of notices a person can switch on or off."""

    PERMIT = "permit"  # issued, extended, changed, cancelled
    APPLICATIONS = "applications"  # submitted and every status change
    CARD = "card"  # social-security card ready for pickup and other card news
    REMINDERS = "reminders"  # extension window, last days, expiry, Notification Letter


def kind_of(message: str) -> NotificationKind | None:
    """The kind an outbox message key belongs to (None: always delivered, e.g. replies)."""
    family = message.removeprefix("employer.").split(".", 1)[0]
    return {
        "permit": NotificationKind.PERMIT,
        "application": NotificationKind.APPLICATIONS,
        "social_security": NotificationKind.CARD,
        "reminder": NotificationKind.REMINDERS,
    }.get(family)


def parse_clock(value: str) -> time:
    """`"07:00"` → 07:00; ValueError for anything else."""
    hours, sep, minutes = value.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not a time of day: {value!r}")
    return time(int(hours), int(minutes))


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily range of local time in which bulk notices wait (it may wrap past midnight)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls inside the quiet range."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def next_allowed(self, now: datetime, zone: tzinfo) -> datetime | None:
        """When sending may resume (aware, in UTC-comparable form), or None if not quiet now."""
        local = now.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return None
        resume = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if resume <= local:
            resume += timedelta(days=1)
        return resume


def parse_quiet_hours(value: str) -> QuietHours | None:
    """`"21:00-08:00"` → QuietHours, `"off"` → None; ValueError otherwise."""
    text = value.strip().lower()
    if text == "off":
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"not a range of hours: {value!r}")
    quiet = QuietHours(parse_clock(start), parse_clock(end))
    if quiet.start == quiet.end:
        raise ValueError(f"an empty range of hours: {value!r}")
    return quiet


@dataclass(frozen=True, slots=True)
class Preferences:
    """One person's notification preferences, with the operator's default quiet hours."""

    muted: frozenset[NotificationKind]
    quiet_hours: QuietHours | None

    @classmethod
    def from_settings(
        cls, stored: dict[str, Any] | None, default: QuietHours | None
    ) -> Preferences:
        """Read what `TelegramUser.settings` holds, ignoring anything malformed."""
        stored = stored or {}
        muted = frozenset(
            NotificationKind(kind)
            for kind in stored.get("muted", ())
            if kind in NotificationKind._value2member_map_
        )
        quiet = default
        raw = stored.get("quiet_hours")
        if isinstance(raw, str):
            try:
                quiet = parse_quiet_hours(raw)
            except ValueError:
                quiet = default
        return cls(muted, quiet)

    def wants(self, message: str) -> bool:
        """Whether this person wants notices with this message key."""
        kind = kind_of(message)
        return kind is None or kind not in self.muted


def store_preferences(
    stored: dict[str, Any] | None,
    *,
    muted: set[NotificationKind] | None = None,
    quiet_hours: str | None = None,
) -> dict[str, Any]:
    """A new settings dict with the given preferences changed (JSON columns need a new dict)."""
    updated = dict(stored or {})
    if muted is not None:
        updated["muted"] = sorted(kind.value for kind in muted)
    if quiet_hours is not None:
        updated["quiet_hours"] = quiet_hours
    return updated
