"""Deadline reminders rendered in the worker's language, with their own dates."""

from __future__ import annotations

from typing import Any

import pytest

from bot.i18n import RLM
from bot.notifications import render_notification
from bot.reminder_notices import RENDERERS
from bot.reminders import Threshold

EXPIRY = {"valid_until": "2027-02-25", "last_day": "2027-01-26"}
PARAMS: dict[str, dict[str, Any]] = {
    "reminder.extension_window_open": {**EXPIRY, "days_left": 90},
    "reminder.extension_60_days": {**EXPIRY, "days_left": 60},
    "reminder.extension_last_week": {**EXPIRY, "days_left": 35},
    "reminder.permit_expired": {"valid_until": "2026-11-20"},
    "reminder.notification_letter_lapsing": {
        "issued_on": "2026-06-10",
        "valid_until": "2026-12-10",
        "days_left": 13,
    },
}


def test_every_threshold_has_a_notice() -> None:
    assert set(RENDERERS) == {threshold.message for threshold in Threshold} == set(PARAMS)


@pytest.mark.parametrize("message", sorted(PARAMS))
@pytest.mark.parametrize("locale", ["en", "ru", "zh_Hans", "ar"])
def test_each_reminder_renders_in_each_language(message: str, locale: str) -> None:
    text = render_notification(message, PARAMS[message], locale)
    assert text.strip()
    assert "{" not in text
    if locale == "ar":
        assert text.startswith(RLM)


def test_window_open_says_the_expiry_and_the_last_day_to_apply() -> None:
    text = render_notification(
        "reminder.extension_window_open", PARAMS["reminder.extension_window_open"], "en"
    )
    assert text.startswith("⏰ Your work permit expires on February 25, 2027, in 90 days.")
    assert "until January 26, 2027" in text


def test_sixty_days_counts_down() -> None:
    text = render_notification(
        "reminder.extension_60_days", PARAMS["reminder.extension_60_days"], "en"
    )
    assert text.startswith("⏰ 60 days left: your work permit expires on February 25, 2027.")
    assert "The last day to apply is January 26, 2027." in text


def test_last_week_names_the_exact_last_day_and_its_plural() -> None:
    five = render_notification(
        "reminder.extension_last_week", PARAMS["reminder.extension_last_week"], "en"
    )
    assert five.startswith(
        "⚠️ Last week to extend: January 26, 2027 is the last day to apply for the extension "
        "of your work permit (5 days from today)."
    )
    assert "the permit lapses on February 25, 2027 and is cancelled" in five
    one = render_notification("reminder.extension_last_week", {**EXPIRY, "days_left": 31}, "en")
    assert "(1 day from today)" in one
    today = render_notification("reminder.extension_last_week", {**EXPIRY, "days_left": 30}, "en")
    assert today.startswith("⚠️ Today, January 26, 2027, is the last day to apply")


def test_expired_says_it_lapsed_and_what_to_do() -> None:
    text = render_notification("reminder.permit_expired", PARAMS["reminder.permit_expired"], "en")
    assert text.startswith("⛔ Your work permit expired on November 20, 2026.")
    assert "your employer has to apply for a new work permit" in text


def test_letter_reminder_asks_to_enter_on_the_z_visa_in_time() -> None:
    params = PARAMS["reminder.notification_letter_lapsing"]
    text = render_notification("reminder.notification_letter_lapsing", params, "en")
    assert "(issued on June 10, 2026) is valid until December 10, 2026, 13 days from now" in text
    assert "Get your Z visa and enter China before then" in text
    last = render_notification(
        "reminder.notification_letter_lapsing", {**params, "days_left": 0}, "en"
    )
    assert "valid only until today (December 10, 2026)" in last
    lapsed = render_notification(
        "reminder.notification_letter_lapsing", {**params, "days_left": -2}, "en"
    )
    assert "could be used until December 10, 2026" in lapsed
    assert "whether a new letter is needed" in lapsed


def test_arabic_reminders_isolate_the_dates() -> None:
    text = render_notification(
        "reminder.extension_60_days", PARAMS["reminder.extension_60_days"], "ar"
    )
    assert "\u2068" in text
    assert "\u2069" in text
