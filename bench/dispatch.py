"""Benchmark of notification delivery against a Bot API server that enforces Telegram's limits.

A fake Bot API *server* runs on loopback (aiohttp) and answers 429 with `retry_after` whenever
the bot goes over a limit, judged independently of the bot's scheduler with sliding windows:

- the bot as a whole: at most the overall limit (plus a 10 % burst allowance) in any second;
- one chat: at most its per-second limit plus a burst of 2 in any second;
- one group: at most its per-minute limit plus 2 in any minute.

The real bot (PTB Application, send scheduler, outbox dispatcher, SQLite file) talks to it
over HTTP. 10,000 notifications to 2,000 chats are queued; while they go out, simulated people
send /help (to chats that are also receiving notices, and to others) and we time each reply
from the update to the server receiving it.

Limits can be scaled (default ×10, so the run takes well under a minute; `--scale 1` uses
Telegram's real limits and takes about six minutes). Prints the achieved rate ÷ configured
limit, the number of 429s, and the p50/p99 of interactive reply times; last line:
`RESULT rate_ratio=<x> http_429=<n> interactive_p99_s=<y>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "1")

import aiohttp
from aiohttp import web
from sqlalchemy import insert
from telegram import Update

from bot.app import build_application
from bot.config import Settings
from storage.database import Database
from storage.models import OutboxMessage, TelegramUser, utcnow
from tests.bot_api_server import serve_on_loopback

TOKEN = "123456789:AAEbenchmarkTokenForLoopbackOnly"  # noqa: S105 - not a secret
BOT_ID = 123456789
NOTICE_PREFIX = "✅"


@dataclass
class Limits:
    """What the fake server enforces (already scaled)."""

    overall_per_second: float
    chat_per_second: float
    group_per_minute: float


@dataclass
class ServerLog:
    """What the fake server saw."""

    accepted: list[tuple[float, int, bool]] = field(default_factory=list)  # (at, chat, notice)
    http_429: int = 0
    first_reply_at: dict[int, float] = field(default_factory=dict)


class TelegramLimits:
    """Sliding-window limits, as Telegram documents them; independent of the bot's scheduler."""

    def __init__(self, limits: Limits, minute: float) -> None:
        self.limits = limits
        self.minute = minute  # a scaled "minute" for group windows
        self.overall: deque[float] = deque()
        self.chats: dict[int, deque[float]] = {}

    def admit(self, chat: int, now: float) -> float | None:
        """None if the message may go now, else seconds the bot must wait (retry_after)."""
        overall_cap = int(self.limits.overall_per_second * 1.1)
        _trim(self.overall, now - 1.0)
        if len(self.overall) >= overall_cap:
            return 1.0
        window, cap = (
            (self.minute, int(self.limits.group_per_minute) + 2)
            if chat < 0
            else (1.0, int(self.limits.chat_per_second) + 2)
        )
        sent = self.chats.setdefault(chat, deque())
        _trim(sent, now - window)
        if len(sent) >= cap:
            return max(1.0, window - (now - sent[0]))
        self.overall.append(now)
        sent.append(now)
        return None


