"""The records store's tables: people, employers, permits, applications, users and audit."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what every timestamp column stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PermitCategory(enum.StrEnum):
    """A: high-end talent; B: professional; C: others (quota-controlled)."""

    A = "A"
    B = "B"
    C = "C"


class PermitStatus(enum.StrEnum):
    """Lifecycle state of a work permit as the records system reports it."""

    VALID = "valid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ApplicationKind(enum.StrEnum):
    """What an application asks for."""

    ISSUANCE = "issuance"
    EXTENSION = "extension"
    CHANGE = "change"
    CANCELLATION = "cancellation"


class ApplicationStatus(enum.StrEnum):
    """Where an application stands in the Service System."""

    SUBMITTED = "submitted"
    PRE_REVIEW = "pre_review"
    DOCUMENTS_REQUESTED = "documents_requested"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ECardState(enum.StrEnum):
    """The electronic social security card (e-SSC) of a person."""

    NOT_REGISTERED = "not_registered"
    PENDING_VERIFICATION = "pending_verification"
    ACTIVE = "active"


class CardState(enum.StrEnum):
    """The physical social security card of a person."""

    NOT_ISSUED = "not_issued"
    IN_PRODUCTION = "in_production"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"


def _enum(kind: type[enum.StrEnum]) -> Enum:
    # Stored as plain strings (no native PostgreSQL enum) so adding a value needs no migration.
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can rely on."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Employer(Base):
    """An employer, identified by its Unified Social Credit Code."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EmployerChat(Base):
    """A Telegram chat (an HR person's private chat or an HR group) linked to an employer."""

    __tablename__ = "employer_chats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_type: Mapped[str] = mapped_column(String(16))
    # The language notices to this chat are written in (whoever linked it chose it).
    locale: Mapped[str | None] = mapped_column(String(16))
    linked_by: Mapped[int] = mapped_column(BigInteger)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    employer: Mapped[Employer] = relationship()


class EmployerInvite(Base):
    """A one-time code that links a chat to an employer; only its hash is kept."""

    __tablename__ = "employer_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_chat: Mapped[int | None] = mapped_column(BigInteger)


class Person(Base):
    """A foreign worker. Passport, social-security and phone numbers only as keyed hashes."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    chinese_name: Mapped[str | None] = mapped_column(String(100))
    nationality: Mapped[str] = mapped_column(String(2))
    date_of_birth: Mapped[date] = mapped_column(Date)
    passport_hash: Mapped[str] = mapped_column(String(64), index=True)
    passport_masked: Mapped[str] = mapped_column(String(32))
    ss_hash: Mapped[str] = mapped_column(String(64), index=True)
    ss_masked: Mapped[str] = mapped_column(String(40))
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(24))
    preferred_locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    permit: Mapped[WorkPermit | None] = relationship(back_populates="person", uselist=False)
    social_security: Mapped[SocialSecurityRecord | None] = relationship(
        back_populates="person", uselist=False
    )


class WorkPermit(Base):
    """A work permit: one 18-digit number per person for life."""

    __tablename__ = "work_permits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permit_no: Mapped[str] = mapped_column(String(18), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    category: Mapped[PermitCategory] = mapped_column(_enum(PermitCategory))
    position: Mapped[str] = mapped_column(String(200))
    work_city: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[PermitStatus] = mapped_column(_enum(PermitStatus))
    # The Notification Letter (issued before entry, valid 6 months) and the recorded entry:
    # a reminder goes out when the letter is about to lapse and no entry is recorded.
    notification_letter_issued_on: Mapped[date | None] = mapped_column(Date)
    entered_on: Mapped[date | None] = mapped_column(Date)
    # Opaque reference carried in verification codes instead of the permit number.
    verification_ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(back_populates="permit")
    employer: Mapped[Employer] = relationship()
    applications: Mapped[list[Application]] = relationship(
        back_populates="permit", order_by="Application.submitted_at.desc()"
    )


class Application(Base):
    """An application about a permit: issuance, extension, change or cancellation."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("work_permits.id"), index=True)
    reference_no: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[ApplicationKind] = mapped_column(_enum(ApplicationKind))
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    permit: Mapped[WorkPermit] = relationship(back_populates="applications")
    history: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", order_by="ApplicationEvent.at.desc()"
    )


