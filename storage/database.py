"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.cache import CommitCache, SharedEpoch, watch

if TYPE_CHECKING:
    from storage.repositories import Arrival

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CACHE_SIZE = 10_000  # entries per read cache
ARRIVAL_TABLES = ("telegram_users", "telegram_links", "conversation_states", "support_tickets")
PERMIT_TABLES = (
    "work_permits",
    "people",
    "employers",
    "social_security_records",
    "applications",
    "application_events",
)


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at our migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """One engine and its session factory; open with `connect`, close with `dispose`."""

    def __init__(self, url: str, *, echo: bool = False, cache_size: int = CACHE_SIZE) -> None:
        """`cache_size`: entries per read cache (see storage/cache.py); 0 turns them off.

        The caches are only used on SQLite: PostgreSQL replicas may run on other machines,
        where a commit here could not reach their caches.
        """
        self.url = make_url(url)
        named = self.url.database not in (None, "", ":memory:")
        file = self.url.database if self.is_sqlite and named else None
        if file:
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: SQL errors must not carry personal values into logs.
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, hide_parameters=True)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        size = cache_size if self.is_sqlite else 0
        # What every update reads about its sender (storage.repositories.ArrivalRepository);
        # users' settings and reachability are not part of it.
        self.arrivals: CommitCache[Arrival] = CommitCache(
            "arrivals",
            ARRIVAL_TABLES,
            size,
            ignore={"telegram_users": {"settings", "unreachable", "first_seen"}},
        )
        # Permit records as /status shows them (bot.permits.PermitService.overview).
        self.permits: CommitCache[Any] = CommitCache(
            "permits", PERMIT_TABLES, size, ignore={"work_permits": {"verification_ref"}}
        )
        caches: list[CommitCache[Any]] = [self.arrivals, self.permits]
        self.epoch = SharedEpoch(Path(f"{file}.epoch")) if size and file else None
        if self.epoch is not None:
            self.epoch.caches = caches
            for cache in caches:
                cache.epoch = self.epoch
        if size:
            watch(self.engine.sync_engine, caches)

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite store."""
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` with Alembic, on this engine's connection."""

        def upgrade(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def current_revision(self) -> str | None:
        """The schema revision the database is at (None when never migrated)."""

        def read(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async with self.engine.connect() as connection:
            return await connection.run_sync(read)

    async def is_up_to_date(self) -> bool:
        """Whether the schema is at the newest migration."""
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        return await self.current_revision() == head

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        for cache in (self.arrivals, self.permits):
            cache.invalidate(None)
        if self.epoch is not None:
            self.epoch.close()
