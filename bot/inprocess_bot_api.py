"""An in-process Bot API server: answers PTB's requests like Telegram and records them.

The demo and the tests drive the real `Application` through it: no token, no network.
It validates what Telegram validates (empty or over-long texts, oversize callback data,
unknown methods) so that a bug which Telegram would reject fails here too.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import IO, Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

JSON = dict[str, Any]

BOT_ID = 7000000001
BOT_USERNAME = "work_permit_assistant_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64


@dataclass(slots=True)
class ApiCall:
    """One request the bot made: method, decoded parameters and uploaded files."""

    method: str
    params: JSON
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    result: Any = None


@dataclass(slots=True)
class InjectedFailure:
    """A failure to answer the next call of a method with (for error-path tests)."""

    status: int  # 0: no answer at all (the client times out)
    description: str
    retry_after: int | None = None


class NoAnswer(Exception):
    """The server never answers this call (the client sees a timeout)."""


class _TextOnly(HTMLParser):
    """Strips Telegram-HTML tags the way Telegram does when it stores a message's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain(text: str, parse_mode: str | None) -> str:
    if parse_mode and parse_mode.upper() == "HTML":
        parser = _TextOnly()
        parser.feed(text)
        parser.close()
        return html.unescape("".join(parser.parts))
    return text


