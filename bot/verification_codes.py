"""Issuing verification codes: the signed URL and its QR image, never for a dead permit."""

from __future__ import annotations

import asyncio
import enum
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from bot.credentials import KeyRing, Purpose, sign
from storage.database import Database
from storage.models import PermitStatus, utcnow
from storage.repositories import PermitRepository


class Refusal(enum.StrEnum):
    """Why no code is issued."""

    NO_PERMIT = "no_permit"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class CodeRefused(Exception):
    """No code can be issued for this permit now."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A fresh verification code."""

    url: str
    token: str
    purpose: Purpose
    expires_at: datetime
    png: bytes


# Any of the 8 mask patterns is a valid QR code (ISO/IEC 18004) and scanners try them all;
# choosing the "best" one encodes the symbol 8 times and scores each, which was 3/4 of the
# render time (bench/render.py). Pattern 2 (vertical stripes every 3 modules) is used always.
MASK_PATTERN = 2
MODULE_PIXELS = 8
QUIET_ZONE = 4


def render_qr_png(data: str) -> bytes:
    """A QR code of `data` as a 1-bit PNG (medium error correction, quiet zone included)."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, box_size=1, border=QUIET_ZONE, mask_pattern=MASK_PATTERN
    )
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone
    size = len(matrix)
    image = Image.new("1", (size, size))
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = image.resize((size * MODULE_PIXELS, size * MODULE_PIXELS), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class CodeIssuer:
    """Signs codes for valid permits and renders them, keeping CPU work off the event loop."""

    def __init__(
        self,
        db: Database,
        ring: KeyRing,
        public_base_url: str,
        ttl_seconds: int,
        today: Callable[[], date],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.ring = ring
        self.base = public_base_url.rstrip("/")
        self.ttl = ttl_seconds
        self.today = today
        self.clock = clock

    def url_for(self, token: str) -> str:
        """The page a verifier's camera opens."""
        return f"{self.base}/v/{token}"

    def _sign_and_render(
        self, reference: str, purpose: Purpose, now: datetime
    ) -> tuple[str, str, bytes]:
        token = sign(self.ring, reference, purpose, now, self.ttl)
        url = self.url_for(token)
        return token, url, render_qr_png(url)

    async def issue(self, permit_id: int, purpose: Purpose) -> IssuedCode:
        """A new code for the permit, or `CodeRefused` if it is cancelled or expired."""
        async with self.db.session() as session:
            repository = PermitRepository(session)
            facts = await repository.code_facts(permit_id)
            if facts is None:
                raise CodeRefused(Refusal.NO_PERMIT)
            status, valid_until, reference = facts
            if status is PermitStatus.CANCELLED:
                raise CodeRefused(Refusal.CANCELLED)
            if status is PermitStatus.EXPIRED or valid_until < self.today():
                raise CodeRefused(Refusal.EXPIRED)
            if reference is None:
                reference = await repository.verification_ref(permit_id)
        assert reference is not None
        now = self.clock()
        # Signing and QR rendering cost milliseconds of CPU: one worker thread hop does both.
        token, url, png = await asyncio.to_thread(self._sign_and_render, reference, purpose, now)
        return IssuedCode(url, token, purpose, now + timedelta(seconds=self.ttl), png)
