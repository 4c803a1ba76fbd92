"""The /settings journey: which notifications a person gets, and their quiet hours.

Deadline reminders are the one kind whose loss can cost the permit, so switching them off
asks first, with what missing the 30-day cut-off means.
"""

from __future__ import annotations

import enum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.app import BotContext
from bot.i18n import N_, _, isolate
from bot.notification_preferences import PreferenceStore, PreferenceView
from bot.preferences import NotificationKind, QuietHours
from handlers.conversation import visitor
from handlers.menu import MenuAction, pressed_choice, show

KIND_PREFIX = "settings:kind:"
QUIET_PREFIX = "settings:quiet:"


class SettingsAction(enum.StrEnum):
    """Callback data of the settings screen's other buttons."""

    QUIET_HOURS = "settings:quiet"
    MUTE_REMINDERS = "settings:mute_reminders"  # confirmed after the warning
    KEEP_REMINDERS = "settings:keep_reminders"


class QuietChoice(enum.StrEnum):
    """The quiet hours on offer (after `QUIET_PREFIX` in callback data)."""

    OFF = "off"
    FROM_21 = "21-08"
    FROM_22 = "22-07"
    FROM_23 = "23-09"
    DEFAULT = "default"


QUIET_VALUES: dict[QuietChoice, str | None] = {
    QuietChoice.OFF: "off",
    QuietChoice.FROM_21: "21:00-08:00",
    QuietChoice.FROM_22: "22:00-07:00",
    QuietChoice.FROM_23: "23:00-09:00",
    QuietChoice.DEFAULT: None,  # the operator's QUIET_HOURS
}
KIND_LABELS = {
    NotificationKind.PERMIT: N_("Permit news"),
    NotificationKind.APPLICATIONS: N_("Applications"),
    NotificationKind.CARD: N_("Social security card"),
    NotificationKind.REMINDERS: N_("Deadline reminders"),
}
ON, OFF = "✅", "🔕"


def hours_text(quiet: QuietHours | None) -> str:
    """`21:00–08:00`, or "off" in the current language."""
    if quiet is None:
        return _("off")
    return isolate(f"{quiet.start:%H:%M}–{quiet.end:%H:%M}")


def _store(context: BotContext) -> PreferenceStore:
    return PreferenceStore(context.bot_data.db, context.bot_data.settings.quiet_hours)


def settings_text(view: PreferenceView, note: str | None = None) -> str:
    """The settings screen, with the confirmation of the last change on top."""
    if view.quiet_hours is None:
        quiet = _("🌙 Quiet hours: off. Notifications arrive at any time of day.")
    elif view.own_quiet_hours:
        quiet = _(
            "🌙 Quiet hours: {hours}. Notifications that come in these hours wait until they "
            "end; none is lost."
        ).format(hours=hours_text(view.quiet_hours))
    else:
        quiet = _(
            "🌙 Quiet hours: {hours} (the default). Notifications that come in these hours "
            "wait until they end; none is lost."
        ).format(hours=hours_text(view.quiet_hours))
    lines = [
        _("🔔 Notifications"),
        "",
        _("Tap a kind to switch it on (✅) or off (🔕)."),
        "",
        quiet,
    ]
    if note:
        lines[:0] = [note, ""]
    return "\n".join(lines)


def settings_keyboard(view: PreferenceView) -> InlineKeyboardMarkup:
    """One toggle per kind of notice, quiet hours, and back to the menu."""
    rows = [
        [
            InlineKeyboardButton(
                f"{OFF if kind in view.muted else ON} {_(label)}",
                callback_data=KIND_PREFIX + kind.value,
            )
        ]
        for kind, label in KIND_LABELS.items()
    ]
    hours = hours_text(view.quiet_hours)
    rows.append(
        [
            InlineKeyboardButton(
                _("🌙 Quiet hours: {hours}").format(hours=hours),
                callback_data=SettingsAction.QUIET_HOURS,
            )
        ]
    )
    rows.append([InlineKeyboardButton(_("⬅️ Main menu"), callback_data=MenuAction.HOME)])
    return InlineKeyboardMarkup(rows)


async def _show_settings(
    update: Update, context: BotContext, view: PreferenceView | None = None, note: str = ""
) -> None:
    current = visitor()
    if current is None:
        return
    if view is None:
        view = await _store(context).load(current.user_id)
    await show(update, settings_text(view, note), settings_keyboard(view))


async def settings(update: Update, context: BotContext) -> None:
    """Show the notification settings (the /settings command and the menu button)."""
    if update.callback_query:
        await update.callback_query.answer()
    await _show_settings(update, context)


