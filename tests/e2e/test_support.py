"""Human support through the real Application: a worker's ticket, worked in a forum topic of
the staff supergroup (or under a card message in a group without topics)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.canned_replies import BY_KEY
from bot.inprocess_bot_api import ApiCall, ChatUser, InProcessBotAPI
from storage.models import SupportTicket, TicketState
from storage.seed import seed_demo_records
from tests.conftest import HASH_KEY, BotHarness, buttons, make_settings, running_bot, texts
from tests.e2e.records import PEOPLE, linked

STAFF = -1001234567890
ANNA = PEOPLE["Anna Müller"]
ADMIN = 7777
MEDIA = ("photo", "document", "voice", "video")


@dataclass
class Desk:
    """The bot, a worker, and a staff member in the staff group."""

    bot: BotHarness
    worker: ChatUser
    staff: ChatUser

    async def open(self, worker: ChatUser | None = None) -> tuple[list[ApiCall], int]:
        """The worker sends /support; returns the calls and the ticket's topic id."""
        who = worker or self.worker
        calls = await self.bot.send(who.text("/support"))
        [topic] = [c for c in calls if c.method == "createForumTopic"]
        return calls, int(topic.result["message_thread_id"])

    def to_chat(self, calls: list[ApiCall], chat_id: int) -> list[ApiCall]:
        return [c for c in calls if c.params.get("chat_id") == chat_id and c.result]


def staff_group(api: InProcessBotAPI, *, forum: bool = True) -> dict[str, Any]:
    chat = {"id": STAFF, "type": "supergroup", "title": "Support desk", "is_forum": forum}
    api.remember_chat(chat)
    return chat


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings = make_settings(
        tmp_path,
        SUPPORT_CHAT_ID=STAFF,
        SUPPORT_HOURS="Mon-Sun 00:00-23:59",
        ADMIN_USER_IDS=str(ADMIN),
    )
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        worker = bot.user("en", user_id=4242)
        staff = ChatUser(api, user_id=9001, first_name="Li", chat_type="supergroup", chat_id=STAFF)
        yield Desk(bot, worker, staff)


def english_words(text: str, *data: str) -> set[str]:
    """Latin-script words left in a staff text once commands (/close), audit actions
    (support.opened), codes in parentheses ((en), (deadline)) and the given data are removed."""
    for value in data:
        text = text.replace(value, " ")
    text = re.sub(r"/\w+|\b\w+\.\w+\b|\(\w+\)", " ", text)
    return set(re.findall(r"[A-Za-z]{2,}", text))


async def ticket_row(bot: BotHarness, number: int) -> SupportTicket:
    async with bot.db.session() as session:
        row = await session.get(SupportTicket, number)
    assert row is not None
    return row


async def test_a_ticket_opens_a_topic_with_a_card_and_is_shown_again_not_duplicated(
    desk: Desk,
) -> None:
    calls, topic = await desk.open()
    [topic_call] = [c for c in calls if c.method == "createForumTopic"]
    assert topic_call.params["name"] == "#1 · Demo · English"
    [card] = [c for c in desk.to_chat(calls, STAFF) if c.method == "sendMessage"]
    assert card.params["message_thread_id"] == topic
    assert card.result["text"].startswith("🎫 Ticket #1 · Demo")
    assert "Language: English (en)" in card.result["text"]
    assert "Account: not linked to a permit" in card.result["text"]
    [answer] = texts(desk.to_chat(calls, 4242))
    assert answer.startswith("🙋 Your request #1 is open.")
    assert "Staff answer during office hours" in answer
    again = await desk.bot.send(desk.worker.text("/support"))
    assert [c.method for c in again if c.method == "createForumTopic"] == []
    assert texts(again)[0].startswith("🙋 Your request #1 is still open.")


async def test_the_card_says_which_question_led_to_the_ticket(desk: Desk) -> None:
    await desk.bot.send(desk.worker.text("my employer forgot to cancel my old permit, help"))
    calls, _topic = await desk.open()
    [card] = [c for c in desk.to_chat(calls, STAFF) if c.method == "sendMessage"]
    assert "Last question typed (" in card.result["text"]
    assert "«my employer forgot to cancel my old permit, help»" in card.result["text"]


async def test_the_card_shows_a_masked_permit_summary_and_no_identifiers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SUPPORT_CHAT_ID=STAFF)
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        await seed_demo_records(bot.db, HASH_KEY)
        await linked(bot, ANNA, user_id=4343)
        calls = await bot.send(bot.user("en", user_id=4343).text("/support"))
    [card] = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == STAFF]
    text = card.result["text"]
    assert "Account: linked" in text
    assert f"{'•' * 14}{ANNA.permit_no[-4:]}" in text
    assert ANNA.permit_no not in text
    assert ANNA.ss_no not in text
    assert "Employer: " in text
    assert "Recent activity:" in text  # what led here (from the audit log)


