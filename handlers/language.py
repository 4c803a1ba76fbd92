"""Choosing the language the bot speaks, listed by each language's own name."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.i18n import _, available_locales, current_locale, native_name, set_locale
from handlers.menu import MenuAction, main_menu, show
from storage.repositories import AuditRepository, UserRepository

PICK_PREFIX = "lang:"
PAGE_PREFIX = "langpage:"
_PER_ROW = 2
PER_PAGE = 12


def language_keyboard(page: int | None = None) -> InlineKeyboardMarkup:
    """The shipped languages by their own names, a page at a time, the current one ticked
    (the first page shown is the one holding the current language)."""
    active = current_locale()
    locales = available_locales()
    pages = max(1, -(-len(locales) // PER_PAGE))
    if page is None:
        page = locales.index(active) // PER_PAGE if active in locales else 0
    page = min(max(page, 0), pages - 1)
    buttons = [
        InlineKeyboardButton(
            ("✓ " if locale == active else "") + native_name(locale),
            callback_data=PICK_PREFIX + locale,
        )
        for locale in locales[page * PER_PAGE : (page + 1) * PER_PAGE]
    ]
    rows = [buttons[i : i + _PER_ROW] for i in range(0, len(buttons), _PER_ROW)]
    if pages > 1:
        navigation = []
        if page > 0:
            navigation.append(
                InlineKeyboardButton(_("◀️ Previous"), callback_data=f"{PAGE_PREFIX}{page - 1}")
            )
        navigation.append(
            InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=f"{PAGE_PREFIX}{page}")
        )
        if page < pages - 1:
            navigation.append(
                InlineKeyboardButton(_("Next ▶️"), callback_data=f"{PAGE_PREFIX}{page + 1}")
            )
        rows.append(navigation)
    rows.append([InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)])
    return InlineKeyboardMarkup(rows)


async def ask_language(update: Update, context: BotContext) -> None:
    """Show the language choices (a page of them)."""
    query = update.callback_query
    page: int | None = None
    if query is not None:
        data = query.data or ""
        if data.startswith(PAGE_PREFIX) and data[len(PAGE_PREFIX) :].isdigit():
            page = int(data[len(PAGE_PREFIX) :])
        await query.answer()
    await show(update, _("Choose your language:"), language_keyboard(page))


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
        CallbackQueryHandler(ask_language, pattern=f"^{PAGE_PREFIX}\\d+$"),
        CallbackQueryHandler(pick_language, pattern=f"^{PICK_PREFIX}"),
    ]
