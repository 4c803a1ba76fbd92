"""Permits made to measure for deadline tests: any expiry, status, letter and link."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from storage.database import Database
from storage.identifiers import uscc_check_char
from storage.models import (
    Employer,
    PermitCategory,
    PermitStatus,
    Person,
    TelegramLink,
    TelegramUser,
    WorkPermit,
    utcnow,
)

EMPLOYER_CODE = "91310000MA1K0DEAD" + uscc_check_char("91310000MA1K0DEAD")


async def add_permit(
    db: Database,
    valid_until: date,
    *,
    status: PermitStatus = PermitStatus.VALID,
    user_id: int | None = None,
    letter_issued_on: date | None = None,
    entered_on: date | None = None,
) -> int:
    """A permit (with its holder and employer) expiring on `valid_until`; linked to the
    Telegram user `user_id` when one is given. Returns the permit's id."""
    async with db.session() as session:
        employer_id = await session.scalar(
            select(Employer.id).where(Employer.uscc == EMPLOYER_CODE)
        )
        if employer_id is None:
            employer = Employer(uscc=EMPLOYER_CODE, name="Deadline Test Co., Ltd.")
            session.add(employer)
            await session.flush()
            employer_id = employer.id
        n = int(await session.scalar(select(func.count()).select_from(WorkPermit)) or 0) + 1
        person = Person(
            full_name=f"Test Person {n}",
            name_key=f"test person {n}",
            nationality="DE",
            date_of_birth=date(1990, 1, 1),
            passport_hash=f"p{n}",
            passport_masked="C0*****1",
            ss_hash=f"s{n}",
            ss_masked="SS****01",
            phone_hash=f"t{n}",
            phone_masked="+*******01",
        )
        session.add(person)
        await session.flush()
        permit = WorkPermit(
            permit_no=f"{970_000_000_000_000_000 + n}",
            person_id=person.id,
            employer_id=employer_id,
            category=PermitCategory.B,
            position="Engineer",
            work_city="Shanghai",
            issued_on=date(2024, 1, 1),
            valid_until=valid_until,
            status=status,
            notification_letter_issued_on=letter_issued_on,
            entered_on=entered_on,
        )
        session.add(permit)
        await session.flush()
        if user_id is not None:
            if await session.get(TelegramUser, user_id) is None:
                now = utcnow()
                session.add(TelegramUser(id=user_id, settings={}, first_seen=now, last_seen=now))
                await session.flush()
            session.add(TelegramLink(telegram_user_id=user_id, permit_id=permit.id))
        return permit.id
