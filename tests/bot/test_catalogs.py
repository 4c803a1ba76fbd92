"""Every shipped catalog is complete, current, unfuzzy and keeps the placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, _, available_locales, translations, use_locale

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:[!:][^}]*)?\}")
TRANSLATED = [locale for locale in available_locales() if locale != "en"]
REQUIRED = {"en", "zh_Hans", "ru", "ar"}


def _source_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "storage"):
        for _filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords={"_": None, "N_": None, "ngettext": (1, 2)}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_required_languages_are_shipped() -> None:
    assert set(available_locales()) >= REQUIRED


def test_template_lists_every_message_in_the_code() -> None:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(handle)
            if message.id
        }
    missing = _source_messages() - template
    assert not missing, f"run pybabel extract (see README); not in messages.pot: {missing}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_translates_every_message(locale: str) -> None:
    catalog = _catalog(locale)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    missing = _source_messages() - translated
    assert not missing, f"{locale} lacks translations for: {sorted(missing)}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_has_no_fuzzy_or_obsolete_entries(locale: str) -> None:
    catalog = _catalog(locale)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"{locale} has fuzzy entries: {fuzzy}"
    assert not catalog.obsolete, f"{locale} has obsolete entries: {list(catalog.obsolete)}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders(locale: str) -> None:
    for message in _catalog(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, (
                f"{locale}: placeholders differ in {ids[0]!r}"
            )
            string.format(**dict.fromkeys(expected, "x"))


def test_placeholder_check_catches_a_renamed_placeholder() -> None:
    # The check above must be able to fail: a translated {nom} is not the source's {name}.
    assert set(PLACEHOLDER.findall("Bonjour {nom}")) != set(PLACEHOLDER.findall("Hello {name}"))


@pytest.mark.parametrize("locale", TRANSLATED)
def test_compiled_catalog_translates_at_runtime(locale: str) -> None:
    with use_locale(locale):
        assert _("Choose your language:") != "Choose your language:"
    assert translations(locale).gettext("Choose your language:") != "Choose your language:"
