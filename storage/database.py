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

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Where Alembic records the revision a database is at.
VERSION_TABLE = "alembic_version"


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
                value = ast.literal_eval(node.value) if names else None
                if "revision" in names and isinstance(value, str):
                    revisions.add(value)
                elif "down_revision" in names and isinstance(value, str):
                    parents.add(value)
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

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() == "sqlite" and self.url.database:
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: SQL errors must not carry personal values into logs.
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, hide_parameters=True)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

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
