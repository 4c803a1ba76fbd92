"""Free text outside any step: understood as an intent and acted on (the same screens the
commands show), or answered from the knowledge base; when unsure, the closest guesses and a
person to talk to. Never silence."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot import intents
from bot.app import BotContext
from bot.i18n import N_, _, current_locale
from bot.intents import GUESS, Match, understand
from bot.knowledge import Entry, Intent, entries_by_id
from bot.questions import remember_question
from handlers import document, guides, language, leaving, link, qr, settings, social, status
from handlers.conversation import visitor
from handlers.guides import GUIDE_PREFIX, GUIDE_TITLES, Guide
from handlers.menu import MenuAction, home_button, main_menu, show, support_button

log = logging.getLogger(__name__)


class AskAction(enum.StrEnum):
    """Callback data of the answers that have no journey of their own elsewhere."""

    DEADLINE = "ask:deadline"
    EMPLOYER = "ask:employer"


# What each intent's button says and which existing screen it opens.
INTENT_BUTTONS: dict[Intent, tuple[str, str]] = {
    Intent.STATUS: (N_("📋 My permit"), MenuAction.STATUS),
    Intent.DEADLINE: (N_("⏰ My deadlines"), AskAction.DEADLINE),
    Intent.QR: (N_("🔐 QR code"), MenuAction.QR),
    Intent.DOCUMENT: (N_("📄 Permit document"), MenuAction.DOCUMENT),
    Intent.LINK: (N_("🔗 Link my permit"), MenuAction.LINK),
    Intent.UNLINK: (N_("🔓 Unlink my permit"), MenuAction.UNLINK),
    Intent.FORGET: (N_("🗑 Delete my data"), MenuAction.FORGET),
    Intent.SOCIAL: (N_("🪪 Social security"), MenuAction.SOCIAL),
    Intent.GUIDE_Z_VISA: (GUIDE_TITLES[Guide.Z_VISA], GUIDE_PREFIX + Guide.Z_VISA),
    Intent.GUIDE_RESIDENCE: (GUIDE_TITLES[Guide.RESIDENCE], GUIDE_PREFIX + Guide.RESIDENCE),
    Intent.GUIDE_SOCIAL_INSURANCE: (
        GUIDE_TITLES[Guide.SOCIAL_INSURANCE],
        GUIDE_PREFIX + Guide.SOCIAL_INSURANCE,
    ),
    Intent.GUIDE_ECARD: (GUIDE_TITLES[Guide.ECARD], GUIDE_PREFIX + Guide.ECARD),
    Intent.NOTIFICATIONS: (N_("🔔 Notifications"), MenuAction.SETTINGS),
    Intent.LANGUAGE: (N_("🌐 Language"), MenuAction.LANGUAGE),
    Intent.SUPPORT: (N_("🙋 Talk to a person"), MenuAction.SUPPORT),
    Intent.EMPLOYER: (N_("🏢 For employers"), AskAction.EMPLOYER),
    Intent.GREETING: (N_("⬅️ Main menu"), MenuAction.HOME),
    Intent.THANKS: (N_("⬅️ Main menu"), MenuAction.HOME),
}
GUIDES = {
    Intent.GUIDE_Z_VISA: Guide.Z_VISA,
    Intent.GUIDE_RESIDENCE: Guide.RESIDENCE,
    Intent.GUIDE_SOCIAL_INSURANCE: Guide.SOCIAL_INSURANCE,
    Intent.GUIDE_ECARD: Guide.ECARD,
}
DEFAULT_DEADLINE_ENTRY = "kb.extension.when"
RELATED_SHARE = 0.5


def intent_button(intent: Intent) -> InlineKeyboardButton:
    """The button that opens an intent's screen."""
    label, data = INTENT_BUTTONS[intent]
    return InlineKeyboardButton(_(label), callback_data=data)


def guess_keyboard(intents: list[Intent], *, with_support: bool) -> InlineKeyboardMarkup:
    """One button per guessed intent (each screen once), maybe a person, and the main menu."""
    rows: list[list[InlineKeyboardButton]] = []
    seen: set[str] = {MenuAction.HOME}
    for intent in intents:
        button = intent_button(intent)
        if button.callback_data not in seen and intent is not Intent.SUPPORT:
            seen.add(str(button.callback_data))
            rows.append([button])
    if with_support:
        rows.append([support_button()])
    rows.append([home_button()])
    return InlineKeyboardMarkup(rows)


def entry_text(entry: Entry) -> str:
    """A knowledge-base answer under its question."""
    return "❓ " + _(entry.question) + "\n\n" + _(entry.answer)


# --- answers -----------------------------------------------------------------------------


async def not_understood(update: Update) -> None:
    """Nothing matched well enough to guess: the hint, the menu and a person."""
    await show(
        update,
        _("Sorry, I didn't understand that. Please choose from the menu or send /help."),
        main_menu(),  # it offers "Talk to a person" itself
    )


async def unsure(update: Update, match: Match) -> None:
    """Some intents matched, none clearly: offer them, and a person."""
    intents = [guess.intent for guess in match.guesses]
    await show(
        update,
        _("I'm not sure I understood. Did you mean one of these?"),
        guess_keyboard(intents, with_support=True),
    )


async def answer_entry(update: Update, entry: Entry, match: Match) -> None:
    """A knowledge-base answer, then the closest journeys as buttons (those that matched at
    least half as well as the best: the rest would be noise under a sure answer)."""
    floor = max(GUESS, match.score * RELATED_SHARE)
    intents = [guess.intent for guess in match.guesses if guess.score >= floor]
    await show(update, entry_text(entry), guess_keyboard(intents, with_support=False))


