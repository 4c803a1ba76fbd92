"""Updates from different chats run concurrently; one chat's updates run in order."""

from __future__ import annotations

import asyncio
import random

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
from bot.update_order import ChatOrderedUpdateProcessor

TOKEN = "123456789:AAEtestTokenForTheUpdateOrderTests"


async def test_each_chat_in_order_and_chats_concurrently() -> None:
    api = InProcessBotAPI()
    processor = ChatOrderedUpdateProcessor(16)
    app = (
        Application.builder()
        .token(TOKEN)
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(processor)
        .build()
    )
    handled: dict[int, list[int]] = {}
    running = 0
    most_at_once = 0
    rng = random.Random(3)

    async def slow(update: Update, _context: object) -> None:
        nonlocal running, most_at_once
        assert update.effective_chat is not None
        assert update.effective_message is not None
        running += 1
        most_at_once = max(most_at_once, running)
        # Random delays would reorder a chat's updates if they were not serialized.
        await asyncio.sleep(rng.random() / 200)
        handled.setdefault(update.effective_chat.id, []).append(
            int(update.effective_message.text or "0")
        )
        running -= 1

    app.add_handler(MessageHandler(filters.TEXT, slow))
    users = [ChatUser(api, user_id=900 + n) for n in range(6)]
    sent: dict[int, list[int]] = {}
    async with app:
        await app.start()
        for n in range(120):
            user = users[rng.randrange(len(users))]
            sent.setdefault(user.user_id, []).append(n)
            await app.update_queue.put(Update.de_json(user.text(str(n)), app.bot))
        await asyncio.wait_for(app.update_queue.join(), 30)
        await app.stop()
    assert handled == sent
    assert most_at_once > 1  # different chats overlapped
    assert processor.waiting_chats == 0  # no per-chat state left behind


async def test_updates_without_a_chat_or_user_are_processed() -> None:
    processor = ChatOrderedUpdateProcessor(4)
    done: list[str] = []

    async def work(name: str) -> None:
        done.append(name)

    await processor.process_update(object(), work("plain"))
    assert done == ["plain"]
    assert processor.waiting_chats == 0
