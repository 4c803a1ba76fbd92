"""The records store at scale: build, reminder scan, status lookups, and the bot's memory.

Builds `--permits` permits (1,000,000 by default) with 10% linked users on a SQLite file
(timed), runs the daily reminder scan (how long to find and queue every permit due today),
measures status lookups per second through our repositories (`PermitService.overview`, what
/status shows) against raw `sqlite3` reading the same rows in the same run, and the memory of
a separate process that builds the bot's Application on that database, serves lookups, then
one free-text message in each of three languages: its RSS after the lookups (steady state),
after each message (the first builds the intent index), and its peak over the whole run.
Last line: `RESULT build_s=… scan_s=… lookups_per_s=… raw_ratio=… rss_mb=…`
(targets: scan ≤ 2 s, RSS ≤ 150 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from reminders import build  # the same synthetic store as bench/reminders.py

from bot.permits import PermitService
from bot.reminders import scan_reminders
from storage.database import Database

TODAY = date(2026, 11, 27)
LOOKUPS = 2000


def _settings(folder: Path, database: Path) -> dict[str, str]:
    return {
        "DATA_DIR": str(folder),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "IDENTIFIER_HASH_KEY": "b" * 40,
    }


async def _lookups(db: Database, ids: list[int]) -> float:
    service = PermitService(db, lambda: TODAY, lambda _a, _b: frozenset())
    await service.overview(ids[0])
    started = time.perf_counter()
    for permit_id in ids:
        assert await service.overview(permit_id) is not None
    return len(ids) / (time.perf_counter() - started)


def _raw_lookups(database: Path, ids: list[int]) -> float:
    connection = sqlite3.connect(database)
    try:
        started = time.perf_counter()
        for permit_id in ids:
            row = connection.execute(
                "SELECT p.permit_no, p.valid_until, p.status, e.name, h.full_name "
                "FROM work_permits p JOIN employers e ON e.id = p.employer_id "
                "JOIN people h ON h.id = p.person_id WHERE p.id = ?",
                (permit_id,),
            ).fetchone()
            assert row is not None
            connection.execute(
                "SELECT reference_no, status FROM applications WHERE permit_id = ?", (permit_id,)
            ).fetchall()
        return len(ids) / (time.perf_counter() - started)
    finally:
        connection.close()


# One free-text message in each of three languages (and scripts): what a process that
# serves them pays on top of its steady state (the intent index is built on the first).
FREE_TEXT = (
    ("ru", "когда заканчивается мое разрешение?"),
    ("zh-hans", "我的社保卡在哪里领"),
    ("ar", "متى ينتهي تصريحي"),
)


def _rss_mb() -> float:
    """The current resident set size (Linux; the peak elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    return int(kilobytes) / 1024


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _serve(database: Path, folder: Path, ids: list[int]) -> None:
    """The bot process: the Application on the big store, serving status lookups, then one
    free-text message in each of three languages."""
    from telegram import Update

    from bot.app import build_application
    from bot.config import Settings
    from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
    from bot.intents import INTENT_INDEX

    settings = Settings(_env_file=None, **_settings(folder, database))  # type: ignore[arg-type]
    api = InProcessBotAPI()
    db = Database(settings.database_url)
    app = build_application(settings, db, request=api)
    figures: dict[str, float] = {}
    async with app:
        await _lookups(app.bot_data.db, ids)
        figures["steady_mb"] = _rss_mb()
        figures["steady_peak_mb"] = _peak_mb()
        for number, (language, text) in enumerate(FREE_TEXT):
            user = ChatUser(api, user_id=500_001 + number, language_code=language)
            await app.process_update(Update.de_json(user.text(text), app.bot))
            figures[f"after_{language}_mb"] = _rss_mb()
        assert INTENT_INDEX.builds == 1, "the free-text messages should have built the index"
    await db.dispose()
    figures["rss_mb"] = _peak_mb()
    print(json.dumps(figures))


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    database = folder / "store.db"
    db = Database(f"sqlite+aiosqlite:///{database}")
    await db.migrate()
    started = time.perf_counter()
    linked = await build(db, args.permits, 0.1, seed=11)
    build_s = time.perf_counter() - started
    print(f"built {args.permits:,} permits, {linked:,} linked users in {build_s:.1f} s")
    started = time.perf_counter()
    report = await scan_reminders(db, TODAY)
    scan_s = time.perf_counter() - started
    print(f"reminder scan: {scan_s:.2f} s, {report.total_queued:,} reminders queued")
    ids = random.Random(2).sample(range(1, args.permits + 1), LOOKUPS)
    ours = await _lookups(db, ids)
    await db.dispose()
    raw = _raw_lookups(database, ids)
    print(f"status lookups: {ours:,.0f}/s through the repositories, {raw:,.0f}/s raw sqlite3")
    served = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, __file__, "--serve", str(database), "--ids", json.dumps(ids[:500])],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(served.stdout.strip().splitlines()[-1])
    rss = figures["rss_mb"]
    print(
        f"bot process serving the store: {figures['steady_mb']:.0f} MB after status lookups "
        f"(peak so far {figures['steady_peak_mb']:.0f} MB); after one free-text message in "
        + ", then ".join(
            f"{language} {figures[f'after_{language}_mb']:.0f} MB" for language, _ in FREE_TEXT
        )
        + f"; peak RSS {rss:.0f} MB"
    )
    print(
        f"RESULT build_s={build_s:.1f} scan_s={scan_s:.2f} lookups_per_s={ours:.0f} "
        f"raw_ratio={ours / raw:.3f} rss_mb={rss:.0f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--permits", type=int, default=1_000_000, help="store size (1,000,000)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        asyncio.run(
            _serve(arguments.serve, arguments.serve.parent, json.loads(arguments.ids or "[]"))
        )
    else:
        asyncio.run(main(arguments))
