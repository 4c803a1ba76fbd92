"""Running the bot and its web app together (or the web app alone) until a stop signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web
from telegram import Update

from bot.app import BotApplication, freeze_startup_heap, web_services
from bot.config import Settings
from bot.credentials import KeyRing
from bot.dispatcher import DispatchReport
from bot.events import EventProcessor
from bot.reminders import schedule_reminders
from bot.verification import PermitVerifier
from bot.web import RedactingAccessLogger, WebServices, init_web_app
from storage.database import Database

log = logging.getLogger("bot.serve")


@contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set `stop`."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _until_stopped() -> None:
    """Wait for SIGINT or SIGTERM."""
    stop = asyncio.Event()
    with _stopped_by_signals(stop):
        await stop.wait()


async def _start_site(app: web.Application, settings: Settings) -> web.AppRunner:
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, settings.WEB_HOST, settings.WEB_PORT)
    await site.start()
    for address in runner.addresses:
        log.info("web app listening", extra={"address": str(address)})
    return runner


async def serve_bot(application: BotApplication, *, webhook: bool = False) -> None:
    """Take updates (polling, or webhook on the web app) until SIGINT/SIGTERM, then stop."""
    settings = application.bot_data.settings
    updater = application.updater
    assert updater is not None
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        services = web_services(application, webhook=webhook)
        runner = await _start_site(init_web_app(services), settings)
        try:
            schedule_reminders(application)
            await application.start()
            if webhook:
                assert settings.WEBHOOK_URL
                assert settings.WEBHOOK_SECRET
                await application.bot.set_webhook(
                    settings.WEBHOOK_URL,
                    secret_token=settings.WEBHOOK_SECRET,
                    allowed_updates=Update.ALL_TYPES,
                )
            else:
                await updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("bot started", extra={"mode": "webhook" if webhook else "polling"})
            freeze_startup_heap()
            stopping = asyncio.Event()
            delivery = asyncio.create_task(
                application.bot_data.dispatcher.run(stopping), name="outbox-dispatcher"
            )
            try:
                await _until_stopped()
            finally:
                stopping.set()
                await delivery
        finally:
            log.info("bot stopping")
            if updater.running:
                await updater.stop()
            if application.running:
                await application.stop()
            await runner.cleanup()


async def serve_dispatcher(
    application: BotApplication, *, until_empty: bool = False
) -> DispatchReport:
    """Only send queued notifications: until SIGINT/SIGTERM, or until nothing is due."""
    async with application:
        dispatcher = application.bot_data.dispatcher
        if until_empty:
            return await dispatcher.drain()
        stop = asyncio.Event()
        with _stopped_by_signals(stop):
            log.info("dispatcher started")
            return await dispatcher.run(stop)


async def serve_web(settings: Settings, db: Database) -> None:
    """Serve only the web app (verification page, keys, health) until SIGINT/SIGTERM."""
    ring = KeyRing(settings.signing_key_path)
    ring.active  # noqa: B018 - create the keys now if this is the first start
    verifier = PermitVerifier(db, ring, settings.today)
    services = WebServices(settings, db, ring, verifier, events=EventProcessor(db))
    runner = await _start_site(init_web_app(services), settings)
    try:
        await _until_stopped()
    finally:
        await runner.cleanup()
