"""Wiring: builds the PTB `Application` with our services, handlers and bot commands."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeAlias

from telegram import BotCommand, MenuButtonWebApp, Update, WebAppInfo
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue
from telegram.request import BaseRequest

from bot.config import Settings
from bot.credentials import KeyRing
from bot.dispatcher import OutboxDispatcher, RetryLater, Send, TransientFailure, Unreachable
from bot.employers import EmployerLinking
from bot.events import EventProcessor
from bot.i18n import N_, _, available_locales, use_locale
from bot.linking import LinkingService
from bot.metrics import Metrics
from bot.permit_card import CardService
from bot.permits import PermitService
from bot.send_scheduler import Lane, SendLimits, SendScheduler, retry_seconds
from bot.update_order import ChatOrderedUpdateProcessor
from bot.verification import PermitVerifier
from bot.verification_codes import CodeIssuer
from bot.web import Webhook, WebServices
from bot.workforce import WorkforceService
from storage.database import Database
from storage.identifiers import IdentifierHasher

log = logging.getLogger(__name__)


class BotData:
    """Shared services every handler reaches through `context.bot_data`."""

    settings: Settings
    db: Database
    hasher: IdentifierHasher
    linking: LinkingService
    permits: PermitService
    codes: CodeIssuer
    verifier: PermitVerifier
    metrics: Metrics
    scheduler: SendScheduler
    dispatcher: OutboxDispatcher
    # Whether each staff group has topics enabled (asked once per process).
    staff_forums: dict[int, bool]
    employers: EmployerLinking
    workforce: WorkforceService


ChatData: TypeAlias = dict[object, object]
BotContext: TypeAlias = CallbackContext[ExtBot[Lane], ChatData, ChatData, BotData]
BotApplication: TypeAlias = Application[
    ExtBot[Lane], BotContext, ChatData, ChatData, BotData, JobQueue[BotContext]
]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A bot command and its description (translated per language at registration)."""

    name: str
    description: str


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", N_("Main menu")),
    CommandSpec("status", N_("My permit, deadlines and applications")),
    CommandSpec("qr", N_("A QR code that proves my permit is valid")),
    CommandSpec("document", N_("My permit information as a PDF")),
    CommandSpec("social", N_("My social security card")),
    CommandSpec("guide", N_("Guides: Z visa, residence permit, social insurance, e-card")),
    CommandSpec("link", N_("Link my Telegram account to my permit")),
    CommandSpec("unlink", N_("Unlink my Telegram account from my permit")),
    CommandSpec("forget", N_("Delete what this bot keeps about me")),
    CommandSpec("help", N_("What this bot can do")),
    CommandSpec("support", N_("Talk to a person")),
    CommandSpec("language", N_("Change language")),
    CommandSpec("settings", N_("Notifications and quiet hours")),
    CommandSpec("cancel", N_("Stop what I am doing")),
)
DESCRIPTION = N_(
    "I help foreigners working in China with their work permit: status, deadlines, "
    "documents and verification codes, in your language."
)
CARD_BUTTON = N_("My permit card")
SHORT_DESCRIPTION = N_("Your work permit in China, explained in your language.")


TELEGRAM_LANGUAGE_CODES = {"fil": "tl"}


async def register_commands(application: BotApplication) -> None:
    """Register commands and descriptions for every shipped language (and the default)."""
    default = application.bot_data.settings.DEFAULT_LOCALE
    # Telegram keys these by a two-letter language code, so "zh" gets the first zh_* locale
    # (Simplified); `None` is the fallback for every language without its own entry.
    targets: dict[str | None, str] = {None: default}
    for locale in available_locales():
        language = locale.split("_")[0]
        # Telegram keys these by ISO 639-1 codes: Filipino users send "tl" (Tagalog).
        targets.setdefault(TELEGRAM_LANGUAGE_CODES.get(language, language), locale)
    for language_code, locale in targets.items():
        with use_locale(locale):
            commands = [BotCommand(spec.name, _(spec.description)) for spec in COMMANDS]
            await application.bot.set_my_commands(commands, language_code=language_code)
            await application.bot.set_my_description(_(DESCRIPTION), language_code=language_code)
            await application.bot.set_my_short_description(
                _(SHORT_DESCRIPTION), language_code=language_code
            )
    card_url = card_app_url(application.bot_data.settings.PUBLIC_BASE_URL)
    if card_url is not None:
        with use_locale(default):
            button = MenuButtonWebApp(_(CARD_BUTTON), WebAppInfo(card_url))
        await application.bot.set_chat_menu_button(menu_button=button)


def card_app_url(public_base_url: str) -> str | None:
    """The Mini App's address, if Telegram can open it (it must be https)."""
    if not public_base_url.startswith("https://"):
        return None
    return public_base_url.rstrip("/") + "/app/card"


