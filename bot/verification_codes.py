"""Issuing verification codes: the signed URL and its QR image, never for a dead permit."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.credentials import KeyRing, Purpose, sign
from bot.qr_image import render_qr_png
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

    async def _facts(self, permit_id: int) -> tuple[PermitStatus, date, str]:
        """The permit's status, validity and reference (created on first use), from the
        permit cache when possible: any committed change to the permit empties it."""
        key = ("code", permit_id)
        cached: tuple[PermitStatus, date, str] | None = self.db.permits.get(key)
        if cached is not None:
            return cached
        ticket = self.db.permits.ticket()
        async with self.db.session() as session:
            repository = PermitRepository(session)
            facts = await repository.code_facts(permit_id)
            if facts is None:
                raise CodeRefused(Refusal.NO_PERMIT)
            status, valid_until, reference = facts
            if reference is None:
                # Written once and never changed; not a column the permit cache watches.
                reference = await repository.verification_ref(permit_id)
        assert reference is not None
        self.db.permits.put(key, (status, valid_until, reference), ticket)
        return status, valid_until, reference

    def _sign_and_render(
        self, reference: str, purpose: Purpose, now: datetime
    ) -> tuple[str, str, bytes]:
        token = sign(self.ring, reference, purpose, now, self.ttl)
        url = self.url_for(token)
        return token, url, render_qr_png(url)

    async def issue(self, permit_id: int, purpose: Purpose) -> IssuedCode:
        """A new code for the permit, or `CodeRefused` if it is cancelled or expired."""
        status, valid_until, reference = await self._facts(permit_id)
        if status is PermitStatus.CANCELLED:
            raise CodeRefused(Refusal.CANCELLED)
        if status is PermitStatus.EXPIRED or valid_until < self.today():
            raise CodeRefused(Refusal.EXPIRED)
        now = self.clock()
        # Signing and QR rendering cost milliseconds of CPU: one worker thread hop does both.
        token, url, png = await asyncio.to_thread(self._sign_and_render, reference, purpose, now)
        return IssuedCode(url, token, purpose, now + timedelta(seconds=self.ttl), png)
