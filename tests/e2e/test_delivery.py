"""Notifications under fire: the real Application, scheduler and dispatcher against a Bot API
that fails at random, people who block and unblock the bot, and a dispatcher process that is
killed with SIGKILL in the middle of a batch."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update

from bot.app import BotApplication, build_application
from bot.inprocess_bot_api import ApiCall, InjectedFailure, InProcessBotAPI
from storage.database import Database
from storage.models import OutboxMessage, OutboxState, TelegramUser
from storage.repositories import UserRepository
from tests.bot_api_server import serve_bot_api
from tests.conftest import make_settings
from tests.test_cli import TOKEN, spawn, stop

FIRST_DAY = date(2027, 3, 1)


def private_chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": f"Worker {user_id}"}


async def queue_notices(db: Database, users: range, per_user: int) -> dict[int, list[str]]:
    """Queue `per_user` permit-extended notices per user; returns the dates each must read."""
    expected: dict[int, list[str]] = {}
    async with db.session() as session:
        for user_id in users:
            await UserRepository(session).seen(user_id, "en")
            for index in range(per_user):
                day = FIRST_DAY + timedelta(days=index)
                session.add(
                    OutboxMessage(
                        dedupe_key=f"test:{user_id}:{index}",
                        telegram_user_id=user_id,
                        message="permit.extended",
                        params={"valid_until": day.isoformat()},
                    )
                )
                expected.setdefault(user_id, []).append(f"{day:%B} {day.day}, {day.year}")
    return expected


async def outbox_states(db: Database) -> dict[OutboxState, int]:
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
    return {state: int(count) for state, count in rows.all()}


def delivered(api: InProcessBotAPI) -> dict[int, list[str]]:
    """Texts each chat really received (calls Telegram answered with a message)."""
    received: dict[int, list[str]] = {}
    for call in api.calls_to("sendMessage"):
        if isinstance(call.result, dict):
            received.setdefault(int(call.params["chat_id"]), []).append(call.result["text"])
    return received


@pytest.fixture
async def fast_bot(tmp_path: Path) -> AsyncIterator[tuple[BotApplication, InProcessBotAPI]]:
    """The bot with limits scaled up (the fake server here does not enforce them)."""
    settings = make_settings(
        tmp_path, QUIET_HOURS="off", RATE_GLOBAL_PER_SECOND=500, RATE_PER_CHAT_PER_SECOND=50
    )
    db = Database(settings.database_url)
    await db.migrate()
    api = InProcessBotAPI()
    app = build_application(settings, db, request=api)
    app.bot_data.dispatcher.backoff_base = 0.05
    async with app:
        await app.start()
        try:
            yield app, api
        finally:
            await app.stop()
    await db.dispose()


async def settled(db: Database, seconds: float) -> None:
    """Return once no row is pending; fail after `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if not (await outbox_states(db)).get(OutboxState.PENDING):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"rows still pending after {seconds} s: {await outbox_states(db)}")


async def run_until_settled(app: BotApplication) -> None:
    """Run the dispatcher loop until no row is pending any more."""
    stopping = asyncio.Event()
    task = asyncio.create_task(app.bot_data.dispatcher.run(stopping))
    try:
        await settled(app.bot_data.db, 60)
    finally:
        stopping.set()
        await task


async def test_random_faults_lose_no_deliverable_notice(
    fast_bot: tuple[BotApplication, InProcessBotAPI],
) -> None:
    app, api = fast_bot
    db = app.bot_data.db
    users = range(5001, 5101)
    blocked = {5007, 5019, 5023, 5050, 5061, 5077, 5088, 5099}
    for user_id in users:
        api.remember_chat(private_chat(user_id))
    expected = await queue_notices(db, users, per_user=3)
    dice = random.Random(6)
    injected: dict[str, int] = {}

    def fault(call: ApiCall) -> InjectedFailure | None:
        if call.method != "sendMessage":
            return None
        if int(call.params["chat_id"]) in blocked:
            return InjectedFailure(403, "Forbidden: bot was blocked by the user")
        roll = dice.random()
        if roll < 0.08:
            kind, failure = "429", InjectedFailure(429, "Too Many Requests: retry after 1", 1)
        elif roll < 0.12:
            kind, failure = "502", InjectedFailure(502, "Bad Gateway")
        elif roll < 0.14:
            kind, failure = "500", InjectedFailure(500, "Internal Server Error")
        elif roll < 0.18:
            kind, failure = "timeout", InjectedFailure(0, "no answer")
        else:
            return None
        injected[kind] = injected.get(kind, 0) + 1
        return failure

    api.fault = fault
    await run_until_settled(app)

    assert set(injected) == {"429", "502", "500", "timeout"}, injected  # each fault happened
    received = delivered(api)
    for user_id in users:
        if user_id in blocked:
            assert user_id not in received
            continue
        # Every notice arrived exactly once (a retried one may come after a later one).
        assert sorted(received[user_id]) == sorted(
            f"✅ Your work permit has been extended. It is now valid until {day}."
            for day in expected[user_id]
        )
    states = await outbox_states(db)
    assert states == {OutboxState.SENT: 3 * 92, OutboxState.PARKED: 3 * 8}
    async with db.session() as session:
        unreachable = set(
            (await session.scalars(select(TelegramUser.id).where(TelegramUser.unreachable))).all()
        )
    assert unreachable == blocked
    assert app.bot_data.scheduler.stats.http_429 == injected["429"]


def member_update(update_id: int, user_id: int, old: str, new: str) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Worker", "language_code": "en"}
    bot_user = InProcessBotAPI.bot_user()
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": private_chat(user_id),
            "from": person,
            "date": 1790000000,
            # Telegram sends until_date with "kicked" (0: for ever).
            "old_chat_member": {"status": old, "user": bot_user, "until_date": 0},
            "new_chat_member": {"status": new, "user": bot_user, "until_date": 0},
        },
    }


async def test_blocking_parks_notices_and_unblocking_delivers_them(
    fast_bot: tuple[BotApplication, InProcessBotAPI],
) -> None:
    app, api = fast_bot
    db = app.bot_data.db
    api.remember_chat(private_chat(6001))
    await app.process_update(Update.de_json(member_update(1, 6001, "member", "kicked"), app.bot))
    await queue_notices(db, range(6001, 6002), per_user=2)
    # Queued after the block: the dispatcher meets Forbidden once and parks both.
    api.fault = lambda call: (
        InjectedFailure(403, "Forbidden: bot was blocked by the user")
        if call.method == "sendMessage"
        else None
    )
    await run_until_settled(app)
    assert await outbox_states(db) == {OutboxState.PARKED: 2}

    api.fault = None
    await app.process_update(Update.de_json(member_update(2, 6001, "kicked", "member"), app.bot))
    async with db.session() as session:
        user = await session.get(TelegramUser, 6001)
        assert user is not None
        assert user.unreachable is False
    assert await outbox_states(db) == {OutboxState.PENDING: 2}
    await run_until_settled(app)
    assert await outbox_states(db) == {OutboxState.SENT: 2}
    assert len(delivered(api)[6001]) == 2

    # Blocking again parks what is pending without trying to send it.
    async with db.session() as session:
        session.add(
            OutboxMessage(
                dedupe_key="later",
                telegram_user_id=6001,
                message="permit.changed",
                params={},
            )
        )
    await app.process_update(Update.de_json(member_update(3, 6001, "member", "kicked"), app.bot))
    assert (await outbox_states(db))[OutboxState.PARKED] == 1


async def test_a_dispatcher_killed_mid_batch_loses_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    db = Database(settings.database_url)
    await db.migrate()
    users = range(7001, 7151)
    expected = await queue_notices(db, users, per_user=2)
    api = InProcessBotAPI()
    for user_id in users:
        api.remember_chat(private_chat(user_id))

    async with serve_bot_api(api, TOKEN) as base_url:
        env = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": base_url,
            "DATABASE_URL": settings.database_url,
            "IDENTIFIER_HASH_KEY": "k" * 40,
            "QUIET_HOURS": "off",
            "RATE_GLOBAL_PER_SECOND": "60",
            "DISPATCH_LEASE_SECONDS": "5",
        }
        first = await spawn(tmp_path, "dispatch", **env)
        try:
            async with asyncio.timeout(60):
                await api.wait_for("sendMessage", 60)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert first.returncode == -signal.SIGKILL
        before = await outbox_states(db)
        assert before.get(OutboxState.PENDING, 0) > 0  # it really died mid-way

        second = await spawn(tmp_path, "dispatch", **env)
        try:
            await settled(db, 90)
        finally:
            stderr = await stop(second)
        assert second.returncode == 0, stderr.decode()

    assert await outbox_states(db) == {OutboxState.SENT: 300}
    received = delivered(api)
    for user_id in users:
        # Each notice arrived; one that was in flight at the kill may have arrived twice
        # (at-least-once), never zero times.
        assert set(received[user_id]) == {
            f"✅ Your work permit has been extended. It is now valid until {day}."
            for day in expected[user_id]
        }
    duplicates = sum(len(texts) for texts in received.values()) - 300
    assert 0 <= duplicates <= 200  # at most what the killed process held in flight
    await db.dispose()