@pytest.mark.parametrize("kind", ["text", *MEDIA])
async def test_everything_the_worker_sends_reaches_the_topic(desk: Desk, kind: str) -> None:
    _calls, topic = await desk.open()
    update = (
        desk.worker.text("My employer has not applied yet")
        if kind == "text"
        else desk.worker.media(kind, caption="see attached")
    )
    calls = await desk.bot.send(update)
    [copy] = [c for c in calls if c.method == "copyMessage"]
    assert copy.params["chat_id"] == STAFF
    assert copy.params["message_thread_id"] == topic
    assert copy.params["from_chat_id"] == 4242
    copied = desk.bot.api.messages[(STAFF, copy.result["message_id"])]
    assert (kind in copied) if kind != "text" else copied["text"].startswith("My employer")
    assert texts(desk.to_chat(calls, 4242)) == []  # nothing else answers the worker


@pytest.mark.parametrize("kind", ["text", *MEDIA])
async def test_staff_answers_reach_the_worker_from_the_bot(desk: Desk, kind: str) -> None:
    _calls, topic = await desk.open()
    await desk.bot.send(desk.worker.text("Hello?"))
    update = (
        desk.staff.text("Your employer applied today.", topic=topic)
        if kind == "text"
        else desk.staff.media(kind, caption="the form", topic=topic)
    )
    calls = await desk.bot.send(update)
    [to_worker] = desk.to_chat(calls, 4242)
    if kind == "text":
        assert to_worker.result["text"] == ("💬 Support · request #1\nYour employer applied today.")
    else:
        assert to_worker.method == "copyMessage"
        received = desk.bot.api.messages[(4242, to_worker.result["message_id"])]
        assert kind in received
        assert received["caption"] == "the form"
    # Staff stay anonymous: the worker gets the bot's message, not a forward of Li's.
    assert all(c.method != "forwardMessage" for c in calls)


async def test_notes_stay_with_staff(desk: Desk) -> None:
    _calls, topic = await desk.open()
    calls = await desk.bot.send(desk.staff.text("/note the worker sounds worried", topic=topic))
    assert desk.to_chat(calls, 4242) == []
    assert texts(desk.to_chat(calls, STAFF)) == ["📝 Note kept for staff only."]


async def test_canned_replies_go_out_in_each_worker_s_language(desk: Desk) -> None:
    russian = desk.bot.user("ru", user_id=5001)
    arabic = desk.bot.user("ar", user_id=5002)
    _calls, ru_topic = await desk.open(russian)
    _calls, ar_topic = await desk.open(arabic)
    ru_calls = await desk.bot.send(desk.staff.text("/reply extend", topic=ru_topic))
    ar_calls = await desk.bot.send(desk.staff.text("/reply extend", topic=ar_topic))
    [ru_text] = texts(desk.to_chat(ru_calls, 5001))
    [ar_text] = texts(desk.to_chat(ar_calls, 5002))
    assert "Поддержка" in ru_text
    assert "90" in ru_text
    assert "продлен" in ru_text
    assert "الدعم" in ar_text
    assert ar_text.startswith("\u200f")  # right-to-left mark: renders RTL in Telegram
    [echo] = texts(desk.to_chat(ru_calls, STAFF))
    assert echo.startswith("📤 Sent 'extend' in Русский")
    listing = texts(await desk.bot.send(desk.staff.text("/reply", topic=ru_topic)))
    assert "/reply documents" in listing[0]
    assert "/reply notification_letter" in listing[0]
    unknown = texts(await desk.bot.send(desk.staff.text("/reply nope", topic=ru_topic)))
    assert unknown == ["No canned answer 'nope'. /reply lists them."]


