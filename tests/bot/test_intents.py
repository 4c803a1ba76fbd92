"""The free-text matcher: normalization, every script, typos, mixed languages, the phrase files,
the knowledge base and the labelled set."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.intents import (
    PHRASES_DIR,
    IntentIndex,
    language_of,
    load_examples,
    normalize,
    phrase_languages,
    read_phrases,
    understand,
)
from bot.knowledge import KNOWLEDGE, Intent, entries_by_id

LABELLED = Path(__file__).resolve().parents[1] / "data" / "intents.csv"


def labelled_rows() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Où  est ma CARTE?", "ou est ma carte"),
        ("Nguyễn Văn An", "nguyen van an"),
        ("ＱＲ　ｃｏｄｅ", "qr code"),
        ("تَصْرِيح الإقامة", "تصريح الاقامه"),
        ("Straße", "strasse"),
        ("我的社保卡在哪里领？", "我的社保卡在哪里领"),
    ],
)
def test_normalization_folds_case_accents_and_width(raw: str, normalized: str) -> None:
    assert normalize(raw) == normalized


def test_marks_that_are_part_of_a_letter_are_kept() -> None:
    # Thai vowel signs and Devanagari vowel signs change the word; Latin accents do not.
    assert normalize("ใบอนุญาต") == "ใบอนุญาต"
    assert normalize("किताब") == "किताब"


@pytest.mark.parametrize(
    ("language", "text", "intent"),
    [
        ("ru", "когда заканчивается мое разрешение?", Intent.DEADLINE),
        ("zh_Hans", "我的社保卡在哪里领", Intent.SOCIAL),
        ("en", "how do I renew", Intent.DEADLINE),
        ("en", "QR pls", Intent.QR),
        ("ja", "居留許可の申請はどこ", Intent.GUIDE_RESIDENCE),
        ("th", "ขอคิวอาร์โค้ดด้วย", Intent.QR),
        ("ko", "사회보장카드는 어디서 받나요", Intent.SOCIAL),
        ("ar", "متى ينتهي تصريحي", Intent.DEADLINE),
    ],
)
def test_questions_in_many_scripts_find_their_intent(
    language: str, text: str, intent: Intent
) -> None:
    assert understand(text, language).intent is intent


def test_typos_and_missing_diacritics_still_match() -> None:
    assert understand("wehn does my permt expier", "en").intent is Intent.DEADLINE
    assert understand("xin chao", "vi").intent is Intent.GREETING
    assert understand("carte de securite sociale", "fr").intent is Intent.SOCIAL


def test_mixed_languages_match_the_union_of_examples() -> None:
    assert understand("my 社保 card", "en").intent is Intent.SOCIAL
    assert understand("где мой 二维码", "ru").intent is Intent.QR


def test_a_language_is_matched_from_its_phrase_file() -> None:
    # Korean phrases come from locales/intents/ko.json (the matcher needs no catalog).
    assert understand("취업허가 연장은 언제 해요", "ko").intent is Intent.DEADLINE


def test_knowledge_base_entry_answers_a_common_question() -> None:
    match = understand("How long is the Notification Letter valid?", "en")
    assert match.intent is Intent.GUIDE_Z_VISA
    assert match.confident
    assert match.entry_id == "kb.letter.validity"


def test_own_language_examples_get_a_bonus() -> None:
    # "pdf" is an example in every language; the reader's own one wins the tie.
    index = IntentIndex(load_examples())
    plain = index.match("pdf")
    boosted = index.match("pdf", ["ru"])
    assert boosted.score >= plain.score


@pytest.mark.parametrize("text", ["", "   ", "?", "я", "9", "x" * 4096, "asdkjh qwpoe zxmv"])
def test_noise_is_not_understood(text: str) -> None:
    match = understand(text, "en")
    assert match.intent is None
    assert not match.confident


def test_vague_text_is_not_acted_on() -> None:
    match = understand("permit", "en")
    assert match.intent is not None
    assert not match.confident
    assert len(match.guesses) == 3


@pytest.mark.parametrize(
    ("code", "language"),
    [("zh-CN", "zh_Hans"), ("zh-hant", "zh_Hant"), ("zh_TW", "zh_Hant"), ("pt-BR", "pt")],
)
def test_language_tags_map_to_phrase_files(code: str, language: str) -> None:
    assert language_of(code) == language


def test_knowledge_base_has_forty_entries_with_stable_unique_ids() -> None:
    ids = [entry.id for entry in KNOWLEDGE]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    assert all(entry_id.startswith("kb.") for entry_id in ids)
    assert all(isinstance(entry.intent, Intent) for entry in KNOWLEDGE)


@pytest.mark.parametrize("language", phrase_languages())
def test_phrase_file_keys_are_intents_or_entries(language: str) -> None:
    phrases = read_phrases(language)
    known = {intent.value for intent in Intent} | set(entries_by_id())
    assert set(phrases) <= known
    assert all(phrases.values())


def test_every_intent_has_examples_in_the_source_language() -> None:
    english = read_phrases("en")
    assert {intent.value for intent in Intent} <= set(english)


def test_adding_a_language_is_adding_a_file(tmp_path: Path) -> None:
    (tmp_path / "eo.json").write_text(
        json.dumps({"qr": ["montru mian kodon"], "thanks": ["dankon"]}), encoding="utf-8"
    )
    index = IntentIndex(load_examples(tmp_path))
    assert index.match("montru la kodon", ["eo"]).best is not None
    assert index.match("montru la kodon", ["eo"]).guesses[0].intent is Intent.QR


def test_phrase_files_sit_beside_the_catalogs() -> None:
    assert PHRASES_DIR.parent.name == "locales"


def test_labelled_set_is_large_varied_and_independent_of_the_examples() -> None:
    rows = labelled_rows()
    assert len(rows) >= 300
    languages = Counter(row["lang"] for row in rows)
    assert len(languages) >= 10
    assert {row["intent"] for row in rows} == {intent.value for intent in Intent}
    known = {normalize(example.text) for example in load_examples()}
    copied = [row["text"] for row in rows if normalize(row["text"]) in known]
    assert copied == []


def test_labelled_set_accuracy_is_at_least_ninety_percent() -> None:
    rows = labelled_rows()
    right = sum(
        1
        for row in rows
        if (match := understand(row["text"], row["lang"])).intent is not None
        and match.intent.value == row["intent"]
    )
    assert right / len(rows) >= 0.9
