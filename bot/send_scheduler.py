"""One send scheduler for the whole bot: Telegram's limits, and replies ahead of broadcasts.

Every request PTB makes passes through `SendScheduler.process_request` (it is the bot's
rate limiter). Requests that put a message into a chat wait for three paces:

- overall: `RATE_GLOBAL_PER_SECOND` (30/s), or 1000/s for bulk sends with paid broadcast;
- per chat: `RATE_PER_CHAT_PER_SECOND` (1/s);
- per group (negative chat ids): also `RATE_GROUP_PER_MINUTE` (20/min).

Each pace is a virtual-clock token bucket (GCRA): sending at `now` moves its theoretical
arrival time `tat` one interval on; a request conforms when `now >= tat - tolerance`. Bulk
sends (the outbox dispatcher, `rate_limit_args=Lane.BULK`) get no tolerance, so they are spaced
evenly at the configured rate; interactive replies may use a small burst, so a reply right
after a notice to the same chat does not wait a whole second. Telegram itself allows short
bursts, which absorbs the jitter between our clock and its.

Interactive requests always go first: while a reply is waiting for the overall pace, no bulk
send takes a slot. A 429 pauses that chat for `retry_after`; when several chats get a 429
within a second (or the request has no chat), the whole pace is paused, which is how
Telegram says the bot as a whole is too fast. Interactive requests are retried after the
pause; bulk requests raise `RetryAfter` so the dispatcher reschedules the row.

Edits of a message only wait for the overall pace. Methods that do not send into a chat
(getUpdates, answerCallbackQuery, setMyCommands, ...) pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

PAID_BROADCAST_PER_SECOND = 1000.0
# Interactive replies may run ahead of the even pace by this much (Telegram allows bursts).
INTERACTIVE_CHAT_BURST = 2
INTERACTIVE_GROUP_BURST = 3
INTERACTIVE_GLOBAL_BURST_SECONDS = 0.05
# Bulk sends may catch up this much when the event loop granted late (otherwise every late
# wake-up would be capacity lost for good); both stay inside Telegram's tolerance.
BULK_GLOBAL_BURST_SECONDS = 0.03
# A 429 on this many different chats within a second pauses the whole pace.
LANE_PAUSE_CHATS = 3
IDLE_CHAT_SECONDS = 120.0

Result = bool | dict[str, Any] | list[dict[str, Any]]


class Lane(enum.StrEnum):
    """Who is waiting: a person talking to the bot, or a notification broadcast."""

    INTERACTIVE = "interactive"
    BULK = "bulk"


def _is_chat_send(endpoint: str) -> bool:
    return (endpoint.startswith("send") and endpoint != "sendChatAction") or endpoint.startswith(
        ("copyMessage", "forwardMessage", "editMessage")
    )


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Telegram's limits as configured."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    group_per_minute: float = 20.0
    paid_broadcast: bool = False
    paid_per_second: float = PAID_BROADCAST_PER_SECOND

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimits:
        """The limits the operator configured."""
        return cls(
            global_per_second=settings.RATE_GLOBAL_PER_SECOND,
            per_chat_per_second=settings.RATE_PER_CHAT_PER_SECOND,
            group_per_minute=settings.RATE_GROUP_PER_MINUTE,
            paid_broadcast=settings.PAID_BROADCAST,
        )

    def scaled(self, factor: float) -> SendLimits:
        """Every limit multiplied by `factor` (benchmarks against a scaled fake server)."""
        return replace(
            self,
            global_per_second=self.global_per_second * factor,
            per_chat_per_second=self.per_chat_per_second * factor,
            group_per_minute=self.group_per_minute * factor,
            paid_per_second=self.paid_per_second * factor,
        )


class Pace:
    """A token bucket kept as a virtual clock (GCRA), with an optional pause."""

    __slots__ = ("interval", "paused_until", "tat")

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.tat = -math.inf
        self.paused_until = -math.inf

    def ready_at(self, burst: float = 1.0) -> float:
        """The earliest moment a send conforms, allowing `burst` sends at once."""
        return max(self.paused_until, self.tat - (burst - 1.0) * self.interval)

    def take(self, now: float) -> None:
        """Account for one send at `now`."""
        self.tat = max(self.tat, now) + self.interval

    def pause(self, until: float) -> None:
        """Nothing conforms before `until` (Telegram said retry_after)."""
        self.paused_until = max(self.paused_until, until)

    def idle(self, now: float) -> bool:
        """Whether this pace has forgotten every send (its state can be dropped)."""
        return self.tat + IDLE_CHAT_SECONDS < now and self.paused_until < now


@dataclass(slots=True)
class ChatPace:
    """The paces of one chat: per second, and per minute for groups."""

    second: Pace
    minute: Pace | None

    def ready_at(self, lane: Lane) -> float:
        if lane is Lane.BULK:
            ready = self.second.ready_at()
            return ready if self.minute is None else max(ready, self.minute.ready_at())
        ready = self.second.ready_at(INTERACTIVE_CHAT_BURST)
        if self.minute is not None:
            ready = max(ready, self.minute.ready_at(INTERACTIVE_GROUP_BURST))
        return ready

    def take(self, now: float) -> None:
        self.second.take(now)
        if self.minute is not None:
            self.minute.take(now)

    def pause(self, until: float) -> None:
        self.second.pause(until)

    def idle(self, now: float) -> bool:
        return self.second.idle(now) and (self.minute is None or self.minute.idle(now))


@dataclass(slots=True)
class _Waiter:
    chat: int | str | None
    lane: Lane
    paid: bool
    ready: asyncio.Future[None]
    since: float


@dataclass(slots=True)
class SchedulerStats:
    """What the scheduler did: for metrics and benchmarks."""

    granted: dict[Lane, int] = field(default_factory=lambda: dict.fromkeys(Lane, 0))
    http_429: int = 0
    lane_pauses: int = 0


class SendScheduler(BaseRateLimiter[Lane]):
    """The bot's rate limiter: Telegram's limits, per-chat pauses, interactive first."""

    def __init__(
        self,
        limits: SendLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        interactive_retries: int = 3,
    ) -> None:
        self.clock = clock
        self.interactive_retries = interactive_retries
        self.stats = SchedulerStats()
        self.change_limits(limits)
        self._waiting: dict[Lane, list[_Waiter]] = {lane: [] for lane in Lane}
        self._recent_429: deque[tuple[float, int | str | None]] = deque(maxlen=16)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._grants_since_sweep = 0
        self.on_wait: Callable[[Lane, float], None] | None = None
        self.on_limited: Callable[[], None] | None = None

    def change_limits(self, limits: SendLimits) -> None:
        """Pace by `limits` from now on (every pace starts afresh)."""
        self.limits = limits
        self._global = Pace(limits.global_per_second)
        self._paid = Pace(limits.paid_per_second)
        self._chats: dict[int | str, ChatPace] = {}
        # Burst allowance on the overall pace, by lane and by paid or not.
        self._bursts: dict[Lane, dict[bool, float]] = {
            lane: {
                False: max(1.0, limits.global_per_second * share),
                True: max(1.0, limits.paid_per_second * share),
            }
            for lane, share in (
                (Lane.INTERACTIVE, INTERACTIVE_GLOBAL_BURST_SECONDS),
                (Lane.BULK, BULK_GLOBAL_BURST_SECONDS),
            )
        }

    async def initialize(self) -> None:
        """Start granting (PTB calls this when the bot starts)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._grant_loop(), name="send-scheduler")

    async def shutdown(self) -> None:
        """Stop granting; requests still waiting are cancelled."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiters in self._waiting.values():
            for waiter in waiters:
                waiter.ready.cancel()
            waiters.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> Result:
        """Wait for the request's turn, send it, and handle Telegram's 429."""
        if not _is_chat_send(endpoint):
            return await callback(*args, **kwargs)
        lane = rate_limit_args if isinstance(rate_limit_args, Lane) else Lane.INTERACTIVE
        # Editing a message the user just pressed a button under is not a new message in
        # the chat: only the overall pace holds it.
        chat = None if endpoint.startswith("editMessage") else data.get("chat_id")
        chat_key = chat if isinstance(chat, int | str) else None
        paid = (
            lane is Lane.BULK
            and self.limits.paid_broadcast
            and bool(data.get("allow_paid_broadcast"))
        )
        retries = 0
        while True:
            await self.acquire(chat_key, lane, paid=paid)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as wait:
                self.on_429(chat_key, retry_seconds(wait.retry_after), paid=paid)
                if lane is Lane.BULK or retries >= self.interactive_retries:
                    raise
                retries += 1

    async def acquire(self, chat: int | str | None, lane: Lane, *, paid: bool = False) -> None:
        """Return when a message to `chat` may be sent now."""
        if self._task is None:
            await self.initialize()
        loop = asyncio.get_running_loop()
        waiter = _Waiter(chat, lane, paid, loop.create_future(), self.clock())
        idle = not any(self._waiting.values())
        self._waiting[lane].append(waiter)
        if idle:
            # Nobody else is waiting: decide now, as the grant loop would, and skip its
            # round trip through the event loop when the send may go at once.
            self._grant(waiter.since)
            if waiter.ready.done():
                return
        self._wake.set()
        try:
            await waiter.ready
        except asyncio.CancelledError:
            if waiter in self._waiting[lane]:
                self._waiting[lane].remove(waiter)
            raise

    def on_429(self, chat: int | str | None, seconds: float, *, paid: bool = False) -> None:
        """Telegram answered 429: pause the chat, or the whole pace when it is the bot."""
        now = self.clock()
        until = now + seconds
        self.stats.http_429 += 1
        if self.on_limited is not None:
            self.on_limited()
        self._recent_429.append((now, chat))
        recent_chats = {c for at, c in self._recent_429 if now - at <= 1.0}
        if chat is None or len(recent_chats) >= LANE_PAUSE_CHATS:
            (self._paid if paid else self._global).pause(until)
            self.stats.lane_pauses += 1
            log.warning("Telegram rate limit: pausing all sends", extra={"seconds": seconds})
        else:
            self._chat(chat).pause(until)
        self._wake.set()

    def _chat(self, chat: int | str) -> ChatPace:
        pace = self._chats.get(chat)
        if pace is None:
            group = (isinstance(chat, int) and chat < 0) or isinstance(chat, str)
            minute = Pace(self.limits.group_per_minute / 60.0) if group else None
            pace = self._chats[chat] = ChatPace(Pace(self.limits.per_chat_per_second), minute)
        return pace

    def _overall(self, paid: bool) -> Pace:
        return self._paid if paid else self._global

    async def _grant_loop(self) -> None:
        while True:
            self._wake.clear()
            delay = self._grant(self.clock())
            if delay is None:
                await self._wake.wait()
            elif delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            else:
                await asyncio.sleep(0)

    def _grant(self, now: float) -> float | None:
        """Let every conforming waiter go, interactive first; seconds until the next may."""
        earliest = math.inf
        reserved_chats: set[int | str] = set()
        reserved_overall: set[bool] = set()  # paces an interactive reply is waiting for
        for lane in (Lane.INTERACTIVE, Lane.BULK):
            bursts = self._bursts[lane]
            if lane is Lane.BULK and not self._waiting[lane]:
                continue
            remaining: list[_Waiter] = []
            for waiter in self._waiting[lane]:
                if waiter.ready.done():
                    continue  # cancelled while waiting
                if waiter.chat in reserved_chats or (
                    lane is Lane.BULK and waiter.paid in reserved_overall
                ):
                    remaining.append(waiter)
                    continue
                overall = self._overall(waiter.paid)
                overall_at = overall.ready_at(bursts[waiter.paid])
                if overall_at > now and lane is Lane.BULK:
                    # Nothing on this pace can go yet: no need to look at the chat.
                    earliest = min(earliest, overall_at)
                    remaining.append(waiter)
                    continue
                chat = self._chat(waiter.chat) if waiter.chat is not None else None
                chat_at = chat.ready_at(lane) if chat is not None else -math.inf
                at = max(overall_at, chat_at)
                if at <= now:
                    overall.take(now)
                    if chat is not None:
                        chat.take(now)
                    self._granted(waiter, now)
                    continue
                earliest = min(earliest, at)
                remaining.append(waiter)
                if waiter.chat is not None:
                    reserved_chats.add(waiter.chat)  # keep the chat's order
                if lane is Lane.INTERACTIVE and chat_at <= now:
                    reserved_overall.add(waiter.paid)
            self._waiting[lane] = remaining
        if not any(self._waiting.values()):
            return None
        return max(0.0, earliest - now)

    def _granted(self, waiter: _Waiter, now: float) -> None:
        waiter.ready.set_result(None)
        waited = now - waiter.since
        self.stats.granted[waiter.lane] += 1
        if self.on_wait is not None:
            self.on_wait(waiter.lane, waited)
        self._grants_since_sweep += 1
        if self._grants_since_sweep >= 10_000:
            self._grants_since_sweep = 0
            self._chats = {key: pace for key, pace in self._chats.items() if not pace.idle(now)}


def retry_seconds(value: int | timedelta) -> float:
    """Telegram's `retry_after` (seconds, or a timedelta with PTB_TIMEDELTA) in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
