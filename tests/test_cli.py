"""The command line: help on every command, clear configuration errors, migrate, seed, run."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.inprocess_bot_api import ChatUser, InProcessBotAPI
from tests.bot_api_server import serve_bot_api

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEtestTokenForLoopbackOnly0123"


def cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python run_bot.py ARGS` in a clean environment rooted in `tmp_path`."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
    }
    environment.update(env or {})
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        cwd=tmp_path,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def spawn(tmp_path: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    """Start `python run_bot.py ARGS` in the background, in a clean environment."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run_bot.py"), *args,
        cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process) -> bytes:
    """SIGTERM, then wait for a graceful exit (killing it only if it hangs); its stderr."""
    try:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _stdout, stderr = await process.communicate()
        return stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    "command",
    ["run", "demo", "migrate", "seed", "import", "remind", "dispatch", "employer", "intent"],
)
def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    result = cli(tmp_path, command, "--help")
    assert result.returncode == 0
    assert "usage: python run_bot.py " + command in result.stdout


def test_run_without_token_names_the_setting_and_points_to_demo(tmp_path: Path) -> None:
    result = cli(tmp_path, "run")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: BOT_TOKEN is not set")
    assert "python run_bot.py demo" in line


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://localhost/db", "sqlite+aiosqlite:///"),
        ("TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("DEFAULT_LOCALE", "xx", "one of en,"),
        ("STAFF_LOCALE", "xx", "one of en,"),
        ("LOG_LEVEL", "LOUD", "one of CRITICAL"),
        ("BOT_TOKEN", "not-a-token", "@BotFather"),
        ("TELEGRAM_API_BASE_URL", "ftp://example", "http(s) URL"),
    ],
)
def test_malformed_setting_stops_with_one_clear_line(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    result = cli(tmp_path, "run", env={name: value})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {name} is invalid: expected ")
    assert expected in line
    assert "Traceback" not in result.stderr


def test_token_is_never_echoed_in_its_error(tmp_path: Path) -> None:
    result = cli(tmp_path, "run", env={"BOT_TOKEN": "12345:secretbutshort"})
    assert "secretbutshort" not in result.stderr


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Nowhere/Land\n", encoding="utf-8")
    result = cli(tmp_path, "migrate")
    assert result.returncode == 2
    assert "TIMEZONE is invalid" in result.stderr


def test_migrate_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    result = cli(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    head = max(path.name[:4] for path in (ROOT / "storage/migrations/versions").glob("0*.py"))
    assert result.stdout.strip() == f"database at revision {head}"
    database = tmp_path / "data" / "permit-assistant.db"
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"people", "work_permits", "applications", "telegram_links", "audit_log"} <= tables


def test_seed_prints_identities_and_is_idempotent(tmp_path: Path) -> None:
    first = cli(tmp_path, "seed")
    assert first.returncode == 0, first.stderr
    assert "Anna Müller | permit 901555555555555501" in first.stdout
    assert "Иван Петров" in first.stdout
    assert "محمد العلي" in first.stdout
    second = cli(tmp_path, "seed")
    assert second.returncode == 0
    with sqlite3.connect(tmp_path / "data" / "permit-assistant.db") as connection:
        (permits,) = connection.execute("SELECT count(*) FROM work_permits").fetchone()
        (plain,) = connection.execute(
            "SELECT count(*) FROM people WHERE passport_hash LIKE 'X0%' OR ss_masked = ss_hash"
        ).fetchone()
    assert permits == 8
    assert plain == 0


async def test_run_polls_any_bot_api_server_and_stops_on_sigterm(tmp_path: Path) -> None:
    api = InProcessBotAPI()
    user = ChatUser(api, user_id=4242, language_code="ru")
    async with serve_bot_api(api, TOKEN) as base_url:
        process = await spawn(
            tmp_path,
            "run",
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=base_url,
            LOG_LEVEL="INFO",
            WEB_PORT="0",
        )
        try:
            async with asyncio.timeout(60):
                await api.wait_for("getUpdates")
                api.push_update(user.text("/start"))
                await api.wait_for("sendMessage")
        finally:
            stderr = await stop(process)
    [greeting] = api.calls_to("sendMessage")
    assert greeting.params["chat_id"] == 4242
    assert "Здравствуйте" in str(greeting.result["text"])
    assert api.calls_to("setMyCommands")
    assert process.returncode == 0
    log = stderr.decode()
    assert 'event="bot stopped"' in log
    assert TOKEN.split(":")[1] not in log
    assert (tmp_path / "data" / "permit-assistant.db").exists()


def test_import_of_the_example_file_creates_then_updates(tmp_path: Path) -> None:
    example = ROOT / "examples" / "records.csv"
    first = cli(tmp_path, "import", str(example))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "created 6, updated 0, skipped 0"
    second = cli(tmp_path, "import", str(example))
    assert second.stdout.strip() == "created 0, updated 6, skipped 0"
    assert second.stderr == ""


def test_import_with_invalid_rows_writes_nothing_and_says_where(tmp_path: Path) -> None:
    lines = (ROOT / "examples" / "records.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",B,", ",D,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(tmp_path, "import", str(bad))
    assert result.returncode == 3
    assert "line 3: category: unknown category 'D' (expected A, B or C)" in result.stderr
    assert "nothing imported" in result.stderr
    with sqlite3.connect(tmp_path / "data" / "permit-assistant.db") as connection:
        (permits,) = connection.execute("SELECT count(*) FROM work_permits").fetchone()
    assert permits == 0
    skipping = cli(tmp_path, "import", str(bad), "--skip-invalid")
    assert skipping.returncode == 0
    assert skipping.stdout.strip() == "created 5, updated 0, skipped 1"


def test_import_of_a_missing_or_broken_file_is_one_clear_line(tmp_path: Path) -> None:
    missing = cli(tmp_path, "import", "nope.csv")
    assert (missing.returncode, missing.stderr.strip()) == (3, "error: nope.csv: no such file")
    (tmp_path / "latin1.csv").write_bytes("permit_no,full_name\n1,Müller\n".encode("latin-1"))
    broken = cli(tmp_path, "import", "latin1.csv")
    assert broken.returncode == 3
    [line] = broken.stderr.strip().splitlines()
    assert "UTF-8" in line


def test_run_against_an_unreachable_bot_api_is_one_clear_line(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        "run",
        env={
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
            "WEB_PORT": "0",
        },
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: TELEGRAM_API_BASE_URL: cannot reach the Bot API server")
    )
    assert "Traceback" not in result.stderr


def test_keys_rotate_and_list(tmp_path: Path) -> None:
    first = cli(tmp_path, "keys", "list")
    assert first.returncode == 0
    [line] = first.stdout.strip().splitlines()
    assert line.endswith("signing")
    rotated = cli(tmp_path, "keys", "rotate")
    lines = rotated.stdout.strip().splitlines()
    assert lines[0].startswith("new signing key ")
    assert lines[1].endswith("verify-only")
    assert lines[2].endswith("signing")
    assert lines[2].split()[0] == lines[0].split()[3].rstrip(";")


def test_verify_checks_a_code_offline(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from bot.credentials import KeyRing, Purpose, sign

    ring = KeyRing(tmp_path / "data" / "signing-keys.json")
    token = sign(ring, "ref-7", Purpose.RESIDENCE, datetime.now(UTC), 600)
    good = cli(tmp_path, "verify", f"https://permits.example/v/{token}")
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("verdict: valid")
    assert "sub: ref-7" in good.stdout
    assert "pur: residence" in good.stdout
    (tmp_path / "jwks.json").write_text(json.dumps(ring.jwks()), encoding="utf-8")
    with_file = cli(tmp_path, "verify", token, "--keys", str(tmp_path / "jwks.json"))
    assert with_file.stdout.startswith("verdict: valid")
    old = sign(ring, "ref-7", Purpose.GENERAL, datetime.now(UTC) - timedelta(hours=1), 600)
    assert cli(tmp_path, "verify", old).stdout.strip() == "verdict: expired"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert cli(tmp_path, "verify", tampered).stdout.strip() == "verdict: bad_signature"
    (tmp_path / "empty.json").write_text('{"keys": []}', encoding="utf-8")
    unknown = cli(tmp_path, "verify", token, "--keys", str(tmp_path / "empty.json"))
    assert (unknown.returncode, unknown.stdout.strip()) == (1, "verdict: unknown_key")


async def test_web_serves_alone_and_verify_reads_its_published_keys(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import aiohttp

    from bot.credentials import KeyRing, Purpose, sign

    port = free_port()
    process = await spawn(tmp_path, "web", WEB_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(60):
            assert process.stderr is not None
            while b"web app listening" not in await process.stderr.readline():
                pass
        async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz") as response:
            health = await response.json()
        assert health == {"status": "ok", "checks": {"database": True}}
        ring = KeyRing(tmp_path / "data" / "signing-keys.json")
        token = sign(ring, "ref-9", Purpose.GENERAL, datetime.now(UTC), 600)
        (tmp_path / "elsewhere").mkdir()
        checked = await asyncio.to_thread(
            cli, tmp_path / "elsewhere", "verify", token, "--keys",
            f"{base}/.well-known/permit-keys.json",
        )  # fmt: skip
        assert checked.stdout.startswith("verdict: valid"), checked.stderr
    finally:
        await stop(process)
    assert process.returncode == 0


def test_outbox_command_shows_counts_and_the_oldest_pending(tmp_path: Path) -> None:
    result = cli(tmp_path, "outbox")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["pending", "0"]
    assert lines[-1] == "oldest pending: none"


async def test_remind_command_prints_what_it_queued_per_threshold(tmp_path: Path) -> None:
    from datetime import date, timedelta

    from storage.database import Database
    from tests.permits import add_permit

    migrated = await asyncio.to_thread(cli, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'permit-assistant.db'}")
    today = date(2026, 11, 27)
    try:
        for user_id, days_left in enumerate((80, 70, 45, 33, -3, 200), start=900):
            await add_permit(db, today + timedelta(days=days_left), user_id=user_id)
        await add_permit(db, today + timedelta(days=80))  # not linked
    finally:
        await db.dispose()
    first = await asyncio.to_thread(cli, tmp_path, "remind", "--date", "2026-11-27")
    assert first.returncode == 0, first.stderr
    table = {line.split()[0]: line.split()[1:] for line in first.stdout.splitlines()[2:]}
    assert first.stdout.splitlines()[0] == "reminders for 2026-11-27"
    assert table == {
        "extension_window_open": ["2", "0"],
        "extension_60_days": ["1", "0"],
        "extension_last_week": ["1", "0"],
        "permit_expired": ["1", "0"],
        "notification_letter_lapsing": ["0", "0"],
        "total": ["5", "0"],
    }
    again = await asyncio.to_thread(cli, tmp_path, "remind", "--date", "2026-11-27")
    assert again.stdout.splitlines()[-1].split() == ["total", "0", "5"]


def test_remind_refuses_a_malformed_date(tmp_path: Path) -> None:
    result = cli(tmp_path, "remind", "--date", "27.11.2026")
    assert result.returncode == 2
    assert "'27.11.2026' is not a date in the form YYYY-MM-DD" in result.stderr


def test_intent_prints_the_intent_its_score_and_the_answering_entry(tmp_path: Path) -> None:
    answered = cli(tmp_path, "intent", "--lang", "en", "How long is the Notification Letter valid?")
    assert answered.returncode == 0, answered.stderr
    first, second = answered.stdout.splitlines()
    intent, score = first.split()
    assert intent == "guide_z_visa"
    assert 0.0 <= float(score) <= 1.0
    assert second == "kb.letter.validity"
    journey = cli(tmp_path, "intent", "--lang", "ru", "когда заканчивается мое разрешение?")
    assert journey.stdout.splitlines()[0].split()[0] == "deadline"
    spaceless = cli(tmp_path, "intent", "--lang", "zh-CN", "我的社保卡在哪里领")
    assert spaceless.stdout.split()[0] == "social"
    noise = cli(tmp_path, "intent", "zxqv plorb")
    [line] = noise.stdout.splitlines()
    assert line.split()[0] == "unknown"
