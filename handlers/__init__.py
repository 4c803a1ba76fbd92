"""Telegram-facing handlers, one module per user journey; this is their table of contents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import TypeHandler

if TYPE_CHECKING:
    from bot.app import BotApplication


def register_handlers(application: BotApplication) -> None:
    """Add every journey's handlers in the order they must be tried."""
    from telegram import Update

    from handlers import (
        conversation,
        document,
        employers,
        errors,
        fallback,
        free_text,
        guides,
        language,
        leaving,
        link,
        membership,
        qr,
        settings,
        social,
        start,
        status,
        support,
    )
    from handlers.session import finish_update, prepare_update

    # Group -1 runs first for every update: it records the user and sets their locale.
    application.add_handler(TypeHandler(Update, prepare_update), group=-1)
    config = application.bot_data.settings
    # A conversation step takes what it asks for; anything else a worker with an open
    # support ticket sends goes to staff before any other journey sees it.
    for journey in (membership, conversation):
        application.add_handlers(journey.handlers())
    application.add_handlers(support.handlers_for(config.SUPPORT_CHAT_ID, config.admin_user_ids))
    journeys = (
        start,
        language,
        settings,
        link,
        status,
        qr,
        document,
        social,
        guides,
        leaving,
    )
    employer_side = (employers,)  # HR people's chats and HR groups linked to an employer
    # Free text comes after every journey that reads typed answers to its steps.
    for journey in (*journeys, *employer_side, free_text, fallback):
        application.add_handlers(journey.handlers())
    # The last group observes each update's handling time.
    application.add_handler(TypeHandler(Update, finish_update), group=100)
    application.add_error_handler(errors.on_error)
