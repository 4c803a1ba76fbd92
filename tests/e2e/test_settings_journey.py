"""/settings end to end: toggles per kind, the warning before reminders go off, quiet hours."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import select

from bot.i18n import RLM
from bot.inprocess_bot_api import JSON, ChatUser
from bot.preferences import NotificationKind, Preferences, QuietHours
from storage.models import AuditEntry, TelegramUser
from tests.conftest import BotHarness, buttons, texts
from tests.e2e.records import PEOPLE, linked

DEFAULT = QuietHours(time(21), time(8))
TOGGLES = [
    ("✅ Permit news", "settings:kind:permit"),
    ("✅ Applications", "settings:kind:applications"),
    ("✅ Social security card", "settings:kind:card"),
    ("✅ Deadline reminders", "settings:kind:reminders"),
]


async def stored(bot: BotHarness, user: ChatUser) -> dict[str, Any]:
    """What `TelegramUser.settings` holds for the user."""
    async with bot.db.session() as session:
        row = await session.get(TelegramUser, user.user_id)
    assert row is not None
    return dict(row.settings)


async def open_settings(bot: BotHarness, user: ChatUser) -> JSON:
    """Send /settings; the message with the settings buttons."""
    [screen] = [c for c in await bot.send(user.text("/settings")) if c.method == "sendMessage"]
    assert isinstance(screen.result, dict)
    return screen.result


async def press(bot: BotHarness, user: ChatUser, message: JSON, data: str) -> tuple[str, Any]:
    """Press a button; the edited text and the call that showed it."""
    calls = await bot.send(user.press(message, data))
    [edit] = [c for c in calls if c.method == "editMessageText"]
    return texts([edit])[0], edit


async def test_settings_show_every_kind_on_and_the_default_quiet_hours(bot: BotHarness) -> None:
    user = bot.user()
    calls = [c for c in await bot.send(user.text("/settings")) if c.method == "sendMessage"]
    [screen] = calls
    text = texts(calls)[0]
    assert text.startswith("🔔 Notifications")
    assert "🌙 Quiet hours: 21:00–08:00 (the default)." in text
    assert buttons(screen) == [
        *TOGGLES,
        ("🌙 Quiet hours: 21:00–08:00", "settings:quiet"),
        ("⬅️ Main menu", "menu:home"),
    ]


async def test_a_kind_is_switched_off_and_on_again_with_a_confirmation(bot: BotHarness) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    text, edit = await press(bot, user, screen, "settings:kind:permit")
    assert text.startswith("🔕 Permit news: off. You will not get these notifications.")
    assert buttons(edit)[0] == ("🔕 Permit news", "settings:kind:permit")
    assert await stored(bot, user) == {"muted": ["permit"]}
    preferences = Preferences.from_settings(await stored(bot, user), DEFAULT)
    assert not preferences.wants("permit.extended")
    assert preferences.wants("reminder.extension_60_days")

    text, edit = await press(bot, user, screen, "settings:kind:permit")
    assert text.startswith("✅ Permit news: on. You will get these notifications again.")
    assert buttons(edit)[:4] == TOGGLES
    assert await stored(bot, user) == {"muted": []}


async def test_two_kinds_off_are_kept_together(bot: BotHarness) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    await press(bot, user, screen, "settings:kind:card")
    await press(bot, user, screen, "settings:kind:applications")
    assert await stored(bot, user) == {"muted": ["applications", "card"]}
    muted = Preferences.from_settings(await stored(bot, user), DEFAULT).muted
    assert muted == {NotificationKind.CARD, NotificationKind.APPLICATIONS}


async def test_turning_reminders_off_warns_first_and_keeping_them_changes_nothing(
    bot: BotHarness,
) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    warning, edit = await press(bot, user, screen, "settings:kind:reminders")
    assert warning.startswith("⚠️ Turn off deadline reminders?")
    assert "fewer than 30 days left" in warning
    assert "your work permit lapses and is cancelled" in warning
    assert buttons(edit) == [
        ("🔕 Turn off anyway", "settings:mute_reminders"),
        ("✅ Keep reminders on", "settings:keep_reminders"),
    ]
    assert await stored(bot, user) == {}
    kept, edit = await press(bot, user, screen, "settings:keep_reminders")
    assert kept.startswith("✅ Deadline reminders stay on.")
    assert buttons(edit)[:4] == TOGGLES
    assert await stored(bot, user) == {}


async def test_reminders_go_off_only_after_turn_off_anyway(bot: BotHarness) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    await press(bot, user, screen, "settings:kind:reminders")
    text, edit = await press(bot, user, screen, "settings:mute_reminders")
    assert text.startswith("🔕 Deadline reminders: off.")
    assert "/status" in text
    assert buttons(edit)[3] == ("🔕 Deadline reminders", "settings:kind:reminders")
    preferences = Preferences.from_settings(await stored(bot, user), DEFAULT)
    assert not preferences.wants("reminder.extension_last_week")
    # Switching them on again needs no confirmation.
    text, _edit = await press(bot, user, screen, "settings:kind:reminders")
    assert text.startswith("✅ Deadline reminders: on.")
    assert await stored(bot, user) == {"muted": []}


async def test_quiet_hours_choice_is_stored_and_applies(bot: BotHarness) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    choices, edit = await press(bot, user, screen, "settings:quiet")
    assert "Asia/Shanghai" in choices
    assert buttons(edit) == [
        ("Off", "settings:quiet:off"),
        ("21:00–08:00", "settings:quiet:21-08"),
        ("22:00–07:00", "settings:quiet:22-07"),
        ("23:00–09:00", "settings:quiet:23-09"),
        ("Default (21:00–08:00)", "settings:quiet:default"),
        ("⬅️ Back", "menu:settings"),
    ]
    text, edit = await press(bot, user, screen, "settings:quiet:22-07")
    assert text.startswith("🌙 Quiet hours set to 22:00–07:00.")
    assert "🌙 Quiet hours: 22:00–07:00. Notifications" in text
    assert ("🌙 Quiet hours: 22:00–07:00", "settings:quiet") in buttons(edit)
    assert await stored(bot, user) == {"quiet_hours": "22:00-07:00"}
    quiet = Preferences.from_settings(await stored(bot, user), DEFAULT).quiet_hours
    assert quiet == QuietHours(time(22), time(7))

    text, _edit = await press(bot, user, screen, "settings:quiet:off")
    assert text.startswith("🌙 Quiet hours are off: notifications arrive at any time of day.")
    assert await stored(bot, user) == {"quiet_hours": "off"}
    assert Preferences.from_settings(await stored(bot, user), DEFAULT).quiet_hours is None

    text, _edit = await press(bot, user, screen, "settings:quiet:default")
    assert text.startswith("🌙 Quiet hours are back to the default: 21:00–08:00.")
    assert await stored(bot, user) == {}
    assert Preferences.from_settings(await stored(bot, user), DEFAULT).quiet_hours == DEFAULT


async def test_mute_and_quiet_hours_are_kept_side_by_side(bot: BotHarness) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    await press(bot, user, screen, "settings:kind:card")
    await press(bot, user, screen, "settings:quiet:23-09")
    assert await stored(bot, user) == {"muted": ["card"], "quiet_hours": "23:00-09:00"}
    async with bot.db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions.count("preferences.changed") == 2


async def test_forged_settings_buttons_are_refused(bot: BotHarness) -> None:
    user = bot.user()
    screen = await open_settings(bot, user)
    for data in ("settings:kind:everything", "settings:quiet:24-7"):
        calls = await bot.send(user.press(screen, data))
        assert calls[0].params.get("text") == "This button is no longer available."
    assert await stored(bot, user) == {}


async def test_settings_are_reached_from_my_account(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [menu] = [c for c in await seeded.send(user.text("/start")) if c.method == "sendMessage"]
    text, edit = await press(seeded, user, menu.result, "menu:account")
    assert buttons(edit)[0] == ("🔔 Notifications", "menu:settings")
    text, edit = await press(seeded, user, menu.result, "menu:settings")
    assert text.startswith("🔔 Notifications")
    assert buttons(edit)[:4] == TOGGLES


async def test_settings_render_right_to_left_in_arabic(bot: BotHarness) -> None:
    user = bot.user("ar")
    calls = await bot.send(user.text("/settings"))
    [text] = texts(calls)
    assert text.startswith(RLM)
    [screen] = [c.result for c in calls if c.method == "sendMessage"]
    assert isinstance(screen, dict)
    warning, _edit = await press(bot, user, screen, "settings:kind:reminders")
    assert warning.startswith(RLM)
