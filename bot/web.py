"""The bot's web face (aiohttp): verification page, public keys and health."""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import text

from bot.config import Settings
from bot.credentials import KeyRing
from bot.events import (
    MAX_EVENT_BYTES,
    EventProcessor,
    EventRejected,
    check_signature,
    openapi_document,
    parse_event,
)
from bot.metrics import CONTENT_TYPE, Metrics
from bot.permit_card import CardService
from bot.verification import PermitVerifier, Verdict
from bot.verification_page import page_locale, render_card_shell, render_page
from bot.webapp_auth import InitDataRejected, validate_init_data
from storage.database import Database

log = logging.getLogger("bot.web")

MAX_TOKEN_LENGTH = 2048
PAGE_STATUS = {
    Verdict.VALID: 200,
    Verdict.PERMIT_NOT_VALID: 200,
    Verdict.EXPIRED_CODE: 410,
    Verdict.INVALID: 400,
}


@dataclass(frozen=True, slots=True)
class WebServices:
    """What the web handlers use."""

    settings: Settings
    db: Database
    ring: KeyRing
    verifier: PermitVerifier
    bot_ready: Callable[[], bool] | None = None  # None: the web app runs without the bot
    webhook: Webhook | None = None  # set in webhook mode
    events: EventProcessor | None = None
    metrics: Metrics = field(default_factory=Metrics)
    card: CardService | None = None  # the Mini App needs the bot (its token)
    bot_token: str | None = None


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram's updates go in webhook mode, and the secret that proves the sender."""

    secret: str
    accept: Callable[[dict[str, object]], Awaitable[None]]


