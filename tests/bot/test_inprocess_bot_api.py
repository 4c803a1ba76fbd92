"""The in-process Bot API refuses what Telegram refuses, so tests catch what Telegram would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, RetryAfter

from bot.inprocess_bot_api import ChatUser, InProcessBotAPI

TOKEN = "123456789:AAEinprocessTestTokenXXXXXXXX"


@pytest.fixture
async def telegram() -> tuple[Bot, InProcessBotAPI, ChatUser]:
    api = InProcessBotAPI()
    bot = Bot(TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    return bot, api, ChatUser(api, user_id=555)


async def test_get_me_describes_the_bot(telegram: tuple[Bot, InProcessBotAPI, ChatUser]) -> None:
    bot, _api, _user = telegram
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "work_permit_assistant_bot"


async def test_sent_message_comes_back_like_telegram_s(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, _api, user = telegram
    first = await bot.send_message(user.user_id, "<b>Hi</b> &amp; welcome", parse_mode="HTML")
    second = await bot.send_message(user.user_id, "again")
    assert first.text == "Hi & welcome"
    assert first.chat.id == user.user_id
    assert first.from_user is not None
    assert first.from_user.is_bot
    assert second.message_id == first.message_id + 1
    assert first.date.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "error"), [("", "message text is empty"), ("x" * 4097, "message is too long")]
)
async def test_bad_texts_are_refused(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser], text: str, error: str
) -> None:
    bot, _api, user = telegram
    with pytest.raises(BadRequest, match=r"(?i)" + error):
        await bot.send_message(user.user_id, text)


async def test_oversize_callback_data_is_refused(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, _api, user = telegram
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="y" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(user.user_id, "pick", reply_markup=markup)


async def test_unknown_chat_is_refused(telegram: tuple[Bot, InProcessBotAPI, ChatUser]) -> None:
    bot, _api, _user = telegram
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hello?")


async def test_uploaded_document_is_recorded_with_its_bytes(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, api, user = telegram
    sent = await bot.send_document(
        user.user_id, InputFile(b"%PDF-1.7 demo", filename="permit.pdf"), caption="Your permit"
    )
    assert sent.document is not None
    assert sent.document.file_name == "permit.pdf"
    [call] = api.calls_to("sendDocument")
    assert call.files["document"][1] == b"%PDF-1.7 demo"
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.7 demo"


async def test_injected_rate_limit_surfaces_as_retry_after(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, api, user = telegram
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(user.user_id, "hi")
    assert raised.value.retry_after == timedelta(seconds=7)
    assert (await bot.send_message(user.user_id, "hi")).text == "hi"


async def test_editing_to_the_same_text_is_refused(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, _api, user = telegram
    sent = await bot.send_message(user.user_id, "same")
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("same", chat_id=user.user_id, message_id=sent.message_id)


async def test_unknown_method_is_not_found(telegram: tuple[Bot, InProcessBotAPI, ChatUser]) -> None:
    bot, _api, _user = telegram
    with pytest.raises(Exception, match=r"(?i)not found"):
        await bot.do_api_request("frobnicate")


async def test_get_updates_hands_out_pushed_updates_once_confirmed(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, api, user = telegram
    api.push_update(user.text("/start"))
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert update.message.text == "/start"
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_a_group_member_writes_in_the_group(
    telegram: tuple[Bot, InProcessBotAPI, ChatUser],
) -> None:
    bot, api, _user = telegram
    member = ChatUser(api, user_id=556, chat_type="supergroup", chat_id=-100777)
    update = member.text("/start@work_permit_assistant_bot emp_code")
    message = update["message"]
    assert message["chat"] == {"id": -100777, "type": "supergroup", "title": "HR team"}
    assert message["from"]["id"] == 556
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 32}]
    sent = await bot.send_message(-100777, "hello, group")
    assert sent.chat.type == "supergroup"
    with pytest.raises(ValueError, match="negative chat_id"):
        ChatUser(api, user_id=557, chat_type="group", chat_id=557)
