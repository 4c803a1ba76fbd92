"""The CSV records import: file checks, row rules, all-or-nothing writes and re-imports."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import records_import
from storage.database import Database
from storage.identifiers import IdentifierHasher, name_key, uscc_check_char
from storage.models import (
    CardState,
    ECardState,
    Employer,
    PermitCategory,
    PermitStatus,
    Person,
    SocialSecurityRecord,
    WorkPermit,
)
from storage.records_import import ImportFileError, ImportReport, import_records
from tests.conftest import HASH_KEY

HASHER = IdentifierHasher(HASH_KEY)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "records.csv"
EMPLOYER = "91310115MA1K4AB3C" + uscc_check_char("91310115MA1K4AB3C")
OTHER_EMPLOYER = "91440300MA5FXY12J" + uscc_check_char("91440300MA5FXY12J")
WRONG_CHECK = EMPLOYER[:17] + ("0" if EMPLOYER[17] != "0" else "1")
THIS_YEAR = datetime.now(UTC).year


def _row(n: int, **changes: str) -> dict[str, str]:
    row = {
        "permit_no": f"{990_000_000_000_000_000 + n}",
        "full_name": f"Test Person {n}",
        "nationality": "de",
        "date_of_birth": "1990-05-17",
        "passport_no": f"C0{n:07d}",
        "ss_no": f"SS{n:010d}",
        "phone": f"+49 151 {n:08d}",
        "category": "B",
        "employer_code": EMPLOYER,
        "employer_name": "Example Robotics Co., Ltd.",
        "position": "Engineer",
        "work_city": "Shanghai",
        "issued_on": "2025-03-01",
        "valid_until": "2027-02-28",
        "status": "valid",
    }
    row.update(changes)
    return row


def _write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    columns: list[str] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    header = columns if columns is not None else list(rows[0])
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column.strip().lower(), "") for column in header])
    return path


async def _import(db: Database, path: Path, *, skip_invalid: bool = False) -> ImportReport:
    return await import_records(db, path, hasher=HASHER, skip_invalid=skip_invalid)


async def _counts(db: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.session() as session:
        for model in (Employer, Person, WorkPermit, SocialSecurityRecord):
            total = await session.scalar(select(func.count()).select_from(model))
            counts[model.__tablename__] = total or 0
    return counts


def _counts_of(employers: int, people: int) -> dict[str, int]:
    return {
        "employers": employers,
        "people": people,
        "work_permits": people,
        "social_security_records": people,
    }


async def _permit(
    db: Database, n: int
) -> tuple[WorkPermit, Person, Employer, SocialSecurityRecord]:
    async with db.session() as session:
        permit = await session.scalar(
            select(WorkPermit).where(WorkPermit.permit_no == _row(n)["permit_no"])
        )
        assert permit is not None
        person = await session.get(Person, permit.person_id)
        employer = await session.get(Employer, permit.employer_id)
        card = await session.scalar(
            select(SocialSecurityRecord).where(SocialSecurityRecord.person_id == permit.person_id)
        )
        assert person is not None
        assert employer is not None
        assert card is not None
        return permit, person, employer, card


async def _updated_at(db: Database, n: int) -> tuple[datetime, ...]:
    permit, person, employer, card = await _permit(db, n)
    return (permit.updated_at, person.updated_at, employer.updated_at, card.updated_at)


async def test_valid_file_creates_permits_people_employers_and_cards(
    database: Database, tmp_path: Path
) -> None:
    rows = [_row(1), _row(2, employer_code=OTHER_EMPLOYER, employer_name="Example Foods"), _row(3)]
    report = await _import(database, _write_csv(tmp_path / "records.csv", rows))

    assert report == ImportReport(created=3, updated=0, skipped=0, problems=[], written=True)
    assert await _counts(database) == _counts_of(employers=2, people=3)
    permit, person, employer, card = await _permit(database, 1)
    assert (permit.category, permit.status) == (PermitCategory.B, PermitStatus.VALID)
    assert (permit.position, permit.work_city) == ("Engineer", "Shanghai")
    assert (permit.issued_on, permit.valid_until) == (date(2025, 3, 1), date(2027, 2, 28))
    assert (employer.uscc, employer.name) == (EMPLOYER, "Example Robotics Co., Ltd.")
    assert (person.full_name, person.name_key) == ("Test Person 1", name_key("Test Person 1"))
    assert (person.nationality, person.date_of_birth) == ("DE", date(1990, 5, 17))
    assert (person.chinese_name, person.preferred_locale) == (None, None)
    assert (card.ecard_state, card.card_state) == (ECardState.NOT_REGISTERED, CardState.NOT_ISSUED)
    assert card.pickup_place is None


async def test_identifiers_are_stored_as_keyed_hashes_with_masks(
    database: Database, tmp_path: Path
) -> None:
    row = _row(
        1, passport_no="ex 765-4321", ss_no="3101 0419 9005 1712 34", phone="+49 1512 3456789"
    )
    await _import(database, _write_csv(tmp_path / "records.csv", [row]))

    _, person, _, _ = await _permit(database, 1)
    passport = HASHER.passport("EX7654321")
    ss = HASHER.social_security("310104199005171234")
    phone = HASHER.phone("+4915123456789")
    assert (person.passport_hash, person.passport_masked) == (passport.hash, passport.masked)
    assert (person.ss_hash, person.ss_masked) == (ss.hash, ss.masked)
    assert (person.phone_hash, person.phone_masked) == (phone.hash, phone.masked)
    assert all("*" in masked for masked in (passport.masked, ss.masked, phone.masked))


async def test_no_plaintext_identifier_is_stored_anywhere_in_the_row(
    database: Database, tmp_path: Path
) -> None:
    row = _row(1, passport_no="EX7654321", ss_no="310104199005171234", phone="+49 1512 3456789")
    await _import(database, _write_csv(tmp_path / "records.csv", [row]))

    secrets = ("EX7654321", "7654321", "310104199005171234", "4915123456789", "3456789")
    async with database.session() as session:
        for model in (Person, SocialSecurityRecord, WorkPermit):
            for stored in (await session.execute(select(model.__table__))).all():
                for value in stored:
                    assert not any(secret in str(value) for secret in secrets), model.__name__


async def test_optional_columns_are_stored_normalised(database: Database, tmp_path: Path) -> None:
    row = _row(
        1,
        chinese_name="测试",
        preferred_language="zh-hans",
        ecard_state="Active",
        card_state="ready for pickup",
        card_pickup_place="Service Hall, Window 3",
    )
    await _import(database, _write_csv(tmp_path / "records.csv", [row]))

    _, person, _, card = await _permit(database, 1)
    assert (person.chinese_name, person.preferred_locale) == ("测试", "zh_Hans")
    assert (card.ecard_state, card.card_state) == (ECardState.ACTIVE, CardState.READY_FOR_PICKUP)
    assert card.pickup_place == "Service Hall, Window 3"


async def test_file_with_a_byte_order_mark_imports(database: Database, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "excel.csv", [_row(1)], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = await _import(database, path)

    assert (report.created, report.problems) == (1, [])


async def test_extra_columns_are_ignored(database: Database, tmp_path: Path) -> None:
    rows = [_row(1, notes="call back on Monday", internal_id="X-1")]
    report = await _import(database, _write_csv(tmp_path / "records.csv", rows))

    assert (report.created, report.problems) == (1, [])


async def test_header_names_ignore_case_and_surrounding_spaces(
    database: Database, tmp_path: Path
) -> None:
    columns = [f"  {name.upper()} " for name in _row(1)]
    report = await _import(
        database, _write_csv(tmp_path / "records.csv", [_row(1)], columns=columns)
    )

    assert (report.created, report.problems) == (1, [])


async def test_semicolon_separated_file_imports(database: Database, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "records.csv", [_row(1), _row(2)], delimiter=";")

    report = await _import(database, path)

    assert (report.created, report.problems) == (2, [])
    _, _, employer, _ = await _permit(database, 2)
    assert employer.name == "Example Robotics Co., Ltd."


async def test_file_with_only_a_header_imports_nothing(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(",".join(_row(1)) + "\n", encoding="utf-8")

    report = await _import(database, path)

    assert report == ImportReport(created=0, updated=0, skipped=0, problems=[], written=True)


async def test_missing_required_columns_are_named(database: Database, tmp_path: Path) -> None:
    columns = [name for name in _row(1) if name not in ("phone", "ss_no")]
    path = _write_csv(tmp_path / "records.csv", [_row(1)], columns=columns)

    with pytest.raises(ImportFileError) as caught:
        await _import(database, path)

    assert str(caught.value) == "line 1: the header is missing required column(s): ss_no, phone"


async def test_file_that_is_not_utf8_is_refused_with_the_line(
    database: Database, tmp_path: Path
) -> None:
    path = _write_csv(
        tmp_path / "records.csv", [_row(1), _row(2, full_name="José Test")], encoding="cp1252"
    )

    with pytest.raises(ImportFileError, match=r"is not UTF-8 text \(first bad byte on line 3\)"):
        await _import(database, path)
    assert await _counts(database) == _counts_of(employers=0, people=0)


async def test_spreadsheet_workbook_is_refused(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "records.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))

    with pytest.raises(ImportFileError, match="spreadsheet workbook, not CSV"):
        await _import(database, path)


async def test_missing_file_is_refused(database: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot read"):
        await _import(database, tmp_path / "nowhere.csv")


async def test_empty_file_is_refused(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n", encoding="utf-8")

    with pytest.raises(ImportFileError, match="is empty"):
        await _import(database, path)


async def test_unclosed_quote_is_refused_with_the_line_it_starts_on(
    database: Database, tmp_path: Path
) -> None:
    path = _write_csv(tmp_path / "records.csv", [_row(1)])
    with path.open("a", encoding="utf-8") as file:
        file.write('990000000000000002,"Test Person 2,DE\n990000000000000003,Test\n')

    with pytest.raises(ImportFileError, match=r"^line 3: not valid CSV"):
        await _import(database, path)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"permit_no": "12345"}, "permit_no: must be 18 digits, not 5", id="permit-too-short"
        ),
        pytest.param(
            {"permit_no": "99000000000000000A"},
            "permit_no: must be 18 digits, without letters or other characters",
            id="permit-with-letter",
        ),
        pytest.param({"permit_no": ""}, "permit_no: is required", id="permit-missing"),
        pytest.param(
            {"permit_no": _row(1)["permit_no"]},
            "permit_no: duplicate of line 2",
            id="permit-duplicate",
        ),
        pytest.param({"full_name": ""}, "full_name: is required", id="name-empty"),
        pytest.param(
            {"full_name": "N" * 201},
            "full_name: must be at most 200 characters (has 201)",
            id="name-too-long",
        ),
        pytest.param(
            {"chinese_name": "测" * 101},
            "chinese_name: must be at most 100 characters (has 101)",
            id="chinese-name-too-long",
        ),
        pytest.param(
            {"nationality": "XX"},
            "nationality: unknown country code 'XX' "
            "(expected a two-letter ISO 3166-1 code such as DE or KR)",
            id="nationality-unknown",
        ),
        pytest.param(
            {"nationality": "EU"},
            "nationality: unknown country code 'EU' "
            "(expected a two-letter ISO 3166-1 code such as DE or KR)",
            id="nationality-not-a-country",
        ),
        pytest.param(
            {"date_of_birth": "17.05.1990"},
            "date_of_birth: '17.05.1990' is not a date in the form YYYY-MM-DD",
            id="date-format",
        ),
        pytest.param(
            {"issued_on": "2025-02-30"},
            "issued_on: '2025-02-30' is not a date in the form YYYY-MM-DD",
            id="date-no-such-day",
        ),
        pytest.param(
            {"date_of_birth": "2999-01-01"},
            "date_of_birth: '2999-01-01' is not in the past",
            id="birth-in-future",
        ),
        pytest.param(
            {"date_of_birth": f"{THIS_YEAR - 10}-01-01"},
            "date_of_birth: gives an age of 10 (expected 14 to 100)",
            id="too-young",
        ),
        pytest.param(
            {"valid_until": "2025-01-31"},
            "valid_until: must be after issued_on (2025-03-01)",
            id="valid-until-before-issued",
        ),
        pytest.param(
            {"passport_no": "C0-1"},
            "passport_no: must be 5 to 20 letters or digits",
            id="passport-too-short",
        ),
        pytest.param(
            {"ss_no": "SS#000001"}, "ss_no: must be 6 to 30 letters or digits", id="ss-symbol"
        ),
        pytest.param(
            {"phone": "151 2345 6789"},
            "phone: must be in international form, starting with + or 00 and the country code",
            id="phone-without-plus",
        ),
        pytest.param(
            {"phone": "+49 12"},
            "phone: must have 7 to 15 digits after + or 00 (has 4)",
            id="phone-short",
        ),
        pytest.param(
            {"category": "D"},
            "category: unknown category 'D' (expected A, B or C)",
            id="category-unknown",
        ),
        pytest.param(
            {"status": "active"},
            "status: unknown status 'active' (expected valid, expired or cancelled)",
            id="status-unknown",
        ),
        pytest.param(
            {"employer_code": WRONG_CHECK},
            f"employer_code: check character is wrong in '{WRONG_CHECK}'",
            id="uscc-check-character",
        ),
        pytest.param(
            {"employer_code": "91310115MA1K4OBIC0"},
            "employer_code: must be an 18-character Unified Social Credit Code (digits and "
            "capital letters except I, O, S, V, Z), not '91310115MA1K4OBIC0'",
            id="uscc-alphabet",
        ),
        pytest.param(
            {"employer_code": "9131011"},
            "employer_code: must be an 18-character Unified Social Credit Code (digits and "
            "capital letters except I, O, S, V, Z), not '9131011'",
            id="uscc-length",
        ),
        pytest.param({"employer_name": " "}, "employer_name: is required", id="employer-name"),
        pytest.param({"position": ""}, "position: is required", id="position-empty"),
        pytest.param(
            {"work_city": "C" * 101},
            "work_city: must be at most 100 characters (has 101)",
            id="city-too-long",
        ),
        pytest.param(
            {"preferred_language": "english"},
            "preferred_language: 'english' is not a language code such as en or zh_Hans",
            id="language",
        ),
        pytest.param(
            {"ecard_state": "yes"},
            "ecard_state: unknown e-SSC state 'yes' "
            "(expected not_registered, pending_verification or active)",
            id="ecard-state",
        ),
        pytest.param(
            {"card_state": "lost"},
            "card_state: unknown card state 'lost' "
            "(expected not_issued, in_production, ready_for_pickup or collected)",
            id="card-state",
        ),
    ],
)
async def test_invalid_value_is_reported_with_its_line_and_column(
    database: Database, tmp_path: Path, changes: dict[str, str], expected: str
) -> None:
    columns = [*_row(1), "chinese_name", "preferred_language", "ecard_state", "card_state"]
    path = _write_csv(tmp_path / "records.csv", [_row(1), _row(2, **changes)], columns=columns)

    report = await _import(database, path)

    assert [str(problem) for problem in report.problems] == [f"line 3: {expected}"]
    assert (report.written, report.skipped) == (False, 1)


async def test_every_problem_of_a_row_is_reported_in_column_order(
    database: Database, tmp_path: Path
) -> None:
    row = _row(1, nationality="Germany", category="Z", status="", valid_until="2020-01-01")
    report = await _import(database, _write_csv(tmp_path / "records.csv", [row]))

    assert [(problem.line, problem.column) for problem in report.problems] == [
        (2, "nationality"),
        (2, "category"),
        (2, "valid_until"),
        (2, "status"),
    ]


async def test_problems_never_repeat_personal_values(database: Database, tmp_path: Path) -> None:
    row = _row(
        1,
        full_name="Secretname " * 20,
        passport_no="SECRET-PASSPORT-NUMBER-123",
        ss_no="SECRET?",
        phone="SECRET 0049",
    )
    report = await _import(database, _write_csv(tmp_path / "records.csv", [row]))

    assert {problem.column for problem in report.problems} == {
        "full_name",
        "passport_no",
        "ss_no",
        "phone",
    }
    assert not any("secret" in str(problem).lower() for problem in report.problems)


async def test_one_invalid_row_means_nothing_is_written(database: Database, tmp_path: Path) -> None:
    rows = [_row(1), _row(2), _row(3, category="D"), _row(4, employer_code=OTHER_EMPLOYER)]
    report = await _import(database, _write_csv(tmp_path / "records.csv", rows))

    assert (report.created, report.updated, report.skipped, report.written) == (0, 0, 1, False)
    assert [str(problem) for problem in report.problems] == [
        "line 4: category: unknown category 'D' (expected A, B or C)"
    ]
    assert await _counts(database) == _counts_of(employers=0, people=0)


async def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(
    database: Database, tmp_path: Path
) -> None:
    rows = [
        _row(1),
        _row(2, phone="0151 000"),
        _row(3, employer_code=OTHER_EMPLOYER, status="unknown"),
        _row(4),
    ]
    report = await _import(database, _write_csv(tmp_path / "records.csv", rows), skip_invalid=True)

    assert (report.created, report.updated, report.skipped, report.written) == (2, 0, 2, True)
    assert [(problem.line, problem.column) for problem in report.problems] == [
        (3, "phone"),
        (4, "status"),
    ]
    # The invalid row's employer is not created either.
    assert await _counts(database) == _counts_of(employers=1, people=2)


async def test_reimport_updates_the_same_rows_instead_of_duplicating(
    database: Database, tmp_path: Path
) -> None:
    rows = [_row(n) for n in (1, 2, 3)]
    await _import(database, _write_csv(tmp_path / "first.csv", rows))
    before, person_before, employer_before, _ = await _permit(database, 2)

    changed = [
        _row(n, position="Chief Engineer", employer_name="Example Robotics Group")
        for n in (1, 2, 3)
    ]
    report = await _import(database, _write_csv(tmp_path / "second.csv", changed))

    assert report == ImportReport(created=0, updated=3, skipped=0, problems=[], written=True)
    assert await _counts(database) == _counts_of(employers=1, people=3)
    after, person_after, employer_after, _ = await _permit(database, 2)
    assert (after.id, person_after.id, employer_after.id) == (
        before.id,
        person_before.id,
        employer_before.id,
    )
    assert after.position == "Chief Engineer"
    assert employer_after.name == "Example Robotics Group"
    assert after.updated_at >= before.updated_at


async def test_reimport_of_the_same_file_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    path = _write_csv(tmp_path / "records.csv", [_row(1), _row(2)])
    await _import(database, path)
    before = await _updated_at(database, 1)

    report = await _import(database, path)

    assert (report.created, report.updated, report.problems) == (0, 2, [])
    # Equal rows are not rewritten, so their updated_at still says when they last changed.
    assert await _updated_at(database, 1) == before


async def test_reimport_keeps_optional_values_left_empty_and_changes_given_ones(
    database: Database, tmp_path: Path
) -> None:
    first = _row(
        1,
        chinese_name="测试",
        preferred_language="ru",
        ecard_state="active",
        card_state="in_production",
        card_pickup_place="Window 3",
    )
    await _import(database, _write_csv(tmp_path / "first.csv", [first]))

    columns = [*_row(1), "chinese_name", "preferred_language", "ecard_state", "card_state"]
    second = _row(1, card_state="collected", status="expired")
    await _import(database, _write_csv(tmp_path / "second.csv", [second], columns=columns))

    permit, person, _, card = await _permit(database, 1)
    assert permit.status is PermitStatus.EXPIRED
    assert (person.chinese_name, person.preferred_locale) == ("测试", "ru")
    assert (card.ecard_state, card.card_state) == (ECardState.ACTIVE, CardState.COLLECTED)
    assert card.pickup_place == "Window 3"


LETTER_COLUMNS = [*_row(1), "notification_letter_issued_on", "entered_on"]


async def test_notification_letter_and_entry_dates_are_stored(
    database: Database, tmp_path: Path
) -> None:
    rows = [
        _row(1, notification_letter_issued_on="2025-01-20", entered_on="2025-02-14"),
        _row(2, notification_letter_issued_on="2025-01-20"),
        _row(3),
    ]
    path = _write_csv(tmp_path / "records.csv", rows, columns=LETTER_COLUMNS)
    report = await _import(database, path)
    assert (report.written, report.created, report.problems) == (True, 3, [])
    stored = [await _permit(database, n) for n in (1, 2, 3)]
    dates = [(permit.notification_letter_issued_on, permit.entered_on) for permit, *_ in stored]
    assert dates == [
        (date(2025, 1, 20), date(2025, 2, 14)),
        (date(2025, 1, 20), None),
        (None, None),
    ]


async def test_reimport_records_an_entry_and_keeps_the_letter_left_empty(
    database: Database, tmp_path: Path
) -> None:
    first = [_row(1, notification_letter_issued_on="2025-01-20")]
    await _import(database, _write_csv(tmp_path / "first.csv", first, columns=LETTER_COLUMNS))
    second = [_row(1, entered_on="2025-03-02")]
    await _import(database, _write_csv(tmp_path / "second.csv", second, columns=LETTER_COLUMNS))
    third = [_row(1)]  # neither column: both stay
    await _import(database, _write_csv(tmp_path / "third.csv", third))
    permit, *_ = await _permit(database, 1)
    assert (permit.notification_letter_issued_on, permit.entered_on) == (
        date(2025, 1, 20),
        date(2025, 3, 2),
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"notification_letter_issued_on": "20.01.2025"},
            ["notification_letter_issued_on: '20.01.2025' is not a date in the form YYYY-MM-DD"],
            id="letter-format",
        ),
        pytest.param(
            {"entered_on": "2025-02-30"},
            ["entered_on: '2025-02-30' is not a date in the form YYYY-MM-DD"],
            id="entry-no-such-day",
        ),
        pytest.param(
            {"notification_letter_issued_on": "2025-03-01", "entered_on": "2025-02-27"},
            ["entered_on: must not be before notification_letter_issued_on (2025-03-01)"],
            id="entry-before-letter",
        ),
        pytest.param(
            {"notification_letter_issued_on": "2999-01-01", "entered_on": "2999-02-01"},
            [
                "notification_letter_issued_on: '2999-01-01' is in the future",
                "entered_on: '2999-02-01' is in the future",
            ],
            id="both-in-future",
        ),
    ],
)
async def test_bad_letter_or_entry_dates_are_reported(
    database: Database, tmp_path: Path, changes: dict[str, str], expected: list[str]
) -> None:
    rows = [_row(1), _row(2, **changes)]
    path = _write_csv(tmp_path / "records.csv", rows, columns=LETTER_COLUMNS)
    report = await _import(database, path)
    assert [str(problem) for problem in report.problems] == [f"line 3: {e}" for e in expected]
    assert (report.written, report.skipped) == (False, 1)


async def test_same_employer_with_two_names_takes_the_last(
    database: Database, tmp_path: Path
) -> None:
    rows = [_row(1, employer_name="Old Name Ltd."), _row(2, employer_name="New Name Ltd.")]
    report = await _import(database, _write_csv(tmp_path / "records.csv", rows))

    assert report.problems == []
    _, _, employer, _ = await _permit(database, 1)
    assert employer.name == "New Name Ltd."
    assert (await _counts(database))["employers"] == 1


async def test_permit_numbers_and_codes_are_read_without_separators(
    database: Database, tmp_path: Path
) -> None:
    spaced_code = f"{EMPLOYER[:6]} {EMPLOYER[6:12]}-{EMPLOYER[12:].lower()}"
    row = _row(
        1,
        permit_no="990 000 000-000 000 001",
        employer_code=spaced_code,
        phone="0049 151 0000 0001",
    )
    report = await _import(database, _write_csv(tmp_path / "records.csv", [row]))

    assert report.problems == []
    _, person, employer, _ = await _permit(database, 1)
    assert employer.uscc == EMPLOYER
    # 00 and + are the same international prefix, so both forms match the same phone.
    assert person.phone_hash == HASHER.phone("+49 151 0000 0001").hash


async def test_line_numbers_count_physical_lines(database: Database, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "records.csv", [_row(1, position="Engineer\nsecond line")])
    with path.open("a", encoding="utf-8", newline="") as file:
        file.write("\n,,,\n")
        csv.writer(file).writerow(_row(2, category="Q").values())

    report = await _import(database, path)

    assert [str(problem) for problem in report.problems] == [
        "line 2: position: must not contain tabs, line breaks or other control characters",
        "line 6: category: unknown category 'Q' (expected A, B or C)",
    ]


async def test_a_failure_midway_leaves_nothing_written(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records_import, "BATCH_SIZE", 2)
    create = records_import._create
    batches = 0

    async def failing_create(
        session: AsyncSession, batch: Sequence[Any], employer_ids: dict[str, int], now: datetime
    ) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise RuntimeError("disk full")
        await create(session, batch, employer_ids, now)

    monkeypatch.setattr(records_import, "_create", failing_create)
    path = _write_csv(tmp_path / "records.csv", [_row(n) for n in range(1, 6)])

    with pytest.raises(RuntimeError, match="disk full"):
        await _import(database, path)

    assert await _counts(database) == _counts_of(employers=0, people=0)


async def test_progress_bars_go_to_stderr_without_personal_values(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_csv(tmp_path / "records.csv", [_row(1), _row(2)])

    await import_records(database, path, hasher=HASHER, progress=True)

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Checking" in captured.err
    assert "Writing" in captured.err
    assert "Test Person" not in captured.err


async def test_example_file_imports_cleanly(database: Database) -> None:
    with EXAMPLE.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))

    report = await _import(database, EXAMPLE)

    assert report == ImportReport(
        created=len(rows), updated=0, skipped=0, problems=[], written=True
    )
    assert 5 <= len(rows) <= 6
    async with database.session() as session:
        names = set((await session.scalars(select(Person.full_name))).all())
    assert names == {row["full_name"] for row in rows}