def _trim(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


@asynccontextmanager
async def fake_bot_api(limits: Limits, minute: float, log: ServerLog) -> AsyncIterator[str]:
    """Serve the Bot API methods the bot uses; yields the base URL."""
    judge = TelegramLimits(limits, minute)
    message_ids = iter(range(1, 10**9))

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        params = dict(await request.post())
        if name == "getMe":
            me = {"id": BOT_ID, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return web.json_response({"ok": True, "result": me})
        if name != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        now = time.monotonic()
        chat = int(str(params["chat_id"]))
        wait = judge.admit(chat, now)
        if wait is not None:
            log.http_429 += 1
            seconds = max(1, round(wait))
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            }
            return web.json_response(body, status=429)
        text = str(params.get("text", ""))
        notice = text.startswith(NOTICE_PREFIX)
        log.accepted.append((now, chat, notice))
        if not notice:
            log.first_reply_at.setdefault(chat, now)
        kind = "private" if chat > 0 else "group"
        result = {
            "message_id": next(message_ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": kind, **({"title": "HR"} if chat < 0 else {})},
            "text": text,
        }
        return web.json_response({"ok": True, "result": result})

    async def stats(_request: web.Request) -> web.Response:
        notices = sum(1 for _at, _chat, notice in log.accepted if notice)
        return web.json_response({"notices": notices})

    async def dump(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "accepted": log.accepted,
                "http_429": log.http_429,
                "first_reply_at": {str(k): v for k, v in log.first_reply_at.items()},
            }
        )

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/stats", stats)
    app.router.add_get("/log", dump)
    async with serve_on_loopback(app) as base_url:
        yield f"{base_url}/bot"


def recipients(chats: int, groups: int) -> Iterator[int]:
    """Private chat ids, then a few HR group ids (negative)."""
    yield from range(10_000_001, 10_000_001 + chats - groups)
    yield from range(-1_000_000_001, -1_000_000_001 - groups, -1)


async def queue_notices(db: Database, chats: list[int], per_chat: int) -> int:
    """Batch-insert the users and their notices."""
    now = utcnow()
    users = [
        {"id": chat, "locale": "en", "settings": {}, "unreachable": False}
        for chat in chats
        if chat > 0
    ]
    rows = [
        {
            "dedupe_key": f"bench:{chat}:{index}",
            "telegram_user_id": chat,
            "message": "permit.extended",
            "params": {"valid_until": f"2027-0{1 + index % 9}-15"},
            "available_at": now,
            "created_at": now,
            "attempts": 0,
            "state": "pending",
        }
        for index in range(per_chat)
        for chat in chats
    ]
    async with db.session() as session:
        for start in range(0, len(users), 1000):
            await session.execute(
                insert(TelegramUser),
                [dict(user, first_seen=now, last_seen=now) for user in users[start : start + 1000]],
            )
        for start in range(0, len(rows), 1000):
            await session.execute(insert(OutboxMessage), rows[start : start + 1000])
    return len(rows)


def help_update(update_id: int, user_id: int) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
            "from": person,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def serve_forever(args: argparse.Namespace) -> None:
    """The fake server's own process: prints its base URL, serves until killed."""
    scale = args.scale
    limits = Limits(30 * scale, 1 * scale, 20 * scale)
    async with fake_bot_api(limits, 60.0, ServerLog()) as base_url:
        print(base_url, flush=True)
        await asyncio.Event().wait()


@asynccontextmanager
async def server_process(args: argparse.Namespace) -> AsyncIterator[str]:
    """Run the fake server in a process of its own (its own core, like Telegram's)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "--scale", str(args.scale),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        yield (await process.stdout.readline()).decode().strip()
    finally:
        process.terminate()
        await process.wait()


async def server_get(http: aiohttp.ClientSession, base_url: str, path: str) -> Any:
    async with http.get(base_url.removesuffix("/bot") + path) as answer:
        return await answer.json()


async def main(args: argparse.Namespace) -> None:
    scale = args.scale
    limits = Limits(30 * scale, 1 * scale, 20 * scale)
    folder = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    print(
        f"limits ×{scale:g}: {limits.overall_per_second:g}/s overall, "
        f"{limits.chat_per_second:g}/s per chat, {limits.group_per_minute:g}/min per group"
        + (" (Telegram's real limits)" if scale == 1 else " (scaled up to finish sooner)")
    )
    async with server_process(args) as base_url, aiohttp.ClientSession() as http:
        settings = Settings(
            _env_file=None,
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=base_url,
            DATA_DIR=folder,
            DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
            IDENTIFIER_HASH_KEY="b" * 40,
            QUIET_HOURS="off",
            RATE_GLOBAL_PER_SECOND=limits.overall_per_second,
            RATE_PER_CHAT_PER_SECOND=limits.chat_per_second,
            RATE_GROUP_PER_MINUTE=limits.group_per_minute,
        )
        db = Database(settings.database_url)
        await db.migrate()
        chats = list(recipients(args.chats, args.groups))
        queued = await queue_notices(db, chats, args.notices // args.chats)
        print(f"queued {queued:,} notifications to {len(chats):,} chats ({args.groups} groups)")
        application = build_application(settings, db)
        async with application:
            await application.start()
            stop = asyncio.Event()
            started = time.monotonic()
            delivery = asyncio.create_task(application.bot_data.dispatcher.run(stop))
            # People talking to the bot while the broadcast runs: some also get notices.
            asked: dict[int, float] = {}
            private = [chat for chat in chats if chat > 0]
            update_id = 0
            await asyncio.sleep(1.0)
            delivered = 0
            while delivered < queued:
                update_id += 1
                if delivered < queued * 0.9:
                    user = (
                        private[(update_id * 37) % len(private)]
                        if update_id % 2
                        else 20_000_000 + update_id
                    )
                    if user not in asked:
                        asked[user] = time.monotonic()
                        update = Update.de_json(help_update(update_id, user), application.bot)
                        await application.update_queue.put(update)
                await asyncio.sleep(args.interactive_interval)
                if update_id % 10 == 0:
                    delivered = (await server_get(http, base_url, "/stats"))["notices"]
            elapsed = time.monotonic() - started
            await asyncio.sleep(1.0)
            stop.set()
            await delivery
            await application.stop()
        await db.dispose()
        log = await server_get(http, base_url, "/log")

    accepted = [(at, chat, notice) for at, chat, notice in log["accepted"]]
    first_reply_at = {int(chat): at for chat, at in log["first_reply_at"].items()}
    notice_times = [at for at, _chat, notice in accepted if notice]
    start, end = min(notice_times), max(notice_times)
    in_window = [at for at, _chat, _notice in accepted if start <= at <= end]
    achieved = len(in_window) / (end - start)
    ratio = achieved / limits.overall_per_second
    waits = [first_reply_at[user] - at for user, at in asked.items() if user in first_reply_at]
    missing = len(asked) - len(waits)
    p50, p99 = percentile(waits, 0.5), percentile(waits, 0.99)
    print(f"delivered {len(notice_times):,} notifications in {elapsed:.1f} s")
    print(
        f"achieved {achieved:.1f} msg/s during the broadcast (notifications and replies) "
        f"= {ratio:.3f} × the configured {limits.overall_per_second:g}/s"
    )
    print(f"HTTP 429 answers from the server: {log['http_429']}")
    print(
        f"interactive replies during the broadcast: {len(waits)} (missing {missing}); "
        f"p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(waits):.3f} s"
    )
    print(f"RESULT rate_ratio={ratio:.3f} http_429={log['http_429']} interactive_p99_s={p99:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="multiply every limit (10)")
    parser.add_argument("--notices", type=int, default=10_000, help="notifications (10,000)")
    parser.add_argument("--chats", type=int, default=2_000, help="recipients (2,000)")
    parser.add_argument("--groups", type=int, default=20, help="of which HR groups (20)")
    parser.add_argument(
        "--interactive-interval", type=float, default=0.05, help="seconds between /help messages"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(serve_forever(arguments) if arguments.serve else main(arguments))
