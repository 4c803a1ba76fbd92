"""The translation workflow behind `python run_bot.py i18n extract|update|check`.

- extract: collect every `_()`, `N_()` and `ngettext()` message of the code into
  `locales/messages.pot` (no source locations, sorted, so diffs stay small);
- update: merge the template into every catalog (new messages appear untranslated, removed
  ones are dropped; no fuzzy guessing);
- check: every catalog complete, unfuzzy, without obsolete entries, placeholders and plural
  form counts right, glossary terms used, messages within Telegram's limits, and (when GNU
  gettext is installed) `msgfmt --check` clean.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES_DIR, SOURCE_LOCALE, available_locales

ROOT = LOCALES_DIR.parent
TEMPLATE = LOCALES_DIR / "messages.pot"
GLOSSARY = LOCALES_DIR / "glossary.csv"
SOURCE_FOLDERS = ("bot", "handlers", "storage")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:[!:][^}]*)?\}")
MESSAGE_LIMIT = 4096
DESCRIPTION_LIMIT = 512  # setMyDescription
SHORT_DESCRIPTION_LIMIT = 120  # setMyShortDescription
PRODUCT_NAME = "Work Permit Assistant"
COMMAND_DESCRIPTION_LIMIT = 256


def catalog_path(locale: str) -> Path:
    """Where a locale's catalog lives."""
    return LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, width=79, no_location=True, sort_output=True)


def extract() -> int:
    """Write the template from the code; returns how many messages it holds."""
    template = Catalog(
        project="Work Permit Assistant",
        copyright_holder="Work Permit Assistant contributors",
        msgid_bugs_address="i18n@example.invalid",
    )
    for folder in SOURCE_FOLDERS:
        for filename, line, message, _comments, context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS
        ):
            template.add(message, None, [(f"{folder}/{filename}", line)], context=context)
    _write(TEMPLATE, template)
    return len(template)


def update() -> dict[str, int]:
    """Merge the template into every catalog; per locale, how many messages lack a
    translation afterwards."""
    template = _read(TEMPLATE)
    untranslated: dict[str, int] = {}
    for locale in available_locales():
        if locale == SOURCE_LOCALE:
            continue
        catalog = _read(catalog_path(locale), locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        _write(catalog_path(locale), catalog)
        untranslated[locale] = sum(1 for message in catalog if message.id and not _done(message))
    return untranslated


def _strings(message: Message) -> list[str]:
    value = message.string
    if isinstance(value, str) or value is None:
        return [value or ""]
    return [str(text or "") for text in value]


def _done(message: Message) -> bool:
    return all(_strings(message)) and not message.fuzzy


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a catalog."""

    locale: str
    message: str
    what: str

    def __str__(self) -> str:
        return f"{self.locale}: {self.what}: {self.message[:70]!r}"


def glossary() -> dict[str, dict[str, str]]:
    """term key → {"original": the official Chinese term, "en": the English term in the
    code's messages, <locale>: the rendering that must appear in that locale's translation
    wherever the English uses the term (grammatical variants separated by "|")}."""
    if not GLOSSARY.exists():
        return {}
    with GLOSSARY.open(encoding="utf-8", newline="") as handle:
        return {row["term"]: row for row in csv.DictReader(handle)}


def _english_terms(terms: dict[str, dict[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    # Longer terms first: "electronic social security card" before "social security card".
    ordered = sorted(terms, key=lambda key: -len(terms[key]["en"]))
    return [
        (key, re.compile(r"\b" + re.escape(terms[key]["en"]) + r"\b", re.IGNORECASE))
        for key in ordered
    ]


def check_catalog(locale: str, template_ids: set[str]) -> Iterator[Problem]:
    """Every problem of one catalog."""
    catalog = _read(catalog_path(locale), locale)
    forms = get_plural(Locale.parse(locale)).num_plurals
    terms = glossary()
    english_terms = _english_terms(terms)
    seen: set[str] = set()
    limits = _special_limits()
    for message in catalog:
        if not message.id:
            continue
        key = str(message.id if isinstance(message.id, str) else message.id[0])
        seen.add(key)
        if key not in template_ids:
            yield Problem(locale, key, "not in the template (obsolete)")
        if message.fuzzy:
            yield Problem(locale, key, "fuzzy")
        strings = [str(text or "") for text in _strings(message)]
        if not isinstance(message.id, str) and len(strings) != forms:
            yield Problem(locale, key, f"{len(strings)} plural forms, {forms} expected")
        expected = set(PLACEHOLDER.findall(key))
        limit = limits.get(key, MESSAGE_LIMIT)
        for string in strings:
            if not string:
                yield Problem(locale, key, "untranslated")
                continue
            if set(PLACEHOLDER.findall(string)) != expected:
                yield Problem(locale, key, "placeholders differ")
            if len(string) > limit:
                yield Problem(locale, key, f"longer than Telegram's {limit} characters")
            yield from _glossary_problems(locale, key, string, terms, english_terms)
    for missing in sorted(template_ids - seen):
        yield Problem(locale, missing, "missing")
    if catalog.obsolete:
        yield Problem(locale, "", f"{len(catalog.obsolete)} obsolete entries kept")
    yield from _msgfmt(locale)


def _glossary_problems(
    locale: str,
    key: str,
    string: str,
    terms: dict[str, dict[str, str]],
    english_terms: list[tuple[str, re.Pattern[str]]],
) -> Iterator[Problem]:
    english = key.replace(PRODUCT_NAME, " ")  # the bot's name is not a glossary term
    for term, pattern in english_terms:
        if not pattern.search(english):
            continue
        english = pattern.sub(" ", english)  # a longer term covers the shorter inside it
        wanted = terms[term].get(locale, "")
        # A cell may list grammatical variants separated by "|": any one of them will do.
        if wanted and not any(
            variant.casefold() in string.casefold() for variant in wanted.split("|")
        ):
            yield Problem(locale, key, f"glossary: {term} should read {wanted!r}")


def _msgfmt(locale: str) -> Iterator[Problem]:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        return
    result = subprocess.run(  # noqa: S603 - GNU gettext on our own catalog
        [msgfmt, "--check", "-o", "/dev/null", str(catalog_path(locale))],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        yield Problem(locale, "", "msgfmt --check: " + result.stderr.strip()[:300])


def _special_limits() -> dict[str, int]:
    """Messages Telegram holds to a shorter limit than a chat message."""
    from bot.app import COMMANDS, DESCRIPTION, SHORT_DESCRIPTION

    limits = {spec.description: COMMAND_DESCRIPTION_LIMIT for spec in COMMANDS}
    limits[DESCRIPTION] = DESCRIPTION_LIMIT
    limits[SHORT_DESCRIPTION] = SHORT_DESCRIPTION_LIMIT
    return limits


def check() -> list[Problem]:
    """Every problem of every shipped catalog."""
    template = _read(TEMPLATE)
    template_ids = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in template
        if message.id
    }
    problems: list[Problem] = []
    for locale in available_locales():
        if locale != SOURCE_LOCALE:
            problems.extend(check_catalog(locale, template_ids))
    return problems
