"""Notification preferences stored per Telegram user, read back as the dispatcher reads them."""

from __future__ import annotations

from datetime import time

import pytest

from bot.notification_preferences import PreferenceStore
from bot.preferences import NotificationKind, Preferences, QuietHours
from storage.database import Database
from storage.models import TelegramUser

DEFAULT = QuietHours(time(21), time(8))


async def settings_of(db: Database, user_id: int) -> dict[str, object]:
    async with db.session() as session:
        row = await session.get(TelegramUser, user_id)
    assert row is not None
    return dict(row.settings)


async def test_a_user_without_settings_gets_everything_and_the_default(database: Database) -> None:
    view = await PreferenceStore(database, DEFAULT).load(42)
    assert view.muted == frozenset()
    assert view.quiet_hours == DEFAULT
    assert not view.own_quiet_hours


async def test_changes_are_stored_and_read_back_by_the_dispatcher_s_rules(
    database: Database,
) -> None:
    store = PreferenceStore(database, DEFAULT)
    await store.set_muted(42, NotificationKind.REMINDERS, muted=True)
    await store.set_muted(42, NotificationKind.CARD, muted=True)
    view = await store.set_quiet_hours(42, "22:00-07:00")
    assert view.own_quiet_hours
    stored = await settings_of(database, 42)
    assert stored == {"muted": ["card", "reminders"], "quiet_hours": "22:00-07:00"}
    preferences = Preferences.from_settings(stored, DEFAULT)
    assert preferences == view.preferences
    assert not preferences.wants("reminder.permit_expired")
    assert preferences.wants("application.submitted")

    view = await store.set_muted(42, NotificationKind.REMINDERS, muted=False)
    assert view.muted == {NotificationKind.CARD}
    view = await store.set_quiet_hours(42, None)
    assert (view.quiet_hours, view.own_quiet_hours) == (DEFAULT, False)
    assert await settings_of(database, 42) == {"muted": ["card"]}


async def test_other_settings_are_kept(database: Database) -> None:
    async with database.session() as session:
        session.add(TelegramUser(id=7, settings={"something": "else"}))
    await PreferenceStore(database, DEFAULT).set_quiet_hours(7, "off")
    assert await settings_of(database, 7) == {"something": "else", "quiet_hours": "off"}


async def test_unreadable_quiet_hours_are_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="not a range"):
        await PreferenceStore(database, DEFAULT).set_quiet_hours(42, "late")
