"""Import of work-permit records from a UTF-8 CSV file, checked row by row and written at once."""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from babel import Locale
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from storage.database import Database
from storage.identifiers import (
    USCC_ALPHABET,
    Fingerprint,
    IdentifierHasher,
    compact,
    is_permit_no,
    is_uscc,
    name_key,
)
from storage.models import (
    CardState,
    ECardState,
    Employer,
    PermitCategory,
    PermitStatus,
    Person,
    SocialSecurityRecord,
    WorkPermit,
    utcnow,
)

REQUIRED_COLUMNS = (
    "permit_no",
    "full_name",
    "nationality",
    "date_of_birth",
    "passport_no",
    "ss_no",
    "phone",
    "category",
    "employer_code",
    "employer_name",
    "position",
    "work_city",
    "issued_on",
    "valid_until",
    "status",
)
OPTIONAL_COLUMNS = (
    "chinese_name",
    "preferred_language",
    "ecard_state",
    "card_state",
    "card_pickup_place",
    "notification_letter_issued_on",
    "entered_on",
)
KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)

# The stored columns an import compares and writes, per table.
_PERSON_COLUMNS = (
    "full_name",
    "name_key",
    "chinese_name",
    "nationality",
    "date_of_birth",
    "passport_hash",
    "passport_masked",
    "ss_hash",
    "ss_masked",
    "phone_hash",
    "phone_masked",
    "preferred_locale",
)
_PERMIT_COLUMNS = (
    "employer_id",
    "category",
    "position",
    "work_city",
    "issued_on",
    "valid_until",
    "status",
    "notification_letter_issued_on",
    "entered_on",
)
_CARD_COLUMNS = ("ecard_state", "card_state", "pickup_place")

# Rows per INSERT/UPDATE batch and per IN (...) lookup: far below the bind-parameter limits of
# SQLite (32766) and asyncpg (32767), large enough that round trips do not dominate.
BATCH_SIZE = 5_000

MIN_AGE, MAX_AGE = 14, 100
# ORM bulk INSERT leaves None values out of a row, so rows with and without an optional value
# would split into many small statements; rendering NULLs keeps one executemany per batch.
_KEEP_NULLS = {"render_nulls": True}
_DELIMITERS = (",", ";", "\t")
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PHONE = re.compile(r"(\+|00)([\d\s\-().]*)")
_NON_DIGITS = re.compile(r"\D")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LOCALE_ID = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_USCC_LETTERS_LEFT_OUT = ", ".join(
    char for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if char not in USCC_ALPHABET
)
# Regions Babel lists that are no one's nationality: unions, groupings, pseudo-locales.
_NOT_NATIONALITIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One thing wrong in the file, located by physical line and column."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    """What an import did: records created and updated, rows skipped, and why."""

    created: int
    updated: int
    skipped: int
    problems: list[RowProblem] = field(default_factory=list)
    written: bool = True


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, not UTF-8 CSV, header incomplete)."""


@dataclass(frozen=True, slots=True)
class _Record:
    """One valid row, normalised and fingerprinted, ready to be written."""

    line: int
    permit_no: str
    full_name: str
    name_key: str
    chinese_name: str | None
    nationality: str
    date_of_birth: date
    passport: Fingerprint
    ss: Fingerprint
    phone: Fingerprint
    category: PermitCategory
    employer_code: str
    employer_name: str
    position: str
    work_city: str
    issued_on: date
    valid_until: date
    status: PermitStatus
    preferred_locale: str | None
    ecard_state: ECardState | None
    card_state: CardState | None
    pickup_place: str | None
    letter_issued_on: date | None
    entered_on: date | None


@cache
def _lookup(kind: type[E]) -> dict[str, E]:
    return {member.value.lower(): member for member in kind}


@cache
def _nationalities() -> frozenset[str]:
    territories = Locale("en").territories
    return frozenset(
        code
        for code in territories
        if isinstance(code, str)
        and len(code) == 2
        and code.isalpha()
        and code not in _NOT_NATIONALITIES
    )


def _quote(value: str) -> str:
    # Only non-personal values are quoted; long ones are cut so a problem stays one short line.
    return f"'{value if len(value) <= 40 else value[:37] + '...'}'"


