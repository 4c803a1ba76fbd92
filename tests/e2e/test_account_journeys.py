"""Social security, guides, and leaving (/unlink, /forget) end to end."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import (
    AuditEntry,
    ConversationState,
    OutboxMessage,
    TelegramLink,
    TelegramUser,
    WorkPermit,
)
from tests.conftest import BotHarness, buttons, texts
from tests.e2e.records import PEOPLE, linked


async def test_social_shows_masked_number_and_card_states(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    [text] = texts(await seeded.send(seeded.user().text("/social")))
    assert "Social-security number: SS86 **** **19" in text
    assert PEOPLE["Anna Müller"].ss_no not in text
    assert "Electronic social security card: active" in text
    assert (
        "Physical social security card: ready for pickup at "
        "Xuhui District Social Security Service Centre"
    ) in text
    assert "/qr" in text


async def test_social_for_a_collected_card(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Иван Петров"])
    [text] = texts(await seeded.send(seeded.user().text("/social")))
    assert "Physical social security card: delivered" in text


async def test_social_needs_a_link(seeded: BotHarness) -> None:
    [text] = texts(await seeded.send(seeded.user().text("/social")))
    assert text.startswith("To see this, first link your Telegram account")


async def test_guides_work_without_a_link(seeded: BotHarness) -> None:
    user = seeded.user()
    calls = await seeded.send(user.text("/guide"))
    [menu] = [call for call in calls if call.method == "sendMessage"]
    assert [data for _label, data in buttons(menu)][:4] == [
        "guide:z_visa",
        "guide:residence",
        "guide:social_insurance",
        "guide:ecard",
    ]
    [text] = texts(await seeded.send(user.press(menu.result, "guide:ecard")))
    assert "8 to 16 characters" in text
    assert "face verification" in text
    [residence] = texts(await seeded.send(user.press(menu.result, "guide:residence")))
    assert "within 30 days of entry" in residence
    assert "if you entered today, apply by December 27, 2026" in residence


async def test_z_visa_guide_fills_in_the_notification_letter_dates(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [menu] = [c for c in await seeded.send(user.text("/guide")) if c.method == "sendMessage"]
    [text] = texts(await seeded.send(user.press(menu.result, "guide:z_visa")))
    assert "valid for 6 months from the day it is issued" in text
    # The seeded issuance was approved 11 days before the permit was issued (2025-02-05).
    expected = "Your Notification Letter was issued on January 25, 2025: use it by July 25, 2025."
    assert expected in text


async def test_forged_guide_is_refused(seeded: BotHarness) -> None:
    user = seeded.user()
    [menu] = [c for c in await seeded.send(user.text("/guide")) if c.method == "sendMessage"]
    calls = await seeded.send(user.press(menu.result, "guide:everything"))
    assert calls[0].params.get("text") == "This button is no longer available."


async def test_unlink_asks_first_and_then_removes_the_link(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [question] = [c for c in await seeded.send(user.text("/unlink")) if c.method == "sendMessage"]
    assert "Remove the link" in question.result["text"]
    assert [data for _label, data in buttons(question)] == ["leave:unlink", "leave:no"]
    calls = await seeded.send(user.press(question.result, "leave:unlink"))
    assert texts(calls)[0].startswith("Done: this Telegram account is no longer linked")
    assert "menu:link" in [data for _label, data in buttons(calls[-1])]
    async with seeded.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TelegramLink)) == 0
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "link.removed" in actions


async def test_saying_no_changes_nothing(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user()
    [question] = [c for c in await seeded.send(user.text("/unlink")) if c.method == "sendMessage"]
    calls = await seeded.send(user.press(question.result, "leave:no"))
    assert texts(calls)[0].startswith("Nothing was changed.")
    async with seeded.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TelegramLink)) == 1


async def test_unlink_when_not_linked_says_so(seeded: BotHarness) -> None:
    [text] = texts(await seeded.send(seeded.user().text("/unlink")))
    assert text == "This Telegram account is not linked to a work permit."


async def test_forget_deletes_link_settings_and_steps_but_not_the_permit(
    seeded: BotHarness,
) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    user = seeded.user("ru")
    [picker] = [c for c in await seeded.send(user.text("/language")) if c.method == "sendMessage"]
    await seeded.send(user.press(picker.result, "lang:ar"))
    # An unfinished step in another chat (a group) and a pending notification go too.
    async with seeded.db.session() as session:
        session.add(
            ConversationState(
                telegram_user_id=user.user_id, chat_id=-5, journey="link", step="name", data={}
            )
        )
        session.add(
            OutboxMessage(
                dedupe_key="event:x:1", telegram_user_id=user.user_id, message="permit.cancelled"
            )
        )
    [question] = [c for c in await seeded.send(user.text("/forget")) if c.method == "sendMessage"]
    calls = await seeded.send(user.press(question.result, "leave:forget"))
    [report] = texts(calls)
    assert report.count("•") == 4
    async with seeded.db.session() as session:
        assert await session.get(TelegramUser, user.user_id) is None
        assert await session.scalar(select(func.count()).select_from(TelegramLink)) == 0
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert await session.scalar(select(func.count()).select_from(WorkPermit)) == 8
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "user.forgotten" in actions
    # Writing again starts afresh, in Telegram's language (the saved Arabic choice is gone).
    [again] = texts(await seeded.send(user.text("/start")))
    assert again.startswith("Здравствуйте")


async def test_every_journey_is_reachable_from_the_menu(seeded: BotHarness) -> None:
    await linked(seeded, PEOPLE["Anna Müller"])
    [menu] = [
        c for c in await seeded.send(seeded.user().text("/start")) if c.method == "sendMessage"
    ]
    data = {value for _label, value in buttons(menu)}
    assert {"menu:status", "qr:general", "menu:document", "menu:social", "menu:guides"} <= data
    assert {"menu:help", "menu:language", "menu:account"} <= data
    account = await seeded.send(seeded.user().press(menu.result, "menu:account"))
    assert {value for _label, value in buttons(account[-1])} >= {"menu:unlink", "menu:forget"}
