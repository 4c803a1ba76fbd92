"""The employer side: link a chat with an invite code, list and export the workforce, unlink.

Every screen is authorized from the database by the chat it is used in: the employer is the
one linked to `update.effective_chat`, and a worker shown must belong to that employer, so a
button copied from another chat (or forged) shows nothing of anyone else's workers.
"""

from __future__ import annotations

import enum
import logging

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, Update
from telegram import InlineKeyboardMarkup as Markup
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import COMMANDS, BotContext, CommandSpec
from bot.employers import InviteOutcome
from bot.i18n import N_, _, current_locale, directional, format_day, isolate, ngettext
from bot.permits import (
    APPLICATION_KIND_LABELS,
    APPLICATION_STATUS_LABELS,
    CATEGORY_LABELS,
    PERMIT_STATUS_LABELS,
)
from bot.workforce import Worker, WorkforceFilter, export_filename, workforce_csv
from handlers.menu import show
from handlers.status import days_left_text
from storage.identifiers import mask
from storage.models import PermitStatus
from storage.repositories import EmployerRef

log = logging.getLogger(__name__)

PAGE_SIZE = 10
EMPLOYER_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("employees", N_("Our workers: permits and days left")),
    CommandSpec("export", N_("Our workers' permits as a CSV file")),
    CommandSpec("employer_unlink", N_("Unlink this chat from the employer")),
)
FILTER_LABELS = {
    WorkforceFilter.ALL: N_("All"),
    WorkforceFilter.EXPIRING: N_("Expiring within 90 days"),
    WorkforceFilter.APPLYING: N_("Application in progress"),
    WorkforceFilter.EXPIRED: N_("Expired"),
}


class EmployerAction(enum.StrEnum):
    """Callback data of the employer screens (prefixes take `:`-separated values)."""

    LIST = "emp:list:"  # <filter>:<page>
    WORKER = "emp:w:"  # <permit id>:<filter>:<page>
    UNLINK_YES = "emp:unlink:yes"
    UNLINK_NO = "emp:unlink:no"


def employer_help_text(employer: EmployerRef) -> str:
    """The employer commands, for a chat linked to `employer`."""
    return _(
        "🏢 This chat is linked to {employer}. Here I post notices about your workers' "
        "permits and applications.\n"
        "\n"
        "/employees — your workers with their permit status and days left\n"
        "/export — all your workers' permits as a CSV file (opens in Excel)\n"
        "/employer_unlink — stop linking this chat to the employer\n"
        "/help — this help"
    ).format(employer=isolate(employer.name))


def not_linked_text() -> str:
    """Why the employer commands do nothing here, and how to link the chat."""
    return _(
        "This chat is not linked to an employer. To link it, ask the operator of this bot "
        "for an employer invite code, then open the invite link or send /start followed "
        "by the code in this chat."
    )


async def linked_employer(update: Update, context: BotContext) -> EmployerRef | None:
    """The employer the update's chat is linked to (None when none, or no chat)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.bot_data.employers.employer_of_chat(chat.id)


async def _require_employer(update: Update, context: BotContext) -> EmployerRef | None:
    """The chat's employer; elsewhere explain politely how to link the chat (None)."""
    employer = await linked_employer(update, context)
    if employer is not None:
        return employer
    query = update.callback_query
    if query is not None:
        await query.answer(_("This chat is not linked to an employer."), show_alert=True)
    elif update.effective_chat is not None:
        await update.effective_chat.send_message(directional(not_linked_text()))
    return None


# --- linking -----------------------------------------------------------------------------


async def _set_chat_commands(context: BotContext, chat_id: int, private: bool) -> None:
    """Show the employer commands in this chat's command menu (best effort)."""
    help_spec = tuple(spec for spec in COMMANDS if spec.name == "help")
    specs = EMPLOYER_COMMANDS + (COMMANDS if private else help_spec)
    commands = [BotCommand(spec.name, _(spec.description)) for spec in specs]
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError as error:
        log.warning("employer commands not registered", extra={"error": type(error).__name__})


