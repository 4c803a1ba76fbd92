"""Translations: gettext catalogs compiled by Babel, the current locale, and negotiation.

The current locale lives in a context variable (set once per update), so handlers and
services simply call `_()`; every message has named placeholders filled by `.format()`.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale
from babel.core import parse_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
SOURCE_LOCALE = "en"

# Telegram sends IETF tags; a few old or alternative codes mean a shipped language.
_ALIASES = {"tl": "fil", "in": "id", "iw": "he", "ji": "yi", "nb": "no", "zh": "zh_Hans"}
_TRADITIONAL_TERRITORIES = frozenset({"TW", "HK", "MO"})

# Directional isolate marks: keep a Latin name or a number from flipping an RTL line.
RLM = "\u200f"
FSI = "\u2068"
PDI = "\u2069"

_current: ContextVar[str] = ContextVar("locale", default=SOURCE_LOCALE)


@cache
def available_locales() -> tuple[str, ...]:
    """Locales that ship a catalog, the source locale first."""
    found = sorted(
        path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return (SOURCE_LOCALE, *(name for name in found if name != SOURCE_LOCALE))


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of `locale`, kept for the rest of the process (compiled on first
    use: a process pays only for the languages it speaks)."""
    return compile_catalog(locale)


def compile_catalog(locale: str) -> gettext.NullTranslations:
    """The catalog of `locale` compiled in memory from its `.po` by Babel, not kept: for
    reading a few messages of every language once (the intent index, command descriptions)."""
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def babel_locale(locale: str) -> Locale:
    """Babel's view of a shipped locale (for dates, numbers, plural rules, direction)."""
    return Locale.parse(locale)


def current_locale() -> str:
    """The locale of the update being handled."""
    return _current.get()


def set_locale(locale: str) -> None:
    """Make `locale` current for the rest of this task (one update)."""
    _current.set(locale if locale in available_locales() else SOURCE_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Render with `locale` inside the block, then restore the previous one."""
    token = _current.set(locale if locale in available_locales() else SOURCE_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate `message` into the current locale."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on the number `n` (CLDR plural rules)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, where it is shown."""
    return message


# Languages that capitalise every noun: a label inserted mid-sentence keeps its capital.
_NOUNS_CAPITALISED = frozenset({"de", "lb"})


def mid_sentence(label: str) -> str:
    """A translated label as it reads inside a sentence ("Extension" → "extension"), except
    in languages that capitalise nouns (German "Verlängerung" stays)."""
    if babel_locale(_current.get()).language in _NOUNS_CAPITALISED:
        return label
    return label[:1].lower() + label[1:]


def is_rtl(locale: str | None = None) -> bool:
    """Whether the locale is written right to left."""
    return babel_locale(locale or _current.get()).character_order == "right-to-left"


def directional(text: str) -> str:
    """Anchor a whole message right-to-left in RTL locales, so it renders as one block."""
    if is_rtl() and not text.startswith(RLM):
        return RLM + text
    return text


def isolate(value: object) -> str:
    """Wrap an embedded value (name, number) so it keeps its own direction inside text."""
    return f"{FSI}{value}{PDI}" if is_rtl() else str(value)


def native_name(locale: str) -> str:
    """The language's name in itself, capitalised as a menu entry (e.g. `Русский`)."""
    loc = babel_locale(locale)
    name = loc.get_display_name(loc) or locale
    return name[:1].upper() + name[1:]


def negotiate(language_code: str | None) -> str | None:
    """Map Telegram's `language_code` (IETF tag) to a shipped locale, or None."""
    if not language_code:
        return None
    try:
        language, territory, script, *_rest = parse_locale(
            language_code.strip().replace("_", "-"), sep="-"
        )
    except ValueError:
        return None
    language = language.lower()
    if language == "zh":
        if not script:
            script = "Hant" if territory in _TRADITIONAL_TERRITORIES else "Hans"
        candidate = f"zh_{script.title()}"
    else:
        candidate = _ALIASES.get(language, language)
    return candidate if candidate in available_locales() else None


def resolve_locale(saved: str | None, language_code: str | None, default: str) -> str:
    """The user's saved choice, else their Telegram language, else the operator's default."""
    if saved and saved in available_locales():
        return saved
    return negotiate(language_code) or default


def format_day(value: date) -> str:
    """A date written the way the current locale writes it."""
    return format_date(value, format="long", locale=babel_locale(_current.get()))


def format_moment(value: datetime, tz: tzinfo | None = None) -> str:
    """A date and time written the way the current locale writes it, in time zone `tz`."""
    return format_datetime(value, format="medium", tzinfo=tz, locale=babel_locale(_current.get()))


def format_number(value: int | float) -> str:
    """A number with the current locale's digits and grouping."""
    return format_decimal(value, locale=babel_locale(_current.get()))
