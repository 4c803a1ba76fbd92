"""Runs before every journey: records the user and makes their language current."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.app import BotContext
from bot.i18n import resolve_locale, set_locale
from handlers.errors import report_failure
from storage.repositories import UserRepository


async def prepare_update(update: Update, context: BotContext) -> None:
    """Record the user (first contact or last seen) and set the update's locale."""
    user = update.effective_user
    settings = context.bot_data.settings
    if user is None or user.is_bot:
        set_locale(settings.DEFAULT_LOCALE)
        return
    # Telegram's language first, so even a database failure is apologised for in it.
    set_locale(resolve_locale(None, user.language_code, settings.DEFAULT_LOCALE))
    try:
        async with context.bot_data.db.session() as session:
            profile = await UserRepository(session).seen(user.id, user.language_code)
    except SQLAlchemyError as error:
        # Without the store no journey can answer properly: apologise once and stop here.
        await report_failure(update, error)
        raise ApplicationHandlerStop from error
    set_locale(resolve_locale(profile.locale, user.language_code, settings.DEFAULT_LOCALE))
