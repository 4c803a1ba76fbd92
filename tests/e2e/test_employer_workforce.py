"""The employer commands end to end: /employees pages and filters, a worker's detail, the
CSV export, and isolation: an employer never sees another employer's workers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select

from bot.inprocess_bot_api import ApiCall, ChatUser
from storage.identifiers import uscc_check_char
from storage.models import (
    Employer,
    PermitCategory,
    PermitStatus,
    Person,
    WorkPermit,
)
from tests.conftest import BotHarness, buttons, texts
from tests.e2e.records import PEOPLE, TODAY, permit_id_of
from tests.e2e.test_employer_journey import HARBOUR, group_member, invite

KUNMING = "91530100MA6K00004" + uscc_check_char("91530100MA6K00004")
LOTUS = "91110000MA0100002" + uscc_check_char("91110000MA0100002")
PEARL = "91440300MA5D00003" + uscc_check_char("91440300MA5D00003")


async def employer_chat(bot: BotHarness, uscc: str, chat_id: int = -1001234) -> ChatUser:
    """A member of an HR group linked to the employer with this credit code."""
    member = group_member(bot, chat_id=chat_id, user_id=200000 - chat_id % 1000)
    [text] = texts(await bot.send(member.text(f"/start {await invite(bot, uscc)}")))
    assert text.startswith("✅ Done")
    return member


def worker_lines(text: str) -> list[str]:
    """The numbered lines of a list page."""
    return [line for line in text.splitlines() if line[:1].isdigit()]


def worker_buttons(call: ApiCall) -> list[tuple[str, str]]:
    return [(label, data) for label, data in buttons(call) if data.startswith("emp:w:")]


async def add_workers(bot: BotHarness, uscc: str, count: int) -> None:
    """Extra synthetic workers for an employer, expiring one day apart from 100 days on."""
    async with bot.db.session() as session:
        employer_id = await session.scalar(select(Employer.id).where(Employer.uscc == uscc))
        assert employer_id is not None
        for n in range(count):
            person = Person(
                full_name=f"Worker {n:02d}",
                name_key=f"worker{n:02d}",
                nationality="GB",
                date_of_birth=date(1990, 1, 1),
                passport_hash=f"p{n}",
                passport_masked="X0****99",
                ss_hash=f"s{n}",
                ss_masked="SS86 **** **99",
                phone_hash=f"t{n}",
                phone_masked="+*******99",
            )
            session.add(person)
            await session.flush()
            valid_until = TODAY + timedelta(days=100 + n)
            session.add(
                WorkPermit(
                    permit_no=f"7{n:017d}",
                    person_id=person.id,
                    employer_id=employer_id,
                    category=PermitCategory.B,
                    position="Engineer",
                    work_city="Shanghai",
                    issued_on=valid_until - timedelta(days=730),
                    valid_until=valid_until,
                    status=PermitStatus.VALID,
                )
            )


async def test_employees_lists_the_employer_s_workers_by_days_left(seeded: BotHarness) -> None:
    member = await employer_chat(seeded, KUNMING)
    calls = await seeded.send(member.text("/employees"))
    [text] = texts(calls)
    assert text.startswith("👥 Workers of Kunming Spring City Trading Co., Ltd.")
    assert "All: 3 workers (page 1 of 1)" in text
    assert worker_lines(text) == [
        "1. محمد العلي — ⛔ Expired on November 12, 2026",
        "2. Aung Ko Ko — ✅ Valid, 45 days left",
        "3. Nguyễn Văn An — ⛔ Cancelled",
    ]
    assert [label for label, _data in worker_buttons(calls[-1])] == [
        "👤 محمد العلي",
        "👤 Aung Ko Ko",
        "👤 Nguyễn Văn An",
    ]
    labels = [label for label, data in buttons(calls[-1]) if data.startswith("emp:list:")]
    assert labels == [
        "Expiring within 90 days",
        "Application in progress",
        "Expired",
        "✓ All",
    ]


async def press_filter(bot: BotHarness, member: ChatUser, which: str) -> str:
    calls = await bot.send(member.text("/employees"))
    [text] = texts(await bot.send(member.press(calls[-1].result, f"emp:list:{which}:0")))
    return text


async def test_each_filter_shows_the_right_workers(seeded: BotHarness) -> None:
    kunming = await employer_chat(seeded, KUNMING, chat_id=-1001)
    expiring = await press_filter(seeded, kunming, "expiring")
    assert "Expiring within 90 days: 1 worker" in expiring
    assert worker_lines(expiring) == ["1. Aung Ko Ko — ✅ Valid, 45 days left"]
    expired = await press_filter(seeded, kunming, "expired")
    assert worker_lines(expired) == ["1. محمد العلي — ⛔ Expired on November 12, 2026"]
    applying = await press_filter(seeded, kunming, "applying")
    assert "Application in progress: 0 workers" in applying
    assert "No workers in this list." in applying
    assert worker_lines(applying) == []

    lotus = await employer_chat(seeded, LOTUS, chat_id=-1002)
    applying = await press_filter(seeded, lotus, "applying")
    assert worker_lines(applying) == ["1. John Smith — ✅ Valid, 150 days left"]
    assert "📨 Change application: documents requested" in applying
    expiring = await press_filter(seeded, lotus, "expiring")
    assert worker_lines(expiring) == ["1. 김민준 — ✅ Valid, 20 days left"]

    pearl = await employer_chat(seeded, PEARL, chat_id=-1003)
    applying = await press_filter(seeded, pearl, "applying")
    assert worker_lines(applying) == ["1. Иван Петров — ✅ Valid, 400 days left"]
    assert "📨 Extension application: under review" in applying
    assert worker_lines(await press_filter(seeded, pearl, "expiring")) == []


async def test_employees_pages_ten_at_a_time(seeded: BotHarness) -> None:
    await add_workers(seeded, HARBOUR, 23)  # with Anna (70 days) and 佐藤 (300): 25
    member = await employer_chat(seeded, HARBOUR)
    calls = await seeded.send(member.text("/employees"))
    [text] = texts(calls)
    assert "All: 25 workers (page 1 of 3)" in text
    lines = worker_lines(text)
    assert len(lines) == 10
    assert lines[0] == "1. Anna Müller — ✅ Valid, 70 days left"
    assert lines[1] == "2. Worker 00 — ✅ Valid, 100 days left"
    assert len(worker_buttons(calls[-1])) == 10
    navigation = [(label, data) for label, data in buttons(calls[-1]) if "▶️" in label]
    assert navigation == [("Next ▶️", "emp:list:all:1")]
    assert not [label for label, _data in buttons(calls[-1]) if "◀️" in label]

    calls = await seeded.send(member.press(calls[-1].result, "emp:list:all:1"))
    [text] = texts(calls)
    assert "(page 2 of 3)" in text
    assert worker_lines(text)[0] == "11. Worker 09 — ✅ Valid, 109 days left"
    pages = [data for label, data in buttons(calls[-1]) if "◀️" in label or "▶️" in label]
    assert pages == ["emp:list:all:0", "emp:list:all:2"]

    calls = await seeded.send(member.press(calls[-1].result, "emp:list:all:2"))
    [text] = texts(calls)
    assert "(page 3 of 3)" in text
    lines = worker_lines(text)
    assert len(lines) == 5
    assert lines[-1] == "25. 佐藤 花子 — ✅ Valid, 300 days left"
    assert not [label for label, _data in buttons(calls[-1]) if "▶️" in label]
    # Each page's buttons open workers of that page, and come back to it.
    assert worker_buttons(calls[-1])[0][1].endswith(":all:2")


async def test_a_page_past_the_end_shows_the_last_page(seeded: BotHarness) -> None:
    member = await employer_chat(seeded, HARBOUR)
    calls = await seeded.send(member.text("/employees"))
    [text] = texts(await seeded.send(member.press(calls[-1].result, "emp:list:expiring:7")))
    assert "Expiring within 90 days: 1 worker (page 1 of 1)" in text
    assert worker_lines(text) == ["1. Anna Müller — ✅ Valid, 70 days left"]
    calls = await seeded.send(member.press(calls[-1].result, "emp:list:bogus:0"))
    [answer] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "This button is no longer available."


async def test_worker_detail_shows_the_permit_without_personal_numbers(
    seeded: BotHarness,
) -> None:
    member = await employer_chat(seeded, LOTUS)
    calls = await seeded.send(member.text("/employees"))
    [john] = [data for label, data in worker_buttons(calls[-1]) if "John Smith" in label]
    calls = await seeded.send(member.press(calls[-1].result, john))
    [text] = texts(calls)
    assert text.startswith("👤 John Smith")
    assert "Permit number: 9075 **** **** **** 07" in text
    assert "Status: ✅ Valid" in text
    assert "Category: B — professional" in text
    assert "Position: English Teacher" in text
    assert "Work city: Beijing" in text
    assert "Valid until: April 26, 2027 (150 days left)" in text
    assert "Extension window: January 26, 2027 – March 27, 2027" in text
    assert "• Change CHG-555507: documents requested" in text
    assert "ISS-555507" not in text  # the approved issuance is not in progress
    smith = PEOPLE["John Smith"]
    async with seeded.db.session() as session:
        person = await session.scalar(select(Person).where(Person.full_name == "John Smith"))
    assert person is not None
    for secret in (
        smith.permit_no,
        smith.ss_no,
        smith.passport_no,
        smith.phone,
        person.ss_masked,
        person.passport_masked,
        person.phone_masked,
    ):
        assert secret not in text
    assert buttons(calls[-1]) == [("⬅️ Back to the list", "emp:list:all:0")]


async def test_forged_worker_button_from_another_employer_is_refused(
    seeded: BotHarness,
) -> None:
    member = await employer_chat(seeded, HARBOUR)
    calls = await seeded.send(member.text("/employees"))
    ivan = await permit_id_of(seeded, PEOPLE["Иван Петров"])
    calls = await seeded.send(member.press(calls[-1].result, f"emp:w:{ivan}:all:0"))
    [answer] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "This worker is not on your employer's list."
    assert texts(calls) == []


async def test_buttons_pressed_in_another_chat_show_nothing(seeded: BotHarness) -> None:
    harbour = await employer_chat(seeded, HARBOUR, chat_id=-1001)
    calls = await seeded.send(harbour.text("/employees"))
    [anna] = [data for label, data in worker_buttons(calls[-1]) if "Anna" in label]
    # The same button data from a chat linked to another employer, and from an unlinked one.
    kunming = await employer_chat(seeded, KUNMING, chat_id=-1002)
    kunming_list = (await seeded.send(kunming.text("/employees")))[-1].result
    calls = await seeded.send(kunming.press(kunming_list, anna))
    [answer] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "This worker is not on your employer's list."
    assert texts(calls) == []
    stranger = seeded.user(user_id=300009)
    forged = {**kunming_list, "chat": stranger.chat}
    for data in (anna, "emp:list:all:0"):
        calls = await seeded.send(stranger.press(forged, data))
        [answer] = [call for call in calls if call.method == "answerCallbackQuery"]
        assert answer.params["text"] == "This chat is not linked to an employer."
        assert texts(calls) == []


async def test_employer_lists_never_show_other_employers_workers(seeded: BotHarness) -> None:
    member = await employer_chat(seeded, HARBOUR)
    calls = await seeded.send(member.text("/employees"))
    [text] = texts(calls)
    assert [line.split(". ", 1)[1].split(" — ")[0] for line in worker_lines(text)] == [
        "Anna Müller",
        "佐藤 花子",
    ]
    for data in ("emp:list:expired:0", "emp:list:applying:0", "emp:list:expiring:0"):
        [page] = texts(await seeded.send(member.press(calls[-1].result, data)))
        for other in ("Иван", "John Smith", "محمد", "Aung", "Nguyễn", "김민준"):
            assert other not in page


def read_export(call: ApiCall) -> tuple[str, list[dict[str, str]]]:
    """The file name and the rows of an exported CSV, parsed as a spreadsheet would."""
    name, content, _mime = call.files["document"]
    assert content.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM Excel needs
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    return name, rows


async def test_export_sends_the_whole_workforce_as_csv(seeded: BotHarness) -> None:
    member = await employer_chat(seeded, KUNMING)
    calls = await seeded.send(member.text("/export"))
    [document] = [call for call in calls if call.method == "sendDocument"]
    assert document.params["chat_id"] == -1001234
    assert "3 workers" in str(document.params["caption"])
    name, rows = read_export(document)
    assert name == f"workforce-{KUNMING}-2026-11-27.csv"
    assert list(rows[0]) == [
        "Name",
        "Permit number",
        "Category",
        "Position",
        "Work city",
        "Issued on",
        "Valid until",
        "Days left",
        "Status",
        "Extension window opens",
        "Extension last day",
        "Open application",
        "Application status",
        "Application reference",
    ]
    assert [row["Name"] for row in rows] == ["محمد العلي", "Aung Ko Ko", "Nguyễn Văn An"]
    aung = rows[1]
    assert aung == {
        "Name": "Aung Ko Ko",
        "Permit number": PEOPLE["Aung Ko Ko"].permit_no,
        "Category": "C",
        "Position": "Logistics Assistant",
        "Work city": "Kunming",
        "Issued on": (TODAY + timedelta(days=45 - 730)).isoformat(),
        "Valid until": "2027-01-11",
        "Days left": "45",
        "Status": "Valid",
        "Extension window opens": "2026-10-13",
        "Extension last day": "2026-12-12",
        "Open application": "",
        "Application status": "",
        "Application reference": "",
    }
    assert (rows[0]["Days left"], rows[0]["Status"]) == ("-15", "Expired")
    assert rows[2]["Status"] == "Cancelled"


async def test_export_carries_open_applications_and_only_own_workers(
    seeded: BotHarness,
) -> None:
    member = await employer_chat(seeded, LOTUS)
    calls = await seeded.send(member.text("/export"))
    [document] = [call for call in calls if call.method == "sendDocument"]
    _name, rows = read_export(document)
    assert [row["Name"] for row in rows] == ["김민준", "John Smith"]
    john = rows[1]
    assert (john["Open application"], john["Application status"]) == (
        "Change",
        "documents requested",
    )
    assert john["Application reference"] == "CHG-555507"
    content = document.files["document"][1].decode("utf-8-sig")
    for other in ("Anna", "Иван", "Aung", PEOPLE["Anna Müller"].permit_no):
        assert other not in content
    for secret in (PEOPLE["John Smith"].ss_no, PEOPLE["John Smith"].passport_no):
        assert secret not in content


async def test_export_keeps_formula_like_text_as_text(seeded: BotHarness) -> None:
    async with seeded.db.session() as session:
        person = await session.scalar(select(Person).where(Person.full_name == "Aung Ko Ko"))
        assert person is not None
        person.full_name = "=HYPERLINK(1)"
    member = await employer_chat(seeded, KUNMING)
    [document] = [
        call for call in await seeded.send(member.text("/export")) if call.method == "sendDocument"
    ]
    _name, rows = read_export(document)
    assert rows[1]["Name"] == "'=HYPERLINK(1)"


async def test_export_in_the_member_s_language(seeded: BotHarness) -> None:
    await employer_chat(seeded, KUNMING)
    russian = group_member(seeded, user_id=200077, language="ru")
    calls = await seeded.send(russian.text("/export"))
    [document] = [call for call in calls if call.method == "sendDocument"]
    _name, rows = read_export(document)
    assert len(rows) == 3
    assert "27 ноября 2026" in str(document.params["caption"])  # dates in Russian
    # Dates in the file stay ISO, whatever the language, so spreadsheets read them as dates.
    assert date.fromisoformat(rows[1][list(rows[1])[6]]) == date(2027, 1, 11)
