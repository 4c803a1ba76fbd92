"""The seeded records the journeys are tested against, and linking an account directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient, TestServer

from bot.app import web_services
from bot.web import init_web_app
from storage.repositories import LinkRepository, PermitRepository, UserRepository
from storage.seed import SeedIdentity, demo_identities
from tests.conftest import BotHarness

TODAY = date(2026, 11, 27)  # a Friday; the seed's deadlines are relative to it
PEOPLE = {identity.full_name: identity for identity in demo_identities()}


async def linked(bot: BotHarness, who: SeedIdentity, user_id: int = 100001) -> None:
    """Link a Telegram user to a seeded permit without walking the /link journey."""
    async with bot.db.session() as session:
        await UserRepository(session).seen(user_id, "en")
        identity = await PermitRepository(session).identity(who.permit_no)
        assert identity is not None
        await LinkRepository(session).link(user_id, identity.permit_id)


async def permit_id_of(bot: BotHarness, who: SeedIdentity) -> int:
    """The database id of a seeded person's permit."""
    async with bot.db.session() as session:
        identity = await PermitRepository(session).identity(who.permit_no)
    assert identity is not None
    return identity.permit_id


Client = TestClient[aioweb.Request, aioweb.Application]


@asynccontextmanager
async def web_client(bot: BotHarness, *, webhook: bool = False) -> AsyncIterator[Client]:
    """The bot's web app on a real loopback port, with a client for it."""
    app = init_web_app(web_services(bot.app, webhook=webhook))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
