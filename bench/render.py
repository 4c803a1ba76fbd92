"""Benchmark of the CPU work behind /qr and /document: a QR PNG and the permit PDF.

Renders a verification-code-sized QR code and the one-page permit PDF (Chinese, English and,
for a Russian or Arabic reader, a third language) many times, after a warm-up (fonts are
parsed once per process), and prints medians and p95 per kind. Every render is of a new
permit: its own URL, holder, employer, position and numbers, made up from random syllables,
so nothing measured for one render (text widths) serves the next one's own text. A last
kind has an employer named in Chinese with rare characters. Baseline in the same run:
encoding the same PNG pixels with Pillow alone, to show what the QR library adds.
Last line: `RESULT qr_ms=<median> pdf_ms=<median>` (targets: QR ≤ 3 ms, PDF ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import functools
import io
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from bot.documents import PermitDocument, render_permit_pdf
from bot.permits import PermitDetails
from bot.qr_image import PNG_COMPRESS_LEVEL, render_qr_png
from storage.models import CardState, ECardState, PermitCategory, PermitStatus

URL = "https://permits.example.com/v/" + "x" * 220  # about the length of a signed token URL
SYLLABLES = [a + b for a in "bdfgklmnprstvz" for b in "aeiou"]
# Characters of transliterated foreign names (安娜, 穆勒, ...).
NAME_CHARACTERS = "安娜穆勒伊万彼得罗夫马克思史密斯约翰玛丽亚卡尔森李大卫汉斯施密特露西"
# An employer named in Chinese with characters rare outside company names.
RARE_EMPLOYER = "上海龘犇鑫淼燚垚科技有限公司"

rng = random.Random(2025)


def word(syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


def new_url() -> str:
    """A URL of the length of a signed one, different every time."""
    return URL[:-220] + "".join(rng.choices(string.ascii_letters + string.digits, k=220))


def details(employer: str | None = None) -> PermitDetails:
    """A new synthetic permit holder (a different one on every call)."""
    return PermitDetails(
        permit_id=rng.randrange(1, 10**6),
        permit_no="9015" + "".join(rng.choices(string.digits, k=14)),
        full_name=f"{word(2)} {word(3)}",
        chinese_name="".join(rng.choices(NAME_CHARACTERS, k=rng.choice((2, 3, 4)))),
        nationality=rng.choice(("DE", "FR", "US", "RU", "EG", "BR", "JP", "IN")),
        category=rng.choice(list(PermitCategory)),
        status=PermitStatus.VALID,
        employer_name=employer or f"{word(3)} {word(2)} Technology (Shanghai) Co., Ltd.",
        position=f"{word(2)} Engineer",
        work_city=word(3),
        issued_on=date(2025, rng.randrange(1, 13), rng.randrange(1, 29)),
        valid_until=date(2027, rng.randrange(1, 13), rng.randrange(1, 29)),
        ss_masked=f"SS86••••••••{rng.randrange(10**4):04d}",
        ecard_state=ECardState.ACTIVE,
        card_state=CardState.COLLECTED,
        pickup_place=None,
    )


def timed(work: Callable[[], object], rounds: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    work()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p95 = sorted(samples)[int(0.95 * (len(samples) - 1))]
    print(f"{name:<28} median {median:7.2f} ms   p95 {p95:7.2f} ms   n={len(samples)}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="renders per kind (200)")
    args = parser.parse_args()
    png = render_qr_png(URL)
    pixels = Image.open(io.BytesIO(png)).copy()

    def pillow_only() -> bytes:
        buffer = io.BytesIO()
        pixels.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        return buffer.getvalue()

    qr = report("QR PNG", timed(lambda: render_qr_png(new_url()), args.rounds))
    baseline = report("baseline: PNG encode only", timed(pillow_only, args.rounds))
    print(f"QR ÷ PNG encoding alone: {qr / baseline:.1f}×")

    def new_document(locale: str, employer: str | None = None) -> bytes:
        page = PermitDocument(
            details(employer), png, datetime.now(UTC), ZoneInfo("Asia/Shanghai"), locale
        )
        return render_permit_pdf(page)

    medians = {}
    for locale in ("en", "ru", "ar"):
        render = functools.partial(new_document, locale)
        medians[locale] = report(f"PDF (reader: {locale})", timed(render, args.rounds // 4))
    rare = functools.partial(new_document, "en", RARE_EMPLOYER)
    report("PDF (rare Chinese employer)", timed(rare, args.rounds // 4))
    pdf = max(medians.values())
    print(f"RESULT qr_ms={qr:.2f} pdf_ms={pdf:.2f}")


if __name__ == "__main__":
    main()