class ApplicationEvent(Base):
    """One status change of an application, with when it happened and an optional note."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="history")


class SocialSecurityRecord(Base):
    """A person's social-security number (masked) and the state of their cards."""

    __tablename__ = "social_security_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    ecard_state: Mapped[ECardState] = mapped_column(_enum(ECardState))
    card_state: Mapped[CardState] = mapped_column(_enum(CardState))
    pickup_place: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(back_populates="social_security")


class TelegramUser(Base):
    """Someone who has talked to the bot: their language and settings."""

    __tablename__ = "telegram_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    language_code: Mapped[str | None] = mapped_column(String(35))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when Telegram answers Forbidden (blocked, chat gone); their notices are parked.
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TelegramLink(Base):
    """A Telegram account linked to a permit; at most one each way."""

    __tablename__ = "telegram_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(ForeignKey("telegram_users.id"), unique=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("work_permits.id"), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who did what to which record; never carries the personal values themselves."""

    __tablename__ = "audit_log"
    # Lockout checks count recent failures per actor and per subject.
    __table_args__ = (
        Index("ix_audit_log_action_actor_at", "action", "actor", "at"),
        Index("ix_audit_log_action_subject_at", "action", "subject", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConversationState(Base):
    """The current step of a multi-step journey, read on every update.

    Kept in the database rather than in process memory so that any replica behind the
    webhook continues a conversation another replica started.
    """

    __tablename__ = "conversation_states"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    journey: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReceivedEvent(Base):
    """An event from the records system, kept so a repeated `event_id` changes nothing."""

    __tablename__ = "received_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxState(enum.StrEnum):
    """Where a notification is on its way to a person."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    PARKED = "parked"
    SKIPPED = "skipped"  # the recipient switched this kind of notice off


class OutboxMessage(Base):
    """A notification to send, written in the same transaction as the change that caused it.

    It carries a message key and parameters, not text: it is rendered in the recipient's
    language when it is sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_available_at", "state", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    message: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketState(enum.StrEnum):
    """Whether staff are working on a support ticket."""

    OPEN = "open"
    CLOSED = "closed"


class SupportTicket(Base):
    """A worker's request for a person; staff work it in one topic of the staff group."""

    __tablename__ = "support_tickets"
    __table_args__ = (Index("ix_support_tickets_user_state", "telegram_user_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[TicketState] = mapped_column(_enum(TicketState), default=TicketState.OPEN)
    locale: Mapped[str] = mapped_column(String(16))
    # What led here: "command", "menu", "lockout", "unsure", ...
    origin: Mapped[str] = mapped_column(String(32))
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    # The forum topic (None in a group without topics: then `card_message_id` anchors it).
    topic_id: Mapped[int | None] = mapped_column(Integer, index=True)
    card_message_id: Mapped[int | None] = mapped_column(Integer)
    previous_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("support_tickets.id"))
    rating: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SupportMessage(Base):
    """One message of a ticket, with where it is on each side (to route replies)."""

    __tablename__ = "support_messages"
    __table_args__ = (Index("ix_support_messages_staff", "staff_chat_id", "staff_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id"), index=True)
    # "worker" (worker → staff), "staff" (staff → worker), "note", "card", "bot"
    direction: Mapped[str] = mapped_column(String(8))
    worker_message_id: Mapped[int | None] = mapped_column(Integer)
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_message_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupportBan(Base):
    """A worker whose messages support no longer takes (told once)."""

    __tablename__ = "support_bans"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    banned_by: Mapped[int] = mapped_column(BigInteger)
    banned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
