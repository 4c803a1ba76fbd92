"""The arrival cache: a returning user costs no query, and every committed write is seen."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, text, update

from bot.permits import PermitService
from handlers.session import arrive
from storage.database import Database
from storage.models import PermitStatus, TelegramUser, WorkPermit
from storage.repositories import (
    ConversationRepository,
    LinkRepository,
    PermitRepository,
    Step,
    UserRepository,
    arrival_keys,
)
from tests.storage.test_database import _permit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(sqlite_database: Database) -> Database:
    """A migrated SQLite store: the caches are on there."""
    return sqlite_database


class Queries:
    """Counts the statements the engine sends to the database."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


async def visit(db: Database, user_id: int, language: str = "en", *, leaving: bool = False):  # type: ignore[no-untyped-def]
    return await arrive(db, user_id, user_id, language, False, leaving=leaving)


async def test_a_returning_user_costs_no_query(db: Database) -> None:
    first = await visit(db, 7)
    assert first.known
    assert first.permit_id is None
    await visit(db, 7)  # first contact wrote the row; this read fills the cache
    queries = Queries(db)
    again = await visit(db, 7)
    assert queries.count == 0
    assert (again.locale, again.language_code, again.permit_id) == (None, "en", None)


async def test_a_language_change_link_and_step_are_seen_at_once(db: Database) -> None:
    permit_id = await _permit(db)
    await visit(db, 7)
    await visit(db, 7)
    async with db.session() as session:
        await UserRepository(session).set_locale(7, "ru")
    assert (await visit(db, 7)).locale == "ru"
    async with db.session() as session:
        await LinkRepository(session).link(7, permit_id)
    assert (await visit(db, 7)).permit_id == permit_id
    async with db.session() as session:
        await ConversationRepository(session).set(7, 7, Step("link", "name", {"tries": 1}))
    assert (await visit(db, 7)).step == Step("link", "name", {"tries": 1})
    # A command other than /cancel leaves the journey: the step is deleted, not just hidden.
    assert (await visit(db, 7, leaving=True)).step is None
    async with db.session() as session:
        assert await ConversationRepository(session).get(7, 7) is None
    assert (await visit(db, 7)).step is None
    async with db.session() as session:
        await LinkRepository(session).unlink(7)
    assert (await visit(db, 7)).permit_id is None


async def test_a_write_for_one_user_keeps_the_others_cached(db: Database) -> None:
    for user_id in (7, 8):
        await visit(db, user_id)
        await visit(db, user_id)
    async with db.session() as session:
        await ConversationRepository(session).set(8, 8, Step("link", "name", {}))
    queries = Queries(db)
    await visit(db, 7)
    assert queries.count == 0
    assert (await visit(db, 8)).step == Step("link", "name", {})
    assert queries.count > 0


async def test_writing_only_settings_does_not_invalidate(db: Database) -> None:
    await visit(db, 7)
    await visit(db, 7)
    async with db.session() as session:
        await UserRepository(session).replace_settings(7, {"muted": ["reminder"]})
    async with db.session() as session:
        assert await UserRepository(session).put_setting(7, "last_question", {"text": "hi"})
    queries = Queries(db)
    await visit(db, 7)
    assert queries.count == 0


async def test_a_rolled_back_write_leaves_the_cache_correct(db: Database) -> None:
    await visit(db, 7)
    await visit(db, 7)
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await UserRepository(session).set_locale(7, "ru")
            raise RuntimeError("abandon")
    assert (await visit(db, 7)).locale is None


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed-write", "unkeyed-write"])
async def test_a_read_overtaken_by_a_commit_is_not_kept(db: Database, keyed: bool) -> None:
    await visit(db, 7)
    ticket = db.arrivals.ticket()
    stale = await visit(db, 7)  # read before the commit below...
    statement = update(TelegramUser).where(TelegramUser.id == 7).values(locale="ar")
    if keyed:
        statement = statement.execution_options(**arrival_keys(7))
    async with db.session() as session:
        await session.execute(statement)
    db.arrivals.put(7, stale, ticket)  # ...stored after it: refused
    assert (await visit(db, 7)).locale == "ar"


async def test_a_write_from_another_process_is_seen(db: Database, tmp_path: Path) -> None:
    await visit(db, 7)
    await visit(db, 7)
    assert db.arrivals.get(7) is not None
    script = textwrap.dedent(
        f"""
        import asyncio
        from storage.database import Database
        from storage.repositories import UserRepository

        async def main():
            other = Database("sqlite+aiosqlite:///{db.url.database}")
            async with other.session() as session:
                await UserRepository(session).set_locale(7, "fa")
            await other.dispose()

        asyncio.run(main())
        """
    )
    other = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=ROOT)
    assert await asyncio.wait_for(other.wait(), 60) == 0
    assert (await visit(db, 7)).locale == "fa"


async def test_concurrent_visits_agree_with_the_store(db: Database) -> None:
    users = list(range(100, 120))
    for user_id in users:
        await visit(db, user_id)

    async def change(user_id: int) -> None:
        async with db.session() as session:
            await UserRepository(session).set_locale(user_id, "de")

    await asyncio.gather(*(visit(db, u) for u in users), *(change(u) for u in users[::2]))
    for user_id in users:
        expected = "de" if user_id in users[::2] else None
        assert (await visit(db, user_id)).locale == expected, user_id


async def test_an_unusable_epoch_file_turns_the_cache_off(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
    await database.migrate()
    try:
        (tmp_path / "cache.db.epoch").mkdir()  # not a file: cannot be mapped
        await visit(database, 7)
        await visit(database, 7)
        queries = Queries(database)
        assert (await visit(database, 7)).known
        assert queries.count > 0
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_postgresql_has_no_cache(postgres_url: str) -> None:
    # Replicas may run on other machines: a commit there could not reach this cache.
    database = Database(postgres_url)
    try:
        assert not database.arrivals.enabled
        assert database.epoch is None
    finally:
        await database.dispose()


async def test_a_permit_overview_is_cached_until_its_record_changes(db: Database) -> None:
    permit_id = await _permit(db)
    service = PermitService(db, lambda: date(2026, 6, 1), lambda _a, _b: frozenset())
    first = await service.overview(permit_id)
    assert first is not None
    assert first.details.status is PermitStatus.VALID
    queries = Queries(db)
    assert await service.overview(permit_id) == first
    async with db.session() as session:  # a code's reference is not part of the overview
        await PermitRepository(session).verification_ref(permit_id)
    queries.count = 0
    assert await service.overview(permit_id) == first
    assert queries.count == 0  # still cached
    async with db.session() as session:
        permit = await session.get(WorkPermit, permit_id)
        assert permit is not None
        permit.status = PermitStatus.CANCELLED
    changed = await service.overview(permit_id)
    assert changed is not None
    assert changed.details.status is PermitStatus.CANCELLED


async def test_hand_written_sql_that_writes_empties_the_caches(db: Database) -> None:
    await visit(db, 7)
    await visit(db, 7)
    async with db.session() as session:
        await session.execute(text("SELECT locale FROM telegram_users"))  # reads keep it
    assert db.arrivals.get(7) is not None
    async with db.session() as session:
        await session.execute(text("UPDATE telegram_users SET locale = 'uk' WHERE id = 7"))
    assert (await visit(db, 7)).locale == "uk"
