"""Who is talking and where they are in a multi-step journey, read from the database.

The step lives in the `conversation_states` table and is loaded for every update, so a
conversation continues on whichever replica receives the next message (PTB's
ConversationHandler keeps its state in process memory, which two replicas would not share).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from telegram import Message, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.app import BotContext
from bot.i18n import _, directional
from storage.repositories import ConversationRepository, Step


@dataclass(frozen=True, slots=True)
class Visitor:
    """The Telegram user of the current update, as the database knows them."""

    user_id: int
    chat_id: int
    permit_id: int | None = None
    step: Step | None = None
    card_url: str | None = None  # the Mini App, when served over https (Telegram requires it)
    open_ticket: int | None = None  # their open support ticket (private chats only)

    @property
    def linked(self) -> bool:
        """Whether their account is linked to a permit."""
        return self.permit_id is not None


_visitor: ContextVar[Visitor | None] = ContextVar("visitor", default=None)


def visitor() -> Visitor | None:
    """The visitor of the update being handled (None for updates without a user)."""
    return _visitor.get()


def set_visitor(value: Visitor | None) -> None:
    """Make `value` the current update's visitor."""
    _visitor.set(value)


def update_visitor(**changes: Any) -> None:
    """Change what this update knows about its visitor (after linking, a step change...)."""
    current = _visitor.get()
    if current is not None:
        _visitor.set(replace(current, **changes))


class AtStep(filters.MessageFilter):
    """Matches messages from a visitor at a given journey (and optionally step)."""

    def __init__(self, journey: str, step: str | None = None) -> None:
        super().__init__(name=f"AtStep({journey}, {step})")
        self.journey = journey
        self.step = step

    def filter(self, message: Message) -> bool:
        """True when the current visitor is at this journey's step."""
        current = _visitor.get()
        if current is None or current.step is None:
            return False
        return current.step.journey == self.journey and self.step in (None, current.step.step)


async def go_to(context: BotContext, step: Step) -> None:
    """Move the current visitor to `step` (stored at once)."""
    current = _visitor.get()
    if current is None:
        return
    async with context.bot_data.db.session() as session:
        await ConversationRepository(session).set(current.user_id, current.chat_id, step)
    update_visitor(step=step)


async def end_journey(context: BotContext) -> bool:
    """Leave the current journey; True if there was one."""
    current = _visitor.get()
    if current is None or current.step is None:
        return False
    async with context.bot_data.db.session() as session:
        ended = await ConversationRepository(session).clear(current.user_id, current.chat_id)
    update_visitor(step=None)
    return ended


async def cancel(update: Update, context: BotContext) -> None:
    """Leave whatever journey the user is in, keeping nothing they typed."""
    chat = update.effective_chat
    if chat is None:
        return
    if await end_journey(context):
        text = _("Cancelled. Nothing was saved.")
    else:
        text = _("There is nothing to cancel.")
    await chat.send_message(directional(text), reply_markup=ReplyKeyboardRemove())


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """The /cancel command, understood at every step."""
    return [CommandHandler("cancel", cancel)]
