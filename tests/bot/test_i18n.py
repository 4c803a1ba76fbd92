"""Language negotiation, locale resolution and locale-aware formatting."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import (
    RLM,
    _,
    directional,
    format_day,
    is_rtl,
    isolate,
    native_name,
    negotiate,
    resolve_locale,
    use_locale,
)


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("ru", "ru"),
        ("RU", "ru"),
        ("ar", "ar"),
        ("ar-EG", "ar"),
        ("zh", "zh_Hans"),
        ("zh-hans", "zh_Hans"),
        ("zh-cn", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh_Hans", "zh_Hans"),
        ("zh-sg", "zh_Hans"),
        ("xx", None),
        ("tlh", None),
        ("", None),
        (None, None),
        ("not a language!", None),
    ],
)
def test_telegram_language_code_is_negotiated(
    language_code: str | None, expected: str | None
) -> None:
    assert negotiate(language_code) == expected


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [
        ("pt-br", "pt"),
        ("pt-PT", "pt"),
        ("zh-hant", "zh_Hant"),
        ("zh-tw", "zh_Hant"),
        ("zh-hk", "zh_Hant"),
        ("zh-mo", "zh_Hant"),
        ("zh-Hant-TW", "zh_Hant"),
        ("ko-KR", "ko"),
        ("ja", "ja"),
        ("es-419", "es"),
        ("vi", "vi"),
        ("th-TH", "th"),
        ("ms-MY", "ms"),
        ("fil", "fil"),
        ("tl", "fil"),
        ("in", "id"),
        ("uz-Latn-UZ", "uz"),
        ("kk-KZ", "kk"),
        ("de-AT", "de"),
        ("fr-CA", "fr"),
        ("fa-IR", "fa"),
        ("ur-PK", "ur"),
        ("bn-BD", "bn"),
        ("ne-NP", "ne"),
        ("my-MM", "my"),
    ],
)
def test_regional_variants_reach_the_shipped_language(language_code: str, expected: str) -> None:
    assert negotiate(language_code) == expected


@pytest.mark.parametrize(
    ("saved", "language_code", "default", "expected"),
    [
        ("ar", "ru", "en", "ar"),
        (None, "ru", "en", "ru"),
        (None, "zh-hans", "en", "zh_Hans"),
        (None, "xx", "ru", "ru"),
        (None, None, "en", "en"),
        ("gone", "ru", "en", "ru"),
    ],
)
def test_saved_choice_beats_telegram_language_beats_default(
    saved: str | None, language_code: str | None, default: str, expected: str
) -> None:
    assert resolve_locale(saved, language_code, default) == expected


def test_languages_are_listed_by_their_own_names() -> None:
    assert native_name("ru") == "Русский"
    assert native_name("ar") == "العربية"
    assert native_name("zh_Hans").startswith("中文")
    assert native_name("en") == "English"


def test_arabic_messages_are_anchored_right_to_left() -> None:
    with use_locale("ar"):
        assert is_rtl()
        assert directional("123 " + _("Language changed.")).startswith(RLM)
        assert isolate("Anna") == "\u2068Anna\u2069"
    with use_locale("ru"):
        assert not is_rtl()
        assert directional("text") == "text"
        assert isolate("Anna") == "Anna"


def test_dates_are_written_the_locale_way() -> None:
    day = date(2026, 12, 1)
    with use_locale("en"):
        assert format_day(day) == "December 1, 2026"
    with use_locale("ru"):
        assert format_day(day) == "1 декабря 2026\u202fг."
    with use_locale("zh_Hans"):
        assert format_day(day) == "2026年12月1日"
