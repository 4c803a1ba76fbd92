"""Journey fixtures: a running bot on the seeded records, with a fixed "today"."""

from __future__ import annotations

import pytest

from storage.seed import seed_demo_records
from tests.conftest import HASH_KEY, BotHarness
from tests.e2e.records import TODAY


@pytest.fixture
async def seeded(bot: BotHarness) -> BotHarness:
    """The bot on the synthetic demo records, seeded and judged as of `TODAY`."""
    await seed_demo_records(bot.db, HASH_KEY, today=TODAY)
    bot.app.bot_data.permits.today = lambda: TODAY
    bot.app.bot_data.codes.today = lambda: TODAY
    bot.app.bot_data.workforce.today = lambda: TODAY
    return bot
