"""The first journey through the real Application: /start, /help, /language and bad input."""

from __future__ import annotations

import logging
import re

import pytest

from bot.i18n import RLM, available_locales
from bot.inprocess_bot_api import MAX_CALLBACK_DATA, ApiCall
from storage.repositories import UserRepository
from tests.conftest import BotHarness, buttons, texts

CYRILLIC = re.compile(r"[А-яЁё]")
HAN = re.compile(r"[\u4e00-\u9fff]")
ARABIC = re.compile(r"[\u0600-\u06ff]")


async def test_start_greets_by_name_and_shows_the_main_menu(bot: BotHarness) -> None:
    calls = await bot.send(bot.user("en").text("/start"))
    [sent] = bot_messages(calls)
    assert sent.result["text"].startswith("Hello, Demo! I am Work Permit Assistant.")
    assert buttons(sent) == [
        ("🔗 Link my permit", "menu:link"),
        ("📚 Guides", "menu:guides"),
        ("❓ Help", "menu:help"),
        ("🌐 Language", "menu:language"),
        ("⚙️ My account", "menu:account"),
        ("🙋 Talk to a person", "support:open"),
    ]
    assert sent.params["chat_id"] == 100001


@pytest.mark.parametrize(
    ("language_code", "script"),
    [("ru", CYRILLIC), ("zh-hans", HAN), ("zh-CN", HAN), ("ar", ARABIC)],
)
async def test_start_speaks_the_telegram_language(
    bot: BotHarness, language_code: str, script: re.Pattern[str]
) -> None:
    [text] = texts(await bot.send(bot.user(language_code).text("/start")))
    assert script.search(text), text
    assert "Work Permit Assistant" not in text


async def test_unknown_telegram_language_gets_english(bot: BotHarness) -> None:
    [text] = texts(await bot.send(bot.user("tlh").text("/start")))
    assert text.startswith("Hello, Demo!")


async def test_arabic_replies_start_right_to_left(bot: BotHarness) -> None:
    [text] = texts(await bot.send(bot.user("ar").text("/start")))
    assert text.startswith(RLM)
    assert "\u2068Demo\u2069" in text  # the Latin name is isolated inside the Arabic line


async def test_help_lists_the_commands(bot: BotHarness) -> None:
    [text] = texts(await bot.send(bot.user().text("/help")))
    for command in ("/start", "/help", "/language"):
        assert command in text


async def test_help_button_edits_the_menu_in_place(bot: BotHarness) -> None:
    user = bot.user()
    [menu] = bot_messages(await bot.send(user.text("/start")))
    calls = await bot.send(user.press(menu.result, "menu:help"))
    assert [call.method for call in calls] == ["answerCallbackQuery", "editMessageText"]
    assert "/language" in calls[1].result["text"]
    assert buttons(calls[1]) == [("⬅️ Main menu", "menu:home")]
    back = await bot.send(user.press(calls[1].result, "menu:home"))
    assert [data for _label, data in buttons(back[-1])] == [
        "menu:link",
        "menu:guides",
        "menu:help",
        "menu:language",
        "menu:account",
        "support:open",
    ]


async def test_language_switch_is_saved_and_used_from_then_on(bot: BotHarness) -> None:
    user = bot.user("en")
    [picker] = bot_messages(await bot.send(user.text("/language")))
    labels = {data: label for label, data in buttons(picker)}
    assert labels["lang:ar"] == "العربية"
    assert labels["lang:en"] == "✓ English"
    # Every language by its own name, a page at a time: leaf through to Russian.
    seen = dict(labels)
    page, russian = picker, None
    while True:
        if "lang:ru" in {data for _label, data in buttons(page)}:
            russian = page
        pages = [data for label, data in buttons(page) if label.startswith("Next")]
        if not pages:
            break
        pressed = await bot.send(user.press(page.result, pages[0]))
        [page] = [c for c in pressed if c.method == "editMessageText"]
        seen.update({data: label for label, data in buttons(page)})
    assert seen["lang:ru"] == "Русский"
    assert {f"lang:{code}" for code in available_locales()} <= set(seen)
    assert len(available_locales()) >= 30
    assert russian is not None
    calls = await bot.send(user.press(russian.result, "lang:ru"))
    toast = next(call for call in calls if call.method == "answerCallbackQuery")
    assert toast.params["text"] == "Язык изменён."
    assert "Русский" in texts(calls)[0]
    async with bot.db.session() as session:
        profile = await UserRepository(session).get(user.user_id)
    assert profile is not None
    assert profile.locale == "ru"
    # Telegram still says "en", but the saved choice wins on every later update.
    [text] = texts(await bot.send(user.text("/help")))
    assert CYRILLIC.search(text)


async def test_pressing_the_current_language_again_changes_nothing_harmful(
    bot: BotHarness,
) -> None:
    user = bot.user("ru")
    [picker] = bot_messages(await bot.send(user.text("/language")))
    first = await bot.send(user.press(picker.result, "lang:ru"))
    second = await bot.send(user.press(first[-1].result, "lang:ru"))
    assert "answerCallbackQuery" in [call.method for call in second]
    assert not [call for call in second if call.method == "sendMessage"]


async def test_forged_language_choice_is_refused(bot: BotHarness) -> None:
    user = bot.user("en")
    [picker] = bot_messages(await bot.send(user.text("/language")))
    calls = await bot.send(user.press(picker.result, "lang:xx"))
    [toast] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert toast.params["text"] == "This language is not available."
    async with bot.db.session() as session:
        profile = await UserRepository(session).get(user.user_id)
    assert profile is not None
    assert profile.locale is None


