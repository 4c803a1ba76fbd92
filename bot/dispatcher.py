"""Delivering outbox notices: lease, render in the recipient's language, send, settle.

Sending is done through a `send` callable that turns Telegram's answers into the outcomes
below, so this module knows nothing of Telegram types. Rate limits and lanes belong to the
send scheduler (to come); this module decides what happens to each row.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.i18n import resolve_locale
from bot.notifications import UnknownNotification, render_notification
from storage.database import Database
from storage.models import utcnow
from storage.repositories import ClaimedNotice, OutboxClaims

LEASE = timedelta(minutes=2)
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
    unreachable: set[int] = field(default_factory=set)


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
    ) -> None:
        self.db = db
        self.send = send
        self.default_locale = default_locale
        self.clock = clock
        self.jitter = jitter
        self.batch = batch

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=ceiling * (0.5 + self.jitter() / 2))

    async def drain_once(self) -> DispatchReport:
        """Claim one batch of due rows and deliver each."""
        async with self.db.session() as session:
            claimed = await OutboxClaims(session).claim(self.clock(), LEASE, self.batch)
        report = DispatchReport()
        for notice in claimed:
            await self._deliver(notice, report)
        return report

    async def _deliver(self, notice: ClaimedNotice, report: DispatchReport) -> None:
        if notice.telegram_user_id in report.unreachable:
            return  # parked with the rest of this recipient's notices a moment ago
        locale = resolve_locale(notice.locale, notice.language_code, self.default_locale)
        try:
            text = render_notification(notice.message, notice.params, locale)
            await self.send(notice.telegram_user_id, text)
        except UnknownNotification as unknown:
            reason = f"unknown notice {unknown}"
            await self._settle(lambda claims: claims.failed(notice.id, reason))
            report.failed += 1
        except RetryLater as wait:
            when, reason = self.clock() + timedelta(seconds=wait.seconds), str(wait)
            await self._settle(lambda claims: claims.retry_at(notice.id, when, reason))
            report.retried += 1
        except Unreachable:
            user_id = notice.telegram_user_id
            await self._settle(lambda claims: claims.park_recipient(user_id, "forbidden"))
            report.unreachable.add(user_id)
            report.parked += 1
        except TransientFailure as error:
            reason = str(error) or type(error).__name__
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
        async with self.db.session() as session:
            await action(OutboxClaims(session))
