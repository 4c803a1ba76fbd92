"""The outbox dispatcher on SQLite and PostgreSQL: leases, outcomes, rendering at send time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.dispatcher import (
    MAX_ATTEMPTS,
    OutboxDispatcher,
    RetryLater,
    TransientFailure,
    Unreachable,
)
from storage.database import Database
from storage.models import OutboxMessage, OutboxState, TelegramUser
from storage.repositories import OutboxClaims, UserRepository

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Telegram:
    """Records what was sent; fails as told, per chat."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.failures: dict[int, list[Exception]] = {}

    async def send(self, chat_id: int, text: str) -> None:
        queued = self.failures.get(chat_id)
        if queued:
            raise queued.pop(0)
        self.sent.append((chat_id, text))


async def queue(db: Database, user_id: int, key: str, locale: str | None = None) -> None:
    async with db.session() as session:
        await UserRepository(session).seen(user_id, "en")
        if locale:
            await UserRepository(session).set_locale(user_id, locale)
        session.add(
            OutboxMessage(
                dedupe_key=key,
                telegram_user_id=user_id,
                message="permit.extended",
                params={"valid_until": "2029-02-05"},
                available_at=NOW - timedelta(seconds=1),
            )
        )


async def states(db: Database) -> dict[str, OutboxState]:
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    return {row.dedupe_key: row.state for row in rows}


def dispatcher(db: Database, telegram: Telegram, now: list[datetime]) -> OutboxDispatcher:
    return OutboxDispatcher(db, telegram.send, "en", clock=lambda: now[0], jitter=lambda: 0.5)


async def test_notices_are_sent_once_in_the_recipient_s_language(database: Database) -> None:
    await queue(database, 1, "a", locale="ru")
    await queue(database, 2, "b")
    telegram, now = Telegram(), [NOW]
    report = await dispatcher(database, telegram, now).drain_once()
    assert (report.sent, report.failed) == (2, 0)
    texts = dict(telegram.sent)
    assert texts[1].startswith("✅ Ваше разрешение на работу продлено")
    assert texts[2].startswith("✅ Your work permit has been extended")
    assert await states(database) == {"a": OutboxState.SENT, "b": OutboxState.SENT}
    assert (await dispatcher(database, telegram, now).drain_once()).sent == 0


async def test_a_claimed_row_comes_back_only_after_its_lease_expires(database: Database) -> None:
    await queue(database, 1, "a")
    async with database.session() as session:
        [claimed] = await OutboxClaims(session).claim(NOW, timedelta(minutes=2), 10)
    assert claimed.attempts == 1
    # The claimer "crashed": nobody else may take the row while its lease runs...
    async with database.session() as session:
        assert (
            await OutboxClaims(session).claim(NOW + timedelta(minutes=1), timedelta(minutes=2), 10)
            == []
        )
    # ...and once it has expired, the row is delivered by the next dispatcher.
    telegram, now = Telegram(), [NOW + timedelta(minutes=3)]
    assert (await dispatcher(database, telegram, now).drain_once()).sent == 1
    assert [chat for chat, _text in telegram.sent] == [1]


async def test_rate_limit_delays_only_that_chat(database: Database) -> None:
    await queue(database, 1, "a")
    await queue(database, 2, "b")
    telegram, now = Telegram(), [NOW]
    telegram.failures[1] = [RetryLater(30)]
    report = await dispatcher(database, telegram, now).drain_once()
    assert (report.sent, report.retried) == (1, 1)
    now[0] = NOW + timedelta(seconds=29)
    assert (await dispatcher(database, telegram, now).drain_once()).sent == 0
    now[0] = NOW + timedelta(seconds=31)
    assert (await dispatcher(database, telegram, now).drain_once()).sent == 1