async def _clear_chat_commands(context: BotContext, chat_id: int) -> None:
    """Back to the default command menu in this chat (best effort)."""
    try:
        await context.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError as error:
        log.warning("employer commands not removed", extra={"error": type(error).__name__})


def _link_answer(outcome: InviteOutcome, employer: EmployerRef | None) -> str:
    name = isolate(employer.name) if employer is not None else ""
    if outcome is InviteOutcome.LINKED and employer is not None:
        return (
            _("✅ Done: this chat is now linked to {employer}.").format(employer=name)
            + "\n\n"
            + employer_help_text(employer)
        )
    if outcome is InviteOutcome.ALREADY_LINKED and employer is not None:
        return (
            _("This chat is already linked to {employer}. Nothing was changed.").format(
                employer=name
            )
            + "\n\n"
            + employer_help_text(employer)
        )
    if outcome is InviteOutcome.OTHER_EMPLOYER:
        return _(
            "This chat is already linked to {employer}. To link it to another employer, "
            "first send /employer_unlink here, then use the invite code again."
        ).format(employer=name)
    if outcome is InviteOutcome.EXPIRED:
        return _("This invite code has expired. Please ask for a new one.")
    if outcome is InviteOutcome.USED:
        return _(
            "This invite code has already been used: each code links one chat only. "
            "Please ask for a new one."
        )
    return _(
        "This invite code is not valid. Check that you copied all of it, or ask for a new one."
    )


async def link_chat(update: Update, context: BotContext, code: str) -> None:
    """`/start <invite code>`: link this chat (private or group) to the code's employer."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    result = await context.bot_data.employers.link(
        code, chat_id=chat.id, chat_type=chat.type, user_id=user.id, locale=current_locale()
    )
    if result.outcome is InviteOutcome.LINKED:
        await _set_chat_commands(context, chat.id, chat.type == "private")
    await chat.send_message(directional(_link_answer(result.outcome, result.employer)))


async def ask_unlink(update: Update, context: BotContext) -> None:
    """`/employer_unlink`: ask before unlinking the chat."""
    employer = await _require_employer(update, context)
    if employer is None:
        return
    text = _(
        "Unlink this chat from {employer}? It will stop getting notices about your workers, "
        "and /employees and /export will stop working here. Linking again needs a new "
        "invite code."
    ).format(employer=isolate(employer.name))
    markup = Markup(
        [
            [
                InlineKeyboardButton(_("Unlink"), callback_data=EmployerAction.UNLINK_YES),
                InlineKeyboardButton(_("Keep"), callback_data=EmployerAction.UNLINK_NO),
            ]
        ]
    )
    await show(update, text, markup)


async def unlink(update: Update, context: BotContext) -> None:
    """The confirmed unlink, by a member of the chat where it was asked."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    employer = await context.bot_data.employers.unlink(chat.id, user.id)
    if employer is None:
        await query.answer(_("This chat is not linked to an employer."), show_alert=True)
        return
    await query.answer()
    await _clear_chat_commands(context, chat.id)
    await show(
        update,
        _("Done: this chat is no longer linked to {employer}.").format(
            employer=isolate(employer.name)
        ),
    )


async def keep(update: Update, context: BotContext) -> None:
    """The unlink was not confirmed."""
    if update.callback_query:
        await update.callback_query.answer()
    await show(update, _("Nothing was changed."))


# --- the workforce list ------------------------------------------------------------------


def _standing(worker: Worker) -> str:
    """Status and days left, in a few words."""
    if worker.status is PermitStatus.CANCELLED:
        return _(PERMIT_STATUS_LABELS[PermitStatus.CANCELLED])
    if worker.is_expired:
        return _("⛔ Expired on {date}").format(date=isolate(format_day(worker.valid_until)))
    return _("✅ Valid, {days}").format(days=days_left_text(worker.days_left))


