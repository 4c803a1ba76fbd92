"""Turning an outbox row (message key + parameters) into text, in the recipient's language.

Rows are rendered when they are sent, not when they are queued, so a worker who changes
language in between reads the notice in the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

from bot.deadlines import residence_permit_due
from bot.i18n import _, directional, format_day, isolate, mid_sentence, use_locale
from bot.permits import APPLICATION_KIND_LABELS, APPLICATION_STATUS_LABELS, CARD_LABELS
from storage.models import ApplicationKind, ApplicationStatus, CardState


class UnknownNotification(ValueError):
    """An outbox row whose message key this version cannot render."""


def day_param(params: dict[str, Any], key: str) -> str:
    """The date stored under `key` in a notice's parameters, formatted for the reader."""
    return isolate(format_day(date.fromisoformat(str(params[key]))))


def _application(params: dict[str, Any]) -> dict[str, str]:
    return {
        "kind": mid_sentence(_(APPLICATION_KIND_LABELS[ApplicationKind(params["kind"])])),
        "reference": isolate(params["reference_no"]),
    }


def _permit_issued(params: dict[str, Any]) -> str:
    return _("✅ Your work permit has been issued. It is valid until {date}.").format(
        date=day_param(params, "valid_until")
    )


def _permit_extended(params: dict[str, Any]) -> str:
    return _("✅ Your work permit has been extended. It is now valid until {date}.").format(
        date=day_param(params, "valid_until")
    )


def _permit_changed(params: dict[str, Any]) -> str:
    return _("ℹ️ The details of your work permit have changed. See /status for the new ones.")


def _permit_cancelled(params: dict[str, Any]) -> str:
    return _(
        "⛔ Your work permit has been cancelled. You may not work on it any more. "
        "See /status for what to do next."
    )


def _application_submitted(params: dict[str, Any]) -> str:
    return _(
        "📨 Your {kind} application {reference} has been submitted. Pre-review takes about "
        "5 working days."
    ).format(**_application(params))


def _application_status_changed(params: dict[str, Any]) -> str:
    status = ApplicationStatus(params["status"])
    text = _("📋 Your {kind} application {reference} is now: {status}.").format(
        status=_(APPLICATION_STATUS_LABELS[status]), **_application(params)
    )
    if status is ApplicationStatus.DOCUMENTS_REQUESTED:
        text += " " + _(
            "Upload the missing documents in the Service System; see /status for the notice."
        )
    return text


def _card_status_changed(params: dict[str, Any]) -> str:
    state = CardState(params["card_state"])
    if state is CardState.READY_FOR_PICKUP and params.get("pickup_place"):
        return _("🪪 Your social security card is ready for pickup at {place}.").format(
            place=isolate(params["pickup_place"])
        )
    return _("🪪 Your social security card: {state}.").format(state=_(CARD_LABELS[state]))


def _entry_recorded(params: dict[str, Any]) -> str:
    entered = date.fromisoformat(str(params["entered_on"]))
    return _(
        "🛬 Your entry to China on {date} is recorded. Apply for your residence permit at the "
        "exit-entry office of the public security bureau where you work within 30 days of "
        "entry, by {due}. See /guide for what to bring."
    ).format(
        date=isolate(format_day(entered)), due=isolate(format_day(residence_permit_due(entered)))
    )


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "permit.issued": _permit_issued,
    "permit.extended": _permit_extended,
    "permit.changed": _permit_changed,
    "permit.cancelled": _permit_cancelled,
    "permit.entry_recorded": _entry_recorded,
    "application.submitted": _application_submitted,
    "application.status_changed": _application_status_changed,
    "social_security.card_status_changed": _card_status_changed,
}


@cache
def _all_renderers() -> dict[str, Callable[[dict[str, Any]], str]]:
    # Employer notices and reminders live beside their features; imported late (they use
    # this module's helpers), merged once per process.
    from bot.employer_notices import RENDERERS as EMPLOYER_RENDERERS
    from bot.reminder_notices import RENDERERS as REMINDER_RENDERERS

    return {**RENDERERS, **EMPLOYER_RENDERERS, **REMINDER_RENDERERS}


def render_notification(message: str, params: dict[str, Any], locale: str) -> str:
    """The notice's text in `locale`, or `UnknownNotification` for a key we cannot render."""
    renderer = _all_renderers().get(message)
    if renderer is None:
        raise UnknownNotification(message)
    with use_locale(locale):
        return directional(renderer(params))
