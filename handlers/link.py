"""The /link journey: name, permit number, social-security number, then the phone contact."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app import BotContext
from bot.i18n import (
    N_,
    _,
    directional,
    format_day,
    format_moment,
    isolate,
    resolve_locale,
    use_locale,
)
from bot.linking import LinkClaim, LinkOutcome, clean_name, clean_permit_no, clean_ss_no
from handlers.conversation import AtStep, end_journey, go_to, update_visitor, visitor
from handlers.menu import MenuAction, main_menu, show, support_button
from storage.identifiers import mask, name_key
from storage.repositories import PermitRepository, Step, UserRepository

log = logging.getLogger(__name__)

JOURNEY = "link"


class LinkStep(enum.StrEnum):
    """The steps of the link journey, in order."""

    NAME = "name"
    PERMIT = "permit"
    SOCIAL_SECURITY = "ss"
    CONTACT = "contact"


def link_offer() -> InlineKeyboardMarkup:
    """A button that starts linking."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("🔗 Link my permit"), callback_data=MenuAction.LINK)]]
    )


async def needs_link(update: Update) -> None:
    """Explain that a journey needs a linked account, and offer to link."""
    await show(
        update,
        _(
            "To see this, first link your Telegram account to your work permit. "
            "It takes four details: your name as in your passport, your work permit number, "
            "your social-security number and your phone number."
        ),
        link_offer(),
    )


async def require_link(update: Update) -> int | None:
    """The visitor's linked permit (authorized from the database), else explain and offer /link."""
    current = visitor()
    if current is None or current.permit_id is None:
        await needs_link(update)
        return None
    return current.permit_id


def _contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def _when(moment: datetime, context: BotContext) -> str:
    return isolate(format_moment(moment, context.bot_data.settings.tz))


def _user_locked(locked_until: datetime, context: BotContext) -> str:
    return _(
        "For your security, linking is paused until {time} after several "
        "unsuccessful attempts. Please try again then."
    ).format(time=_when(locked_until, context))


async def start_link(update: Update, context: BotContext) -> None:
    """Begin linking: refuse politely when already linked or locked, else ask for the name."""
    if update.callback_query:
        await update.callback_query.answer()
    current = visitor()
    if current is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        await update.effective_chat.send_message(
            directional(_("For your privacy, linking works only in a private chat with me."))
        )
        return
    if current.permit_id is not None:
        await show(
            update,
            _(
                "Your Telegram account is already linked to a work permit. "
                "To link a different permit, first remove this link with /unlink."
            ),
            main_menu(),
        )
        return
    locked_until = await context.bot_data.linking.user_locked_until(current.user_id)
    if locked_until is not None:
        offer = InlineKeyboardMarkup([[support_button(after_lockout=True)]])
        await show(update, _user_locked(locked_until, context), offer)
        return
    await go_to(context, Step(JOURNEY, LinkStep.NAME, {}))
    await show(
        update,
        _(
            "Let's link your work permit to this Telegram account. I will ask for four "
            "details, and all of them must match the records.\n"
            "\n"
            "Step 1 of 4: send your full name exactly as in your passport.\n"
            "\n"
            "Send /cancel to stop at any time."
        ),
    )


@dataclass(frozen=True, slots=True)
class TextStep:
    """One typed step: how to read the answer, what to keep, the hint, and what comes next."""

    key: str
    read: Callable[[str, BotContext], str | None]
    hint: str
    next_step: LinkStep
    next_prompt: str


def _read_name(text: str, context: BotContext) -> str | None:
    name = clean_name(text)
    return name_key(name) if name is not None else None


def _read_permit(text: str, context: BotContext) -> str | None:
    return clean_permit_no(text)


def _read_social_security(text: str, context: BotContext) -> str | None:
    # Only the keyed hash is kept in the conversation state, never the number.
    ss_no = clean_ss_no(text)
    return context.bot_data.hasher.social_security(ss_no).hash if ss_no else None


TEXT_STEPS = {
    LinkStep.NAME: TextStep(
        "name_key",
        _read_name,
        N_("Please send your full name as it appears in your passport (letters only)."),
        LinkStep.PERMIT,
        N_("Step 2 of 4: send your 18-digit work permit number."),
    ),
    LinkStep.PERMIT: TextStep(
        "permit_no",
        _read_permit,
        N_(
            "A work permit number has exactly 18 digits, for example "
            "1101 2345 6789 0123 45 (spaces and dashes are fine). Please try again."
        ),
        LinkStep.SOCIAL_SECURITY,
        N_("Step 3 of 4: send your social-security number."),
    ),
    LinkStep.SOCIAL_SECURITY: TextStep(
        "ss_hash",
        _read_social_security,
        N_(
            "A social-security number has 6 to 30 letters and digits "
            "(spaces and dashes are fine). Please try again."
        ),
        LinkStep.CONTACT,
        N_(
            "Step 4 of 4: share your phone number with the button below. It must be the "
            "number your employer has on record."
        ),
    ),
}


async def got_text(update: Update, context: BotContext) -> None:
    """Steps 1–3: read the answer, or hint at the expected form and stay at the step."""
    message = update.effective_message
    current = visitor()
    if message is None or current is None or current.step is None:
        return
    step = TEXT_STEPS[LinkStep(current.step.step)]
    value = step.read(message.text or "", context)
    if value is None:
        await message.reply_text(directional(_(step.hint)))
        return
    data = {**current.step.data, step.key: value}
    await go_to(context, Step(JOURNEY, step.next_step, data))
    markup = _contact_keyboard() if step.next_step is LinkStep.CONTACT else None
    await message.reply_text(directional(_(step.next_prompt)), reply_markup=markup)


