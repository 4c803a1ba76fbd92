"""Each journey's main screen in every shipped locale, through the Application: no English
leaks into a non-English conversation (what gettext does when a translation is missing)."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, RLM, available_locales, is_rtl
from bot.inprocess_bot_api import ApiCall
from storage.repositories import LinkRepository
from tests.conftest import BotHarness, buttons, texts
from tests.e2e.records import PEOPLE, linked

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
SCREENS = ("/start", "/help", "/status", "/social", "/guide", "/settings", "/language")


def _english_sentences() -> list[str]:
    """Static English texts of the catalog long enough to be recognised in any output."""
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    sentences: list[str] = []
    for message in template:
        if not message.id:
            continue
        text = message.id if isinstance(message.id, str) else message.id[0]
        for chunk in PLACEHOLDER.split(text):
            for line in chunk.splitlines():
                line = line.strip(" :.,;()—-")
                if len(line.split()) >= 4 and not line.startswith("/"):
                    sentences.append(line)
    return sentences


ENGLISH = _english_sentences()


def _visible(calls: list[ApiCall]) -> list[str]:
    shown = texts(calls)
    for call in calls:
        shown += [label for label, _data in buttons(call)]
    return shown


async def test_main_screens_are_all_in_each_locale(seeded: BotHarness) -> None:
    problems: list[str] = []
    for index, locale in enumerate(available_locales()):
        if locale == "en":
            continue
        user_id = 800_000 + index
        await linked(seeded, PEOPLE["Anna Müller"], user_id=user_id)
        user = seeded.user(locale.replace("_", "-").lower(), user_id=user_id)
        for screen in SCREENS:
            calls = await seeded.send(user.text(screen))
            shown = _visible(calls)
            if not shown:
                problems.append(f"{locale} {screen}: nothing shown")
            for text in shown:
                leaked = [sentence for sentence in ENGLISH if sentence in text]
                if leaked:
                    problems.append(f"{locale} {screen}: English {leaked[0]!r} in {text[:60]!r}")
            # Right-to-left locales anchor every message so it renders right-to-left.
            if is_rtl(locale) and not all(text.startswith(RLM) for text in texts(calls)):
                problems.append(f"{locale} {screen}: a message is not anchored right-to-left")
        async with seeded.db.session() as session:
            await LinkRepository(session).unlink(user_id)  # the permit is the next one's
    assert not problems, "\n".join(problems[:30])
