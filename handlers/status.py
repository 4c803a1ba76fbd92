"""The /status journey: the permit, its deadlines and next steps, and the applications."""

from __future__ import annotations

from datetime import tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.deadlines import ExtensionWindow
from bot.i18n import _, format_day, format_moment, isolate, mid_sentence, ngettext
from bot.permits import (
    APPLICATION_KIND_LABELS,
    APPLICATION_STATUS_LABELS,
    CATEGORY_LABELS,
    PERMIT_STATUS_LABELS,
    PermitOverview,
)
from handlers.link import require_link
from handlers.menu import MenuAction, show
from storage.identifiers import mask
from storage.models import ApplicationStatus, PermitStatus

TIMELINE_PAGE = 6
APPS_PREFIX = "status:apps:"


def days_left_text(days: int) -> str:
    """'N days left' with the locale's plural rules."""
    return ngettext("{n} day left", "{n} days left", days).format(n=days)


def deadline_lines(overview: PermitOverview) -> list[str]:
    """The deadlines and next steps that apply to this permit today."""
    details, extension = overview.details, overview.extension
    lines: list[str] = []
    if details.status is PermitStatus.CANCELLED:
        lines.append(
            _(
                "This work permit has been cancelled. You may not work on it. A new employer "
                "has to apply for a new work permit for you."
            )
        )
    elif extension.window is ExtensionWindow.EXPIRED or details.status is PermitStatus.EXPIRED:
        lines.append(
            _(
                "Your work permit expired on {date}. It can no longer be extended and will be "
                "cancelled. You may not work on it; your employer has to apply for a new "
                "work permit."
            ).format(date=isolate(format_day(details.valid_until)))
        )
    elif extension.window is ExtensionWindow.NOT_YET:
        lines.append(
            _(
                "Extension: you can apply from {opens} (90 days before expiry) until {last} "
                "(30 days before expiry)."
            ).format(
                opens=isolate(format_day(extension.opens_on)),
                last=isolate(format_day(extension.last_day)),
            )
        )
    elif extension.window is ExtensionWindow.OPEN:
        days = extension.days_to_last_day
        lines.append(
            ngettext(
                "Extension: the window is open now. Apply in the Service System by {last} at "
                "the latest ({n} day from today); after that the system refuses extension "
                "applications.",
                "Extension: the window is open now. Apply in the Service System by {last} at "
                "the latest ({n} days from today); after that the system refuses extension "
                "applications.",
                days,
            ).format(last=isolate(format_day(extension.last_day)), n=days)
        )
    else:
        lines.append(
            _(
                "Extension: the window closed on {last}, because the system refuses "
                "applications with fewer than 30 days left. Without an extension the permit "
                "lapses after {until} and is cancelled. Talk to your employer now."
            ).format(
                last=isolate(format_day(extension.last_day)),
                until=isolate(format_day(details.valid_until)),
            )
        )
    for application in overview.applications:
        if application.status is ApplicationStatus.DOCUMENTS_REQUESTED:
            lines.append(
                _(
                    "Your {kind} application {reference} needs more documents: {note} Upload "
                    "them in the Service System; pre-review takes about 5 working days."
                ).format(
                    kind=mid_sentence(_(APPLICATION_KIND_LABELS[application.kind])),
                    reference=isolate(application.reference_no),
                    note=application.latest_note or "",
                )
            )
        elif application.is_open:
            lines.append(
                _("Your {kind} application {reference} is {status}.").format(
                    kind=mid_sentence(_(APPLICATION_KIND_LABELS[application.kind])),
                    reference=isolate(application.reference_no),
                    status=_(APPLICATION_STATUS_LABELS[application.status]),
                )
            )
    if details.status is PermitStatus.VALID:
        lines.append(
            _(
                "Changes: if your position or your employer's details change, or your "
                "employment ends, your employer must file it within 10 working days. For a "
                "change today, that is by {date}."
            ).format(date=isolate(format_day(overview.filing_due)))
        )
    return lines


