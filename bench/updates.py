"""Updates per second: our bot on a realistic mix vs a bare PTB echo bot, same transport.

(a) baseline: a bare python-telegram-bot Application whose only handler echoes text;
(b) our bot (build_application) on a SQLite store of `--permits` permits (1,000,000 by default,
10% linked), fed updates from linked users: /status, /qr, /language, menu navigation (button
presses), free text and /start (shares in KINDS; each person keeps one Telegram language).

Both run over the same in-process Bot API transport, in one process, fed through the
Application's update queue as a webhook feeds it, with the same number of updates in flight
(BENCH_CONCURRENCY, 64 by default: our bot's MAX_CONCURRENT_UPDATES default; one chat's
updates still run in order). `--by-kind` also measures each kind on its own. Telegram's rate
limits are lifted for (b) (the scheduler would otherwise pace replies to one chat): this
measures the bot's own work. Last line: `RESULT updates_per_s=<b> baseline_per_s=<a> ratio=<b/a>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from reminders import build  # the same synthetic store as bench/reminders.py
from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.app import build_application, freeze_startup_heap
from bot.config import Settings
from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
from bot.send_scheduler import SendLimits
from storage.database import Database

TOKEN = "123456789:AAEbenchmarkTokenForLoopbackOnly"  # noqa: S105 - not a secret
CONCURRENCY = int(
    os.environ.get("BENCH_CONCURRENCY", "64")
)  # updates in flight, for both bots (our bot's MAX_CONCURRENT_UPDATES default)


# The mix of update kinds and their shares.
KINDS = {
    "status": 0.25,  # /status
    "qr": 0.10,  # /qr
    "language": 0.10,  # /language
    "button": 0.25,  # a menu button: status, help or home
    "free_text": 0.15,  # a typed question
    "start": 0.15,  # /start
}


# What people type: half of it things many people type ("hi", "qr pls"), half one-off
# sentences no one typed before (a fresh number makes each unique, so no cache answers it).
COMMON_TEXTS = ("hello", "hi", "thanks", "qr pls", "when does my permit expire", "help")
ONE_OFF_TEXTS = (
    "my colleague number {n} said the office moves next week",
    "is ticket {n} about my social security card",
    "когда будет готова карта, заявка {n}",
    "i paid {n} yuan for the medical check, is that normal",
)


def typed(rng: random.Random) -> str:
    """A typed message: common half the time, otherwise a one-off sentence."""
    if rng.random() < 0.5:
        return rng.choice(COMMON_TEXTS)
    return rng.choice(ONE_OFF_TEXTS).format(n=rng.randrange(10**6))


def mix(
    api: InProcessBotAPI, users: list[int], count: int, seed: int, kinds: dict[str, float]
) -> list[dict[str, Any]]:
    """A realistic sequence of updates from linked users, drawn from `kinds` by share."""
    rng = random.Random(seed)
    updates = []
    names, shares = list(kinds), list(kinds.values())
    for _ in range(count):
        user_id = rng.choice(users)
        # Each person's Telegram app has one language: half English, half Russian.
        user = ChatUser(api, user_id=user_id, language_code=("en", "ru")[user_id % 2])
        kind = rng.choices(names, shares)[0]
        if kind == "status":
            update = user.text("/status")
        elif kind == "qr":
            update = user.text("/qr")
        elif kind == "language":
            update = user.text("/language")
        elif kind == "button":
            shown = {"message_id": 1, "date": 0, "chat": user.chat, "text": "menu"}
            update = user.press(shown, rng.choice(["menu:status", "menu:help", "menu:home"]))
        elif kind == "free_text":
            update = user.text(typed(rng))
        else:
            update = user.text("/start")
        updates.append(update)
    return updates


async def throughput(app: Any, updates: list[dict[str, Any]]) -> float:
    """Updates per second through the Application's update queue, after a short warm-up.

    The updates are queued as a webhook or polling would queue them; the Application's update
    processor takes them from there (concurrently across chats, as configured).
    """

    async def feed(batch: list[dict[str, Any]]) -> None:
        for update in batch:
            await app.update_queue.put(Update.de_json(update, app.bot))
        await app.update_queue.join()

    await app.start()
    try:
        await feed(updates[:50])
        started = time.perf_counter()
        await feed(updates[50:])
        return (len(updates) - 50) / (time.perf_counter() - started)
    finally:
        await app.stop()


async def baseline(count: int) -> float:
    api = InProcessBotAPI()
    app = (
        Application.builder()
        .token(TOKEN)
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(CONCURRENCY)
        .build()
    )

    async def echo(update: Update, _context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "?")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    users = [ChatUser(api, user_id=50_000 + n) for n in range(100)]
    updates = [users[n % 100].text(f"hello {n}") for n in range(count)]
    async with app:
        return await throughput(app, updates)


async def ours(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    settings = Settings(
        _env_file=None,
        DATA_DIR=folder,
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        IDENTIFIER_HASH_KEY="b" * 40,
        QUIET_HOURS="off",
        RATE_GLOBAL_PER_SECOND=1000,
        RATE_PER_CHAT_PER_SECOND=100,
        MAX_CONCURRENT_UPDATES=CONCURRENCY,
    )
    db = Database(settings.database_url)
    await db.migrate()
    started = time.perf_counter()
    linked = await build(db, args.permits, 0.1, seed=3)
    print(f"store: {args.permits:,} permits, {linked:,} linked, built in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    api = InProcessBotAPI()
    app = build_application(settings, db, request=api)
    # Telegram's limits are not the bot's work: the scheduler still paces every reply, by
    # limits far above what is sent (the settings accept at most Telegram's 1,000/s overall).
    app.bot_data.scheduler.change_limits(SendLimits().scaled(100_000))
    freeze_startup_heap()  # as `run` does once the bot has started
    rng = random.Random(5)
    users = [10_000_000 + n for n in rng.sample(range(1, args.permits + 1), 2000)]
    async with db.session() as session:
        from sqlalchemy import select

        from storage.models import TelegramLink

        linked_ids = set(
            (
                await session.scalars(
                    select(TelegramLink.telegram_user_id).where(
                        TelegramLink.telegram_user_id.in_(users)
                    )
                )
            ).all()
        )
    users = sorted(linked_ids) or users
    rates = {}
    async with app:
        rates["mix"] = await throughput(app, mix(api, users, args.updates, 7, KINDS))
        if args.by_kind:
            for kind in KINDS:
                updates = mix(api, users, max(args.updates // 4, 100), 11, {kind: 1.0})
                rates[kind] = await throughput(app, updates)
    await db.dispose()
    return rates


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-updates-"))
    base = await baseline(args.updates)
    print(f"(a) bare PTB echo bot: {base:,.0f} updates/s")
    rates = await ours(args, folder)
    ours_rate = rates.pop("mix")
    for kind, rate in rates.items():
        print(f"    only {kind}: {rate:,.0f} updates/s")
    print(f"(b) our bot, mixed updates of linked users: {ours_rate:,.0f} updates/s")
    print(f"RESULT updates_per_s={ours_rate:.0f} baseline_per_s={base:.0f} "
          f"ratio={ours_rate / base:.3f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--permits", type=int, default=1_000_000, help="store size (1,000,000)")
    parser.add_argument("--updates", type=int, default=3000, help="updates per run (3,000)")
    parser.add_argument(
        "--by-kind", action="store_true", help="also measure each kind of update on its own"
    )
    asyncio.run(main(parser.parse_args()))
