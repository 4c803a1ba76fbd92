"""The web app on a real loopback server: verification page verdicts, keys, health, headers."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import update

from bot.credentials import Purpose, sign
from bot.web import SERVICES
from storage.models import PermitStatus, WorkPermit
from tests.conftest import BotHarness
from tests.e2e.records import PEOPLE, TODAY, Client, permit_id_of, web_client


@pytest.fixture
async def web(seeded: BotHarness) -> AsyncIterator[tuple[Client, BotHarness]]:
    seeded.app.bot_data.verifier.today = lambda: TODAY
    async with web_client(seeded) as client:
        yield client, seeded


async def token_for(bot: BotHarness, name: str, purpose: Purpose = Purpose.EMPLOYMENT) -> str:
    code = await bot.app.bot_data.codes.issue(await permit_id_of(bot, PEOPLE[name]), purpose)
    return code.token


async def test_valid_code_shows_valid_with_only_what_a_verifier_needs(
    web: tuple[Client, BotHarness],
) -> None:
    client, bot = web
    token = await token_for(bot, "Anna Müller")
    response = await client.get(f"/v/{token}", headers={"Accept-Language": "en-US,en;q=0.8"})
    body = await response.text()
    assert response.status == 200
    assert 'data-verdict="valid"' in body
    assert ">VALID<" in body
    for shown in ("Anna Müller", "Germany", "B — professional", "February 5, 2027",
                  "Shanghai Harbour Software Co., Ltd.", "Employment check"):  # fmt: skip
        assert shown in body, shown
    for hidden in (PEOPLE["Anna Müller"].passport_no, PEOPLE["Anna Müller"].ss_no,
                   PEOPLE["Anna Müller"].permit_no, "SS86"):  # fmt: skip
        assert hidden not in body
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "unsafe-inline" not in csp
    assert "<script" not in body
    assert "http" not in body.split("</head>")[0].replace('name="viewport"', "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_expired_code_says_ask_for_a_new_one(web: tuple[Client, BotHarness]) -> None:
    client, bot = web
    token = await token_for(bot, "Anna Müller")
    bot.app.bot_data.verifier.clock = lambda: datetime.now(UTC) + timedelta(minutes=11)
    response = await client.get(f"/v/{token}")
    body = await response.text()
    assert response.status == 410
    assert ">EXPIRED CODE<" in body
    assert "Ask the holder to show a new one." in body
    assert "Anna Müller" not in body


async def test_tampered_code_is_invalid(web: tuple[Client, BotHarness]) -> None:
    client, bot = web
    token = await token_for(bot, "Anna Müller")
    header, _payload, signature = token.split(".")
    forged = (
        base64.urlsafe_b64encode(
            json.dumps({"sub": "x", "iat": 1, "exp": 2**40, "pur": "general"}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    for bad in (f"{header}.{forged}.{signature}", "garbage", "a" * 5000):
        response = await client.get(f"/v/{bad}")
        assert response.status == 400
        assert ">INVALID<" in await response.text()


async def test_code_from_an_unknown_key_is_invalid(
    web: tuple[Client, BotHarness], tmp_path: object
) -> None:
    from pathlib import Path

    from bot.credentials import KeyRing

    client, _bot = web
    stranger = KeyRing(Path(str(tmp_path)) / "other.json")
    token = sign(stranger, "ref", Purpose.GENERAL, datetime.now(UTC), 600)
    response = await client.get(f"/v/{token}")
    assert response.status == 400
    assert 'data-verdict="invalid"' in await response.text()


async def test_cancellation_shows_at_once(web: tuple[Client, BotHarness]) -> None:
    client, bot = web
    token = await token_for(bot, "Anna Müller")
    async with bot.db.session() as session:
        await session.execute(
            update(WorkPermit)
            .where(WorkPermit.permit_no == PEOPLE["Anna Müller"].permit_no)
            .values(status=PermitStatus.CANCELLED)
        )
    response = await client.get(f"/v/{token}")
    body = await response.text()
    assert response.status == 200
    assert ">PERMIT NOT VALID<" in body
    assert "This work permit has been cancelled." in body


@pytest.mark.parametrize(
    ("accept", "query", "expected", "direction"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "", "有效", "ltr"),
        ("ar-EG", "", "صالح", "rtl"),
        ("sw-KE, ru;q=0.5", "", "ДЕЙСТВИТЕЛЬНО", "ltr"),
        ("fa-IR", "", '<html lang="fa"', "rtl"),
        ("zh-CN", "?lang=en", ">VALID<", "ltr"),
    ],
)
async def test_page_speaks_the_verifier_s_language(
    web: tuple[Client, BotHarness], accept: str, query: str, expected: str, direction: str
) -> None:
    client, bot = web
    token = await token_for(bot, "Anna Müller")
    response = await client.get(f"/v/{token}{query}", headers={"Accept-Language": accept})
    body = await response.text()
    assert expected in body
    assert f'dir="{direction}"' in body
    assert 'href="?lang=zh_Hans"' in body


async def test_public_keys_verify_a_code_with_an_independent_ed25519(
    web: tuple[Client, BotHarness],
) -> None:
    client, bot = web
    token = await token_for(bot, "Anna Müller")
    response = await client.get("/.well-known/permit-keys.json")
    jwks = await response.json()
    [jwk] = jwks["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert "d" not in jwk

    def unb64(value: str) -> bytes:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    header, payload, signature = token.split(".")
    assert json.loads(unb64(header))["kid"] == jwk["kid"]
    public = Ed25519PublicKey.from_public_bytes(unb64(jwk["x"]))
    public.verify(unb64(signature), f"{header}.{payload}".encode())  # raises if forged


async def test_health_reports_database_and_bot(web: tuple[Client, BotHarness]) -> None:
    client, _bot = web
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "checks": {"database": True, "bot": True},
    }


async def test_access_log_never_carries_the_token(
    web: tuple[Client, BotHarness], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from bot.web import RedactingAccessLogger

    _client, bot = web
    token = await token_for(bot, "Anna Müller")
    logger = RedactingAccessLogger(logging.getLogger("access"), "")
    request = type("R", (), {"path": f"/v/{token}", "method": "GET"})()
    response = type("S", (), {"status": 200})()
    with caplog.at_level(logging.INFO, logger="access"):
        logger.log(request, response, 0.01)
    assert token not in caplog.text
    [record] = caplog.records
    assert record.__dict__["path"] == "/v/<token>"


async def test_metrics_count_updates_verifications_and_events(
    web: tuple[Client, BotHarness],
) -> None:
    client, bot = web
    await bot.send(bot.user().text("/start"))
    await bot.send(bot.user().text("/help"))
    token = await token_for(bot, "Anna Müller")
    await client.get(f"/v/{token}")
    await client.get("/v/garbage")
    response = await client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    assert 'permit_bot_updates_total{kind="message"} 2.0' in text
    assert "permit_bot_handler_seconds_count 2.0" in text
    assert 'permit_verifications_total{verdict="valid"} 1.0' in text
    assert 'permit_verifications_total{verdict="invalid"} 1.0' in text


async def test_health_is_503_when_the_database_is_gone(
    web: tuple[Client, BotHarness], tmp_path: object
) -> None:
    from storage.database import Database

    client, _bot = web
    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/nowhere")  # nothing listens
    assert client.app is not None
    services = client.app[SERVICES]
    object.__setattr__(services, "db", broken)
    try:
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["checks"]["database"] is False
    finally:
        await broken.dispose()
