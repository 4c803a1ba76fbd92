"""Long texts are split where Telegram accepts them, never mid-word."""

from __future__ import annotations

import pytest

from handlers.menu import split_text


def test_short_text_is_one_message() -> None:
    assert split_text("hello") == ["hello"]


def test_paragraphs_are_preferred_cut_points() -> None:
    text = "a" * 30 + "\n\n" + "b" * 30
    assert split_text(text, limit=40) == ["a" * 30, "b" * 30]


def test_words_are_never_cut_when_a_space_is_available() -> None:
    words = " ".join(["permit"] * 2000)
    parts = split_text(words, limit=4095)
    assert len(parts) == 4  # 13,999 characters
    assert all(len(part) <= 4095 for part in parts)
    assert all(set(part.split()) == {"permit"} for part in parts)
    assert " ".join(parts) == words


def test_a_giant_word_is_cut_at_the_limit() -> None:
    parts = split_text("x" * 10000, limit=4096)
    assert [len(part) for part in parts] == [4096, 4096, 1808]


@pytest.mark.parametrize("limit", [10, 100, 4096])
def test_nothing_is_lost(limit: int) -> None:
    text = "\n".join(f"line {n} with some words" for n in range(500))
    parts = split_text(text, limit=limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())
