"""The verification page as a verifier's phone shows it: headless Chromium, visible text."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import async_playwright
from sqlalchemy import update

from bot.credentials import Purpose
from storage.models import PermitStatus, WorkPermit
from tests.conftest import BotHarness
from tests.e2e.records import PEOPLE, TODAY, Client, permit_id_of, web_client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("Chromium not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
async def site(seeded: BotHarness) -> AsyncIterator[tuple[Client, dict[str, str]]]:
    """The web app on loopback, and codes for each verdict."""
    seeded.app.bot_data.verifier.today = lambda: TODAY
    codes = seeded.app.bot_data.codes
    tokens: dict[str, str] = {}
    for name, key in (("Anna Müller", "valid"), ("John Smith", "revoked")):
        permit_id = await permit_id_of(seeded, PEOPLE[name])
        tokens[key] = (await codes.issue(permit_id, Purpose.RESIDENCE)).token
    codes.clock = lambda: datetime.now(UTC) - timedelta(hours=1)
    anna = await permit_id_of(seeded, PEOPLE["Anna Müller"])
    tokens["expired"] = (await codes.issue(anna, Purpose.GENERAL)).token
    header, _payload, signature = tokens["valid"].split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"sub": "x", "iat": 1, "exp": 2**40}).encode())
    tokens["tampered"] = f"{header}.{forged.rstrip(b'=').decode()}.{signature}"
    async with seeded.db.session() as session:
        await session.execute(
            update(WorkPermit)
            .where(WorkPermit.permit_no == PEOPLE["John Smith"].permit_no)
            .values(status=PermitStatus.CANCELLED)
        )
    async with web_client(seeded) as client:
        yield client, tokens


EXPECTED = {
    "en-US": {
        "valid": ["VALID", "This work permit is valid.", "Anna Müller", "Residence permit"],
        "expired": ["EXPIRED CODE", "Ask the holder to show a new one."],
        "tampered": ["INVALID", "Do not accept it."],
        "revoked": ["PERMIT NOT VALID", "This work permit has been cancelled.", "John Smith"],
    },
    "zh-CN": {
        "valid": ["有效", "此外国人工作许可有效。", "Anna Müller", "居留许可", "德国"],
        "expired": ["核验码已过期", "请让持证人出示新的核验码。"],
        "tampered": ["无效", "请勿接受。"],
        "revoked": ["工作许可无效", "此外国人工作许可已被注销。"],
    },
}


@pytest.mark.parametrize("language", list(EXPECTED))
async def test_every_verdict_reads_right_in_chromium(
    site: tuple[Client, dict[str, str]], language: str
) -> None:
    client, tokens = site
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page(
                locale=language, viewport={"width": 390, "height": 844}, java_script_enabled=False
            )
            for verdict, phrases in EXPECTED[language].items():
                response = await page.goto(str(client.make_url(f"/v/{tokens[verdict]}")))
                assert response is not None
                visible = await page.inner_text("body")
                for phrase in phrases:
                    assert phrase in visible, (verdict, phrase, visible)
                for secret in ("SS86", PEOPLE["Anna Müller"].passport_no):
                    assert secret not in visible
                # Readable at arm's length on a phone: big verdict, no sideways scrolling.
                box = await page.locator(".verdict h1").bounding_box()
                assert box is not None
                assert box["height"] >= 36
                assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            await browser.close()
