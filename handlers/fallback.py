"""What the bot says to anything no journey handled: a short hint and the menu.

Free text is understood by `handlers.free_text`, registered just before these."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.app import BotContext
from bot.i18n import _
from handlers.menu import main_menu, show

_SHOWN_COMMAND_LENGTH = 32


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    command = message.text.split(maxsplit=1)[0][:_SHOWN_COMMAND_LENGTH]
    text = _("I don't know the command {command}. Send /help to see what I can do.")
    await show(update, text.format(command=command), main_menu())


async def unsupported_message(update: Update, context: BotContext) -> None:
    """Stickers, voice, photos and the like outside any journey that expects them."""
    await show(
        update,
        _("I can only read text messages and buttons. Please choose from the menu."),
        main_menu(),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose data no journey knows (an old message, or a forged callback)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(_("This button is no longer available."), show_alert=False)
    await show(update, _("Main menu. Choose what you need:"), main_menu())


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers; registered last so every other journey goes first."""
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(private & filters.COMMAND, unknown_command),
        MessageHandler(
            private & ~filters.StatusUpdate.ALL & ~filters.TEXT & ~filters.COMMAND,
            unsupported_message,
        ),
        CallbackQueryHandler(stale_button),
    ]
