"""Employer invites on SQLite and PostgreSQL: one-time codes, stored hashed, used once."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.employers import (
    EmployerLinking,
    InvalidCreditCode,
    InviteOutcome,
    UnknownEmployer,
    looks_like_invite,
    new_code,
)
from storage.database import Database
from storage.identifiers import uscc_check_char
from storage.models import AuditEntry, EmployerChat, EmployerInvite
from storage.seed import seed_demo_records
from tests.conftest import HASH_KEY

HARBOUR = "91310000MA1K00001" + uscc_check_char("91310000MA1K00001")
LOTUS = "91110000MA0100002" + uscc_check_char("91110000MA0100002")
START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Clock:
    """A settable clock, so a week can pass without waiting for it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def linking(database: Database) -> tuple[EmployerLinking, Clock]:
    await seed_demo_records(database, HASH_KEY)
    clock = Clock()
    return EmployerLinking(database, invite_days=7, clock=clock), clock


async def link(service: EmployerLinking, code: str, chat_id: int = -100500) -> InviteOutcome:
    result = await service.link(
        code, chat_id=chat_id, chat_type="supergroup", user_id=42, locale="en"
    )
    return result.outcome


def test_codes_fit_a_deep_link_and_say_what_they_are() -> None:
    codes = {new_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert START_PARAMETER.match(code)
        assert looks_like_invite(code)
    assert not looks_like_invite("hello")


async def test_invite_stores_only_the_code_s_hash(
    linking: tuple[EmployerLinking, Clock], database: Database
) -> None:
    service, clock = linking
    invite = await service.create_invite(HARBOUR[:6] + " " + HARBOUR[6:])  # typed with a space
    assert invite.employer.uscc == HARBOUR
    assert invite.expires_at == clock.now + timedelta(days=7)
    async with database.session() as session:
        [row] = (await session.scalars(select(EmployerInvite))).all()
        audit = (await session.scalars(select(AuditEntry))).all()
    assert row.code_hash == hashlib.sha256(invite.code.encode()).hexdigest()
    assert row.used_at is None
    assert [entry.action for entry in audit] == ["employer.invite_created"]
    assert invite.code not in repr(audit[0].details)


async def test_malformed_and_unknown_credit_codes_are_refused(
    linking: tuple[EmployerLinking, Clock],
) -> None:
    service, _clock = linking
    with pytest.raises(InvalidCreditCode):
        await service.create_invite(HARBOUR[:17] + ("0" if HARBOUR[17] != "0" else "1"))
    unknown = "91310000MA1K00077" + uscc_check_char("91310000MA1K00077")
    with pytest.raises(UnknownEmployer):
        await service.create_invite(unknown)


async def test_a_code_links_one_chat_once(
    linking: tuple[EmployerLinking, Clock], database: Database
) -> None:
    service, clock = linking
    invite = await service.create_invite(HARBOUR)
    assert await link(service, invite.code, chat_id=-100500) is InviteOutcome.LINKED
    assert await link(service, invite.code, chat_id=-100600) is InviteOutcome.USED
    assert await link(service, invite.code, chat_id=-100500) is InviteOutcome.ALREADY_LINKED
    async with database.session() as session:
        chats = (await session.scalars(select(EmployerChat))).all()
        row = await session.scalar(select(EmployerInvite))
    assert [(chat.chat_id, chat.chat_type, chat.locale, chat.linked_by) for chat in chats] == [
        (-100500, "supergroup", "en", 42)
    ]
    assert row is not None
    assert (row.used_at, row.used_by_chat) == (clock.now, -100500)


async def test_expired_and_unknown_codes_link_nothing(
    linking: tuple[EmployerLinking, Clock], database: Database
) -> None:
    service, clock = linking
    invite = await service.create_invite(HARBOUR)
    clock.now += timedelta(days=7)
    assert await link(service, invite.code) is InviteOutcome.EXPIRED
    assert await link(service, "emp_" + "x" * 32) is InviteOutcome.UNKNOWN
    assert await link(service, "emp_") is InviteOutcome.UNKNOWN
    async with database.session() as session:
        assert (await session.scalars(select(EmployerChat))).all() == []
        reasons = [
            entry.details["reason"]
            for entry in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
            if entry.action == "employer.link_refused"
        ]
    assert reasons == ["expired", "unknown", "unknown"]


async def test_a_chat_of_another_employer_is_refused_and_keeps_the_code_unused(
    linking: tuple[EmployerLinking, Clock], database: Database
) -> None:
    service, _clock = linking
    first = await service.create_invite(HARBOUR)
    second = await service.create_invite(LOTUS)
    assert await link(service, first.code) is InviteOutcome.LINKED
    result = await service.link(
        second.code, chat_id=-100500, chat_type="supergroup", user_id=42, locale="en"
    )
    assert result.outcome is InviteOutcome.OTHER_EMPLOYER
    assert result.employer is not None
    assert result.employer.uscc == HARBOUR
    async with database.session() as session:
        unused = await session.scalar(
            select(EmployerInvite).where(EmployerInvite.used_at.is_(None))
        )
    assert unused is not None
    assert unused.code_hash == hashlib.sha256(second.code.encode()).hexdigest()
    # After unlinking, the second code links the chat to the other employer.
    unlinked = await service.unlink(-100500, user_id=42)
    assert unlinked is not None
    assert unlinked.uscc == HARBOUR
    assert await link(service, second.code) is InviteOutcome.LINKED
    linked_to = await service.employer_of_chat(-100500)
    assert linked_to is not None
    assert linked_to.uscc == LOTUS


async def test_two_chats_racing_for_one_code_link_only_one(
    linking: tuple[EmployerLinking, Clock], database: Database
) -> None:
    service, _clock = linking
    invite = await service.create_invite(HARBOUR)
    outcomes = await asyncio.gather(
        *(link(service, invite.code, chat_id=-100000 - n) for n in range(4))
    )
    assert sorted(outcomes) == sorted([InviteOutcome.LINKED] + [InviteOutcome.USED] * 3)
    async with database.session() as session:
        assert len((await session.scalars(select(EmployerChat))).all()) == 1


async def test_summaries_count_linked_chats_and_workers(
    linking: tuple[EmployerLinking, Clock],
) -> None:
    service, _clock = linking
    for chat_id in (-1, -2):
        assert await link(service, (await service.create_invite(HARBOUR)).code, chat_id) == (
            InviteOutcome.LINKED
        )
    counts = {
        summary.uscc: (summary.chats, summary.workers) for summary in await service.summaries()
    }
    assert counts[HARBOUR] == (2, 2)
    assert counts[LOTUS] == (0, 2)
    assert len(counts) == 4
