"""The error handler: log what failed (no personal data) and tell the user, in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.app import BotContext
from bot.i18n import _, directional

log = logging.getLogger("bot.errors")


def update_kind(update: Update) -> str:
    """Which kind of update this is (message, callback_query, ...), for logs and metrics."""
    kinds = (str(kind) for kind in Update.ALL_TYPES if getattr(update, str(kind), None))
    return next(kinds, "unknown")


async def report_failure(update: object, error: BaseException | None) -> None:
    """Log the failure with the update's id and kind only, then apologise to the user."""
    kind = "none"
    update_id: int | None = None
    if isinstance(update, Update):
        update_id = update.update_id
        kind = update_kind(update)
    log.error(
        "update failed",
        exc_info=(type(error), error, error.__traceback__) if error else None,
        extra={"update_id": update_id, "update_kind": kind},
    )
    if not isinstance(update, Update) or isinstance(error, Forbidden):
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:
            log.debug("callback answer failed after error")
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await chat.send_message(
            directional(_("Sorry, something went wrong on my side. Please try again in a moment."))
        )
    except Exception:
        log.warning("could not tell the user about an error", extra={"update_id": update_id})


async def on_error(update: object, context: BotContext) -> None:
    """PTB's error handler: report whatever a handler raised."""
    await report_failure(update, context.error)
