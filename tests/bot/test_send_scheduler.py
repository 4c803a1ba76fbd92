"""The send scheduler: Telegram's paces, interactive first, and what a 429 pauses.

Limits are scaled up so the tests take fractions of a second; what is checked is the order
of sends and that no pace is ever exceeded (lower bounds on spacing), not speed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.send_scheduler import Lane, SendLimits, SendScheduler

SLACK = 0.004  # timer granularity: a pace may be met a few milliseconds early on the clock


class Recorder:
    """The Bot API stand-in: records (chat, lane, time) per call and fails as told."""

    def __init__(self) -> None:
        self.sent: list[tuple[object, str, float]] = []
        self.fail: dict[object, list[float]] = {}

    def callback(self, chat: object, label: str):  # type: ignore[no-untyped-def]
        async def call(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
            retry = self.fail.get(chat)
            if retry:
                raise RetryAfter(retry.pop(0))  # type: ignore[arg-type]
            self.sent.append((chat, label, time.monotonic()))
            return {"ok": True}

        return call


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


async def make(limits: SendLimits) -> SendScheduler:
    scheduler = SendScheduler(limits)
    await scheduler.initialize()
    return scheduler


@pytest.fixture
async def fast() -> AsyncIterator[SendScheduler]:
    scheduler = await make(
        SendLimits(global_per_second=200, per_chat_per_second=20, group_per_minute=600)
    )
    yield scheduler
    await scheduler.shutdown()


def send(
    scheduler: SendScheduler,
    recorder: Recorder,
    chat: object,
    lane: Lane,
    label: str = "",
    endpoint: str = "sendMessage",
    **data: Any,
) -> asyncio.Task[Any]:
    return asyncio.create_task(
        scheduler.process_request(
            recorder.callback(chat, label or lane.value),
            (),
            {},
            endpoint,
            {"chat_id": chat, **data},
            lane,
        )
    )


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_one_chat_gets_at_most_its_rate_in_bulk(
    fast: SendScheduler, recorder: Recorder
) -> None:
    await asyncio.gather(*(send(fast, recorder, 7, Lane.BULK) for _ in range(6)))
    times = [at for _chat, _label, at in recorder.sent]
    assert len(times) == 6
    assert min(gaps(times)) >= 1 / 20 - SLACK


async def test_overall_rate_is_never_exceeded(recorder: Recorder) -> None:
    scheduler = await make(SendLimits(global_per_second=100, per_chat_per_second=50))
    try:
        await asyncio.gather(*(send(scheduler, recorder, chat, Lane.BULK) for chat in range(60)))
    finally:
        await scheduler.shutdown()
    times = sorted(at for _chat, _label, at in recorder.sent)
    assert len(times) == 60
    # 60 sends at 100/s: after the small catch-up burst (3 at once), one per interval.
    assert times[-1] - times[0] >= 57 / 100 - SLACK * 5
    assert {chat for chat, _label, _at in recorder.sent} == set(range(60))


async def test_groups_also_keep_their_per_minute_pace(
    fast: SendScheduler, recorder: Recorder
) -> None:
    await asyncio.gather(*(send(fast, recorder, -100123, Lane.BULK) for _ in range(4)))
    times = [at for _chat, _label, at in recorder.sent]
    assert min(gaps(times)) >= 60 / 600 - SLACK  # 600/min is slower than 20/s


async def test_an_interactive_reply_goes_ahead_of_a_queued_broadcast(recorder: Recorder) -> None:
    scheduler = await make(SendLimits(global_per_second=50, per_chat_per_second=50))
    try:
        bulk = [send(scheduler, recorder, chat, Lane.BULK) for chat in range(40)]
        await asyncio.sleep(0.1)  # the broadcast is under way, most of it still queued
        reply = send(scheduler, recorder, 999, Lane.INTERACTIVE, "reply")
        await asyncio.gather(reply, *bulk)
    finally:
        await scheduler.shutdown()
    order = [label for _chat, label, _at in recorder.sent]
    position = order.index("reply")
    assert position < 10, order  # not behind the 30-odd bulk sends still waiting
    assert scheduler.stats.granted == {Lane.INTERACTIVE: 1, Lane.BULK: 40}


async def test_in_one_chat_the_reply_overtakes_notices_but_replies_keep_their_order(
    fast: SendScheduler, recorder: Recorder
) -> None:
    bulk = [send(fast, recorder, 5, Lane.BULK, f"notice{i}") for i in range(4)]
    await asyncio.sleep(0.01)
    replies = [send(fast, recorder, 5, Lane.INTERACTIVE, f"reply{i}") for i in range(2)]
    await asyncio.gather(*bulk, *replies)
    order = [label for _chat, label, _at in recorder.sent]
    assert order.index("reply0") < order.index("reply1") < order.index("notice3")
    assert [label for label in order if label.startswith("notice")] == [
        f"notice{i}" for i in range(4)
    ]


async def test_a_429_pauses_that_chat_only_and_the_reply_is_retried(
    fast: SendScheduler, recorder: Recorder
) -> None:
    recorder.fail[1] = [0.3]
    started = time.monotonic()
    reply = send(fast, recorder, 1, Lane.INTERACTIVE, "reply")
    await asyncio.sleep(0.02)
    others = [send(fast, recorder, chat, Lane.BULK) for chat in (2, 3)]
    await asyncio.gather(reply, *others)
    by_label = {label: at for _chat, label, at in recorder.sent}
    assert by_label["reply"] - started >= 0.3 - SLACK
    other_times = [at for chat, _label, at in recorder.sent if chat in (2, 3)]
    assert max(other_times) < by_label["reply"]  # the other chats did not wait
    assert fast.stats.http_429 == 1
    assert fast.stats.lane_pauses == 0


async def test_a_429_on_a_bulk_send_is_raised_for_the_dispatcher_to_reschedule(
    fast: SendScheduler, recorder: Recorder
) -> None:
    recorder.fail[4] = [5.0]
    with pytest.raises(RetryAfter):
        await send(fast, recorder, 4, Lane.BULK)
    assert recorder.sent == []
    # The chat is paused: a later bulk send to it waits, other chats do not.
    paused = send(fast, recorder, 4, Lane.BULK, "paused")
    await send(fast, recorder, 8, Lane.BULK, "free")
    assert not paused.done()
    paused.cancel()


async def test_429s_from_several_chats_pause_the_whole_pace(
    fast: SendScheduler, recorder: Recorder
) -> None:
    for chat in (1, 2, 3):
        recorder.fail[chat] = [0.25]
    failing = [send(fast, recorder, chat, Lane.BULK) for chat in (1, 2, 3)]
    results = await asyncio.gather(*failing, return_exceptions=True)
    assert all(isinstance(result, RetryAfter) for result in results)
    paused_at = time.monotonic()
    await send(fast, recorder, 50, Lane.BULK, "after")
    assert recorder.sent[-1][2] - paused_at >= 0.2  # waited out most of retry_after
    assert fast.stats.lane_pauses >= 1


async def test_methods_that_send_nothing_to_a_chat_are_never_held(
    fast: SendScheduler, recorder: Recorder
) -> None:
    recorder.fail[1] = [0.5]
    with pytest.raises(RetryAfter):
        await send(fast, recorder, 1, Lane.BULK)
    started = time.monotonic()
    await send(fast, recorder, 1, Lane.INTERACTIVE, "callback", endpoint="answerCallbackQuery")
    assert recorder.sent[-1][2] - started < 0.2  # not behind the chat's 0.5 s pause


async def test_paid_broadcast_uses_its_own_faster_pace(recorder: Recorder) -> None:
    limits = SendLimits(global_per_second=10, per_chat_per_second=10, paid_broadcast=True)
    scheduler = await make(limits)
    try:
        started = time.monotonic()
        await asyncio.gather(
            *(
                send(scheduler, recorder, chat, Lane.BULK, allow_paid_broadcast=True)
                for chat in range(30)
            )
        )
    finally:
        await scheduler.shutdown()
    # 30 sends at 10/s would take 2.9 s; the paid pace (1000/s) takes a fraction of that.
    assert recorder.sent[-1][2] - started < 1.5
    assert len(recorder.sent) == 30


def test_limits_come_from_the_settings_and_scale(tmp_path: Any) -> None:
    from bot.config import Settings

    defaults = SendLimits.from_settings(Settings(_env_file=None))
    assert (defaults.global_per_second, defaults.per_chat_per_second) == (30, 1)
    assert defaults.group_per_minute == 20
    assert not defaults.paid_broadcast
    chosen = SendLimits.from_settings(
        Settings(
            _env_file=None, RATE_GLOBAL_PER_SECOND=25, RATE_PER_CHAT_PER_SECOND=0.5,
            PAID_BROADCAST=True,
        )
    )  # fmt: skip
    assert (chosen.global_per_second, chosen.per_chat_per_second) == (25, 0.5)
    assert chosen.paid_broadcast
    assert chosen.scaled(10).global_per_second == 250