def _reminders_warning() -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "⚠️ Turn off deadline reminders?\n"
        "\n"
        "They tell you when the extension window opens, when the last day to apply comes, "
        "and when your Notification Letter is about to lapse. The Service System refuses "
        "extension applications with fewer than 30 days left: if that cut-off is missed, "
        "your work permit lapses and is cancelled, and your employer has to apply for a new "
        "one.\n"
        "\n"
        "You can always see your deadlines with /status."
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🔕 Turn off anyway"), callback_data=SettingsAction.MUTE_REMINDERS
                )
            ],
            [
                InlineKeyboardButton(
                    _("✅ Keep reminders on"), callback_data=SettingsAction.KEEP_REMINDERS
                )
            ],
        ]
    )
    return text, keyboard


def _switched(kind: NotificationKind, muted: bool) -> str:
    label = _(KIND_LABELS[kind])
    if muted:
        return _("🔕 {kind}: off. You will not get these notifications.").format(kind=label)
    return _("✅ {kind}: on. You will get these notifications again.").format(kind=label)


async def toggle_kind(update: Update, context: BotContext) -> None:
    """Switch a kind of notice on or off; deadline reminders ask before going off."""
    kind = await pressed_choice(update, KIND_PREFIX, NotificationKind)
    current = visitor()
    if kind is None or current is None:
        return
    store = _store(context)
    view = await store.load(current.user_id)
    muting = kind not in view.muted
    if muting and kind is NotificationKind.REMINDERS:
        await show(update, *_reminders_warning())
        return
    view = await store.set_muted(current.user_id, kind, muted=muting)
    await _show_settings(update, context, view, _switched(kind, muting))


async def mute_reminders(update: Update, context: BotContext) -> None:
    """Switch deadline reminders off, after the warning was confirmed."""
    query = update.callback_query
    current = visitor()
    if query is None or current is None:
        return
    await query.answer()
    kind = NotificationKind.REMINDERS
    view = await _store(context).set_muted(current.user_id, kind, muted=True)
    note = (
        _switched(kind, muted=True)
        + " "
        + _("Check your deadlines with /status from time to time.")
    )
    await _show_settings(update, context, view, note)


async def keep_reminders(update: Update, context: BotContext) -> None:
    """The person changed their mind: reminders stay on."""
    if update.callback_query:
        await update.callback_query.answer()
    await _show_settings(update, context, note=_("✅ Deadline reminders stay on."))


def quiet_keyboard(default: QuietHours | None) -> InlineKeyboardMarkup:
    """The quiet-hours choices, the operator's default named with its hours."""
    labels = {
        QuietChoice.OFF: _("Off"),
        QuietChoice.FROM_21: isolate("21:00–08:00"),
        QuietChoice.FROM_22: isolate("22:00–07:00"),
        QuietChoice.FROM_23: isolate("23:00–09:00"),
        QuietChoice.DEFAULT: _("Default ({hours})").format(hours=hours_text(default)),
    }
    rows = [
        [InlineKeyboardButton(label, callback_data=QUIET_PREFIX + choice.value)]
        for choice, label in labels.items()
    ]
    rows.append([InlineKeyboardButton(_("⬅️ Back"), callback_data=MenuAction.SETTINGS)])
    return InlineKeyboardMarkup(rows)


async def ask_quiet_hours(update: Update, context: BotContext) -> None:
    """Offer the quiet-hours choices."""
    if update.callback_query:
        await update.callback_query.answer()
    text = _(
        "🌙 Quiet hours: in these hours notifications wait, and arrive when they end. The "
        "times are in {zone} time. Choose yours:"
    ).format(zone=isolate(context.bot_data.settings.TIMEZONE))
    await show(update, text, quiet_keyboard(context.bot_data.settings.quiet_hours))


async def pick_quiet_hours(update: Update, context: BotContext) -> None:
    """Store the chosen quiet hours and confirm them."""
    choice = await pressed_choice(update, QUIET_PREFIX, QuietChoice)
    current = visitor()
    if choice is None or current is None:
        return
    view = await _store(context).set_quiet_hours(current.user_id, QUIET_VALUES[choice])
    if view.quiet_hours is None:
        note = _("🌙 Quiet hours are off: notifications arrive at any time of day.")
    elif choice is QuietChoice.DEFAULT:
        note = _("🌙 Quiet hours are back to the default: {hours}.")
    else:
        note = _("🌙 Quiet hours set to {hours}.")
    await _show_settings(update, context, view, note.format(hours=hours_text(view.quiet_hours)))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """This journey's handlers."""
    return [
        CommandHandler("settings", settings),
        CallbackQueryHandler(settings, pattern=f"^{MenuAction.SETTINGS}$"),
        CallbackQueryHandler(toggle_kind, pattern=f"^{KIND_PREFIX}"),
        CallbackQueryHandler(mute_reminders, pattern=f"^{SettingsAction.MUTE_REMINDERS}$"),
        CallbackQueryHandler(keep_reminders, pattern=f"^{SettingsAction.KEEP_REMINDERS}$"),
        CallbackQueryHandler(ask_quiet_hours, pattern=f"^{SettingsAction.QUIET_HOURS}$"),
        CallbackQueryHandler(pick_quiet_hours, pattern=f"^{QUIET_PREFIX}"),
    ]
