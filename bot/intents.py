"""Understanding free text: which intent (and knowledge-base entry) a message asks for.

Example phrases per intent live beside the catalogs in `locales/intents/<locale>.json`
(keys: intent ids, or knowledge-base ids for phrasings of one common question). Every
message is matched against the union of all languages' examples, so mixed-language text
("my 社保 card") and languages without their own file still match; examples in the
reader's own language get a small bonus.

Text is compared as character n-grams (TF-IDF, cosine similarity, nearest example), which
needs no word segmenter for scripts written without spaces (Chinese, Japanese, Thai, Burmese,
Khmer, Lao) and tolerates typos. Before that, text is normalized: compatibility forms folded
(full-width letters), accents and Arabic vowel marks removed, letters casefolded.

The index is built once per process; matching one message takes well under a millisecond
for a typical question, and a few milliseconds at Telegram's longest message.
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.i18n import LOCALES_DIR, translations
from bot.knowledge import KNOWLEDGE, Intent, entries_by_id

PHRASES_DIR = LOCALES_DIR / "intents"
SOURCE_LANGUAGE = "en"

# Only the start of a long message is compared: questions are short, and it bounds the work.
MAX_MATCHED_CHARS = 400
# Examples in the reader's language weigh this much more than the same match in another.
OWN_LANGUAGE_BONUS = 0.1
# At or above CONFIDENT (and clearly ahead of the next intent) the bot acts on its guess;
# from GUESS on it offers its guesses as buttons; below that it did not understand.
CONFIDENT = 0.3
CLEAR_MARGIN = 0.1
GUESS = 0.25
GUESSES = 3
# Fewer letters or digits than this are not a question (a stray "я" or "?").
MIN_CHARS = 2

_N_GRAMS = (2, 3, 4)
# How much an intent's nearest, second and third nearest examples count.
_RUNNERS_UP = (1.0, 0.2, 0.1)
# Marks on letters of these scripts are accents or vowel signs people often leave out
# (Latin incl. Vietnamese, Greek, Cyrillic, Hebrew, Arabic); elsewhere (Thai, Devanagari,
# Burmese, kana voicing marks...) a mark is part of the letter and is kept.
_STRIP_MARKS_BELOW = 0x0700
_LATIN_EXTENDED_ADDITIONAL = range(0x1E00, 0x1F00)
# Letters that are the same letter for a reader but different code points.
_FOLD = str.maketrans({"ی": "ي", "ى": "ي", "ک": "ك", "ۀ": "ه", "ة": "ه", "ـ": None})


def _ideographic(char: str) -> bool:
    """Characters that carry meaning alone (Han, kana, Hangul syllables)."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
    )


def _strips_marks(base: str) -> bool:
    code = ord(base)
    return code < _STRIP_MARKS_BELOW or code in _LATIN_EXTENDED_ADDITIONAL


def normalize(text: str) -> str:
    """Text reduced to what matters for matching: letters, digits and single spaces."""
    kept: list[str] = []
    base = " "
    for char in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(char)
        if category == "Mn":
            if not _strips_marks(base):
                kept.append(char)
            continue
        if category[0] in "LN" or category == "Mc":
            base = char
            kept.append(char)
        else:
            base = " "
            kept.append(" ")
    folded = unicodedata.normalize("NFC", "".join(kept)).casefold().translate(_FOLD)
    return " ".join(folded.split())


def features(normalized: str) -> Counter[str]:
    """The character n-grams (within words, padded by spaces), whole words and single
    ideographs of a normalized text."""
    found: Counter[str] = Counter()
    for word in normalized.split():
        found["w " + word] += 1
        padded = f" {word} "
        for size in _N_GRAMS:
            for start in range(len(padded) - size + 1):
                found[padded[start : start + size]] += 1
        for char in word:
            if _ideographic(char):
                found[char] += 1
    return found


@dataclass(frozen=True, slots=True)
class Example:
    """One example phrase: what it means and which language it is written in."""

    intent: Intent
    entry_id: str | None  # the knowledge-base entry it asks for, if any
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Guess:
    """An intent and how well the message matched it (0 to 1)."""

    intent: Intent
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    """What a message was understood to ask for."""

    guesses: tuple[Guess, ...]  # best first, one per intent, at most `GUESSES`
    entry_id: str | None  # the knowledge-base entry that answers it, when one does
    confident: bool = False  # sure enough to act: a good score, clearly ahead of the next

    @property
    def best(self) -> Guess | None:
        """The best guess, if any intent matched at all."""
        return self.guesses[0] if self.guesses else None

    @property
    def score(self) -> float:
        """The best guess's score (0 when nothing matched)."""
        return self.guesses[0].score if self.guesses else 0.0

    @property
    def intent(self) -> Intent | None:
        """The intent the message asks for, or None below the guessing threshold."""
        best = self.best
        return best.intent if best is not None and best.score >= GUESS else None


def language_of(code: str | None) -> str | None:
    """The phrase-file name for a locale or IETF tag (`zh-CN` → `zh_Hans`, `pt-BR` → `pt`)."""
    if not code:
        return None
    parts = code.replace("-", "_").split("_")
    language = parts[0].lower()
    if language != "zh":
        return language
    rest = {part.lower() for part in parts[1:]}
    return "zh_Hant" if rest & {"hant", "tw", "hk", "mo"} else "zh_Hans"


def phrase_languages(directory: Path = PHRASES_DIR) -> list[str]:
    """The languages that have a phrase file."""
    return sorted(path.stem for path in directory.glob("*.json"))


def read_phrases(language: str, directory: Path = PHRASES_DIR) -> dict[str, list[str]]:
    """One language's phrase file: intent or entry id → example phrases."""
    path = directory / f"{language}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object of id → list of phrases")
    return {str(key): [str(phrase) for phrase in value] for key, value in raw.items()}


