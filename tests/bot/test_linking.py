"""Linking: four matching details, lockouts per user and per permit, one account per permit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.linking import (
    LinkingService,
    LinkOutcome,
    clean_name,
    clean_permit_no,
    clean_ss_no,
    lock_end,
)
from storage.database import Database
from storage.identifiers import IdentifierHasher
from storage.models import AuditEntry
from storage.repositories import UserRepository
from storage.seed import SeedIdentity, demo_identities, seed_demo_records
from tests.conftest import HASH_KEY


class Clock:
    """A settable clock, so an hour can pass without waiting for it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def linking(database: Database) -> tuple[LinkingService, Clock]:
    await seed_demo_records(database, HASH_KEY)
    async with database.session() as session:
        # Everyone who links has talked to the bot before (the update pipeline records them).
        for user_id in [1, 2, 7, 8, 9, *range(100, 110), 200, 201]:
            await UserRepository(session).seen(user_id, "en")
    clock = Clock()
    return LinkingService(database, IdentifierHasher(HASH_KEY), clock), clock


ANNA = demo_identities()[0]
IVAN = demo_identities()[1]


def claim_of(service: LinkingService, who: SeedIdentity, **changes: str):  # type: ignore[no-untyped-def]
    details = {
        "name": who.full_name,
        "permit_no": who.permit_no,
        "ss_no": who.ss_no,
        "phone": who.phone,
    }
    details.update(changes)
    return service.claim(**details)


async def test_matching_details_link_the_account(linking: tuple[LinkingService, Clock]) -> None:
    service, _clock = linking
    result = await service.attempt(1, claim_of(service, ANNA))
    assert result.outcome is LinkOutcome.LINKED
    assert await service.linked_permit(1) == result.permit_id


@pytest.mark.parametrize(
    "typed",
    [
        {"name": "  anna   MULLER "},
        {"name": "Anna Mueller"},
        {"permit_no": "9015 5555 5555 5555 01"},
        {"permit_no": "901-555-555-555-555-501"},
        {"ss_no": "ss 8600-0079-19"},
        {"phone": "+86 139 0001 1111"},
    ],
)
async def test_details_are_compared_forgivingly(
    linking: tuple[LinkingService, Clock], typed: dict[str, str]
) -> None:
    service, _clock = linking
    result = await service.attempt(1, claim_of(service, ANNA, **typed))
    expected = LinkOutcome.MISMATCH if typed.get("name") == "Anna Mueller" else LinkOutcome.LINKED
    assert result.outcome is expected


@pytest.mark.parametrize(
    "wrong",
    [
        {"name": "Anna Maria Müller"},
        {"permit_no": "901555555555555599"},
        {"ss_no": "SS8600007918"},
        {"phone": "+8613900011112"},
    ],
)
async def test_any_wrong_detail_is_a_mismatch(
    linking: tuple[LinkingService, Clock], wrong: dict[str, str]
) -> None:
    service, _clock = linking
    result = await service.attempt(1, claim_of(service, ANNA, **wrong))
    assert result.outcome is LinkOutcome.MISMATCH
    assert await service.linked_permit(1) is None


async def test_five_failures_in_an_hour_lock_the_user_for_an_hour(
    linking: tuple[LinkingService, Clock],
) -> None:
    service, clock = linking
    bad = claim_of(service, ANNA, ss_no="SS0000000")
    for attempt in range(5):
        result = await service.attempt(7, bad)
        assert result.outcome is LinkOutcome.MISMATCH
        assert (result.locked_until is not None) == (attempt == 4)
        clock.now += timedelta(minutes=10)
    # Even the right details are refused while locked.
    locked = await service.attempt(7, claim_of(service, ANNA))
    assert locked.outcome is LinkOutcome.USER_LOCKED
    assert locked.locked_until == datetime(2026, 11, 27, 10, 40, tzinfo=UTC)
    assert await service.user_locked_until(7) == locked.locked_until
    clock.now = locked.locked_until + timedelta(seconds=1)
    assert await service.user_locked_until(7) is None
    assert (await service.attempt(7, claim_of(service, ANNA))).outcome is LinkOutcome.LINKED


async def test_failures_spread_over_more_than_an_hour_do_not_lock(
    linking: tuple[LinkingService, Clock],
) -> None:
    service, clock = linking
    for _ in range(8):
        await service.attempt(8, claim_of(service, ANNA, phone="+100000000"))
        clock.now += timedelta(minutes=16)
    assert await service.user_locked_until(8) is None


