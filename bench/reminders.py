"""Benchmark of the daily reminder scan over many permits (about 10% of them linked)."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from bot.reminders import scan_reminders
from storage.database import Database
from storage.identifiers import uscc_check_char
from storage.models import (
    Employer,
    OutboxMessage,
    PermitCategory,
    PermitStatus,
    Person,
    TelegramLink,
    TelegramUser,
    WorkPermit,
    utcnow,
)

BATCH = 5_000  # rows per executemany: well under both databases' bind-parameter limits
TODAY = date(2026, 11, 27)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _people(count: int) -> Iterator[dict[str, Any]]:
    now = utcnow()
    for n in range(1, count + 1):
        yield {
            "id": n,
            "full_name": f"Bench Person {n}",
            "name_key": f"bench person {n}",
            "nationality": "DE",
            "date_of_birth": date(1990, 1, 1),
            "passport_hash": f"p{n:064d}"[-64:],
            "passport_masked": "C0*****1",
            "ss_hash": f"s{n:064d}"[-64:],
            "ss_masked": "SS****01",
            "phone_hash": f"t{n:064d}"[-64:],
            "phone_masked": "+*******01",
            "created_at": now,
            "updated_at": now,
        }


def _permits(count: int, employers: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Expiries spread from 60 days ago to 3 years ahead; a few cancelled; some letters."""
    now = utcnow()
    for n in range(1, count + 1):
        valid_until = TODAY + timedelta(days=rng.randint(-60, 3 * 365))
        letter = None
        entered = None
        if rng.random() < 0.05:
            letter = TODAY - timedelta(days=rng.randint(0, 210))
            if rng.random() < 0.5:
                entered = letter + timedelta(days=rng.randint(0, 30))
        yield {
            "id": n,
            "permit_no": f"{960_000_000_000_000_000 + n}",
            "person_id": n,
            "employer_id": rng.randint(1, employers),
            "category": PermitCategory.B,
            "position": "Engineer",
            "work_city": "Shanghai",
            "issued_on": valid_until - timedelta(days=730),
            "valid_until": valid_until,
            "status": PermitStatus.CANCELLED if rng.random() < 0.02 else PermitStatus.VALID,
            "notification_letter_issued_on": letter,
            "entered_on": entered,
            "created_at": now,
            "updated_at": now,
        }


async def build(db: Database, permits: int, linked_share: float, seed: int) -> int:
    """Fill an empty store with `permits` permits, a share of them linked; how many linked."""
    rng = random.Random(seed)
    employers = max(1, permits // 500)
    now = utcnow()
    linked = rng.sample(range(1, permits + 1), int(permits * linked_share))
    async with db.session() as session:
        await session.execute(
            insert(Employer),
            [
                {
                    "id": n,
                    "uscc": (stem := f"9131000{n:010d}") + uscc_check_char(stem),
                    "name": f"Bench Employer {n}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(1, employers + 1)
            ],
        )
        for batch in _batches(_people(permits)):
            await session.execute(insert(Person), batch)
        for batch in _batches(_permits(permits, employers, rng)):
            await session.execute(insert(WorkPermit), batch)
        users = ({"id": 10_000_000 + n, "settings": {}, "first_seen": now, "last_seen": now,
                  "unreachable": False} for n in linked)  # fmt: skip
        for batch in _batches(users):
            await session.execute(insert(TelegramUser), batch)
        links = ({"telegram_user_id": 10_000_000 + n, "permit_id": n, "linked_at": now}
                 for n in linked)  # fmt: skip
        for batch in _batches(links):
            await session.execute(insert(TelegramLink), batch)
    return len(linked)


async def run(args: argparse.Namespace) -> None:
    """Build the store, scan twice (the second finds everything queued), print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        db = Database(url)
        try:
            await db.migrate()
            started = time.perf_counter()
            linked = await build(db, args.permits, args.linked_share, args.seed)
            build_s = time.perf_counter() - started
            print(f"build     {build_s:8.2f} s  permits={args.permits} linked={linked}")

            started = time.perf_counter()
            report = await scan_reminders(db, TODAY, chunk=args.chunk)
            scan_s = time.perf_counter() - started
            counts = " ".join(f"{t.value}={n}" for t, n in sorted(report.queued.items()))
            print(f"scan      {scan_s:8.2f} s  queued={report.total_queued} ({counts})")

            started = time.perf_counter()
            again = await scan_reminders(db, TODAY, chunk=args.chunk)
            rescan_s = time.perf_counter() - started
            before = sum(again.already_queued.values())
            print(f"rescan    {rescan_s:8.2f} s  queued={again.total_queued} already={before}")
            async with db.session() as session:
                rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
            assert rows == report.total_queued, "a reminder was queued twice"
        finally:
            await db.dispose()
    print(f"RESULT permits={args.permits} scan_s={scan_s:.2f} queued={report.total_queued}")


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--permits", type=int, default=200_000, help="permits to build")
    parser.add_argument("--linked-share", type=float, default=0.1, help="share linked (0.1)")
    parser.add_argument("--chunk", type=int, default=2_000, help="permits per scan chunk")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument(
        "--database-url", help="an empty, migrated-or-new database (default: a temp SQLite file)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