def _meaning(key: str) -> tuple[Intent, str | None]:
    entry = entries_by_id().get(key)
    if entry is not None:
        return entry.intent, entry.id
    return Intent(key), None


def _catalog_questions(language: str) -> Iterator[Example]:
    """The knowledge base's questions as the language's catalog translates them (if it has
    one: the phrase files alone must suffice for a language without a catalog)."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if language != SOURCE_LANGUAGE and not path.exists():
        return
    catalog = translations(language)
    for entry in KNOWLEDGE:
        text = catalog.gettext(entry.question)
        if language == SOURCE_LANGUAGE or text != entry.question:
            yield Example(entry.intent, entry.id, language, text)


def load_examples(directory: Path = PHRASES_DIR) -> list[Example]:
    """Every example phrase of every language, with the knowledge base's own questions."""
    examples: list[Example] = []
    languages = phrase_languages(directory)
    for language in languages:
        for key, phrases in read_phrases(language, directory).items():
            intent, entry_id = _meaning(key)
            examples += [Example(intent, entry_id, language, phrase) for phrase in phrases]
    for language in {SOURCE_LANGUAGE, *languages}:
        examples += _catalog_questions(language)
    return examples


class IntentIndex:
    """Examples as TF-IDF vectors in an inverted index, for nearest-example lookups."""

    def __init__(self, examples: Iterable[Example]) -> None:
        self.examples: list[Example] = []
        vectors: list[Counter[str]] = []
        for example in examples:
            found = features(normalize(example.text))
            if found:
                self.examples.append(example)
                vectors.append(found)
        # A feature's rarity is counted over intents, not examples: one that every intent's
        # examples share ("permit", "许可") says nothing about which intent is meant.
        per_intent: dict[Intent, set[str]] = defaultdict(set)
        for example, vector in zip(self.examples, vectors, strict=True):
            per_intent[example.intent].update(vector)
        intent_frequency: Counter[str] = Counter()
        for shared in per_intent.values():
            intent_frequency.update(shared)
        count = len(per_intent)
        self.idf = {
            feature: math.log((count + 1) / (frequency + 1)) + 1.0
            for feature, frequency in intent_frequency.items()
        }
        self.unseen_idf = math.log(count + 1) + 1.0
        # Postings as two compact arrays per feature (example numbers, weights): a list of
        # tuples cost about 100 bytes per posting, these 12.
        postings: dict[str, tuple[array[int], array[float]]] = {}
        for number, vector in enumerate(vectors):
            for feature, weight in self._weights(vector).items():
                numbers, weights = postings.get(feature) or postings.setdefault(
                    sys.intern(feature), (array("i"), array("d"))
                )
                numbers.append(number)
                weights.append(weight)
        self.postings = postings

    def _weights(self, vector: Counter[str]) -> dict[str, float]:
        """Sublinear TF times IDF, scaled to unit length."""
        weights = {
            feature: (1.0 + math.log(times)) * self.idf.get(feature, self.unseen_idf)
            for feature, times in vector.items()
        }
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        return {feature: weight / norm for feature, weight in weights.items()}

    def similarities(self, normalized: str) -> dict[int, float]:
        """Cosine similarity of a normalized text to every example sharing a feature with it."""
        scores: dict[int, float] = defaultdict(float)
        for feature, weight in self._weights(features(normalized)).items():
            found = self.postings.get(feature)
            if found is None:
                continue
            for number, example_weight in zip(*found, strict=True):
                scores[number] += weight * example_weight
        return scores

    def match(self, text: str, languages: Iterable[str | None] = ()) -> Match:
        """The intents `text` most likely asks for, and the entry answering it if any.

        An intent scores its nearest example, plus a little for its next nearest ones: a
        message close to several examples of one intent is more surely that intent.
        """
        own = {language for language in languages if language}
        normalized = normalize(text[:MAX_MATCHED_CHARS])
        if len(normalized.replace(" ", "")) < MIN_CHARS:
            return Match((), None)  # "я", "?", "9": nothing to understand
        nearest: dict[Intent, list[tuple[float, Example]]] = defaultdict(list)
        for number, similarity in self.similarities(normalized).items():
            example = self.examples[number]
            if example.language in own:
                similarity *= 1.0 + OWN_LANGUAGE_BONUS
            nearest[example.intent].append((similarity, example))
        scored: list[tuple[float, Intent, Example]] = []
        for intent, found in nearest.items():
            found.sort(key=lambda pair: pair[0], reverse=True)
            score = sum(
                weight * similarity
                for weight, (similarity, _example) in zip(_RUNNERS_UP, found, strict=False)
            )
            scored.append((score, intent, found[0][1]))
        scored.sort(key=lambda item: item[0], reverse=True)
        guesses = tuple(
            Guess(intent, round(min(score, 1.0), 3)) for score, intent, _ in scored[:GUESSES]
        )
        entry_id = scored[0][2].entry_id if scored else None
        return Match(guesses, entry_id, self._confident([score for score, _, _ in scored]))

    @staticmethod
    def _confident(scores: list[float]) -> bool:
        """A good best score, clearly ahead of the next (compared before display capping)."""
        if not scores or scores[0] < CONFIDENT:
            return False
        runner_up = scores[1] if len(scores) > 1 else 0.0
        return scores[0] - runner_up >= CLEAR_MARGIN


@cache
def intent_index() -> IntentIndex:
    """The process's index over every shipped phrase file (built on first use)."""
    return IntentIndex(load_examples())


def understand(text: str, *languages: str | None) -> Match:
    """What `text` asks for; `languages` are the reader's (locale, Telegram language...)."""
    return intent_index().match(text, (language_of(language) for language in languages))
