"""The bot's own membership in a chat: blocked or unblocked by a person, removed from a group.

Telegram tells us with `my_chat_member` updates. Blocking parks the chat's pending notices
(nothing is retried into a wall); unblocking, or adding the bot back to a group, delivers them.
"""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from bot.app import BotContext
from storage.models import utcnow
from storage.repositories import AuditRepository, OutboxClaims

log = logging.getLogger(__name__)

_AWAY = {ChatMember.BANNED, ChatMember.LEFT}


def _is_present(status: str) -> bool:
    return status not in _AWAY


async def membership_changed(update: Update, context: BotContext) -> None:
    """Park or resume the chat's notices when the bot is blocked/removed or let back in."""
    changed: ChatMemberUpdated | None = update.my_chat_member
    if changed is None:
        return
    was = _is_present(changed.old_chat_member.status)
    now = _is_present(changed.new_chat_member.status)
    if was == now:
        return  # e.g. promoted to admin in a group: nothing changes for delivery
    chat_id = changed.chat.id
    async with context.bot_data.db.session() as session:
        claims = OutboxClaims(session)
        if now:
            count = await claims.resume_recipient(chat_id, utcnow())
            action = "bot_unblocked"
        else:
            count = await claims.park_recipient(chat_id, "blocked")
            action = "bot_blocked"
        await AuditRepository(session).record(
            actor=f"tg:{changed.from_user.id}", action=action, subject=f"chat:{chat_id}"
        )
    log.info(action, extra={"chat_type": changed.chat.type, "notices": count})
    if now and count:
        context.bot_data.dispatcher.nudge()


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """This module's handlers."""
    return [ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)]