async def test_unknown_command_is_named_and_the_menu_offered(bot: BotHarness) -> None:
    [sent] = bot_messages(await bot.send(bot.user().text("/frobnicate now")))
    assert sent.result["text"].startswith("I don't know the command /frobnicate.")
    assert buttons(sent)


async def test_unknown_command_is_not_echoed_at_any_length(bot: BotHarness) -> None:
    [text] = texts(await bot.send(bot.user().text("/" + "x" * 3000)))
    assert len(text) < 200


@pytest.mark.parametrize("length", [1, 4000, 4096])
async def test_free_text_of_any_length_gets_a_hint_and_the_menu(
    bot: BotHarness, length: int
) -> None:
    [sent] = bot_messages(await bot.send(bot.user("ru").text("я" * length)))
    assert CYRILLIC.search(sent.result["text"])
    assert "/help" in sent.result["text"]
    assert buttons(sent)


async def test_whitespace_only_text_gets_the_hint(bot: BotHarness) -> None:
    [text] = texts(await bot.send(bot.user().text("   ")))
    assert text.startswith("Sorry, I didn't understand that.")


async def test_sticker_gets_a_polite_text_only_notice(bot: BotHarness) -> None:
    [text] = texts(await bot.send(bot.user("zh-hans").sticker()))
    assert text == "我只能识别文字消息和按钮。请从菜单中选择。"


async def test_unexpected_callback_data_is_answered_not_crashed(bot: BotHarness) -> None:
    user = bot.user()
    [menu] = bot_messages(await bot.send(user.text("/start")))
    calls = await bot.send(user.press(menu.result, "x" * MAX_CALLBACK_DATA))
    [toast] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert toast.params["text"] == "This button is no longer available."


async def test_group_chatter_is_ignored(bot: BotHarness) -> None:
    user = bot.user()
    update = user.text("hello everyone")
    group = {"id": -100123, "type": "supergroup", "title": "Colleagues"}
    update["message"]["chat"] = group
    bot.api.remember_chat(group)
    assert await bot.send(update) == []


async def test_failure_is_apologised_for_and_logged_without_personal_data(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.fail_next("sendMessage", 500, "Internal Server Error: database is on fire")
    user = bot.user("ru")
    user.first_name = "Zhanna Secretname"
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        calls = await bot.send(user.text("/start"))
    sent = [call for call in calls if call.method == "sendMessage"]
    assert len(sent) == 2  # the failed greeting, then the apology
    assert sent[1].result["text"] == (
        "Извините, у меня что-то пошло не так. Пожалуйста, попробуйте ещё раз через минуту."
    )
    [record] = [r for r in caplog.records if r.name == "bot.errors"]
    assert record.getMessage() == "update failed"
    assert record.__dict__["update_kind"] == "message"
    assert "Secretname" not in caplog.text


async def test_commands_are_registered_in_every_language(bot: BotHarness) -> None:
    registered = bot.api.commands
    by_language = {language: commands for (_scope, language), commands in registered.items()}
    assert {"", "ru", "zh", "ar"} <= set(by_language)
    assert [c["command"] for c in by_language[""]] == [
        "start",
        "status",
        "qr",
        "document",
        "social",
        "guide",
        "link",
        "unlink",
        "forget",
        "help",
        "support",
        "language",
        "settings",
        "cancel",
    ]
    language = {c["command"]: c["description"] for c in by_language["ru"]}
    assert language["language"] == "Сменить язык"
    assert language["support"] == "Связаться с сотрудником"
    assert {c["command"]: c["description"] for c in by_language["zh"]}["language"] == "切换语言"


def bot_messages(calls: list[ApiCall]) -> list[ApiCall]:
    """The sendMessage calls (what arrives as a new message)."""
    return [call for call in calls if call.method == "sendMessage"]


async def test_database_outage_is_apologised_for_in_the_telegram_language(
    bot: BotHarness,
) -> None:
    await bot.db.engine.dispose()
    # Point the store at a path that cannot be opened: every query now fails.
    from storage.database import Database

    broken = Database(f"sqlite+aiosqlite:///{bot.settings.DATA_DIR / 'missing' / 'x' / 'y.db'}")
    (bot.settings.DATA_DIR / "missing" / "x").rmdir()
    bot.app.bot_data.db = broken
    try:
        calls = await bot.send(bot.user("ru").text("/start"))
    finally:
        await broken.dispose()
    assert texts(calls) == [
        "Извините, у меня что-то пошло не так. Пожалуйста, попробуйте ещё раз через минуту."
    ]


async def test_keyboards_run_right_to_left_for_rtl_readers(bot: BotHarness) -> None:
    async def second_row(language_code: str, user_id: int) -> list[str]:
        user = bot.user(language_code, user_id=user_id)
        [menu] = bot_messages(await bot.send(user.text("/start")))
        calls = await bot.send(user.press(menu.result, "menu:help"))
        back = await bot.send(user.press(calls[-1].result, "menu:home"))
        markup = back[-1].params["reply_markup"]["inline_keyboard"]
        return [button["callback_data"] for button in markup[1]]

    assert await second_row("en", 9101) == ["menu:guides", "menu:help"]
    for index, rtl in enumerate(("ar", "fa", "ur")):
        assert await second_row(rtl, 9110 + index) == ["menu:help", "menu:guides"], rtl
