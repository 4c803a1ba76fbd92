"""Leaving: /unlink removes the link, /forget deletes what the bot keeps; both confirm first."""

from __future__ import annotations

import enum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.accounts import forget_user
from bot.app import BotContext
from bot.i18n import _
from handlers.conversation import update_visitor, visitor
from handlers.menu import MenuAction, account_menu, main_menu, show


class LeaveAction(enum.StrEnum):
    """Callback data of the confirmation buttons."""

    UNLINK_YES = "leave:unlink"
    FORGET_YES = "leave:forget"
    NO = "leave:no"


def _confirm(yes_label: str, yes: LeaveAction) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(yes_label, callback_data=yes)],
            [InlineKeyboardButton(_("No, keep everything"), callback_data=LeaveAction.NO)],
        ]
    )


async def account(update: Update, context: BotContext) -> None:
    """The account screen: unlink or delete my data."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, _("⚙️ My account. What would you like to do?"), account_menu())


async def ask_unlink(update: Update, context: BotContext) -> None:
    """Ask before removing the link."""
    if update.callback_query:
        await update.callback_query.answer()
    current = visitor()
    if current is None or current.permit_id is None:
        await show(update, _("This Telegram account is not linked to a work permit."), main_menu())
        return
    await show(
        update,
        _(
            "Remove the link between this Telegram account and your work permit? You will "
            "stop seeing your permit here until you link again with /link."
        ),
        _confirm(_("Yes, unlink"), LeaveAction.UNLINK_YES),
    )


async def ask_forget(update: Update, context: BotContext) -> None:
    """Ask before deleting what the bot keeps about the user."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(
        update,
        _(
            "Delete everything I keep about this Telegram account? That is the link to your "
            "work permit, your language and settings, unfinished steps and pending "
            "notifications. Your permit record itself belongs to the records system and stays."
        ),
        _confirm(_("Yes, delete"), LeaveAction.FORGET_YES),
    )


async def unlink(update: Update, context: BotContext) -> None:
    """Remove the link (confirmed)."""
    query = update.callback_query
    current = visitor()
    if query is None or current is None:
        return
    removed = await context.bot_data.linking.unlink(current.user_id)
    update_visitor(permit_id=None)
    await query.answer()
    if removed:
        text = _("Done: this Telegram account is no longer linked to your work permit.")
    else:
        text = _("This Telegram account is not linked to a work permit.")
    await show(update, text, main_menu())


async def forget(update: Update, context: BotContext) -> None:
    """Delete the user's link, settings and steps (confirmed), and say what went."""
    query = update.callback_query
    current = visitor()
    if query is None or current is None:
        return
    report = await forget_user(context.bot_data.db, current.user_id)
    update_visitor(permit_id=None, step=None)
    await query.answer()
    lines = [_("Done. I deleted:")]
    if report.link_removed:
        lines.append("• " + _("the link to your work permit"))
    lines.append("• " + _("your language and settings"))
    if report.steps_removed:
        lines.append("• " + _("unfinished steps"))
    if report.notifications_removed:
        lines.append("• " + _("notifications not yet sent"))
    lines.append(
        _(
            "Your permit record stays in the records system. If you write to me again, "
            "I will start afresh."
        )
    )
    await show(update, "\n".join(lines))


async def keep(update: Update, context: BotContext) -> None:
    """The user changed their mind."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, _("Nothing was changed.") + "\n\n" + _("Choose what you need:"), main_menu())


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("unlink", ask_unlink),
        CommandHandler("forget", ask_forget),
        CallbackQueryHandler(account, pattern=f"^{MenuAction.ACCOUNT}$"),
        CallbackQueryHandler(ask_unlink, pattern=f"^{MenuAction.UNLINK}$"),
        CallbackQueryHandler(ask_forget, pattern=f"^{MenuAction.FORGET}$"),
        CallbackQueryHandler(unlink, pattern=f"^{LeaveAction.UNLINK_YES}$"),
        CallbackQueryHandler(forget, pattern=f"^{LeaveAction.FORGET_YES}$"),
        CallbackQueryHandler(keep, pattern=f"^{LeaveAction.NO}$"),
    ]
