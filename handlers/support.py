"""Human support: a worker's ticket, worked by staff in one topic of the staff group.

Worker side (private chat): "Talk to a person", /support, or the offer after a linking
lockout opens a ticket; while it is open everything they send (text, photos, documents, voice,
video) is copied into the ticket's topic. Staff side (`SUPPORT_CHAT_ID`, a forum supergroup):
whatever staff write in the topic reaches the worker from the bot (staff stay anonymous);
`/note` stays internal; `/reply <key>` sends a canned answer in the worker's language;
`/close`, `/reopen`, `/ban`, `/unban`, `/tickets`. In a group without topics every ticket is
one card message and staff answer by replying to the ticket's messages. Workers read the bot in
their own language, staff in `STAFF_LOCALE`.

All state (tickets, topic and message mapping, bans) is in the database.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from babel.dates import format_timedelta, get_day_names
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app import BotContext
from bot.canned_replies import CANNED_REPLIES, canned_text
from bot.i18n import (
    N_,
    _,
    babel_locale,
    current_locale,
    directional,
    format_moment,
    isolate,
    native_name,
    ngettext,
    use_locale,
)
from bot.permits import (
    APPLICATION_KIND_LABELS,
    APPLICATION_STATUS_LABELS,
    PERMIT_STATUS_LABELS,
)
from bot.questions import last_question
from handlers.conversation import visitor
from handlers.menu import MenuAction, main_menu, show
from storage.models import TicketState, utcnow
from storage.repositories import (
    AuditRepository,
    LinkRepository,
    PermitRepository,
    SupportRepository,
    TicketView,
)

log = logging.getLogger(__name__)

OPEN = MenuAction.SUPPORT.value
OPEN_AFTER_LOCKOUT = OPEN + ":lockout"
RATE_PREFIX = "support:rate:"
TOPIC_GONE = "message thread not found"
ORIGINS = {"/support": "command", OPEN: "menu", OPEN_AFTER_LOCKOUT: "lockout"}
ORIGIN_LABELS = {
    "command": N_("/support command"),
    "menu": N_("menu button"),
    "lockout": N_("offer after a linking lockout"),
}


# --- worker side ---------------------------------------------------------------------------


def _hours_text(context: BotContext) -> str:
    hours = context.bot_data.settings.support_hours
    names = get_day_names("abbreviated", locale=babel_locale(current_locale()))
    days = sorted(hours.days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_text = f"{names[days[0]]}–{names[days[-1]]}"
    else:
        day_text = ", ".join(names[day] for day in days)
    return f"{day_text} {hours.opens:%H:%M}–{hours.closes:%H:%M}"


def _expectation(context: BotContext) -> str:
    settings = context.bot_data.settings
    now = utcnow()
    hours = settings.support_hours
    text = _("Staff answer during office hours: {hours} ({zone}).").format(
        hours=isolate(_hours_text(context)), zone=isolate(settings.TIMEZONE)
    )
    if hours.is_open(now, settings.tz):
        return text + " " + _("They are at work now and will answer here as soon as they can.")
    back = hours.next_opening(now, settings.tz)
    return (
        text
        + " "
        + _("They are away now and back on {time}; your messages wait for them here.").format(
            time=isolate(format_moment(back, settings.tz))
        )
    )


async def open_support(update: Update, context: BotContext) -> None:
    """Open a ticket (or show the one already open) and tell the worker what to expect."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    current = visitor()
    chat = update.effective_chat
    user = update.effective_user
    if current is None or chat is None or user is None:
        return
    if chat.type != ChatType.PRIVATE:
        await chat.send_message(directional(_("Write to me in a private chat to reach a person.")))
        return
    settings = context.bot_data.settings
    if settings.SUPPORT_CHAT_ID is None:
        await show(
            update,
            _(
                "Sorry, talking to a person is not available here yet. /guide and /status "
                "answer the most common questions."
            ),
            main_menu(),
        )
        return
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        if await support.ban_of(user.id) is not None:
            return  # told once when banned; support no longer takes their messages
        ticket = await support.open_ticket_of(user.id)
        created = ticket is None
        if ticket is None:
            pressed = (query.data or OPEN) if query is not None else "/support"
            origin = ORIGINS.get(pressed, "menu")
            ticket = await support.create(
                user.id, current_locale(), origin, settings.SUPPORT_CHAT_ID
            )
            await AuditRepository(session).record(
                f"tg:{user.id}", "support.opened", f"ticket:{ticket.id}", origin=origin
            )
    if created:
        try:
            await _place(context, ticket, user.first_name)
        except TelegramError as error:
            log.error("support: staff group unreachable", extra={"error": type(error).__name__})
            async with context.bot_data.db.session() as session:
                await SupportRepository(session).set_state(ticket.id, TicketState.CLOSED)
            await show(
                update,
                _("Sorry, I cannot reach the support team right now. Please try again later."),
                main_menu(),
            )
            return
        text = _(
            "🙋 Your request #{number} is open. Write your question here: text, photos, "
            "documents and voice messages all reach our staff, and their answers come back "
            "in this chat."
        )
    else:
        text = _(
            "🙋 Your request #{number} is still open. Just write here: everything you send "
            "reaches our staff."
        )
    await show(update, text.format(number=ticket.id) + "\n\n" + _expectation(context))


