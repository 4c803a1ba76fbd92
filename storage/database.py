"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.cache import CommitCache, SharedEpoch, watch

if TYPE_CHECKING:
    from alembic.config import Config

    from storage.repositories import Arrival

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Where Alembic records the revision a database is at.
VERSION_TABLE = "alembic_version"
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
    # Alembic is imported only here, when a schema has to change: importing it costs a
    # process about 10 MB, and a bot restarted on an up-to-date database never needs it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files' `revision` and
    `down_revision` assignments (without importing Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {target.id for target in targets if isinstance(target, ast.Name)}
                if not names & {"revision", "down_revision"}:
                    continue  # other assignments need not be literals
                value = ast.literal_eval(node.value)
                if "revision" in names and isinstance(value, str):
                    revisions.add(value)
                elif "down_revision" in names:
                    # A merge migration has several parents.
                    parents.update([value] if isinstance(value, str) else value or ())
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"expected one head migration, found {sorted(heads)}")
    return heads.pop()


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
            for each in caches:
                each.epoch = self.epoch
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
        """Upgrade the schema to `revision` with Alembic, on this engine's connection (a
        database already at the newest migration is left alone without loading Alembic)."""

        def upgrade(connection: Connection) -> None:
            from alembic import command

            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        if revision == "head" and await self.current_revision() == head_revision():
            return
        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def current_revision(self) -> str | None:
        """The schema revision the database is at (None when never migrated)."""

        def read(connection: Connection) -> str | None:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version"))
            versions = found.scalars().all()
            if len(versions) > 1:
                raise RuntimeError(f"{VERSION_TABLE} has several heads: {sorted(versions)}")
            return versions[0] if versions else None

        async with self.engine.connect() as connection:
            return await connection.run_sync(read)

    async def is_up_to_date(self) -> bool:
        """Whether the schema is at the newest migration."""
        return await self.current_revision() == head_revision()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        for kept in (self.arrivals, self.permits):
            kept.invalidate(None)
        if self.epoch is not None:
            self.epoch.close()
