"""The reminder scan on PTB's JobQueue: daily at REMINDER_SCAN_TIME, and once after start-up."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from bot.reminders import CATCH_UP_JOB, SCAN_JOB, schedule_reminders
from storage.models import OutboxMessage
from tests.conftest import BotHarness
from tests.permits import add_permit


async def test_scan_is_scheduled_daily_in_the_operator_s_time_zone(bot: BotHarness) -> None:
    schedule_reminders(bot.app)
    queue = bot.app.job_queue
    assert queue is not None
    [daily] = queue.get_jobs_by_name(SCAN_JOB)
    assert daily.next_t is not None
    local = daily.next_t.astimezone(bot.settings.tz)
    assert local.time() == time(7, 0)
    assert bot.settings.tz.key == "Asia/Shanghai"
    assert timedelta(0) < daily.next_t - datetime.now(UTC) <= timedelta(days=1)
    [catch_up] = queue.get_jobs_by_name(CATCH_UP_JOB)
    assert catch_up.next_t is not None
    assert timedelta(0) < catch_up.next_t - datetime.now(UTC) <= timedelta(seconds=30)


async def test_the_scan_time_follows_the_settings(bot: BotHarness) -> None:
    bot.app.bot_data.settings = bot.settings.model_copy(
        update={"REMINDER_SCAN_TIME": "06:30", "TIMEZONE": "Europe/Berlin"}
    )
    schedule_reminders(bot.app)
    assert bot.app.job_queue is not None
    [daily] = bot.app.job_queue.get_jobs_by_name(SCAN_JOB)
    assert daily.next_t is not None
    assert daily.next_t.astimezone(bot.app.bot_data.settings.tz).time() == time(6, 30)


async def test_running_the_job_queues_due_reminders_once(bot: BotHarness) -> None:
    today = bot.settings.today()
    due = await add_permit(bot.db, today + timedelta(days=75), user_id=31337)
    await add_permit(bot.db, today + timedelta(days=200), user_id=31338)
    schedule_reminders(bot.app)
    assert bot.app.job_queue is not None
    [catch_up] = bot.app.job_queue.get_jobs_by_name(CATCH_UP_JOB)
    [daily] = bot.app.job_queue.get_jobs_by_name(SCAN_JOB)
    await catch_up.run(bot.app)
    await daily.run(bot.app)  # the daily run right after the catch-up adds nothing
    async with bot.db.session() as session:
        rows = (
            await session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.message))
        ).all()
    expiry = (today + timedelta(days=75)).isoformat()
    assert [tuple(row) for row in rows] == [
        (f"reminder:{due}:extension_window_open:{expiry}", "reminder.extension_window_open")
    ]