SERVICES = web.AppKey("services", WebServices)
NONCE = web.RequestKey("csp_nonce", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Strict headers on every response; no caching of anything personal."""
    nonce = secrets.token_urlsafe(16)
    request[NONCE] = nonce
    response = await handler(request)
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class RedactingAccessLogger(AbstractAccessLogger):
    """One line per request, with verification tokens cut out of the path."""

    _TOKEN = re.compile(r"^/v/[^/?]+")

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Log method, redacted path, status and duration."""
        path = self._TOKEN.sub("/v/<token>", request.path)
        self.logger.info(
            "http request",
            extra={
                "method": request.method,
                "path": path,
                "status": response.status,
                "ms": round(time * 1000, 1),
            },
        )


async def verification_page(request: web.Request) -> web.Response:
    """GET /v/<token>: the verdict page, localized by ?lang= or Accept-Language."""
    services = request.app[SERVICES]
    token = request.match_info["token"]
    if len(token) > MAX_TOKEN_LENGTH:
        token = ""
    result = await services.verifier.check(token)
    locale = page_locale(request.query.get("lang"), request.headers.get("Accept-Language"))
    body = render_page(result, locale, services.settings.tz, request[NONCE])
    services.metrics.verifications.labels(result.verdict.value).inc()
    log.info("verification", extra={"verdict": result.verdict.value})
    return web.Response(
        text=body,
        status=PAGE_STATUS[result.verdict],
        content_type="text/html",
        headers={"Content-Language": locale.replace("_", "-"), "Vary": "Accept-Language"},
    )


async def public_keys(request: web.Request) -> web.Response:
    """GET /.well-known/permit-keys.json: the JWK Set that verifies codes offline."""
    services = request.app[SERVICES]
    return web.json_response(services.ring.jwks(), headers={"Cache-Control": "public, max-age=300"})


async def health(request: web.Request) -> web.Response:
    """GET /healthz: the database answers and the bot is initialized."""
    services = request.app[SERVICES]
    checks = {"database": False}
    if services.bot_ready is not None:
        checks["bot"] = services.bot_ready()
    try:
        async with services.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        log.warning("health check: database unreachable")
    healthy = all(checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_MAX_BYTES = 256 * 1024


async def telegram_webhook(request: web.Request) -> web.Response:
    """POST /telegram/webhook: check Telegram's secret token, queue the update, answer at once."""
    webhook = request.app[SERVICES].webhook
    if webhook is None:
        raise web.HTTPNotFound()
    sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(sent.encode(), webhook.secret.encode()):
        return web.json_response({"error": "forbidden"}, status=403)
    if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
        return web.json_response({"error": "too large"}, status=413)
    try:
        payload = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"error": "malformed JSON"}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        return web.json_response({"error": "not an update"}, status=400)
    await webhook.accept(payload)
    return web.json_response({"ok": True})


async def events_api(request: web.Request) -> web.Response:
    """POST /api/v1/events: signed events from the records system, applied once each."""
    services = request.app[SERVICES]
    secret = services.settings.EVENTS_API_SECRET
    if secret is None or services.events is None:
        return web.json_response({"error": "the events API is not configured"}, status=503)
    try:
        if (request.content_length or 0) > MAX_EVENT_BYTES:
            raise EventRejected(413, "body too large")
        body = await request.read()
        if len(body) > MAX_EVENT_BYTES:
            raise EventRejected(413, "body too large")
        check_signature(
            secret,
            request.headers.get("X-Timestamp", ""),
            body,
            request.headers.get("X-Signature", ""),
            time.time(),
        )
        envelope, data = parse_event(body)
        outcome = await services.events.apply(envelope, data)
    except EventRejected as rejected:
        services.metrics.events.labels(f"rejected_{rejected.status}").inc()
        log.info("event rejected", extra={"status": rejected.status})
        return web.json_response({"error": rejected.reason}, status=rejected.status)
    except web.HTTPRequestEntityTooLarge:
        services.metrics.events.labels("rejected_413").inc()
        return web.json_response({"error": "body too large"}, status=413)
    status = "duplicate" if outcome.duplicate else "accepted"
    services.metrics.events.labels(status).inc()
    log.info("event accepted", extra={"type": envelope.type, "outcome": status})
    return web.json_response({"status": status})


async def openapi(request: web.Request) -> web.Response:
    """GET /api/openapi.json: the events API's OpenAPI document."""
    return web.json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format."""
    body = request.app[SERVICES].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


CARD_SCRIPT = Path(__file__).resolve().parent / "static" / "card.js"
TELEGRAM_FRAMES = "https://web.telegram.org https://*.telegram.org"


async def card_page(request: web.Request) -> web.Response:
    """GET /app/card: the Mini App's page; the data comes from the API, never the URL."""
    locale = page_locale(request.query.get("lang"), request.headers.get("Accept-Language"))
    body = render_card_shell(locale, request[NONCE])
    # Telegram's web clients show Mini Apps in a frame; scripts only from this origin.
    csp = (
        f"default-src 'none'; script-src 'self'; style-src 'nonce-{request[NONCE]}'; "
        f"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {TELEGRAM_FRAMES}"
    )
    return web.Response(
        text=body,
        content_type="text/html",
        headers={"Content-Security-Policy": csp, "X-Frame-Options": "ALLOWALL"},
    )


@cache
def _card_script() -> bytes:
    return CARD_SCRIPT.read_bytes()  # read once per process, not per request


async def card_script(request: web.Request) -> web.Response:
    """GET /app/card.js: the page's only script, a static file."""
    return web.Response(
        body=_card_script(),
        content_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def card_api(request: web.Request) -> web.Response:
    """POST /app/api/card: the card for the user a valid initData names; 401 otherwise."""
    services = request.app[SERVICES]
    if services.card is None or services.bot_token is None:
        return web.json_response({"error": "the Mini App needs the bot running"}, status=503)
    try:
        payload = await request.json()
        init_data = str(payload.get("initData", "")) if isinstance(payload, dict) else ""
        user = validate_init_data(
            init_data,
            services.bot_token,
            services.settings.WEBAPP_MAX_AGE_SECONDS,
            time.time(),
        )
    except (ValueError, InitDataRejected) as rejected:
        log.info("mini app refused", extra={"reason": str(rejected)[:40]})
        return web.json_response({"error": "unauthorized"}, status=401)
    return web.json_response(await services.card.card(user))


def init_web_app(services: WebServices) -> web.Application:
    """The aiohttp application: routes, middleware and services."""
    app = web.Application(middlewares=[security_headers], client_max_size=WEBHOOK_MAX_BYTES)
    app[SERVICES] = services
    app.router.add_get("/v/{token}", verification_page)
    app.router.add_get("/.well-known/permit-keys.json", public_keys)
    app.router.add_get("/healthz", health)
    app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    app.router.add_post("/api/v1/events", events_api)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/app/card", card_page)
    app.router.add_get("/app/card.js", card_script)
    app.router.add_post("/app/api/card", card_api)
    return app
