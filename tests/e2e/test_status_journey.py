"""The /status journey end to end: permit card, deadlines on each side, applications pages."""

from __future__ import annotations

import pytest

from tests.conftest import BotHarness, buttons, texts
from tests.e2e.records import PEOPLE, linked


async def status_of(bot: BotHarness, name: str, language: str = "en") -> str:
    await linked(bot, PEOPLE[name])
    [text] = texts(await bot.send(bot.user(language).text("/status")))
    return text


async def test_status_before_linking_explains_and_offers_link(seeded: BotHarness) -> None:
    calls = await seeded.send(seeded.user().text("/status"))
    [text] = texts(calls)
    assert text.startswith("To see this, first link your Telegram account")
    assert buttons(calls[0]) == [("🔗 Link my permit", "menu:link")]


async def test_status_shows_the_permit_card(seeded: BotHarness) -> None:
    text = await status_of(seeded, "Anna Müller")
    assert "Status: ✅ Valid" in text
    assert "Permit number: 9015 **** **** **** 01" in text
    assert "Category: B — professional" in text
    assert "Employer: Shanghai Harbour Software Co., Ltd." in text
    assert "Position: Software Engineer" in text
    assert "Work city: Shanghai" in text
    assert "Valid until: February 5, 2027 (70 days left)" in text


async def test_open_extension_window_gives_the_last_day(seeded: BotHarness) -> None:
    text = await status_of(seeded, "Anna Müller")
    assert "the window is open now" in text
    assert "by January 6, 2027 at the latest (40 days from today)" in text


async def test_too_late_for_extension_says_the_system_refuses(seeded: BotHarness) -> None:
    text = await status_of(seeded, "김민준")
    assert "Valid until: December 17, 2026 (20 days left)" in text
    assert "the window closed on November 17, 2026" in text
    assert "fewer than 30 days left" in text


async def test_too_early_for_extension_says_when_it_opens(seeded: BotHarness) -> None:
    text = await status_of(seeded, "佐藤 花子")
    assert "you can apply from June 25, 2027" in text
    assert "until August 24, 2027" in text


async def test_expired_permit_is_said_plainly(seeded: BotHarness) -> None:
    text = await status_of(seeded, "محمد العلي")
    assert "Status: ⛔ Expired" in text
    assert "Your work permit expired on November 12, 2026" in text
    assert "days left" not in text


async def test_cancelled_permit_is_said_plainly(seeded: BotHarness) -> None:
    text = await status_of(seeded, "Nguyễn Văn An")
    assert "Status: ⛔ Cancelled" in text
    assert "has been cancelled" in text
    assert "Extension" not in text


async def test_ten_working_day_rule_is_given_as_a_date(seeded: BotHarness) -> None:
    text = await status_of(seeded, "Anna Müller")
    assert "within 10 working days" in text
    assert "For a change today, that is by December 11, 2026." in text


async def test_requested_documents_are_a_next_step(seeded: BotHarness) -> None:
    text = await status_of(seeded, "John Smith")
    assert "needs more documents: Upload the new labour contract" in text


async def test_open_application_is_listed_in_next_steps(seeded: BotHarness) -> None:
    text = await status_of(seeded, "Иван Петров")
    assert "Your extension application EXT-555502 is under review." in text


async def test_applications_timeline_is_newest_first_and_paged(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Иван Петров"])
    user = seeded.user()
    [card] = [c for c in await seeded.send(user.text("/status")) if c.method == "sendMessage"]
    assert ("📜 Applications and history", "status:apps:0") in buttons(card)
    first = await seeded.send(user.press(card.result, "status:apps:0"))
    page1 = first[-1]
    text = str(page1.result["text"])
    assert "Extension EXT-555502: under review" in text
    assert "Issuance ISS-555502: approved" in text
    assert "page 1 of 1" in text
    history = text.split("History", 1)[1]
    assert history.index("under review") < history.index("in pre-review")
    assert history.index("in pre-review") < history.index("submitted")


async def test_forged_page_number_is_refused(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Иван Петров"])
    user = seeded.user()
    [card] = [c for c in await seeded.send(user.text("/status")) if c.method == "sendMessage"]
    for forged in ("status:apps:99", "status:apps:-1", "status:apps:x"):
        calls = await seeded.send(user.press(card.result, forged))
        assert calls[0].params.get("text") == "This button is no longer available."


async def test_a_page_button_only_ever_shows_the_presser_s_own_permit(
    seeded: BotHarness,
) -> None:
    await linked(seeded, PEOPLE["Иван Петров"], user_id=1)
    owner = seeded.user(user_id=1)
    [card] = [c for c in await seeded.send(owner.text("/status")) if c.method == "sendMessage"]
    stranger = seeded.user(user_id=2)
    calls = await seeded.send(stranger.press(card.result, "status:apps:0"))
    assert "EXT-555502" not in " ".join(texts(calls))
    assert any("first link your Telegram account" in text for text in texts(calls))


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", "70 дней"), ("ar", "70"), ("zh-hans", "70 天")],
)
async def test_days_left_follow_the_language_s_plural_rules(
    seeded: BotHarness, language: str, expected: str
) -> None:
    text = await status_of(seeded, "Anna Müller", language)
    assert expected in text
    assert "days left" not in text


async def test_a_long_history_is_paged_and_every_page_fits(seeded: BotHarness) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from storage.models import Application, ApplicationEvent, ApplicationStatus

    await linked(seeded, PEOPLE["Иван Петров"])
    async with seeded.db.session() as session:
        application = await session.scalar(
            select(Application).where(Application.reference_no == "EXT-555502")
        )
        assert application is not None
        for n in range(20):
            session.add(
                ApplicationEvent(
                    application_id=application.id,
                    status=ApplicationStatus.DOCUMENTS_REQUESTED,
                    at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
                    note="Please upload the signed contract page " + "again " * 30,
                )
            )
    user = seeded.user()
    [card] = [c for c in await seeded.send(user.text("/status")) if c.method == "sendMessage"]
    message = card.result
    seen_pages = 0
    data = "status:apps:0"
    while data:
        calls = await seeded.send(user.press(message, data))
        edited = [c for c in calls if c.method in ("editMessageText", "sendMessage")]
        assert edited, "each page is shown"
        assert all(len(str(c.params["text"])) <= 4096 for c in edited)
        seen_pages += 1
        message = edited[-1].result
        older = [d for label, d in buttons(edited[-1]) if label.startswith("Older")]
        data = older[0] if older else ""
    assert seen_pages == 5  # 23 events, 6 per page
