"""Work Permit Assistant's one command line: run, demo, migrate, seed, import, remind, intent..."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

# PTB 22 warns that durations (retry_after, …) become timedelta; we code against that now.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.config import EXPECTED, ConfigError, Settings, load_settings
from bot.structured_log import configure_logging
from storage.database import Database

if TYPE_CHECKING:
    from bot.employers import Invite

log = logging.getLogger("run_bot")

EXIT_CONFIG = 2
EXIT_INVALID_DATA = 3


def _error(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


async def _prepare_database(settings: Settings, *, migrate_sqlite: bool) -> Database:
    """Open the store; SQLite is migrated in place, PostgreSQL must already be migrated."""
    db = Database(settings.database_url)
    if migrate_sqlite and db.is_sqlite:
        await db.migrate()
    elif not await db.is_up_to_date():
        await db.dispose()
        raise ConfigError(
            "DATABASE_URL: the database schema is not up to date; "
            "run `python run_bot.py migrate` first"
        )
    return db


def _run_with_bot_api(run: Callable[[], Coroutine[Any, Any, None]]) -> int | None:
    """Run a coroutine that talks to the Bot API; an exit code if it could not."""
    from telegram.error import InvalidToken, NetworkError

    try:
        asyncio.run(run())
    except InvalidToken:
        return _error("BOT_TOKEN was refused by the Bot API: check the token from @BotFather")
    except NetworkError as error:
        return _error(
            f"TELEGRAM_API_BASE_URL: cannot reach the Bot API server ({type(error).__name__}); "
            "check the address and the network"
        )
    return None


def command_run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the bot (long polling) and its web app until SIGINT or SIGTERM."""
    if not settings.BOT_TOKEN:
        return _error(
            "BOT_TOKEN is not set: expected the token from @BotFather, like 123456789:AAE... "
            "(to try the bot without a token, run `python run_bot.py demo`)"
        )
    if args.webhook and not (settings.WEBHOOK_URL and settings.WEBHOOK_SECRET):
        missing = "WEBHOOK_URL" if not settings.WEBHOOK_URL else "WEBHOOK_SECRET"
        return _error(f"{missing} is not set: --webhook needs {EXPECTED[missing]}")
    from bot.app import build_application
    from bot.serve import serve_bot

    async def run() -> None:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            application = build_application(settings, db)
            log.info("bot starting", extra={"database": db.url.get_backend_name()})
            await serve_bot(application, webhook=args.webhook)
        finally:
            await db.dispose()

    failed = _run_with_bot_api(run)
    if failed is not None:
        return failed
    log.info("bot stopped")
    return 0


def command_web(settings: Settings, args: argparse.Namespace) -> int:
    """Serve only the web app: verification page, public keys, health."""
    from bot.serve import serve_web

    async def run() -> None:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            await serve_web(settings, db)
        finally:
            await db.dispose()

    asyncio.run(run())
    log.info("web app stopped")
    return 0


def command_keys(settings: Settings, args: argparse.Namespace) -> int:
    """List the verification-code signing keys, or add a new one."""
    from bot.credentials import KeyRing

    ring = KeyRing(settings.signing_key_path)
    if args.action == "rotate":
        key = ring.rotate()
        print(f"new signing key {key.kid}; older keys keep verifying the codes they signed")
    keys = ring.keys
    for index, key in enumerate(keys):
        role = "signing" if index == len(keys) - 1 else "verify-only"
        print(f"{key.kid}  created {key.created_at.isoformat(timespec='seconds')}  {role}")
    return 0


def command_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Check a code offline: signature and expiry, with our keys or a JWK Set."""
    from bot.credentials import KeyRing, TokenRejected, keys_from_jwks, load_jwks, verify

    token = args.token.rsplit("/v/", 1)[-1].split("?", 1)[0].strip()
    if args.keys:
        try:
            public_key_for = keys_from_jwks(load_jwks(args.keys))
        except (OSError, ValueError) as error:
            return _error(f"--keys {args.keys}: {error}", EXIT_INVALID_DATA)
    else:
        public_key_for = KeyRing(settings.signing_key_path).public_key
    try:
        claims = verify(token, public_key_for)
    except TokenRejected as rejected:
        print(f"verdict: {rejected.problem.value}")
        return 1
    print("verdict: valid (signature and lifetime; the permit's status is checked online)")
    print(f"kid: {claims.key_id}")
    print(f"sub: {claims.subject}")
    print(f"pur: {claims.purpose.value}")
    print(f"iat: {claims.issued_at.isoformat()}")
    print(f"exp: {claims.expires_at.isoformat()}")
    return 0


def command_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Chat with the real bot in this terminal: no token, no network."""
    from bot.demo import run_demo

    if "LOG_LEVEL" not in os.environ:
        # The transcript is the demo's output; only problems should interrupt it.
        logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(
        run_demo(
            settings,
            language_code=args.lang,
            files_dir=args.files,
            phone=args.phone,
            seed=not args.no_seed,
        )
    )


