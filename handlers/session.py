"""Runs before every journey: records the user and makes their language current."""

from __future__ import annotations

from telegram import Update

from bot.app import BotContext
from bot.i18n import resolve_locale, set_locale
from storage.repositories import UserRepository


async def prepare_update(update: Update, context: BotContext) -> None:
    """Record the user (first contact or last seen) and set the update's locale."""
    user = update.effective_user
    settings = context.bot_data.settings
    if user is None or user.is_bot:
        set_locale(settings.DEFAULT_LOCALE)
        return
    async with context.bot_data.db.session() as session:
        profile = await UserRepository(session).seen(user.id, user.language_code)
    set_locale(resolve_locale(profile.locale, user.language_code, settings.DEFAULT_LOCALE))