def status_text(overview: PermitOverview) -> str:
    """The permit card with its deadlines, in the current language."""
    details = overview.details
    days_left = overview.extension.days_left
    until = format_day(details.valid_until)
    if details.status is PermitStatus.VALID and days_left >= 0:
        until = _("{date} ({days})").format(date=until, days=days_left_text(days_left))
    card = _(
        "📋 Your work permit\n"
        "\n"
        "Status: {status}\n"
        "Permit number: {permit}\n"
        "Category: {category}\n"
        "Employer: {employer}\n"
        "Position: {position}\n"
        "Work city: {city}\n"
        "Valid until: {until}"
    ).format(
        status=_(PERMIT_STATUS_LABELS[details.status]),
        permit=isolate(mask(details.permit_no)),
        category=_(CATEGORY_LABELS[details.category]),
        employer=isolate(details.employer_name),
        position=isolate(details.position),
        city=isolate(details.work_city),
        until=isolate(until),
    )
    steps = "\n".join("• " + line for line in deadline_lines(overview))
    return card + "\n\n" + _("⏰ Deadlines and next steps") + "\n" + steps


def status_keyboard(overview: PermitOverview) -> InlineKeyboardMarkup:
    """Buttons under the permit card."""
    rows = []
    if overview.timeline:
        rows.append(
            [
                InlineKeyboardButton(
                    _("📜 Applications and history"), callback_data=f"{APPS_PREFIX}0"
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)])
    return InlineKeyboardMarkup(rows)


async def _overview(update: Update, context: BotContext) -> PermitOverview | None:
    """The linked permit's overview, authorized from the database (never from button data)."""
    permit_id = await require_link(update)
    return None if permit_id is None else await context.bot_data.permits.overview(permit_id)


async def status(update: Update, context: BotContext) -> None:
    """Show the permit card with its deadlines and next steps."""
    if update.callback_query:
        await update.callback_query.answer()
    overview = await _overview(update, context)
    if overview is not None:
        await show(update, status_text(overview), status_keyboard(overview))


def applications_text(overview: PermitOverview, page: int, tz: tzinfo) -> str:
    """The applications and one page of their timeline, newest first."""
    lines = [_("📜 Applications")]
    for application in overview.applications:
        lines.append(
            _("{kind} {reference}: {status} (submitted {date})").format(
                kind=_(APPLICATION_KIND_LABELS[application.kind]),
                reference=isolate(application.reference_no),
                status=_(APPLICATION_STATUS_LABELS[application.status]),
                date=isolate(format_day(application.submitted_at.date())),
            )
        )
    pages = max(1, -(-len(overview.timeline) // TIMELINE_PAGE))
    lines += [
        "",
        _("🕓 History (page {page} of {pages}, newest first)").format(page=page + 1, pages=pages),
    ]
    start = page * TIMELINE_PAGE
    for entry in overview.timeline[start : start + TIMELINE_PAGE]:
        line = _("{when} — {kind} {reference}: {status}").format(
            when=isolate(format_moment(entry.at, tz)),
            kind=_(APPLICATION_KIND_LABELS[entry.kind]),
            reference=isolate(entry.reference_no),
            status=_(APPLICATION_STATUS_LABELS[entry.status]),
        )
        lines.append(line + (f"\n   {entry.note}" if entry.note else ""))
    return "\n".join(lines)


async def applications(update: Update, context: BotContext) -> None:
    """A page of the applications timeline."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    raw = query.data.removeprefix(APPS_PREFIX)
    overview = await _overview(update, context)
    if overview is None:
        await query.answer()
        return
    pages = max(1, -(-len(overview.timeline) // TIMELINE_PAGE))
    if not raw.isdigit() or int(raw) >= pages:
        await query.answer(_("This button is no longer available."))
        return
    await query.answer()
    page = int(raw)
    navigation = []
    if page > 0:
        navigation.append(
            InlineKeyboardButton(_("◀️ Newer"), callback_data=f"{APPS_PREFIX}{page - 1}")
        )
    if page + 1 < pages:
        navigation.append(
            InlineKeyboardButton(_("Older ▶️"), callback_data=f"{APPS_PREFIX}{page + 1}")
        )
    rows = [navigation] if navigation else []
    rows.append([InlineKeyboardButton(_("⬅️ Back to my permit"), callback_data=MenuAction.STATUS)])
    text = applications_text(overview, page, context.bot_data.settings.tz)
    await show(update, text, InlineKeyboardMarkup(rows))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("status", status),
        CallbackQueryHandler(status, pattern=f"^{MenuAction.STATUS}$"),
        CallbackQueryHandler(applications, pattern=f"^{APPS_PREFIX}"),
    ]