def _expected(kind: type[StrEnum]) -> str:
    values = [member.value for member in kind]
    return ", ".join(values[:-1]) + " or " + values[-1]


class _Row:
    """One CSV row being checked: its trimmed cells and the problems found so far."""

    __slots__ = ("cells", "line", "problems")

    def __init__(self, line: int, cells: dict[str, str]) -> None:
        self.line = line
        self.cells = cells
        self.problems: list[RowProblem] = []

    def problem(self, column: str, message: str) -> None:
        """Note one thing wrong with a cell."""
        self.problems.append(RowProblem(self.line, column, message))

    def get(self, column: str, *, required: bool = True) -> str | None:
        """The cell's text; None (a problem if required) when it is empty or absent."""
        raw = self.cells.get(column, "")
        if raw:
            return raw
        if required:
            self.problem(column, "is required")
        return None

    def text(self, column: str, limit: int, *, required: bool = True) -> str | None:
        """Free text of at most `limit` characters, on one line."""
        raw = self.get(column, required=required)
        if raw is None:
            return None
        if len(raw) > limit:
            self.problem(column, f"must be at most {limit} characters (has {len(raw)})")
        elif _CONTROL_CHARS.search(raw):
            self.problem(column, "must not contain tabs, line breaks or other control characters")
        return raw

    def iso_date(self, column: str, *, required: bool = True) -> date | None:
        """A date written YYYY-MM-DD (the one form no spreadsheet locale reads differently)."""
        raw = self.get(column, required=required)
        if raw is None:
            return None
        if _ISO_DATE.fullmatch(raw):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass  # e.g. 2025-02-30: the right shape but no such day
        self.problem(column, f"{_quote(raw)} is not a date in the form YYYY-MM-DD")
        return None

    def identifier(self, column: str, low: int, high: int) -> str | None:
        """A document number as typed, once it is `low` to `high` letters or digits."""
        raw = self.get(column)
        if raw is None:
            return None
        compacted = compact(raw)
        if low <= len(compacted) <= high and compacted.isascii() and compacted.isalnum():
            return raw
        # The value itself is personal, so the message only says what shape is expected.
        self.problem(column, f"must be {low} to {high} letters or digits")
        return None

    def choice(self, column: str, kind: type[E], what: str, *, required: bool = True) -> E | None:
        """One of an enumeration's values, ignoring case, spaces and dashes."""
        raw = self.get(column, required=required)
        if raw is None:
            return None
        member = _lookup(kind).get(_HEADER_SEPARATORS.sub("_", raw.lower()))
        if member is None:
            self.problem(column, f"unknown {what} {_quote(raw)} (expected {_expected(kind)})")
        return member


