"""The free-text matcher: normalization, every script, typos, mixed languages, the phrase files,
the knowledge base and the labelled set."""

from __future__ import annotations

import csv
import json
import math
import threading
from collections import Counter
from pathlib import Path

import pytest

from bot import intents
from bot.intents import (
    PHRASES_DIR,
    Example,
    IntentIndex,
    LazyIndex,
    features,
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


def test_the_index_is_built_once_however_many_threads_ask_at_once() -> None:
    building = threading.Event()
    release = threading.Event()
    built: list[IntentIndex] = []
    tiny = [Example(Intent.QR, None, "en", "show my qr code")]

    def build() -> IntentIndex:
        building.set()
        release.wait()
        built.append(IntentIndex(tiny))
        return built[-1]

    lazy = LazyIndex(build)
    assert not lazy.built
    got: list[IntentIndex] = []
    first = threading.Thread(target=lambda: got.append(lazy.get()))
    first.start()
    building.wait()  # the first thread is inside the build, holding the lock
    others = [threading.Thread(target=lambda: got.append(lazy.get())) for _ in range(7)]
    for thread in others:
        thread.start()
    release.set()
    for thread in (first, *others):
        thread.join()
    assert lazy.builds == 1
    assert len(built) == 1
    assert len(got) == 8
    assert all(index is built[0] for index in got)


def test_a_failed_build_is_retried_on_the_next_use() -> None:
    attempts: list[int] = []

    def build() -> IntentIndex:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("phrase file unreadable")
        return IntentIndex([Example(Intent.THANKS, None, "en", "thank you")])

    lazy = LazyIndex(build)
    with pytest.raises(OSError, match="unreadable"):
        lazy.get()
    assert lazy.get().match("thanks a lot").intent is Intent.THANKS
    assert lazy.builds == 1


class ReferenceIndex:
    """Cosine similarities straight from the definition: dict vectors, IDF over intents."""

    def __init__(self, examples: list[Example]) -> None:
        vectors = [features(normalize(example.text)) for example in examples]
        kept = [(example, vector) for example, vector in zip(examples, vectors, strict=True)]
        kept = [(example, vector) for example, vector in kept if vector]
        per_intent: dict[Intent, set[str]] = {}
        for example, vector in kept:
            per_intent.setdefault(example.intent, set()).update(vector)
        self.frequency = Counter(feature for shared in per_intent.values() for feature in shared)
        self.count = len(per_intent)
        self.vectors = [self.unit(vector) for _example, vector in kept]

    def unit(self, vector: Counter[str]) -> dict[str, float]:
        rarity = {
            feature: math.log((self.count + 1) / (self.frequency.get(feature, 0) + 1)) + 1
            for feature in vector
        }
        weights = {
            feature: (1 + math.log(times)) * rarity[feature] for feature, times in vector.items()
        }
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        return {feature: weight / norm for feature, weight in weights.items()}

    def similarities(self, text: str) -> dict[int, float]:
        query = self.unit(features(normalize(text)))
        return {
            number: sum(query[feature] * vector[feature] for feature in query.keys() & vector)
            for number, vector in enumerate(self.vectors)
            if query.keys() & vector
        }


@pytest.fixture(scope="module")
def shipped() -> tuple[list[Example], IntentIndex, ReferenceIndex]:
    """Every shipped example, the compact index over them and the definition's."""
    examples = load_examples()
    return examples, IntentIndex(examples), ReferenceIndex(examples)


@pytest.mark.parametrize("language", ["en", "ru", "zh_Hans", "ar", "th", "ko", "vi"])
def test_compact_index_scores_as_the_definition_does(
    shipped: tuple[list[Example], IntentIndex, ReferenceIndex], language: str
) -> None:
    examples, index, reference = shipped
    own = [example for example in examples if example.language == language]
    for text in [own[0].text, own[len(own) // 2].text, own[-1].text + " " + own[1].text]:
        expected = reference.similarities(text)
        got = index.similarities(normalize(text))
        assert got
        assert got.keys() == expected.keys()
        assert all(got[number] == pytest.approx(expected[number], abs=1e-12) for number in got)


def test_recently_matched_texts_are_answered_from_memory_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = IntentIndex(load_examples())
    monkeypatch.setattr(intents, "RECENT_TEXTS", 3)
    first = index.match("когда истекает мое разрешение", ["ru"])
    assert index.match("когда истекает мое разрешение", ["ru"]) is first  # remembered
    assert index.match("когда истекает мое разрешение", ["ru"]) == index._match(
        "когда истекает мое разрешение", frozenset({"ru"})
    )
    # Another language is another question: the own-language bonus changes the scores.
    other = index.match("когда истекает мое разрешение", ["en"])
    assert other is not first
    assert other == index._match("когда истекает мое разрешение", frozenset({"en"}))
    for text in ("hello", "thanks", "qr please"):
        index.match(text, ["en"])
    assert len(index._recent) == 3  # bounded: the oldest went first
    assert ("когда истекает мое разрешение", frozenset({"ru"})) not in index._recent
    long_text = "when does my permit expire " * 10
    index.match(long_text, ["en"])
    assert (long_text, frozenset({"en"})) not in index._recent  # long texts are not kept
