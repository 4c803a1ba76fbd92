"""Outbox rows rendered in the recipient's language when sent; the outbox summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.i18n import RLM
from bot.notifications import RENDERERS, UnknownNotification, render_notification
from storage.database import Database
from storage.models import OutboxMessage, OutboxState
from storage.repositories import OutboxRepository

PARAMS: dict[str, dict[str, Any]] = {
    "permit.issued": {"valid_until": "2028-02-05"},
    "permit.extended": {"valid_until": "2029-02-05"},
    "permit.changed": {"fields": ["position"]},
    "permit.cancelled": {},
    "permit.entry_recorded": {"entered_on": "2026-11-20"},
    "application.submitted": {"reference_no": "EXT-1", "kind": "extension"},
    "application.status_changed": {
        "reference_no": "EXT-1",
        "kind": "extension",
        "status": "documents_requested",
    },
    "social_security.card_status_changed": {
        "card_state": "ready_for_pickup",
        "pickup_place": "Xuhui Service Centre",
    },
}


def test_every_event_kind_has_a_notice() -> None:
    assert set(RENDERERS) == set(PARAMS)


@pytest.mark.parametrize("message", sorted(PARAMS))
@pytest.mark.parametrize("locale", ["en", "ru", "zh_Hans", "ar"])
def test_each_notice_renders_in_each_language(message: str, locale: str) -> None:
    text = render_notification(message, PARAMS[message], locale)
    assert text.strip()
    if locale == "ar":
        assert text.startswith(RLM)
    if locale != "en":
        assert text != render_notification(message, PARAMS[message], "en")


def test_notices_carry_the_user_s_dates_and_next_steps() -> None:
    assert render_notification("permit.extended", PARAMS["permit.extended"], "en") == (
        "✅ Your work permit has been extended. It is now valid until February 5, 2029."
    )
    documents = render_notification(
        "application.status_changed", PARAMS["application.status_changed"], "en"
    )
    assert "extension application EXT-1 is now: documents requested." in documents
    assert "Upload the missing documents" in documents
    pickup = render_notification(
        "social_security.card_status_changed",
        PARAMS["social_security.card_status_changed"],
        "zh_Hans",
    )
    assert "Xuhui Service Centre" in pickup


def test_unknown_notice_is_refused() -> None:
    with pytest.raises(UnknownNotification):
        render_notification("permit.teleported", {}, "en")


async def test_outbox_summary_counts_states_and_the_oldest_pending(database: Database) -> None:
    now = datetime.now(UTC)
    async with database.session() as session:
        for n, (state, age) in enumerate(
            [(OutboxState.PENDING, 120), (OutboxState.PENDING, 30), (OutboxState.SENT, 600)]
        ):
            session.add(
                OutboxMessage(
                    dedupe_key=f"k{n}",
                    telegram_user_id=1,
                    message="permit.cancelled",
                    state=state,
                    created_at=now - timedelta(seconds=age),
                )
            )
    async with database.session() as session:
        summary = await OutboxRepository(session).summary()
    assert summary.by_state == {"pending": 2, "sent": 1}
    assert summary.oldest_pending is not None
    assert abs((summary.oldest_pending - (now - timedelta(seconds=120))).total_seconds()) < 1
