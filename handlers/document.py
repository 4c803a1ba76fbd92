"""The /document journey: the permit information as a one-page PDF with its verification QR."""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo

from telegram import InputFile, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.credentials import Purpose
from bot.i18n import _, current_locale, directional
from bot.permits import PermitDetails
from bot.verification_codes import CodeRefused
from handlers.link import needs_link, require_link
from handlers.menu import MenuAction, main_menu, show
from handlers.qr import refusal_text
from storage.models import utcnow


def render(
    details: PermitDetails, qr_png: bytes, issued_at: datetime, tz: tzinfo, locale: str
) -> bytes:
    """The PDF, in a worker thread: the PDF modules (fpdf2, fontTools, HarfBuzz: about 18 MB)
    are imported there on first use, off the event loop, and never by a process that is not
    asked for a PDF."""
    from bot.documents import PermitDocument, render_permit_pdf

    page = PermitDocument(
        details=details, qr_png=qr_png, issued_at=issued_at, tz=tz, reader_locale=locale
    )
    return render_permit_pdf(page)


async def document(update: Update, context: BotContext) -> None:
    """Send the PDF at once (rendered off the event loop)."""
    if update.callback_query:
        await update.callback_query.answer()
    chat = update.effective_chat
    permit_id = await require_link(update)
    if chat is None or permit_id is None:
        return
    overview = await context.bot_data.permits.overview(permit_id)
    if overview is None:
        await needs_link(update)
        return
    try:
        code = await context.bot_data.codes.issue(permit_id, Purpose.GENERAL)
    except CodeRefused as refused:
        await show(update, refusal_text(refused.refusal), main_menu())
        return
    await chat.send_chat_action(ChatAction.UPLOAD_DOCUMENT)
    pdf = await asyncio.to_thread(
        render,
        overview.details,
        code.png,
        utcnow(),
        context.bot_data.settings.tz,
        current_locale(),
    )
    await chat.send_document(
        InputFile(pdf, filename="work-permit-information.pdf"),
        caption=directional(
            _(
                "📄 Your work permit information (Chinese and English). Its QR code stays "
                "valid for a short time only; send /qr for a fresh one."
            )
        ),
    )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("document", document),
        CallbackQueryHandler(document, pattern=f"^{MenuAction.DOCUMENT}$"),
    ]