async def typed_instead_of_contact(update: Update, context: BotContext) -> None:
    """Step 4 expects the contact button; a typed number cannot prove it is the user's."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        directional(
            _(
                "Please press the “Share my phone number” button below; a typed number "
                "cannot be accepted. Send /cancel to stop."
            )
        ),
        reply_markup=_contact_keyboard(),
    )


async def got_contact(update: Update, context: BotContext) -> None:
    """Step 4: the shared contact, which must be the sender's own; then check everything."""
    message = update.effective_message
    current = visitor()
    if message is None or message.contact is None or current is None or current.step is None:
        return
    if message.contact.user_id != current.user_id:
        await message.reply_text(
            directional(
                _("Please share your own phone number with the button below, not a contact.")
            ),
            reply_markup=_contact_keyboard(),
        )
        return
    data = current.step.data
    claim = LinkClaim(
        name_key=str(data.get("name_key", "")),
        permit_no=str(data.get("permit_no", "")),
        ss_hash=str(data.get("ss_hash", "")),
        phone_hash=context.bot_data.hasher.phone(message.contact.phone_number).hash,
    )
    await end_journey(context)
    result = await context.bot_data.linking.attempt(current.user_id, claim)
    done = ReplyKeyboardRemove()
    if result.outcome is LinkOutcome.LINKED and result.permit_id is not None:
        update_visitor(permit_id=result.permit_id)
        await message.reply_text(
            directional(await _summary(context, result.permit_id)), reply_markup=done
        )
        await message.reply_text(directional(_("Choose what you need:")), reply_markup=main_menu())
        return
    if result.outcome is LinkOutcome.TAKEN:
        text = _(
            "This work permit is already linked to another Telegram account. If that account "
            "is yours, send /unlink there first, then try again here."
        )
        if result.other_user_id is not None:
            await _warn_holder(context, result.other_user_id)
    elif result.outcome is LinkOutcome.PERMIT_LOCKED and result.locked_until is not None:
        text = _(
            "Linking this work permit is paused until {time} because of too many "
            "unsuccessful attempts. Please try again then."
        ).format(time=_when(result.locked_until, context))
    elif result.outcome is LinkOutcome.USER_LOCKED and result.locked_until is not None:
        text = _user_locked(result.locked_until, context)
    elif result.outcome is LinkOutcome.ALREADY_LINKED:
        text = _(
            "Your Telegram account is already linked to a work permit. "
            "To link a different permit, first remove this link with /unlink."
        )
    else:
        text = _(
            "Sorry, these details do not match our records. Please check them and try "
            "again with /link."
        )
        if result.locked_until is not None:
            text += "\n\n" + _user_locked(result.locked_until, context)
    await message.reply_text(directional(text), reply_markup=done)
    if result.locked_until is not None:
        await _offer_support(message)


async def _offer_support(message: Message) -> None:
    """After repeated failures, a person may help where the records do not match."""
    await message.reply_text(
        directional(_("Stuck? Our staff can look into it with you.")),
        reply_markup=InlineKeyboardMarkup([[support_button(after_lockout=True)]]),
    )


async def _summary(context: BotContext, permit_id: int) -> str:
    async with context.bot_data.db.session() as session:
        permit = await PermitRepository(session).full(permit_id)
    if permit is None:
        return _("Done! This Telegram account is now linked to your work permit.")
    return _(
        "Done! This Telegram account is now linked to your work permit.\n"
        "\n"
        "Name: {name}\n"
        "Permit number: {permit}\n"
        "Social-security number: {ss}\n"
        "Employer: {employer}\n"
        "Valid until: {date}"
    ).format(
        name=isolate(permit.person.full_name),
        permit=isolate(mask(permit.permit_no)),
        ss=isolate(permit.person.ss_masked),
        employer=isolate(permit.employer.name),
        date=isolate(format_day(permit.valid_until)),
    )


async def _warn_holder(context: BotContext, holder_id: int) -> None:
    # The holder hears in their own language that someone else tried to take the permit.
    settings = context.bot_data.settings
    async with context.bot_data.db.session() as session:
        profile = await UserRepository(session).get(holder_id)
    locale = resolve_locale(
        profile.locale if profile else None,
        profile.language_code if profile else None,
        settings.DEFAULT_LOCALE,
    )
    with use_locale(locale):
        text = directional(
            _(
                "Someone just tried to link your work permit to a different Telegram "
                "account. Your account stays linked and nothing was changed. If this was "
                "not you, no action is needed."
            )
        )
    try:
        await context.bot.send_message(holder_id, text)
    except TelegramError:
        log.warning("could not warn the permit holder", extra={"reason": "telegram_error"})


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    at = AtStep
    text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    return [
        CommandHandler("link", start_link),
        CallbackQueryHandler(start_link, pattern=f"^{MenuAction.LINK}$"),
        *(MessageHandler(at(JOURNEY, step) & text, got_text) for step in TEXT_STEPS),
        MessageHandler(at(JOURNEY, LinkStep.CONTACT) & filters.CONTACT, got_contact),
        MessageHandler(at(JOURNEY, LinkStep.CONTACT) & text, typed_instead_of_contact),
    ]
