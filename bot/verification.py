"""What a verifier learns from a code: the verdict, checked live, with the minimum of data."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.credentials import KeyRing, Purpose, TokenProblem, TokenRejected, verify
from storage.database import Database
from storage.models import PermitCategory, PermitStatus, utcnow
from storage.repositories import PermitRepository


class Verdict(enum.StrEnum):
    """The one-glance answer of the verification page."""

    VALID = "valid"
    INVALID = "invalid"  # bad signature, unknown key, malformed, unknown permit
    EXPIRED_CODE = "expired_code"  # the code's lifetime passed; the holder makes a new one
    PERMIT_NOT_VALID = "permit_not_valid"  # the permit is cancelled or expired now


@dataclass(frozen=True, slots=True)
class HolderView:
    """Only what a verifier needs to see (never passport or social-security numbers)."""

    full_name: str
    nationality: str
    category: PermitCategory
    valid_until: date
    employer: str
    status: PermitStatus


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict of one check, with what may be shown."""

    verdict: Verdict
    checked_at: datetime
    problem: TokenProblem | None = None
    purpose: Purpose | None = None
    holder: HolderView | None = None
    expires_at: datetime | None = None


class PermitVerifier:
    """Checks a token's signature and lifetime, then the permit's status as of now."""

    def __init__(
        self,
        db: Database,
        ring: KeyRing,
        today: Callable[[], date],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.ring = ring
        self.today = today
        self.clock = clock

    async def check(self, token: str) -> VerificationResult:
        """The verdict for `token`, looking the permit up live."""
        now = self.clock()
        try:
            claims = verify(token, self.ring.public_key, now=now)
        except TokenRejected as rejected:
            verdict = (
                Verdict.EXPIRED_CODE
                if rejected.problem is TokenProblem.EXPIRED
                else Verdict.INVALID
            )
            return VerificationResult(verdict, now, problem=rejected.problem)
        async with self.db.session() as session:
            permit = await PermitRepository(session).by_verification_ref(claims.subject)
            if permit is None:
                return VerificationResult(Verdict.INVALID, now, problem=TokenProblem.MALFORMED)
            holder = HolderView(
                full_name=permit.person.full_name,
                nationality=permit.person.nationality,
                category=permit.category,
                valid_until=permit.valid_until,
                employer=permit.employer.name,
                status=permit.status,
            )
        alive = holder.status is PermitStatus.VALID and holder.valid_until >= self.today()
        return VerificationResult(
            Verdict.VALID if alive else Verdict.PERMIT_NOT_VALID,
            now,
            purpose=claims.purpose,
            holder=holder,
            expires_at=claims.expires_at,
        )
