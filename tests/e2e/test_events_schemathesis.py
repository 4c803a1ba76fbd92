"""Schemathesis drives the events API from its own OpenAPI document, on a live server."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web as aioweb
from hypothesis import HealthCheck, settings

from bot.credentials import KeyRing
from bot.events import EventProcessor, openapi_document
from bot.verification import PermitVerifier
from bot.web import WebServices, init_web_app
from storage.database import Database
from tests.conftest import make_settings

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web app on a loopback port, served from a thread with its own event loop."""
    folder = Path(tmp_path_factory.mktemp("schemathesis"))
    config = make_settings(folder, EVENTS_API_SECRET="schemathesis-secret-0123456789")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        db = Database(config.database_url)
        await db.migrate()
        ring = KeyRing(config.signing_key_path)
        verifier = PermitVerifier(db, ring, config.today)
        services = WebServices(config, db, ring, verifier, events=EventProcessor(db))
        runner = aioweb.AppRunner(init_web_app(services))
        await runner.setup()
        await aioweb.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await stop.wait()
        await runner.cleanup()
        await db.dispose()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_events_api_conforms_to_its_openapi_document(case: Any, base_url: str) -> None:
    response = case.call(base_url=base_url)
    case.validate_response(response)
    if case.method.upper() != "POST":
        # Schemathesis also probes undocumented methods; they must be 405, not handled.
        assert response.status_code == 405
    else:
        # Generated requests cannot know the shared secret: each must be refused as such.
        assert response.status_code in (400, 401, 413)
