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

The index is built once per process, when the first message is matched (a process never
sent free text never builds it); matching one message takes well under a millisecond for a
typical question, and a few milliseconds at Telegram's longest message.
"""

from __future__ import annotations

import json
import math
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import LOCALES_DIR, compile_catalog
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
# Short texts: their matches are remembered (text, languages), 4,096 of them, and the bot
# matches them on the event loop (a couple of milliseconds at most).
RECENT_TEXT_CHARS = 200
RECENT_TEXTS = 4096

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
    # Compiled, read and dropped: keeping all thirty catalogs would cost a process that
    # speaks two languages several megabytes.
    catalog = compile_catalog(language)
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


class FeatureTable:
    """Feature → row number, in about 30 bytes per feature where a dict of strings takes
    about 130: the features' hashes sorted in one array (found by bisection), their rows,
    and the features themselves joined in one string (to tell hash collisions apart).
    """

    def __init__(self, rows: dict[str, int]) -> None:
        features = sorted(rows, key=hash)
        self._hashes = array("q", map(hash, features))
        self._rows = array("i", (rows[feature] for feature in features))
        self._starts = array("i", [0])
        for feature in features:
            self._starts.append(self._starts[-1] + len(feature))
        self._text = "".join(features)

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, feature: str) -> int | None:
        """The feature's row, or None when no example has it."""
        key = hash(feature)
        place = bisect_left(self._hashes, key)
        while place < len(self._hashes) and self._hashes[place] == key:
            if self._text[self._starts[place] : self._starts[place + 1]] == feature:
                return self._rows[place]
            place += 1
        return None


