"""The first journey: greeting, main menu and help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.employers import looks_like_invite
from bot.i18n import _, isolate
from handlers.employers import employer_help_text, link_chat, linked_employer
from handlers.menu import MenuAction, back_to_menu, main_menu, show


def help_text() -> str:
    """What the bot can do, in the current language."""
    return _(
        "Here is what I can do:\n"
        "\n"
        "/start — main menu\n"
        "/status — your permit, deadlines and applications\n"
        "/qr — a QR code anyone can scan to check your permit\n"
        "/document — your permit information as a PDF\n"
        "/social — your social security card\n"
        "/guide — Z visa, residence permit, social insurance, e-card\n"
        "/link — link your Telegram account to your permit\n"
        "/unlink — remove that link\n"
        "/forget — delete what I keep about you\n"
        "/help — this help\n"
        "/settings — which notifications you get, and quiet hours\n"
        "/support — talk to a person\n"
        "/language — choose the language I speak\n"
        "/cancel — stop what I am doing\n"
        "\n"
        "Use the buttons under my messages, or type a command."
    )


async def start(update: Update, context: BotContext) -> None:
    """Greet the user in their language and show the main menu; `/start <invite code>`
    (an employer's deep link, or typed in an HR group) links the chat to that employer."""
    if context.args and looks_like_invite(context.args[0]):
        await link_chat(update, context, context.args[0])
        return
    user = update.effective_user
    name = isolate(user.first_name) if user else ""
    greeting = _(
        "Hello, {name}! I am Work Permit Assistant.\n"
        "\n"
        "I help foreigners working in China with their work permit: its status, deadlines, "
        "documents and verification codes.\n"
        "\n"
        "Choose what you need:"
    ).format(name=name)
    await show(update, greeting, main_menu())


async def help_command(update: Update, context: BotContext) -> None:
    """List what the bot can do (in a chat linked to an employer, the employer commands)."""
    employer = await linked_employer(update, context)
    chat = update.effective_chat
    if employer is None:
        await show(update, help_text(), main_menu())
    elif chat is not None and chat.type == "private":
        await show(update, employer_help_text(employer) + "\n\n" + help_text(), main_menu())
    else:
        await show(update, employer_help_text(employer))


async def menu_home(update: Update, context: BotContext) -> None:
    """Back to the main menu from any screen."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, _("Main menu. Choose what you need:"), main_menu())


async def menu_help(update: Update, context: BotContext) -> None:
    """The help screen, from the menu button."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, help_text(), back_to_menu())


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CallbackQueryHandler(menu_home, pattern=f"^{MenuAction.HOME}$"),
        CallbackQueryHandler(menu_help, pattern=f"^{MenuAction.HELP}$"),
    ]
