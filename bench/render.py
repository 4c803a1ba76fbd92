"""Benchmark of the CPU work behind /qr and /document: a QR PNG and the permit PDF.

Renders a verification-code-sized QR code and the one-page permit PDF (Chinese, English and,
for a Russian or Arabic reader, a third language) many times, after a warm-up (fonts are
parsed once per process), and prints medians and p95 per kind. Baseline in the same run:
encoding the same PNG pixels with Pillow alone, to show what the QR library adds.
Last line: `RESULT qr_ms=<median> pdf_ms=<median>` (targets: QR ≤ 3 ms, PDF ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import functools
import io
import statistics
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
from bot.verification_codes import render_qr_png
from storage.models import CardState, ECardState, PermitCategory, PermitStatus

URL = "https://permits.example.com/v/" + "x" * 220  # about the length of a signed token URL


def details() -> PermitDetails:
    """A synthetic permit holder."""
    return PermitDetails(
        permit_id=1,
        permit_no="901555555555555501",
        full_name="Anna Müller",
        chinese_name="安娜",
        nationality="DE",
        category=PermitCategory.B,
        status=PermitStatus.VALID,
        employer_name="Example Technology (Shanghai) Co., Ltd.",
        position="Software Engineer",
        work_city="Shanghai",
        issued_on=date(2025, 3, 1),
        valid_until=date(2027, 2, 28),
        ss_masked="SS86••••••••1234",
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
        pixels.save(buffer, format="PNG")
        return buffer.getvalue()

    qr = report("QR PNG", timed(lambda: render_qr_png(URL), args.rounds))
    baseline = report("baseline: PNG encode only", timed(pillow_only, args.rounds))
    print(f"QR ÷ PNG encoding alone: {qr / baseline:.1f}×")
    medians = {}
    for locale in ("en", "ru", "ar"):
        page = PermitDocument(details(), png, datetime.now(UTC), ZoneInfo("Asia/Shanghai"), locale)
        render = functools.partial(render_permit_pdf, page)
        medians[locale] = report(f"PDF (reader: {locale})", timed(render, args.rounds // 4))
    pdf = max(medians.values())
    print(f"RESULT qr_ms={qr:.2f} pdf_ms={pdf:.2f}")


if __name__ == "__main__":
    main()