class _RowChecker:
    """Checks rows against the column rules, collecting every problem of each row."""

    def __init__(self, columns: dict[str, int], hasher: IdentifierHasher, today: date) -> None:
        # Only known columns are read, so extra columns cost nothing and are never looked at.
        self.positions = [(name, index) for name, index in columns.items() if name in KNOWN_COLUMNS]
        self.hasher = hasher
        self.today = today
        self.first_line_of: dict[str, int] = {}
        # Files repeat each employer many times; its code is checked once.
        self.employer_codes: dict[str, tuple[str | None, str]] = {}

    def check(self, line: int, values: list[str]) -> tuple[_Record | None, list[RowProblem]]:
        """The normalised record, or None with the problems that make the row invalid."""
        count = len(values)
        row = _Row(
            line,
            {
                name: values[index].strip() if index < count else ""
                for name, index in self.positions
            },
        )
        permit_no = self._permit_no(row)
        full_name = row.text("full_name", 200)
        key = name_key(full_name) if full_name is not None else None
        if full_name is not None and not key:
            row.problem("full_name", "has no letters")
        chinese_name = row.text("chinese_name", 100, required=False)
        nationality = self._nationality(row)
        date_of_birth = row.iso_date("date_of_birth")
        if date_of_birth is not None:
            self._check_age(row, date_of_birth)
        passport_no = row.identifier("passport_no", 5, 20)
        ss_no = row.identifier("ss_no", 6, 30)
        phone = self._phone(row)
        category = row.choice("category", PermitCategory, "category")
        employer_code = self._employer_code(row)
        employer_name = row.text("employer_name", 300)
        position = row.text("position", 200)
        work_city = row.text("work_city", 100)
        issued_on = row.iso_date("issued_on")
        valid_until = row.iso_date("valid_until")
        if issued_on is not None and valid_until is not None and valid_until <= issued_on:
            row.problem("valid_until", f"must be after issued_on ({issued_on.isoformat()})")
        status = row.choice("status", PermitStatus, "status")
        preferred_locale = self._locale(row)
        ecard_state = row.choice("ecard_state", ECardState, "e-SSC state", required=False)
        card_state = row.choice("card_state", CardState, "card state", required=False)
        pickup_place = row.text("card_pickup_place", 300, required=False)
        letter_issued_on, entered_on = self._letter_and_entry(row)

        # A required value is None only when a problem was recorded; the checks say so to mypy.
        if (
            row.problems
            or permit_no is None
            or full_name is None
            or key is None
            or nationality is None
            or date_of_birth is None
            or passport_no is None
            or ss_no is None
            or phone is None
            or category is None
            or employer_code is None
            or employer_name is None
            or position is None
            or work_city is None
            or issued_on is None
            or valid_until is None
            or status is None
        ):
            return None, row.problems
        record = _Record(
            line=line,
            permit_no=permit_no,
            full_name=full_name,
            name_key=key,
            chinese_name=chinese_name,
            nationality=nationality,
            date_of_birth=date_of_birth,
            passport=self.hasher.passport(passport_no),
            ss=self.hasher.social_security(ss_no),
            phone=self.hasher.phone(phone),
            category=category,
            employer_code=employer_code,
            employer_name=employer_name,
            position=position,
            work_city=work_city,
            issued_on=issued_on,
            valid_until=valid_until,
            status=status,
            preferred_locale=preferred_locale,
            ecard_state=ecard_state,
            card_state=card_state,
            pickup_place=pickup_place,
            letter_issued_on=letter_issued_on,
            entered_on=entered_on,
        )
        return record, []

    def _letter_and_entry(self, row: _Row) -> tuple[date | None, date | None]:
        """The Notification Letter's issue and the entry to China: past days, entry not
        before the letter."""
        letter = row.iso_date("notification_letter_issued_on", required=False)
        entered = row.iso_date("entered_on", required=False)
        for column, day in (("notification_letter_issued_on", letter), ("entered_on", entered)):
            if day is not None and day > self.today:
                row.problem(column, f"{_quote(day.isoformat())} is in the future")
        if letter is not None and entered is not None and entered < letter:
            row.problem(
                "entered_on",
                f"must not be before notification_letter_issued_on ({letter.isoformat()})",
            )
        return letter, entered

    def _permit_no(self, row: _Row) -> str | None:
        raw = row.get("permit_no")
        if raw is None:
            return None
        value = compact(raw)
        if not (value.isascii() and value.isdigit()):
            row.problem("permit_no", "must be 18 digits, without letters or other characters")
            return None
        if not is_permit_no(value):
            row.problem("permit_no", f"must be 18 digits, not {len(value)}")
            return None
        first = self.first_line_of.setdefault(value, row.line)
        if first != row.line:
            row.problem("permit_no", f"duplicate of line {first}")
            return None
        return value

    @staticmethod
    def _nationality(row: _Row) -> str | None:
        raw = row.get("nationality")
        if raw is None:
            return None
        code = raw.upper()
        if code in _nationalities():
            return code
        row.problem(
            "nationality",
            f"unknown country code {_quote(raw)} "
            "(expected a two-letter ISO 3166-1 code such as DE or KR)",
        )
        return None

    def _check_age(self, row: _Row, born: date) -> None:
        today = self.today
        if born >= today:
            row.problem("date_of_birth", f"{_quote(born.isoformat())} is not in the past")
            return
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if not MIN_AGE <= age <= MAX_AGE:
            row.problem("date_of_birth", f"gives an age of {age} (expected {MIN_AGE} to {MAX_AGE})")

    @staticmethod
    def _phone(row: _Row) -> str | None:
        """The number as `+<digits>`, so the `00…` and `+…` forms fingerprint alike."""
        raw = row.get("phone")
        if raw is None:
            return None
        match = _PHONE.fullmatch(unicodedata.normalize("NFKC", raw))
        if match is None:
            if raw.startswith(("+", "00", "＋")):
                row.problem("phone", "may contain only digits, spaces, dashes, dots and brackets")
            else:
                row.problem(
                    "phone",
                    "must be in international form, starting with + or 00 and the country code",
                )
            return None
        digits = _NON_DIGITS.sub("", match[2])
        if not digits.isascii():
            # Digits of other scripts (e.g. Arabic-Indic) stand for the same ASCII digits.
            digits = "".join(str(unicodedata.decimal(char)) for char in digits)
        if not 7 <= len(digits) <= 15:
            row.problem("phone", f"must have 7 to 15 digits after + or 00 (has {len(digits)})")
            return None
        return "+" + digits

    def _employer_code(self, row: _Row) -> str | None:
        raw = row.get("employer_code")
        if raw is None:
            return None
        known = self.employer_codes.get(raw)
        if known is None:
            known = self.employer_codes[raw] = _check_uscc(raw)
        code, message = known
        if code is None:
            row.problem("employer_code", message)
        return code

    @staticmethod
    def _locale(row: _Row) -> str | None:
        # Storage cannot ask the bot which locales ship, so only the shape is checked here and
        # the bot negotiates the stored id against its catalogs when it uses it.
        raw = row.get("preferred_language", required=False)
        if raw is None:
            return None
        language, separator, rest = raw.replace("-", "_").partition("_")
        language = language.lower()
        if not _LOCALE_ID.fullmatch(language + separator + rest):
            row.problem(
                "preferred_language", f"{_quote(raw)} is not a language code such as en or zh_Hans"
            )
            return None
        if not rest:
            return language
        return f"{language}_{rest.title() if len(rest) == 4 else rest.upper()}"


