"""Deadline reminders (message keys `reminder.*`), queued by the daily reminder scan.

Each one says the worker's own dates and what to do next; the dates come from the row's
parameters, which the scan filled in with the dates it judged the permit by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.deadlines import EXTENSION_CLOSES_DAYS
from bot.i18n import _, ngettext
from bot.notifications import day_param


def _days_left(params: dict[str, Any]) -> int:
    return int(params["days_left"])


def _extension_window_open(params: dict[str, Any]) -> str:
    days = _days_left(params)
    return ngettext(
        "⏰ Your work permit expires on {date}, in {n} day. The extension window is open now: "
        "your employer can apply for the extension in the Service System until {last}. "
        "After that day the system refuses extension applications, so start now.",
        "⏰ Your work permit expires on {date}, in {n} days. The extension window is open now: "
        "your employer can apply for the extension in the Service System until {last}. "
        "After that day the system refuses extension applications, so start now.",
        days,
    ).format(date=day_param(params, "valid_until"), n=days, last=day_param(params, "last_day"))


def _extension_60_days(params: dict[str, Any]) -> str:
    days = _days_left(params)
    return ngettext(
        "⏰ {n} day left: your work permit expires on {date}. If the extension has not been "
        "applied for yet, ask your employer to apply now. The last day to apply is {last}.",
        "⏰ {n} days left: your work permit expires on {date}. If the extension has not been "
        "applied for yet, ask your employer to apply now. The last day to apply is {last}.",
        days,
    ).format(n=days, date=day_param(params, "valid_until"), last=day_param(params, "last_day"))


def _extension_last_week(params: dict[str, Any]) -> str:
    to_last_day = _days_left(params) - EXTENSION_CLOSES_DAYS
    if to_last_day <= 0:
        first = _(
            "⚠️ Today, {last}, is the last day to apply for the extension of your work permit."
        )
    else:
        first = ngettext(
            "⚠️ Last week to extend: {last} is the last day to apply for the extension of your "
            "work permit ({n} day from today).",
            "⚠️ Last week to extend: {last} is the last day to apply for the extension of your "
            "work permit ({n} days from today).",
            to_last_day,
        )
    return (
        first.format(last=day_param(params, "last_day"), n=to_last_day)
        + " "
        + _(
            "After that the system refuses extension applications, and the permit lapses on "
            "{date} and is cancelled. If your employer has not applied yet, ask them today."
        ).format(date=day_param(params, "valid_until"))
    )


def _permit_expired(params: dict[str, Any]) -> str:
    return _(
        "⛔ Your work permit expired on {date}. You may not work on it any more, and it will be "
        "cancelled. To keep working in China, your employer has to apply for a new work "
        "permit: talk to them now. If an extension was approved, your permit will show the new "
        "date in /status once the records are updated."
    ).format(date=day_param(params, "valid_until"))


def _notification_letter_lapsing(params: dict[str, Any]) -> str:
    days = _days_left(params)
    dates = {
        "issued": day_param(params, "issued_on"),
        "until": day_param(params, "valid_until"),
        "n": days,
    }
    if days < 0:
        return _(
            "✈️ Your Notification Letter of Foreigner's Work Permit (issued on {issued}) could "
            "be used until {until}, and no entry to China is recorded. Ask your employer "
            "whether a new letter is needed before you apply for a Z visa."
        ).format(**dates)
    if days == 0:
        return _(
            "✈️ Your Notification Letter of Foreigner's Work Permit (issued on {issued}) is "
            "valid only until today ({until}): if you have not entered China yet, ask your "
            "employer now whether a new letter is needed. If you have entered already, ask "
            "them to record your entry."
        ).format(**dates)
    return ngettext(
        "✈️ Your Notification Letter of Foreigner's Work Permit (issued on {issued}) is valid "
        "until {until}, {n} day from now. Get your Z visa and enter China before then; after "
        "entry, apply for your residence permit within 30 days. If you have entered already, "
        "ask your employer to record your entry.",
        "✈️ Your Notification Letter of Foreigner's Work Permit (issued on {issued}) is valid "
        "until {until}, {n} days from now. Get your Z visa and enter China before then; after "
        "entry, apply for your residence permit within 30 days. If you have entered already, "
        "ask your employer to record your entry.",
        days,
    ).format(**dates)


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "reminder.extension_window_open": _extension_window_open,
    "reminder.extension_60_days": _extension_60_days,
    "reminder.extension_last_week": _extension_last_week,
    "reminder.permit_expired": _permit_expired,
    "reminder.notification_letter_lapsing": _notification_letter_lapsing,
}
