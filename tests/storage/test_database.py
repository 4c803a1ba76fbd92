"""The records store migrates and round-trips on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from storage.database import Database, alembic_config, head_revision
from storage.models import (
    Application,
    ApplicationEvent,
    ApplicationKind,
    ApplicationStatus,
    Employer,
    PermitCategory,
    PermitStatus,
    Person,
    TelegramLink,
    TelegramUser,
    WorkPermit,
)
from storage.repositories import AuditRepository, ConversationRepository, Step, UserRepository


def _person(n: int) -> Person:
    return Person(
        full_name=f"Test Person {n}",
        name_key=f"testperson{n}",
        nationality="DE",
        date_of_birth=date(1990, 1, n),
        passport_hash=f"p{n}",
        passport_masked="C0**** 12",
        ss_hash=f"s{n}",
        ss_masked="3101 **** 89",
        phone_hash=f"t{n}",
        phone_masked="+******1234",
    )


async def _permit(db: Database, n: int = 1) -> int:
    async with db.session() as session:
        employer = Employer(uscc="91350100M000100Y43", name="Example Co.")
        person = _person(n)
        session.add_all([employer, person])
        await session.flush()
        permit = WorkPermit(
            permit_no=f"{n:018d}",
            person_id=person.id,
            employer_id=employer.id,
            category=PermitCategory.B,
            position="Engineer",
            work_city="Shanghai",
            issued_on=date(2025, 1, 1),
            valid_until=date(2027, 1, 1),
            status=PermitStatus.VALID,
        )
        session.add(permit)
        await session.flush()
        return permit.id


async def test_migrated_schema_is_at_head(database: Database) -> None:
    assert await database.is_up_to_date()


async def test_permit_with_application_history_round_trips(database: Database) -> None:
    permit_id = await _permit(database)
    submitted = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
    async with database.session() as session:
        application = Application(
            permit_id=permit_id,
            reference_no="EXT-1",
            kind=ApplicationKind.EXTENSION,
            status=ApplicationStatus.UNDER_REVIEW,
            submitted_at=submitted,
        )
        session.add(application)
        await session.flush()
        for offset, status in enumerate(
            [ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW]
        ):
            session.add(
                ApplicationEvent(
                    application_id=application.id,
                    status=status,
                    at=submitted + timedelta(days=offset),
                )
            )
    async with database.session() as session:
        permit = await session.scalar(select(WorkPermit).where(WorkPermit.id == permit_id))
        assert permit is not None
        assert permit.category is PermitCategory.B
        assert permit.status is PermitStatus.VALID
        loaded = await session.scalar(select(Application).where(Application.permit_id == permit_id))
        assert loaded is not None
        assert loaded.submitted_at == submitted
        assert loaded.submitted_at.tzinfo is not None
        events = (
            await session.scalars(
                select(ApplicationEvent)
                .where(ApplicationEvent.application_id == loaded.id)
                .order_by(ApplicationEvent.at.desc())
            )
        ).all()
        assert [event.status for event in events] == [
            ApplicationStatus.UNDER_REVIEW,
            ApplicationStatus.SUBMITTED,
        ]


async def test_permit_number_is_unique(database: Database) -> None:
    await _permit(database, 1)
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            person = _person(2)
            session.add(person)
            await session.flush()
            employer_id = await session.scalar(select(Employer.id))
            session.add(
                WorkPermit(
                    permit_no=f"{1:018d}",
                    person_id=person.id,
                    employer_id=employer_id,
                    category=PermitCategory.C,
                    position="Teacher",
                    work_city="Kunming",
                    issued_on=date(2025, 1, 1),
                    valid_until=date(2026, 1, 1),
                    status=PermitStatus.VALID,
                )
            )


async def test_a_permit_links_to_one_telegram_account_only(database: Database) -> None:
    permit_id = await _permit(database)
    async with database.session() as session:
        users = UserRepository(session)
        await users.seen(1001, "en")
        await users.seen(1002, "ru")
        session.add(TelegramLink(telegram_user_id=1001, permit_id=permit_id))
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            session.add(TelegramLink(telegram_user_id=1002, permit_id=permit_id))


async def test_failed_transaction_leaves_nothing_behind(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.session() as session:
            await UserRepository(session).seen(42, "en")
            raise RuntimeError("boom")
    async with database.session() as session:
        assert await UserRepository(session).get(42) is None


async def test_user_locale_choice_is_saved(database: Database) -> None:
    async with database.session() as session:
        users = UserRepository(session)
        first = await users.seen(7, "pt-br")
        assert first.locale is None
        await users.set_locale(7, "ar")
    async with database.session() as session:
        profile = await UserRepository(session).get(7)
        assert profile is not None
        assert (profile.locale, profile.language_code) == ("ar", "pt-br")
        row = await session.get(TelegramUser, 7)
        assert row is not None
        assert row.first_seen <= row.last_seen


async def test_conversation_state_survives_a_new_connection(database: Database) -> None:
    async with database.session() as session:
        await ConversationRepository(session).set(5, 5, Step("link", "name", {"tries": 1}))
    other = Database(database.url.render_as_string(hide_password=False))
    try:
        async with other.session() as session:
            conversations = ConversationRepository(session)
            assert await conversations.get(5, 5) == Step("link", "name", {"tries": 1})
            await conversations.set(5, 5, Step("link", "permit", {"tries": 1, "name": "x"}))
        async with other.session() as session:
            assert await ConversationRepository(session).clear(5, 5) is True
            assert await ConversationRepository(session).clear(5, 5) is False
    finally:
        await other.dispose()
    async with database.session() as session:
        assert await ConversationRepository(session).get(5, 5) is None


async def test_audit_entries_are_counted_by_action_and_actor(database: Database) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    async with database.session() as session:
        audit = AuditRepository(session)
        await audit.record("tg:1", "link.failed", None, reason="mismatch")
        await audit.record("tg:1", "link.failed", None, reason="mismatch")
        await audit.record("tg:2", "link.failed")
    async with database.session() as session:
        audit = AuditRepository(session)
        assert await audit.count("link.failed", since=since) == 3
        assert await audit.count("link.failed", actor="tg:1", since=since) == 2
        assert await audit.count("link.created", since=since) == 0


async def test_sqlite_runs_in_wal_mode(sqlite_database: Database) -> None:
    async with sqlite_database.engine.connect() as connection:
        mode = await connection.scalar(text("PRAGMA journal_mode"))
        foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
    assert (mode, foreign_keys) == ("wal", 1)


async def test_telegram_language_change_is_recorded(database: Database) -> None:
    async with database.session() as session:
        await UserRepository(session).seen(8, "en")
    async with database.session() as session:
        profile = await UserRepository(session).seen(8, "ru")
    assert profile.language_code == "ru"
    async with database.session() as session:
        stored = await UserRepository(session).get(8)
    assert stored is not None
    assert stored.language_code == "ru"


async def test_database_errors_never_carry_the_values_involved(database: Database) -> None:
    await _permit(database, 1)
    with pytest.raises(IntegrityError) as raised:
        async with database.session() as session:
            session.add(Employer(uscc="91350100M000100Y43", name="Secret Employer Name"))
    assert "Secret Employer Name" not in str(raised.value)


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_a_new_database_is_at_no_revision_until_migrated(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    try:
        assert await db.current_revision() is None
        assert not await db.is_up_to_date()
        await db.migrate("0001")
        assert await db.current_revision() == "0001"
        await db.migrate()
        assert await db.current_revision() == head_revision()
    finally:
        await db.dispose()


async def test_one_setting_is_written_without_touching_the_others(database: Database) -> None:
    async with database.session() as session:
        users = UserRepository(session)
        assert not await users.put_setting(404, "last_question", {"text": "hi"})
        await users.seen(9, "en")
        await users.replace_settings(9, {"muted": ["reminder"], "last_question": {"text": "a"}})
    async with database.session() as session:
        users = UserRepository(session)
        record = {"text": "когда истекает разрешение?", "intent": None, "n": 2}
        assert await users.put_setting(9, "last_question", record)
    async with database.session() as session:
        assert await UserRepository(session).settings_of(9) == {
            "muted": ["reminder"],
            "last_question": {"text": "когда истекает разрешение?", "intent": None, "n": 2},
        }
        assert await UserRepository(session).settings_of(404) == {}
