"""Load through the real aiohttp server in webhook mode on loopback: many simulated users post
updates as fast as they can; every user gets exactly the replies they should. Prints the
throughput and latency it measured (figures, not asserts). LOAD_UPDATES / LOAD_USERS scale it
(the issue's full run: LOAD_UPDATES=20000 LOAD_USERS=1000)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inprocess_bot_api import ChatUser
from tests.conftest import BotHarness, make_settings
from tests.e2e.records import Client, web_client

SECRET = "load_test-secret"
UPDATES = int(os.environ.get("LOAD_UPDATES", "2000"))
USERS = int(os.environ.get("LOAD_USERS", "200"))


@pytest.fixture
async def server(bot: BotHarness, tmp_path: Path) -> AsyncIterator[tuple[Client, BotHarness]]:
    bot.app.bot_data.settings = make_settings(tmp_path, WEBHOOK_SECRET=SECRET)
    async with web_client(bot, webhook=True) as client:
        yield client, bot


async def test_many_users_posting_at_once_each_get_their_replies(
    server: tuple[Client, BotHarness],
) -> None:
    client, bot = server
    users = [ChatUser(bot.api, user_id=700_000 + n, language_code="en") for n in range(USERS)]
    commands = ["/help", "/start", "/language"]
    bodies: list[tuple[int, bytes]] = []
    for index in range(UPDATES):
        user = users[index % USERS]
        bodies.append((user.user_id, json.dumps(user.text(commands[index % 3])).encode()))
    expected = Counter(user_id for user_id, _body in bodies)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    accepted: list[float] = []
    limit = asyncio.Semaphore(64)  # concurrent connections, like Telegram's max_connections

    async def post(body: bytes) -> None:
        async with limit:
            started = time.perf_counter()
            response = await client.post("/telegram/webhook", data=body, headers=headers)
            assert response.status == 200
            accepted.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(post(body) for _user, body in bodies))
    posted = time.perf_counter() - started
    async with asyncio.timeout(300):
        await bot.api.wait_for("sendMessage", UPDATES)
    handled = time.perf_counter() - started
    replies = Counter(int(call.params["chat_id"]) for call in bot.api.calls_to("sendMessage"))
    assert replies == expected  # one reply per update, to its sender, nobody else
    print(
        f"\n{UPDATES} updates from {USERS} users: accepted in {posted:.1f} s "
        f"({UPDATES / posted:.0f}/s, webhook answer p50 {statistics.median(accepted) * 1000:.1f} "
        f"ms, p99 {sorted(accepted)[int(0.99 * (len(accepted) - 1))] * 1000:.1f} ms); "
        f"all answered after {handled:.1f} s ({UPDATES / handled:.0f} updates/s)"
    )