async def test_close_asks_for_a_rating_and_writing_again_opens_a_linked_ticket(
    desk: Desk,
) -> None:
    _calls, topic = await desk.open()
    calls = await desk.bot.send(desk.staff.text("/close", topic=topic))
    [closed] = [c for c in desk.to_chat(calls, 4242) if c.method == "sendMessage"]
    assert closed.result["text"].startswith("✅ Your request #1 is closed.")
    assert [data for _label, data in buttons(closed)] == [
        f"support:rate:1:{stars}" for stars in range(1, 6)
    ]
    assert any(c.method == "closeForumTopic" for c in calls)
    rated = await desk.bot.send(desk.worker.press(closed.result, "support:rate:1:4"))
    assert "Thank you for rating request #1" in texts(rated)[0]
    assert "⭐ 4/5" in texts(desk.to_chat(rated, STAFF))
    assert (await ticket_row(desk.bot, 1)).rating == 4
    twice = await desk.bot.send(desk.worker.press(closed.result, "support:rate:1:1"))
    toast = next(c for c in twice if c.method == "answerCallbackQuery")
    assert toast.params["text"] == "This request has already been rated. Thank you!"
    assert (await ticket_row(desk.bot, 1)).rating == 4
    # After the close, the worker's messages are theirs again (no ticket to relay to)...
    after = await desk.bot.send(desk.worker.text("thanks"))
    assert not any(c.method == "copyMessage" for c in after)
    # ...and asking for a person again opens a new ticket that points to the old one.
    calls, _new_topic = await desk.open()
    [card] = [c for c in desk.to_chat(calls, STAFF) if c.method == "sendMessage"]
    assert "Ticket #2" in card.result["text"]
    assert "Previous ticket: #1" in card.result["text"]


async def test_reopen_takes_messages_again(desk: Desk) -> None:
    _calls, topic = await desk.open()
    await desk.bot.send(desk.staff.text("/close", topic=topic))
    calls = await desk.bot.send(desk.staff.text("/reopen", topic=topic))
    assert texts(desk.to_chat(calls, 4242)) == [
        "🙋 Your request #1 is open again. Write here to add anything."
    ]
    assert any(c.method == "reopenForumTopic" for c in calls)
    relayed = await desk.bot.send(desk.worker.text("one more thing"))
    assert [c.params["message_thread_id"] for c in relayed if c.method == "copyMessage"] == [topic]


async def test_a_banned_worker_is_told_once_and_then_ignored(desk: Desk) -> None:
    _calls, topic = await desk.open()
    calls = await desk.bot.send(desk.staff.text("/ban", topic=topic))
    [notice] = texts(desk.to_chat(calls, 4242))
    assert notice.startswith("Our support team can no longer take your messages here.")
    assert (await ticket_row(desk.bot, 1)).state is TicketState.CLOSED
    ignored = await desk.bot.send(desk.worker.text("/support"))
    assert desk.to_chat(ignored, 4242) == []
    assert desk.to_chat(ignored, STAFF) == []
    lifted = await desk.bot.send(desk.staff.text("/unban", topic=topic))
    assert texts(desk.to_chat(lifted, STAFF)) == ["✅ Ban lifted."]
    calls, _topic = await desk.open()
    assert texts(desk.to_chat(calls, 4242))[0].startswith("🙋 Your request #2 is open.")


async def test_people_outside_the_staff_group_cannot_work_tickets(desk: Desk) -> None:
    _calls, topic = await desk.open()
    stranger = desk.bot.user("en", user_id=6666)
    other_group = ChatUser(
        desk.bot.api, user_id=6667, chat_type="supergroup", chat_id=-100999, chat_title="Other"
    )
    for update in (
        stranger.text("/close 1"),
        stranger.text("/tickets"),
        other_group.text("/close 1"),
        other_group.text("hello", topic=topic),
    ):
        calls = await desk.bot.send(update)
        assert desk.to_chat(calls, 4242) == []
        assert desk.to_chat(calls, STAFF) == []
    assert (await ticket_row(desk.bot, 1)).state is TicketState.OPEN
    # An admin from ADMIN_USER_IDS may list tickets from a private chat.
    admin = desk.bot.user("en", user_id=ADMIN)
    [listing] = texts(await desk.bot.send(admin.text("/tickets")))
    assert listing.startswith("Open tickets (1):\n#1 · English")


async def test_general_topic_messages_are_not_ticket_traffic(desk: Desk) -> None:
    await desk.open()
    general = await desk.bot.send(desk.staff.text("lunch at 12?"))
    assert desk.to_chat(general, 4242) == []
    [listing] = texts(await desk.bot.send(desk.staff.text("/tickets")))
    assert listing.startswith("Open tickets (1):")


async def test_a_topic_deleted_by_hand_is_recreated_with_its_card(desk: Desk) -> None:
    _calls, topic = await desk.open()
    desk.bot.api.delete_topic(STAFF, topic)
    calls = await desk.bot.send(desk.worker.text("are you there?"))
    [recreated] = [c for c in calls if c.method == "createForumTopic"]
    new_topic = int(recreated.result["message_thread_id"])
    assert new_topic != topic
    to_staff = [c for c in desk.to_chat(calls, STAFF) if c.method in ("sendMessage", "copyMessage")]
    assert to_staff[0].result["text"].startswith("🎫 Ticket #1")
    assert to_staff[-1].method == "copyMessage"
    assert to_staff[-1].params["message_thread_id"] == new_topic
    assert (await ticket_row(desk.bot, 1)).topic_id == new_topic
    answer = await desk.bot.send(desk.staff.text("yes!", topic=new_topic))
    assert texts(desk.to_chat(answer, 4242)) == ["💬 Support · request #1\nyes!"]