def _check_uscc(raw: str) -> tuple[str | None, str]:
    """The compacted credit code, or None and what is wrong with it."""
    code = compact(raw)
    if is_uscc(code):
        return code, ""
    if len(code) == 18 and all(char in USCC_ALPHABET for char in code[:17]):
        return None, f"check character is wrong in {_quote(raw)}"
    return None, (
        "must be an 18-character Unified Social Credit Code (digits and capital letters "
        f"except {_USCC_LETTERS_LEFT_OUT}), not {_quote(raw)}"
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            f"{path.name} is a spreadsheet workbook, not CSV; save it as 'CSV UTF-8' and retry"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(f"{path.name} is UTF-16 text, not UTF-8; save it as 'CSV UTF-8'")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The utf-8-sig codec counts offsets after the BOM it removed.
        offset = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise ImportFileError(
            f"{path.name} is not UTF-8 text (first bad byte on line {line}); save it as 'CSV UTF-8'"
        ) from None


def _header_name(raw: str) -> str:
    return _HEADER_SEPARATORS.sub("_", raw.strip().lower())


def _delimiter(first_line: str) -> str:
    # Spreadsheets in many locales save "CSV" with semicolons; the header tells which it is.
    def known(delimiter: str) -> int:
        names = next(csv.reader([first_line], delimiter=delimiter), [])
        return sum(_header_name(name) in KNOWN_COLUMNS for name in names)

    return max(_DELIMITERS, key=known)


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = _header_name(raw)
        if name in KNOWN_COLUMNS and name in columns:
            raise ImportFileError(f"line 1: the header has the column {name} more than once")
        columns.setdefault(name, index)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(
            "line 1: the header is missing required column(s): " + ", ".join(missing)
        )
    return columns


def _check_file(
    path: Path, hasher: IdentifierHasher, *, progress: bool
) -> tuple[list[_Record], list[RowProblem], int]:
    """Valid records, problems and the number of invalid rows, from parsing and checking."""
    content = _read_text(path)
    if not content.strip():
        raise ImportFileError(f"{path.name} is empty; its first line must be the header")
    reader = csv.reader(
        io.StringIO(content, newline=""),
        delimiter=_delimiter(content.splitlines()[0]),
        strict=True,
    )
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportFileError(f"line 1: the header is not valid CSV ({exc})") from None
    checker = _RowChecker(_columns(header), hasher, utcnow().date())
    records: list[_Record] = []
    problems: list[RowProblem] = []
    invalid = 0
    total_lines = content.count("\n") + (not content.endswith("\n"))
    with tqdm(
        total=total_lines,
        initial=reader.line_num,
        desc="Checking",
        unit=" lines",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        end = reader.line_num
        while True:
            line = end + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ImportFileError(
                    f"line {line}: not valid CSV ({exc}); check the quotes in this record"
                ) from None
            bar.update(reader.line_num - end)
            end = reader.line_num
            if not "".join(values).strip():
                continue  # blank lines and the empty rows spreadsheets leave at the end
            record, row_problems = checker.check(line, values)
            if record is not None:
                records.append(record)
            else:
                invalid += 1
                problems.extend(row_problems)
    return records, problems, invalid


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


async def _employer_ids(
    session: AsyncSession, records: list[_Record], now: datetime
) -> dict[str, int]:
    """Employer id by credit code: existing ones renamed as the file says, missing ones added."""
    names: dict[str, str] = {}
    for record in records:
        names[record.employer_code] = record.employer_name  # the last row of the file wins
    ids: dict[str, int] = {}
    renamed: list[dict[str, Any]] = []
    for codes in _chunks(list(names)):
        stored = await session.execute(
            select(Employer.id, Employer.uscc, Employer.name).where(Employer.uscc.in_(codes))
        )
        for employer_id, uscc, name in stored:
            ids[uscc] = employer_id
            if names[uscc] != name:
                renamed.append({"id": employer_id, "name": names[uscc], "updated_at": now})
    new = [
        {"uscc": uscc, "name": name, "created_at": now, "updated_at": now}
        for uscc, name in names.items()
        if uscc not in ids
    ]
    for batch in _chunks(new):
        added = await session.execute(
            insert(Employer).returning(Employer.id, Employer.uscc), list(batch)
        )
        ids.update((uscc, employer_id) for employer_id, uscc in added)
    for batch in _chunks(renamed):
        await session.execute(update(Employer), list(batch))
    return ids


@dataclass(frozen=True, slots=True)
class _Stored:
    """A permit already in the store: its rows' ids and the values they hold now."""

    permit_id: int
    person_id: int
    card_id: int | None
    person: tuple[Any, ...]  # in the order of _PERSON_COLUMNS
    permit: tuple[Any, ...]  # in the order of _PERMIT_COLUMNS
    card: tuple[Any, ...]  # in the order of _CARD_COLUMNS; all None when there is no card


async def _stored_permits(session: AsyncSession, permit_numbers: list[str]) -> dict[str, _Stored]:
    """The stored permits among `permit_numbers`, looked up a batch at a time."""
    people = Person.__table__.c
    permits = WorkPermit.__table__.c
    cards = SocialSecurityRecord.__table__.c
    query = (
        select(
            permits.permit_no,
            permits.id,
            permits.person_id,
            cards.id,
            *(people[name] for name in _PERSON_COLUMNS),
            *(permits[name] for name in _PERMIT_COLUMNS),
            *(cards[name] for name in _CARD_COLUMNS),
        )
        .join_from(WorkPermit, Person, Person.id == WorkPermit.person_id)
        .outerjoin(SocialSecurityRecord, SocialSecurityRecord.person_id == WorkPermit.person_id)
    )
    person_end = 4 + len(_PERSON_COLUMNS)
    permit_end = person_end + len(_PERMIT_COLUMNS)
    found: dict[str, _Stored] = {}
    for chunk in _chunks(permit_numbers):
        for row in await session.execute(query.where(permits.permit_no.in_(chunk))):
            values = tuple(row)
            found[values[0]] = _Stored(
                permit_id=values[1],
                person_id=values[2],
                card_id=values[3],
                person=values[4:person_end],
                permit=values[person_end:permit_end],
                card=values[permit_end:],
            )
    return found


def _person_values(record: _Record) -> dict[str, Any]:
    """The person columns this row sets; empty optional cells are left out."""
    values: dict[str, Any] = {
        "full_name": record.full_name,
        "name_key": record.name_key,
        "nationality": record.nationality,
        "date_of_birth": record.date_of_birth,
        "passport_hash": record.passport.hash,
        "passport_masked": record.passport.masked,
        "ss_hash": record.ss.hash,
        "ss_masked": record.ss.masked,
        "phone_hash": record.phone.hash,
        "phone_masked": record.phone.masked,
    }
    if record.chinese_name is not None:
        values["chinese_name"] = record.chinese_name
    if record.preferred_locale is not None:
        values["preferred_locale"] = record.preferred_locale
    return values


def _permit_values(record: _Record, employer_id: int) -> dict[str, Any]:
    """The permit columns this row sets; empty optional cells are left out."""
    values: dict[str, Any] = {
        "employer_id": employer_id,
        "category": record.category,
        "position": record.position,
        "work_city": record.work_city,
        "issued_on": record.issued_on,
        "valid_until": record.valid_until,
        "status": record.status,
    }
    if record.letter_issued_on is not None:
        values["notification_letter_issued_on"] = record.letter_issued_on
    if record.entered_on is not None:
        values["entered_on"] = record.entered_on
    return values


def _card_values(record: _Record) -> dict[str, Any]:
    """The card columns this row sets; empty optional cells are left out."""
    values: dict[str, Any] = {}
    if record.ecard_state is not None:
        values["ecard_state"] = record.ecard_state
    if record.card_state is not None:
        values["card_state"] = record.card_state
    if record.pickup_place is not None:
        values["pickup_place"] = record.pickup_place
    return values


def _merged(
    columns: tuple[str, ...], stored: tuple[Any, ...], values: dict[str, Any]
) -> tuple[Any, ...]:
    """A row's values after a CSV row: what the file sets, else what is stored."""
    return tuple([values.get(name, old) for name, old in zip(columns, stored, strict=True)])


# What a new person and a new card hold where the file leaves an optional cell empty.
_NO_PERSON = (None,) * len(_PERSON_COLUMNS)
_NO_PERMIT = (None,) * len(_PERMIT_COLUMNS)
_NEW_CARD = (ECardState.NOT_REGISTERED, CardState.NOT_ISSUED, None)


async def _insert_people(session: AsyncSession, people: list[dict[str, Any]]) -> list[int]:
    """Insert a batch of people; their new ids in the order of `people`."""
    if session.get_bind().dialect.name != "sqlite":
        result = await session.execute(
            insert(Person).returning(Person.id, sort_by_parameter_order=True),
            people,
            execution_options=_KEEP_NULLS,
        )
        return list(result.scalars())
    # SQLite cannot return the ids of a multi-row insert in parameter order, so SQLAlchemy
    # would fall back to one statement per row (about 60 times slower). The ids are given
    # here instead: the next free ones. A concurrent writer taking them makes this insert fail
    # on the primary key (and the whole import roll back) rather than mismatch rows.
    first = (await session.scalar(select(func.max(Person.id)))) or 0
    ids = list(range(first + 1, first + 1 + len(people)))
    for person, person_id in zip(people, ids, strict=True):
        person["id"] = person_id
    await session.execute(insert(Person), people, execution_options=_KEEP_NULLS)
    return ids


async def _create(
    session: AsyncSession, batch: Sequence[_Record], employer_ids: dict[str, int], now: datetime
) -> None:
    """Add the person, permit and card rows of records not yet in the store."""
    people = [
        dict(
            zip(
                _PERSON_COLUMNS,
                _merged(_PERSON_COLUMNS, _NO_PERSON, _person_values(record)),
                strict=True,
            )
        )
        | {"created_at": now, "updated_at": now}
        for record in batch
    ]
    person_ids = await _insert_people(session, people)
    await session.execute(
        insert(WorkPermit),
        [
            dict(
                zip(
                    _PERMIT_COLUMNS,
                    _merged(
                        _PERMIT_COLUMNS,
                        _NO_PERMIT,
                        _permit_values(record, employer_ids[record.employer_code]),
                    ),
                    strict=True,
                )
            )
            | {"permit_no": record.permit_no, "person_id": person_id}
            | {"created_at": now, "updated_at": now}
            for record, person_id in zip(batch, person_ids, strict=True)
        ],
        execution_options=_KEEP_NULLS,
    )
    await session.execute(
        insert(SocialSecurityRecord),
        [
            dict(
                zip(
                    _CARD_COLUMNS,
                    _merged(_CARD_COLUMNS, _NEW_CARD, _card_values(record)),
                    strict=True,
                )
            )
            | {"person_id": person_id, "updated_at": now}
            for record, person_id in zip(batch, person_ids, strict=True)
        ],
        execution_options=_KEEP_NULLS,
    )


async def _update(
    session: AsyncSession,
    batch: Sequence[_Record],
    stored: dict[str, _Stored],
    employer_ids: dict[str, int],
    now: datetime,
) -> None:
    """Bring stored rows in line with the file, writing only the rows that differ."""
    # Re-imports are mostly the same data again; skipping equal rows makes them about twice
    # as fast and keeps updated_at meaning "last changed".
    people: list[dict[str, Any]] = []
    permits: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    new_cards: list[dict[str, Any]] = []
    for record in batch:
        current = stored[record.permit_no]
        person = _merged(_PERSON_COLUMNS, current.person, _person_values(record))
        if person != current.person:
            people.append(
                dict(zip(_PERSON_COLUMNS, person, strict=True))
                | {"id": current.person_id, "updated_at": now}
            )
        permit = _merged(
            _PERMIT_COLUMNS,
            current.permit,
            _permit_values(record, employer_ids[record.employer_code]),
        )
        if permit != current.permit:
            permits.append(
                dict(zip(_PERMIT_COLUMNS, permit, strict=True))
                | {"id": current.permit_id, "updated_at": now}
            )
        if current.card_id is None:
            card = _merged(_CARD_COLUMNS, _NEW_CARD, _card_values(record))
            new_cards.append(
                dict(zip(_CARD_COLUMNS, card, strict=True))
                | {"person_id": current.person_id, "updated_at": now}
            )
            continue
        card = _merged(_CARD_COLUMNS, current.card, _card_values(record))
        if card != current.card:
            cards.append(
                dict(zip(_CARD_COLUMNS, card, strict=True))
                | {"id": current.card_id, "updated_at": now}
            )
    # Within each list every dict has the same keys, so each is a single executemany.
    for model, rows in ((Person, people), (WorkPermit, permits), (SocialSecurityRecord, cards)):
        if rows:
            await session.execute(update(model), rows)
    if new_cards:
        await session.execute(
            insert(SocialSecurityRecord), new_cards, execution_options=_KEEP_NULLS
        )


async def _write(
    session: AsyncSession, records: list[_Record], *, progress: bool
) -> tuple[int, int]:
    """Create or update every record in the session's transaction; (created, updated)."""
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # Right after a large import the statistics are stale, and with asyncpg's prepared
        # statements PostgreSQL soon switches the IN (...) lookups to a generic plan that scans
        # whole tables per batch (measured: 20 s per batch of 5,000 at 100,000 rows).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    # The bar opens before the look-ups so that their seconds show as elapsed time too.
    with tqdm(
        total=len(records), desc="Writing", unit=" rows", file=sys.stderr, disable=not progress
    ) as bar:
        employer_ids = await _employer_ids(session, records, now)
        stored = await _stored_permits(session, [record.permit_no for record in records])
        new = [record for record in records if record.permit_no not in stored]
        known = [record for record in records if record.permit_no in stored]
        for batch in _chunks(new):
            await _create(session, batch, employer_ids, now)
            bar.update(len(batch))
        for batch in _chunks(known):
            await _update(session, batch, stored, employer_ids, now)
            bar.update(len(batch))
    return len(new), len(known)


async def import_records(
    db: Database,
    path: Path,
    *,
    hasher: IdentifierHasher,
    skip_invalid: bool = False,
    progress: bool = False,
) -> ImportReport:
    """Import the records of a CSV file, creating or updating by permit number.

    By default one invalid row means nothing is written; with `skip_invalid` the valid rows are
    written and the invalid ones reported. Either way all writes share one transaction.
    Raises ImportFileError when the file as a whole is unusable.
    """
    records, problems, invalid = _check_file(path, hasher, progress=progress)
    if problems and not skip_invalid:
        return ImportReport(created=0, updated=0, skipped=invalid, problems=problems, written=False)
    async with db.session() as session:
        created, updated = await _write(session, records, progress=progress)
    return ImportReport(
        created=created, updated=updated, skipped=invalid, problems=problems, written=True
    )
