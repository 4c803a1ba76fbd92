"""An employer's workforce: its workers' permits with days left, filters, and the CSV export.

Every read is scoped to one employer id, so an employer only ever sees its own workers;
no passport or social-security field is read at all.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from bot.deadlines import ExtensionDeadline, extension_deadline
from bot.i18n import N_, _
from bot.permits import APPLICATION_KIND_LABELS, APPLICATION_STATUS_LABELS, OPEN_APPLICATION_STATES
from storage.database import Database
from storage.models import (
    ApplicationKind,
    ApplicationStatus,
    PermitCategory,
    PermitStatus,
    WorkPermit,
)
from storage.repositories import EmployerRef, EmployerRepository

EXPIRING_WITHIN_DAYS = 90
CSV_BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: it is kept as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_STATUS_LABELS = {
    PermitStatus.VALID: N_("Valid"),
    PermitStatus.EXPIRED: N_("Expired"),
    PermitStatus.CANCELLED: N_("Cancelled"),
}
EXPORT_COLUMNS = (
    N_("Name"),
    N_("Permit number"),
    N_("Category"),
    N_("Position"),
    N_("Work city"),
    N_("Issued on"),
    N_("Valid until"),
    N_("Days left"),
    N_("Status"),
    N_("Extension window opens"),
    N_("Extension last day"),
    N_("Open application"),
    N_("Application status"),
    N_("Application reference"),
)


class WorkforceFilter(enum.StrEnum):
    """Which workers a list shows."""

    ALL = "all"
    EXPIRING = "expiring"  # valid, with at most 90 days left
    APPLYING = "applying"  # an application is being handled
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class OpenApplication:
    """An application of a worker that is still being handled."""

    reference_no: str
    kind: ApplicationKind
    status: ApplicationStatus


@dataclass(frozen=True, slots=True)
class Worker:
    """One worker's permit as their employer sees it."""

    permit_id: int
    full_name: str
    permit_no: str
    category: PermitCategory
    position: str
    work_city: str
    issued_on: date
    valid_until: date
    status: PermitStatus
    extension: ExtensionDeadline
    open_applications: tuple[OpenApplication, ...]

    @property
    def days_left(self) -> int:
        """Days from today to the valid-until date (negative once it has passed)."""
        return self.extension.days_left

    @property
    def is_expired(self) -> bool:
        """Expired in the records, or still marked valid but past its date."""
        return self.status is PermitStatus.EXPIRED or (
            self.status is PermitStatus.VALID and self.days_left < 0
        )

    @property
    def is_expiring(self) -> bool:
        """Valid, with at most 90 days left."""
        return self.status is PermitStatus.VALID and 0 <= self.days_left <= EXPIRING_WITHIN_DAYS

    def matches(self, which: WorkforceFilter) -> bool:
        """Whether this worker belongs in a list filtered by `which`."""
        if which is WorkforceFilter.EXPIRING:
            return self.is_expiring
        if which is WorkforceFilter.APPLYING:
            return bool(self.open_applications)
        if which is WorkforceFilter.EXPIRED:
            return self.is_expired
        return True


def _worker(permit: WorkPermit, today: date) -> Worker:
    open_applications = tuple(
        OpenApplication(application.reference_no, application.kind, application.status)
        for application in sorted(permit.applications, key=lambda a: a.submitted_at)
        if application.status in OPEN_APPLICATION_STATES
    )
    return Worker(
        permit_id=permit.id,
        full_name=permit.person.full_name,
        permit_no=permit.permit_no,
        category=permit.category,
        position=permit.position,
        work_city=permit.work_city,
        issued_on=permit.issued_on,
        valid_until=permit.valid_until,
        status=permit.status,
        extension=extension_deadline(permit.valid_until, today),
        open_applications=open_applications,
    )


class WorkforceService:
    """Reads one employer's workers, judged as of today."""

    def __init__(self, db: Database, today: Callable[[], date]) -> None:
        self.db = db
        self.today = today

    async def workers(
        self, employer_id: int, which: WorkforceFilter = WorkforceFilter.ALL
    ) -> list[Worker]:
        """The employer's workers matching `which`, fewest days left first."""
        today = self.today()
        async with self.db.session() as session:
            permits = await EmployerRepository(session).workforce(employer_id)
            workers = [_worker(permit, today) for permit in permits]
        return [worker for worker in workers if worker.matches(which)]

    async def worker(self, employer_id: int, permit_id: int) -> Worker | None:
        """One worker, only if their permit belongs to this employer."""
        today = self.today()
        async with self.db.session() as session:
            permits = await EmployerRepository(session).workforce(employer_id, permit_id)
            return _worker(permits[0], today) if permits else None


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _row(worker: Worker) -> list[str]:
    applications = worker.open_applications
    values: list[object] = [
        worker.full_name,
        worker.permit_no,
        worker.category.value,
        worker.position,
        worker.work_city,
        worker.issued_on.isoformat(),
        worker.valid_until.isoformat(),
        worker.days_left,
        _(EXPORT_STATUS_LABELS[worker.status]),
        worker.extension.opens_on.isoformat(),
        worker.extension.last_day.isoformat(),
        "; ".join(_(APPLICATION_KIND_LABELS[a.kind]) for a in applications),
        "; ".join(_(APPLICATION_STATUS_LABELS[a.status]) for a in applications),
        "; ".join(a.reference_no for a in applications),
    ]
    return [_cell(value) for value in values]


def workforce_csv(workers: Iterable[Worker]) -> bytes:
    """The workers as a spreadsheet-friendly CSV in the current language: UTF-8 with a BOM
    (so Excel reads the names right), a header row, comma-separated, ISO dates."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_(column) for column in EXPORT_COLUMNS])
    writer.writerows(_row(worker) for worker in workers)
    return (CSV_BOM + buffer.getvalue()).encode("utf-8")


def export_filename(employer: EmployerRef, today: date) -> str:
    """`workforce-<credit code>-<YYYY-MM-DD>.csv`."""
    return f"workforce-{employer.uscc}-{today.isoformat()}.csv"
