"""The daily deadline-reminder scan: one outbox row per permit and threshold, never two.

A linked worker is reminded when the extension window opens (90 days before expiry), at 60
days, in the last week before the 30-day cut-off, once the permit has expired, and when the
Notification Letter is about to lapse with no entry recorded. Each reminder's dedupe key names
the permit, the threshold and the date it is about, so running the scan again (the same day,
or later in the same window) queues nothing new, while a permit extended to a new date is
reminded again for that date. Quiet hours and muted kinds are honoured when rows are sent.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.deadlines import (
    EXTENSION_CLOSES_DAYS,
    EXTENSION_OPENS_DAYS,
    notification_letter_valid_until,
)
from storage.database import Database
from storage.models import OutboxState, PermitStatus, utcnow
from storage.repositories import DeadlinePermit, OutboxRepository, ReminderRepository

if TYPE_CHECKING:
    from bot.app import BotApplication, BotContext

log = logging.getLogger(__name__)

EXPIRED_REMINDER_DAYS = 30  # an expiry is still worth telling this many days later
LETTER_WARNING_DAYS = 14  # remind this many days before a Notification Letter lapses
LETTER_GRACE_DAYS = 3  # and still a few days after, in case a scan was missed
CHUNK = 2_000  # permits read, checked against the outbox and queued per transaction
SCAN_JOB = "reminder-scan"
CATCH_UP_JOB = "reminder-scan-catch-up"
CATCH_UP_DELAY = timedelta(seconds=30)


class Threshold(enum.StrEnum):
    """The moments a worker is reminded of; each is sent once per permit and date."""

    EXTENSION_WINDOW_OPEN = "extension_window_open"  # 90 to 61 days left
    EXTENSION_60_DAYS = "extension_60_days"  # 60 to 38 days left
    EXTENSION_LAST_WEEK = "extension_last_week"  # 37 to 30 days left
    PERMIT_EXPIRED = "permit_expired"  # expired within the last 30 days
    NOTIFICATION_LETTER_LAPSING = "notification_letter_lapsing"  # letter lapses within 14 days

    @property
    def message(self) -> str:
        """The outbox message key of this reminder."""
        return f"reminder.{self.value}"


LAST_WEEK_DAYS = EXTENSION_CLOSES_DAYS + 7  # the last week before the 30-day cut-off
SIXTY_DAYS = 60


def expiry_threshold(days_left: int, status: PermitStatus) -> Threshold | None:
    """Which expiry reminder is due with `days_left` days until the permit expires."""
    if status is PermitStatus.CANCELLED:
        return None
    if days_left < 0:
        return Threshold.PERMIT_EXPIRED if days_left >= -EXPIRED_REMINDER_DAYS else None
    if status is not PermitStatus.VALID:
        return None
    if not EXTENSION_CLOSES_DAYS <= days_left <= EXTENSION_OPENS_DAYS:
        return None  # too early, or too late for an extension: /status says what to do
    if days_left <= LAST_WEEK_DAYS:
        return Threshold.EXTENSION_LAST_WEEK
    if days_left <= SIXTY_DAYS:
        return Threshold.EXTENSION_60_DAYS
    return Threshold.EXTENSION_WINDOW_OPEN


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder to queue: for whom, which, and what its text needs."""

    permit_id: int
    telegram_user_id: int
    threshold: Threshold
    about: date  # the date the reminder is about: the expiry, or the letter's issue
    params: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        """`reminder:<permit>:<threshold>:<date>`: once per permit, threshold and date."""
        return f"reminder:{self.permit_id}:{self.threshold.value}:{self.about.isoformat()}"


def expiry_reminder(permit: DeadlinePermit, today: date) -> Reminder | None:
    """The expiry reminder due today for this permit, if any."""
    days_left = (permit.valid_until - today).days
    threshold = expiry_threshold(days_left, permit.status)
    if threshold is None:
        return None
    params: dict[str, Any] = {"valid_until": permit.valid_until.isoformat()}
    if threshold is not Threshold.PERMIT_EXPIRED:
        last_day = permit.valid_until - timedelta(days=EXTENSION_CLOSES_DAYS)
        params |= {"last_day": last_day.isoformat(), "days_left": days_left}
    return Reminder(
        permit.permit_id, permit.telegram_user_id, threshold, permit.valid_until, params
    )


def letter_reminder(permit: DeadlinePermit, today: date) -> Reminder | None:
    """The Notification Letter reminder due today for this permit, if any.

    The caller only passes permits without a recorded entry.
    """
    issued = permit.letter_issued_on
    if issued is None or permit.status is PermitStatus.CANCELLED:
        return None
    lapses = notification_letter_valid_until(issued)
    days_left = (lapses - today).days
    if not -LETTER_GRACE_DAYS <= days_left <= LETTER_WARNING_DAYS:
        return None
    params = {
        "issued_on": issued.isoformat(),
        "valid_until": lapses.isoformat(),
        "days_left": days_left,
    }
    threshold = Threshold.NOTIFICATION_LETTER_LAPSING
    return Reminder(permit.permit_id, permit.telegram_user_id, threshold, issued, params)


