"""Leaving: what `/forget` deletes about a Telegram user (their permit record stays)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from bot.linking import actor, permit_subject
from storage.database import Database
from storage.models import OutboxMessage, OutboxState
from storage.repositories import (
    AuditRepository,
    ConversationRepository,
    LinkRepository,
    UserRepository,
)


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What was deleted."""

    link_removed: bool
    settings_removed: bool
    steps_removed: int
    notifications_removed: int


async def forget_user(db: Database, user_id: int) -> ForgetReport:
    """Delete the user's link, settings, unfinished steps and pending notifications at once."""
    async with db.session() as session:
        permit_id = await LinkRepository(session).unlink(user_id)
        steps = await ConversationRepository(session).clear_all(user_id)
        notices = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.telegram_user_id == user_id,
                OutboxMessage.state == OutboxState.PENDING,
            )
        )
        settings = await UserRepository(session).delete(user_id)
        audit = AuditRepository(session)
        if permit_id is not None:
            await audit.record(actor(user_id), "link.removed", permit_subject(permit_id))
        await audit.record(actor(user_id), "user.forgotten")
    removed = int(getattr(notices, "rowcount", 0) or 0)
    return ForgetReport(permit_id is not None, settings, steps, removed)
