"""The /qr journey end to end: a QR photo whose URL carries a token that verifies."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from bot.credentials import Purpose, verify
from tests.conftest import BotHarness, buttons, texts
from tests.e2e.records import PEOPLE, linked

BASE = "http://127.0.0.1:8080/v/"


def decode(png: bytes) -> str:
    """The text of the one QR code in a PNG, read by a real decoder."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    [result] = zxingcpp.read_barcodes(image)
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    return str(result.text)


async def test_qr_sends_a_photo_whose_code_verifies(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    calls = await seeded.send(seeded.user().text("/qr"))
    [photo] = [call for call in calls if call.method == "sendPhoto"]
    url = decode(photo.files["photo"][1])
    assert url.startswith(BASE)
    token = url.removeprefix(BASE)
    claims = verify(token, seeded.app.bot_data.codes.ring.public_key)
    assert claims.purpose is Purpose.GENERAL
    assert PEOPLE["Anna Müller"].permit_no not in token
    assert claims.subject != PEOPLE["Anna Müller"].permit_no
    assert (claims.expires_at - claims.issued_at).total_seconds() == 600
    text = str(photo.result["caption"])
    assert text.startswith("🔐 Verification code: general check")
    assert "(10 minutes)" in text
    assert "do not see your passport or social-security numbers" in text
    labels = [label for label, _data in buttons(photo)]
    assert labels[0] == "🔄 New code"
    assert "Code for: residence permit" in labels


async def test_purpose_button_issues_a_code_for_that_purpose(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [photo] = [c for c in await seeded.send(user.text("/qr")) if c.method == "sendPhoto"]
    calls = await seeded.send(user.press(photo.result, "qr:residence"))
    [second] = [c for c in calls if c.method == "sendPhoto"]
    claims = verify(
        decode(second.files["photo"][1]).removeprefix(BASE),
        seeded.app.bot_data.codes.ring.public_key,
    )
    assert claims.purpose is Purpose.RESIDENCE
    assert str(second.result["caption"]).startswith("🔐 Verification code: residence permit")


async def test_new_code_button_gives_a_different_code_for_the_same_permit(
    seeded: BotHarness,
) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [first] = [c for c in await seeded.send(user.text("/qr")) if c.method == "sendPhoto"]
    seeded.app.bot_data.codes.clock = lambda: datetime.now(UTC) + timedelta(minutes=1)
    [again] = [
        c
        for c in await seeded.send(user.press(first.result, "qr:general"))
        if c.method == "sendPhoto"
    ]
    ring = seeded.app.bot_data.codes.ring
    one = verify(decode(first.files["photo"][1]).removeprefix(BASE), ring.public_key)
    two = verify(decode(again.files["photo"][1]).removeprefix(BASE), ring.public_key)
    assert one.subject == two.subject
    assert two.issued_at > one.issued_at


@pytest.mark.parametrize(
    ("name", "reason"),
    [("محمد العلي", "has expired"), ("Nguyễn Văn An", "has been cancelled")],
)
async def test_no_code_for_an_expired_or_cancelled_permit(
    seeded: BotHarness,
    name: str,
    reason: str,
) -> None:
    await linked(seeded, PEOPLE[name])
    calls = await seeded.send(seeded.user().text("/qr"))
    assert not [call for call in calls if call.method == "sendPhoto"]
    [text] = texts(calls)
    assert reason in text


async def test_qr_needs_a_linked_account(seeded: BotHarness) -> None:
    [text] = texts(await seeded.send(seeded.user().text("/qr")))
    assert text.startswith("To see this, first link your Telegram account")


async def test_forged_purpose_is_refused(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [photo] = [c for c in await seeded.send(user.text("/qr")) if c.method == "sendPhoto"]
    calls = await seeded.send(user.press(photo.result, "qr:everything"))
    assert calls[0].params.get("text") == "This button is no longer available."
    assert not [call for call in calls if call.method == "sendPhoto"]
