"""The /link journey end to end: four details, the contact button, refusals and lockouts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.inprocess_bot_api import ChatUser
from storage.models import AuditEntry, ConversationState
from storage.repositories import ConversationRepository
from storage.seed import SeedIdentity, demo_identities
from tests.conftest import BotHarness, buttons, texts

ANNA, IVAN = demo_identities()[0], demo_identities()[1]


async def link(
    bot: BotHarness, user: ChatUser, who: SeedIdentity, *, phone: str | None = None
) -> list[str]:
    """Walk the whole journey; returns the texts of the bot's final answer."""
    await bot.send(user.text("/link"))
    await bot.send(user.text(who.full_name))
    await bot.send(user.text(who.permit_no))
    await bot.send(user.text(who.ss_no))
    return texts(await bot.send(user.contact(phone or who.phone)))


async def test_linking_walks_four_steps_and_shows_a_masked_summary(seeded: BotHarness) -> None:
    user = seeded.user("en")
    [intro] = texts(await seeded.send(user.text("/link")))
    assert "Step 1 of 4" in intro
    assert "/cancel" in intro
    [step2] = texts(await seeded.send(user.text("  anna  MÜLLER ")))
    assert step2.startswith("Step 2 of 4")
    [step3] = texts(await seeded.send(user.text("9015-5555-5555-5555-01")))
    assert step3.startswith("Step 3 of 4")
    calls = await seeded.send(user.text("ss 8600 0079 19"))
    [step4] = [call for call in calls if call.method == "sendMessage"]
    assert step4.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    final = await seeded.send(user.contact(ANNA.phone))
    summary, menu = texts(final)
    assert summary.startswith("Done! This Telegram account is now linked to your work permit.")
    assert "Anna Müller" in summary
    assert "9015 **** **** **** 01" in summary
    assert ANNA.permit_no not in summary
    assert ANNA.ss_no not in summary
    assert "Shanghai Harbour Software Co., Ltd." in summary
    assert final[0].params["reply_markup"] == {"remove_keyboard": True}
    assert "menu:link" not in [data for _label, data in buttons(final[1])]
    assert menu == "Choose what you need:"


async def test_no_plain_identifier_is_kept_in_the_conversation_state(seeded: BotHarness) -> None:
    user = seeded.user()
    await seeded.send(user.text("/link"))
    await seeded.send(user.text(ANNA.full_name))
    await seeded.send(user.text(ANNA.permit_no))
    await seeded.send(user.text(ANNA.ss_no))
    async with seeded.db.session() as session:
        [state] = (await session.scalars(select(ConversationState))).all()
    assert state.step == "contact"
    assert ANNA.ss_no not in str(state.data)
    assert ANNA.full_name not in str(state.data)


@pytest.mark.parametrize(
    ("step_inputs", "bad", "hint"),
    [
        ([], "12345", "Please send your full name"),
        ([ANNA.full_name], "1234", "exactly 18 digits"),
        ([ANNA.full_name], "90155555555555550X", "exactly 18 digits"),
        ([ANNA.full_name, ANNA.permit_no], "12", "6 to 30 letters and digits"),
        ([ANNA.full_name, ANNA.permit_no, ANNA.ss_no], "+8613900011111", "button below"),
    ],
)
async def test_malformed_answers_get_a_hint_and_keep_the_step(
    seeded: BotHarness, step_inputs: list[str], bad: str, hint: str
) -> None:
    user = seeded.user()
    await seeded.send(user.text("/link"))
    for value in step_inputs:
        await seeded.send(user.text(value))
    [answer] = texts(await seeded.send(user.text(bad)))
    assert hint in answer
    async with seeded.db.session() as session:
        states = (await session.scalars(select(ConversationState))).all()
    assert len(states) == 1


async def test_someone_else_s_contact_is_refused(seeded: BotHarness) -> None:
    user = seeded.user()
    await seeded.send(user.text("/link"))
    for value in (ANNA.full_name, ANNA.permit_no, ANNA.ss_no):
        await seeded.send(user.text(value))
    [answer] = texts(await seeded.send(user.contact(ANNA.phone, user_id=999)))
    assert "your own phone number" in answer