async def relay_from_worker(update: Update, context: BotContext) -> None:
    """Copy what the worker sent into their ticket's topic (or under its card)."""
    message = update.effective_message
    current = visitor()
    if message is None or current is None or current.open_ticket is None:
        return
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        if await support.ban_of(current.user_id) is not None:
            return
        ticket = await support.get(current.open_ticket)
    if ticket is None:
        return
    copied = await _to_staff(
        context,
        ticket,
        lambda thread, reply: context.bot.copy_message(
            ticket.staff_chat_id,
            message.chat_id,
            message.message_id,
            message_thread_id=thread,
            reply_parameters=reply,
        ),
        name=message.from_user.first_name if message.from_user else "",
    )
    async with context.bot_data.db.session() as session:
        await SupportRepository(session).record(
            ticket.id,
            "worker",
            worker_message_id=message.message_id,
            staff_chat_id=ticket.staff_chat_id,
            staff_message_id=copied,
        )


def _rating_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "⭐" * stars, callback_data=f"{RATE_PREFIX}{ticket_id}:{stars}"
                )
                for stars in range(1, 6)
            ]
        ]
    )


async def rate(update: Update, context: BotContext) -> None:
    """The worker rated a closed ticket 1–5."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    try:
        ticket_id, stars = (int(part) for part in (query.data or "")[len(RATE_PREFIX) :].split(":"))
    except ValueError:
        await query.answer(_("This button is no longer available."))
        return
    if not 1 <= stars <= 5:
        await query.answer(_("This button is no longer available."))
        return
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        rated = await support.rate(ticket_id, user.id, stars)
        ticket = await support.get(ticket_id)
    if not rated or ticket is None:
        await query.answer(_("This request has already been rated. Thank you!"))
        return
    await query.answer()
    await show(update, _("Thank you for rating request #{number}!").format(number=ticket_id))
    await _note_to_staff(context, ticket, f"⭐ {stars}/5")


# --- staff side ----------------------------------------------------------------------------

StaffCallback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def in_staff_locale(callback: StaffCallback) -> StaffCallback:
    """Run a staff handler in STAFF_LOCALE rather than the language of whoever wrote: staff
    share one language; what goes to the worker is rendered in theirs explicitly."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: BotContext) -> None:
        with use_locale(context.bot_data.settings.staff_locale):
            await callback(update, context)

    return wrapper


async def _staff_ticket(update: Update, context: BotContext) -> TicketView | None:
    """The ticket a staff message is about: its topic, the message it replies to, or a
    ticket number given as the first argument."""
    message = update.effective_message
    if message is None:
        return None
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        if context.args and context.args[0].lstrip("#").isdigit():
            return await support.get(int(context.args[0].lstrip("#")))
        if message.is_topic_message and message.message_thread_id is not None:
            return await support.by_topic(message.chat_id, message.message_thread_id)
        replied = message.reply_to_message
        if replied is not None and not message.is_topic_message:
            return await support.by_staff_message(message.chat_id, replied.message_id)
    return None


