"""The employer side end to end: invite from the command line, link a private chat or an HR
group with /start, refusals, unlinking, and the employer commands only in a linked chat."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.inprocess_bot_api import BOT_USERNAME, ApiCall, ChatUser
from storage.identifiers import uscc_check_char
from storage.models import AuditEntry, EmployerChat, EmployerInvite, utcnow
from tests.conftest import BotHarness, buttons, texts
from tests.test_cli import cli

HARBOUR = "91310000MA1K00001" + uscc_check_char("91310000MA1K00001")
LOTUS = "91110000MA0100002" + uscc_check_char("91110000MA0100002")
HARBOUR_NAME = "Shanghai Harbour Software Co., Ltd."
NOT_LINKED = "This chat is not linked to an employer."


def group_member(
    bot: BotHarness, chat_id: int = -1001234, user_id: int = 200001, language: str = "en"
) -> ChatUser:
    """A member of an HR supergroup the bot was added to."""
    return ChatUser(
        bot.api, user_id=user_id, language_code=language, chat_type="supergroup", chat_id=chat_id
    )


async def invite(bot: BotHarness, uscc: str = HARBOUR) -> str:
    """A fresh invite code, as the operator's command creates it."""
    return (await bot.app.bot_data.employers.create_invite(uscc)).code


async def linked_chats(bot: BotHarness) -> list[tuple[int, str, str | None]]:
    async with bot.db.session() as session:
        rows = (await session.scalars(select(EmployerChat).order_by(EmployerChat.id))).all()
    return [(row.chat_id, row.chat_type, row.locale) for row in rows]


def commands_set(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.method == "setMyCommands"]


