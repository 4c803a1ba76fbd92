"""Delivering outbox notices: lease, render in the recipient's language, send, settle.

Sending is done through a `send` callable that turns Telegram's answers into the outcomes
below, so this module knows nothing of Telegram types. Rate limits and lanes belong to the
send scheduler (`bot.send_scheduler`); this module decides what happens to each row:
sent, retried later, deferred past the recipient's quiet hours, skipped (they switched that
kind of notice off), failed, or parked (they blocked the bot).

Notices to different chats are sent concurrently (the scheduler paces them); notices to one
chat go one after another, in the order they were queued.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.exc import SQLAlchemyError

from bot.i18n import resolve_locale
from bot.notifications import UnknownNotification, render_notification
from bot.preferences import Preferences, QuietHours, kind_of
from storage.database import Database
from storage.models import utcnow
from storage.repositories import ClaimedNotice, OutboxClaims

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
IDLE_POLL_SECONDS = 1.0
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


class RetryLater(Exception):
    """Telegram asked to wait (429): this chat waits `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class TransientFailure(Exception):
    """A 5xx, a timeout or a network error: back off and try again, up to a limit."""


class Unreachable(Exception):
    """Forbidden: the user blocked the bot or the chat is gone."""


Send = Callable[[int, str], Awaitable[None]]


@dataclass(slots=True)
class DispatchReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    parked: int = 0
    deferred: int = 0
    skipped: int = 0
    unreachable: set[int] = field(default_factory=set)

    @property
    def handled(self) -> int:
        """Rows this pass settled one way or another."""
        return self.sent + self.retried + self.failed + self.parked + self.deferred + self.skipped


class OutboxDispatcher:
    """Drains due outbox rows; a crash mid-batch loses nothing (leases expire)."""

    def __init__(
        self,
        db: Database,
        send: Send,
        default_locale: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = random.random,
        batch: int = 50,
        lease: timedelta = LEASE,
        quiet_hours: QuietHours | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self.db = db
        self.send = send
        self.default_locale = default_locale
        self.clock = clock
        self.jitter = jitter
        self.batch = batch
        self.lease = lease
        self.backoff_base = BACKOFF_BASE_SECONDS
        self.quiet_hours = quiet_hours
        self.zone = zone
        self._nudged = asyncio.Event()
        self._settling: list[
            tuple[Callable[[OutboxClaims], Awaitable[object]], asyncio.Future[None]]
        ] = []
        self._committer: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        """New rows were queued in this process: look now rather than at the next poll."""
        self._nudged.set()

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(BACKOFF_CAP_SECONDS, self.backoff_base * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=ceiling * (0.5 + self.jitter() / 2))

    async def drain_once(self) -> DispatchReport:
        """Claim one batch of due rows and deliver them (chats concurrently)."""
        claimed = await self._claim(self.batch)
        report = DispatchReport()
        by_chat: dict[int, list[ClaimedNotice]] = {}
        for notice in claimed:
            by_chat.setdefault(notice.telegram_user_id, []).append(notice)
        await asyncio.gather(*(self._deliver_all(notices, report) for notices in by_chat.values()))
        return report

    async def drain(self) -> DispatchReport:
        """Deliver until nothing is due now (rows waiting for later stay queued)."""
        total = DispatchReport()
        while True:
            report = await self.drain_once()
            if not report.handled:
                return total
            for name in ("sent", "retried", "failed", "parked", "deferred", "skipped"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.unreachable |= report.unreachable

    async def run(self, stop: asyncio.Event, *, in_flight: int = 200) -> DispatchReport:
        """Deliver continuously until `stop` is set, keeping up to `in_flight` rows claimed.

        New rows are claimed while earlier ones are still being sent, so the scheduler never
        runs dry between batches; a chat's rows are still sent one after another.
        """
        report = DispatchReport()
        queues: dict[int, deque[ClaimedNotice]] = {}
        tasks: set[asyncio.Task[None]] = set()
        room = asyncio.Event()

        async def chat_worker(chat_id: int) -> None:
            queue = queues[chat_id]
            try:
                while queue:
                    await self._deliver(queue[0], report)
                    queue.popleft()
                    room.set()
            finally:
                del queues[chat_id]

        try:
            while not stop.is_set():
                holding = sum(len(queue) for queue in queues.values())
                try:
                    claimed = await self._claim(min(self.batch, in_flight - holding))
                except SQLAlchemyError:
                    # The store is busy or away: try again at the next poll, keep running.
                    log.exception("claiming notices failed")
                    claimed = []
                for notice in claimed:
                    chat_id = notice.telegram_user_id
                    if chat_id in queues:
                        queues[chat_id].append(notice)
                        continue
                    queues[chat_id] = deque([notice])
                    task = asyncio.create_task(chat_worker(chat_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if claimed and holding + len(claimed) < in_flight:
                    continue
                room.clear()
                self._nudged.clear()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(room.wait())]
                if not claimed:
                    waits.append(asyncio.ensure_future(self._nudged.wait()))
                _done, pending = await asyncio.wait(
                    waits,
                    timeout=IDLE_POLL_SECONDS if not claimed else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in pending:
                    waiter.cancel()
        finally:
            # Rows still held are left to their leases; those being sent finish first.
            for queue in queues.values():
                while len(queue) > 1:
                    queue.pop()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        return report

    async def _claim(self, limit: int) -> list[ClaimedNotice]:
        if limit <= 0:
            return []
        async with self.db.session() as session:
            return await OutboxClaims(session).claim(self.clock(), self.lease, limit)

    async def _deliver_all(self, notices: list[ClaimedNotice], report: DispatchReport) -> None:
        for notice in notices:
            await self._deliver(notice, report)

    async def _deliver(self, notice: ClaimedNotice, report: DispatchReport) -> None:
        if notice.telegram_user_id in report.unreachable:
            return  # parked with the rest of this recipient's notices a moment ago
        preferences = Preferences.from_settings(notice.settings, self.quiet_hours)
        if not preferences.wants(notice.message):
            await self._settle(lambda claims: claims.skipped(notice.id))
            report.skipped += 1
            return
        if kind_of(notice.message) is not None and preferences.quiet_hours is not None:
            resume = preferences.quiet_hours.next_allowed(self.clock(), self.zone)
            if resume is not None:
                await self._settle(lambda claims: claims.defer(notice.id, resume))
                report.deferred += 1
                return
        locale = resolve_locale(notice.locale, notice.language_code, self.default_locale)
        try:
            text = render_notification(notice.message, notice.params, locale)
            await self.send(notice.telegram_user_id, text)
        except UnknownNotification as unknown:
            reason = f"unknown notice {unknown}"
            await self._settle(lambda claims: claims.failed(notice.id, reason))
            report.failed += 1
        except RetryLater as wait:
            # Being told to slow down is not a failed attempt: it does not count to the limit.
            when, reason = self.clock() + timedelta(seconds=wait.seconds), str(wait)
            await self._settle(lambda claims: claims.rate_limited(notice.id, when, reason))
            report.retried += 1
        except Unreachable:
            user_id = notice.telegram_user_id
            await self._settle(lambda claims: claims.park_recipient(user_id, "forbidden"))
            report.unreachable.add(user_id)
            report.parked += 1
        except Exception as error:
            if isinstance(error, TransientFailure):
                reason = str(error) or type(error).__name__
            else:
                # Not an answer we expect (a rendering bug, an unusual Bad Request): logged
                # with ids only, then retried and finally failed like a transient failure,
                # rather than ending this chat's deliveries unseen.
                log.exception(
                    "notice delivery failed",
                    extra={"notice_id": notice.id, "notice": notice.message},
                )
                reason = type(error).__name__
            if notice.attempts >= MAX_ATTEMPTS:
                await self._settle(lambda claims: claims.failed(notice.id, reason))
                report.failed += 1
            else:
                when = self.clock() + self.backoff(notice.attempts)
                await self._settle(lambda claims: claims.retry_at(notice.id, when, reason))
                report.retried += 1
        else:
            await self._settle(lambda claims: claims.sent(notice.id))
            report.sent += 1

    async def _settle(self, action: Callable[[OutboxClaims], Awaitable[object]]) -> None:
        """Record an outcome; returns once it is committed.

        Outcomes that arrive while a commit is under way are committed together in the next
        one (group commit), so a busy dispatcher does not pay a transaction per notice.
        """
        committed = asyncio.get_running_loop().create_future()
        self._settling.append((action, committed))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_settled())
        await committed

    async def _commit_settled(self) -> None:
        while self._settling:
            batch, self._settling = self._settling, []
            try:
                async with self.db.session() as session:
                    claims = OutboxClaims(session)
                    for action, _committed in batch:
                        await action(claims)
            except Exception as error:
                for _action, committed in batch:
                    if not committed.done():
                        committed.set_exception(error)
            else:
                for _action, committed in batch:
                    if not committed.done():
                        committed.set_result(None)
