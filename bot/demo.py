"""The terminal demo: the real bot on a throw-away database, chatted with in a terminal."""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from telegram import Update

from bot.app import BotApplication, build_application
from bot.config import Settings
from bot.inprocess_bot_api import JSON, ApiCall, ChatUser, InProcessBotAPI
from storage.database import Database

_QUIET_METHODS = frozenset(
    {
        "getMe",
        "setMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "deleteMyCommands",
        "setChatMenuButton",
        "sendChatAction",
        "deleteWebhook",
        "answerCallbackQuery",
    }
)


@dataclass(slots=True)
class Button:
    """A button the person can press by typing its number."""

    label: str
    callback_data: str | None = None
    message: JSON | None = None
    request_contact: bool = False


@dataclass(slots=True)
class Transcript:
    """Prints what the bot does the way a chat app would show it, and tracks buttons."""

    out: TextIO
    files_dir: Path
    phone: str
    buttons: list[Button] = field(default_factory=list)

    def describe_input(self, line: str) -> str:
        """The typed line as the chat shows it: a pressed button by its label."""
        if line.strip().isdigit() and 1 <= int(line) <= len(self.buttons):
            return f"[{int(line)}] {self.buttons[int(line) - 1].label}"
        return line

    def say(self, who: str, text: str) -> None:
        """Print one speaker's turn, continuation lines indented under the first."""
        lines = text.split("\n")
        print(f"{who} › {lines[0]}", file=self.out)
        for line in lines[1:]:
            print(f"      {line}", file=self.out)

    def show(self, calls: list[ApiCall]) -> None:
        """Print every visible effect of the bot's calls since the last input."""
        for call in calls:
            if call.method in _QUIET_METHODS:
                if call.method == "answerCallbackQuery" and call.params.get("text"):
                    self.say("bot", f"(notice) {call.params['text']}")
                continue
            if not isinstance(call.result, dict):
                if call.result is None:
                    self.say("bot", f"(failed {call.method})")
                continue
            message: JSON = call.result
            if "text" in message:
                prefix = "(edited) " if call.method.startswith("edit") else ""
                self.say("bot", prefix + str(message["text"]))
            for kind in ("photo", "document"):
                if kind in message:
                    self.say("bot", self._save(call, kind, message))
            self._buttons(call, message)

    def _save(self, call: ApiCall, kind: str, message: JSON) -> str:
        name, content, _mime = call.files.get(kind, (f"{kind}.bin", b"", ""))
        self.files_dir.mkdir(parents=True, exist_ok=True)
        target = self.files_dir / f"{message['message_id']:04d}-{Path(name).name}"
        target.write_bytes(content)
        caption = message.get("caption")
        return f"[{kind}] saved to {target}" + (f"\n{caption}" if caption else "")

    def _buttons(self, call: ApiCall, message: JSON) -> None:
        markup = call.params.get("reply_markup")
        if not isinstance(markup, dict):
            return
        buttons: list[Button] = []
        for row in markup.get("inline_keyboard", []):
            for spec in row:
                buttons.append(Button(spec["text"], spec.get("callback_data"), message))
        for row in markup.get("keyboard", []):
            for spec in row:
                label = spec if isinstance(spec, str) else spec["text"]
                contact = isinstance(spec, dict) and bool(spec.get("request_contact"))
                buttons.append(Button(label, request_contact=contact))
        if not buttons:
            return
        self.buttons = buttons
        numbered = "   ".join(f"[{n}] {button.label}" for n, button in enumerate(buttons, 1))
        print(f"      {numbered}", file=self.out)


async def _lines(source: TextIO, interactive: bool) -> AsyncIterator[str]:
    """User inputs: prompted on a terminal, else one per line of the piped input."""
    while True:
        if interactive:
            try:
                line = await asyncio.to_thread(input, "you › ")
            except EOFError:
                return
        else:
            line = await asyncio.to_thread(source.readline)
            if not line:
                return
        yield line.rstrip("\r\n")


def _update_for(user: ChatUser, transcript: Transcript, line: str) -> JSON | None:
    """Turn one typed line into the update Telegram would deliver."""
    if not line.strip():
        return None
    if line.strip().isdigit() and 1 <= int(line) <= len(transcript.buttons):
        button = transcript.buttons[int(line) - 1]
        if button.callback_data is not None and button.message is not None:
            return user.press(button.message, button.callback_data)
        if button.request_contact:
            return user.contact(transcript.phone)
        return user.text(button.label)
    return user.text(line)


async def run_demo(
    settings: Settings,
    *,
    language_code: str | None,
    files_dir: Path,
    phone: str,
    source: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    seed: bool = True,
) -> int:
    """Chat with the real bot over the in-process Bot API until the input ends."""
    interactive = source.isatty() and out.isatty()
    with tempfile.TemporaryDirectory(prefix="permit-demo-") as tmp:
        overrides: dict[str, Any] = {
            "DATA_DIR": Path(tmp),
            "DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
            "IDENTIFIER_HASH_KEY": secrets.token_hex(32),
        }
        settings = settings.model_copy(update=overrides)
        db = Database(settings.database_url)
        await db.migrate()
        transcript = Transcript(out=out, files_dir=files_dir, phone=phone)
        if seed:
            from storage.seed import seed_demo_records

            identities = await seed_demo_records(db, settings.identifier_hash_key)
            transcript.say("demo", "Synthetic records you can link with:")
            for identity in identities[:3]:
                transcript.say("demo", "  " + identity.describe())
        api = InProcessBotAPI()
        user = ChatUser(api, language_code=language_code)
        application: BotApplication = build_application(settings, db, request=api)
        if interactive:
            transcript.say(
                "demo",
                "Type messages as the user; type a number to press a button; Ctrl-D to quit.",
            )
        try:
            async with application:
                # As run_polling does: post_init (command registration) after initialize.
                if application.post_init is not None:
                    await application.post_init(application)
                await application.start()
                api.take_calls()
                async for line in _lines(source, interactive):
                    update = _update_for(user, transcript, line)
                    if update is None:
                        continue
                    if not interactive:
                        transcript.say("you", transcript.describe_input(line))
                    await application.process_update(Update.de_json(update, application.bot))
                    transcript.show(api.take_calls())
                await application.stop()
        finally:
            await db.dispose()
    return 0
