"""The records store at scale: build, reminder scan, status lookups, and the bot's memory.

Builds `--permits` permits (1,000,000 by default) with 10% linked users on a SQLite file
(timed), runs the daily reminder scan (how long to find and queue every permit due today),
measures status lookups per second through our repositories (`PermitService.overview`, what
/status shows) against raw `sqlite3` reading the same rows in the same run, and the peak RSS
of a separate process that builds the bot's Application on that database and serves lookups.
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


async def _serve(database: Path, folder: Path, ids: list[int]) -> None:
    """The bot process: the Application on the big store, serving status lookups."""
    from bot.app import build_application
    from bot.config import Settings

    settings = Settings(_env_file=None, **_settings(folder, database))  # type: ignore[arg-type]
    from bot.inprocess_bot_api import InProcessBotAPI

    db = Database(settings.database_url)
    app = build_application(settings, db, request=InProcessBotAPI())
    async with app:
        await _lookups(app.bot_data.db, ids)
    await db.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_mb": peak_kb / 1024}))


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
    rss = json.loads(served.stdout.strip().splitlines()[-1])["rss_mb"]
    print(f"bot process serving the store: peak RSS {rss:.0f} MB")
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
