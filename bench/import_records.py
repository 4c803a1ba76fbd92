"""Benchmark of the CSV records import: a synthetic file imported into a fresh store, then again."""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from storage.database import Database
from storage.identifiers import USCC_ALPHABET, IdentifierHasher, uscc_check_char
from storage.models import Employer, Person, SocialSecurityRecord, WorkPermit
from storage.records_import import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportReport,
    import_records,
)

BENCH_KEY = b"benchmark-only-identifier-hash-key"
GIVEN = ("Anna", "José", "Kim", "Олег", "محمد", "Yuki", "Émile", "Priya", "Lars", "Nguyễn")
FAMILY = ("Example", "Sample", "Test", "Muster", "Пример", "مثال", "Beispiel", "Probe")
NATIONALITIES = ("KR", "US", "JP", "MM", "VN", "CA", "FR", "IN", "DE", "AU", "RU", "EG")
CITIES = ("Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Kunming", "Hangzhou", "Chengdu")
POSITIONS = ("Software Engineer", "Teacher", "Chef", "Designer", "Analyst", "Manager")
LOCALES = ("", "en", "ru", "ar", "ko", "ja", "zh_Hans", "fr", "de")


def employer_code(rng: random.Random) -> str:
    """A random, well-formed Unified Social Credit Code."""
    first17 = "91" + "".join(rng.choice(USCC_ALPHABET) for _ in range(15))
    return first17 + uscc_check_char(first17)


def card_state(rng: random.Random, changed: bool) -> str:
    """A card state; the same random draws either way, so both files list the same people."""
    state = rng.choice(("", "in_production", "collected"))
    return "ready_for_pickup" if changed else state


def write_csv(path: Path, rows: int, *, changed: bool = False, seed: int = 7) -> None:
    """A valid synthetic records file of `rows` rows (a few hundred employers).

    With `changed`, the same people with a new position and card state on every row, so that
    re-importing it has to rewrite every permit and card.
    """
    rng = random.Random(seed)
    employers = [
        (employer_code(rng), f"Example Co. No. {n} (Test) Ltd.") for n in range(max(1, rows // 200))
    ]
    today = date.today()
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        for n in range(rows):
            code, name = rng.choice(employers)
            issued = today - timedelta(days=rng.randint(0, 700))
            writer.writerow(
                [
                    f"{900_000_000_000_000_000 + n}",
                    f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} {n}",
                    rng.choice(NATIONALITIES),
                    (today - timedelta(days=rng.randint(20 * 365, 60 * 365))).isoformat(),
                    f"EX{n:08d}",
                    f"SS-{n:012d}",
                    f"+86 139 {n:08d}",
                    rng.choice("ABC"),
                    code,
                    name,
                    rng.choice(POSITIONS) + (" (changed)" if changed else ""),
                    rng.choice(CITIES),
                    issued.isoformat(),
                    (issued + timedelta(days=rng.randint(365, 1095))).isoformat(),
                    "valid",
                    "测试" if n % 3 == 0 else "",
                    rng.choice(LOCALES),
                    rng.choice(("", "active", "not_registered")),
                    card_state(rng, changed),
                    "Test Service Hall, Window 3" if n % 5 == 0 else "",
                    (issued - timedelta(days=40)).isoformat() if n % 4 == 0 else "",
                    (issued - timedelta(days=10)).isoformat() if n % 8 == 0 else "",
                ]
            )


async def count_rows(db: Database) -> dict[str, int]:
    """Rows per table the import writes."""
    counts: dict[str, int] = {}
    async with db.session() as session:
        for model in (Employer, Person, WorkPermit, SocialSecurityRecord):
            counts[model.__tablename__] = (
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
    return counts


def describe(label: str, report: ImportReport, seconds: float) -> None:
    """One line of figures for an import run."""
    rows = report.created + report.updated
    print(
        f"{label:<10} {seconds:7.2f} s  {rows / seconds:9.0f} rows/s  "
        f"created={report.created} updated={report.updated} skipped={report.skipped}"
    )


async def run(rows: int, database_url: str | None, progress: bool) -> None:
    """Generate, import, re-import and print the figures."""
    hasher = IdentifierHasher(BENCH_KEY)
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        csv_path = Path(folder) / "records.csv"
        changed_path = Path(folder) / "records-changed.csv"
        started = time.perf_counter()
        write_csv(csv_path, rows)
        write_csv(changed_path, rows, changed=True)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated 2 files of {rows} rows ({size_mb:.1f} MB each) "
            f"in {time.perf_counter() - started:.2f} s"
        )
        db = Database(database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        try:
            await db.migrate()
            started = time.perf_counter()
            first = await import_records(db, csv_path, hasher=hasher, progress=progress)
            import_s = time.perf_counter() - started
            describe("import", first, import_s)
            started = time.perf_counter()
            same = await import_records(db, csv_path, hasher=hasher, progress=progress)
            describe("same file", same, time.perf_counter() - started)
            # The figure reported is the re-import that changes every row: the write-heavy case.
            started = time.perf_counter()
            changed = await import_records(db, changed_path, hasher=hasher, progress=progress)
            reimport_s = time.perf_counter() - started
            describe("changed", changed, reimport_s)
            print("rows in store:", await count_rows(db))
        finally:
            await db.dispose()
    print(
        f"RESULT rows={rows} import_s={import_s:.2f} reimport_s={reimport_s:.2f} "
        f"rows_per_s={rows / import_s:.0f}"
    )


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows to generate")
    parser.add_argument(
        "--database-url",
        help="an empty database to import into (default: a fresh temporary SQLite file)",
    )
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.database_url, args.progress))


if __name__ == "__main__":
    main()
