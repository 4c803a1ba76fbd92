"""The reminder scan: each threshold once per permit and date, only for linked permits."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.deadlines import add_months
from bot.reminders import (
    Threshold,
    expiry_threshold,
    letter_issue_range,
    scan_reminders,
)
from storage.database import Database
from storage.models import OutboxMessage, OutboxState, PermitStatus, WorkPermit, utcnow
from storage.repositories import OutboxRepository
from tests.permits import add_permit

TODAY = date(2026, 11, 27)
WORKER = 5001


def day(offset: int) -> date:
    """A day relative to TODAY."""
    return TODAY + timedelta(days=offset)


async def outbox(db: Database) -> list[tuple[str, int, str, dict[str, Any]]]:
    """(dedupe key, recipient, message, params) of every queued row, oldest first."""
    async with db.session() as session:
        rows = await session.execute(
            select(
                OutboxMessage.dedupe_key,
                OutboxMessage.telegram_user_id,
                OutboxMessage.message,
                OutboxMessage.params,
            ).order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (91, None),
        (90, Threshold.EXTENSION_WINDOW_OPEN),
        (61, Threshold.EXTENSION_WINDOW_OPEN),
        (60, Threshold.EXTENSION_60_DAYS),
        (38, Threshold.EXTENSION_60_DAYS),
        (37, Threshold.EXTENSION_LAST_WEEK),
        (30, Threshold.EXTENSION_LAST_WEEK),
        (29, None),
        (0, None),
        (-1, Threshold.PERMIT_EXPIRED),
        (-30, Threshold.PERMIT_EXPIRED),
        (-31, None),
    ],
)
def test_thresholds_at_their_boundaries(days_left: int, expected: Threshold | None) -> None:
    assert expiry_threshold(days_left, PermitStatus.VALID) == expected


def test_cancelled_permits_reach_no_threshold() -> None:
    assert all(expiry_threshold(days, PermitStatus.CANCELLED) is None for days in range(-40, 100))


def test_a_permit_marked_expired_is_only_told_that_it_expired() -> None:
    assert expiry_threshold(45, PermitStatus.EXPIRED) is None
    assert expiry_threshold(-3, PermitStatus.EXPIRED) is Threshold.PERMIT_EXPIRED


def test_letter_issue_range_covers_every_letter_that_may_lapse_soon() -> None:
    first, last = letter_issue_range(TODAY)
    # A letter issued 6 months before "today + 14" lapses in 14 days; "3 days ago" lapsed.
    assert first <= date(2026, 5, 24)
    assert date(2026, 6, 10) <= last


async def test_each_boundary_queues_the_right_reminder(database: Database) -> None:
    offsets = [91, 90, 61, 60, 38, 37, 30, 29, 0, -1, -30, -31]
    ids = {
        offset: await add_permit(database, day(offset), user_id=WORKER + n)
        for n, offset in enumerate(offsets)
    }
    report = await scan_reminders(database, TODAY)
    queued = {key.split(":")[1]: message for key, _user, message, _params in await outbox(database)}
    assert queued == {
        str(ids[90]): "reminder.extension_window_open",
        str(ids[61]): "reminder.extension_window_open",
        str(ids[60]): "reminder.extension_60_days",
        str(ids[38]): "reminder.extension_60_days",
        str(ids[37]): "reminder.extension_last_week",
        str(ids[30]): "reminder.extension_last_week",
        str(ids[-1]): "reminder.permit_expired",
        str(ids[-30]): "reminder.permit_expired",
    }
    assert report.queued == {
        Threshold.EXTENSION_WINDOW_OPEN: 2,
        Threshold.EXTENSION_60_DAYS: 2,
        Threshold.EXTENSION_LAST_WEEK: 2,
        Threshold.PERMIT_EXPIRED: 2,
    }
    assert not report.already_queued


async def test_a_reminder_goes_to_the_linked_worker_with_only_its_dates(
    database: Database,
) -> None:
    permit_id = await add_permit(database, day(45), user_id=WORKER)
    await scan_reminders(database, TODAY)
    [(key, user_id, message, params)] = await outbox(database)
    assert key == f"reminder:{permit_id}:extension_60_days:{day(45).isoformat()}"
    assert user_id == WORKER
    assert message == "reminder.extension_60_days"
    assert params == {
        "valid_until": day(45).isoformat(),
        "last_day": day(15).isoformat(),
        "days_left": 45,
    }


async def test_scanning_again_the_same_day_queues_nothing(database: Database) -> None:
    for n, offset in enumerate((80, 50, 33, -5)):
        await add_permit(database, day(offset), user_id=WORKER + n)
    first = await scan_reminders(database, TODAY)
    second = await scan_reminders(database, TODAY)
    assert first.total_queued == 4
    assert second.total_queued == 0
    assert second.already_queued == first.queued
    assert len(await outbox(database)) == 4


async def test_later_days_in_the_same_window_queue_nothing_new(database: Database) -> None:
    await add_permit(database, day(90), user_id=WORKER)
    for offset in range(0, 30):  # 90 ... 61 days left: all in the open window
        await scan_reminders(database, day(offset))
    assert [message for *_key, message, _params in await outbox(database)] == [
        "reminder.extension_window_open"
    ]


async def test_each_threshold_follows_once_as_the_permit_nears_expiry(database: Database) -> None:
    await add_permit(database, day(90), user_id=WORKER)
    for offset in range(0, 140):
        await scan_reminders(database, day(offset))
    assert [message for *_key, message, _params in await outbox(database)] == [
        "reminder.extension_window_open",
        "reminder.extension_60_days",
        "reminder.extension_last_week",
        "reminder.permit_expired",
    ]


async def test_an_extended_permit_is_reminded_again_for_its_new_date(database: Database) -> None:
    permit_id = await add_permit(database, day(80), user_id=WORKER)
    await scan_reminders(database, TODAY)
    async with database.session() as session:
        await session.execute(
            update(WorkPermit).where(WorkPermit.id == permit_id).values(valid_until=day(445))
        )
    assert (await scan_reminders(database, TODAY)).total_queued == 0  # 445 days left
    report = await scan_reminders(database, day(365))  # 80 days left again
    assert report.queued == {Threshold.EXTENSION_WINDOW_OPEN: 1}
    keys = [key for key, *_rest in await outbox(database)]
    assert keys == [
        f"reminder:{permit_id}:extension_window_open:{day(80).isoformat()}",
        f"reminder:{permit_id}:extension_window_open:{day(445).isoformat()}",
    ]


async def test_cancelled_and_unlinked_permits_are_never_reminded(database: Database) -> None:
    for offset in (80, 45, 33, -1):
        await add_permit(database, day(offset), status=PermitStatus.CANCELLED, user_id=None)
        await add_permit(database, day(offset))  # not linked
    await add_permit(database, day(-2), status=PermitStatus.CANCELLED, user_id=WORKER)
    await add_permit(database, day(50), status=PermitStatus.CANCELLED, user_id=WORKER + 1)
    report = await scan_reminders(database, TODAY)
    assert report.total_queued == 0
    assert await outbox(database) == []


async def test_an_expired_status_permit_hears_of_the_expiry(database: Database) -> None:
    await add_permit(database, day(-10), status=PermitStatus.EXPIRED, user_id=WORKER)
    await add_permit(database, day(-31), status=PermitStatus.EXPIRED, user_id=WORKER + 1)
    report = await scan_reminders(database, TODAY)
    assert report.queued == {Threshold.PERMIT_EXPIRED: 1}
    [(_key, user_id, _message, params)] = await outbox(database)
    assert user_id == WORKER
    assert params == {"valid_until": day(-10).isoformat()}


async def test_chunks_resume_where_they_left_off(database: Database) -> None:
    # Several permits share a day, so a chunk ends in the middle of one.
    offsets = [40, 40, 40, 41, 41, 80, 80, 80, 80, 33, -4]
    for n, offset in enumerate(offsets):
        await add_permit(database, day(offset), user_id=WORKER + n)
    report = await scan_reminders(database, TODAY, chunk=2)
    assert report.total_queued == len(offsets)
    keys = [key for key, *_rest in await outbox(database)]
    assert len(set(keys)) == len(offsets)
    assert (await scan_reminders(database, TODAY, chunk=3)).total_queued == 0


@pytest.mark.parametrize(
    ("lapses_in", "entered", "expected"),
    [
        (15, False, False),
        (14, False, True),
        (1, False, True),
        (0, False, True),
        (-3, False, True),
        (-4, False, False),
        (10, True, False),
    ],
)
async def test_notification_letter_reminder_until_entry_is_recorded(
    database: Database, lapses_in: int, entered: bool, expected: bool
) -> None:
    lapses = day(lapses_in)
    issued = add_months(lapses, -6)  # a letter is valid 6 months from its issue
    permit_id = await add_permit(
        database,
        day(700),
        user_id=WORKER,
        letter_issued_on=issued,
        entered_on=issued + timedelta(days=20) if entered else None,
    )
    report = await scan_reminders(database, TODAY)
    rows = await outbox(database)
    if not expected:
        assert rows == []
        return
    assert report.queued == {Threshold.NOTIFICATION_LETTER_LAPSING: 1}
    [(key, user_id, message, params)] = rows
    assert key == f"reminder:{permit_id}:notification_letter_lapsing:{issued.isoformat()}"
    assert (user_id, message) == (WORKER, "reminder.notification_letter_lapsing")
    assert params == {
        "issued_on": issued.isoformat(),
        "valid_until": lapses.isoformat(),
        "days_left": lapses_in,
    }
    assert (await scan_reminders(database, day(1))).total_queued == 0


async def test_no_letter_reminder_for_a_cancelled_permit(database: Database) -> None:
    await add_permit(
        database,
        day(700),
        status=PermitStatus.CANCELLED,
        user_id=WORKER,
        letter_issued_on=date(2026, 6, 1),
    )
    assert (await scan_reminders(database, TODAY)).total_queued == 0


async def test_queue_once_skips_keys_another_writer_queued_first(database: Database) -> None:
    now = utcnow()

    def row(key: str) -> dict[str, Any]:
        return {
            "dedupe_key": key,
            "telegram_user_id": WORKER,
            "message": "reminder.permit_expired",
            "params": {"valid_until": "2026-11-20"},
            "state": OutboxState.PENDING,
            "attempts": 0,
            "available_at": now,
            "created_at": now,
        }

    async with database.session() as session:
        assert await OutboxRepository(session).queue_once([row("a"), row("b")]) == {"a", "b"}
    async with database.session() as session:
        repository = OutboxRepository(session)
        assert await repository.queue_once([row("b"), row("c"), row("d")]) == {"c", "d"}
        assert await repository.existing_keys(["a", "c", "x"]) == {"a", "c"}
    assert [key for key, *_rest in await outbox(database)] == ["a", "b", "c", "d"]


async def test_two_scans_at_once_queue_each_reminder_once(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has a single writer; concurrent scans are a PostgreSQL matter")
    for n, offset in enumerate(range(30, 91, 3)):
        await add_permit(database, day(offset), user_id=WORKER + n)
    first, second = await asyncio.gather(
        scan_reminders(database, TODAY, chunk=4), scan_reminders(database, TODAY, chunk=4)
    )
    rows = await outbox(database)
    assert len(rows) == len({key for key, *_rest in rows}) == 21
    assert first.total_queued + second.total_queued == 21
    assert sum(first.already_queued.values()) + sum(second.already_queued.values()) == 21
