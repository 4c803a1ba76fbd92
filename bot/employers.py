"""Employer invites: one-time codes that link a Telegram chat (HR person or group) to an employer.

Only a code's SHA-256 is stored; the code itself is printed once, for the operator to pass on.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.linking import actor
from storage.database import Database
from storage.identifiers import compact, is_uscc
from storage.models import utcnow
from storage.repositories import (
    AuditRepository,
    EmployerRef,
    EmployerRepository,
    EmployerSummary,
)

INVITE_PREFIX = "emp_"
# Telegram's deep-link `start` parameter: at most 64 characters of A-Z a-z 0-9 _ -.
_INVITE_PATTERN = re.compile(r"^emp_[A-Za-z0-9_-]{16,60}$")
_CODE_BYTES = 24  # 32 URL-safe characters: 192 random bits, no guessing

ACTION_INVITED = "employer.invite_created"
ACTION_LINKED = "employer.chat_linked"
ACTION_REFUSED = "employer.link_refused"
ACTION_UNLINKED = "employer.chat_unlinked"
CLI_ACTOR = "cli"


class InvalidCreditCode(ValueError):
    """The text given is not a well-formed Unified Social Credit Code."""


class UnknownEmployer(LookupError):
    """No employer with this credit code is in the records."""


class InviteOutcome(enum.StrEnum):
    """How an attempt to link a chat with an invite code ended."""

    LINKED = "linked"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    OTHER_EMPLOYER = "other_employer"  # the chat is linked to another employer already
    ALREADY_LINKED = "already_linked"  # ... to this very employer


@dataclass(frozen=True, slots=True)
class Invite:
    """A freshly created code (shown once) and until when it works."""

    code: str
    employer: EmployerRef
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InviteResult:
    """The outcome of a link attempt, and the employer the chat is (now) linked to."""

    outcome: InviteOutcome
    employer: EmployerRef | None = None


def code_hash(code: str) -> str:
    """What is stored of a code: its SHA-256 in hex."""
    return hashlib.sha256(code.encode()).hexdigest()


def looks_like_invite(payload: str) -> bool:
    """Whether a /start payload is meant as an employer invite code (it may still be wrong)."""
    return payload.startswith(INVITE_PREFIX)


def new_code() -> str:
    """A fresh, unguessable invite code that fits a deep link's start parameter."""
    return INVITE_PREFIX + secrets.token_urlsafe(_CODE_BYTES)


def employer_subject(employer_id: int) -> str:
    """How an employer appears in the audit log."""
    return f"employer:{employer_id}"


class EmployerLinking:
    """Creates invite codes and links or unlinks chats with them, audited."""

    def __init__(
        self, db: Database, invite_days: int, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.invite_days = invite_days
        self.clock = clock

    async def create_invite(self, uscc: str) -> Invite:
        """A new one-time code for the employer with this credit code."""
        code_text = compact(uscc)
        if not is_uscc(code_text):
            raise InvalidCreditCode(uscc)
        now = self.clock()
        code = new_code()
        expires_at = now + timedelta(days=self.invite_days)
        async with self.db.session() as session:
            repository = EmployerRepository(session)
            employer = await repository.by_uscc(code_text)
            if employer is None:
                raise UnknownEmployer(code_text)
            invite_id = await repository.add_invite(employer.id, code_hash(code), now, expires_at)
            await AuditRepository(session).record(
                CLI_ACTOR,
                ACTION_INVITED,
                employer_subject(employer.id),
                at=now,
                invite=invite_id,
                expires_at=expires_at.isoformat(),
            )
        return Invite(code, employer, expires_at)

    async def summaries(self) -> list[EmployerSummary]:
        """Every employer with its linked chats and workers counted."""
        async with self.db.session() as session:
            return await EmployerRepository(session).summaries()

    async def employer_of_chat(self, chat_id: int) -> EmployerRef | None:
        """The employer a chat is linked to, if any."""
        async with self.db.session() as session:
            return await EmployerRepository(session).employer_of_chat(chat_id)

    async def link(
        self, code: str, *, chat_id: int, chat_type: str, user_id: int, locale: str
    ) -> InviteResult:
        """Link the chat with a code: unknown, expired, used and taken chats are refused.

        The code is consumed by a guarded UPDATE in the same transaction as the link, so of
        two chats racing for one code only one is linked, and a refused link uses no code.
        """
        try:
            return await self._link(code, chat_id, chat_type, user_id, locale)
        except IntegrityError:
            # The same chat was linked by a concurrent attempt; this one changed nothing.
            employer = await self.employer_of_chat(chat_id)
            return InviteResult(InviteOutcome.ALREADY_LINKED, employer)

    async def _link(
        self, code: str, chat_id: int, chat_type: str, user_id: int, locale: str
    ) -> InviteResult:
        now = self.clock()
        who = actor(user_id)
        async with self.db.session() as session:
            repository = EmployerRepository(session)
            audit = AuditRepository(session)
            invite = (
                await repository.invite(code_hash(code)) if _INVITE_PATTERN.match(code) else None
            )
            if invite is None:
                await audit.record(who, ACTION_REFUSED, None, at=now, reason="unknown")
                return InviteResult(InviteOutcome.UNKNOWN)
            subject = employer_subject(invite.employer_id)
            current = await repository.employer_of_chat(chat_id)
            if current is not None:
                outcome = (
                    InviteOutcome.ALREADY_LINKED
                    if current.id == invite.employer_id
                    else InviteOutcome.OTHER_EMPLOYER
                )
                await audit.record(who, ACTION_REFUSED, subject, at=now, reason=outcome.value)
                return InviteResult(outcome, current)
            if invite.used_at is not None:
                outcome = InviteOutcome.USED
            elif invite.expires_at <= now:
                outcome = InviteOutcome.EXPIRED
            elif not await repository.use_invite(invite.id, chat_id, now):
                outcome = InviteOutcome.USED  # another chat took it a moment ago
            else:
                outcome = InviteOutcome.LINKED
            if outcome is not InviteOutcome.LINKED:
                await audit.record(
                    who, ACTION_REFUSED, subject, at=now, reason=outcome.value, invite=invite.id
                )
                return InviteResult(outcome)
            await repository.link_chat(invite.employer_id, chat_id, chat_type, user_id, locale, now)
            await audit.record(
                who, ACTION_LINKED, subject, at=now, invite=invite.id, chat_type=chat_type
            )
            return InviteResult(outcome, await repository.employer_of_chat(chat_id))

    async def unlink(self, chat_id: int, user_id: int) -> EmployerRef | None:
        """Remove the chat's link (audited); the employer it was linked to, or None."""
        async with self.db.session() as session:
            repository = EmployerRepository(session)
            employer = await repository.employer_of_chat(chat_id)
            if employer is None:
                return None
            await repository.unlink_chat(chat_id)
            await AuditRepository(session).record(
                actor(user_id),
                ACTION_UNLINKED,
                employer_subject(employer.id),
                at=self.clock(),
            )
            return employer
