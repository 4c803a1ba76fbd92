"""The events API: signed, validated, applied once, with the notices it causes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from storage.models import (
    Application,
    ApplicationEvent,
    OutboxMessage,
    PermitStatus,
    ReceivedEvent,
    SocialSecurityRecord,
    WorkPermit,
)
from tests.conftest import BotHarness, make_settings
from tests.e2e.records import PEOPLE, Client, linked, web_client

SECRET = "events-secret-for-tests-0123456789"
ANNA = PEOPLE["Anna Müller"]


@pytest.fixture
async def api(seeded: BotHarness, tmp_path: Path) -> AsyncIterator[tuple[Client, BotHarness]]:
    seeded.app.bot_data.settings = make_settings(tmp_path, EVENTS_API_SECRET=SECRET)
    await linked(seeded, ANNA, user_id=4711)
    async with web_client(seeded) as client:
        yield client, seeded


def event(event_id: str, event_type: str, /, **data: Any) -> dict[str, Any]:
    """An event body as the records system sends it."""
    occurred = "2026-11-27T08:00:00+08:00"
    return {"event_id": event_id, "type": event_type, "occurred_at": occurred, "data": data}


async def post(
    client: Client,
    body: bytes | dict[str, Any],
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    headers = {"X-Timestamp": stamp, "X-Signature": signature or f"sha256={digest}",
               "Content-Type": "application/json"}  # fmt: skip
    response = await client.post("/api/v1/events", data=raw, headers=headers)
    return response.status, await response.json()


async def counts(bot: BotHarness) -> tuple[int, int, int]:
    async with bot.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(ReceivedEvent)) or 0,
            await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            await session.scalar(select(func.count()).select_from(ApplicationEvent)) or 0,
        )


async def test_extension_updates_the_permit_and_queues_a_notice(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    status, body = await post(
        client, event("e-1", "permit.extended", permit_no=ANNA.permit_no, valid_until="2029-02-05")
    )
    assert (status, body) == (200, {"status": "accepted"})
    async with bot.db.session() as session:
        permit = await session.scalar(
            select(WorkPermit).where(WorkPermit.permit_no == ANNA.permit_no)
        )
        [notice] = (await session.scalars(select(OutboxMessage))).all()
    assert permit is not None
    assert permit.valid_until == date(2029, 2, 5)
    assert (notice.telegram_user_id, notice.message) == (4711, "permit.extended")
    assert notice.params == {"valid_until": "2029-02-05"}
    assert notice.dedupe_key == "event:e-1:4711"


async def test_repeated_event_id_is_accepted_and_changes_nothing(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    cancel = event("e-2", "permit.cancelled", permit_no=ANNA.permit_no)
    assert (await post(client, cancel))[0] == 200
    before = await counts(bot)
    assert await post(client, cancel) == (200, {"status": "duplicate"})
    assert await counts(bot) == before


async def test_same_event_id_with_other_content_is_a_conflict(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    await post(client, event("e-3", "permit.cancelled", permit_no=ANNA.permit_no))
    before = await counts(bot)
    status, body = await post(
        client, event("e-3", "permit.extended", permit_no=ANNA.permit_no, valid_until="2030-01-01")
    )
    assert status == 409
    assert "event_id" in body["error"]
    assert await counts(bot) == before


async def test_application_lifecycle_is_recorded_with_history(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    submitted = event("e-4", "application.submitted", permit_no=ANNA.permit_no,
                      reference_no="EXT-NEW-1", kind="extension")  # fmt: skip
    assert (await post(client, submitted))[0] == 200
    review = event("e-5", "application.status_changed", reference_no="EXT-NEW-1",
                   status="documents_requested", note="Upload the contract.")  # fmt: skip
    assert (await post(client, review))[0] == 200
    async with bot.db.session() as session:
        application = await session.scalar(
            select(Application).where(Application.reference_no == "EXT-NEW-1")
        )
        assert application is not None
        history = (
            await session.scalars(
                select(ApplicationEvent.status).where(
                    ApplicationEvent.application_id == application.id
                )
            )
        ).all()
        messages = (await session.scalars(select(OutboxMessage.message))).all()
    assert application.status.value == "documents_requested"
    assert sorted(h.value for h in history) == ["documents_requested", "submitted"]
    assert sorted(messages) == ["application.status_changed", "application.submitted"]


async def test_card_status_change_updates_the_social_security_record(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    change = event("e-6", "social_security.card_status_changed", permit_no=ANNA.permit_no,
                   card_state="collected")  # fmt: skip
    assert (await post(client, change))[0] == 200
    async with bot.db.session() as session:
        states = (await session.scalars(select(SocialSecurityRecord.card_state))).all()
    assert "collected" in [state.value for state in states]


async def test_entry_is_recorded_and_confirmed_to_the_worker(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    entry = event("e-30", "person.entry_recorded", permit_no=ANNA.permit_no,
                  entered_on="2026-11-20")  # fmt: skip
    assert await post(client, entry) == (200, {"status": "accepted"})
    async with bot.db.session() as session:
        permit = await session.scalar(
            select(WorkPermit).where(WorkPermit.permit_no == ANNA.permit_no)
        )
        [notice] = (await session.scalars(select(OutboxMessage))).all()
    assert permit is not None
    assert permit.entered_on == date(2026, 11, 20)
    assert (notice.telegram_user_id, notice.message) == (4711, "permit.entry_recorded")
    assert notice.params == {"entered_on": "2026-11-20"}


async def test_recorded_entry_ends_the_notification_letter_reminder(
    api: tuple[Client, BotHarness],
) -> None:
    from bot.reminders import Threshold, scan_reminders

    client, bot = api
    async with bot.db.session() as session:
        await session.execute(
            update(WorkPermit)
            .where(WorkPermit.permit_no == ANNA.permit_no)
            .values(notification_letter_issued_on=date(2026, 6, 5), entered_on=None)
        )
    entry = event("e-31", "person.entry_recorded", permit_no=ANNA.permit_no,
                  entered_on="2026-11-26")  # fmt: skip
    assert (await post(client, entry))[0] == 200
    report = await scan_reminders(bot.db, date(2026, 11, 27))  # the letter lapses 2026-12-05
    assert report.queued[Threshold.NOTIFICATION_LETTER_LAPSING] == 0
    async with bot.db.session() as session:
        messages = (await session.scalars(select(OutboxMessage.message))).all()
    assert "reminder.notification_letter_lapsing" not in messages


@pytest.mark.parametrize(
    ("entered_on", "reason"),
    [
        ("2026-06-01", "data.entered_on: must not be before the Notification Letter was issued"),
        ("2026-11-28", "data.entered_on: must not be after occurred_at"),
        ("2026-11-31", "data.entered_on"),
    ],
)
async def test_impossible_entry_dates_are_refused(
    api: tuple[Client, BotHarness], entered_on: str, reason: str
) -> None:
    client, bot = api
    async with bot.db.session() as session:
        await session.execute(
            update(WorkPermit)
            .where(WorkPermit.permit_no == ANNA.permit_no)
            .values(notification_letter_issued_on=date(2026, 6, 5))
        )
    entry = event("e-32", "person.entry_recorded", permit_no=ANNA.permit_no,
                  entered_on=entered_on)  # fmt: skip
    status, answer = await post(client, entry)
    assert status == 400
    assert reason in answer["error"]
    assert (await counts(bot))[:2] == (0, 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        ({"event_id": "x", "type": "permit.cancelled"}, "occurred_at"),
        (event("e", "permit.teleported", permit_no=ANNA.permit_no), "type"),
        (event("e", "permit.cancelled", permit_no="123"), "data.permit_no"),
        (event("e", "permit.extended", permit_no=ANNA.permit_no), "data.valid_until"),
        (event("e", "permit.cancelled", permit_no=ANNA.permit_no, extra="x"), "data.extra"),
        (event("bad id!", "permit.cancelled", permit_no=ANNA.permit_no), "event_id"),
        (
            {
                **event("e", "permit.cancelled", permit_no=ANNA.permit_no),
                "occurred_at": "2026-11-27T08:00:00",
            },
            "occurred_at",
        ),
    ],
)
async def test_malformed_events_are_400_naming_the_field(
    api: tuple[Client, BotHarness], body: bytes | dict[str, Any], reason: str
) -> None:
    client, bot = api
    status, answer = await post(client, body)
    assert status == 400
    assert reason in answer["error"]
    assert (await counts(bot))[:2] == (0, 0)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"secret": "wrong-secret-wrong-secret"}, "bad signature"),
        ({"signature": "sha256=" + "0" * 64}, "bad signature"),
        ({"signature": "nonsense"}, "bad signature"),
        ({"timestamp": -301}, "replay refused"),
        ({"timestamp": +310}, "replay refused"),
    ],
)
async def test_bad_signatures_and_replays_are_401(
    api: tuple[Client, BotHarness], kwargs: dict[str, Any], reason: str
) -> None:
    client, bot = api
    if "timestamp" in kwargs:  # an offset from now, applied when the request is made
        kwargs = {"timestamp": int(time.time()) + kwargs["timestamp"]}
    status, answer = await post(
        client, event("e-7", "permit.cancelled", permit_no=ANNA.permit_no), **kwargs
    )
    assert (status, reason in answer["error"]) == (401, True)
    async with bot.db.session() as session:
        permit = await session.scalar(
            select(WorkPermit).where(WorkPermit.permit_no == ANNA.permit_no)
        )
    assert permit is not None
    assert permit.status is PermitStatus.VALID


async def test_missing_signature_is_401(api: tuple[Client, BotHarness]) -> None:
    client, _bot = api
    response = await client.post("/api/v1/events", json=event("e", "permit.cancelled"))
    assert response.status == 401


async def test_unknown_permit_is_404_and_writes_nothing(api: tuple[Client, BotHarness]) -> None:
    client, bot = api
    status, answer = await post(
        client, event("e-8", "permit.cancelled", permit_no="123456789012345678")
    )
    assert (status, answer) == (404, {"error": "unknown permit"})
    assert (await counts(bot))[:2] == (0, 0)


async def test_too_large_body_is_413(api: tuple[Client, BotHarness]) -> None:
    client, _bot = api
    huge = event("e-9", "permit.cancelled", permit_no=ANNA.permit_no)
    huge["data"]["padding"] = "x" * 70_000
    status, _answer = await post(client, huge)
    assert status == 413


async def test_openapi_document_describes_the_events_api(api: tuple[Client, BotHarness]) -> None:
    client, _bot = api
    response = await client.get("/api/openapi.json")
    document = await response.json()
    operation = document["paths"]["/api/v1/events"]["post"]
    assert {"200", "400", "401", "404", "409", "413"} <= set(operation["responses"])
    envelope = document["components"]["schemas"]["EventEnvelope"]
    assert "permit.cancelled" in json.dumps(envelope)


async def test_event_notice_reaches_the_worker_through_telegram(
    api: tuple[Client, BotHarness],
) -> None:
    from bot.app import telegram_sender
    from bot.dispatcher import OutboxDispatcher

    client, bot = api
    bot.api.remember_chat({"id": 4711, "type": "private", "first_name": "Anna"})
    await post(
        client, event("e-20", "permit.extended", permit_no=ANNA.permit_no, valid_until="2029-02-05")
    )
    dispatcher = OutboxDispatcher(bot.db, telegram_sender(bot.app), "en")
    bot.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    first = await dispatcher.drain_once()
    assert (first.sent, first.retried) == (0, 1)
    dispatcher.clock = lambda: datetime.now(UTC) + timedelta(seconds=2)
    bot.api.fail_next("sendMessage", 502, "Bad Gateway")
    second = await dispatcher.drain_once()
    assert second.retried == 1
    dispatcher.clock = lambda: datetime.now(UTC) + timedelta(minutes=10)
    third = await dispatcher.drain_once()
    assert third.sent == 1
    [notice] = [c for c in bot.api.calls_to("sendMessage") if c.result]
    assert notice.params["chat_id"] == 4711
    assert "valid until February 5, 2029" in str(notice.result["text"])