class BotApiError(Exception):
    """A request Telegram would refuse, with the status and description it would give."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


class InProcessBotAPI(BaseRequest):
    """A `BaseRequest` that is its own Bot API server, keeping chats, files and updates."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.files: dict[str, bytes] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._file_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._pending_updates: list[JSON] = []
        self._updates_ready = asyncio.Event()
        self._call_made = asyncio.Event()
        self._failures: defaultdict[str, list[InjectedFailure]] = defaultdict(list)
        # Decides per call whether it fails (random fault tests); None: never.
        self.fault: Callable[[ApiCall], InjectedFailure | None] | None = None
        self.chats: dict[int, JSON] = {}
        self.messages: dict[tuple[int, int], JSON] = {}
        # Forum topics per supergroup with topics enabled: thread id -> topic.
        self.topics: dict[int, dict[int, JSON]] = defaultdict(dict)
        self._thread_ids = itertools.count(101)

    # --- BaseRequest -------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        """Telegram's default read timeout; nothing here ever waits on a socket."""
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call as Telegram would."""
        if method == "GET":
            file_id = url.rsplit("/", 1)[-1]
            if file_id in self.files:
                return 200, self.files[file_id]
            return 404, b"Not Found"
        params = dict(request_data.parameters) if request_data else {}
        uploads = (
            request_data.multipart_data if request_data and request_data.contains_files else {}
        )
        files = {name: _read_upload(value) for name, value in uploads.items()}
        try:
            return await self.handle(url.rsplit("/", 1)[-1], params, files)
        except NoAnswer as silence:
            raise TimedOut("injected: no answer") from silence

    async def handle(
        self, api_method: str, params: JSON, files: dict[str, tuple[str, bytes, str]]
    ) -> tuple[int, bytes]:
        """Run one Bot API method; returns the HTTP status and JSON body Telegram would."""
        call = ApiCall(api_method, params, files)
        self.calls.append(call)
        self._call_made.set()
        try:
            failures = self._failures.get(api_method)
            failure = failures.pop(0) if failures else None
            if failure is None and self.fault is not None:
                failure = self.fault(call)
            if failure is not None:
                if failure.status == 0:
                    raise NoAnswer(api_method)
                raise BotApiError(failure.status, failure.description, failure.retry_after)
            handler = getattr(self, f"_api_{api_method}", None)
            if handler is None:
                raise BotApiError(404, "Not Found: method not found")
            call.result = await handler(call)
        except BotApiError as error:
            body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return error.status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    # --- test and demo controls --------------------------------------------------------
    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> None:
        """Make the next call of `method` fail as Telegram would (e.g. 403, 429, 502)."""
        self._failures[method].append(InjectedFailure(status, description, retry_after))

    async def wait_for(self, method: str, count: int = 1) -> list[ApiCall]:
        """Wait until `method` has been called `count` times; returns those calls."""
        while len(calls := self.calls_to(method)) < count:
            self._call_made.clear()
            await self._call_made.wait()
        return calls

    def calls_to(self, *methods: str) -> list[ApiCall]:
        """Every recorded call of the given methods, oldest first."""
        return [call for call in self.calls if call.method in methods]

    def take_calls(self) -> list[ApiCall]:
        """The calls recorded since the last `take_calls`, forgetting them."""
        taken, self.calls = self.calls, []
        return taken

    def next_update_id(self) -> int:
        """A fresh, increasing update id."""
        return next(self._update_ids)

    def next_message_id(self, chat_id: int) -> int:
        """A fresh message id in a chat (ids are per chat, as in Telegram)."""
        return next(self._message_ids[chat_id])

    def remember_chat(self, chat: JSON) -> None:
        """Remember a chat the way Telegram knows it, for the messages the bot sends there."""
        self.chats[int(chat["id"])] = chat

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone deleted a forum topic by hand (test control)."""
        self.topics[chat_id].pop(thread_id, None)

    def push_update(self, update: JSON) -> None:
        """Queue an update for `getUpdates` (polling mode)."""
        self._pending_updates.append(update)
        self._updates_ready.set()

    # --- the Bot API methods ----------------------------------------------------------
    @staticmethod
    def bot_user() -> JSON:
        """The bot's own `User` object."""
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Work Permit Assistant",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getMe(self, call: ApiCall) -> JSON:
        return self.bot_user()

    async def _api_getUpdates(self, call: ApiCall) -> list[JSON]:
        offset = int(call.params.get("offset", 0) or 0)
        self._pending_updates = [u for u in self._pending_updates if u["update_id"] >= offset]
        if not self._pending_updates:
            self._updates_ready.clear()
            timeout = float(call.params.get("timeout", 0) or 0)
            try:
                async with asyncio.timeout(min(timeout, 1.0)):
                    await self._updates_ready.wait()
            except TimeoutError:
                return []
        limit = int(call.params.get("limit", 100) or 100)
        return self._pending_updates[:limit]

    async def _api_deleteWebhook(self, call: ApiCall) -> bool:
        return True

    async def _api_setWebhook(self, call: ApiCall) -> bool:
        return True

    async def _api_getWebhookInfo(self, call: ApiCall) -> JSON:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_setMyCommands(self, call: ApiCall) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise BotApiError(400, "Bad Request: commands are empty")
        for command in commands:
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not (1 <= len(name) <= 32) or not name.replace("_", "").isalnum():
                raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if name != name.lower() or not name.isascii():
                raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not (1 <= len(description) <= 256):
                raise BotApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._command_key(call)] = commands
        return True

    async def _api_getMyCommands(self, call: ApiCall) -> list[JSON]:
        return self.commands.get(self._command_key(call), [])

    async def _api_deleteMyCommands(self, call: ApiCall) -> bool:
        self.commands.pop(self._command_key(call), None)
        return True

    @staticmethod
    def _command_key(call: ApiCall) -> tuple[str, str]:
        scope = call.params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(call.params.get("language_code", ""))

    async def _api_setMyDescription(self, call: ApiCall) -> bool:
        if len(str(call.params.get("description", ""))) > 512:
            raise BotApiError(400, "Bad Request: description is too long")
        return True

    async def _api_setMyShortDescription(self, call: ApiCall) -> bool:
        if len(str(call.params.get("short_description", ""))) > 120:
            raise BotApiError(400, "Bad Request: short description is too long")
        return True

    async def _api_setChatMenuButton(self, call: ApiCall) -> bool:
        return True

    async def _api_sendChatAction(self, call: ApiCall) -> bool:
        return True

    async def _api_answerCallbackQuery(self, call: ApiCall) -> bool:
        if len(str(call.params.get("text", ""))) > 200:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _api_deleteMessage(self, call: ApiCall) -> bool:
        key = (int(call.params["chat_id"]), int(call.params["message_id"]))
        if self.messages.pop(key, None) is None:
            raise BotApiError(400, "Bad Request: message to delete not found")
        return True

    async def _api_sendMessage(self, call: ApiCall) -> JSON:
        text = _plain(str(call.params.get("text", "")), call.params.get("parse_mode"))
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: message is too long")
        return self._new_message(call, {"text": text})

    async def _api_sendPhoto(self, call: ApiCall) -> JSON:
        content = self._upload(call, "photo")
        file_id = self._store(content)
        sizes = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 512,
                "height": 512,
                "file_size": len(content),
            }
        ]
        return self._new_message(call, {"photo": sizes, **self._caption(call)})

    async def _api_sendDocument(self, call: ApiCall) -> JSON:
        content = self._upload(call, "document")
        file_id = self._store(content)
        name, _, mime = call.files.get("document", ("document", b"", "application/octet-stream"))
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "mime_type": mime,
            "file_size": len(content),
        }
        return self._new_message(call, {"document": document, **self._caption(call)})

    async def _api_getChat(self, call: ApiCall) -> JSON:
        chat = dict(self._chat(call.params.get("chat_id")))
        chat.setdefault("accent_color_id", 0)
        chat.setdefault("max_reaction_count", 11)
        return chat

    async def _api_createForumTopic(self, call: ApiCall) -> JSON:
        chat = self._chat(call.params.get("chat_id"))
        if chat.get("type") != "supergroup" or not chat.get("is_forum"):
            raise BotApiError(400, "Bad Request: the chat is not a forum")
        name = str(call.params.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise BotApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        thread_id = next(self._thread_ids)
        topic = {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}
        self.topics[int(chat["id"])][thread_id] = {**topic, "closed": False}
        return topic

    def _topic(self, call: ApiCall) -> JSON:
        chat = self._chat(call.params.get("chat_id"))
        topic = self.topics[int(chat["id"])].get(int(call.params.get("message_thread_id", 0)))
        if topic is None:
            raise BotApiError(400, "Bad Request: message thread not found")
        return topic

    async def _api_editForumTopic(self, call: ApiCall) -> bool:
        topic = self._topic(call)
        if "name" in call.params:
            topic["name"] = str(call.params["name"])
        return True

    async def _api_closeForumTopic(self, call: ApiCall) -> bool:
        self._topic(call)["closed"] = True
        return True

    async def _api_reopenForumTopic(self, call: ApiCall) -> bool:
        self._topic(call)["closed"] = False
        return True

    async def _api_copyMessage(self, call: ApiCall) -> JSON:
        source_chat = int(call.params.get("from_chat_id", 0))
        source = self.messages.get((source_chat, int(call.params.get("message_id", 0))))
        if source is None:
            raise BotApiError(400, "Bad Request: message to copy not found")
        content: JSON = {
            key: source[key]
            for key in ("text", "entities", "photo", "document", "voice", "video", "sticker")
            if key in source
        }
        if "caption" in call.params:
            content["caption"] = str(call.params["caption"])
        elif "caption" in source:
            content["caption"] = source["caption"]
        message = self._new_message(call, content)
        return {"message_id": message["message_id"]}

    async def _api_editMessageText(self, call: ApiCall) -> JSON | bool:
        text = _plain(str(call.params.get("text", "")), call.params.get("parse_mode"))
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._check_markup(call)
        if "inline_message_id" in call.params:
            return True
        message = self._existing(call)
        if message.get("text") == text and message.get("reply_markup") == call.params.get(
            "reply_markup"
        ):
            raise BotApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        message["edit_date"] = int(time.time())
        self._set_markup(message, call)
        return message

    async def _api_editMessageReplyMarkup(self, call: ApiCall) -> JSON | bool:
        self._check_markup(call)
        if "inline_message_id" in call.params:
            return True
        message = self._existing(call)
        message["edit_date"] = int(time.time())
        self._set_markup(message, call)
        return message

    async def _api_getFile(self, call: ApiCall) -> JSON:
        file_id = str(call.params.get("file_id", ""))
        if file_id not in self.files:
            raise BotApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": file_id,
        }

    # --- building blocks ---------------------------------------------------------------
    def _upload(self, call: ApiCall, name: str) -> bytes:
        if name in call.files:
            return call.files[name][1]
        reference = str(call.params.get(name, ""))
        if reference in self.files:
            return self.files[reference]
        raise BotApiError(400, "Bad Request: there is no file in the request")

    def _store(self, content: bytes) -> str:
        file_id = f"F{next(self._file_ids):08d}"
        self.files[file_id] = content
        return file_id

    @staticmethod
    def _caption(call: ApiCall) -> JSON:
        caption = call.params.get("caption")
        if caption is None:
            return {}
        text = _plain(str(caption), call.params.get("parse_mode"))
        if len(text) > MAX_CAPTION:
            raise BotApiError(400, "Bad Request: message caption is too long")
        return {"caption": text}

    @staticmethod
    def _check_markup(call: ApiCall) -> None:
        markup = call.params.get("reply_markup")
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise BotApiError(400, "Bad Request: inline keyboard button text is empty")
                web_app = button.get("web_app")
                if isinstance(web_app, dict) and not str(web_app.get("url", "")).startswith(
                    "https://"
                ):
                    raise BotApiError(
                        400,
                        "Bad Request: inline keyboard button Web App URL is invalid: "
                        "Only HTTPS links are allowed",
                    )
                data = button.get("callback_data")
                if data is not None and not (1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA):
                    raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    @staticmethod
    def _set_markup(message: JSON, call: ApiCall) -> None:
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _chat(self, chat_id: Any) -> JSON:
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            raise BotApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(key)
        if chat is None:
            raise BotApiError(400, "Bad Request: chat not found")
        return chat

    def _existing(self, call: ApiCall) -> JSON:
        key = (int(call.params.get("chat_id", 0)), int(call.params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None:
            raise BotApiError(400, "Bad Request: message to edit not found")
        return message

    def _new_message(self, call: ApiCall, content: JSON) -> JSON:
        self._check_markup(call)
        chat = self._chat(call.params.get("chat_id"))
        message: JSON = {
            "message_id": self.next_message_id(int(chat["id"])),
            "from": self.bot_user(),
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if "message_thread_id" in call.params and chat.get("is_forum"):
            thread = self._topic(call)
            message["message_thread_id"] = thread["message_thread_id"]
            message["is_topic_message"] = True
        reply = call.params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            replied = self.messages.get((int(chat["id"]), int(reply["message_id"])))
            if replied is not None:
                message["reply_to_message"] = replied
            elif not reply.get("allow_sending_without_reply"):
                raise BotApiError(400, "Bad Request: message to be replied not found")
        self._set_markup(message, call)
        self.messages[(int(chat["id"]), message["message_id"])] = message
        return message


def _read_upload(field_value: tuple[str, bytes | IO[bytes], str]) -> tuple[str, bytes, str]:
    name, content, mime = field_value
    data = content if isinstance(content, bytes) else content.read()
    return name, data, mime


@dataclass(slots=True)
class ChatUser:
    """A person on the other side of a chat with the bot: their private chat, or a group
    they are a member of (`chat_type` "group" or "supergroup" with a negative `chat_id`)."""

    api: InProcessBotAPI
    user_id: int = 100001
    first_name: str = "Demo"
    language_code: str | None = "en"
    username: str | None = "demo_worker"
    chat_type: str = "private"
    chat_id: int | None = None  # a group's id; a private chat's id is the user's
    chat_title: str = "HR team"

    def __post_init__(self) -> None:
        if self.chat_type != "private" and (self.chat_id is None or self.chat_id >= 0):
            raise ValueError("a group chat needs a negative chat_id, as in Telegram")
        self.api.remember_chat(self.chat)

    @property
    def user(self) -> JSON:
        """The Telegram `User` object of this person."""
        user: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat(self) -> JSON:
        """The chat they write in: their private chat with the bot, or the group."""
        if self.chat_type != "private":
            known = self.api.chats.get(int(self.chat_id or 0))
            if known is not None:
                return known  # e.g. a supergroup already set up with topics (is_forum)
            return {"id": self.chat_id, "type": self.chat_type, "title": self.chat_title}
        chat: JSON = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat

    def _message(
        self, content: JSON, *, topic: int | None = None, reply_to: JSON | None = None
    ) -> JSON:
        chat_id = int(self.chat["id"])
        message: JSON = {
            "message_id": self.api.next_message_id(chat_id),
            "from": self.user,
            "chat": self.chat,
            "date": int(time.time()),
            **content,
        }
        if topic is not None:
            # In a forum, messages in a topic carry its thread id and is_topic_message.
            message["message_thread_id"] = topic
            message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.api.messages[(chat_id, message["message_id"])] = message
        return {"update_id": self.api.next_update_id(), "message": message}

    def text(self, text: str, *, topic: int | None = None, reply_to: JSON | None = None) -> JSON:
        """An update carrying a text message (commands get their `bot_command` entity,
        `/start@botname` included, as in groups); in a forum topic with `topic`."""
        content: JSON = {"text": text}
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._message(content, topic=topic, reply_to=reply_to)

    def media(
        self,
        kind: str,
        *,
        caption: str | None = None,
        topic: int | None = None,
        reply_to: JSON | None = None,
    ) -> JSON:
        """An update carrying a photo, document, voice or video message."""
        unique = f"{kind}{self.api.next_update_id()}"
        shapes: dict[str, JSON] = {
            "photo": {
                "photo": [
                    {"file_id": unique, "file_unique_id": unique, "width": 800, "height": 600}
                ]
            },
            "document": {
                "document": {
                    "file_id": unique,
                    "file_unique_id": unique,
                    "file_name": "contract.pdf",
                    "mime_type": "application/pdf",
                }
            },
            "voice": {"voice": {"file_id": unique, "file_unique_id": unique, "duration": 4}},
            "video": {
                "video": {
                    "file_id": unique,
                    "file_unique_id": unique,
                    "width": 640,
                    "height": 360,
                    "duration": 7,
                }
            },
        }
        content = dict(shapes[kind])
        if caption is not None:
            content["caption"] = caption
        return self._message(content, topic=topic, reply_to=reply_to)

    def sticker(self, emoji: str = "👍") -> JSON:
        """An update carrying a sticker."""
        return self._message(
            {
                "sticker": {
                    "file_id": "CAACAgIAAxkBAAEDemo",
                    "file_unique_id": "AgADemo",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": emoji,
                }
            }
        )

    def contact(self, phone_number: str, *, user_id: int | None = None) -> JSON:
        """An update sharing a contact (by default the sender's own)."""
        contact: JSON = {"phone_number": phone_number, "first_name": self.first_name}
        contact["user_id"] = self.user_id if user_id is None else user_id
        return self._message({"contact": contact})

    def press(self, message: JSON, data: str) -> JSON:
        """An update pressing an inline button with `data` under a message the bot sent."""
        return {
            "update_id": self.api.next_update_id(),
            "callback_query": {
                "id": str(self.api.next_update_id() * 1000 + self.user_id % 1000),
                "from": self.user,
                "message": message,
                "chat_instance": f"ci{self.chat['id']}",
                "data": data,
            },
        }