async def deadlines(update: Update, context: BotContext, entry: Entry | None = None) -> None:
    """The reader's own extension dates when linked; else the rule and an offer to link."""
    current = visitor()
    overview = None
    if current is not None and current.permit_id is not None:
        overview = await context.bot_data.permits.overview(current.permit_id)
    if overview is None:
        rule = entry or entries_by_id()[DEFAULT_DEADLINE_ENTRY]
        text = entry_text(rule) + "\n\n" + _("Link your permit and I will show your own dates.")
        keyboard = [[intent_button(Intent.LINK)], [home_button()]]
    else:
        steps = "\n".join("• " + line for line in status.deadline_lines(overview))
        text = _("⏰ Deadlines and next steps") + "\n" + steps
        if entry is not None:
            text = entry_text(entry) + "\n\n" + text
        keyboard = [[intent_button(Intent.STATUS)], [home_button()]]
    await show(update, text, InlineKeyboardMarkup(keyboard))


async def employer_side(update: Update, context: BotContext) -> None:
    """How employers' HR people use the bot."""
    await show(
        update,
        _(
            "🏢 For employers\n"
            "\n"
            "HR staff link their private chat or an HR group to their employer with a "
            "one-time invite code from the operator of this bot: open the invite link, or "
            "send /start followed by the code in that chat. There, /employees lists the "
            "employer's workers with their permits and days left, and /export sends them "
            "as a CSV file."
        ),
        main_menu(),
    )


async def talk_to_person(update: Update, context: BotContext) -> None:
    """Offer the support team."""
    await show(
        update,
        _("Press the button below to talk to a person from our support team."),
        InlineKeyboardMarkup([[support_button()], [home_button()]]),
    )


async def greet(update: Update, context: BotContext) -> None:
    """A short hello with the main menu."""
    await show(
        update,
        _("Hello! Ask me about your work permit in your own words, or choose from the menu."),
        main_menu(),
    )


async def welcome(update: Update, context: BotContext) -> None:
    """A short "you're welcome" with the main menu."""
    await show(
        update,
        _("You're welcome! Anything else? Ask me, or choose from the menu."),
        main_menu(),
    )


Journey = Callable[[Update, BotContext], Awaitable[None]]
# Intents whose journey is an existing screen: the same function its command runs.
JOURNEYS: dict[Intent, Journey] = {
    Intent.STATUS: status.status,
    Intent.QR: qr.qr,
    Intent.DOCUMENT: document.document,
    Intent.LINK: link.start_link,
    Intent.UNLINK: leaving.ask_unlink,
    Intent.FORGET: leaving.ask_forget,
    Intent.SOCIAL: social.social,
    Intent.NOTIFICATIONS: settings.settings,
    Intent.LANGUAGE: language.ask_language,
    Intent.SUPPORT: talk_to_person,
    Intent.EMPLOYER: employer_side,
    Intent.GREETING: greet,
    Intent.THANKS: welcome,
}


async def act(update: Update, context: BotContext, match: Match) -> None:
    """Do what a confidently understood message asks: its journey, or the answer."""
    intent = match.intent
    entry = entries_by_id().get(match.entry_id or "")
    if intent is Intent.DEADLINE:
        await deadlines(update, context, entry)
    elif entry is not None:
        await answer_entry(update, entry, match)
    elif intent in GUIDES:
        await guides.show_guide(update, context, GUIDES[intent])
    elif intent is not None:
        await JOURNEYS[intent](update, context)


# --- handlers ----------------------------------------------------------------------------


async def free_text(update: Update, context: BotContext) -> None:
    """Understand a typed message and answer it; remember it for support staff."""
    message = update.effective_message
    user = update.effective_user
    if message is None or message.text is None:
        return
    languages = (current_locale(), user.language_code if user else None)
    if len(message.text) <= intents.RECENT_TEXT_CHARS and intents.INTENT_INDEX.built:
        # A couple of milliseconds at most (often remembered): cheaper here than a worker
        # thread, which holds the same interpreter lock and adds a hand-off each way. The
        # first message builds the index (most of a second): always in a worker thread.
        match = understand(message.text, *languages)
    else:
        # Long texts cost several milliseconds: in a worker thread the loop can preempt them.
        match = await asyncio.to_thread(understand, message.text, *languages)
    intent = match.intent.value if match.intent is not None else None
    # The person's words go to the database only, never to the log.
    log.info(
        "free text",
        extra={"intent": intent or "unknown", "score": match.score, "entry": match.entry_id},
    )
    current = visitor()
    if current is not None:
        await remember_question(
            context.bot_data.db, current.user_id, message.text, intent, match.entry_id
        )
    if match.intent is None:
        await not_understood(update)
    elif not match.confident:
        await unsure(update, match)
    else:
        await act(update, context, match)


async def deadline_button(update: Update, context: BotContext) -> None:
    """The "My deadlines" button."""
    if update.callback_query:
        await update.callback_query.answer()
    await deadlines(update, context)


async def employer_button(update: Update, context: BotContext) -> None:
    """The "For employers" button."""
    if update.callback_query:
        await update.callback_query.answer()
    await employer_side(update, context)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers: registered after every journey that reads typed steps."""
    return [
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, free_text),
        CallbackQueryHandler(deadline_button, pattern=f"^{AskAction.DEADLINE}$"),
        CallbackQueryHandler(employer_button, pattern=f"^{AskAction.EMPLOYER}$"),
    ]
