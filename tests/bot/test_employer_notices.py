"""Notices to employers' chats: one per worker notice kind, in the chat's language."""

from __future__ import annotations

from typing import Any

import pytest

from bot.employer_notices import EMPLOYER_NOTICE_PREFIX
from bot.employer_notices import RENDERERS as EMPLOYER_RENDERERS
from bot.i18n import RLM
from bot.notifications import RENDERERS, render_notification
from tests.bot.test_notifications import PARAMS

WHO = {"full_name": "Anna Müller", "permit_masked": "9015 **** **** **** 01"}
# The same date, written the way each language writes it.
EXTENDED_UNTIL = {
    "en": "February 5, 2029",
    "ru": "5 февраля 2029",
    "zh_Hans": "2029年2月5日",
    "ar": "فبراير",
}


def employer_params(message: str) -> dict[str, Any]:
    return {**PARAMS[message], **WHO}


def test_every_worker_notice_has_an_employer_notice() -> None:
    assert set(EMPLOYER_RENDERERS) == {EMPLOYER_NOTICE_PREFIX + key for key in RENDERERS}


@pytest.mark.parametrize("message", sorted(PARAMS))
@pytest.mark.parametrize("locale", ["en", "ru", "zh_Hans", "ar"])
def test_each_employer_notice_names_the_worker_in_each_language(message: str, locale: str) -> None:
    text = render_notification(EMPLOYER_NOTICE_PREFIX + message, employer_params(message), locale)
    assert "Anna Müller" in text
    assert "9015 **** **** **** 01" in text
    assert text.startswith(RLM) == (locale == "ar")
    assert text != render_notification(message, PARAMS[message], locale)  # not the worker's


@pytest.mark.parametrize("locale", sorted(EXTENDED_UNTIL))
def test_employer_notice_dates_are_in_the_chat_s_language(locale: str) -> None:
    text = render_notification(
        "employer.permit.extended", employer_params("permit.extended"), locale
    )
    assert EXTENDED_UNTIL[locale] in text


def test_employer_notices_read_as_hr_reads_them() -> None:
    def en(message: str, **changes: Any) -> str:
        params = {**employer_params(message), **changes}
        return render_notification(EMPLOYER_NOTICE_PREFIX + message, params, "en")

    assert en("permit.extended") == (
        "✅ Work permit of Anna Müller (9015 **** **** **** 01) extended until February 5, 2029."
    )
    assert en("application.status_changed") == (
        "📋 Extension application EXT-1 of Anna Müller (9015 **** **** **** 01): more "
        "documents required. Upload them in the Service System."
    )
    assert en("application.status_changed", status="approved").endswith(": approved.")
    assert en("permit.changed", fields=["employer_code", "employer_name", "work_city"]) == (
        "ℹ️ Work permit of Anna Müller (9015 **** **** **** 01) changed: employer and work city."
    )
    assert en("permit.changed", fields=[]) == (
        "ℹ️ Work permit of Anna Müller (9015 **** **** **** 01) changed."
    )
    assert "ready for pickup at Xuhui Service Centre" in en("social_security.card_status_changed")
    assert en("social_security.card_status_changed", card_state="collected").endswith(
        ": delivered."
    )
    assert "extension application EXT-1 submitted" in en("application.submitted")
    assert "cancelled" in en("permit.cancelled")
