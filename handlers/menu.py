"""The main menu and the one way every journey puts a reply on screen."""

from __future__ import annotations

import enum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.i18n import _, directional
from handlers.conversation import visitor


class MenuAction(enum.StrEnum):
    """Callback data of the main menu's buttons."""

    HOME = "menu:home"
    HELP = "menu:help"
    LANGUAGE = "menu:language"
    LINK = "menu:link"
    STATUS = "menu:status"
    QR = "qr:general"


def main_menu() -> InlineKeyboardMarkup:
    """The main menu in the current language, for a linked or a not-yet-linked user."""
    current = visitor()
    rows: list[list[InlineKeyboardButton]] = []
    if current is None or not current.linked:
        rows.append([InlineKeyboardButton(_("🔗 Link my permit"), callback_data=MenuAction.LINK)])
    else:
        rows.append(
            [
                InlineKeyboardButton(_("📋 My permit"), callback_data=MenuAction.STATUS),
                InlineKeyboardButton(_("🔐 QR code"), callback_data=MenuAction.QR),
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(_("❓ Help"), callback_data=MenuAction.HELP),
            InlineKeyboardButton(_("🌐 Language"), callback_data=MenuAction.LANGUAGE),
        ]
    )
    return InlineKeyboardMarkup(rows)


def back_to_menu() -> InlineKeyboardMarkup:
    """A single button back to the main menu."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)]]
    )


async def show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show `text`: edit the message whose button was pressed, else send a new message."""
    text = directional(text)
    query = update.callback_query
    if query is not None and query.message is not None and query.message.is_accessible:
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as error:
            # Pressing the button of the screen already shown changes nothing; that is fine.
            if "not modified" not in error.message:
                raise
        return
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, reply_markup=markup)
