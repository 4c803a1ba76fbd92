"""Synthetic demo records: people in several scripts, employers, permits and applications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database
from storage.identifiers import IdentifierHasher, name_key, uscc_check_char
from storage.models import (
    Application,
    ApplicationEvent,
    ApplicationKind,
    ApplicationStatus,
    CardState,
    ECardState,
    Employer,
    PermitCategory,
    PermitStatus,
    Person,
    SocialSecurityRecord,
    WorkPermit,
)


@dataclass(frozen=True, slots=True)
class SeedIdentity:
    """The synthetic details a tester types to link an account with a seeded permit."""

    full_name: str
    permit_no: str
    ss_no: str
    passport_no: str
    phone: str
    situation: str

    def describe(self) -> str:
        """One line a tester can copy from."""
        return (
            f"{self.full_name} | permit {self.permit_no} | social security {self.ss_no} | "
            f"passport {self.passport_no} | phone {self.phone} | {self.situation}"
        )


@dataclass(frozen=True, slots=True)
class _Employer:
    stem: str
    name: str

    @property
    def uscc(self) -> str:
        return self.stem + uscc_check_char(self.stem)


_EMPLOYERS = (
    _Employer("91310000MA1K00001", "Shanghai Harbour Software Co., Ltd."),
    _Employer("91110000MA0100002", "Beijing Lotus Education Technology Co., Ltd."),
    _Employer("91440300MA5D00003", "Shenzhen Pearl River Robotics Co., Ltd."),
    _Employer("91530100MA6K00004", "Kunming Spring City Trading Co., Ltd."),
)


@dataclass(frozen=True, slots=True)
class _SeedPerson:
    name: str
    chinese_name: str | None
    nationality: str
    born: date
    employer: int
    category: str
    position: str
    city: str
    days_left: int
    status: str
    situation: str


_PEOPLE = (
    _SeedPerson(
        "Anna Müller",
        "安娜",
        "DE",
        date(1988, 4, 12),
        0,
        "B",
        "Software Engineer",
        "Shanghai",
        70,
        "valid",
        "extension window open",
    ),
    _SeedPerson(
        "Иван Петров",
        None,
        "RU",
        date(1985, 9, 30),
        2,
        "A",
        "Chief Robotics Scientist",
        "Shenzhen",
        400,
        "valid",
        "extension under review",
    ),
    _SeedPerson(
        "김민준",
        "金敏俊",
        "KR",
        date(1992, 1, 5),
        1,
        "B",
        "Korean Language Teacher",
        "Beijing",
        20,
        "valid",
        "fewer than 30 days left",
    ),
    _SeedPerson(
        "佐藤 花子",
        "佐藤花子",
        "JP",
        date(1990, 7, 21),
        0,
        "B",
        "Product Designer",
        "Shanghai",
        300,
        "valid",
        "all in order",
    ),
    _SeedPerson(
        "محمد العلي",
        None,
        "EG",
        date(1987, 11, 2),
        3,
        "C",
        "Trade Specialist",
        "Kunming",
        -15,
        "expired",
        "permit expired",
    ),
    _SeedPerson(
        "Nguyễn Văn An",
        "阮文安",
        "VN",
        date(1995, 3, 14),
        3,
        "C",
        "Sales Coordinator",
        "Kunming",
        200,
        "cancelled",
        "permit cancelled",
    ),
    _SeedPerson(
        "John Smith",
        "约翰",
        "US",
        date(1983, 6, 8),
        1,
        "B",
        "English Teacher",
        "Beijing",
        150,
        "valid",
        "documents requested for a change",
    ),
    _SeedPerson(
        "Aung Ko Ko",
        None,
        "MM",
        date(1993, 12, 1),
        3,
        "C",
        "Logistics Assistant",
        "Kunming",
        45,
        "valid",
        "extension window open",
    ),
)


def _identity(index: int, person: _SeedPerson) -> SeedIdentity:
    n = index + 1
    return SeedIdentity(
        full_name=person.name,
        permit_no=f"9{n:02d}{'5' * 13}{n:02d}",
        ss_no=f"SS{8600000000 + n * 7919}",
        passport_no=f"X{n:02d}D{4400 + n * 37}",
        phone=f"+86139{n:04d}{n * 1111 % 10000:04d}",
        situation=person.situation,
    )


def demo_identities() -> list[SeedIdentity]:
    """The identities `seed_demo_records` creates, without touching a database."""
    return [_identity(index, person) for index, person in enumerate(_PEOPLE)]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def seed_demo_records(
    db: Database, hash_key: bytes, *, today: date | None = None
) -> list[SeedIdentity]:
    """Create the synthetic records (idempotent: existing permit numbers are left alone)."""
    today = today or date.today()
    hasher = IdentifierHasher(hash_key)
    identities = demo_identities()
    async with db.session() as session:
        employers: dict[int, int] = {}
        for index, spec in enumerate(_EMPLOYERS):
            existing = await session.scalar(select(Employer.id).where(Employer.uscc == spec.uscc))
            if existing is None:
                employer = Employer(uscc=spec.uscc, name=spec.name)
                session.add(employer)
                await session.flush()
                existing = employer.id
            employers[index] = existing
        for identity, seed in zip(identities, _PEOPLE, strict=True):
            known = await session.scalar(
                select(WorkPermit.id).where(WorkPermit.permit_no == identity.permit_no)
            )
            if known is not None:
                continue
            passport = hasher.passport(identity.passport_no)
            social = hasher.social_security(identity.ss_no)
            phone = hasher.phone(identity.phone)
            person = Person(
                full_name=seed.name,
                name_key=name_key(seed.name),
                chinese_name=seed.chinese_name,
                nationality=seed.nationality,
                date_of_birth=seed.born,
                passport_hash=passport.hash,
                passport_masked=passport.masked,
                ss_hash=social.hash,
                ss_masked=social.masked,
                phone_hash=phone.hash,
                phone_masked=phone.masked,
            )
            session.add(person)
            await session.flush()
            valid_until = today + timedelta(days=seed.days_left)
            permit = WorkPermit(
                permit_no=identity.permit_no,
                person_id=person.id,
                employer_id=employers[seed.employer],
                category=PermitCategory(seed.category),
                position=seed.position,
                work_city=seed.city,
                issued_on=valid_until - timedelta(days=730),
                valid_until=valid_until,
                status=PermitStatus(seed.status),
            )
            session.add(permit)
            await session.flush()
            session.add(
                SocialSecurityRecord(
                    person_id=person.id,
                    ecard_state=ECardState.ACTIVE
                    if seed.days_left > 0
                    else ECardState.NOT_REGISTERED,
                    card_state=CardState.READY_FOR_PICKUP
                    if seed.city == "Shanghai"
                    else CardState.COLLECTED,
                    pickup_place="Xuhui District Social Security Service Centre"
                    if seed.city == "Shanghai"
                    else None,
                )
            )
            issued = _at(permit.issued_on - timedelta(days=20))
            _application(
                session,
                permit.id,
                f"ISS-{identity.permit_no[-6:]}",
                ApplicationKind.ISSUANCE,
                [
                    (ApplicationStatus.SUBMITTED, issued, None),
                    (ApplicationStatus.PRE_REVIEW, issued + timedelta(days=2), None),
                    (ApplicationStatus.APPROVED, issued + timedelta(days=9), None),
                ],
            )
            if seed.situation == "extension under review":
                start = _at(today - timedelta(days=6))
                _application(
                    session,
                    permit.id,
                    f"EXT-{identity.permit_no[-6:]}",
                    ApplicationKind.EXTENSION,
                    [
                        (ApplicationStatus.SUBMITTED, start, None),
                        (ApplicationStatus.PRE_REVIEW, start + timedelta(days=1), None),
                        (ApplicationStatus.UNDER_REVIEW, start + timedelta(days=5), None),
                    ],
                )
            if seed.situation == "documents requested for a change":
                start = _at(today - timedelta(days=4))
                _application(
                    session,
                    permit.id,
                    f"CHG-{identity.permit_no[-6:]}",
                    ApplicationKind.CHANGE,
                    [
                        (ApplicationStatus.SUBMITTED, start, None),
                        (
                            ApplicationStatus.DOCUMENTS_REQUESTED,
                            start + timedelta(days=3),
                            "Upload the new labour contract signed by both parties.",
                        ),
                    ],
                )
    return identities


def _application(
    session: AsyncSession,
    permit_id: int,
    reference: str,
    kind: ApplicationKind,
    history: list[tuple[ApplicationStatus, datetime, str | None]],
) -> None:
    application = Application(
        permit_id=permit_id,
        reference_no=reference,
        kind=kind,
        status=history[-1][0],
        submitted_at=history[0][1],
        history=[ApplicationEvent(status=status, at=at, note=note) for status, at, note in history],
    )
    session.add(application)
