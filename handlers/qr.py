"""The /qr journey: a short-lived signed verification code as a QR photo, per purpose."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.credentials import Purpose
from bot.i18n import N_, _, directional, format_moment, isolate, ngettext
from bot.verification_codes import CodeRefused, IssuedCode, Refusal
from handlers.link import require_link
from handlers.menu import MenuAction, main_menu, pressed_choice, show

QR_PREFIX = "qr:"
PURPOSE_LABELS = {
    Purpose.GENERAL: N_("general check"),
    Purpose.EMPLOYMENT: N_("employment check"),
    Purpose.RESIDENCE: N_("residence permit"),
    Purpose.SOCIAL_INSURANCE: N_("social insurance"),
}


def code_keyboard(purpose: Purpose) -> InlineKeyboardMarkup:
    """A fresh-code button and one button per specific purpose."""
    rows = [
        [InlineKeyboardButton(_("🔄 New code"), callback_data=f"{QR_PREFIX}{purpose.value}")],
    ]
    for other in (Purpose.EMPLOYMENT, Purpose.RESIDENCE, Purpose.SOCIAL_INSURANCE):
        if other is not purpose:
            label = _("Code for: {purpose}").format(purpose=_(PURPOSE_LABELS[other]))
            rows.append([InlineKeyboardButton(label, callback_data=f"{QR_PREFIX}{other.value}")])
    rows.append([InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)])
    return InlineKeyboardMarkup(rows)


def caption(code: IssuedCode, context: BotContext) -> str:
    """What the code is for, until when it works and what the verifier will see."""
    minutes = max(1, context.bot_data.settings.QR_TTL_SECONDS // 60)
    validity = ngettext(
        "Valid until {time} ({n} minute).", "Valid until {time} ({n} minutes).", minutes
    ).format(time=isolate(format_moment(code.expires_at, context.bot_data.settings.tz)), n=minutes)
    return "\n".join(
        [
            _("🔐 Verification code: {purpose}").format(purpose=_(PURPOSE_LABELS[code.purpose])),
            validity,
            _(
                "Whoever scans it sees whether your permit is valid right now, with your name, "
                "nationality, permit category, valid-until date and employer. They do not see "
                "your passport or social-security numbers."
            ),
        ]
    )


def refusal_text(refusal: Refusal) -> str:
    """Why no code can be shown."""
    if refusal is Refusal.CANCELLED:
        return _(
            "No verification code can be issued: your work permit has been cancelled. "
            "See /status for what to do next."
        )
    if refusal is Refusal.EXPIRED:
        return _(
            "No verification code can be issued: your work permit has expired. "
            "See /status for what to do next."
        )
    return _("Your permit record could not be found. Please link your account again with /link.")


async def send_code(update: Update, context: BotContext, purpose: Purpose) -> None:
    """Issue a code for the linked permit (authorized from the database) and send it."""
    chat = update.effective_chat
    permit_id = await require_link(update)
    if chat is None or permit_id is None:
        return
    try:
        code = await context.bot_data.codes.issue(permit_id, purpose)
    except CodeRefused as refused:
        await show(update, refusal_text(refused.refusal), main_menu())
        return
    await chat.send_photo(
        InputFile(code.png, filename="verification-code.png"),
        caption=directional(caption(code, context)),
        reply_markup=code_keyboard(purpose),
    )


async def qr(update: Update, context: BotContext) -> None:
    """/qr: a general-purpose code at once."""
    await send_code(update, context, Purpose.GENERAL)


async def qr_button(update: Update, context: BotContext) -> None:
    """A new code, or a code for a specific purpose, from a button."""
    purpose = await pressed_choice(update, QR_PREFIX, Purpose)
    if purpose is not None:
        await send_code(update, context, purpose)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("qr", qr),
        CallbackQueryHandler(qr_button, pattern=f"^{QR_PREFIX}"),
    ]
