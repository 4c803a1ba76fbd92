"""Webhook mode: Telegram's secret token is checked, updates are queued, answers are immediate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
from tests.bot_api_server import serve_bot_api
from tests.conftest import BotHarness, make_settings
from tests.e2e.records import Client, web_client
from tests.test_cli import free_port, spawn, stop

SECRET = "s3cret_Token-for-tests"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def webhook(bot: BotHarness, tmp_path: Path) -> AsyncIterator[tuple[Client, BotHarness]]:
    bot.app.bot_data.settings = make_settings(tmp_path, WEBHOOK_SECRET=SECRET)
    async with web_client(bot, webhook=True) as client:
        yield client, bot


async def test_update_with_the_right_secret_is_handled(webhook: tuple[Client, BotHarness]) -> None:
    client, bot = webhook
    update = bot.user("en").text("/start")
    response = await client.post(
        "/telegram/webhook",
        data=json.dumps(update),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert response.status == 200
    [greeting] = await asyncio.wait_for(bot.api.wait_for("sendMessage"), 10)
    assert str(greeting.result["text"]).startswith("Hello, Demo!")


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_wrong_or_missing_secret_is_refused(
    webhook: tuple[Client, BotHarness], secret: str | None
) -> None:
    client, bot = webhook
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    response = await client.post(
        "/telegram/webhook", data=json.dumps(bot.user().text("/start")), headers=headers
    )
    assert response.status == 403
    await asyncio.sleep(0)
    assert not bot.api.calls_to("sendMessage")


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b'{"no_update_id": 1}', 400), (b"x" * (300 * 1024), 413)],
)
async def test_bad_bodies_are_refused(
    webhook: tuple[Client, BotHarness], body: bytes, status: int
) -> None:
    client, _bot = webhook
    response = await client.post(
        "/telegram/webhook", data=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert response.status == status


async def test_run_webhook_sets_the_webhook_and_serves_updates(tmp_path: Path) -> None:
    token = "123456789:AAEtestTokenForLoopbackOnly0123"
    api = InProcessBotAPI()
    user = ChatUser(api, user_id=777, language_code="zh-hans")
    port = free_port()
    async with serve_bot_api(api, token) as base_url:
        process = await spawn(
            tmp_path,
            "run",
            "--webhook",
            BOT_TOKEN=token,
            TELEGRAM_API_BASE_URL=base_url,
            WEB_PORT=str(port),
            WEBHOOK_URL="https://bot.example/telegram/webhook",
            WEBHOOK_SECRET=SECRET,
        )
        try:
            async with asyncio.timeout(60):
                [set_webhook] = await api.wait_for("setWebhook")
                async with aiohttp.ClientSession() as session:
                    response = await session.post(
                        f"http://127.0.0.1:{port}/telegram/webhook",
                        json=user.text("/start"),
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    )
                    assert response.status == 200
                await api.wait_for("sendMessage")
        finally:
            await stop(process)
    assert set_webhook.params["url"] == "https://bot.example/telegram/webhook"
    assert set_webhook.params["secret_token"] == SECRET
    assert not api.calls_to("getUpdates")
    [greeting] = api.calls_to("sendMessage")
    assert "您好" in str(greeting.result["text"])
    assert process.returncode == 0


def test_run_webhook_without_its_settings_says_what_is_missing(tmp_path: Path) -> None:
    from tests.test_cli import cli

    result = cli(
        tmp_path, "run", "--webhook", env={"BOT_TOKEN": "123456789:AAEtestTokenForLoopbackOnly0123"}
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: WEBHOOK_URL is not set")
