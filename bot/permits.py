"""A worker's permit as they see it: details, applications, timeline and deadlines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.deadlines import ExtensionDeadline, WorkingCalendar, extension_deadline
from bot.i18n import N_
from storage.database import Database
from storage.models import (
    ApplicationKind,
    ApplicationStatus,
    CardState,
    ECardState,
    PermitCategory,
    PermitStatus,
)
from storage.repositories import PermitRepository

PERMIT_STATUS_LABELS = {
    PermitStatus.VALID: N_("✅ Valid"),
    PermitStatus.EXPIRED: N_("⛔ Expired"),
    PermitStatus.CANCELLED: N_("⛔ Cancelled"),
}
CATEGORY_LABELS = {
    PermitCategory.A: N_("A — high-end talent"),
    PermitCategory.B: N_("B — professional"),
    PermitCategory.C: N_("C — other"),
}
APPLICATION_KIND_LABELS = {
    ApplicationKind.ISSUANCE: N_("Issuance"),
    ApplicationKind.EXTENSION: N_("Extension"),
    ApplicationKind.CHANGE: N_("Change"),
    ApplicationKind.CANCELLATION: N_("Cancellation"),
}
APPLICATION_STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: N_("submitted"),
    ApplicationStatus.PRE_REVIEW: N_("in pre-review"),
    ApplicationStatus.DOCUMENTS_REQUESTED: N_("documents requested"),
    ApplicationStatus.UNDER_REVIEW: N_("under review"),
    ApplicationStatus.APPROVED: N_("approved"),
    ApplicationStatus.REJECTED: N_("rejected"),
    ApplicationStatus.WITHDRAWN: N_("withdrawn"),
}
ECARD_LABELS = {
    ECardState.NOT_REGISTERED: N_("not registered yet"),
    ECardState.PENDING_VERIFICATION: N_("registered, waiting for face verification"),
    ECardState.ACTIVE: N_("active"),
}
CARD_LABELS = {
    CardState.NOT_ISSUED: N_("not issued"),
    CardState.IN_PRODUCTION: N_("in production"),
    CardState.READY_FOR_PICKUP: N_("ready for pickup"),
    CardState.COLLECTED: N_("delivered"),
}
OPEN_APPLICATION_STATES = frozenset(
    {
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.PRE_REVIEW,
        ApplicationStatus.DOCUMENTS_REQUESTED,
        ApplicationStatus.UNDER_REVIEW,
    }
)


@dataclass(frozen=True, slots=True)
class PermitDetails:
    """The permit and its holder, as plain values."""

    permit_id: int
    permit_no: str
    full_name: str
    chinese_name: str | None
    nationality: str
    category: PermitCategory
    status: PermitStatus
    employer_name: str
    position: str
    work_city: str
    issued_on: date
    valid_until: date
    ss_masked: str
    ecard_state: ECardState | None
    card_state: CardState | None
    pickup_place: str | None


@dataclass(frozen=True, slots=True)
class ApplicationSummary:
    """One application with its current status."""

    reference_no: str
    kind: ApplicationKind
    status: ApplicationStatus
    submitted_at: datetime
    latest_note: str | None

    @property
    def is_open(self) -> bool:
        """Whether the application is still being handled."""
        return self.status in OPEN_APPLICATION_STATES


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One status change of one application."""

    reference_no: str
    kind: ApplicationKind
    status: ApplicationStatus
    at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class PermitOverview:
    """Everything the status journey shows."""

    details: PermitDetails
    applications: list[ApplicationSummary]
    timeline: list[TimelineEntry]
    extension: ExtensionDeadline
    today: date
    filing_due: date  # last day to file a change or cancellation that happens today


# What overview() reads from the store: details, applications and timeline (immutable).
PermitRecord = tuple[PermitDetails, tuple[ApplicationSummary, ...], tuple[TimelineEntry, ...]]


class PermitService:
    """Reads a permit's overview and applies the deadline rules to it."""

    def __init__(
        self,
        db: Database,
        today: Callable[[], date],
        holidays: Callable[[int, int], frozenset[date]],
    ) -> None:
        self.db = db
        self.today = today
        self.holidays = holidays

    def calendar(self, around: date) -> WorkingCalendar:
        """Working days around a date (this year and the next)."""
        return WorkingCalendar(self.holidays(around.year, around.year + 1))

    async def overview(self, permit_id: int) -> PermitOverview | None:
        """The permit's details, applications, newest-first timeline and deadlines."""
        record = self.db.permits.get(permit_id)
        if record is None:
            ticket = self.db.permits.ticket()
            record = await self._record(permit_id)
            if record is None:
                return None
            self.db.permits.put(permit_id, record, ticket)
        details, applications, timeline = record
        today = self.today()
        return PermitOverview(
            details=details,
            applications=list(applications),
            timeline=list(timeline),
            extension=extension_deadline(details.valid_until, today),
            today=today,
            filing_due=self.calendar(today).filing_deadline(today),
        )

    async def _record(self, permit_id: int) -> PermitRecord | None:
        """The stored part of the overview (cached: it changes only when records do)."""
        async with self.db.session() as session:
            permit = await PermitRepository(session).full(permit_id)
            if permit is None:
                return None
            person = permit.person
            social = person.social_security
            details = PermitDetails(
                permit_id=permit.id,
                permit_no=permit.permit_no,
                full_name=person.full_name,
                chinese_name=person.chinese_name,
                nationality=person.nationality,
                category=permit.category,
                status=permit.status,
                employer_name=permit.employer.name,
                position=permit.position,
                work_city=permit.work_city,
                issued_on=permit.issued_on,
                valid_until=permit.valid_until,
                ss_masked=person.ss_masked,
                ecard_state=social.ecard_state if social else None,
                card_state=social.card_state if social else None,
                pickup_place=social.pickup_place if social else None,
            )
            applications = [
                ApplicationSummary(
                    reference_no=application.reference_no,
                    kind=application.kind,
                    status=application.status,
                    submitted_at=application.submitted_at,
                    latest_note=next(
                        (event.note for event in application.history if event.note), None
                    ),
                )
                for application in sorted(
                    permit.applications, key=lambda a: a.submitted_at, reverse=True
                )
            ]
            timeline = sorted(
                (
                    TimelineEntry(a.reference_no, a.kind, event.status, event.at, event.note)
                    for a in permit.applications
                    for event in a.history
                ),
                key=lambda entry: entry.at,
                reverse=True,
            )
        return details, tuple(applications), tuple(timeline)