def letter_issue_range(today: date) -> tuple[date, date]:
    """Issue dates whose letter may lapse within the reminder window (a little wider: month
    lengths make "6 months before" inexact; `letter_reminder` decides exactly)."""
    earliest_lapse = today - timedelta(days=LETTER_GRACE_DAYS)
    latest_lapse = today + timedelta(days=LETTER_WARNING_DAYS)
    # 6 months are 181 to 184 days.
    return earliest_lapse - timedelta(days=185), latest_lapse - timedelta(days=180)


@dataclass(slots=True)
class ScanReport:
    """What one scan did: reminders queued now and found already queued, per threshold."""

    today: date
    queued: Counter[Threshold] = field(default_factory=Counter)
    already_queued: Counter[Threshold] = field(default_factory=Counter)

    @property
    def total_queued(self) -> int:
        """Reminders queued by this scan."""
        return sum(self.queued.values())

    def log_fields(self) -> dict[str, object]:
        """Counts for the log line (no personal data)."""
        fields: dict[str, object] = {"day": self.today.isoformat()}
        fields |= {f"queued_{threshold.value}": self.queued[threshold] for threshold in Threshold}
        fields["already_queued"] = sum(self.already_queued.values())
        return fields


def _outbox_row(reminder: Reminder, now: datetime) -> dict[str, Any]:
    return {
        "dedupe_key": reminder.dedupe_key,
        "telegram_user_id": reminder.telegram_user_id,
        "message": reminder.threshold.message,
        "params": reminder.params,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }


async def _queue(outbox: OutboxRepository, reminders: list[Reminder], report: ScanReport) -> None:
    """Queue the reminders not queued before: one look-up and a few batch inserts."""
    existing = await outbox.existing_keys([reminder.dedupe_key for reminder in reminders])
    new = [reminder for reminder in reminders if reminder.dedupe_key not in existing]
    report.already_queued.update(r.threshold for r in reminders if r.dedupe_key in existing)
    if not new:
        return
    now = utcnow()
    # A scan running at the same moment may have queued some of these since the look-up:
    # the insert skips those, and they count as queued before.
    added = await outbox.queue_once([_outbox_row(reminder, now) for reminder in new])
    report.queued.update(r.threshold for r in new if r.dedupe_key in added)
    report.already_queued.update(r.threshold for r in new if r.dedupe_key not in added)


async def _scan_expiries(db: Database, today: date, report: ScanReport, chunk: int) -> None:
    first = today - timedelta(days=EXPIRED_REMINDER_DAYS)
    last = today + timedelta(days=EXTENSION_OPENS_DAYS)
    after: tuple[date, int] | None = None
    while True:
        async with db.session() as session:
            permits = await ReminderRepository(session).expiring(
                first, last, after=after, limit=chunk
            )
            due = [r for permit in permits if (r := expiry_reminder(permit, today)) is not None]
            await _queue(OutboxRepository(session), due, report)
        if len(permits) < chunk:
            return
        after = (permits[-1].valid_until, permits[-1].permit_id)


async def _scan_letters(db: Database, today: date, report: ScanReport, chunk: int) -> None:
    first, last = letter_issue_range(today)
    after = 0
    while True:
        async with db.session() as session:
            permits = await ReminderRepository(session).letters_without_entry(
                first, last, after=after, limit=chunk
            )
            due = [r for permit in permits if (r := letter_reminder(permit, today)) is not None]
            await _queue(OutboxRepository(session), due, report)
        if len(permits) < chunk:
            return
        after = permits[-1].permit_id


async def scan_reminders(db: Database, today: date, *, chunk: int = CHUNK) -> ScanReport:
    """Queue every reminder due on `today` that was not queued before.

    Reads linked permits a chunk at a time (an index range on `valid_until` for expiries),
    looks up which reminders exist in one query per chunk and inserts the new ones in batches;
    each chunk is its own transaction.
    """
    report = ScanReport(today)
    await _scan_expiries(db, today, report, chunk)
    await _scan_letters(db, today, report, chunk)
    return report


async def reminder_job(context: BotContext) -> None:
    """The JobQueue callback: scan for today's reminders in the operator's time zone."""
    services = context.bot_data
    report = await scan_reminders(services.db, services.settings.today())
    log.info("reminder scan finished", extra=report.log_fields())
    if report.total_queued:
        services.dispatcher.nudge()


def schedule_reminders(application: BotApplication) -> None:
    """Run the scan daily at REMINDER_SCAN_TIME (in TIMEZONE), and once shortly after start-up
    so that a day missed while the bot was down is caught up (re-runs queue nothing twice)."""
    queue = application.job_queue
    if queue is None:
        raise RuntimeError(
            "the reminder scan needs PTB's JobQueue (python-telegram-bot[job-queue])"
        )
    settings = application.bot_data.settings
    at: time = settings.reminder_scan_time.replace(tzinfo=settings.tz)
    queue.run_daily(reminder_job, time=at, name=SCAN_JOB)
    queue.run_once(reminder_job, when=CATCH_UP_DELAY, name=CATCH_UP_JOB)
