"""The last question a person typed, so support staff can see what led them to ask for a person.

Kept in `TelegramUser.settings` (JSON) under `"last_question"`: the start of the text (the
person's own words, never logged), the intent it was understood as (None when it was not
understood), the knowledge-base entry that answered it, and when. `/forget` deletes it with
the rest of the settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.database import Database
from storage.models import utcnow
from storage.repositories import UserRepository

LAST_QUESTION_KEY = "last_question"
KEPT_CHARS = 300


def question_record(
    text: str, intent: str | None, entry_id: str | None, at: datetime
) -> dict[str, Any]:
    """What is kept of one question (JSON-ready)."""
    return {
        "text": text.strip()[:KEPT_CHARS],
        "intent": intent,
        "entry": entry_id,
        "at": at.isoformat(timespec="seconds"),
    }


async def remember_question(
    db: Database,
    user_id: int,
    text: str,
    intent: str | None,
    entry_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Keep `text` as the person's last question, replacing the one before."""
    record = question_record(text, intent, entry_id, at or utcnow())
    async with db.session() as session:
        users = UserRepository(session)
        if await users.put_setting(user_id, LAST_QUESTION_KEY, record):
            return
        # No user row yet (they never wrote through the bot): create it with the setting.
        await users.replace_settings(user_id, {LAST_QUESTION_KEY: record})


async def last_question(db: Database, user_id: int) -> tuple[str, str | None] | None:
    """The person's last typed question and the intent it was understood as (None: not
    understood); None when they have not asked one."""
    async with db.session() as session:
        settings = await UserRepository(session).settings_of(user_id)
    stored = settings.get(LAST_QUESTION_KEY)
    if not isinstance(stored, dict) or not isinstance(stored.get("text"), str):
        return None
    intent = stored.get("intent")
    return stored["text"], intent if isinstance(intent, str) else None
