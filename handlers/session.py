"""Runs before every journey: records the user, sets their language, loads their step."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.app import BotContext, card_app_url
from bot.i18n import resolve_locale, set_locale
from handlers.conversation import Visitor, set_visitor
from handlers.errors import report_failure, update_kind
from storage.database import Database
from storage.models import utcnow
from storage.repositories import Arrival, ArrivalRepository, ConversationRepository


def _leaves_journey(update: Update) -> bool:
    # A command other than /cancel means the user moved on from a half-finished journey.
    message = update.effective_message
    text = message.text if message is not None else None
    return bool(text and text.startswith("/") and not text.startswith("/cancel"))


_started: ContextVar[float] = ContextVar("update_started", default=0.0)


async def arrive(
    db: Database,
    user_id: int,
    chat_id: int,
    language_code: str | None,
    with_ticket: bool,
    *,
    leaving: bool,
) -> Arrival:
    """What the update needs about its sender: from the cache, else one database read.

    The database is written only when the user is new, their Telegram language changed,
    `last_seen` is due, or they `leaving` a half-finished journey (which ends it).
    """
    cached = db.arrivals.get(user_id)
    if cached is not None and (cached.chat_id, cached.with_ticket) != (chat_id, with_ticket):
        cached = None
    arrival = cached
    if arrival is not None and not (
        arrival.needs_touch(language_code, utcnow()) or (leaving and arrival.step)
    ):
        return arrival
    ticket = db.arrivals.ticket()
    async with db.session() as session:
        arrivals = ArrivalRepository(session)
        if arrival is None:
            arrival = await arrivals.read(user_id, chat_id, with_ticket=with_ticket)
            db.arrivals.put(user_id, arrival, ticket)
        arrival = await arrivals.touch(arrival, language_code)
        if leaving and arrival.step is not None:
            await ConversationRepository(session).clear(user_id, chat_id)
            arrival = replace(arrival, step=None)
    return arrival


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
    with_ticket = bool(chat is not None and chat.type == "private" and settings.SUPPORT_CHAT_ID)
    try:
        arrival = await arrive(
            context.bot_data.db, user.id, chat_id, user.language_code, with_ticket,
            leaving=_leaves_journey(update),
        )  # fmt: skip
    except SQLAlchemyError as error:
        # Without the store no journey can answer properly: apologise once and stop here.
        await report_failure(update, error)
        raise ApplicationHandlerStop from error
    set_locale(resolve_locale(arrival.locale, user.language_code, settings.DEFAULT_LOCALE))
    card_url = card_app_url(settings.PUBLIC_BASE_URL)
    set_visitor(
        Visitor(user.id, chat_id, arrival.permit_id, arrival.step, card_url, arrival.open_ticket_id)
    )


async def finish_update(update: Update, context: BotContext) -> None:
    """Runs after every journey: observe how long the update took."""
    started = _started.get()
    if started:
        context.bot_data.metrics.handler_seconds.observe(time.perf_counter() - started)
