"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when reachable)."""

from __future__ import annotations

import asyncio
import os

# Opt in to PTB's coming timedelta durations (retry_after etc.), as run_bot.py does.
os.environ.setdefault("PTB_TIMEDELTA", "1")
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Update

from bot.app import BotApplication, build_application
from bot.config import Settings
from bot.inprocess_bot_api import JSON, ApiCall, ChatUser, InProcessBotAPI
from storage.database import Database
from storage.models import Base

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
T = TypeVar("T")
HASH_KEY = b"test-identifier-hash-key-0123456789abcdef"


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # Session fixtures may be first requested from inside a running test loop, so their
    # set-up runs on a loop of its own in a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _postgres_reachable(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(3), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, TimeoutError, Exception) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()
    return None


async def _create_database(admin_url: str, name: str, create: bool) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            if create:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A freshly created and migrated PostgreSQL database for this test session."""
    problem = _run(_postgres_reachable(POSTGRES_URL))
    if problem is not None:
        reason = f"PostgreSQL not reachable at {make_url(POSTGRES_URL)!r}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must exercise PostgreSQL)")
        pytest.skip(f"{reason}; set TEST_POSTGRES_URL to run these tests")
    name = f"permit_test_{os.getpid()}_{secrets.token_hex(3)}"
    _run(_create_database(POSTGRES_URL, name, create=True))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _run(_migrate(url))
        yield url
    finally:
        _run(_create_database(POSTGRES_URL, name, create=False))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty records store on each backend."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
        await db.migrate()
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        async with db.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty SQLite records store (for tests about the bot, not the backend)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()


@dataclass
class BotHarness:
    """The real Application over the in-process Bot API, on a migrated SQLite store."""

    app: BotApplication
    api: InProcessBotAPI
    db: Database
    settings: Settings

    def user(self, language_code: str | None = "en", user_id: int = 100001) -> ChatUser:
        """A person in a private chat with the bot."""
        return ChatUser(self.api, user_id=user_id, language_code=language_code)

    async def send(self, update: JSON) -> list[ApiCall]:
        """Deliver one update and return the Bot API calls the bot made in response."""
        self.api.take_calls()
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.api.take_calls()


def texts(calls: list[ApiCall]) -> list[str]:
    """What the user sees as text: sent and edited messages, in order."""
    return [
        str(call.result["text"])
        for call in calls
        if call.method in ("sendMessage", "editMessageText") and isinstance(call.result, dict)
    ]


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    """The (label, callback data) pairs of a call's inline keyboard."""
    markup = call.params.get("reply_markup") or {}
    return [
        (button["text"], button.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: everything under `tmp_path`, nothing read from the environment."""
    values: dict[str, Any] = {
        "DATA_DIR": tmp_path,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "IDENTIFIER_HASH_KEY": HASH_KEY.decode(),
        "DEFAULT_LOCALE": "en",
        "STAFF_LOCALE": None,
        "BOT_TOKEN": None,
        # Journeys send several messages to one chat in quick succession; Telegram's real
        # paces are exercised by the scheduler's own tests and bench/dispatch.py.
        "RATE_GLOBAL_PER_SECOND": 1000,
        "RATE_PER_CHAT_PER_SECOND": 100,
        "RATE_GROUP_PER_MINUTE": 6000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def running_bot(
    settings: Settings, api: InProcessBotAPI | None = None, *, migrate: bool = True
) -> AsyncIterator[BotHarness]:
    """The real Application on `settings`' store over the in-process Bot API, started."""
    db = Database(settings.database_url)
    if migrate:
        await db.migrate()
    api = api or InProcessBotAPI()
    app = build_application(settings, db, request=api)
    async with app:
        # run_polling/run_webhook call post_init after initialize; do the same here.
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        try:
            yield BotHarness(app, api, db, settings)
        finally:
            await app.stop()
    await db.dispose()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """A running bot on a fresh store, ready to receive updates."""
    async with running_bot(make_settings(tmp_path)) as harness:
        yield harness