@in_staff_locale
async def relay_from_staff(update: Update, context: BotContext) -> None:
    """What staff write in a ticket's topic goes to the worker, from the bot."""
    message = update.effective_message
    if message is None:
        return
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return  # the General topic, or chatter that is not about a ticket
    if ticket.state is not TicketState.OPEN:
        await _note_to_staff(
            context, ticket, _("⚠️ This ticket is closed; /reopen it to write to the worker.")
        )
        return
    delivered = await _to_worker(context, ticket, message)
    if delivered is not None:
        async with context.bot_data.db.session() as session:
            await SupportRepository(session).record(
                ticket.id,
                "staff",
                worker_message_id=delivered,
                staff_chat_id=message.chat_id,
                staff_message_id=message.message_id,
            )


@in_staff_locale
async def note(update: Update, context: BotContext) -> None:
    """/note <text>: stays in the topic for staff; the worker never sees it."""
    ticket = await _staff_ticket(update, context)
    if ticket is None or update.effective_message is None:
        return
    async with context.bot_data.db.session() as session:
        await SupportRepository(session).record(
            ticket.id,
            "note",
            staff_chat_id=update.effective_message.chat_id,
            staff_message_id=update.effective_message.message_id,
        )
    await _note_to_staff(context, ticket, _("📝 Note kept for staff only."))


@in_staff_locale
async def reply_canned(update: Update, context: BotContext) -> None:
    """/reply <key>: a canned answer in the worker's language; /reply alone lists the keys."""
    message = update.effective_message
    if message is None:
        return
    keys = [arg for arg in context.args or [] if not arg.lstrip("#").isdigit()]
    if not keys:
        listing = "\n".join(f"/reply {reply.key} — {_(reply.title)}" for reply in CANNED_REPLIES)
        await message.reply_text(
            directional(_("Canned answers, sent in the worker's language:") + "\n" + listing)
        )
        return
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        await message.reply_text(
            directional(_("Use /reply in a ticket's topic (or add the ticket number)."))
        )
        return
    text = canned_text(keys[0], ticket.locale)
    if text is None:
        await message.reply_text(
            directional(_("No canned answer '{key}'. /reply lists them.").format(key=keys[0]))
        )
        return
    with use_locale(ticket.locale):
        header = _("💬 Support · request #{number}").format(number=ticket.id)
    delivered = await _send_worker_text(context, ticket, f"{header}\n{text}")
    if delivered is not None:
        sent = _("📤 Sent '{key}' in {language}:").format(
            key=keys[0], language=native_name(ticket.locale)
        )
        await _note_to_staff(context, ticket, f"{sent}\n{text}")


@in_staff_locale
async def close(update: Update, context: BotContext) -> None:
    """/close: the worker is told in their language and asked to rate the help."""
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return
    async with context.bot_data.db.session() as session:
        closed = await SupportRepository(session).set_state(ticket.id, TicketState.CLOSED)
    if not closed:
        await _note_to_staff(context, ticket, _("This ticket is already closed."))
        return
    with use_locale(ticket.locale):
        text = _(
            "✅ Your request #{number} is closed. If you need more help, use /support again. "
            "How helpful were we?"
        ).format(number=ticket.id)
    await _send_worker_text(context, ticket, text, _rating_keyboard(ticket.id))
    await _note_to_staff(context, ticket, _("✅ Ticket #{number} closed.").format(number=ticket.id))
    if ticket.topic_id is not None:
        # Closing the topic is a courtesy; the ticket's state is what counts.
        with contextlib.suppress(TelegramError):
            await context.bot.close_forum_topic(ticket.staff_chat_id, ticket.topic_id)