async def fail_every_attempt(db: Database, error: Exception) -> OutboxMessage:
    """Queue one notice, fail each of its attempts with `error`; its row afterwards."""
    await queue(db, 1, "a")
    telegram, now = Telegram(), [NOW]
    telegram.failures[1] = [error] * MAX_ATTEMPTS
    for _attempt in range(MAX_ATTEMPTS):
        await dispatcher(db, telegram, now).drain_once()
        now[0] += timedelta(minutes=10)
    assert await states(db) == {"a": OutboxState.FAILED}
    async with db.session() as session:
        row: OutboxMessage | None = await session.scalar(select(OutboxMessage))
    assert row is not None
    return row


async def test_transient_failures_back_off_then_give_up(database: Database) -> None:
    row = await fail_every_attempt(database, TransientFailure("502 Bad Gateway"))
    assert row.last_error == "502 Bad Gateway"
    assert row.attempts == MAX_ATTEMPTS


async def test_blocked_user_is_marked_unreachable_and_their_notices_parked(
    database: Database,
) -> None:
    await queue(database, 1, "a")
    await queue(database, 1, "b")
    await queue(database, 2, "c")
    telegram, now = Telegram(), [NOW]
    telegram.failures[1] = [Unreachable()]
    report = await dispatcher(database, telegram, now).drain_once()
    assert report.parked == 1
    assert await states(database) == {
        "a": OutboxState.PARKED,
        "b": OutboxState.PARKED,
        "c": OutboxState.SENT,
    }
    async with database.session() as session:
        user = await session.get(TelegramUser, 1)
    assert user is not None
    assert user.unreachable is True


async def test_an_unexpected_error_is_logged_retried_then_failed(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    row = await fail_every_attempt(database, ValueError("Anna Müller"))
    assert row.last_error == "ValueError"  # the error's type, not its text
    failures = [r for r in caplog.records if r.getMessage() == "notice delivery failed"]
    assert len(failures) == MAX_ATTEMPTS
    assert failures[0].notice == "permit.extended"  # type: ignore[attr-defined]


@pytest.mark.parametrize("attempts", [1, 2, 5])
def test_backoff_grows_and_is_capped(attempts: int) -> None:
    dispatch = OutboxDispatcher(None, Telegram().send, "en", jitter=lambda: 1.0)  # type: ignore[arg-type]
    assert dispatch.backoff(attempts) == timedelta(seconds=min(300, 2 * 2 ** (attempts - 1)))


async def set_preferences(db: Database, user_id: int, stored: dict[str, object]) -> None:
    async with db.session() as session:
        user = await session.get(TelegramUser, user_id)
        assert user is not None
        user.settings = stored


async def test_a_muted_kind_is_skipped_not_sent(database: Database) -> None:
    await queue(database, 1, "a")
    await queue(database, 2, "b")
    await set_preferences(database, 1, {"muted": ["permit"]})
    telegram, now = Telegram(), [NOW]
    report = await dispatcher(database, telegram, now).drain_once()
    assert (report.sent, report.skipped) == (1, 1)
    assert [chat for chat, _text in telegram.sent] == [2]
    assert await states(database) == {"a": OutboxState.SKIPPED, "b": OutboxState.SENT}


async def test_quiet_hours_hold_a_notice_until_morning_without_using_an_attempt(
    database: Database,
) -> None:
    from zoneinfo import ZoneInfo

    from bot.preferences import parse_quiet_hours

    await queue(database, 1, "a")
    await queue(database, 2, "b")
    await set_preferences(database, 2, {"quiet_hours": "off"})  # this one wants them anyway
    late = [datetime(2026, 11, 27, 14, 30, tzinfo=UTC)]  # 22:30 in Shanghai
    telegram = Telegram()
    quiet = OutboxDispatcher(
        database,
        telegram.send,
        "en",
        clock=lambda: late[0],
        quiet_hours=parse_quiet_hours("21:00-08:00"),
        zone=ZoneInfo("Asia/Shanghai"),
    )
    report = await quiet.drain_once()
    assert (report.sent, report.deferred) == (1, 1)
    assert [chat for chat, _text in telegram.sent] == [2]
    async with database.session() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "a"))
    assert row is not None
    assert (row.state, row.attempts) == (OutboxState.PENDING, 0)
    assert row.available_at == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    late[0] = datetime(2026, 11, 27, 23, 59, tzinfo=UTC)
    assert (await quiet.drain_once()).handled == 0  # queued, not dropped: it waits
    late[0] = datetime(2026, 11, 28, 0, 1, tzinfo=UTC)
    assert (await quiet.drain_once()).sent == 1
    assert [chat for chat, _text in telegram.sent] == [2, 1]