def _applications_line(worker: Worker) -> str | None:
    if not worker.open_applications:
        return None
    return "; ".join(
        _("📨 {kind} application: {status}").format(
            kind=_(APPLICATION_KIND_LABELS[application.kind]),
            status=_(APPLICATION_STATUS_LABELS[application.status]),
        )
        for application in worker.open_applications
    )


def list_text(
    employer: EmployerRef, workers: list[Worker], which: WorkforceFilter, page: int
) -> str:
    """One page of the employer's workers, fewest days left first."""
    pages = max(1, -(-len(workers) // PAGE_SIZE))
    lines = [
        _("👥 Workers of {employer}").format(employer=isolate(employer.name)),
        _("{filter}: {count} (page {page} of {pages})").format(
            filter=_(FILTER_LABELS[which]),
            count=ngettext("{n} worker", "{n} workers", len(workers)).format(n=len(workers)),
            page=page + 1,
            pages=pages,
        ),
        "",
    ]
    if not workers:
        lines.append(_("No workers in this list."))
    first = page * PAGE_SIZE
    for number, worker in enumerate(workers[first : first + PAGE_SIZE], start=first + 1):
        lines.append(
            _("{number}. {name} — {standing}").format(
                number=number, name=isolate(worker.full_name), standing=_standing(worker)
            )
        )
        applications = _applications_line(worker)
        if applications:
            lines.append("    " + applications)
    return "\n".join(lines)


def list_keyboard(workers: list[Worker], which: WorkforceFilter, page: int) -> Markup:
    """A button per worker on the page, previous/next, and the filters."""
    pages = max(1, -(-len(workers) // PAGE_SIZE))
    first = page * PAGE_SIZE
    rows = [
        [
            InlineKeyboardButton(
                "👤 " + worker.full_name,
                callback_data=f"{EmployerAction.WORKER}{worker.permit_id}:{which}:{page}",
            )
        ]
        for worker in workers[first : first + PAGE_SIZE]
    ]
    navigation = []
    if page > 0:
        navigation.append(
            InlineKeyboardButton(
                _("◀️ Previous"), callback_data=f"{EmployerAction.LIST}{which}:{page - 1}"
            )
        )
    if page + 1 < pages:
        navigation.append(
            InlineKeyboardButton(
                _("Next ▶️"), callback_data=f"{EmployerAction.LIST}{which}:{page + 1}"
            )
        )
    if navigation:
        rows.append(navigation)
    choices = [
        InlineKeyboardButton(
            ("✓ " if option is which else "") + _(FILTER_LABELS[option]),
            callback_data=f"{EmployerAction.LIST}{option}:0",
        )
        for option in (
            WorkforceFilter.EXPIRING,
            WorkforceFilter.APPLYING,
            WorkforceFilter.EXPIRED,
            WorkforceFilter.ALL,
        )
    ]
    rows += [choices[:2], choices[2:]]
    return Markup(rows)


async def _show_list(
    update: Update, context: BotContext, employer: EmployerRef, which: WorkforceFilter, page: int
) -> None:
    workers = await context.bot_data.workforce.workers(employer.id, which)
    # A list that shrank since its buttons were drawn shows its last page.
    page = min(page, max(0, -(-len(workers) // PAGE_SIZE) - 1))
    await show(
        update, list_text(employer, workers, which, page), list_keyboard(workers, which, page)
    )


async def employees(update: Update, context: BotContext) -> None:
    """`/employees`: the first page of all workers."""
    employer = await _require_employer(update, context)
    if employer is not None:
        await _show_list(update, context, employer, WorkforceFilter.ALL, 0)


def _parse_list(data: str) -> tuple[WorkforceFilter, int] | None:
    which, _sep, page = data.partition(":")
    if not page.isdigit():
        return None
    try:
        return WorkforceFilter(which), int(page)
    except ValueError:
        return None


async def _stale(update: Update) -> None:
    if update.callback_query:
        await update.callback_query.answer(_("This button is no longer available."))


async def list_page(update: Update, context: BotContext) -> None:
    """A page of the list with a filter, from its buttons."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parsed = _parse_list(query.data.removeprefix(EmployerAction.LIST))
    if parsed is None:
        await _stale(update)
        return
    employer = await _require_employer(update, context)
    if employer is None:
        return
    await query.answer()
    await _show_list(update, context, employer, *parsed)


# --- one worker ----------------------------------------------------------------------------


def worker_text(worker: Worker) -> str:
    """A worker's permit as their employer sees it: no passport or social-security numbers."""
    until = isolate(format_day(worker.valid_until))
    if worker.status is PermitStatus.VALID and worker.days_left >= 0:
        until = _("{date} ({days})").format(date=until, days=days_left_text(worker.days_left))
    text = _(
        "👤 {name}\n"
        "\n"
        "Permit number: {permit}\n"
        "Status: {status}\n"
        "Category: {category}\n"
        "Position: {position}\n"
        "Work city: {city}\n"
        "Valid until: {until}\n"
        "Extension window: {opens} – {last}"
    ).format(
        name=isolate(worker.full_name),
        permit=isolate(mask(worker.permit_no)),
        status=_(PERMIT_STATUS_LABELS[worker.status]),
        category=_(CATEGORY_LABELS[worker.category]),
        position=isolate(worker.position),
        city=isolate(worker.work_city),
        until=until,
        opens=isolate(format_day(worker.extension.opens_on)),
        last=isolate(format_day(worker.extension.last_day)),
    )
    lines = [text, "", _("Applications in progress:")]
    for application in worker.open_applications:
        lines.append(
            "• "
            + _("{kind} {reference}: {status}").format(
                kind=_(APPLICATION_KIND_LABELS[application.kind]),
                reference=isolate(application.reference_no),
                status=_(APPLICATION_STATUS_LABELS[application.status]),
            )
        )
    if not worker.open_applications:
        lines.append("• " + _("none"))
    return "\n".join(lines)


async def worker_detail(update: Update, context: BotContext) -> None:
    """A worker's detail, only if they work for the employer linked to this chat."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    permit, _sep, rest = query.data.removeprefix(EmployerAction.WORKER).partition(":")
    back = _parse_list(rest)
    if not permit.isdigit() or back is None:
        await _stale(update)
        return
    employer = await _require_employer(update, context)
    if employer is None:
        return
    worker = await context.bot_data.workforce.worker(employer.id, int(permit))
    if worker is None:
        await query.answer(_("This worker is not on your employer's list."), show_alert=True)
        return
    await query.answer()
    which, page = back
    markup = Markup(
        [
            [
                InlineKeyboardButton(
                    _("⬅️ Back to the list"), callback_data=f"{EmployerAction.LIST}{which}:{page}"
                )
            ]
        ]
    )
    await show(update, worker_text(worker), markup)


# --- the export ----------------------------------------------------------------------------


async def export(update: Update, context: BotContext) -> None:
    """`/export`: the whole workforce as a CSV document."""
    employer = await _require_employer(update, context)
    chat = update.effective_chat
    if employer is None or chat is None:
        return
    workforce = context.bot_data.workforce
    workers = await workforce.workers(employer.id)
    today = workforce.today()
    caption = _("Workforce of {employer} as of {date}: {count}.").format(
        employer=isolate(employer.name),
        date=isolate(format_day(today)),
        count=ngettext("{n} worker", "{n} workers", len(workers)).format(n=len(workers)),
    )
    await chat.send_document(
        document=workforce_csv(workers),
        filename=export_filename(employer, today),
        caption=directional(caption),
    )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers (`/start <code>` comes through the start journey)."""
    return [
        CommandHandler("employees", employees),
        CommandHandler("export", export),
        CommandHandler("employer_unlink", ask_unlink),
        CallbackQueryHandler(list_page, pattern=f"^{EmployerAction.LIST}"),
        CallbackQueryHandler(worker_detail, pattern=f"^{EmployerAction.WORKER}"),
        CallbackQueryHandler(unlink, pattern=f"^{EmployerAction.UNLINK_YES}$"),
        CallbackQueryHandler(keep, pattern=f"^{EmployerAction.UNLINK_NO}$"),
    ]