@in_staff_locale
async def reopen(update: Update, context: BotContext) -> None:
    """/reopen: the ticket takes messages again (unless the worker opened a new one)."""
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        other = await support.open_ticket_of(ticket.telegram_user_id)
        if other is not None and other.id != ticket.id:
            await _note_to_staff(
                context,
                ticket,
                _("The worker has another open ticket: #{number}.").format(number=other.id),
            )
            return
        reopened = await support.set_state(ticket.id, TicketState.OPEN)
    if not reopened:
        await _note_to_staff(context, ticket, _("This ticket is already open."))
        return
    if ticket.topic_id is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.reopen_forum_topic(ticket.staff_chat_id, ticket.topic_id)
    with use_locale(ticket.locale):
        text = _("🙋 Your request #{number} is open again. Write here to add anything.").format(
            number=ticket.id
        )
    await _send_worker_text(context, ticket, text)
    await _note_to_staff(
        context, ticket, _("🔄 Ticket #{number} reopened.").format(number=ticket.id)
    )


@in_staff_locale
async def ban(update: Update, context: BotContext) -> None:
    """/ban: the worker's messages are ignored from now on (they are told once, politely)."""
    ticket = await _staff_ticket(update, context)
    staff = update.effective_user
    if ticket is None or staff is None:
        return
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        banned = await support.ban(ticket.telegram_user_id, staff.id)
        await support.set_state(ticket.id, TicketState.CLOSED)
        if banned:
            row = await support.ban_of(ticket.telegram_user_id)
            if row is not None:
                row.notified = True
            await AuditRepository(session).record(
                f"tg:{staff.id}", "support.banned", f"ticket:{ticket.id}"
            )
    if not banned:
        await _note_to_staff(context, ticket, _("The worker is already banned."))
        return
    with use_locale(ticket.locale):
        text = _(
            "Our support team can no longer take your messages here. The bot's other "
            "services stay available to you."
        )
    await _send_worker_text(context, ticket, text)
    await _note_to_staff(context, ticket, _("🚫 Worker banned; their messages are ignored."))


@in_staff_locale
async def unban(update: Update, context: BotContext) -> None:
    """/unban: support takes the worker's messages again."""
    ticket = await _staff_ticket(update, context)
    staff = update.effective_user
    if ticket is None or staff is None:
        return
    async with context.bot_data.db.session() as session:
        lifted = await SupportRepository(session).unban(ticket.telegram_user_id)
        if lifted:
            await AuditRepository(session).record(
                f"tg:{staff.id}", "support.unbanned", f"ticket:{ticket.id}"
            )
    await _note_to_staff(
        context, ticket, _("✅ Ban lifted.") if lifted else _("The worker was not banned.")
    )


@in_staff_locale
async def tickets(update: Update, context: BotContext) -> None:
    """/tickets: the open tickets with their age."""
    message = update.effective_message
    if message is None:
        return
    async with context.bot_data.db.session() as session:
        open_tickets = await SupportRepository(session).open_tickets()
    if not open_tickets:
        await message.reply_text(directional(_("No open tickets. 🎉")))
        return
    now = utcnow()
    staff_locale = babel_locale(current_locale())
    lines = [
        f"#{ticket.id} · {native_name(ticket.locale)} · "
        f"{format_timedelta(now - ticket.opened_at, locale=staff_locale)} · "
        f"{_origin(ticket.origin)}"
        for ticket in open_tickets
    ]
    heading = ngettext("Open tickets ({count}):", "Open tickets ({count}):", len(lines))
    await message.reply_text(
        directional(heading.format(count=len(lines)) + "\n" + "\n".join(lines))
    )


# --- the staff group ---------------------------------------------------------------------


async def _is_forum(context: BotContext, chat_id: int) -> bool:
    known = context.bot_data.staff_forums
    if chat_id not in known:
        chat = await context.bot.get_chat(chat_id)
        known[chat_id] = bool(chat.is_forum)
    return known[chat_id]


def _origin(origin: str) -> str:
    """Where a ticket was opened from, in the current locale (unknown codes as they are)."""
    label = ORIGIN_LABELS.get(origin)
    return _(label) if label is not None else origin