async def test_cli_invite_then_deep_link_links_a_private_chat(
    seeded: BotHarness, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": seeded.settings.database_url}
    result = await asyncio.to_thread(
        cli, tmp_path, "employer", "invite", HARBOUR, "--bot-username", "@" + BOT_USERNAME, env=env
    )
    assert result.returncode == 0, result.stderr
    [code] = re.findall(r"^code: (emp_[A-Za-z0-9_-]+)$", result.stdout, re.MULTILINE)
    assert len(code) <= 64
    assert f"https://t.me/{BOT_USERNAME}?start={code}" in result.stdout
    assert f"https://t.me/{BOT_USERNAME}?startgroup={code}" in result.stdout
    assert f"/start {code}" in result.stdout
    assert HARBOUR_NAME in result.stdout

    hr = seeded.user("en", user_id=300001)
    calls = await seeded.send(hr.text(f"/start {code}"))
    [text] = texts(calls)
    assert text.startswith(f"✅ Done: this chat is now linked to {HARBOUR_NAME}.")
    assert "/employees" in text
    assert "/export" in text
    assert "/employer_unlink" in text
    assert await linked_chats(seeded) == [(300001, "private", "en")]
    [registered] = commands_set(calls)
    assert registered.params["scope"] == {"type": "chat", "chat_id": 300001}
    names = [command["command"] for command in registered.params["commands"]]
    assert names[:3] == ["employees", "export", "employer_unlink"]
    assert "status" in names  # a private chat keeps the worker's commands too
    async with seeded.db.session() as session:
        row = await session.scalar(select(EmployerInvite))
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert row is not None
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert row.used_by_chat == 300001
    assert "employer.chat_linked" in actions


async def test_cli_invite_without_username_prints_a_placeholder_link(
    seeded: BotHarness, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": seeded.settings.database_url}
    result = await asyncio.to_thread(cli, tmp_path, "employer", "invite", HARBOUR, env=env)
    assert result.returncode == 0, result.stderr
    assert "https://t.me/<bot username>?start=emp_" in result.stdout
    assert "--bot-username" in result.stdout


async def test_cli_refuses_unknown_and_malformed_credit_codes(
    seeded: BotHarness, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": seeded.settings.database_url}
    unknown = "91310000MA1K00077" + uscc_check_char("91310000MA1K00077")
    for uscc, expected in [
        (unknown, f"error: no employer with the credit code {unknown} in the records"),
        ("91310000MA1K0000IO", "is not a valid Unified Social Credit Code"),
    ]:
        result = await asyncio.to_thread(cli, tmp_path, "employer", "invite", uscc, env=env)
        assert result.returncode == 3
        [line] = result.stderr.strip().splitlines()
        assert expected in line
        assert result.stdout == ""


async def test_cli_lists_employers_with_linked_chats(seeded: BotHarness, tmp_path: Path) -> None:
    await seeded.send(seeded.user(user_id=300001).text(f"/start {await invite(seeded)}"))
    env = {"DATABASE_URL": seeded.settings.database_url}
    result = await asyncio.to_thread(cli, tmp_path, "employer", "list", env=env)
    assert result.returncode == 0, result.stderr
    [harbour] = [line for line in result.stdout.splitlines() if HARBOUR in line]
    assert harbour.split()[:3] == [HARBOUR, "1", "2"]
    assert harbour.endswith(HARBOUR_NAME)


async def test_start_at_botname_in_a_group_links_the_group_in_the_member_s_language(
    seeded: BotHarness,
) -> None:
    member = group_member(seeded, language="ru")
    calls = await seeded.send(member.text(f"/start@{BOT_USERNAME} {await invite(seeded)}"))
    [sent] = [call for call in calls if call.method == "sendMessage"]
    assert sent.params["chat_id"] == -1001234
    assert HARBOUR_NAME in str(sent.result["text"])
    assert await linked_chats(seeded) == [(-1001234, "supergroup", "ru")]
    [registered] = commands_set(calls)
    names = [command["command"] for command in registered.params["commands"]]
    assert names == ["employees", "export", "employer_unlink", "help"]


async def test_plain_start_with_a_code_links_a_group_too(seeded: BotHarness) -> None:
    member = group_member(seeded)
    [text] = texts(await seeded.send(member.text(f"/start {await invite(seeded)}")))
    assert text.startswith("✅ Done")
    assert await linked_chats(seeded) == [(-1001234, "supergroup", "en")]


async def test_expired_code_is_refused(seeded: BotHarness) -> None:
    code = await invite(seeded)
    async with seeded.db.session() as session:
        await session.execute(
            update(EmployerInvite).values(expires_at=utcnow() - timedelta(minutes=1))
        )
    [text] = texts(await seeded.send(group_member(seeded).text(f"/start {code}")))
    assert text == "This invite code has expired. Please ask for a new one."
    assert await linked_chats(seeded) == []


async def test_code_used_in_one_chat_is_refused_in_another(seeded: BotHarness) -> None:
    code = await invite(seeded)
    await seeded.send(group_member(seeded, chat_id=-1001).text(f"/start {code}"))
    [text] = texts(await seeded.send(group_member(seeded, chat_id=-1002).text(f"/start {code}")))
    assert text.startswith("This invite code has already been used")
    [text] = texts(await seeded.send(seeded.user(user_id=300001).text(f"/start {code}")))
    assert text.startswith("This invite code has already been used")
    assert await linked_chats(seeded) == [(-1001, "supergroup", "en")]


async def test_reused_code_in_the_same_chat_changes_nothing(seeded: BotHarness) -> None:
    code = await invite(seeded)
    member = group_member(seeded)
    await seeded.send(member.text(f"/start {code}"))
    [text] = texts(await seeded.send(member.text(f"/start {code}")))
    assert text.startswith(f"This chat is already linked to {HARBOUR_NAME}. Nothing was changed.")
    assert await linked_chats(seeded) == [(-1001234, "supergroup", "en")]


async def test_unknown_code_is_refused(seeded: BotHarness) -> None:
    for code in ("emp_" + "A" * 32, "emp_short", "emp_" + "!" * 10):
        [text] = texts(await seeded.send(group_member(seeded).text(f"/start {code}")))
        assert text.startswith("This invite code is not valid.")
    assert await linked_chats(seeded) == []


async def test_chat_linked_to_another_employer_must_unlink_first(seeded: BotHarness) -> None:
    member = group_member(seeded)
    await seeded.send(member.text(f"/start {await invite(seeded)}"))
    other = await invite(seeded, LOTUS)
    [text] = texts(await seeded.send(member.text(f"/start {other}")))
    assert text.startswith(f"This chat is already linked to {HARBOUR_NAME}.")
    assert "/employer_unlink" in text
    assert await linked_chats(seeded) == [(-1001234, "supergroup", "en")]


async def test_start_without_a_code_still_greets_a_worker(seeded: BotHarness) -> None:
    [text] = texts(await seeded.send(seeded.user().text("/start")))
    assert text.startswith("Hello, Demo! I am Work Permit Assistant.")
    [text] = texts(await seeded.send(seeded.user().text("/start from-a-web-page")))
    assert text.startswith("Hello, Demo!")
    assert await linked_chats(seeded) == []


async def test_employer_unlink_asks_and_keep_changes_nothing(seeded: BotHarness) -> None:
    member = group_member(seeded)
    await seeded.send(member.text(f"/start {await invite(seeded)}"))
    calls = await seeded.send(member.text("/employer_unlink"))
    [question] = texts(calls)
    assert question.startswith(f"Unlink this chat from {HARBOUR_NAME}?")
    assert buttons(calls[-1]) == [("Unlink", "emp:unlink:yes"), ("Keep", "emp:unlink:no")]
    message = calls[-1].result
    [text] = texts(await seeded.send(member.press(message, "emp:unlink:no")))
    assert text == "Nothing was changed."
    assert await linked_chats(seeded) == [(-1001234, "supergroup", "en")]


async def test_employer_unlink_removes_the_link_and_the_chat_s_commands(
    seeded: BotHarness,
) -> None:
    member = group_member(seeded)
    await seeded.send(member.text(f"/start {await invite(seeded)}"))
    calls = await seeded.send(member.text("/employer_unlink"))
    # Another member of the same group confirms.
    colleague = group_member(seeded, user_id=200002)
    calls = await seeded.send(colleague.press(calls[-1].result, "emp:unlink:yes"))
    assert texts(calls) == [f"Done: this chat is no longer linked to {HARBOUR_NAME}."]
    [deleted] = [call for call in calls if call.method == "deleteMyCommands"]
    assert deleted.params["scope"] == {"type": "chat", "chat_id": -1001234}
    assert await linked_chats(seeded) == []
    async with seeded.db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "employer.chat_unlinked" in actions
    [text] = texts(await seeded.send(member.text("/employees")))
    assert text.startswith(NOT_LINKED)


async def test_unlink_button_from_an_unlinked_chat_is_refused(seeded: BotHarness) -> None:
    member = group_member(seeded)
    await seeded.send(member.text(f"/start {await invite(seeded)}"))
    calls = await seeded.send(member.text("/employer_unlink"))
    stranger = group_member(seeded, chat_id=-1009999, user_id=200009)
    forged = {**calls[-1].result, "chat": stranger.chat}
    calls = await seeded.send(stranger.press(forged, "emp:unlink:yes"))
    [answer] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == NOT_LINKED
    assert await linked_chats(seeded) == [(-1001234, "supergroup", "en")]


async def test_employer_commands_outside_a_linked_chat_say_how_to_link(
    seeded: BotHarness,
) -> None:
    for sender in (seeded.user(), group_member(seeded)):
        for command in ("/employees", "/export", "/employer_unlink"):
            calls = await seeded.send(sender.text(command))
            [text] = texts(calls)
            assert text.startswith(NOT_LINKED)
            assert "/start" in text
            assert not [call for call in calls if call.method == "sendDocument"]


async def test_help_in_a_linked_chat_lists_the_employer_commands(seeded: BotHarness) -> None:
    member = group_member(seeded)
    await seeded.send(member.text(f"/start {await invite(seeded)}"))
    [text] = texts(await seeded.send(member.text(f"/help@{BOT_USERNAME}")))
    assert text.startswith(f"🏢 This chat is linked to {HARBOUR_NAME}.")
    assert "/employees" in text
    assert "/status" not in text
    hr = seeded.user(user_id=300001)
    await seeded.send(hr.text(f"/start {await invite(seeded)}"))
    [text] = texts(await seeded.send(hr.text("/help")))
    assert "/employees" in text
    assert "/status" in text
    [text] = texts(await seeded.send(seeded.user().text("/help")))
    assert "/employees" not in text