class IntentIndex:
    """Examples as TF-IDF vectors in an inverted index, for nearest-example lookups.

    The postings are stored as compressed sparse rows: a feature's row number (`rows`, a
    `FeatureTable`), and for every row a slice of two flat arrays (example numbers, weights).
    That is about 10 bytes per posting and 30 per feature, where a list or array per feature
    costs hundreds of bytes; building keeps each example's vector as row numbers in flat
    arrays too, so the build's transient peak stays near the size of the result.
    """

    def __init__(self, examples: Iterable[Example]) -> None:
        self.examples: list[Example] = []
        # Recent answers: people type the same short things ("hi", "thanks", "qr") again and
        # again, and matching is a pure function of the text, the languages and this index.
        self._recent: dict[tuple[str, frozenset[str]], Match] = {}
        self._recent_lock = threading.Lock()
        rows: dict[str, int] = {}
        # Every example's features (row numbers and counts, in the order found: the order
        # its weights are summed in) one after another; example n's are starts[n]:starts[n+1].
        starts = array("i", [0])
        found_rows = array("i")
        found_times = array("i")
        for example in examples:
            found = features(normalize(example.text))
            if not found:
                continue
            self.examples.append(example)
            for feature, times in found.items():
                row = rows.setdefault(feature, len(rows))
                found_rows.append(row)
                found_times.append(times)
            starts.append(len(found_rows))
        # The features' strings are needed only to look rows up from now on: the compact
        # table replaces the dict before the larger arrays below are made.
        self.rows = FeatureTable(rows)
        del rows
        # A feature's rarity is counted over intents, not examples: one that every intent's
        # examples share ("permit", "许可") says nothing about which intent is meant.
        intent_numbers = {intent: n for n, intent in enumerate(dict.fromkeys(self._intents()))}
        frequency = array("i", bytes(4 * len(self.rows)))
        last_intent = array("i", [-1]) * len(self.rows)
        by_intent = sorted(range(len(self.examples)), key=lambda n: intent_numbers[self._intent(n)])
        for number in by_intent:
            intent = intent_numbers[self._intent(number)]
            for row in found_rows[starts[number] : starts[number + 1]]:
                if last_intent[row] != intent:
                    last_intent[row] = intent
                    frequency[row] += 1
        del last_intent, by_intent
        count = len(intent_numbers)
        self.idf = array("d", (math.log((count + 1) / (times + 1)) + 1.0 for times in frequency))
        self.unseen_idf = math.log(count + 1) + 1.0
        # Rows: row r's postings are offsets[r]:offsets[r + 1] of `numbers` and `weights`, in
        # example order (the order their scores are summed in).
        self.offsets = array("i", [0]) * (len(self.rows) + 1)
        for row in found_rows:
            self.offsets[row + 1] += 1
        for row in range(len(self.rows)):
            self.offsets[row + 1] += self.offsets[row]
        # Two bytes per example number while they fit (they do: thousands of examples).
        self.numbers = array("H" if len(self.examples) <= 0xFFFF else "i")
        self.numbers.frombytes(bytes(self.numbers.itemsize * len(found_rows)))
        self.weights = array("d", bytes(8 * len(found_rows)))
        free = self.offsets[:-1]
        for number in range(len(self.examples)):
            own = found_rows[starts[number] : starts[number + 1]]
            weights = self._weights(own, found_times[starts[number] : starts[number + 1]])
            for row, weight in zip(own, weights, strict=True):
                self.numbers[free[row]] = number
                self.weights[free[row]] = weight
                free[row] += 1

    def _intent(self, number: int) -> Intent:
        return self.examples[number].intent

    def _intents(self) -> Iterator[Intent]:
        return (example.intent for example in self.examples)

    def _weights(self, rows: Iterable[int | None], times: Iterable[int]) -> list[float]:
        """Sublinear TF times IDF, scaled to unit length (`None`: a feature no example has)."""
        weights = [
            (1.0 + math.log(count)) * (self.unseen_idf if row is None else self.idf[row])
            for row, count in zip(rows, times, strict=True)
        ]
        norm = math.sqrt(sum(weight * weight for weight in weights)) or 1.0
        return [weight / norm for weight in weights]

    def similarities(self, normalized: str) -> dict[int, float]:
        """Cosine similarity of a normalized text to every example sharing a feature with it."""
        scores: dict[int, float] = defaultdict(float)
        found = features(normalized)
        rows = [self.rows.get(feature) for feature in found]
        for row, weight in zip(rows, self._weights(rows, found.values()), strict=True):
            if row is None:
                continue
            start, end = self.offsets[row], self.offsets[row + 1]
            for number, example_weight in zip(
                self.numbers[start:end], self.weights[start:end], strict=True
            ):
                scores[number] += weight * example_weight
        return scores

    def match(self, text: str, languages: Iterable[str | None] = ()) -> Match:
        """The intents `text` most likely asks for, and the entry answering it if any.

        An intent scores its nearest example, plus a little for its next nearest ones: a
        message close to several examples of one intent is more surely that intent. Short
        texts matched recently are answered from memory (`RECENT_TEXTS` of them).
        """
        own = frozenset(language for language in languages if language)
        if len(text) > RECENT_TEXT_CHARS:
            return self._match(text, own)
        key = (text, own)
        found = self._recent.get(key)
        if found is None:
            found = self._match(text, own)
            with self._recent_lock:
                if len(self._recent) >= RECENT_TEXTS:
                    del self._recent[next(iter(self._recent))]  # the oldest
                self._recent[key] = found
        return found

    def _match(self, text: str, own: frozenset[str]) -> Match:
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


class LazyIndex:
    """An index built on first use, once, however many threads ask for it at the same time.

    Building takes most of a second and about 20 MB; a process that is never sent free text
    never pays either. The first caller builds it in its own thread (the bot matches in a
    worker thread, so the event loop never waits); others arriving meanwhile wait for it.
    """

    def __init__(self, build: Callable[[], IntentIndex]) -> None:
        self._build = build
        self._index: IntentIndex | None = None
        self._lock = threading.Lock()
        self.builds = 0  # how many times it was built: 0 until first use, then 1

    @property
    def built(self) -> bool:
        """Whether the index exists yet."""
        return self._index is not None

    def get(self) -> IntentIndex:
        """The index, built now if this is the first use."""
        index = self._index
        if index is None:
            with self._lock:
                index = self._index
                if index is None:
                    index = self._index = self._build()
                    self.builds += 1
        return index


def _shipped_index() -> IntentIndex:
    return IntentIndex(load_examples())


# The process's index over every shipped phrase file.
INTENT_INDEX = LazyIndex(_shipped_index)


def intent_index() -> IntentIndex:
    """The process's index over every shipped phrase file (built on first use)."""
    return INTENT_INDEX.get()


def understand(text: str, *languages: str | None) -> Match:
    """What `text` asks for; `languages` are the reader's (locale, Telegram language...)."""
    return intent_index().match(text, (language_of(language) for language in languages))