async def test_ten_failures_against_one_permit_lock_it_for_everyone(
    linking: tuple[LinkingService, Clock],
) -> None:
    service, clock = linking
    for user_id in range(100, 110):
        result = await service.attempt(user_id, claim_of(service, IVAN, name="Wrong Person"))
        assert result.outcome is LinkOutcome.MISMATCH
        clock.now += timedelta(minutes=1)
    refused = await service.attempt(200, claim_of(service, IVAN))
    assert refused.outcome is LinkOutcome.PERMIT_LOCKED
    # Other permits are unaffected.
    assert (await service.attempt(200, claim_of(service, ANNA))).outcome is LinkOutcome.LINKED
    clock.now += timedelta(hours=1)
    assert (await service.attempt(201, claim_of(service, IVAN))).outcome is LinkOutcome.LINKED


async def test_locks_survive_a_restart(
    linking: tuple[LinkingService, Clock], database: Database
) -> None:
    service, clock = linking
    for _ in range(5):
        await service.attempt(9, claim_of(service, ANNA, ss_no="SS0000000"))
    restarted = LinkingService(database, IdentifierHasher(HASH_KEY), clock)
    assert await restarted.user_locked_until(9) is not None


async def test_a_linked_permit_cannot_be_linked_from_another_account(
    linking: tuple[LinkingService, Clock],
) -> None:
    service, _clock = linking
    await service.attempt(1, claim_of(service, ANNA))
    result = await service.attempt(2, claim_of(service, ANNA))
    assert result.outcome is LinkOutcome.TAKEN
    assert result.other_user_id == 1
    assert await service.linked_permit(2) is None


async def test_a_linked_account_cannot_link_a_second_permit(
    linking: tuple[LinkingService, Clock],
) -> None:
    service, _clock = linking
    first = await service.attempt(1, claim_of(service, ANNA))
    again = await service.attempt(1, claim_of(service, IVAN))
    assert again.outcome is LinkOutcome.ALREADY_LINKED
    assert again.permit_id == first.permit_id


async def test_unlink_frees_the_permit(linking: tuple[LinkingService, Clock]) -> None:
    service, _clock = linking
    await service.attempt(1, claim_of(service, ANNA))
    assert await service.unlink(1) is True
    assert await service.unlink(1) is False
    assert (await service.attempt(2, claim_of(service, ANNA))).outcome is LinkOutcome.LINKED


async def test_audit_log_records_attempts_without_submitted_values(
    linking: tuple[LinkingService, Clock], database: Database
) -> None:
    service, _clock = linking
    await service.attempt(1, claim_of(service, ANNA, ss_no="SS1234567"))
    await service.attempt(1, claim_of(service, ANNA))
    await service.unlink(1)
    async with database.session() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [entry.action for entry in entries] == ["link.failed", "link.created", "link.removed"]
    dumped = " ".join(f"{e.actor} {e.subject} {e.details}" for e in entries)
    for value in (ANNA.permit_no, ANNA.ss_no, "SS1234567", ANNA.phone, ANNA.full_name):
        assert value not in dumped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9015 5555 5555 5555 01", "901555555555555501"),
        ("901555555555555501", "901555555555555501"),
        ("90155555555555550", None),
        ("9015555555555555011", None),
        ("90155555555555550A", None),
        ("", None),
    ],
)
def test_permit_number_shape(text: str, expected: str | None) -> None:
    assert clean_permit_no(text) == expected


def test_name_and_social_security_shapes() -> None:
    assert clean_name("  Anna   Müller ") == "Anna Müller"
    assert clean_name("12345") is None
    assert clean_name("x" * 201) is None
    assert clean_ss_no("SS 8600-0079-19") == "SS8600007919"
    assert clean_ss_no("12345") is None
    assert clean_ss_no("社保12345678") is None


def test_lock_starts_at_the_limit_th_failure_within_the_window() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [start + timedelta(minutes=m) for m in (0, 10, 20, 30, 59)]
    assert lock_end(times, 5) == start + timedelta(minutes=59) + timedelta(hours=1)
    spread = [start + timedelta(minutes=m) for m in (0, 10, 20, 30, 61)]
    assert lock_end(spread, 5) is None
    assert lock_end(times[:4], 5) is None
