"""The demo's transcript: how bot output looks in a terminal, and files saved to disk."""

from __future__ import annotations

import io
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile

from bot.demo import Transcript
from bot.inprocess_bot_api import ChatUser, InProcessBotAPI

TOKEN = "123456789:AAEdemoTranscriptTokenXXXXXXXX"


async def test_documents_and_photos_are_saved_and_their_paths_printed(tmp_path: Path) -> None:
    api = InProcessBotAPI()
    user = ChatUser(api, user_id=77)
    bot = Bot(TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    png = b"\x89PNG\r\n\x1a\nfake-but-recorded"
    await bot.send_photo(user.user_id, InputFile(png, filename="qr.png"), caption="Scan me")
    await bot.send_document(user.user_id, InputFile(b"%PDF-1.7", filename="permit.pdf"))
    out = io.StringIO()
    transcript = Transcript(out=out, files_dir=tmp_path / "files", phone="+100")
    transcript.show(api.take_calls())
    printed = out.getvalue()
    [photo] = list((tmp_path / "files").glob("*-qr.png"))
    [document] = list((tmp_path / "files").glob("*-permit.pdf"))
    assert photo.read_bytes() == png
    assert document.read_bytes() == b"%PDF-1.7"
    assert f"bot › [photo] saved to {photo}" in printed
    assert "      Scan me" in printed
    assert f"bot › [document] saved to {document}" in printed


async def test_buttons_are_numbered_in_reading_order(tmp_path: Path) -> None:
    api = InProcessBotAPI()
    user = ChatUser(api, user_id=78)
    bot = Bot(TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("A", callback_data="a"),
                InlineKeyboardButton("B", callback_data="b"),
            ],
            [InlineKeyboardButton("C", callback_data="c")],
        ]
    )
    await bot.send_message(user.user_id, "Pick one", reply_markup=markup)
    out = io.StringIO()
    transcript = Transcript(out=out, files_dir=tmp_path, phone="+100")
    transcript.show(api.take_calls())
    assert out.getvalue() == "bot › Pick one\n      [1] A   [2] B   [3] C\n"
    assert transcript.describe_input("3") == "[3] C"
    assert transcript.describe_input("4") == "4"