async def test_a_group_without_topics_works_by_replies(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SUPPORT_CHAT_ID=STAFF)
    api = InProcessBotAPI()
    staff_group(api, forum=False)
    async with running_bot(settings, api) as bot:
        worker = bot.user("en", user_id=4242)
        staff = ChatUser(api, user_id=9001, chat_type="supergroup", chat_id=STAFF)
        opened = await bot.send(worker.text("/support"))
        assert not any(c.method == "createForumTopic" and c.result for c in opened)
        [card] = [c for c in opened if c.method == "sendMessage" and c.params["chat_id"] == STAFF]
        assert "message_thread_id" not in card.params
        relayed = await bot.send(worker.media("photo", caption="my passport page"))
        [copy] = [c for c in relayed if c.method == "copyMessage"]
        assert copy.params["reply_parameters"]["message_id"] == card.result["message_id"]
        in_group = api.messages[(STAFF, copy.result["message_id"])]
        answer = await bot.send(staff.text("Thanks, received.", reply_to=in_group))
        assert texts([c for c in answer if c.params.get("chat_id") == 4242]) == [
            "💬 Support · request #1\nThanks, received."
        ]
        chatter = await bot.send(staff.text("who is on call?"))
        assert [c for c in chatter if c.params.get("chat_id") == 4242] == []
        closing = await bot.send(staff.text("/close", reply_to=in_group))
        assert any(
            c.params.get("chat_id") == 4242 and "is closed" in str(c.params.get("text"))
            for c in closing
        )


async def test_a_restart_in_the_middle_of_a_ticket_changes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SUPPORT_CHAT_ID=STAFF)
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        worker = bot.user("en", user_id=4242)
        calls = await bot.send(worker.text("/support"))
        [created] = [c for c in calls if c.method == "createForumTopic"]
        topic = int(created.result["message_thread_id"])
        await bot.send(worker.text("first message"))
    # A new process (or another replica) on the same database.
    async with running_bot(settings, api, migrate=False) as bot:
        worker = bot.user("en", user_id=4242)
        staff = ChatUser(api, user_id=9001, chat_type="supergroup", chat_id=STAFF)
        relayed = await bot.send(worker.text("second message"))
        assert [c.params["message_thread_id"] for c in relayed if c.method == "copyMessage"] == [
            topic
        ]
        assert not any(c.method == "createForumTopic" for c in relayed)
        answer = await bot.send(staff.text("got both", topic=topic))
        assert texts([c for c in answer if c.params.get("chat_id") == 4242]) == [
            "💬 Support · request #1\ngot both"
        ]
        async with bot.db.session() as session:
            count = len((await session.scalars(select(SupportTicket))).all())
        assert count == 1


async def test_without_a_staff_group_the_worker_is_told_plainly(bot: BotHarness) -> None:
    calls = await bot.send(bot.user("en").text("/support"))
    [answer] = texts(calls)
    assert answer.startswith("Sorry, talking to a person is not available here yet.")
    assert buttons(calls[-1])  # the main menu: no dead end