async def _card(context: BotContext, ticket: TicketView, name: str) -> str:
    """The ticket card staff see first: who, their language, a masked permit summary."""
    async with context.bot_data.db.session() as session:
        permit_id = await LinkRepository(session).permit_of(ticket.telegram_user_id)
        permit = await PermitRepository(session).full(permit_id) if permit_id else None
        recent = await AuditRepository(session).recent(f"tg:{ticket.telegram_user_id}", 5)
    question = await last_question(context.bot_data.db, ticket.telegram_user_id)
    with use_locale(context.bot_data.settings.staff_locale):
        lines = [
            _("🎫 Ticket #{number} · {name}").format(number=ticket.id, name=isolate(name)),
            _("Language: {language} ({code})").format(
                language=native_name(ticket.locale), code=ticket.locale
            ),
            _("Opened from: {origin}").format(origin=_origin(ticket.origin)),
        ]
        if ticket.previous_ticket_id is not None:
            lines.append(_("Previous ticket: #{number}").format(number=ticket.previous_ticket_id))
        if permit is None:
            lines.append(_("Account: not linked to a permit"))
        else:
            lines += [
                _("Account: linked"),
                _("Permit: {number} · {status} · valid until {date} · category {category}").format(
                    number=isolate(f"{'•' * 14}{permit.permit_no[-4:]}"),
                    status=_(PERMIT_STATUS_LABELS[permit.status]),
                    date=isolate(permit.valid_until.isoformat()),
                    category=permit.category.value,
                ),
                _("Employer: {employer}").format(employer=isolate(permit.employer.name)),
            ]
            open_applications = [
                f"  {_(APPLICATION_KIND_LABELS[app.kind])} {isolate(app.reference_no)}: "
                f"{_(APPLICATION_STATUS_LABELS[app.status])}"
                for app in permit.applications
                if app.status.value
                in ("submitted", "pre_review", "documents_requested", "under_review")
            ]
            lines.append(
                _("Open applications:") if open_applications else _("Open applications: none")
            )
            lines += open_applications
        if question is not None:
            text, intent = question
            lines.append(
                _("Last question typed ({intent}): «{question}»").format(
                    intent=intent or _("not understood"), question=text
                )
            )
        if recent:
            lines.append(_("Recent activity:"))
            lines += [f"  {at:%Y-%m-%d %H:%M} UTC · {action}" for at, action in recent]
        lines.append(
            "\n"
            + _(
                "Write here to answer (staff stay anonymous). /note <text> stays internal; "
                "/reply lists canned answers; /close, /reopen, /ban, /unban."
            )
        )
        return directional("\n".join(lines))


async def _place(context: BotContext, ticket: TicketView, name: str) -> TicketView:
    """Create the ticket's topic (or its card message in a group without topics)."""
    chat_id = ticket.staff_chat_id
    card = await _card(context, ticket, name)
    topic_id: int | None = None
    if await _is_forum(context, chat_id):
        title = f"#{ticket.id} · {name} · {native_name(ticket.locale)}"[:128]
        topic = await context.bot.create_forum_topic(chat_id, title)
        topic_id = topic.message_thread_id
        sent = await context.bot.send_message(chat_id, card, message_thread_id=topic_id)
    else:
        sent = await context.bot.send_message(chat_id, card)
    async with context.bot_data.db.session() as session:
        support = SupportRepository(session)
        await support.place(ticket.id, topic_id=topic_id, card_message_id=sent.message_id)
        await support.record(
            ticket.id, "card", staff_chat_id=chat_id, staff_message_id=sent.message_id
        )
        placed = await support.get(ticket.id)
    assert placed is not None
    return placed


async def _to_staff(
    context: BotContext,
    ticket: TicketView,
    send: Callable[[int | None, ReplyParameters | None], Awaitable[Message | MessageId]],
    *,
    name: str,
) -> int | None:
    """Send into the ticket's place; a topic deleted by hand is recreated (card and all)."""
    for attempt in range(2):
        reply = (
            ReplyParameters(ticket.card_message_id, allow_sending_without_reply=True)
            if ticket.topic_id is None and ticket.card_message_id is not None
            else None
        )
        try:
            result = await send(ticket.topic_id, reply)
        except BadRequest as error:
            if TOPIC_GONE not in error.message.lower() or attempt:
                raise
            log.warning("support: ticket topic was deleted; recreating it")
            ticket = await _place(context, ticket, name)
            continue
        return int(result.message_id)
    return None