async def test_the_running_dispatcher_delivers_everything_in_order_per_chat(
    database: Database,
) -> None:
    import asyncio
    from datetime import date

    first = date(2027, 1, 1)
    async with database.session() as session:
        for index in range(36):
            await UserRepository(session).seen(100 + index % 6, "en")
            session.add(
                OutboxMessage(
                    dedupe_key=f"n{index:02d}",
                    telegram_user_id=100 + index % 6,
                    message="permit.extended",
                    params={"valid_until": (first + timedelta(days=index)).isoformat()},
                    available_at=NOW - timedelta(seconds=1),
                )
            )
    received: dict[int, list[str]] = {}

    async def send(chat_id: int, text: str) -> None:
        await asyncio.sleep(0.001 * (chat_id % 3))  # chats finish at different speeds
        received.setdefault(chat_id, []).append(text)

    running = OutboxDispatcher(database, send, "en", clock=lambda: NOW, batch=10)
    stop = asyncio.Event()
    task = asyncio.create_task(running.run(stop, in_flight=12))
    for _ in range(500):
        if sum(map(len, received.values())) == 36:
            break
        await asyncio.sleep(0.01)
    stop.set()
    report = await task
    assert report.sent == 36
    assert set((await states(database)).values()) == {OutboxState.SENT}
    for chat_id, texts in received.items():
        expected = [first + timedelta(days=i) for i in range(36) if 100 + i % 6 == chat_id]
        assert texts == [
            f"✅ Your work permit has been extended. It is now valid until {day:%B} {day.day}, "
            f"{day.year}."
            for day in expected
        ]


@pytest.mark.postgres
async def test_two_dispatchers_on_postgresql_never_send_a_row_twice(postgres_url: str) -> None:
    import asyncio

    from sqlalchemy import text

    from storage.models import Base

    setup = Database(postgres_url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with setup.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    async with setup.session() as session:
        for index in range(400):
            session.add(
                OutboxMessage(
                    dedupe_key=f"pg{index}",
                    telegram_user_id=900 + index % 80,
                    message="permit.changed",
                    params={},
                    available_at=NOW - timedelta(seconds=1),
                )
            )
    sends: list[tuple[str, int]] = []

    def sender(name: str):  # type: ignore[no-untyped-def]
        async def send(chat_id: int, text: str) -> None:
            await asyncio.sleep(0.002)  # a round trip, so the two really interleave
            sends.append((name, chat_id))

        return send

    engines = [Database(postgres_url), Database(postgres_url)]
    dispatchers = [
        OutboxDispatcher(db, sender(name), "en", clock=lambda: NOW, batch=20)
        for db, name in zip(engines, ("one", "two"), strict=True)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(d.run(stop, in_flight=40)) for d in dispatchers]
    for _ in range(1000):
        if len(sends) >= 400:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # a duplicate would show up now
    stop.set()
    reports = await asyncio.gather(*tasks)
    assert len(sends) == 400  # every row once: none twice, none lost
    assert reports[0].sent + reports[1].sent == 400
    assert reports[0].sent > 0
    assert reports[1].sent > 0  # both really worked
    async with setup.session() as session:
        counts = await session.execute(
            select(OutboxMessage.state, OutboxMessage.attempts).distinct()
        )
        assert set(counts.all()) == {(OutboxState.SENT, 1)}
    for db in (*engines, setup):
        await db.dispose()
