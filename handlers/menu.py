"""The main menu and the one way every journey puts a reply on screen."""

from __future__ import annotations

import enum
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.error import BadRequest

from bot.i18n import _, directional, is_rtl
from handlers.conversation import visitor


class MenuAction(enum.StrEnum):
    """Callback data of the main menu's buttons."""

    HOME = "menu:home"
    HELP = "menu:help"
    LANGUAGE = "menu:language"
    LINK = "menu:link"
    STATUS = "menu:status"
    QR = "qr:general"
    DOCUMENT = "menu:document"
    SOCIAL = "menu:social"
    GUIDES = "menu:guides"
    ACCOUNT = "menu:account"
    UNLINK = "menu:unlink"
    FORGET = "menu:forget"
    SETTINGS = "menu:settings"
    SUPPORT = "support:open"


def main_menu() -> InlineKeyboardMarkup:
    """The main menu in the current language, for a linked or a not-yet-linked user."""
    current = visitor()
    button = InlineKeyboardButton
    rows: list[list[InlineKeyboardButton]] = []
    if current is None or not current.linked:
        rows.append([button(_("🔗 Link my permit"), callback_data=MenuAction.LINK)])
    else:
        rows.append(
            [
                button(_("📋 My permit"), callback_data=MenuAction.STATUS),
                button(_("🔐 QR code"), callback_data=MenuAction.QR),
            ]
        )
        rows.append(
            [
                button(_("📄 Permit document"), callback_data=MenuAction.DOCUMENT),
                button(_("🪪 Social security"), callback_data=MenuAction.SOCIAL),
            ]
        )
        if current.card_url is not None:
            rows.append([button(_("💳 My permit card"), web_app=WebAppInfo(current.card_url))])
    rows.append(
        [
            button(_("📚 Guides"), callback_data=MenuAction.GUIDES),
            button(_("❓ Help"), callback_data=MenuAction.HELP),
        ]
    )
    rows.append(
        [
            button(_("🌐 Language"), callback_data=MenuAction.LANGUAGE),
            button(_("⚙️ My account"), callback_data=MenuAction.ACCOUNT),
        ]
    )
    rows.append([support_button()])
    return InlineKeyboardMarkup(rows)


def support_button(after_lockout: bool = False) -> InlineKeyboardButton:
    """The "Talk to a person" button (the menu, and the offer after repeated failures)."""
    data = MenuAction.SUPPORT + (":lockout" if after_lockout else "")
    return InlineKeyboardButton(_("🙋 Talk to a person"), callback_data=data)


def account_menu() -> InlineKeyboardMarkup:
    """Notification settings, and leaving: unlink (when linked) and delete my data."""
    current = visitor()
    rows = [[InlineKeyboardButton(_("🔔 Notifications"), callback_data=MenuAction.SETTINGS)]]
    if current is not None and current.linked:
        rows.append(
            [InlineKeyboardButton(_("🔓 Unlink my permit"), callback_data=MenuAction.UNLINK)]
        )
    rows.append([InlineKeyboardButton(_("🗑 Delete my data"), callback_data=MenuAction.FORGET)])
    rows.append([home_button()])
    return InlineKeyboardMarkup(rows)


def home_button() -> InlineKeyboardButton:
    """Back to the main menu."""
    return InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)


def back_to_menu() -> InlineKeyboardMarkup:
    """A single button back to the main menu."""
    return InlineKeyboardMarkup([[home_button()]])


MESSAGE_LIMIT = 4096
E = TypeVar("E", bound=enum.StrEnum)


async def pressed_choice(update: Update, prefix: str, kind: type[E]) -> E | None:
    """The member of `kind` a pressed button names after `prefix`; a stale or altered button
    is answered as no longer available (None)."""
    query = update.callback_query
    if query is None:
        return None
    try:
        choice = kind((query.data or "").removeprefix(prefix))
    except ValueError:
        await query.answer(_("This button is no longer available."))
        return None
    await query.answer()
    return choice


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a long text into messages Telegram accepts: at paragraphs, then lines, then words.

    A word is only cut when it alone is longer than a whole message.
    """
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator, 0, limit)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def for_reader(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard as the reader reads: in right-to-left languages each row runs from the
    right (the first button of a row, e.g. "Previous", sits on the right)."""
    if markup is None or not is_rtl():
        return markup
    return InlineKeyboardMarkup([list(reversed(row)) for row in markup.inline_keyboard])


async def show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show `text`: edit the message whose button was pressed, else send new messages.

    Texts over Telegram's limit go out as several messages; the buttons go under the last.
    """
    markup = for_reader(markup)
    parts = [directional(part) for part in split_text(text, MESSAGE_LIMIT - 1)]
    query = update.callback_query
    if query is not None and query.message is not None and query.message.is_accessible:
        first, parts = parts[0], parts[1:]
        try:
            await query.edit_message_text(first, reply_markup=None if parts else markup)
        except BadRequest as error:
            # Pressing the button of the screen already shown changes nothing; that is fine.
            if "not modified" not in error.message:
                raise
    chat = update.effective_chat
    if chat is None:
        return
    for index, part in enumerate(parts):
        await chat.send_message(part, reply_markup=markup if index == len(parts) - 1 else None)