async def _note_to_staff(context: BotContext, ticket: TicketView, text: str) -> None:
    """Write `text` (already in STAFF_LOCALE) in the ticket's topic, for staff only."""
    with use_locale(context.bot_data.settings.staff_locale):
        text = directional(text)

    async def send(thread: int | None, reply: ReplyParameters | None) -> Message:
        return await context.bot.send_message(
            ticket.staff_chat_id, text, message_thread_id=thread, reply_parameters=reply
        )

    sent = await _to_staff(context, ticket, send, name=f"#{ticket.id}")
    async with context.bot_data.db.session() as session:
        await SupportRepository(session).record(
            ticket.id, "bot", staff_chat_id=ticket.staff_chat_id, staff_message_id=sent
        )


async def _reply_to_worker(context: BotContext, ticket: TicketView) -> ReplyParameters | None:
    async with context.bot_data.db.session() as session:
        last = await SupportRepository(session).last_worker_message(ticket.id)
    if last is None:
        return None
    return ReplyParameters(last, allow_sending_without_reply=True)


async def _send_worker_text(
    context: BotContext,
    ticket: TicketView,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> int | None:
    """Send text to the ticket's worker, guarded for their language's direction."""
    with use_locale(ticket.locale):
        text = directional(text)
    try:
        sent = await context.bot.send_message(
            ticket.telegram_user_id,
            text,
            reply_markup=markup,
            reply_parameters=await _reply_to_worker(context, ticket),
        )
    except Forbidden:
        await _note_to_staff(context, ticket, _("⚠️ Not delivered: the worker blocked the bot."))
        return None
    return sent.message_id


async def _to_worker(context: BotContext, ticket: TicketView, message: Message) -> int | None:
    """A staff message as the worker sees it: from the bot, under a short header."""
    if message.text is not None:
        with use_locale(ticket.locale):
            header = _("💬 Support · request #{number}").format(number=ticket.id)
        return await _send_worker_text(context, ticket, f"{header}\n{message.text}")
    try:
        copied = await context.bot.copy_message(
            ticket.telegram_user_id,
            message.chat_id,
            message.message_id,
            reply_parameters=await _reply_to_worker(context, ticket),
        )
    except Forbidden:
        await _note_to_staff(context, ticket, _("⚠️ Not delivered: the worker blocked the bot."))
        return None
    return int(copied.message_id)


def handlers_for(
    support_chat_id: int | None, admins: frozenset[int]
) -> list[BaseHandler[Update, BotContext, object]]:
    """The support handlers; staff ones only for the staff group (and the admins)."""
    worker_content = (
        filters.TEXT | filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.VIDEO
        | filters.AUDIO | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.LOCATION
        | filters.CONTACT
    )  # fmt: skip
    result: list[BaseHandler[Update, BotContext, object]] = [
        CommandHandler("support", open_support),
        CallbackQueryHandler(open_support, pattern=f"^{OPEN}(:lockout)?$"),
        CallbackQueryHandler(rate, pattern=f"^{RATE_PREFIX}"),
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & worker_content & HasOpenTicket(),
            relay_from_worker,
        ),
    ]
    if support_chat_id is None:
        return result
    staff = filters.Chat(chat_id=support_chat_id)
    anywhere = staff | (filters.User(user_id=admins) if admins else staff)
    result += [
        CommandHandler("note", note, filters=staff),
        CommandHandler("reply", reply_canned, filters=anywhere),
        CommandHandler("close", close, filters=anywhere),
        CommandHandler("reopen", reopen, filters=anywhere),
        CommandHandler("ban", ban, filters=anywhere),
        CommandHandler("unban", unban, filters=anywhere),
        CommandHandler("tickets", tickets, filters=anywhere),
        MessageHandler(
            staff & ~filters.COMMAND & ~filters.StatusUpdate.ALL & ~filters.VIA_BOT,
            relay_from_staff,
        ),
    ]
    return result


class HasOpenTicket(filters.MessageFilter):
    """The sender has an open support ticket (known from the update's visitor)."""

    def filter(self, message: Message) -> bool:
        current = visitor()
        return current is not None and current.open_ticket is not None
