"""Runs before every journey: records the user, sets their language, loads their step."""

from __future__ import annotations

import time
from contextvars import ContextVar

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.app import BotContext, card_app_url
from bot.i18n import resolve_locale, set_locale
from handlers.conversation import Visitor, set_visitor
from handlers.errors import report_failure, update_kind
from storage.repositories import (
    ConversationRepository,
    LinkRepository,
    SupportRepository,
    UserRepository,
)


def _leaves_journey(update: Update) -> bool:
    # A command other than /cancel means the user moved on from a half-finished journey.
    message = update.effective_message
    text = message.text if message is not None else None
    return bool(text and text.startswith("/") and not text.startswith("/cancel"))


_started: ContextVar[float] = ContextVar("update_started", default=0.0)


async def prepare_update(update: Update, context: BotContext) -> None:
    """Record the user, set the update's locale, and load their link and journey step."""
    _started.set(time.perf_counter())
    context.bot_data.metrics.updates.labels(update_kind(update)).inc()
    user = update.effective_user
    chat = update.effective_chat
    settings = context.bot_data.settings
    set_visitor(None)
    if user is None or user.is_bot:
        set_locale(settings.DEFAULT_LOCALE)
        return
    # Telegram's language first, so even a database failure is apologised for in it.
    set_locale(resolve_locale(None, user.language_code, settings.DEFAULT_LOCALE))
    chat_id = chat.id if chat is not None else user.id
    try:
        async with context.bot_data.db.session() as session:
            profile = await UserRepository(session).seen(user.id, user.language_code)
            permit_id = await LinkRepository(session).permit_of(user.id)
            conversations = ConversationRepository(session)
            step = await conversations.get(user.id, chat_id)
            ticket = None
            if chat is not None and chat.type == "private" and settings.SUPPORT_CHAT_ID:
                ticket = await SupportRepository(session).open_ticket_of(user.id)
            if step is not None and _leaves_journey(update):
                await conversations.clear(user.id, chat_id)
                step = None
    except SQLAlchemyError as error:
        # Without the store no journey can answer properly: apologise once and stop here.
        await report_failure(update, error)
        raise ApplicationHandlerStop from error
    set_locale(resolve_locale(profile.locale, user.language_code, settings.DEFAULT_LOCALE))
    card_url = card_app_url(settings.PUBLIC_BASE_URL)
    open_ticket = ticket.id if ticket is not None else None
    set_visitor(Visitor(user.id, chat_id, permit_id, step, card_url, open_ticket))


async def finish_update(update: Update, context: BotContext) -> None:
    """Runs after every journey: observe how long the update took."""
    started = _started.get()
    if started:
        context.bot_data.metrics.handler_seconds.observe(time.perf_counter() - started)
