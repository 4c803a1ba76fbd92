"""Hostile import files (Hypothesis): any bytes, and well-formed files with junk in any cell,
get an import report or a clear file error, never a traceback, and never a partial write."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage.database import Database
from storage.models import Employer, Person, WorkPermit
from storage.records_import import ImportFileError, ImportReport, import_records
from tests.storage.test_import import HASHER, _row, _write_csv

CELL = st.one_of(
    st.text(max_size=40),  # any Unicode, control characters included
    st.sampled_from(["", " ", "2027-02-30", "99999999999999999999", "B", "valid", "=1+1", "\x00"]),
)
_FOLDER = Path(tempfile.mkdtemp(prefix="import-fuzz-"))
_DB = _FOLDER / "records.db"


def _run(
    coroutine: Coroutine[Any, Any, tuple[ImportReport | ImportFileError, tuple[int, int, int]]],
) -> tuple[ImportReport | ImportFileError, tuple[int, int, int]]:
    return asyncio.run(coroutine)


async def _prepared() -> Database:
    db = Database(f"sqlite+aiosqlite:///{_DB}")
    if not _DB.exists():
        await db.migrate()
        # One good record, so a partial write or a broken update would show.
        await import_records(db, _write_csv(_FOLDER / "seed.csv", [_row(1)]), hasher=HASHER)
    return db


async def _counts(db: Database) -> tuple[int, int, int]:
    async with db.session() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Person)) or 0),
            int(await session.scalar(select(func.count()).select_from(WorkPermit)) or 0),
            int(await session.scalar(select(func.count()).select_from(Employer)) or 0),
        )


async def _import(path: Path) -> tuple[ImportReport | ImportFileError, tuple[int, int, int]]:
    db = await _prepared()
    try:
        before = await _counts(db)
        try:
            outcome: ImportReport | ImportFileError = await import_records(db, path, hasher=HASHER)
        except ImportFileError as refused:
            outcome = refused
        after = await _counts(db)
    finally:
        await db.dispose()
    if isinstance(outcome, ImportFileError) or outcome.problems:
        assert after == before, "a refused file changed the records"
    return outcome, after


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_file_error_or_a_report(content: bytes) -> None:
    path = _FOLDER / "bytes.csv"
    path.write_bytes(content)
    outcome, _counts_after = _run(_import(path))
    if isinstance(outcome, ImportFileError):
        assert str(outcome)  # a one-line reason for the operator
    else:
        # Bytes that happen to be a usable file: written exactly when nothing was wrong.
        assert outcome.written == (not outcome.problems)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries({}, optional=dict.fromkeys(_row(0), CELL)),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=2, max_value=10_000),
)
def test_junk_in_any_cell_is_reported_and_nothing_half_written(
    changes: list[dict[str, str]], first: int
) -> None:
    rows = [_row(first + index, **change) for index, change in enumerate(changes)]
    path = _write_csv(_FOLDER / "rows.csv", rows)
    outcome, _counts_after = _run(_import(path))
    if isinstance(outcome, ImportReport) and outcome.problems:
        assert not outcome.written
        assert all(problem.line >= 2 and problem.message for problem in outcome.problems)
