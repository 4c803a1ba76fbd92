"""The last question a person typed, kept for support staff in their settings."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.accounts import forget_user
from bot.questions import KEPT_CHARS, last_question, remember_question
from storage.database import Database
from storage.repositories import UserRepository


async def test_no_question_yet(sqlite_database: Database) -> None:
    assert await last_question(sqlite_database, 7) is None


async def test_the_last_question_replaces_the_one_before(sqlite_database: Database) -> None:
    await remember_question(sqlite_database, 7, "where is my card", "social", "kb.social.pickup")
    await remember_question(sqlite_database, 7, "asdf", None)
    assert await last_question(sqlite_database, 7) == ("asdf", None)


async def test_only_the_start_of_a_long_question_is_kept(sqlite_database: Database) -> None:
    await remember_question(sqlite_database, 7, "я" * 4096, None)
    stored = await last_question(sqlite_database, 7)
    assert stored is not None
    assert stored[0] == "я" * KEPT_CHARS


async def test_other_settings_are_kept_beside_it(sqlite_database: Database) -> None:
    async with sqlite_database.session() as session:
        await UserRepository(session).replace_settings(7, {"muted": ["card"]})
    moment = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    await remember_question(sqlite_database, 7, "QR pls", "qr", at=moment)
    async with sqlite_database.session() as session:
        settings = await UserRepository(session).settings_of(7)
    assert settings["muted"] == ["card"]
    assert settings["last_question"] == {
        "text": "QR pls",
        "intent": "qr",
        "entry": None,
        "at": "2026-11-27T08:00:00+00:00",
    }


async def test_forget_deletes_the_last_question(sqlite_database: Database) -> None:
    await remember_question(sqlite_database, 7, "delete my data", "forget")
    await forget_user(sqlite_database, 7)
    assert await last_question(sqlite_database, 7) is None
