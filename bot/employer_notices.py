"""Notices to employers' chats about their workers (message keys `employer.*`).

An employer row carries the worker notice's parameters plus the worker's `full_name` and
`permit_masked`; it is rendered in the employer chat's language when it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from babel.lists import format_list

from bot.deadlines import residence_permit_due
from bot.i18n import N_, _, babel_locale, current_locale, format_day, isolate
from bot.notifications import _application, day_param
from bot.permits import APPLICATION_KIND_LABELS, APPLICATION_STATUS_LABELS, CARD_LABELS
from storage.models import ApplicationKind, ApplicationStatus, CardState

EMPLOYER_NOTICE_PREFIX = "employer."

# What `permit.changed` lists as changed, as HR reads it (code and name are one employer).
CHANGED_FIELD_LABELS = {
    "employer_code": N_("employer"),
    "employer_name": N_("employer"),
    "position": N_("position"),
    "work_city": N_("work city"),
}


def _application_title(params: dict[str, Any]) -> dict[str, str]:
    # The kind opens the sentence here, so it keeps its capital (`Extension application`).
    kind = ApplicationKind(params["kind"])
    return {**_application(params), "kind": _(APPLICATION_KIND_LABELS[kind])}


def _who(params: dict[str, Any]) -> dict[str, str]:
    return {
        "name": isolate(params["full_name"]),
        "permit": isolate(params["permit_masked"]),
    }


def _permit_issued(params: dict[str, Any]) -> str:
    return _("✅ Work permit of {name} ({permit}) issued, valid until {date}.").format(
        date=day_param(params, "valid_until"), **_who(params)
    )


def _permit_extended(params: dict[str, Any]) -> str:
    return _("✅ Work permit of {name} ({permit}) extended until {date}.").format(
        date=day_param(params, "valid_until"), **_who(params)
    )


def _permit_changed(params: dict[str, Any]) -> str:
    labels = list(
        dict.fromkeys(
            _(CHANGED_FIELD_LABELS[field])
            for field in params.get("fields", [])
            if field in CHANGED_FIELD_LABELS
        )
    )
    if not labels:
        return _("ℹ️ Work permit of {name} ({permit}) changed.").format(**_who(params))
    changed = format_list(labels, locale=babel_locale(current_locale()))
    return _("ℹ️ Work permit of {name} ({permit}) changed: {fields}.").format(
        fields=changed, **_who(params)
    )


def _permit_cancelled(params: dict[str, Any]) -> str:
    return _(
        "⛔ Work permit of {name} ({permit}) cancelled. They may no longer work on it."
    ).format(**_who(params))


def _application_submitted(params: dict[str, Any]) -> str:
    return _(
        "📨 {name} ({permit}): {kind} application {reference} submitted. Pre-review takes "
        "about 5 working days."
    ).format(**_application(params), **_who(params))


def _application_status_changed(params: dict[str, Any]) -> str:
    status = ApplicationStatus(params["status"])
    if status is ApplicationStatus.DOCUMENTS_REQUESTED:
        return _(
            "📋 {kind} application {reference} of {name} ({permit}): more documents "
            "required. Upload them in the Service System."
        ).format(**_application_title(params), **_who(params))
    return _("📋 {kind} application {reference} of {name} ({permit}): {status}.").format(
        status=_(APPLICATION_STATUS_LABELS[status]), **_application_title(params), **_who(params)
    )


def _card_status_changed(params: dict[str, Any]) -> str:
    state = CardState(params["card_state"])
    if state is CardState.READY_FOR_PICKUP and params.get("pickup_place"):
        return _(
            "🪪 Social security card of {name} ({permit}) is ready for pickup at {place}."
        ).format(place=isolate(params["pickup_place"]), **_who(params))
    return _("🪪 Social security card of {name} ({permit}): {state}.").format(
        state=_(CARD_LABELS[state]), **_who(params)
    )


def _entry_recorded(params: dict[str, Any]) -> str:
    entered = date.fromisoformat(str(params["entered_on"]))
    return _(
        "🛬 {name} ({permit}) entered China on {date}. The residence permit must be applied "
        "for within 30 days of entry, by {due}."
    ).format(
        date=isolate(format_day(entered)),
        due=isolate(format_day(residence_permit_due(entered))),
        **_who(params),
    )


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    EMPLOYER_NOTICE_PREFIX + "permit.issued": _permit_issued,
    EMPLOYER_NOTICE_PREFIX + "permit.extended": _permit_extended,
    EMPLOYER_NOTICE_PREFIX + "permit.changed": _permit_changed,
    EMPLOYER_NOTICE_PREFIX + "permit.cancelled": _permit_cancelled,
    EMPLOYER_NOTICE_PREFIX + "permit.entry_recorded": _entry_recorded,
    EMPLOYER_NOTICE_PREFIX + "application.submitted": _application_submitted,
    EMPLOYER_NOTICE_PREFIX + "application.status_changed": _application_status_changed,
    EMPLOYER_NOTICE_PREFIX + "social_security.card_status_changed": _card_status_changed,
}
