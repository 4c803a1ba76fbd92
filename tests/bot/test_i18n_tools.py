"""The translation workflow: the shipped catalogs pass the check, and broken ones do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from bot import i18n_tools
from bot.i18n import _, available_locales, ngettext, use_locale


def test_every_shipped_catalog_passes_the_check() -> None:
    problems = i18n_tools.check()
    assert problems == [], "\n".join(map(str, problems[:20]))


def _broken_copy(tmp_path: Path, locale: str, change) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "messages.po"
    shutil.copy(i18n_tools.catalog_path(locale), path)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    change(catalog)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=79, no_location=True)
    return path


def _problems(monkeypatch: pytest.MonkeyPatch, locale: str, path: Path) -> list[str]:
    monkeypatch.setattr(i18n_tools, "catalog_path", lambda _locale: path)
    template = i18n_tools._read(i18n_tools.TEMPLATE)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    return [problem.what for problem in i18n_tools.check_catalog(locale, ids)]


def test_a_changed_placeholder_and_a_missing_plural_form_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def damage(catalog):  # type: ignore[no-untyped-def]
        for message in catalog:
            if isinstance(message.id, str) and "{date}" in message.id:
                message.string = message.string.replace("{date}", "{datum}")
                break
        for message in catalog:
            if isinstance(message.id, tuple):
                message.string = message.string[:-1]
                break

    problems = _problems(monkeypatch, "ru", _broken_copy(tmp_path, "ru", damage))
    assert "placeholders differ" in problems
    # A plural entry with a form missing reads back with that form empty, and GNU gettext
    # refuses the file.
    assert "untranslated" in problems
    assert any(problem.startswith("msgfmt --check") for problem in problems)


def test_an_untranslated_or_fuzzy_entry_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def damage(catalog):  # type: ignore[no-untyped-def]
        messages = [m for m in catalog if isinstance(m.id, str) and m.id]
        messages[0].string = ""
        messages[1].flags.add("fuzzy")

    problems = _problems(monkeypatch, "zh_Hans", _broken_copy(tmp_path, "zh_Hans", damage))
    assert "untranslated" in problems
    assert "fuzzy" in problems


def test_a_glossary_term_left_out_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terms = i18n_tools.glossary()
    wanted = terms["work_permit"]["zh_Hans"]

    def damage(catalog):  # type: ignore[no-untyped-def]
        for message in catalog:
            if isinstance(message.id, str) and "work permit" in message.id.lower():
                message.string = message.string.replace(wanted, "工作证")
                assert wanted not in message.string
                return

    problems = _problems(monkeypatch, "zh_Hans", _broken_copy(tmp_path, "zh_Hans", damage))
    assert f"glossary: work_permit should read {wanted!r}" in problems


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 дней"), (1, "1 день"), (2, "2 дня"), (5, "5 дней"), (21, "21 день")],
)
def test_russian_plurals_follow_cldr(n: int, expected: str) -> None:
    with use_locale("ru"):
        text = ngettext("{n} day left", "{n} days left", n).format(n=n)
    assert expected in text, text


@pytest.mark.parametrize(("n", "form"), [(0, 0), (1, 1), (2, 2), (3, 3), (11, 4), (100, 5)])
def test_arabic_picks_the_cldr_form_of_each_number(n: int, form: int) -> None:
    # zero, one, two, few (3-10), many (11-99), other (100-102): the catalog's six forms.
    with i18n_tools.catalog_path("ar").open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    entry = catalog.get(("{n} day left", "{n} days left"))
    assert entry is not None
    forms = [str(text) for text in entry.string or ()]
    assert len(forms) == 6
    with use_locale("ar"):
        text = ngettext("{n} day left", "{n} days left", n).format(n=n)
    assert text == forms[form].format(n=n)


def test_the_source_language_needs_no_catalog() -> None:
    assert available_locales()[0] == "en"
    with use_locale("en"):
        assert _("Choose your language:") == "Choose your language:"


def test_a_short_description_over_telegram_s_limit_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import SHORT_DESCRIPTION

    def damage(catalog):  # type: ignore[no-untyped-def]
        catalog[SHORT_DESCRIPTION].string = "Это очень длинное описание. " * 5  # 140 chars

    problems = _problems(monkeypatch, "ru", _broken_copy(tmp_path, "ru", damage))
    assert "longer than Telegram's 120 characters" in problems