def command_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade the database schema to the newest migration."""

    async def migrate() -> str | None:
        db = Database(settings.database_url)
        try:
            await db.migrate(args.revision)
            return await db.current_revision()
        finally:
            await db.dispose()

    revision = asyncio.run(migrate())
    print(f"database at revision {revision}")
    return 0


def command_seed(settings: Settings, args: argparse.Namespace) -> int:
    """Add the synthetic demo records and print identities to link with."""
    from storage.seed import seed_demo_records

    async def seed() -> list[str]:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            identities = await seed_demo_records(db, settings.identifier_hash_key)
        finally:
            await db.dispose()
        return [identity.describe() for identity in identities]

    lines = asyncio.run(seed())
    print("Synthetic records (all data is made up). Link with any of these identities:")
    for line in lines:
        print("  " + line)
    return 0


def command_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import permit records from a CSV file."""
    from storage.identifiers import IdentifierHasher
    from storage.records_import import ImportFileError, import_records

    async def run_import() -> int:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            report = await import_records(
                db,
                args.file,
                hasher=IdentifierHasher(settings.identifier_hash_key),
                skip_invalid=args.skip_invalid,
                progress=sys.stderr.isatty(),
            )
        except ImportFileError as error:
            return _error(f"{args.file}: {error}", EXIT_INVALID_DATA)
        finally:
            await db.dispose()
        for problem in report.problems:
            print(problem, file=sys.stderr)
        if not report.written:
            print(
                f"nothing imported: {len(report.problems)} problem(s) in {report.skipped} row(s); "
                "fix them, or use --skip-invalid to import the valid rows",
                file=sys.stderr,
            )
            return EXIT_INVALID_DATA
        print(f"created {report.created}, updated {report.updated}, skipped {report.skipped}")
        return 0

    if not args.file.is_file():
        return _error(f"{args.file}: no such file", EXIT_INVALID_DATA)
    return asyncio.run(run_import())


def command_outbox(settings: Settings, args: argparse.Namespace) -> int:
    """Show the notification outbox: counts by state and the oldest pending row's age."""
    from storage.models import OutboxState, utcnow
    from storage.repositories import OutboxRepository

    async def read() -> tuple[dict[str, int], float | None]:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            async with db.session() as session:
                summary = await OutboxRepository(session).summary()
        finally:
            await db.dispose()
        age = None
        if summary.oldest_pending is not None:
            age = (utcnow() - summary.oldest_pending).total_seconds()
        return summary.by_state, age

    by_state, age = asyncio.run(read())
    for state in OutboxState:
        print(f"{state.value:<8} {by_state.get(state.value, 0)}")
    print("oldest pending: " + ("none" if age is None else f"{age:.0f} s ago"))
    return 0


def command_dispatch(settings: Settings, args: argparse.Namespace) -> int:
    """Send queued notifications without taking updates (extra senders, cron, recovery)."""
    if not settings.BOT_TOKEN:
        return _error(f"BOT_TOKEN is not set: dispatch needs {EXPECTED['BOT_TOKEN']}")
    from bot.app import build_application
    from bot.serve import serve_dispatcher

    async def run() -> None:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            application = build_application(settings, db)
            report = await serve_dispatcher(application, until_empty=args.until_empty)
        finally:
            await db.dispose()
        print(
            f"sent {report.sent}, retried {report.retried}, deferred {report.deferred}, "
            f"skipped {report.skipped}, failed {report.failed}, parked {report.parked}"
        )

    return _run_with_bot_api(run) or 0


