"""Repositories: the queries the bot needs, one class per aggregate, on a given session."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.cache import KEYS_OPTION
from storage.models import (
    Application,
    AuditEntry,
    ConversationState,
    Employer,
    EmployerChat,
    EmployerInvite,
    OutboxMessage,
    OutboxState,
    PermitStatus,
    Person,
    SupportBan,
    SupportMessage,
    SupportTicket,
    TelegramLink,
    TelegramUser,
    TicketState,
    WorkPermit,
    utcnow,
)

SEEN_RESOLUTION = timedelta(minutes=5)
# Rows per multi-row outbox INSERT: 8 columns each stays far below the bind-parameter limits
# of SQLite (32766) and asyncpg (32767).
QUEUE_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What the bot needs to know about a Telegram user on every update."""

    id: int
    locale: str | None
    language_code: str | None


@cache
def _put_setting(dialect: str) -> Any:
    """UPDATE telegram_users SET settings[:key] = :payload (JSON text) WHERE id = :uid.

    Built once per dialect: the statement is the same every time, only its values change.
    """
    if dialect == "postgresql":
        current = func.coalesce(TelegramUser.settings.cast(JSONB), cast({}, JSONB))
        key, payload = bindparam("key", type_=String), bindparam("payload", type_=String)
        added = func.jsonb_build_object(key, cast(payload, JSONB))
        settings: Any = current.op("||")(added).cast(TelegramUser.settings.type)
    else:
        settings = func.json_set(
            func.coalesce(TelegramUser.settings, "{}"),
            bindparam("path", type_=String),
            func.json(bindparam("payload", type_=String)),
        )
    return (
        update(TelegramUser)
        .where(TelegramUser.id == bindparam("uid", type_=BigInteger))
        .values(settings=settings)
        .execution_options(synchronize_session=False)
    )


class UserRepository:
    """Telegram users: who they are to the bot and which language they chose."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> UserProfile | None:
        """The user's profile, or None if they never talked to the bot."""
        row = await self.session.get(TelegramUser, user_id)
        return None if row is None else UserProfile(row.id, row.locale, row.language_code)

    async def seen(self, user_id: int, language_code: str | None) -> UserProfile:
        """Record that the user wrote now (creating them on first contact); their profile."""
        arrivals = ArrivalRepository(self.session)
        arrival = await arrivals.read(user_id, user_id, with_ticket=False)
        return (await arrivals.touch(arrival, language_code)).profile

    async def delete(self, user_id: int) -> bool:
        """Delete the user's row (language and settings); True if there was one."""
        row = await self.session.get(TelegramUser, user_id)
        if row is None:
            return False
        await self.session.delete(row)
        await self.session.flush()
        return True

    async def set_locale(self, user_id: int, locale: str) -> None:
        """Save the user's explicit language choice."""
        row = await self.session.get(TelegramUser, user_id)
        if row is None:
            now = utcnow()
            row = TelegramUser(id=user_id, settings={}, first_seen=now, last_seen=now)
            self.session.add(row)
        row.locale = locale
        await self.session.flush()

    async def settings_of(self, user_id: int) -> dict[str, Any]:
        """The user's stored settings (empty when they have none or never wrote)."""
        row = await self.session.get(TelegramUser, user_id)
        return dict(row.settings or {}) if row is not None else {}

    async def put_setting(self, user_id: int, key: str, value: Any) -> bool:
        """Set one key of the user's settings in a single UPDATE (no read first); False if
        the user has no row."""
        dialect = self.session.get_bind().dialect.name
        result = await self.session.execute(
            _put_setting(dialect),
            {"uid": user_id, "key": key, "path": f"$.{key}", "payload": json.dumps(value)},
        )
        return bool(getattr(result, "rowcount", 0))

    async def replace_settings(self, user_id: int, settings: dict[str, Any]) -> None:
        """Store `settings` as the user's settings (a new dict, so the JSON change is seen)."""
        row = await self.session.get(TelegramUser, user_id)
        if row is None:
            now = utcnow()
            row = TelegramUser(id=user_id, settings={}, first_seen=now, last_seen=now)
            self.session.add(row)
        row.settings = dict(settings)
        await self.session.flush()