async def test_outside_office_hours_the_worker_is_told_when_staff_are_back(
    tmp_path: Path,
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Shanghai"))
    tomorrow = today + timedelta(days=1)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[tomorrow.weekday()]
    settings = make_settings(tmp_path, SUPPORT_CHAT_ID=STAFF, SUPPORT_HOURS=f"{day} 09:00-18:00")
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        calls = await bot.send(bot.user("en", user_id=4242).text("/support"))
    [answer] = [t for t in texts(calls) if t.startswith("🙋")]
    assert f"Staff answer during office hours: {day} 09:00–18:00 (Asia/Shanghai)." in answer
    back = f"{tomorrow:%b} {tomorrow.day}, {tomorrow.year}, 9:00:00\u202fAM"
    assert f"They are away now and back on {back}" in answer


@pytest.mark.parametrize(
    "language", [{"STAFF_LOCALE": "ru"}, {"DEFAULT_LOCALE": "ru"}], ids=["STAFF_LOCALE", "default"]
)
async def test_staff_read_russian_while_the_worker_keeps_english(
    tmp_path: Path, language: dict[str, str]
) -> None:
    settings = make_settings(
        tmp_path, SUPPORT_CHAT_ID=STAFF, SUPPORT_HOURS="Mon-Sun 00:00-23:59", **language
    )
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        await seed_demo_records(bot.db, HASH_KEY)
        await linked(bot, ANNA, user_id=4343)
        worker = bot.user("en", user_id=4343)
        # The staff member's own Telegram language does not matter: the group reads one.
        staff = ChatUser(
            api, user_id=9001, language_code="en", chat_type="supergroup", chat_id=STAFF
        )
        await bot.send(worker.text("how do I extend my permit?"))
        opened = await bot.send(worker.text("/support"))
        [card] = texts([c for c in opened if c.params.get("chat_id") == STAFF])
        [answer] = texts([c for c in opened if c.params.get("chat_id") == 4343])
        topic = next(c for c in opened if c.method == "createForumTopic")
        thread = int(topic.result["message_thread_id"])
        noted = texts(await bot.send(staff.text("/note call her back", topic=thread)))
        closing = await bot.send(staff.text("/close", topic=thread))
    assert card.startswith("🎫 Обращение № 1 · Demo\nЯзык: English (en)\n")
    assert "Откуда открыто: команда /support" in card
    assert "Аккаунт: привязан" in card
    assert f"{'•' * 14}{ANNA.permit_no[-4:]}" in card
    assert "Последний введённый вопрос (" in card
    assert "«how do I extend my permit?»" in card
    assert "Последние действия:" in card
    employer = card.split("Работодатель: ", 1)[1].splitlines()[0]
    question = "how do I extend my permit?"
    assert english_words(card, "Demo", "English", employer, question, "UTC") == set()
    assert answer.startswith("🙋 Your request #1 is open.")  # the worker's own language
    assert "Staff answer during office hours" in answer
    assert noted == ["📝 Заметка сохранена только для сотрудников."]
    [to_worker] = texts([c for c in closing if c.params.get("chat_id") == 4343])
    [to_staff] = texts([c for c in closing if c.params.get("chat_id") == STAFF])
    assert to_worker.startswith("✅ Your request #1 is closed.")
    assert to_staff == "✅ Обращение № 1 закрыто."


async def test_tickets_and_canned_answers_are_listed_in_the_staff_language(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SUPPORT_CHAT_ID=STAFF, STAFF_LOCALE="ru")
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        staff = ChatUser(api, user_id=9001, chat_type="supergroup", chat_id=STAFF)
        none = texts(await bot.send(staff.text("/tickets")))
        await bot.send(bot.user("en", user_id=5001).text("/support"))
        [one] = texts(await bot.send(staff.text("/tickets")))
        await bot.send(bot.user("ru", user_id=5002).text("/support"))
        await bot.send(bot.user("uk", user_id=5003).text("/support"))
        [three] = texts(await bot.send(staff.text("/tickets")))
        [canned] = texts(await bot.send(staff.text("/reply")))
        [usage] = texts(await bot.send(staff.text("/reply extend")))  # General topic: no ticket
        [unknown] = texts(await bot.send(staff.text("/reply 1 nope")))
    assert none == ["Открытых обращений нет. 🎉"]
    assert one.startswith("1 открытое обращение:\n#1 · English · ")
    assert three.startswith("3 открытых обращения:\n")
    assert three.count("команда /support") == 3
    assert "#2 · Русский · " in three
    assert english_words(three, "English") == set()
    assert canned.startswith("Готовые ответы, отправляются на языке работника:\n")
    assert "/reply notification_letter — как получить Уведомление" in canned
    assert english_words(canned, "Telegram", *sorted(BY_KEY, key=len, reverse=True)) == set()
    assert usage == "Используйте /reply в теме обращения (или укажите номер обращения)."
    assert unknown == "Готового ответа «nope» нет. /reply покажет список."


async def test_a_right_to_left_staff_language_does_not_turn_the_worker_s_messages(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, SUPPORT_CHAT_ID=STAFF, STAFF_LOCALE="ar")
    api = InProcessBotAPI()
    staff_group(api)
    async with running_bot(settings, api) as bot:
        opened = await bot.send(bot.user("en", user_id=4242).text("/support"))
    [card] = texts([c for c in opened if c.params.get("chat_id") == STAFF])
    [answer] = texts([c for c in opened if c.params.get("chat_id") == 4242])
    assert card.startswith("\u200f🎫 الطلب رقم 1 · ")  # anchored right to left for staff
    assert answer.startswith("🙋 Your request #1 is open.")  # not for the English worker
