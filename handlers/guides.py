"""The /guide journey: short guides with the worker's own dates filled in where known."""

from __future__ import annotations

import enum
from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.deadlines import NOTIFICATION_LETTER_MONTHS, add_months
from bot.i18n import N_, _, format_day, isolate
from bot.permits import PermitOverview
from handlers.conversation import visitor
from handlers.menu import MenuAction, pressed_choice, show
from storage.models import ApplicationKind, ApplicationStatus

GUIDE_PREFIX = "guide:"
RESIDENCE_DAYS = 30


class Guide(enum.StrEnum):
    """The guides on offer."""

    Z_VISA = "z_visa"
    RESIDENCE = "residence"
    SOCIAL_INSURANCE = "social_insurance"
    ECARD = "ecard"


GUIDE_TITLES = {
    Guide.Z_VISA: N_("✈️ Z visa with the Notification Letter"),
    Guide.RESIDENCE: N_("🏠 Residence permit"),
    Guide.SOCIAL_INSURANCE: N_("🏥 Social insurance"),
    Guide.ECARD: N_("📱 Electronic social security card"),
}


def letter_issued_on(overview: PermitOverview | None) -> date | None:
    """When the Notification Letter was issued: the approval of the issuance application."""
    if overview is None:
        return None
    for entry in overview.timeline:
        if entry.kind is ApplicationKind.ISSUANCE and entry.status is ApplicationStatus.APPROVED:
            return entry.at.date()
    return overview.details.issued_on


def guide_text(guide: Guide, overview: PermitOverview | None, today: date) -> str:
    """One guide, with the reader's dates where the records give them."""
    title = _(GUIDE_TITLES[guide])
    if guide is Guide.Z_VISA:
        body = _(
            "To enter China to work you need a Z visa. Your employer downloads the "
            "Notification Letter of Foreigner's Work Permit from the Service System for "
            "Foreigners Working in China; you apply for the Z visa at a Chinese embassy or "
            "consulate with it. The letter is not a visa, and it is valid for 6 months from "
            "the day it is issued."
        )
        issued = letter_issued_on(overview)
        if issued is not None:
            body += "\n\n" + _(
                "Your Notification Letter was issued on {issued}: use it by {until}."
            ).format(
                issued=isolate(format_day(issued)),
                until=isolate(format_day(add_months(issued, NOTIFICATION_LETTER_MONTHS))),
            )
    elif guide is Guide.RESIDENCE:
        body = _(
            "After entering China on a Z visa, apply for a residence permit at the exit-entry "
            "administration of the public security bureau where you work, within 30 days of "
            "entry. Bring your passport and the Notification Letter, or your electronic social "
            "security card with the work-permit information; officers verify the permit by "
            "system lookup, the e-card, or by scanning its QR code (/qr)."
        )
        body += "\n\n" + _("For example, if you entered today, apply by {date}.").format(
            date=isolate(format_day(today + timedelta(days=RESIDENCE_DAYS)))
        )
    elif guide is Guide.SOCIAL_INSURANCE:
        body = _(
            "Your employer enrols you in social insurance using the Notification Letter or "
            "your electronic social security card. The agency verifies your work permit "
            "through the Service System and issues your social-security number; the card "
            "service department hands out the physical card. See /social for your card."
        )
    else:
        body = _(
            "The electronic social security card carries your work-permit information. "
            "Register in the e-card portal for work-permit holders with your name as in your "
            "passport, your work permit number and a password of 8 to 16 characters, then "
            "pass face verification. Holders of a physical card can also verify with a bank "
            "card, or a phone number and an SMS code."
        )
    return title + "\n\n" + body


def guides_keyboard() -> InlineKeyboardMarkup:
    """One button per guide."""
    rows = [
        [InlineKeyboardButton(_(GUIDE_TITLES[guide]), callback_data=f"{GUIDE_PREFIX}{guide}")]
        for guide in Guide
    ]
    rows.append([InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)])
    return InlineKeyboardMarkup(rows)


async def guides(update: Update, context: BotContext) -> None:
    """The list of guides."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, _("📚 Guides. Choose a topic:"), guides_keyboard())


async def guide(update: Update, context: BotContext) -> None:
    """One guide, from its button."""
    chosen = await pressed_choice(update, GUIDE_PREFIX, Guide)
    if chosen is not None:
        await show_guide(update, context, chosen)


async def show_guide(update: Update, context: BotContext, chosen: Guide) -> None:
    """One guide, personalised when the account is linked."""
    current = visitor()
    overview = None
    if current is not None and current.permit_id is not None:
        overview = await context.bot_data.permits.overview(current.permit_id)
    today = context.bot_data.permits.today()
    back = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("⬅️ All guides"), callback_data=MenuAction.GUIDES)]]
    )
    await show(update, guide_text(chosen, overview, today), back)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("guide", guides),
        CallbackQueryHandler(guides, pattern=f"^{MenuAction.GUIDES}$"),
        CallbackQueryHandler(guide, pattern=f"^{GUIDE_PREFIX}"),
    ]
