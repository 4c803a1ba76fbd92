"""The permit card Mini App: initData checked, the card shown in Chromium, the QR refreshed."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

import pytest
import zxingcpp
from PIL import Image

from bot.credentials import verify
from bot.webapp_auth import sign_init_data
from tests.conftest import BotHarness
from tests.e2e.records import PEOPLE, TODAY, Client, linked, web_client
from tests.e2e.test_page_in_chromium import CHROMIUM, FLAGS

USER_ID = 31337


def init_data(bot: BotHarness, *, user_id: int = USER_ID, language: str = "en",
              age: int = 10, token: str | None = None) -> str:  # fmt: skip
    """initData as Telegram builds it for this bot."""
    fields = {
        "query_id": "AAQ",
        "user": json.dumps({"id": user_id, "first_name": "Anna", "language_code": language}),
        "auth_date": str(int(time.time()) - age),
    }
    fields["hash"] = sign_init_data(fields, token or bot.app.bot.token)
    return urlencode(fields, quote_via=quote)


@pytest.fixture
async def mini_app(seeded: BotHarness) -> AsyncIterator[tuple[Client, BotHarness]]:
    seeded.app.bot_data.verifier.today = lambda: TODAY
    async with web_client(seeded) as client:
        yield client, seeded


async def test_card_api_shows_the_linked_permit(mini_app: tuple[Client, BotHarness]) -> None:
    client, bot = mini_app
    await linked(bot, PEOPLE["Anna Müller"], user_id=USER_ID)
    response = await client.post("/app/api/card", json={"initData": init_data(bot)})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    card = await response.json()
    assert card["linked"] is True
    values = {field["label"]: field["value"] for field in card["fields"]}
    assert values["Name"] == "Anna Müller"
    assert values["Days left"] == "70 days left"
    assert card["status"] == "✅ Valid"
    assert card["qr"]["image"].startswith("data:image/svg+xml;base64,")
    assert PEOPLE["Anna Müller"].ss_no not in json.dumps(card)


@pytest.mark.parametrize(
    "forge",
    [
        lambda data: data.replace("Anna", "Eve"),
        lambda data: data.split("&hash=")[0],
        lambda data: "",
    ],
)
async def test_forged_init_data_gets_401_and_nothing_else(
    mini_app: tuple[Client, BotHarness], forge: object
) -> None:
    client, bot = mini_app
    await linked(bot, PEOPLE["Anna Müller"], user_id=USER_ID)
    forged = forge(init_data(bot))  # type: ignore[operator]
    response = await client.post("/app/api/card", json={"initData": forged})
    assert response.status == 401
    assert await response.json() == {"error": "unauthorized"}


async def test_stale_or_foreign_init_data_is_refused(mini_app: tuple[Client, BotHarness]) -> None:
    client, bot = mini_app
    await linked(bot, PEOPLE["Anna Müller"], user_id=USER_ID)
    for data in (
        init_data(bot, age=3601),
        init_data(bot, token="987654321:AAEanotherBotTokenXXXXXXXXXXXX"),
    ):
        response = await client.post("/app/api/card", json={"initData": data})
        assert response.status == 401


async def test_unlinked_user_is_told_how_to_link(mini_app: tuple[Client, BotHarness]) -> None:
    client, bot = mini_app
    response = await client.post("/app/api/card", json={"initData": init_data(bot, language="ru")})
    card = await response.json()
    assert card["linked"] is False
    assert "/link" in card["message"]


async def test_card_page_has_no_inline_script_and_a_strict_policy(
    mini_app: tuple[Client, BotHarness],
) -> None:
    client, _bot = mini_app
    response = await client.get("/app/card", headers={"Accept-Language": "ar"})
    body = await response.text()
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert '<script src="/app/card.js" defer></script>' in body
    assert body.count("<script") == 1
    assert 'dir="rtl"' in body
    script = await client.get("/app/card.js")
    assert script.headers["Content-Type"].startswith("text/javascript")


def decode_png(png: bytes) -> str:
    import io

    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return str(result.text)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed")
async def test_card_in_chromium_shows_the_card_and_refreshes_the_code(
    mini_app: tuple[Client, BotHarness],
) -> None:
    from playwright.async_api import async_playwright, expect

    client, bot = mini_app
    await linked(bot, PEOPLE["Anna Müller"], user_id=USER_ID)
    bot.app.bot_data.codes.ttl = 8  # a short lifetime, to see the card refresh it
    fragment = "tgWebAppData=" + quote(init_data(bot)) + "&tgWebAppVersion=8.0"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 900})
            await page.goto(str(client.make_url("/app/card")) + "#" + fragment)
            await page.wait_for_selector("#qr:not([hidden])")
            visible = await page.inner_text("body")
            for shown in ("My permit card", "Anna Müller", "Germany", "✅ Valid", "70 days left",
                          "Shanghai Harbour Software Co., Ltd.", "New code in"):  # fmt: skip
                assert shown in visible, shown
            first = await page.get_attribute("#qr", "src")
            assert first is not None
            shot = await page.locator("#qr").screenshot()
            url = decode_png(shot)
            claims = verify(url.rsplit("/v/", 1)[1], bot.app.bot_data.codes.ring.public_key)
            assert claims.subject
            await expect(page.locator("#qr")).not_to_have_attribute("src", first, timeout=15000)
            # A forged fragment shows an error and no data.
            forged = fragment.replace("Anna", "Eve")
            page2 = await browser.new_page()
            await page2.goto(str(client.make_url("/app/card")) + "#" + forged)
            await expect(page2.locator("#message")).to_contain_text("only be opened")
            assert "Anna Müller" not in await page2.inner_text("body")
        finally:
            await browser.close()


async def test_card_opens_from_the_menu_button_and_the_main_menu(
    seeded: BotHarness, tmp_path: object
) -> None:
    from pathlib import Path

    from bot.app import register_commands
    from tests.conftest import buttons, make_settings

    seeded.app.bot_data.settings = make_settings(
        Path(str(tmp_path)), PUBLIC_BASE_URL="https://permits.example"
    )
    seeded.api.take_calls()
    await register_commands(seeded.app)
    [menu_button] = seeded.api.calls_to("setChatMenuButton")
    assert menu_button.params["menu_button"] == {
        "type": "web_app",
        "text": "My permit card",
        "web_app": {"url": "https://permits.example/app/card"},
    }
    await linked(seeded, PEOPLE["Anna Müller"], user_id=USER_ID)
    calls = await seeded.send(seeded.user(user_id=USER_ID).text("/start"))
    [sent] = [call for call in calls if call.method == "sendMessage"]
    rows = sent.params["reply_markup"]["inline_keyboard"]
    web_apps = [button for row in rows for button in row if "web_app" in button]
    assert web_apps == [
        {"text": "💳 My permit card", "web_app": {"url": "https://permits.example/app/card"}}
    ]
    assert buttons(sent)  # the rest of the menu is still there


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed")
async def test_card_uses_the_theme_and_shows_the_last_code_as_expired_offline(
    mini_app: tuple[Client, BotHarness],
) -> None:
    import re

    from playwright.async_api import async_playwright, expect

    client, bot = mini_app
    await linked(bot, PEOPLE["Anna Müller"], user_id=USER_ID)
    bot.app.bot_data.codes.ttl = 6
    theme = json.dumps({"bg_color": "#101418", "text_color": "#f0f0f0"})
    fragment = (
        f"tgWebAppData={quote(init_data(bot, language='ar'))}&tgWebAppThemeParams={quote(theme)}"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(str(client.make_url("/app/card")) + "#" + fragment)
            await expect(page.locator("#qr")).to_be_visible()
            await expect(page.locator("body")).to_have_css("background-color", "rgb(16, 20, 24)")
            await expect(page.locator("html")).to_have_attribute("dir", "rtl")
            await expect(page.locator("#status")).to_contain_text("ساري المفعول")
            await context.set_offline(True)
            await expect(page.locator("#qr")).to_have_class(re.compile("expired"), timeout=15000)
            await expect(page.locator("#countdown")).to_contain_text("انتهت صلاحية هذا الرمز")
            assert await page.locator("#qr").is_visible()
        finally:
            await browser.close()
