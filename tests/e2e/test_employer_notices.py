"""Events reach the employer's chats: one outbox row per linked chat in the event's
transaction, deduplicated, and delivered in each chat's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import telegram_sender
from bot.dispatcher import OutboxDispatcher
from storage.models import OutboxMessage
from tests.conftest import BotHarness, make_settings
from tests.e2e.records import PEOPLE, Client, linked, web_client
from tests.e2e.test_employer_journey import group_member, invite
from tests.e2e.test_events_api import SECRET, event, post

ANNA = PEOPLE["Anna Müller"]
IVAN = PEOPLE["Иван Петров"]
WORKER = 4711
HR_PRIVATE = 300001  # an HR person's private chat, in English
HR_GROUP = -1001234  # an HR group, linked by a Russian-speaking member
WHO = {"full_name": "Anna Müller", "permit_masked": "9015 **** **** **** 01"}

EVENTS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("n-1", "permit.issued", {"permit_no": ANNA.permit_no, "issued_on": "2026-11-20",
     "valid_until": "2028-11-19"}, {"valid_until": "2028-11-19"}),
    ("n-2", "permit.extended", {"permit_no": ANNA.permit_no, "valid_until": "2029-02-05"},
     {"valid_until": "2029-02-05"}),
    ("n-3", "permit.changed", {"permit_no": ANNA.permit_no, "position": "Lead Engineer"},
     {"fields": ["position"]}),
    ("n-4", "application.submitted", {"permit_no": ANNA.permit_no, "reference_no": "EXT-N-1",
     "kind": "extension"}, {"reference_no": "EXT-N-1", "kind": "extension"}),
    ("n-5", "application.status_changed", {"reference_no": "EXT-N-1",
     "status": "documents_requested", "note": "Upload the contract."},
     {"reference_no": "EXT-N-1", "kind": "extension", "status": "documents_requested"}),
    ("n-6", "social_security.card_status_changed", {"permit_no": ANNA.permit_no,
     "card_state": "ready_for_pickup"},
     {"card_state": "ready_for_pickup",
      "pickup_place": "Xuhui District Social Security Service Centre"}),
    ("n-7", "permit.cancelled", {"permit_no": ANNA.permit_no}, {}),
]  # fmt: skip


@pytest.fixture
async def api(seeded: BotHarness, tmp_path: Path) -> AsyncIterator[tuple[Client, BotHarness]]:
    """The events API, with Anna's account linked and two chats linked to her employer."""
    seeded.app.bot_data.settings = make_settings(tmp_path, EVENTS_API_SECRET=SECRET)
    await linked(seeded, ANNA, user_id=WORKER)
    seeded.api.remember_chat({"id": WORKER, "type": "private", "first_name": "Anna"})
    hr = seeded.user("en", user_id=HR_PRIVATE)
    members = [hr, group_member(seeded, chat_id=HR_GROUP, language="ru")]
    for member in members:
        await seeded.send(member.text(f"/start {await invite(seeded)}"))
        assert await seeded.app.bot_data.employers.employer_of_chat(member.chat["id"])
    async with web_client(seeded) as client:
        yield client, seeded


async def outbox(bot: BotHarness) -> list[OutboxMessage]:
    async with bot.db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_every_event_kind_queues_one_notice_per_employer_chat(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    for event_id, kind, data, _params in EVENTS:
        assert await post(client, event(event_id, kind, **data)) == (200, {"status": "accepted"})
    rows = {row.dedupe_key: row for row in await outbox(bot)}
    assert len(rows) == 3 * len(EVENTS)
    for event_id, kind, _data, params in EVENTS:
        worker = rows[f"event:{event_id}:{WORKER}"]
        assert (worker.telegram_user_id, worker.message, worker.params) == (WORKER, kind, params)
        for chat_id in (HR_PRIVATE, HR_GROUP):
            notice = rows[f"event:{event_id}:chat:{chat_id}"]
            assert notice.telegram_user_id == chat_id
            assert notice.message == f"employer.{kind}"
            assert notice.params == {**params, **WHO}


async def test_the_same_event_twice_queues_nothing_more(api: tuple[Client, BotHarness]) -> None:
    client, bot = api
    extended = event("n-2", "permit.extended", permit_no=ANNA.permit_no, valid_until="2029-02-05")
    assert (await post(client, extended))[0] == 200
    assert await post(client, extended) == (200, {"status": "duplicate"})
    rows = await outbox(bot)
    assert sorted(row.telegram_user_id for row in rows) == sorted([WORKER, HR_PRIVATE, HR_GROUP])


async def test_another_employer_s_worker_is_not_told_to_these_chats(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    assert (await post(client, event("n-9", "permit.cancelled", permit_no=IVAN.permit_no)))[
        0
    ] == 200
    assert await outbox(bot) == []


async def test_an_unlinked_chat_hears_nothing_more(api: tuple[Client, BotHarness]) -> None:
    client, bot = api
    member = group_member(bot, chat_id=HR_GROUP, language="ru")
    calls = await bot.send(member.text("/employer_unlink"))
    await bot.send(member.press(calls[-1].result, "emp:unlink:yes"))
    assert (await post(client, event("n-8", "permit.cancelled", permit_no=ANNA.permit_no)))[
        0
    ] == 200
    assert sorted(row.telegram_user_id for row in await outbox(bot)) == [WORKER, HR_PRIVATE]


async def test_employer_notices_arrive_in_each_chat_s_language(
    api: tuple[Client, BotHarness],
) -> None:
    client, bot = api
    for event_id, kind, data, _params in EVENTS[1:2] + EVENTS[3:5]:
        assert (await post(client, event(event_id, kind, **data)))[0] == 200
    bot.api.take_calls()
    dispatcher = OutboxDispatcher(bot.db, telegram_sender(bot.app), "en")
    dispatcher.clock = lambda: datetime.now(UTC) + timedelta(seconds=1)
    report = await dispatcher.drain_once()
    assert report.sent == 9
    sent: dict[int, list[str]] = {}
    for call in bot.api.calls_to("sendMessage"):
        sent.setdefault(int(call.params["chat_id"]), []).append(str(call.result["text"]))
    assert sent[HR_PRIVATE][0] == (
        "✅ Work permit of Anna Müller (9015 **** **** **** 01) extended until February 5, 2029."
    )
    assert sent[HR_PRIVATE][2] == (
        "📋 Extension application EXT-N-1 of Anna Müller (9015 **** **** **** 01): more "
        "documents required. Upload them in the Service System."
    )
    assert "5 февраля 2029" in sent[HR_GROUP][0]  # the group's language: Russian
    assert "Anna Müller" in sent[HR_GROUP][0]
    assert sent[WORKER][0].startswith("✅ Your work permit has been extended.")