def build_application(
    settings: Settings, db: Database, request: BaseRequest | None = None
) -> BotApplication:
    """The bot: our context types, our handlers, talking to the configured Bot API server.

    `request` replaces the HTTP transport (the in-process Bot API of the demo and tests).
    """
    from handlers import register_handlers

    context_types = ContextTypes(bot_data=BotData)
    scheduler = SendScheduler(SendLimits.from_settings(settings))
    builder = (
        Application.builder()
        .token(settings.BOT_TOKEN or "123456789:DEMO-TOKEN-NOT-USED-ANYWHERE")
        .base_url(settings.TELEGRAM_API_BASE_URL)
        .base_file_url(settings.TELEGRAM_FILE_BASE_URL)
        .context_types(context_types)
        .post_init(register_commands)
        .rate_limiter(scheduler)
        .concurrent_updates(ChatOrderedUpdateProcessor(settings.MAX_CONCURRENT_UPDATES))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application: BotApplication = builder.build()  # type: ignore[assignment]
    services = application.bot_data
    services.settings = settings
    services.db = db
    services.hasher = IdentifierHasher(settings.identifier_hash_key)
    services.linking = LinkingService(db, services.hasher)
    today = settings.today
    services.permits = PermitService(db, today, settings.holidays)
    ring = KeyRing(settings.signing_key_path)
    ring.active  # noqa: B018 - load (or create) the keys now, not racing in worker threads
    services.codes = CodeIssuer(db, ring, settings.PUBLIC_BASE_URL, settings.QR_TTL_SECONDS, today)
    services.verifier = PermitVerifier(db, ring, today)
    services.metrics = Metrics()
    services.scheduler = scheduler
    services.staff_forums = {}
    scheduler.on_wait = lambda lane, seconds: services.metrics.send_wait_seconds.labels(
        lane.value
    ).observe(seconds)
    scheduler.on_limited = services.metrics.rate_limited.inc
    services.dispatcher = OutboxDispatcher(
        db,
        telegram_sender(application),
        settings.DEFAULT_LOCALE,
        lease=timedelta(seconds=settings.DISPATCH_LEASE_SECONDS),
        quiet_hours=settings.quiet_hours,
        zone=settings.tz,
    )
    services.employers = EmployerLinking(db, settings.EMPLOYER_INVITE_DAYS)
    services.workforce = WorkforceService(db, today)
    register_handlers(application)
    return application


def freeze_startup_heap() -> None:
    """Collect garbage, then move every object alive after startup (modules, classes, the
    Application) where the garbage collector no longer scans it.

    A full collection holds the GIL, and so stops the event loop, for as long as it takes to
    scan every object: about 130 ms after startup. Work done in worker threads (matching, and
    building the intent index on the first free text) can trigger one; frozen, the startup
    objects are not scanned again and full collections take a few milliseconds.
    """
    gc.collect()
    gc.freeze()


def web_services(application: BotApplication, *, webhook: bool = False) -> WebServices:
    """The web app's services, shared with the bot it runs beside."""
    data = application.bot_data

    async def accept(payload: dict[str, object]) -> None:
        # Queued, not processed here: Telegram gets its 200 at once.
        await application.update_queue.put(Update.de_json(payload, application.bot))

    secret = data.settings.WEBHOOK_SECRET
    return WebServices(
        settings=data.settings,
        db=data.db,
        ring=data.codes.ring,
        verifier=data.verifier,
        bot_ready=lambda: application.running,
        webhook=Webhook(secret, accept) if webhook and secret else None,
        events=EventProcessor(data.db, on_queued=data.dispatcher.nudge),
        metrics=data.metrics,
        card=CardService(data.db, data.permits, data.codes, data.settings.DEFAULT_LOCALE),
        bot_token=application.bot.token,
    )


def telegram_sender(application: BotApplication) -> Send:
    """The dispatcher's `send`: Telegram's answers turned into delivery outcomes."""

    paid = application.bot_data.settings.PAID_BROADCAST

    async def send(chat_id: int, text: str) -> None:
        try:
            await application.bot.send_message(
                chat_id,
                text,
                allow_paid_broadcast=True if paid else None,
                rate_limit_args=Lane.BULK,
            )
        except RetryAfter as wait:
            raise RetryLater(retry_seconds(wait.retry_after)) from wait
        except Forbidden as blocked:
            raise Unreachable(blocked.message) from blocked
        except BadRequest as bad:
            if "chat not found" in bad.message.lower():
                raise Unreachable(bad.message) from bad
            raise
        except (TimedOut, NetworkError) as failure:
            raise TransientFailure(type(failure).__name__) from failure

    return send
