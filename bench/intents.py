"""Accuracy of the free-text matcher on the labelled test set, and its overlap with the examples.

Reads `tests/data/intents.csv` (columns lang, text, intent, part), matches each text as a
reader of that language would be matched, and prints accuracy per language and per part
(`tuning`: rows written first, whose misses the example phrases were then improved against;
`held_out`: rows written after the phrase files were final), the misses (`--misses`),
how many test texts also appear among the example phrases after normalization (they should
not: the test set is written independently), the time per match, and finally
`RESULT accuracy=<x> n=<count>` (top-1 accuracy).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.intents import intent_index, load_examples, normalize, understand

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "intents.csv"


Row = tuple[str, str, str, str]


def read_set(path: Path) -> list[Row]:
    """The labelled rows: (language, text, intent, part)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["lang"], row["text"], row["intent"], row.get("part") or "")
            for row in csv.DictReader(handle)
        ]


def overlap(rows: list[Row]) -> list[str]:
    """Test texts that equal an example phrase once both are normalized."""
    known = {normalize(example.text) for example in load_examples()}
    return [row[1] for row in rows if normalize(row[1]) in known]


def main() -> int:
    """Evaluate and print the figures; exit 1 when the accuracy is below `--target`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="the labelled CSV file")
    parser.add_argument("--misses", action="store_true", help="print every wrong answer")
    parser.add_argument("--target", type=float, default=0.0, help="fail below this accuracy")
    args = parser.parse_args()

    started = time.perf_counter()
    intent_index()
    built = time.perf_counter() - started
    rows = read_set(args.set)
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    started = time.perf_counter()
    for language, text, expected, part in rows:
        match = understand(text, language)
        got = match.intent.value if match.intent is not None else "unknown"
        total[language] += 1
        total["part " + part] += 1
        if got == expected:
            right[language] += 1
            right["part " + part] += 1
        elif args.misses:
            print(f"miss {language}: {text!r} expected {expected}, got {got} {match.score:.3f}")
    per_match_ms = (time.perf_counter() - started) / max(1, len(rows)) * 1000
    for key in sorted(total):
        print(f"{key:<14} {right[key]:>4}/{total[key]:<4} {right[key] / total[key]:.3f}")
    duplicates = overlap(rows)
    for text in duplicates:
        print(f"overlap: {text!r}")
    print(f"index built in {built * 1000:.0f} ms; {per_match_ms:.2f} ms per match")
    print(f"test texts equal to an example phrase: {len(duplicates)}")
    accuracy = sum(right[language] for language in total if not language.startswith("part ")) / max(
        1, len(rows)
    )
    print(f"RESULT accuracy={accuracy:.3f} n={len(rows)}")
    return 0 if accuracy >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