def _invite_lines(invite: Invite, settings: Settings, bot_username: str | None) -> list[str]:
    """What the operator passes on to the employer's HR person: the code and how to use it."""
    employer = invite.employer
    until = invite.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")
    bot = bot_username.lstrip("@") if bot_username else "<bot username>"
    lines = [
        f"invite for {employer.name} ({employer.uscc}); works once, until {until}",
        f"code: {invite.code}",
        f"private chat: https://t.me/{bot}?start={invite.code}",
        f"HR group:     https://t.me/{bot}?startgroup={invite.code}",
        f"or send in the chat to link: /start {invite.code}",
    ]
    if not bot_username:
        lines.append("(put the bot's username in place of <bot username>, or pass --bot-username)")
    return lines


def command_employer(settings: Settings, args: argparse.Namespace) -> int:
    """Employers: create a one-time invite code that links a chat, or list employers."""
    from bot.employers import EmployerLinking, InvalidCreditCode, UnknownEmployer

    async def invite(linking: EmployerLinking) -> list[str]:
        return _invite_lines(await linking.create_invite(args.uscc), settings, args.bot_username)

    async def listing(linking: EmployerLinking) -> list[str]:
        lines = [f"{'credit code':<18}  {'chats':>5}  {'workers':>7}  name"]
        for employer in await linking.summaries():
            lines.append(
                f"{employer.uscc:<18}  {employer.chats:>5}  {employer.workers:>7}  {employer.name}"
            )
        return lines

    async def run() -> list[str]:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            linking = EmployerLinking(db, settings.EMPLOYER_INVITE_DAYS)
            return await (invite(linking) if args.action == "invite" else listing(linking))
        finally:
            await db.dispose()

    try:
        lines = asyncio.run(run())
    except InvalidCreditCode:
        return _error(
            f"{args.uscc!r} is not a valid Unified Social Credit Code "
            "(18 characters with a correct check character)",
            EXIT_INVALID_DATA,
        )
    except UnknownEmployer as unknown:
        return _error(
            f"no employer with the credit code {unknown} in the records", EXIT_INVALID_DATA
        )
    for line in lines:
        print(line)
    return 0


def command_remind(settings: Settings, args: argparse.Namespace) -> int:
    """Run the deadline-reminder scan now and print what it queued, per threshold."""
    from bot.reminders import Threshold, scan_reminders

    day = args.date or settings.today()

    async def scan() -> tuple[dict[Threshold, int], dict[Threshold, int]]:
        db = await _prepare_database(settings, migrate_sqlite=True)
        try:
            report = await scan_reminders(db, day)
        finally:
            await db.dispose()
        return dict(report.queued), dict(report.already_queued)

    queued, before = asyncio.run(scan())
    print(f"reminders for {day.isoformat()}")
    print(f"{'threshold':<28} {'queued':>7} {'already queued':>15}")
    for threshold in Threshold:
        print(f"{threshold.value:<28} {queued.get(threshold, 0):>7} {before.get(threshold, 0):>15}")
    print(f"{'total':<28} {sum(queued.values()):>7} {sum(before.values()):>15}")
    return 0


def command_intent(settings: Settings, args: argparse.Namespace) -> int:
    """Print what the bot understands a typed message as: `<intent> <score>`, then the
    knowledge-base entry that answers it, if one does."""
    from bot.intents import understand

    match = understand(args.text, args.lang)
    print(f"{match.intent.value if match.intent else 'unknown'} {match.score:.3f}")
    if match.confident and match.entry_id is not None:  # the bot answers with this entry
        print(match.entry_id)
    return 0


def _iso_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date in the form YYYY-MM-DD"
        ) from None


