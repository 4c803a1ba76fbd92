"""Leaving: what `/forget` deletes about a Telegram user (their permit record stays)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.linking import actor, permit_subject
from storage.database import Database
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


async def forget_user(db: Database, user_id: int) -> ForgetReport:
    """Delete the user's link, settings and unfinished steps in one transaction (audited)."""
    async with db.session() as session:
        permit_id = await LinkRepository(session).unlink(user_id)
        steps = await ConversationRepository(session).clear_all(user_id)
        settings = await UserRepository(session).delete(user_id)
        audit = AuditRepository(session)
        if permit_id is not None:
            await audit.record(actor(user_id), "link.removed", permit_subject(permit_id))
        await audit.record(actor(user_id), "user.forgotten")
    return ForgetReport(permit_id is not None, settings, steps)
