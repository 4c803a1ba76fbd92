"""Two bot processes behind one webhook on PostgreSQL: a round-robin forwarder sends each update
of one user's conversation to the other replica, and the conversation goes on as one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, text

from bot.inprocess_bot_api import ApiCall, ChatUser, InProcessBotAPI
from storage.database import Database
from storage.models import Base, TelegramLink
from storage.seed import seed_demo_records
from tests.bot_api_server import serve_bot_api
from tests.conftest import HASH_KEY
from tests.e2e.records import PEOPLE
from tests.test_cli import TOKEN, free_port, spawn, stop

SECRET = "replica_secret-token"
ANNA = PEOPLE["Anna Müller"]


@asynccontextmanager
async def round_robin(ports: list[int]) -> AsyncIterator[tuple[str, list[int]]]:
    """A tiny forwarder: each webhook POST goes to the next replica in turn."""
    turns = itertools.cycle(ports)
    served: list[int] = []
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        port = next(turns)
        served.append(port)
        async with session.post(
            f"http://127.0.0.1:{port}/telegram/webhook",
            data=await request.read(),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": request.headers.get(
                    "X-Telegram-Bot-Api-Secret-Token", ""
                ),
            },
        ) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    app = web.Application()
    app.router.add_post("/telegram/webhook", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/telegram/webhook", served
    finally:
        await runner.cleanup()
        await session.close()


async def _health(port: int, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if process.returncode is not None:
                break  # it exited: say why below
            await asyncio.sleep(0.1)
    stderr = await process.stderr.read() if process.stderr and process.returncode else b""
    raise AssertionError(f"replica on port {port} did not come up: {stderr.decode()[-500:]}")


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Database]:
    """The PostgreSQL test database, emptied; closed whatever the test does."""
    db = Database(postgres_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_one_conversation_across_two_replicas(
    store: Database, postgres_url: str, tmp_path: Path
) -> None:
    db = store
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await seed_demo_records(db, HASH_KEY)
    api = InProcessBotAPI()
    user = ChatUser(api, user_id=5150, language_code="en")
    # Two different ports: free_port() may hand out the same one twice in a row.
    ports = [free_port()]
    while len(ports) < 2:
        candidate = free_port()
        if candidate not in ports:
            ports.append(candidate)
    async with serve_bot_api(api, TOKEN) as base_url:
        common = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": base_url,
            "DATABASE_URL": postgres_url,
            "IDENTIFIER_HASH_KEY": HASH_KEY.decode(),
            "SIGNING_KEY_PATH": str(tmp_path / "shared-signing-keys.json"),
            "WEBHOOK_URL": "https://bot.example/telegram/webhook",
            "WEBHOOK_SECRET": SECRET,
            "QUIET_HOURS": "off",
        }
        replicas = []
        for index, port in enumerate(ports):
            folder = tmp_path / f"replica{index}"
            folder.mkdir()
            replicas.append(await spawn(folder, "run", "--webhook", WEB_PORT=str(port), **common))
        try:
            for port, process in zip(ports, replicas, strict=True):
                await _health(port, process)
            async with round_robin(ports) as (url, served), aiohttp.ClientSession() as http:

                async def say(update: dict[str, object]) -> ApiCall:
                    count = len(api.calls_to("sendMessage"))
                    async with http.post(
                        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    ) as answer:
                        assert answer.status == 200
                    async with asyncio.timeout(30):
                        calls = await api.wait_for("sendMessage", count + 1)
                    return calls[-1]

                steps = [
                    user.text("/link"),
                    user.text(ANNA.full_name),
                    user.text(ANNA.permit_no),
                    user.text(ANNA.ss_no),
                    user.contact(ANNA.phone),
                ]
                replies = [await say(update) for update in steps]
        finally:
            for process in replicas:
                if process.returncode is None:
                    await stop(process)
    texts = [str(reply.result["text"]) for reply in replies]
    assert "Step 1 of 4" in texts[0]
    assert texts[1].startswith("Step 2 of 4")
    assert texts[2].startswith("Step 3 of 4")
    assert texts[3].startswith("Step 4 of 4")
    assert texts[4].startswith("Done! This Telegram account is now linked")
    assert served == [ports[0], ports[1], ports[0], ports[1], ports[0]]  # they alternated
    async with db.session() as db_session:
        link = await db_session.scalar(
            select(TelegramLink).where(TelegramLink.telegram_user_id == 5150)
        )
    assert link is not None
