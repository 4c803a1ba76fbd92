"""A real HTTP Bot API server on loopback, backed by the in-process Bot API (for `run` tests)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.inprocess_bot_api import InProcessBotAPI


def _decode(value: str) -> Any:
    # PTB sends every non-string parameter JSON-encoded in a form field, strings as they are.
    try:
        return json.loads(value)
    except ValueError:
        return value


@asynccontextmanager
async def serve_bot_api(api: InProcessBotAPI, token: str) -> AsyncIterator[str]:
    """Serve `api` over HTTP at an ephemeral loopback port; yields the base URL for the bot."""

    async def method(request: web.Request) -> web.Response:
        if request.match_info["token"] != token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = (value.filename, value.file.read(), value.content_type)
            else:
                params[name] = _decode(str(value))
        status, payload = await api.handle(request.match_info["method"], params, files)
        return web.Response(status=status, body=payload, content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    async with serve_on_loopback(app) as base_url:
        yield f"{base_url}/bot"


@asynccontextmanager
async def serve_on_loopback(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` at an ephemeral loopback port; yields its base URL (no access log)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