class AuditRepository:
    """The audit log: actions on records, without the personal values involved."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        actor: str,
        action: str,
        subject: str | None = None,
        *,
        at: datetime | None = None,
        **details: Any,
    ) -> None:
        """Append one entry (at `at`, by default now)."""
        self.session.add(
            AuditEntry(
                actor=actor, action=action, subject=subject, details=details, at=at or utcnow()
            )
        )
        await self.session.flush()

    async def times(
        self,
        action: str,
        *,
        since: datetime,
        actor: str | None = None,
        subject: str | None = None,
    ) -> list[datetime]:
        """When `action` happened since a moment (by `actor` / on `subject`), oldest first."""
        query = select(AuditEntry.at).where(AuditEntry.action == action, AuditEntry.at >= since)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if subject is not None:
            query = query.where(AuditEntry.subject == subject)
        return list((await self.session.scalars(query.order_by(AuditEntry.at))).all())

    async def recent(self, actor: str, limit: int) -> list[tuple[datetime, str]]:
        """The actor's latest actions (when, what), newest first."""
        rows = await self.session.execute(
            select(AuditEntry.at, AuditEntry.action)
            .where(AuditEntry.actor == actor)
            .order_by(AuditEntry.at.desc())
            .limit(limit)
        )
        return [(at, action) for at, action in rows.all()]

    async def count(self, action: str, *, actor: str | None = None, since: datetime) -> int:
        """How many entries of `action` (by `actor`, if given) happened since a moment."""
        query = select(func.count()).where(AuditEntry.action == action, AuditEntry.at >= since)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        return int(await self.session.scalar(query) or 0)


@dataclass(frozen=True, slots=True)
class Step:
    """Where a user is in a multi-step journey, with what they entered so far."""

    journey: str
    step: str
    data: dict[str, Any]


