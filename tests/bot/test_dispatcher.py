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


async def test_transient_failures_back_off_then_give_up(database: Database) -> None:
    await queue(database, 1, "a")
    telegram, now = Telegram(), [NOW]
    telegram.failures[1] = [TransientFailure("502 Bad Gateway")] * MAX_ATTEMPTS
    for _attempt in range(MAX_ATTEMPTS):
        await dispatcher(database, telegram, now).drain_once()
        now[0] += timedelta(minutes=10)
    assert await states(database) == {"a": OutboxState.FAILED}
    async with database.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None
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


@pytest.mark.parametrize("attempts", [1, 2, 5])
def test_backoff_grows_and_is_capped(attempts: int) -> None:
    dispatch = OutboxDispatcher(None, Telegram().send, "en", jitter=lambda: 1.0)  # type: ignore[arg-type]
    assert dispatch.backoff(attempts) == timedelta(seconds=min(300, 2 * 2 ** (attempts - 1)))
