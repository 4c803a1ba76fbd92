"""Reading and changing what notifications a person wants, kept in `TelegramUser.settings`.

Preferences belong to the Telegram user, linked or not; the dispatcher reads them when it
sends, so a change applies to notices already queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.preferences import (
    NotificationKind,
    Preferences,
    QuietHours,
    parse_quiet_hours,
    store_preferences,
)
from storage.database import Database
from storage.repositories import AuditRepository, UserRepository

QUIET_HOURS_KEY = "quiet_hours"


@dataclass(frozen=True, slots=True)
class PreferenceView:
    """A person's preferences as they apply, and whether the quiet hours are their own."""

    preferences: Preferences
    own_quiet_hours: bool  # False: the operator's QUIET_HOURS apply

    @property
    def muted(self) -> frozenset[NotificationKind]:
        """The kinds of notice switched off."""
        return self.preferences.muted

    @property
    def quiet_hours(self) -> QuietHours | None:
        """The quiet hours that apply (None: notices go out at any hour)."""
        return self.preferences.quiet_hours


class PreferenceStore:
    """One person's notification preferences: read them, mute or unmute a kind, quiet hours."""

    def __init__(self, db: Database, default_quiet_hours: QuietHours | None) -> None:
        self.db = db
        self.default_quiet_hours = default_quiet_hours

    def _view(self, stored: dict[str, Any]) -> PreferenceView:
        return PreferenceView(
            Preferences.from_settings(stored, self.default_quiet_hours),
            own_quiet_hours=isinstance(stored.get(QUIET_HOURS_KEY), str),
        )

    async def load(self, user_id: int) -> PreferenceView:
        """The person's preferences, with the operator's quiet hours where they chose none."""
        async with self.db.session() as session:
            return self._view(await UserRepository(session).settings_of(user_id))

    async def set_muted(self, user_id: int, kind: NotificationKind, muted: bool) -> PreferenceView:
        """Switch one kind of notice off (`muted`) or on again."""
        async with self.db.session() as session:
            users = UserRepository(session)
            stored = await users.settings_of(user_id)
            current = Preferences.from_settings(stored, self.default_quiet_hours).muted
            kinds = set(current | {kind}) if muted else set(current - {kind})
            updated = store_preferences(stored, muted=kinds)
            await users.replace_settings(user_id, updated)
            await AuditRepository(session).record(
                f"tg:{user_id}", "preferences.changed", None, kind=kind.value, muted=muted
            )
        return self._view(updated)

    async def set_quiet_hours(self, user_id: int, value: str | None) -> PreferenceView:
        """Quiet hours `"HH:MM-HH:MM"` or `"off"`; None goes back to the operator's default."""
        if value is not None:
            parse_quiet_hours(value)  # refuse anything the dispatcher could not read
        async with self.db.session() as session:
            users = UserRepository(session)
            stored = await users.settings_of(user_id)
            if value is None:
                updated = store_preferences(stored)
                updated.pop(QUIET_HOURS_KEY, None)
            else:
                updated = store_preferences(stored, quiet_hours=value)
            await users.replace_settings(user_id, updated)
            await AuditRepository(session).record(
                f"tg:{user_id}", "preferences.changed", None, quiet_hours=value or "default"
            )
        return self._view(updated)
