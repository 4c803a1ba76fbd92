"""Linking a Telegram account to a permit record, proven by four matching details."""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.database import Database
from storage.identifiers import IdentifierHasher, compact, is_permit_no, name_key
from storage.models import utcnow
from storage.repositories import (
    AuditRepository,
    LinkRepository,
    PermitIdentity,
    PermitRepository,
)

USER_FAILURE_LIMIT = 5
PERMIT_FAILURE_LIMIT = 10
FAILURE_WINDOW = timedelta(hours=1)
LOCK_DURATION = timedelta(hours=1)
SS_LENGTH = (6, 30)
NAME_LIMIT = 200

ACTION_FAILED = "link.failed"
ACTION_LINKED = "link.created"
ACTION_UNLINKED = "link.removed"
ACTION_TAKEN = "link.refused_taken"


class LinkOutcome(enum.StrEnum):
    """How a link attempt ended."""

    LINKED = "linked"
    MISMATCH = "mismatch"
    USER_LOCKED = "user_locked"
    PERMIT_LOCKED = "permit_locked"
    TAKEN = "taken"
    ALREADY_LINKED = "already_linked"


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """The four details a user gave, reduced to what is compared (no plain numbers kept)."""

    name_key: str
    permit_no: str
    ss_hash: str
    phone_hash: str


@dataclass(frozen=True, slots=True)
class LinkResult:
    """The outcome, and what the user may be told about it."""

    outcome: LinkOutcome
    permit_id: int | None = None
    locked_until: datetime | None = None
    other_user_id: int | None = None


def actor(user_id: int) -> str:
    """How a Telegram user appears in the audit log."""
    return f"tg:{user_id}"


def permit_subject(permit_id: int) -> str:
    """How a permit appears in the audit log."""
    return f"permit:{permit_id}"


def clean_name(text: str) -> str | None:
    """A typed name if it looks like one (letters present, not too long), else None."""
    text = " ".join(text.split())
    if not text or len(text) > NAME_LIMIT or not any(char.isalpha() for char in text):
        return None
    return text


def clean_permit_no(text: str) -> str | None:
    """The 18-digit permit number from what was typed (spaces and dashes allowed)."""
    value = compact(text)
    return value if is_permit_no(value) else None


def clean_ss_no(text: str) -> str | None:
    """A social-security number from what was typed: 6 to 30 letters or digits."""
    value = compact(text)
    low, high = SS_LENGTH
    if low <= len(value) <= high and value.isascii() and value.isalnum():
        return value
    return None


def lock_end(times: list[datetime], limit: int) -> datetime | None:
    """When the latest lock ends: a lock starts at the `limit`-th failure within the window."""
    end: datetime | None = None
    for first, last in zip(times, times[limit - 1 :], strict=False):
        if last - first <= FAILURE_WINDOW:
            end = max(end or last, last + LOCK_DURATION)
    return end


class LinkingService:
    """Checks claims against the records, with lockouts that survive restarts."""

    def __init__(
        self, db: Database, hasher: IdentifierHasher, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.hasher = hasher
        self.clock = clock

    def claim(self, name: str, permit_no: str, ss_no: str, phone: str) -> LinkClaim:
        """Reduce the typed details to the comparable form."""
        return LinkClaim(
            name_key=name_key(name),
            permit_no=compact(permit_no),
            ss_hash=self.hasher.social_security(ss_no).hash,
            phone_hash=self.hasher.phone(phone).hash,
        )

    async def linked_permit(self, user_id: int) -> int | None:
        """The permit this user is linked to."""
        async with self.db.session() as session:
            return await LinkRepository(session).permit_of(user_id)

    async def user_locked_until(self, user_id: int) -> datetime | None:
        """If linking is locked for this user now, until when."""
        now = self.clock()
        async with self.db.session() as session:
            times = await AuditRepository(session).times(
                ACTION_FAILED, since=now - FAILURE_WINDOW - LOCK_DURATION, actor=actor(user_id)
            )
        end = lock_end(times, USER_FAILURE_LIMIT)
        return end if end is not None and end > now else None

    async def attempt(self, user_id: int, claim: LinkClaim) -> LinkResult:
        """Try to link; every refusal is audited without the submitted values."""
        now = self.clock()
        since = now - FAILURE_WINDOW - LOCK_DURATION
        async with self.db.session() as session:
            audit = AuditRepository(session)
            links = LinkRepository(session)
            existing = await links.permit_of(user_id)
            if existing is not None:
                return LinkResult(LinkOutcome.ALREADY_LINKED, permit_id=existing)
            user_times = await audit.times(ACTION_FAILED, since=since, actor=actor(user_id))
            user_end = lock_end(user_times, USER_FAILURE_LIMIT)
            if user_end is not None and user_end > now:
                return LinkResult(LinkOutcome.USER_LOCKED, locked_until=user_end)
            identity = await PermitRepository(session).identity(claim.permit_no)
            subject = permit_subject(identity.permit_id) if identity else None
            if identity is not None:
                permit_times = await audit.times(ACTION_FAILED, since=since, subject=subject)
                permit_end = lock_end(permit_times, PERMIT_FAILURE_LIMIT)
                if permit_end is not None and permit_end > now:
                    return LinkResult(LinkOutcome.PERMIT_LOCKED, locked_until=permit_end)
            if identity is None or not _matches(identity, claim):
                await audit.record(actor(user_id), ACTION_FAILED, subject, at=now)
                user_end = lock_end([*user_times, now], USER_FAILURE_LIMIT)
                locked = user_end if user_end is not None and user_end > now else None
                return LinkResult(LinkOutcome.MISMATCH, locked_until=locked)
            holder = await links.user_of(identity.permit_id)
            if holder is not None:
                await audit.record(actor(user_id), ACTION_TAKEN, subject, at=now)
                return LinkResult(
                    LinkOutcome.TAKEN, permit_id=identity.permit_id, other_user_id=holder
                )
            await links.link(user_id, identity.permit_id)
            await audit.record(actor(user_id), ACTION_LINKED, subject, at=now)
            return LinkResult(LinkOutcome.LINKED, permit_id=identity.permit_id)

    async def unlink(self, user_id: int) -> bool:
        """Remove the user's link (audited); False if there was none."""
        async with self.db.session() as session:
            permit_id = await LinkRepository(session).unlink(user_id)
            if permit_id is None:
                return False
            await AuditRepository(session).record(
                actor(user_id), ACTION_UNLINKED, permit_subject(permit_id), at=self.clock()
            )
            return True


def _matches(identity: PermitIdentity, claim: LinkClaim) -> bool:
    # Constant-time comparisons of bytes (names are not ASCII); all three are always compared.
    results = [
        hmac.compare_digest(identity.name_key.encode(), claim.name_key.encode()),
        hmac.compare_digest(identity.ss_hash.encode(), claim.ss_hash.encode()),
        hmac.compare_digest(identity.phone_hash.encode(), claim.phone_hash.encode()),
    ]
    return all(results)
