"""The /social journey: social-security number, e-card and card state, and what the card does."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.i18n import _, isolate
from bot.permits import CARD_LABELS, ECARD_LABELS
from handlers.link import needs_link, require_link
from handlers.menu import MenuAction, back_to_menu, show
from storage.models import CardState


async def social(update: Update, context: BotContext) -> None:
    """Show the social-security record of the linked worker."""
    if update.callback_query:
        await update.callback_query.answer()
    permit_id = await require_link(update)
    if permit_id is None:
        return
    overview = await context.bot_data.permits.overview(permit_id)
    if overview is None:
        await needs_link(update)
        return
    details = overview.details
    if details.card_state is CardState.READY_FOR_PICKUP and details.pickup_place:
        card = _("ready for pickup at {place}").format(place=isolate(details.pickup_place))
    elif details.card_state is not None:
        card = _(CARD_LABELS[details.card_state])
    else:
        card = _("no record yet")
    ecard = _(ECARD_LABELS[details.ecard_state]) if details.ecard_state else _("no record yet")
    text = _(
        "🪪 Social security\n"
        "\n"
        "Social-security number: {number}\n"
        "Electronic social security card: {ecard}\n"
        "Physical social security card: {card}\n"
        "\n"
        "Your social security card now also carries your work-permit information. Officers "
        "and agencies check it by system lookup, on the electronic card, or by scanning your "
        "permit's QR code (/qr). Use it for the residence permit at the exit-entry office, "
        "for social insurance, and for the services your city offers on the card."
    ).format(number=isolate(details.ss_masked), ecard=ecard, card=card)
    await show(update, text, back_to_menu())


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("social", social),
        CallbackQueryHandler(social, pattern=f"^{MenuAction.SOCIAL}$"),
    ]