def command_i18n(settings: Settings, args: argparse.Namespace) -> int:
    """The translation workflow: extract the template, update the catalogs, check them."""
    from bot import i18n_tools

    if args.action == "extract":
        print(f"{i18n_tools.extract()} messages in locales/messages.pot")
        return 0
    if args.action == "update":
        for locale, untranslated in i18n_tools.update().items():
            print(f"{locale:<8} {untranslated} to translate")
        return 0
    problems = i18n_tools.check()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problems")
    return EXIT_INVALID_DATA if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI: one sub-command per operator task, each with its own --help."""
    parser = argparse.ArgumentParser(
        prog="python run_bot.py",
        description="Work Permit Assistant: a multilingual Telegram bot for foreigners "
        "working in China. Settings come from environment variables and .env (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Callable[[Settings, argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    run = add("run", command_run, "Run the bot and its web app (needs BOT_TOKEN).")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="take updates at POST /telegram/webhook (needs WEBHOOK_URL and WEBHOOK_SECRET) "
        "instead of long polling",
    )
    add("web", command_web, "Serve only the web app: verification page, keys, health.")
    keys = add("keys", command_keys, "List the code-signing keys, or rotate (add a new one).")
    keys.add_argument("action", choices=["list", "rotate"], help="list or rotate")
    verify = add("verify", command_verify, "Check a verification code offline.")
    verify.add_argument("token", metavar="TOKEN-OR-URL", help="the token, or the URL in the QR")
    verify.add_argument(
        "--keys",
        metavar="FILE-or-URL",
        help="a JWK Set file or URL (default: this installation's keys)",
    )
    demo = add(
        "demo",
        command_demo,
        "Chat with the real bot in this terminal on a throw-away seeded database; no token "
        "and no network needed. Piped input is read one message per line.",
    )
    demo.add_argument(
        "--lang", default="en", help="the demo user's Telegram language_code (default: en)"
    )
    demo.add_argument(
        "--files",
        type=Path,
        default=Path("demo-output"),
        help="folder for photos and documents the bot sends (default: ./demo-output)",
    )
    demo.add_argument(
        "--phone",
        default="+8613900011111",
        help="phone number the demo user shares with the contact button",
    )
    demo.add_argument("--no-seed", action="store_true", help="start with an empty database")
    migrate = add("migrate", command_migrate, "Upgrade the database schema (Alembic).")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    employer = add(
        "employer",
        command_employer,
        "Employers: invite an employer's HR chat (a one-time code), or list employers.",
    )
    employer_actions = employer.add_subparsers(dest="action", required=True, metavar="ACTION")
    invite = employer_actions.add_parser(
        "invite",
        help="create a one-time code that links a chat to the employer",
        description="Create a one-time invite code (valid EMPLOYER_INVITE_DAYS days) and "
        "print it with deep links: opening one in a private chat, or sending "
        "`/start <code>` in an HR group with the bot, links that chat to the employer.",
    )
    invite.add_argument("uscc", metavar="USCC", help="the employer's Unified Social Credit Code")
    invite.add_argument(
        "--bot-username",
        metavar="NAME",
        help="the bot's Telegram username, for the printed links (default: a placeholder)",
    )
    employer_actions.add_parser(
        "list",
        help="employers with their linked chats and workers",
        description="List employers with how many chats are linked and how many workers they have.",
    )
    add("outbox", command_outbox, "Show notification counts by state and the oldest pending.")
    dispatch = add(
        "dispatch",
        command_dispatch,
        "Only send queued notifications (`run` already does this): more senders on "
        "PostgreSQL, or a one-off catch-up (needs BOT_TOKEN).",
    )
    dispatch.add_argument(
        "--until-empty",
        action="store_true",
        help="stop when nothing is due instead of running until SIGTERM",
    )
    add("seed", command_seed, "Add synthetic demo records and print identities to link with.")
    remind = add(
        "remind",
        command_remind,
        "Queue the deadline reminders due today (the bot also does this daily at "
        "REMINDER_SCAN_TIME) and print how many were queued per threshold.",
    )
    remind.add_argument(
        "--date",
        type=_iso_day,
        metavar="YYYY-MM-DD",
        help="judge the deadlines as of this day (default: today in TIMEZONE)",
    )
    i18n = add(
        "i18n",
        command_i18n,
        "Translations: extract the messages, update every catalog, or check them all.",
    )
    i18n.add_argument("action", choices=["extract", "update", "check"])
    intent = add(
        "intent",
        command_intent,
        "Show how the bot understands a typed message: `<intent> <score>` on the first "
        "line (or `unknown`), and the knowledge-base entry that answers it on the second.",
    )
    intent.add_argument(
        "--lang",
        default="en",
        help="the reader's language (locale or Telegram language_code; default: en)",
    )
    intent.add_argument("text", help="the message, quoted")
    importer = add("import", command_import, "Import permit records from a UTF-8 CSV file.")
    importer.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file")
    importer.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows and report the rest (default: import nothing if any "
        "row is invalid)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, load settings, run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        handler: Callable[[Settings, argparse.Namespace], int] = args.handler
        return handler(settings, args)
    except ConfigError as error:
        return _error(str(error))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
