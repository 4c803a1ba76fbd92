"""Choosing the language the bot speaks, listed by each language's own name."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.i18n import _, available_locales, current_locale, native_name, set_locale
from handlers.menu import MenuAction, main_menu, show
from storage.repositories import AuditRepository, UserRepository

PICK_PREFIX = "lang:"
_PER_ROW = 2


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per shipped language, the current one ticked."""
    active = current_locale()
    buttons = [
        InlineKeyboardButton(
            ("✓ " if locale == active else "") + native_name(locale),
            callback_data=PICK_PREFIX + locale,
        )
        for locale in available_locales()
    ]
    rows = [buttons[i : i + _PER_ROW] for i in range(0, len(buttons), _PER_ROW)]
    rows.append([InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)])
    return InlineKeyboardMarkup(rows)


async def ask_language(update: Update, context: BotContext) -> None:
    """Show the language choices."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, _("Choose your language:"), language_keyboard())


async def pick_language(update: Update, context: BotContext) -> None:
    """Save the chosen language and answer in it."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    locale = query.data.removeprefix(PICK_PREFIX)
    if locale not in available_locales():
        await query.answer(_("This language is not available."), show_alert=True)
        return
    async with context.bot_data.db.session() as session:
        await UserRepository(session).set_locale(user.id, locale)
        await AuditRepository(session).record(f"tg:{user.id}", "language.set", None, locale=locale)
    set_locale(locale)
    await query.answer(_("Language changed."))
    text = _("I will speak {language} from now on.").format(language=native_name(locale))
    await show(update, text + "\n\n" + _("Choose what you need:"), main_menu())


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("language", ask_language),
        CallbackQueryHandler(ask_language, pattern=f"^{MenuAction.LANGUAGE}$"),
        CallbackQueryHandler(pick_language, pattern=f"^{PICK_PREFIX}"),
    ]
