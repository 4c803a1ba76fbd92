"""The demo as a piped script: the real bot, a seeded throw-away database, no network."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import cli


def test_piped_demo_prints_every_reply(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", stdin="/start\n/help\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "you › /start" in out
    assert "bot › Hello, Demo! I am Work Permit Assistant." in out
    assert "[1] 🔗 Link my permit   [2] 📚 Guides   [3] ❓ Help   [4] 🌐 Language" in out
    assert "you › /help" in out
    assert "/language — choose the language I speak" in out
    assert "Traceback" not in result.stderr


def test_demo_shows_seeded_identities_to_link_with(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", stdin="")
    assert result.returncode == 0, result.stderr
    assert "Anna Müller | permit 901555555555555501" in result.stdout


def test_typing_a_number_presses_that_button(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", "--lang", "ru", stdin="/start\n4\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "you › [4] 🌐 Язык" in out
    assert "bot › (edited) Выберите язык:" in out
    # The list opens on the page holding the current language, ticked.
    picker = out.split("Выберите язык:", 1)[1]
    number = re.search(r"\[(\d+)\] ✓ Русский", picker)
    assert number is not None, picker
    chosen = cli(tmp_path, "demo", "--lang", "ru", stdin=f"/start\n4\n{number.group(1)}\n")
    assert "(notice) Язык изменён." in chosen.stdout


def test_demo_language_option_sets_the_user_language(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", "--lang", "zh-hans", stdin="/start\n")
    assert "bot › Demo，您好！我是工作许可助手。" in result.stdout


def test_demo_leaves_no_database_behind(tmp_path: Path) -> None:
    cli(tmp_path, "demo", stdin="/start\n")
    assert not list(tmp_path.rglob("*.db"))


def test_demo_survives_bad_input(tmp_path: Path) -> None:
    script = "\n".join(["", "   ", "/nope", "9", "x" * 4000, "/start", "99"]) + "\n"
    result = cli(tmp_path, "demo", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "I don't know the command /nope." in result.stdout
    assert result.stdout.count("Sorry, I didn't understand that.") == 3
    assert "Traceback" not in result.stderr
