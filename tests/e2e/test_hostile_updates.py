"""Hostile input, property-based (Hypothesis): thousands of generated updates through the real
Application — any Unicode text up to 4,096 characters, commands with junk arguments, forged
callback data, other people's contacts, media without captions, edited messages, group and
channel posts — never raise, never answer anyone but the sender, and never touch another
user's data."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from telegram import Update

from bot.inprocess_bot_api import JSON, ChatUser, InProcessBotAPI
from storage.models import ConversationState, TelegramLink, TelegramUser
from storage.seed import seed_demo_records
from tests.conftest import HASH_KEY, BotHarness, make_settings, running_bot
from tests.e2e.records import PEOPLE, linked

T = TypeVar("T")
ATTACKER = 6_000_001
BYSTANDER = 6_000_002
COMMANDS = [
    "/start", "/help", "/status", "/qr", "/document", "/social", "/guide", "/link", "/unlink",
    "/forget", "/language", "/settings", "/support", "/cancel", "/employees", "/export",
    "/employer_unlink", "/close", "/reply", "/note", "/tickets", "/ban",
]  # fmt: skip
CALLBACK_PREFIXES = [
    "menu:", "lang:", "langpage:", "qr:", "status:", "guide:", "settings:", "support:rate:",
    "support:open", "emp:", "link:", "forget:", "unlink:", "",
]  # fmt: skip


class Desk:
    """The bot running in its own event loop thread, fed one update at a time."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.errors: list[BaseException] = []
        self._stack = running_bot(make_settings(tmp_path))
        self.bot: BotHarness = self.run(self._stack.__aenter__())
        self.run(self._prepare())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    async def _prepare(self) -> None:
        await seed_demo_records(self.bot.db, HASH_KEY)
        await linked(self.bot, PEOPLE["Иван Петров"], user_id=BYSTANDER)

        async def capture(update: object, context: Any) -> None:
            self.errors.append(context.error)

        self.bot.app.add_error_handler(capture)

    async def send(self, update: JSON) -> list[Any]:
        self.bot.api.take_calls()
        await self.bot.app.process_update(Update.de_json(update, self.bot.app.bot))
        return self.bot.api.take_calls()

    async def bystander(self) -> tuple[object, ...]:
        async with self.bot.db.session() as session:
            link = await session.scalar(
                select(TelegramLink.permit_id).where(TelegramLink.telegram_user_id == BYSTANDER)
            )
            user = await session.get(TelegramUser, BYSTANDER)
            steps = (
                await session.scalars(
                    select(ConversationState.step).where(
                        ConversationState.telegram_user_id == BYSTANDER
                    )
                )
            ).all()
        assert user is not None
        return (link, user.locale, dict(user.settings or {}), user.unreachable, tuple(steps))

    def close(self) -> None:
        self.run(self._stack.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    running = Desk(tmp_path_factory.mktemp("hostile"))
    yield running
    running.close()


TEXT = st.text(max_size=300) | st.text(min_size=3000, max_size=4096)


@st.composite
def hostile_update(draw: st.DrawFn, api: InProcessBotAPI) -> JSON:
    kind = draw(
        st.sampled_from(
            ["text", "command", "callback", "contact", "media", "edited", "group", "channel"]
        )
    )
    attacker = ChatUser(api, user_id=ATTACKER, language_code=draw(st.sampled_from(
        [None, "en", "ru", "ar", "zh-hans", "xx", "fa-IR", "\u202e"])))  # fmt: skip
    if kind == "text":
        return attacker.text(draw(TEXT))
    if kind == "command":
        return attacker.text(f"{draw(st.sampled_from(COMMANDS))} {draw(st.text(max_size=200))}")
    if kind == "callback":
        data = draw(st.sampled_from(CALLBACK_PREFIXES)) + draw(st.text(max_size=40))
        shown = api.messages.get((ATTACKER, 1)) or {
            "message_id": 1, "date": 0, "chat": attacker.chat, "text": "menu",
        }  # fmt: skip
        return attacker.press(shown, data.encode("utf-8")[:64].decode("utf-8", "ignore"))
    if kind == "contact":
        phone = draw(st.text(alphabet="+0123456789 -", min_size=1, max_size=20))
        return attacker.contact(phone, user_id=draw(st.sampled_from([BYSTANDER, 1, ATTACKER])))
    if kind == "media":
        return attacker.media(draw(st.sampled_from(["photo", "document", "voice", "video"])))
    if kind == "edited":
        update = attacker.text(draw(TEXT))
        return {"update_id": update["update_id"], "edited_message": update["message"]}
    if kind == "group":
        member = ChatUser(api, user_id=ATTACKER, chat_type="group", chat_id=-4_000_001)
        return member.text(draw(st.sampled_from(["", "/status ", "/start@x "])) + draw(TEXT))
    channel_id = -1_009_000_001
    channel: JSON = {"id": channel_id, "type": "channel", "title": "News"}
    api.remember_chat(channel)
    return {
        "update_id": api.next_update_id(),
        "channel_post": {
            "message_id": api.next_message_id(channel_id),
            "date": 0,
            "chat": channel,
            "text": draw(TEXT) or "post",
        },
    }


_CHAT_METHODS = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "copyMessage")


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_hostile_updates_never_raise_leak_or_touch_others(desk: Desk, data: st.DataObject) -> None:
    before = desk.run(desk.bystander())
    update = data.draw(hostile_update(desk.bot.api))
    chat = (update.get("message") or update.get("edited_message") or {}).get("chat", {})
    calls = desk.run(desk.send(update))
    assert desk.errors == [], repr(desk.errors[:1])
    allowed = {ATTACKER, chat.get("id")}
    for call in calls:
        if call.method in _CHAT_METHODS:
            assert call.params.get("chat_id") in allowed, (call.method, call.params.get("chat_id"))
    assert desk.run(desk.bystander()) == before
