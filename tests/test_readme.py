"""README's promises hold: its verification snippet really verifies a code."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from bot.credentials import KeyRing, Purpose, sign

README = Path(__file__).resolve().parent.parent / "README.md"


def _snippet(after_heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(after_heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no python block after {after_heading}"
    return match.group(1)


def test_readme_verification_snippet_verifies_a_real_code(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys.json")
    token = sign(ring, "ref-42", Purpose.EMPLOYMENT, datetime.now(UTC), 600)
    namespace = {"jwks": ring.jwks(), "url": f"https://permits.example/v/{token}"}
    exec(_snippet("## Verification codes"), namespace)  # noqa: S102 - our own README
    assert namespace["claims"]["sub"] == "ref-42"  # type: ignore[index]
    assert namespace["claims"]["pur"] == "employment"  # type: ignore[index]


def test_readme_documents_every_setting() -> None:
    from bot.config import Settings

    text = README.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"| `{name}` |" not in text]
    assert not missing, f"README's configuration table lacks {missing}"


def test_readme_lists_every_command() -> None:
    from run_bot import build_parser

    text = README.read_text(encoding="utf-8")
    import argparse

    [subcommands] = [
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    missing = [name for name in subcommands.choices if f"python run_bot.py {name}" not in text]
    assert not missing, f"README's command table lacks {missing}"
