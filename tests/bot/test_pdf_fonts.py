"""Permit PDFs with shared fonts cut by HarfBuzz: same pages as fpdf2's own, any character."""

from __future__ import annotations

import io
import logging
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
from fontTools.cffLib import CFFFontSet
from fpdf import FPDF

from bot import documents, pdf_fonts
from bot.documents import PermitDocument, render_permit_pdf
from bot.permits import PermitDetails
from bot.qr_image import render_qr_png
from storage.models import PermitCategory, PermitStatus

RARE_EMPLOYER = "上海龘犇鑫淼燚垚科技有限公司"  # characters rare outside company names


def permit(
    employer: str = "Shanghai Harbour Software Co., Ltd.", name: str = "Anna Müller"
) -> PermitDetails:
    return PermitDetails(
        1, "901555555555555501", name, "安娜", "DE", PermitCategory.B, PermitStatus.VALID,
        employer, "Engineer", "Shanghai", date(2025, 3, 1), date(2027, 2, 28),
        "SS86 **** **19", None, None, None,
    )  # fmt: skip


def page(locale: str = "en", details: PermitDetails | None = None) -> PermitDocument:
    return PermitDocument(
        details or permit(),
        render_qr_png("https://permits.example.com/v/token"),
        datetime(2025, 5, 1, 8, 30, tzinfo=UTC),
        ZoneInfo("Asia/Shanghai"),
        locale,
    )


def text_of(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        text_page = document[0].get_textpage()
        return "".join(text_page.get_text_range().split())
    finally:
        document.close()


def pixels(pdf: bytes, scale: float = 2) -> bytes:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return bytes(document[0].render(scale=scale).to_pil().convert("RGB").tobytes())
    finally:
        document.close()


def font_programs(pdf: bytes) -> dict[str, bytes]:
    """The embedded font programs by subtype (FontFile2 TrueType, FontFile3 CFF), inflated."""
    found: dict[str, bytes] = {}
    for match in re.finditer(rb"<<([^<>]*(?:<<[^<>]*>>[^<>]*)*)>>\s*stream\r?\n", pdf):
        header = match.group(1)
        if b"/Length1" not in header:
            continue
        length = int(re.search(rb"/Length (\d+)", header).group(1))  # type: ignore[union-attr]
        data = zlib.decompress(pdf[match.end() : match.end() + length])
        kind = "cff" if b"/CIDFontType0C" in header else f"truetype{len(found)}"
        found[kind] = data
    return found


class PlainFont:
    """fpdf2's own way: `add_font` from the file, subset by fontTools when written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def attach(self, pdf: FPDF, family: str) -> None:
        pdf.add_font(family, fname=str(self.path))


@pytest.mark.parametrize(
    ("locale", "employer"), [("en", None), ("ar", None), ("ko", None), ("en", RARE_EMPLOYER)]
)
def test_pages_look_exactly_as_with_fpdf2_s_own_font_embedding(
    monkeypatch: pytest.MonkeyPatch, locale: str, employer: str | None
) -> None:
    document = page(locale, permit(employer) if employer else None)
    ours = render_permit_pdf(document)
    files = documents.font_files()
    plain = {"sans": files.latin, "cjk": files.cjk, "arabic": files.arabic}
    monkeypatch.setattr(
        documents, "loaded_fonts", lambda: {k: PlainFont(v) for k, v in plain.items()}
    )
    theirs = render_permit_pdf(document)
    assert text_of(ours) == text_of(theirs)
    assert pixels(ours, scale=3) == pixels(theirs, scale=3)
    assert len(ours) < len(theirs)


def test_an_employer_named_in_rare_characters_keeps_every_glyph(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        pdf = render_permit_pdf(page(details=permit(RARE_EMPLOYER)))
    assert RARE_EMPLOYER in text_of(pdf)
    assert not [record for record in caplog.records if "missing" in record.getMessage()]
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(font_programs(pdf)["cff"]), None)
    charset = set(cff[cff.fontNames[0]].charset)
    cjk = documents.loaded_fonts()["cjk"].template.cmap
    for character in "龘犇鑫淼燚垚":
        assert cjk[ord(character)] in charset, character


def test_only_the_glyphs_used_are_embedded_and_only_from_fonts_used() -> None:
    english = render_permit_pdf(page("en"))
    arabic = render_permit_pdf(page("ar"))
    assert b"NotoSansArabic" not in english  # registered as a fallback, never used
    assert b"NotoSansArabic" in arabic
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(font_programs(english)["cff"]), None)
    glyphs = len(cff[cff.fontNames[0]].charset)
    chinese = set(text_of(english)) & {chr(code) for code in range(0x4E00, 0xA000)}
    assert len(chinese) < glyphs <= len(chinese) + 10  # .notdef and a few punctuation marks


def test_documents_rendered_in_parallel_threads_match_those_rendered_one_by_one() -> None:
    pages = [
        page(locale, permit(employer, name))
        for locale, employer, name in [
            ("en", RARE_EMPLOYER, "Anna Müller"),
            ("ru", "ООО «Ромашка»", "Иван Петров"),
            ("ar", "شركة النيل", "محمد العلي"),
            ("ko", "삼성전자", "김민준"),
            ("vi", "Công ty Phở Việt", "Nguyễn Văn An"),
            ("fa", "شرکت 上海龘犇", "علی رضایی"),
        ]
    ] * 2
    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(render_permit_pdf, pages))
    for document, pdf in zip(pages, parallel, strict=True):
        assert pixels(pdf, scale=1) == pixels(render_permit_pdf(document), scale=1)


def test_measured_widths_are_bounded_and_a_full_cache_starts_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf_fonts, "WIDTH_CACHE_ENTRIES", 50)
    widths = documents.loaded_fonts()["sans"].widths
    document = page("ru", permit("Qwzx Vrrbk Holdings", "Zyxw Quvrt"))  # text new to it
    first = render_permit_pdf(document)
    assert len(widths) <= 50
    assert pixels(render_permit_pdf(document), scale=1) == pixels(first, scale=1)
