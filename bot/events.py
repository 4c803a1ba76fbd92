"""Events from the records system: authenticated, validated, applied once, with their notices.

An accepted event changes the records and queues the notifications it causes (outbox rows)
in the same transaction; a rejected one writes nothing; a repeated `event_id` changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.employer_notices import EMPLOYER_NOTICE_PREFIX
from storage.database import Database
from storage.identifiers import compact, is_uscc, mask
from storage.models import (
    Application,
    ApplicationEvent,
    ApplicationKind,
    ApplicationStatus,
    CardState,
    ECardState,
    Employer,
    OutboxMessage,
    PermitStatus,
    Person,
    ReceivedEvent,
    SocialSecurityRecord,
    TelegramLink,
    WorkPermit,
    utcnow,
)
from storage.repositories import EmployerRepository

MAX_EVENT_BYTES = 64 * 1024
MAX_CLOCK_SKEW_SECONDS = 300

PermitNo = Annotated[str, Field(pattern=r"^\d{18}$", description="18-digit permit number")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PermitIssued(_Strict):
    """data of `permit.issued`."""

    permit_no: PermitNo
    issued_on: date
    valid_until: date


class PermitExtended(_Strict):
    """data of `permit.extended`."""

    permit_no: PermitNo
    valid_until: date


class PermitChanged(_Strict):
    """data of `permit.changed`: only the fields that changed."""

    permit_no: PermitNo
    employer_code: Annotated[str, Field(min_length=18, max_length=18)] | None = None
    employer_name: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    position: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    work_city: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class PermitCancelled(_Strict):
    """data of `permit.cancelled`."""

    permit_no: PermitNo


class ApplicationSubmitted(_Strict):
    """data of `application.submitted`."""

    permit_no: PermitNo
    reference_no: Annotated[str, Field(min_length=1, max_length=32)]
    kind: ApplicationKind


class ApplicationStatusChanged(_Strict):
    """data of `application.status_changed`."""

    reference_no: Annotated[str, Field(min_length=1, max_length=32)]
    status: ApplicationStatus
    note: Annotated[str, Field(max_length=1000)] | None = None


class CardStatusChanged(_Strict):
    """data of `social_security.card_status_changed`."""

    permit_no: PermitNo
    card_state: CardState
    ecard_state: ECardState | None = None
    pickup_place: Annotated[str, Field(max_length=300)] | None = None


class EntryRecorded(_Strict):
    """data of `person.entry_recorded`: the holder entered China (on the Z visa) that day."""

    permit_no: PermitNo
    entered_on: date


DATA_MODELS: dict[str, type[_Strict]] = {
    "permit.issued": PermitIssued,
    "permit.extended": PermitExtended,
    "permit.changed": PermitChanged,
    "permit.cancelled": PermitCancelled,
    "application.submitted": ApplicationSubmitted,
    "application.status_changed": ApplicationStatusChanged,
    "social_security.card_status_changed": CardStatusChanged,
    "person.entry_recorded": EntryRecorded,
}
EventType = Literal[
    "permit.issued",
    "permit.extended",
    "permit.changed",
    "permit.cancelled",
    "application.submitted",
    "application.status_changed",
    "social_security.card_status_changed",
    "person.entry_recorded",
]


class EventEnvelope(_Strict):
    """One event: its id (idempotency key), type, when it happened, and its data."""

    event_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    type: EventType
    occurred_at: AwareDatetime
    data: dict[str, Any]


class EventRejected(Exception):
    """An event refused with an HTTP status and a reason (nothing was written)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_signature(secret: str, timestamp: str, body: bytes, signature: str, now: float) -> None:
    """HMAC-SHA256 over `<timestamp>.<body>`, compared in constant time; stale is refused."""
    if not timestamp or not signature:
        raise EventRejected(401, "missing X-Timestamp or X-Signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise EventRejected(401, "X-Timestamp must be Unix seconds") from None
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    given = signature.removeprefix("sha256=")
    if not hmac.compare_digest(expected.hexdigest().encode(), given.encode()):
        raise EventRejected(401, "bad signature")
    if abs(now - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        raise EventRejected(401, "timestamp too old or in the future (replay refused)")


def _where(error: ValidationError, prefix: str = "") -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{prefix}{field}: {first['msg']}"


def parse_event(body: bytes) -> tuple[EventEnvelope, _Strict]:
    """The envelope and its typed data, or `EventRejected(400)` naming the field."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise EventRejected(400, "body is not valid JSON") from None
    try:
        envelope = EventEnvelope.model_validate(document)
    except ValidationError as error:
        raise EventRejected(400, _where(error)) from None
    try:
        data = DATA_MODELS[envelope.type].model_validate(envelope.data)
    except ValidationError as error:
        raise EventRejected(400, _where(error, "data.")) from None
    return envelope, data


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What happened to an event."""

    duplicate: bool
    notifications: int = 0


class EventProcessor:
    """Applies events to the records, once each, queueing the notifications they cause."""

    def __init__(self, db: Database, on_queued: Callable[[], None] | None = None) -> None:
        self.db = db
        # Told when an event queued notifications (the dispatcher beside us sends at once).
        self.on_queued = on_queued

    async def apply(self, envelope: EventEnvelope, data: _Strict) -> EventOutcome:
        """Apply the event in one transaction (or recognise it as already applied)."""
        body_hash = hashlib.sha256(
            json.dumps(envelope.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        try:
            async with self.db.session() as session:
                seen = await session.get(ReceivedEvent, envelope.event_id)
                if seen is not None:
                    if seen.body_hash != body_hash:
                        raise EventRejected(409, "event_id already used for a different event")
                    return EventOutcome(duplicate=True)
                permit, message, params = await self._change(session, envelope, data)
                queued = await self._notify(session, envelope, permit, message, params)
                session.add(
                    ReceivedEvent(
                        event_id=envelope.event_id,
                        type=envelope.type,
                        body_hash=body_hash,
                        received_at=utcnow(),
                    )
                )
        except IntegrityError:
            # The same event_id arrived twice at once: the other request applied it.
            async with self.db.session() as session:
                seen = await session.get(ReceivedEvent, envelope.event_id)
            if seen is not None and seen.body_hash == body_hash:
                return EventOutcome(duplicate=True)
            raise EventRejected(409, "event_id already used for a different event") from None
        if queued and self.on_queued is not None:
            self.on_queued()
        return EventOutcome(duplicate=False, notifications=queued)

    async def _permit(self, session: AsyncSession, permit_no: str) -> WorkPermit:
        permit = await session.scalar(select(WorkPermit).where(WorkPermit.permit_no == permit_no))
        if permit is None:
            raise EventRejected(404, "unknown permit")
        return permit

    async def _change(
        self, session: AsyncSession, envelope: EventEnvelope, data: _Strict
    ) -> tuple[WorkPermit, str, dict[str, Any]]:
        at = envelope.occurred_at
        if isinstance(data, PermitIssued):
            permit = await self._permit(session, data.permit_no)
            if data.valid_until <= data.issued_on:
                raise EventRejected(400, "data.valid_until: must be after issued_on")
            permit.issued_on, permit.valid_until = data.issued_on, data.valid_until
            permit.status = PermitStatus.VALID
            return permit, "permit.issued", {"valid_until": data.valid_until.isoformat()}
        if isinstance(data, PermitExtended):
            permit = await self._permit(session, data.permit_no)
            if data.valid_until <= permit.valid_until:
                raise EventRejected(400, "data.valid_until: must be later than the current date")
            permit.valid_until = data.valid_until
            permit.status = PermitStatus.VALID
            return permit, "permit.extended", {"valid_until": data.valid_until.isoformat()}
        if isinstance(data, PermitChanged):
            permit = await self._permit(session, data.permit_no)
            if data.employer_code is not None:
                code = compact(data.employer_code)
                if not is_uscc(code):
                    raise EventRejected(400, "data.employer_code: not a valid credit code")
                employer = await session.scalar(select(Employer).where(Employer.uscc == code))
                if employer is None:
                    if data.employer_name is None:
                        raise EventRejected(400, "data.employer_name: required for a new employer")
                    employer = Employer(uscc=code, name=data.employer_name)
                    session.add(employer)
                    await session.flush()
                permit.employer_id = employer.id
            if data.position is not None:
                permit.position = data.position
            if data.work_city is not None:
                permit.work_city = data.work_city
            changed = sorted(
                key for key, value in data.model_dump(exclude={"permit_no"}).items() if value
            )
            return permit, "permit.changed", {"fields": changed}
        if isinstance(data, PermitCancelled):
            permit = await self._permit(session, data.permit_no)
            permit.status = PermitStatus.CANCELLED
            return permit, "permit.cancelled", {}
        if isinstance(data, ApplicationSubmitted):
            permit = await self._permit(session, data.permit_no)
            exists = await session.scalar(
                select(Application.id).where(Application.reference_no == data.reference_no)
            )
            if exists is not None:
                raise EventRejected(409, "an application with this reference_no exists")
            session.add(
                Application(
                    permit_id=permit.id,
                    reference_no=data.reference_no,
                    kind=data.kind,
                    status=ApplicationStatus.SUBMITTED,
                    submitted_at=at,
                    history=[ApplicationEvent(status=ApplicationStatus.SUBMITTED, at=at)],
                )
            )
            params = {"reference_no": data.reference_no, "kind": data.kind.value}
            return permit, "application.submitted", params
        if isinstance(data, ApplicationStatusChanged):
            application = await session.scalar(
                select(Application).where(Application.reference_no == data.reference_no)
            )
            if application is None:
                raise EventRejected(404, "unknown application")
            application.status = data.status
            session.add(
                ApplicationEvent(
                    application_id=application.id, status=data.status, at=at, note=data.note
                )
            )
            permit = await session.get_one(WorkPermit, application.permit_id)
            params = {
                "reference_no": data.reference_no,
                "kind": application.kind.value,
                "status": data.status.value,
            }
            return permit, "application.status_changed", params
        if isinstance(data, EntryRecorded):
            return await self._record_entry(session, envelope, data)
        assert isinstance(data, CardStatusChanged)
        permit = await self._permit(session, data.permit_no)
        record = await session.scalar(
            select(SocialSecurityRecord).where(SocialSecurityRecord.person_id == permit.person_id)
        )
        if record is None:
            record = SocialSecurityRecord(
                person_id=permit.person_id,
                ecard_state=data.ecard_state or ECardState.NOT_REGISTERED,
                card_state=data.card_state,
            )
            session.add(record)
        record.card_state = data.card_state
        if data.ecard_state is not None:
            record.ecard_state = data.ecard_state
        if data.pickup_place is not None:
            record.pickup_place = data.pickup_place
        card_params: dict[str, Any] = {
            "card_state": data.card_state.value,
            "pickup_place": record.pickup_place,
        }
        return permit, "social_security.card_status_changed", card_params

    async def _record_entry(
        self, session: AsyncSession, envelope: EventEnvelope, data: EntryRecorded
    ) -> tuple[WorkPermit, str, dict[str, Any]]:
        """Record the entry to China; it ends the Notification Letter reminders."""
        permit = await self._permit(session, data.permit_no)
        if data.entered_on > envelope.occurred_at.date():
            raise EventRejected(400, "data.entered_on: must not be after occurred_at")
        letter = permit.notification_letter_issued_on
        if letter is not None and data.entered_on < letter:
            raise EventRejected(
                400, "data.entered_on: must not be before the Notification Letter was issued"
            )
        permit.entered_on = data.entered_on
        return permit, "permit.entry_recorded", {"entered_on": data.entered_on.isoformat()}

    async def _notify(
        self,
        session: AsyncSession,
        envelope: EventEnvelope,
        permit: WorkPermit,
        message: str,
        params: dict[str, Any],
    ) -> int:
        # The linked worker and every chat linked to the permit's employer hear about it;
        # each is rendered in its recipient's language when it is sent.
        queued = 0
        user_id = await session.scalar(
            select(TelegramLink.telegram_user_id).where(TelegramLink.permit_id == permit.id)
        )
        if user_id is not None:
            session.add(
                OutboxMessage(
                    dedupe_key=f"event:{envelope.event_id}:{user_id}",
                    telegram_user_id=user_id,
                    message=message,
                    params=params,
                )
            )
            queued += 1
        chats = await EmployerRepository(session).chats_of(permit.employer_id)
        if not chats:
            return queued
        full_name = await session.scalar(
            select(Person.full_name).where(Person.id == permit.person_id)
        )
        employer_params = {
            **params,
            "full_name": full_name,
            "permit_masked": mask(permit.permit_no),
        }
        for chat_id in chats:
            session.add(
                OutboxMessage(
                    dedupe_key=f"event:{envelope.event_id}:chat:{chat_id}",
                    telegram_user_id=chat_id,
                    message=EMPLOYER_NOTICE_PREFIX + message,
                    params=employer_params,
                )
            )
        return queued + len(chats)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the events API (schemas generated from the models)."""
    schemas: dict[str, Any] = {"EventEnvelope": EventEnvelope.model_json_schema()}
    for name, model in DATA_MODELS.items():
        schemas[model.__name__] = model.model_json_schema()
        schemas[model.__name__]["description"] = f"`data` of `{name}`"
    error = {
        "description": "Refused; nothing was written.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                }
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Work Permit Assistant events API", "version": "1"},
        "paths": {
            "/api/v1/events": {
                "post": {
                    "summary": "Tell the bot that a permit, application or card changed",
                    "parameters": [
                        {
                            "name": "X-Timestamp",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]+$"},
                            "description": "Unix seconds; more than 5 minutes off is refused",
                        },
                        {
                            "name": "X-Signature",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                            "description": "sha256=<hex HMAC-SHA256 of '<X-Timestamp>.<body>'>",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/EventEnvelope"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Accepted (or already accepted before).",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "status": {"enum": ["accepted", "duplicate"]}
                                        },
                                    }
                                }
                            },
                        },
                        **dict.fromkeys(("400", "401", "404", "409", "413", "503"), error),
                    },
                }
            }
        },
        "components": {"schemas": schemas},
    }
