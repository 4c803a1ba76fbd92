"""The /document journey: a real PDF, Chinese text intact when extracted, QR that verifies."""

from __future__ import annotations

import pypdfium2
import pytest
import zxingcpp

from bot.credentials import verify
from tests.conftest import BotHarness, texts
from tests.e2e.records import PEOPLE, linked


def pdf_text(pdf: bytes) -> str:
    """The text PDFium (Chrome's PDF engine) extracts from every page, white space removed."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        chunks = []
        for page in document:
            text_page = page.get_textpage()
            chunks.append(text_page.get_text_range())
            text_page.close()
            page.close()
    finally:
        document.close()
    return "".join("".join(chunks).split())


def qr_in(pdf: bytes) -> str:
    """Render the page and read its QR code with a real decoder."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=2).to_pil()
        page.close()
    finally:
        document.close()
    [result] = zxingcpp.read_barcodes(image)
    return str(result.text)


async def test_document_is_a_bilingual_pdf_with_chinese_text_intact(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    calls = await seeded.send(seeded.user("en").text("/document"))
    [sent] = [call for call in calls if call.method == "sendDocument"]
    name, pdf, _mime = sent.files["document"]
    assert name == "work-permit-information.pdf"
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for expected in (
        "外国人工作许可信息",
        "Workpermitinformation",
        "工作许可证号",
        "901555555555555501",
        "AnnaMüller",
        "安娜",
        "用人单位",
        "ShanghaiHarbourSoftwareCo.,Ltd.",
        "德国/Germany",
        "B类/CategoryB",
        "有效/Valid",
        "2027-02-05",
        "SS86****",
    ):
        assert expected in text, expected
    assert PEOPLE["Anna Müller"].ss_no not in text
    assert "📄" in str(sent.result["caption"])


async def test_document_qr_verifies(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    calls = await seeded.send(seeded.user().text("/document"))
    [sent] = [call for call in calls if call.method == "sendDocument"]
    url = qr_in(sent.files["document"][1])
    assert url.startswith("http://127.0.0.1:8080/v/")
    claims = verify(url.rsplit("/", 1)[1], seeded.app.bot_data.codes.ring.public_key)
    assert claims.subject


async def test_document_adds_the_reader_s_language(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Иван Петров"])
    calls = await seeded.send(seeded.user("ru").text("/document"))
    [sent] = [call for call in calls if call.method == "sendDocument"]
    text = pdf_text(sent.files["document"][1])
    assert "ИванПетров" in text
    assert "Россия" in text
    assert "Номерразрешениянаработу" in text or "Номерразрешения" in text


async def test_document_in_arabic_keeps_chinese_and_english(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["محمد العلي"])
    calls = await seeded.send(seeded.user("ar").text("/document"))
    # An expired permit has no valid verification code, so no document either.
    assert not [call for call in calls if call.method == "sendDocument"]
    assert "انتهت" in texts(calls)[0]


async def test_document_needs_a_link(seeded: BotHarness) -> None:
    [text] = texts(await seeded.send(seeded.user().text("/document")))
    assert text.startswith("To see this, first link your Telegram account")


def test_font_files_are_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, date, datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from bot.documents import PermitDocument, loaded_fonts, render_permit_pdf
    from bot.permits import PermitDetails
    from bot.qr_image import render_qr_png
    from storage.models import PermitCategory, PermitStatus

    loaded_fonts()  # the process's one load (cached from here on)
    reads: list[Path] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    details = PermitDetails(
        1, "901555555555555501", "Test Name", "测试", "DE", PermitCategory.A,
        PermitStatus.VALID, "Employer", "Engineer", "Shanghai", date(2025, 1, 1),
        date(2027, 1, 1), "SS86 **** **19", None, None, None,
    )  # fmt: skip
    texts_seen = []
    for _ in range(2):
        pdf = render_permit_pdf(
            PermitDocument(
                details, render_qr_png("x"), datetime.now(UTC), ZoneInfo("Asia/Shanghai"), "ru"
            )
        )
        texts_seen.append(pdf_text(pdf))
    assert not [path for path in reads if path.suffix in (".ttf", ".otf")]
    assert all("外国人工作许可信息" in text and "测试" in text for text in texts_seen)


@pytest.mark.parametrize(
    ("locale", "third"),
    [("de", "de"), ("uk", "uk"), ("ko", "ko"), ("fa", "fa"), ("vi", "vi"), ("zh_Hant", None),
     ("th", None), ("hi", None), ("my", None), ("km", None), ("bn", None)],
)  # fmt: skip
def test_the_reader_s_language_is_added_only_where_a_bundled_font_has_its_script(
    locale: str, third: str | None
) -> None:
    from bot.documents import third_language

    assert third_language(locale) == third


async def test_a_thai_reader_gets_chinese_and_english_without_missing_glyphs(
    seeded: BotHarness,
) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    calls = await seeded.send(seeded.user("th").text("/document"))
    [sent] = [call for call in calls if call.method == "sendDocument"]
    text = pdf_text(sent.files["document"][1])
    assert "工作许可证号" in text
    assert "Workpermitnumber" in text
    assert not any("\u0e00" <= char <= "\u0e7f" for char in text)  # no Thai without a font
