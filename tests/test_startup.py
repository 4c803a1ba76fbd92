"""What a freshly started bot process loads: only what the updates it gets need."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from storage.database import Database

ROOT = Path(__file__).resolve().parent.parent

# A bot process on an up-to-date database that answers /start and /status, then reports.
SCRIPT = """
import asyncio, json, sys
from telegram import Update
from bot.app import build_application
from bot.config import Settings
from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
from bot.intents import INTENT_INDEX
from storage.database import Database

async def main(folder: str) -> None:
    settings = Settings(
        _env_file=None,
        DATA_DIR=folder,
        DATABASE_URL=f"sqlite+aiosqlite:///{folder}/bot.db",
        IDENTIFIER_HASH_KEY="b" * 40,
    )
    db = Database(settings.database_url)
    await db.migrate()
    api = InProcessBotAPI()
    app = build_application(settings, db, request=api)
    async with app:
        user = ChatUser(api)
        for command in ("/start", "/status", "/help"):
            await app.process_update(Update.de_json(user.text(command), app.bot))
    await db.dispose()
    loaded = {name: name in sys.modules for name in ("alembic", "fpdf", "fontTools")}
    print(json.dumps({"index_builds": INTENT_INDEX.builds, **loaded}))

asyncio.run(main(sys.argv[1]))
"""


async def test_commands_load_no_index_no_pdf_modules_and_no_alembic(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await db.migrate()
    await db.dispose()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"index_builds": 0, "alembic": False, "fpdf": False, "fontTools": False}