async def test_mismatch_says_only_that_details_did_not_match(seeded: BotHarness) -> None:
    [answer] = await link(seeded, seeded.user(), ANNA, phone="+8613900099999")
    assert answer == (
        "Sorry, these details do not match our records. Please check them and try again with /link."
    )


async def test_cancel_leaves_at_any_step(seeded: BotHarness) -> None:
    user = seeded.user("ru")
    await seeded.send(user.text("/link"))
    await seeded.send(user.text(ANNA.full_name))
    calls = await seeded.send(user.text("/cancel"))
    assert texts(calls) == ["Отменено. Ничего не сохранено."]
    assert calls[0].params["reply_markup"] == {"remove_keyboard": True}
    # The next text is no longer taken as a permit number.
    [answer] = texts(await seeded.send(user.text(ANNA.permit_no)))
    assert "/help" in answer


async def test_another_command_abandons_the_journey(seeded: BotHarness) -> None:
    user = seeded.user()
    await seeded.send(user.text("/link"))
    await seeded.send(user.text("/help"))
    [answer] = texts(await seeded.send(user.text(ANNA.full_name)))
    # The name is free text now, not the answer to step 1: the journey did not go on.
    assert not answer.startswith("Step 2 of 4")
    async with seeded.db.session() as session:
        assert await ConversationRepository(session).get(user.user_id, user.user_id) is None


async def test_the_journey_continues_on_another_replica(seeded: BotHarness) -> None:
    # A second Application on the same database picks up where the first left off.
    from bot.app import build_application
    from bot.inprocess_bot_api import InProcessBotAPI

    user = seeded.user()
    await seeded.send(user.text("/link"))
    await seeded.send(user.text(ANNA.full_name))
    other_api = InProcessBotAPI()
    other_user = ChatUser(other_api, user_id=user.user_id)
    other = build_application(seeded.settings, seeded.db, request=other_api)
    async with other:
        from telegram import Update

        await other.process_update(Update.de_json(other_user.text(ANNA.permit_no), other.bot))
    [answer] = texts(other_api.calls_to("sendMessage"))
    assert answer.startswith("Step 3 of 4")


async def test_five_failures_lock_linking_and_say_until_when(seeded: BotHarness) -> None:
    user = seeded.user()
    for attempt in range(5):
        answer, *offer = await link(seeded, user, ANNA, phone="+8613900099999")
        assert ("paused until" in answer) == (attempt == 4)
        # Once locked, a person is offered: the records may be what is wrong.
        assert offer == (["Stuck? Our staff can look into it with you."] if attempt == 4 else [])
    calls = await seeded.send(user.text("/link"))
    [refusal] = texts(calls)
    assert refusal.startswith("For your security, linking is paused until")
    assert buttons(calls[-1]) == [("🙋 Talk to a person", "support:open:lockout")]
    async with seeded.db.session() as session:
        failures = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "link.failed"))
        ).all()
    assert len(failures) == 5


async def test_second_account_is_refused_and_the_first_is_warned(seeded: BotHarness) -> None:
    first = seeded.user("ru", user_id=501)
    second = seeded.user("en", user_id=502)
    await link(seeded, first, IVAN)
    calls = await seeded.send(second.text("/link"))
    for value in (IVAN.full_name, IVAN.permit_no, IVAN.ss_no):
        await seeded.send(second.text(value))
    calls = await seeded.send(second.contact(IVAN.phone))
    to_second = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 502]
    to_first = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 501]
    assert "already linked to another Telegram account" in to_second[0].params["text"]
    assert "/unlink" in to_second[0].params["text"]
    [warning] = to_first
    assert "Кто-то" in warning.params["text"]


async def test_linked_user_asking_again_is_told_to_unlink_first(seeded: BotHarness) -> None:
    user = seeded.user()
    await link(seeded, user, ANNA)
    [answer] = texts(await seeded.send(user.text("/link")))
    assert "already linked" in answer
    assert "/unlink" in answer


async def test_linking_is_refused_in_groups(seeded: BotHarness) -> None:
    user = seeded.user()
    update = user.text("/link")
    group = {"id": -1007, "type": "group", "title": "Team"}
    update["message"]["chat"] = group
    seeded.api.remember_chat(group)
    [answer] = texts(await seeded.send(update))
    assert "private chat" in answer