class ConversationRepository:
    """Conversation steps kept in the database, so every replica sees the same state."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int, chat_id: int) -> Step | None:
        """The user's current step in this chat, if any."""
        row = await self.session.get(ConversationState, (user_id, chat_id))
        return None if row is None else Step(row.journey, row.step, dict(row.data))

    async def set(self, user_id: int, chat_id: int, step: Step) -> None:
        """Move the user to `step` (creating or replacing their state)."""
        values = {
            "journey": step.journey,
            "step": step.step,
            "data": dict(step.data),
            "updated_at": utcnow(),
        }
        changed = await self.session.execute(
            update(ConversationState)
            .where(
                ConversationState.telegram_user_id == user_id, ConversationState.chat_id == chat_id
            )
            .values(**values)
            .execution_options(**arrival_keys(user_id))
        )
        if not getattr(changed, "rowcount", 0):
            await self.session.execute(
                insert(ConversationState)
                .values(telegram_user_id=user_id, chat_id=chat_id, **values)
                .execution_options(**arrival_keys(user_id))
            )

    async def clear_all(self, user_id: int) -> int:
        """End the user's journeys in every chat; returns how many there were."""
        result = await self.session.execute(
            delete(ConversationState)
            .where(ConversationState.telegram_user_id == user_id)
            .execution_options(**arrival_keys(user_id))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def clear(self, user_id: int, chat_id: int) -> bool:
        """End the user's journey in this chat; True if there was one."""
        result = await self.session.execute(
            delete(ConversationState)
            .where(
                ConversationState.telegram_user_id == user_id, ConversationState.chat_id == chat_id
            )
            .execution_options(**arrival_keys(user_id))
        )
        return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class Arrival:
    """What the bot knows about a user when one of their updates arrives in a chat."""

    user_id: int
    chat_id: int
    with_ticket: bool  # whether open_ticket_id was looked up
    known: bool  # False on first contact (no user row yet)
    locale: str | None
    language_code: str | None
    last_seen: datetime | None
    permit_id: int | None
    step: Step | None
    open_ticket_id: int | None

    @property
    def profile(self) -> UserProfile:
        """The user's profile."""
        return UserProfile(self.user_id, self.locale, self.language_code)

    def needs_touch(self, language_code: str | None, now: datetime) -> bool:
        """Whether the user row must be written (new user, new language, stale last_seen)."""
        return (
            not self.known
            or self.last_seen is None
            or bool(language_code and self.language_code != language_code)
            or now - self.last_seen >= SEEN_RESOLUTION
        )


def arrival_keys(user_id: int) -> dict[str, Any]:
    """Execution options naming the user whose cached arrival a statement changes."""
    return {KEYS_OPTION: {"arrivals": {user_id}}}


class ArrivalRepository:
    """Everything an update needs about its sender, read in one database round trip."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(self, user_id: int, chat_id: int, *, with_ticket: bool) -> Arrival:
        """The user, their link, their step in this chat and (`with_ticket`) open ticket.

        One SELECT outer-joins them all from a one-row table holding the user's id.
        """
        me = select(literal(user_id, BigInteger).label("uid")).subquery("me")
        columns: list[Any] = [
            TelegramUser.id,
            TelegramUser.locale,
            TelegramUser.language_code,
            TelegramUser.last_seen,
            TelegramLink.permit_id,
            ConversationState.journey,
            ConversationState.step,
            ConversationState.data,
        ]
        query = (
            me.outerjoin(TelegramUser, TelegramUser.id == me.c.uid)
            .outerjoin(TelegramLink, TelegramLink.telegram_user_id == me.c.uid)
            .outerjoin(
                ConversationState,
                and_(
                    ConversationState.telegram_user_id == me.c.uid,
                    ConversationState.chat_id == chat_id,
                ),
            )
        )
        if with_ticket:
            columns.append(SupportTicket.id)
            query = query.outerjoin(
                SupportTicket,
                and_(
                    SupportTicket.telegram_user_id == me.c.uid,
                    SupportTicket.state == TicketState.OPEN,
                ),
            )
        row = (await self.session.execute(select(*columns).select_from(query).limit(1))).one()
        known, locale, language_code, last_seen, permit_id, journey, step, data = row[:8]
        return Arrival(
            user_id=user_id,
            chat_id=chat_id,
            with_ticket=with_ticket,
            known=known is not None,
            locale=locale,
            language_code=language_code,
            last_seen=last_seen,
            permit_id=permit_id,
            step=None if journey is None else Step(journey, step, dict(data or {})),
            open_ticket_id=row[8] if with_ticket else None,
        )

    async def touch(self, arrival: Arrival, language_code: str | None) -> Arrival:
        """Record that the user wrote now: create their row, or refresh language and
        `last_seen` (rewritten only when older than `SEEN_RESOLUTION`, so a user chatting
        away costs no write per update)."""
        now = utcnow()
        if not arrival.needs_touch(language_code, now):
            return arrival
        user_id = arrival.user_id
        if not arrival.known:
            statement: Any = insert(TelegramUser).values(
                id=user_id, language_code=language_code, settings={}, first_seen=now,
                last_seen=now,
            )  # fmt: skip
        else:
            language_code = language_code or arrival.language_code
            statement = (
                update(TelegramUser)
                .where(TelegramUser.id == user_id)
                .values(last_seen=now, language_code=language_code)
            )
        await self.session.execute(statement.execution_options(**arrival_keys(user_id)))
        return replace(arrival, known=True, language_code=language_code, last_seen=now)


@dataclass(frozen=True, slots=True)
class PermitIdentity:
    """What a link claim is checked against: a permit and its holder's fingerprints."""

    permit_id: int
    permit_no: str
    name_key: str
    ss_hash: str
    phone_hash: str


class PermitRepository:
    """Work permits with their holder, employer and applications."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def verification_ref(self, permit_id: int) -> str | None:
        """The permit's opaque reference for verification codes, created on first use."""
        permit = await self.session.get(WorkPermit, permit_id)
        if permit is None:
            return None
        if permit.verification_ref is None:
            permit.verification_ref = secrets.token_urlsafe(12)
            await self.session.flush()
        return permit.verification_ref

    async def code_facts(self, permit_id: int) -> tuple[PermitStatus, date, str | None] | None:
        """What issuing a verification code needs: status, validity and reference."""
        row = (
            await self.session.execute(
                select(
                    WorkPermit.status, WorkPermit.valid_until, WorkPermit.verification_ref
                ).where(WorkPermit.id == permit_id)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def by_verification_ref(self, reference: str) -> WorkPermit | None:
        """The permit a verification code refers to, with holder and employer."""
        return await self.session.scalar(
            select(WorkPermit)
            .where(WorkPermit.verification_ref == reference)
            .options(selectinload(WorkPermit.person), selectinload(WorkPermit.employer))
        )

    async def identity(self, permit_no: str) -> PermitIdentity | None:
        """The permit with this number and its holder's fingerprints, if it exists."""
        row = (
            await self.session.execute(
                select(
                    WorkPermit.id,
                    WorkPermit.permit_no,
                    Person.name_key,
                    Person.ss_hash,
                    Person.phone_hash,
                )
                .join(Person, Person.id == WorkPermit.person_id)
                .where(WorkPermit.permit_no == permit_no)
            )
        ).one_or_none()
        return None if row is None else PermitIdentity(*row)

    async def full(self, permit_id: int) -> WorkPermit | None:
        """A permit with holder, social security, employer, applications and their history.

        One query: everything is outer-joined (a permit has a handful of applications, each
        with a short history), so /status costs one database round trip.
        """
        result = await self.session.scalars(
            select(WorkPermit)
            .where(WorkPermit.id == permit_id)
            .options(
                joinedload(WorkPermit.person).joinedload(Person.social_security),
                joinedload(WorkPermit.employer),
                joinedload(WorkPermit.applications).joinedload(Application.history),
            )
        )
        return result.unique().one_or_none()


class LinkRepository:
    """Which Telegram account is linked to which permit (at most one each way)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def permit_of(self, user_id: int) -> int | None:
        """The permit linked to this Telegram user."""
        return await self.session.scalar(
            select(TelegramLink.permit_id).where(TelegramLink.telegram_user_id == user_id)
        )

    async def user_of(self, permit_id: int) -> int | None:
        """The Telegram user linked to this permit."""
        return await self.session.scalar(
            select(TelegramLink.telegram_user_id).where(TelegramLink.permit_id == permit_id)
        )

    async def link(self, user_id: int, permit_id: int) -> None:
        """Link the user to the permit (the caller checked both are free)."""
        self.session.add(TelegramLink(telegram_user_id=user_id, permit_id=permit_id))
        await self.session.flush()

    async def unlink(self, user_id: int) -> int | None:
        """Remove the user's link; returns the permit it pointed to."""
        link = await self.session.scalar(
            select(TelegramLink).where(TelegramLink.telegram_user_id == user_id)
        )
        if link is None:
            return None
        await self.session.delete(link)
        await self.session.flush()
        return link.permit_id


@dataclass(frozen=True, slots=True)
class EmployerRef:
    """An employer as the employer side needs it: id, credit code and name."""

    id: int
    uscc: str
    name: str


@dataclass(frozen=True, slots=True)
class EmployerSummary:
    """An employer with how many chats are linked to it and how many permits it holds."""

    uscc: str
    name: str
    chats: int
    workers: int


@dataclass(frozen=True, slots=True)
class InviteState:
    """An invite code's row, found by the code's hash."""

    id: int
    employer_id: int
    expires_at: datetime
    used_at: datetime | None


class EmployerRepository:
    """Employers, their invite codes and the Telegram chats linked to them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_uscc(self, uscc: str) -> EmployerRef | None:
        """The employer with this Unified Social Credit Code."""
        row = (
            await self.session.execute(
                select(Employer.id, Employer.uscc, Employer.name).where(Employer.uscc == uscc)
            )
        ).one_or_none()
        return None if row is None else EmployerRef(*row)

    async def summaries(self) -> list[EmployerSummary]:
        """Every employer with its linked chat and permit counts, by name."""
        chats = (
            select(EmployerChat.employer_id, func.count().label("n"))
            .group_by(EmployerChat.employer_id)
            .subquery()
        )
        workers = (
            select(WorkPermit.employer_id, func.count().label("n"))
            .group_by(WorkPermit.employer_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(
                Employer.uscc,
                Employer.name,
                func.coalesce(chats.c.n, 0),
                func.coalesce(workers.c.n, 0),
            )
            .outerjoin(chats, chats.c.employer_id == Employer.id)
            .outerjoin(workers, workers.c.employer_id == Employer.id)
            .order_by(Employer.name, Employer.id)
        )
        return [EmployerSummary(uscc, name, int(n), int(w)) for uscc, name, n, w in rows.all()]

    async def add_invite(
        self, employer_id: int, code_hash: str, created_at: datetime, expires_at: datetime
    ) -> int:
        """Store a new invite by its code's hash; returns its id."""
        invite = EmployerInvite(
            employer_id=employer_id,
            code_hash=code_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
        self.session.add(invite)
        await self.session.flush()
        return invite.id

    async def invite(self, code_hash: str) -> InviteState | None:
        """The invite whose code has this hash."""
        row = (
            await self.session.execute(
                select(
                    EmployerInvite.id,
                    EmployerInvite.employer_id,
                    EmployerInvite.expires_at,
                    EmployerInvite.used_at,
                ).where(EmployerInvite.code_hash == code_hash)
            )
        ).one_or_none()
        return None if row is None else InviteState(*row)

    async def use_invite(self, invite_id: int, chat_id: int, now: datetime) -> bool:
        """Mark the invite used by `chat_id`, only if it is still unused and unexpired.

        One guarded UPDATE: of two chats racing for one code, exactly one gets True.
        """
        result = await self.session.execute(
            update(EmployerInvite)
            .where(
                EmployerInvite.id == invite_id,
                EmployerInvite.used_at.is_(None),
                EmployerInvite.expires_at > now,
            )
            .values(used_at=now, used_by_chat=chat_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def employer_of_chat(self, chat_id: int) -> EmployerRef | None:
        """The employer this chat is linked to, if any."""
        row = (
            await self.session.execute(
                select(Employer.id, Employer.uscc, Employer.name)
                .join(EmployerChat, EmployerChat.employer_id == Employer.id)
                .where(EmployerChat.chat_id == chat_id)
            )
        ).one_or_none()
        return None if row is None else EmployerRef(*row)

    async def link_chat(
        self,
        employer_id: int,
        chat_id: int,
        chat_type: str,
        linked_by: int,
        locale: str | None,
        now: datetime,
    ) -> None:
        """Link the chat to the employer (the caller checked the chat is free)."""
        self.session.add(
            EmployerChat(
                employer_id=employer_id,
                chat_id=chat_id,
                chat_type=chat_type,
                locale=locale,
                linked_by=linked_by,
                linked_at=now,
            )
        )
        await self.session.flush()

    async def unlink_chat(self, chat_id: int) -> int | None:
        """Remove the chat's link; returns the employer it pointed to."""
        link = await self.session.scalar(
            select(EmployerChat).where(EmployerChat.chat_id == chat_id)
        )
        if link is None:
            return None
        await self.session.delete(link)
        await self.session.flush()
        return link.employer_id

    async def chats_of(self, employer_id: int) -> list[int]:
        """The chats linked to an employer, oldest link first."""
        rows = await self.session.scalars(
            select(EmployerChat.chat_id)
            .where(EmployerChat.employer_id == employer_id)
            .order_by(EmployerChat.id)
        )
        return list(rows.all())

    async def workforce(self, employer_id: int, permit_id: int | None = None) -> list[WorkPermit]:
        """The employer's permits (or the one with `permit_id`, if it is theirs), soonest
        expiry first, with holder names and applications loaded in two queries.

        Only the holder's name is loaded: the employer side never reads passport or
        social-security fields.
        """
        query = (
            select(WorkPermit)
            .where(WorkPermit.employer_id == employer_id)
            .options(
                joinedload(WorkPermit.person, innerjoin=True).load_only(Person.full_name),
                selectinload(WorkPermit.applications),
            )
            .order_by(WorkPermit.valid_until, WorkPermit.id)
        )
        if permit_id is not None:
            query = query.where(WorkPermit.id == permit_id)
        return list((await self.session.scalars(query)).all())


@dataclass(frozen=True, slots=True)
class DeadlinePermit:
    """A linked, not cancelled permit near a deadline: what the reminder scan judges."""

    permit_id: int
    telegram_user_id: int
    status: PermitStatus
    valid_until: date
    letter_issued_on: date | None


class ReminderRepository:
    """Linked permits near a deadline, read a chunk at a time in index order."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _linked() -> Any:
        # Only permits someone linked can be reminded; cancelled ones never are.
        return (
            select(
                WorkPermit.id,
                TelegramLink.telegram_user_id,
                WorkPermit.status,
                WorkPermit.valid_until,
                WorkPermit.notification_letter_issued_on,
            )
            .join(TelegramLink, TelegramLink.permit_id == WorkPermit.id)
            .where(WorkPermit.status != PermitStatus.CANCELLED)
        )

    async def expiring(
        self, first: date, last: date, *, after: tuple[date, int] | None, limit: int
    ) -> list[DeadlinePermit]:
        """Linked permits valid until a day in [first, last], ordered by (valid_until, id),
        the next `limit` after the key `after` (a range on the valid_until index)."""
        query = self._linked().where(WorkPermit.valid_until.between(first, last))
        if after is not None:
            day, permit_id = after
            # The `>=` bounds the index range; the OR resumes inside the day left off.
            query = query.where(
                WorkPermit.valid_until >= day,
                or_(WorkPermit.valid_until > day, WorkPermit.id > permit_id),
            )
        query = query.order_by(WorkPermit.valid_until, WorkPermit.id).limit(limit)
        rows = await self.session.execute(query)
        return [DeadlinePermit(*row) for row in rows]

    async def letters_without_entry(
        self, first: date, last: date, *, after: int, limit: int
    ) -> list[DeadlinePermit]:
        """Linked permits whose Notification Letter was issued in [first, last] and whose
        holder has no recorded entry, the next `limit` by id after `after`."""
        query = (
            self._linked()
            .where(
                WorkPermit.notification_letter_issued_on.between(first, last),
                WorkPermit.entered_on.is_(None),
                WorkPermit.id > after,
            )
            .order_by(WorkPermit.id)
            .limit(limit)
        )
        rows = await self.session.execute(query)
        return [DeadlinePermit(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """How many notifications are in each state, and how long the oldest has waited."""

    by_state: dict[str, int]
    oldest_pending: datetime | None


class OutboxRepository:
    """The notification outbox."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def summary(self) -> OutboxSummary:
        """Counts by state and the creation time of the oldest pending row."""
        rows = await self.session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        by_state = {str(state.value): int(count) for state, count in rows.all()}
        oldest = await self.session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.state == OutboxState.PENDING
            )
        )
        if isinstance(oldest, datetime) and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # min() bypasses the column type on SQLite
        return OutboxSummary(by_state, oldest)

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these dedupe keys are already queued (one query on the unique index)."""
        if not keys:
            return set()
        found = await self.session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
        )
        return set(found)

    async def queue_once(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Queue many notices in multi-row INSERTs, skipping any whose dedupe key exists
        (a concurrent writer queued it first); returns the dedupe keys this call queued.

        Each row gives every column: `dedupe_key`, `telegram_user_id`, `message`, `params`,
        `state`, `attempts`, `available_at`, `created_at`.
        """
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        queued: set[str] = set()
        for start in range(0, len(rows), QUEUE_BATCH):
            statement = (
                insert(OutboxMessage)
                .values(list(rows[start : start + QUEUE_BATCH]))
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(OutboxMessage.dedupe_key)
            )
            queued.update((await self.session.scalars(statement)).all())
        return queued


@dataclass(frozen=True, slots=True)
class ClaimedNotice:
    """An outbox row this dispatcher holds a lease on, with what is needed to send it."""

    id: int
    telegram_user_id: int
    message: str
    params: dict[str, Any]
    attempts: int
    locale: str | None
    language_code: str | None
    settings: dict[str, Any] | None


class OutboxClaims:
    """Claiming and settling outbox rows: a lease makes a crashed claimer's rows come back."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[ClaimedNotice]:
        """Lease up to `limit` due rows. Each row is claimed by a guarded UPDATE, so two
        claimers never hold the same row; PostgreSQL also skips rows others have locked."""
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.state == OutboxState.PENDING,
                OutboxMessage.available_at <= now,
                (OutboxMessage.lease_until.is_(None)) | (OutboxMessage.lease_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(due)).all())
        if not ids:
            return []
        # One guarded UPDATE for the batch: a row whose lease another claimer took in the
        # meantime is not returned.
        taken = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.state == OutboxState.PENDING,
                (OutboxMessage.lease_until.is_(None)) | (OutboxMessage.lease_until < now),
            )
            .values(lease_until=now + lease, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        claimed_ids = [row_id for (row_id,) in taken.all()]
        if not claimed_ids:
            return []
        rows = await self.session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.telegram_user_id,
                OutboxMessage.message,
                OutboxMessage.params,
                OutboxMessage.attempts,
                func.coalesce(TelegramUser.locale, EmployerChat.locale),
                TelegramUser.language_code,
                TelegramUser.settings,
            )
            .outerjoin(TelegramUser, TelegramUser.id == OutboxMessage.telegram_user_id)
            .outerjoin(EmployerChat, EmployerChat.chat_id == OutboxMessage.telegram_user_id)
            .where(OutboxMessage.id.in_(claimed_ids))
            .order_by(OutboxMessage.id)
        )
        return [ClaimedNotice(*row) for row in rows.all()]

    async def sent(self, row_id: int) -> None:
        """The notice reached the person."""
        await self._settle(row_id, state=OutboxState.SENT, last_error=None)

    async def retry_at(self, row_id: int, when: datetime, error: str) -> None:
        """Try again at `when` (rate limit or a passing failure)."""
        await self._settle(row_id, available_at=when, last_error=error[:300])

    async def rate_limited(self, row_id: int, when: datetime, error: str) -> None:
        """Telegram said wait: try again at `when`; this claim was not a failed attempt."""
        await self._settle(
            row_id,
            available_at=when,
            attempts=OutboxMessage.attempts - 1,
            last_error=error[:300],
        )

    async def defer(self, row_id: int, when: datetime) -> None:
        """Hold the notice until `when` (quiet hours); this claim was not an attempt."""
        await self._settle(row_id, available_at=when, attempts=OutboxMessage.attempts - 1)

    async def skipped(self, row_id: int) -> None:
        """The recipient switched this kind of notice off: it is settled without sending."""
        await self._settle(row_id, state=OutboxState.SKIPPED, last_error=None)

    async def failed(self, row_id: int, error: str) -> None:
        """Give up on this notice, keeping why."""
        await self._settle(row_id, state=OutboxState.FAILED, last_error=error[:300])

    async def park_recipient(self, user_id: int, error: str) -> int:
        """The person cannot be reached: mark them and park all their pending notices."""
        await self.session.execute(
            update(TelegramUser).where(TelegramUser.id == user_id).values(unreachable=True)
        )
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.telegram_user_id == user_id,
                OutboxMessage.state == OutboxState.PENDING,
            )
            .values(state=OutboxState.PARKED, lease_until=None, last_error=error[:300])
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def resume_recipient(self, chat_id: int, now: datetime) -> int:
        """The person unblocked the bot (or a group re-added it): deliver their parked notices."""
        await self.session.execute(
            update(TelegramUser).where(TelegramUser.id == chat_id).values(unreachable=False)
        )
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.telegram_user_id == chat_id,
                OutboxMessage.state == OutboxState.PARKED,
            )
            .values(state=OutboxState.PENDING, available_at=now, attempts=0, last_error=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _settle(self, row_id: int, **values: Any) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(lease_until=None, **values)
        )


@dataclass(frozen=True, slots=True)
class TicketView:
    """A support ticket as the handlers need it."""

    id: int
    telegram_user_id: int
    state: TicketState
    locale: str
    origin: str
    staff_chat_id: int
    topic_id: int | None
    card_message_id: int | None
    previous_ticket_id: int | None
    opened_at: datetime

    @classmethod
    def of(cls, row: SupportTicket) -> TicketView:
        """The view of a row."""
        return cls(
            row.id,
            row.telegram_user_id,
            row.state,
            row.locale,
            row.origin,
            row.staff_chat_id,
            row.topic_id,
            row.card_message_id,
            row.previous_ticket_id,
            row.opened_at,
        )


class SupportRepository:
    """Support tickets, the message mapping between worker and staff, and bans."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_ticket_of(self, user_id: int) -> TicketView | None:
        """The worker's open ticket, if any."""
        row = await self.session.scalar(
            select(SupportTicket).where(
                SupportTicket.telegram_user_id == user_id,
                SupportTicket.state == TicketState.OPEN,
            )
        )
        return TicketView.of(row) if row is not None else None

    async def last_ticket_of(self, user_id: int) -> TicketView | None:
        """The worker's most recent ticket, open or closed."""
        row = await self.session.scalar(
            select(SupportTicket)
            .where(SupportTicket.telegram_user_id == user_id)
            .order_by(SupportTicket.id.desc())
            .limit(1)
        )
        return TicketView.of(row) if row is not None else None

    async def get(self, ticket_id: int) -> TicketView | None:
        """A ticket by number."""
        row = await self.session.get(SupportTicket, ticket_id)
        return TicketView.of(row) if row is not None else None

    async def by_topic(self, staff_chat_id: int, topic_id: int) -> TicketView | None:
        """The ticket worked in this forum topic."""
        row = await self.session.scalar(
            select(SupportTicket)
            .where(SupportTicket.staff_chat_id == staff_chat_id, SupportTicket.topic_id == topic_id)
            .order_by(SupportTicket.id.desc())
            .limit(1)
        )
        return TicketView.of(row) if row is not None else None

    async def by_staff_message(self, staff_chat_id: int, message_id: int) -> TicketView | None:
        """The ticket a message in the staff group belongs to (a group without topics)."""
        row = await self.session.scalar(
            select(SupportTicket)
            .join(SupportMessage, SupportMessage.ticket_id == SupportTicket.id)
            .where(
                SupportMessage.staff_chat_id == staff_chat_id,
                SupportMessage.staff_message_id == message_id,
            )
            .limit(1)
        )
        return TicketView.of(row) if row is not None else None

    async def create(
        self, user_id: int, locale: str, origin: str, staff_chat_id: int
    ) -> TicketView:
        """A new open ticket, linked to the worker's previous one."""
        previous = await self.last_ticket_of(user_id)
        row = SupportTicket(
            telegram_user_id=user_id,
            state=TicketState.OPEN,
            locale=locale,
            origin=origin,
            staff_chat_id=staff_chat_id,
            previous_ticket_id=previous.id if previous is not None else None,
            opened_at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        return TicketView.of(row)

    async def place(
        self, ticket_id: int, *, topic_id: int | None, card_message_id: int | None
    ) -> None:
        """Where the ticket lives in the staff group (its topic, or its card message)."""
        await self.session.execute(
            update(SupportTicket)
            .where(SupportTicket.id == ticket_id)
            .values(topic_id=topic_id, card_message_id=card_message_id)
        )

    async def set_state(self, ticket_id: int, state: TicketState) -> bool:
        """Close or reopen; False when it already was in that state."""
        result = await self.session.execute(
            update(SupportTicket)
            .where(SupportTicket.id == ticket_id, SupportTicket.state != state)
            .values(state=state, closed_at=utcnow() if state is TicketState.CLOSED else None)
        )
        return bool(getattr(result, "rowcount", 0))

    async def rate(self, ticket_id: int, user_id: int, rating: int) -> bool:
        """The worker's rating of their closed ticket (once)."""
        result = await self.session.execute(
            update(SupportTicket)
            .where(
                SupportTicket.id == ticket_id,
                SupportTicket.telegram_user_id == user_id,
                SupportTicket.state == TicketState.CLOSED,
                SupportTicket.rating.is_(None),
            )
            .values(rating=rating)
        )
        return bool(getattr(result, "rowcount", 0))

    async def record(
        self,
        ticket_id: int,
        direction: str,
        *,
        worker_message_id: int | None = None,
        staff_chat_id: int | None = None,
        staff_message_id: int | None = None,
    ) -> None:
        """Remember one message of the ticket on both sides."""
        self.session.add(
            SupportMessage(
                ticket_id=ticket_id,
                direction=direction,
                worker_message_id=worker_message_id,
                staff_chat_id=staff_chat_id,
                staff_message_id=staff_message_id,
                at=utcnow(),
            )
        )

    async def last_worker_message(self, ticket_id: int) -> int | None:
        """The worker's latest message of the ticket (staff replies thread under it)."""
        return await self.session.scalar(
            select(SupportMessage.worker_message_id)
            .where(
                SupportMessage.ticket_id == ticket_id,
                SupportMessage.direction == "worker",
            )
            .order_by(SupportMessage.id.desc())
            .limit(1)
        )

    async def open_tickets(self) -> list[TicketView]:
        """Every open ticket, oldest first."""
        rows = await self.session.scalars(
            select(SupportTicket)
            .where(SupportTicket.state == TicketState.OPEN)
            .order_by(SupportTicket.opened_at)
        )
        return [TicketView.of(row) for row in rows]

    async def ban(self, user_id: int, by: int) -> bool:
        """Stop taking this worker's messages; False if they already were banned."""
        if await self.session.get(SupportBan, user_id) is not None:
            return False
        self.session.add(SupportBan(telegram_user_id=user_id, banned_by=by, banned_at=utcnow()))
        await self.session.flush()
        return True

    async def unban(self, user_id: int) -> bool:
        """Take their messages again."""
        result = await self.session.execute(
            delete(SupportBan).where(SupportBan.telegram_user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def ban_of(self, user_id: int) -> SupportBan | None:
        """The ban on this worker, if any."""
        return await self.session.get(SupportBan, user_id)
