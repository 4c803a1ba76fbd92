"""The one-page PDF "Work permit information" in Chinese and English (plus the reader's language).

Fonts come from PyPI packages installed with the project (Noto Sans, Noto Sans Arabic and
Noto Sans CJK); nothing is fetched at run time. Their files are located once per process.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from importlib import import_module
from pathlib import Path

from babel import Locale
from babel.core import get_global
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.i18n import N_, _, babel_locale, format_day, use_locale
from bot.pdf_fonts import LoadedFont, SubsetFontOutput
from bot.permits import PermitDetails
from storage.models import PermitCategory, PermitStatus

TITLE_ZH = "外国人工作许可信息"
TITLE_EN = "Work permit information"
TITLE = N_("Work permit information")

# (Chinese label, English label = the msgid of the reader's-language label)
LABELS: tuple[tuple[str, str], ...] = (
    ("持证人姓名", N_("Name of holder")),
    ("中文姓名", N_("Chinese name")),
    ("国籍", N_("Nationality")),
    ("工作许可证号", N_("Work permit number")),
    ("许可类别", N_("Category")),
    ("用人单位", N_("Employer")),
    ("职位", N_("Position")),
    ("工作地点", N_("Work city")),
    ("有效期自", N_("Valid from")),
    ("有效期至", N_("Valid until")),
    ("状态", N_("Status")),
    ("社会保障号码", N_("Social-security number")),
    ("生成时间", N_("Issued at")),
)
SCAN_ZH = "扫描二维码核验本许可"
SCAN = N_("Scan the QR code to verify this permit")
STATUS_ZH = {
    PermitStatus.VALID: "有效",
    PermitStatus.EXPIRED: "已过期",
    PermitStatus.CANCELLED: "已注销",
}
STATUS_EN = {
    PermitStatus.VALID: "Valid",
    PermitStatus.EXPIRED: "Expired",
    PermitStatus.CANCELLED: "Cancelled",
}
STATUS = {
    PermitStatus.VALID: N_("Valid"),
    PermitStatus.EXPIRED: N_("Expired"),
    PermitStatus.CANCELLED: N_("Cancelled"),
}
CATEGORY_ZH = {PermitCategory.A: "A类", PermitCategory.B: "B类", PermitCategory.C: "C类"}


@dataclass(frozen=True, slots=True)
class FontFiles:
    """Where the bundled fonts are, per script."""

    latin: Path  # Latin, Cyrillic, Greek, Vietnamese
    cjk: Path
    arabic: Path


def _package_file(package: str, pattern: str) -> Path:
    folder = Path(str(import_module(package).__file__)).parent
    found = sorted(folder.glob(pattern))
    if not found:
        raise FileNotFoundError(f"font {pattern} missing from package {package}")
    return found[0]


@cache
def loaded_fonts() -> dict[str, LoadedFont]:
    """The bundled fonts, read and parsed once per process."""
    files = font_files()
    return {
        "sans": LoadedFont(files.latin),
        "cjk": LoadedFont(files.cjk),
        "arabic": LoadedFont(files.arabic),
    }


@cache
def font_files() -> FontFiles:
    """The fonts shipped as PyPI packages, located once per process."""
    return FontFiles(
        latin=_package_file("fontpkg_noto_sans", "files/NotoSans[[]wdth,wght[]].ttf"),
        cjk=_package_file("cvttf_NotoSansCJK_Regular", "NotoSansCJK*-Regular.otf"),
        arabic=_package_file("fontpkg_noto_sans_arabic", "files/NotoSansArabic*.ttf"),
    )


# Scripts the bundled fonts render; a reader's language in another script is left out.
_RENDERABLE = frozenset({"Latn", "Cyrl", "Grek", "Arab", "Hans", "Hant", "Jpan", "Kore"})


def _script(locale: Locale) -> str:
    """The script a language is written in (CLDR's likely subtags: th → Thai, hi → Deva)."""
    if locale.script:
        return locale.script
    likely = get_global("likely_subtags").get(locale.language, "")
    parts = str(likely).split("_")
    return parts[1] if len(parts) > 2 else "Latn"


def third_language(locale: str) -> str | None:
    """The reader's language, when it is neither Chinese nor English and its script renders."""
    loc = babel_locale(locale)
    if loc.language in ("zh", "en"):
        return None
    return locale if _script(loc) in _RENDERABLE else None


def _country(code: str, locale: Locale) -> str:
    return str(locale.territories.get(code, code))


@dataclass(frozen=True, slots=True)
class PermitDocument:
    """What goes on the page."""

    details: PermitDetails
    qr_png: bytes
    issued_at: datetime
    tz: tzinfo
    reader_locale: str


def render_permit_pdf(document: PermitDocument) -> bytes:
    """The PDF bytes (CPU-bound: call it from a worker thread)."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLE_ZH} / {TITLE_EN}")
    pdf.set_creator("Work Permit Assistant")
    for family, font in loaded_fonts().items():
        font.attach(pdf, family)
    pdf.set_fallback_fonts(["cjk", "arabic"], exact_match=False)
    # HarfBuzz shaping joins Arabic letters and orders right-to-left runs.
    # Kerning is off: fpdf2 misplaces kerned glyphs of these variable fonts.
    pdf.set_text_shaping(True, features={"kern": False})
    pdf.set_margins(15, 15, 15)
    pdf.add_page()

    details = document.details
    local = third_language(document.reader_locale)
    zh, en = Locale.parse("zh_Hans"), Locale.parse("en")
    local_labels: dict[str, str] = {}
    local_title = local_scan = local_status = local_country = ""
    local_valid = ("", "")
    if local is not None:
        with use_locale(local):
            local_labels = {label: _(label) for _zh, label in LABELS}
            local_title, local_scan = _(TITLE), _(SCAN)
            local_status = _(STATUS[details.status])
            local_country = _country(details.nationality, babel_locale(local))
            local_valid = (format_day(details.issued_on), format_day(details.valid_until))

    pdf.set_font("cjk", size=18)
    pdf.cell(0, 10, TITLE_ZH, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("sans", size=14)
    pdf.cell(0, 8, TITLE_EN, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if local is not None:
        pdf.cell(0, 8, local_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    values: dict[str, str] = {
        "Name of holder": details.full_name,
        "Chinese name": details.chinese_name or "—",
        "Nationality": f"{_country(details.nationality, zh)} / "
        f"{_country(details.nationality, en)}"
        + (f" / {local_country}" if local is not None else ""),
        "Work permit number": details.permit_no,
        "Category": f"{CATEGORY_ZH[details.category]} / Category {details.category.value}",
        "Employer": details.employer_name,
        "Position": details.position,
        "Work city": details.work_city,
        "Valid from": details.issued_on.isoformat()
        + (f" ({local_valid[0]})" if local is not None else ""),
        "Valid until": details.valid_until.isoformat()
        + (f" ({local_valid[1]})" if local is not None else ""),
        "Status": f"{STATUS_ZH[details.status]} / {STATUS_EN[details.status]}"
        + (f" / {local_status}" if local is not None else ""),
        "Social-security number": details.ss_masked,
        "Issued at": document.issued_at.astimezone(document.tz).strftime("%Y-%m-%d %H:%M %Z"),
    }
    label_width = 70
    for label_zh, label_en in LABELS:
        label = f"{label_zh}\n{label_en}"
        if local is not None:
            label += f"\n{local_labels[label_en]}"
        y = pdf.get_y()
        pdf.set_font("sans", size=9)
        pdf.multi_cell(label_width, 4.5, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        label_bottom = pdf.get_y() + 4.5 * label.count("\n") + 4.5
        pdf.set_xy(15 + label_width, y)
        pdf.set_font("sans", size=11)
        pdf.multi_cell(0, 6, values[label_en], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(pdf.get_y(), label_bottom) + 2)
        pdf.set_draw_color(220, 220, 220)
        pdf.line(15, pdf.get_y() - 1, 195, pdf.get_y() - 1)

    pdf.ln(2)
    qr_y = pdf.get_y()
    pdf.image(io.BytesIO(document.qr_png), x=15, y=qr_y, w=45, h=45)
    pdf.set_xy(65, qr_y + 10)
    pdf.set_font("sans", size=10)
    scan = f"{SCAN_ZH}\nScan the QR code to verify this permit"
    if local is not None:
        scan += f"\n{local_scan}"
    pdf.multi_cell(0, 5, scan)
    return bytes(pdf.output(output_producer_class=SubsetFontOutput))
