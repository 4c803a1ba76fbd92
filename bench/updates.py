"""Updates per second: our bot on a realistic mix vs a bare PTB echo bot, same transport.

(a) baseline: a bare python-telegram-bot Application whose only handler echoes text;
(b) our bot (build_application) on a SQLite store of `--permits` permits (1,000,000 by default,
10% linked), fed updates from linked users: /status, /qr, /language, menu navigation (button
presses), free text and unknown commands.

Both run over the same in-process Bot API transport, one update at a time through
`Application.process_update`, in one process on one core. Telegram's rate limits are lifted
for (b) (the scheduler would otherwise pace replies to one chat): this measures the bot's own
work. Last line: `RESULT updates_per_s=<b> baseline_per_s=<a> ratio=<b/a>`.
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

from bot.app import build_application
from bot.config import Settings
from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
from storage.database import Database

TOKEN = "123456789:AAEbenchmarkTokenForLoopbackOnly"  # noqa: S105 - not a secret


def mix(api: InProcessBotAPI, users: list[int], count: int, seed: int) -> list[dict[str, Any]]:
    """A realistic sequence of updates from linked users."""
    rng = random.Random(seed)
    updates = []
    shown: dict[int, dict[str, Any]] = {}
    for _ in range(count):
        user = ChatUser(api, user_id=rng.choice(users), language_code=rng.choice(["en", "ru"]))
        roll = rng.random()
        if roll < 0.25:
            update = user.text("/status")
        elif roll < 0.35:
            update = user.text("/qr")
        elif roll < 0.45:
            update = user.text("/language")
        elif roll < 0.70 and user.user_id in shown:
            update = user.press(
                shown[user.user_id], rng.choice(["menu:status", "menu:help", "menu:home"])
            )
        elif roll < 0.85:
            update = user.text(rng.choice(["when does my permit expire", "qr pls", "hello"]))
        else:
            update = user.text("/start")
        shown.setdefault(
            user.user_id,
            {"message_id": 1, "date": 0, "chat": user.chat, "text": "menu"},
        )
        updates.append(update)
    return updates


async def throughput(app: Any, updates: list[dict[str, Any]]) -> float:
    """Updates per second through process_update, after a short warm-up."""
    for update in updates[:50]:
        await app.process_update(Update.de_json(update, app.bot))
    started = time.perf_counter()
    for update in updates[50:]:
        await app.process_update(Update.de_json(update, app.bot))
    return (len(updates) - 50) / (time.perf_counter() - started)


async def baseline(count: int) -> float:
    api = InProcessBotAPI()
    app = Application.builder().token(TOKEN).request(api).get_updates_request(api).build()

    async def echo(update: Update, _context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "?")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    users = [ChatUser(api, user_id=50_000 + n) for n in range(100)]
    updates = [users[n % 100].text(f"hello {n}") for n in range(count)]
    async with app:
        return await throughput(app, updates)


async def ours(args: argparse.Namespace, folder: Path) -> float:
    settings = Settings(
        _env_file=None,
        DATA_DIR=folder,
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        IDENTIFIER_HASH_KEY="b" * 40,
        QUIET_HOURS="off",
        RATE_GLOBAL_PER_SECOND=1000,
        RATE_PER_CHAT_PER_SECOND=100,
    )
    db = Database(settings.database_url)
    await db.migrate()
    started = time.perf_counter()
    linked = await build(db, args.permits, 0.1, seed=3)
    print(f"store: {args.permits:,} permits, {linked:,} linked, built in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    api = InProcessBotAPI()
    app = build_application(settings, db, request=api)
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
    updates = mix(api, users, args.updates, seed=7)
    async with app:
        rate = await throughput(app, updates)
    await db.dispose()
    return rate


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-updates-"))
    base = await baseline(args.updates)
    print(f"(a) bare PTB echo bot: {base:,.0f} updates/s")
    ours_rate = await ours(args, folder)
    print(f"(b) our bot, mixed updates of linked users: {ours_rate:,.0f} updates/s")
    print(f"RESULT updates_per_s={ours_rate:.0f} baseline_per_s={base:.0f} "
          f"ratio={ours_rate / base:.3f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--permits", type=int, default=1_000_000, help="store size (1,000,000)")
    parser.add_argument("--updates", type=int, default=3000, help="updates per run (3,000)")
    asyncio.run(main(parser.parse_args()))
