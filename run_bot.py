"""Work Permit Assistant's one command line: run, demo, migrate, seed and import."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# PTB 22 warns that durations (retry_after, …) become timedelta; we code against that now.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.config import ConfigError, Settings, load_settings
from bot.structured_log import configure_logging
from storage.database import Database

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


def command_run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the bot against the Bot API server (long polling)."""
    if not settings.BOT_TOKEN:
        return _error(
            "BOT_TOKEN is not set: expected the token from @BotFather, like 123456789:AAE... "
            "(to try the bot without a token, run `python run_bot.py demo`)"
        )
    from telegram import Update

    from bot.app import build_application

    db = asyncio.run(_prepare_database(settings, migrate_sqlite=True))
    application = build_application(settings, db)

    async def close_database(_application: object) -> None:
        await db.dispose()

    application.post_shutdown = close_database
    log.info("bot starting", extra={"mode": "polling", "database": db.url.get_backend_name()})
    # run_polling stops gracefully on SIGINT and SIGTERM (its default stop signals).
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    log.info("bot stopped")
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

    add("run", command_run, "Run the bot with long polling (needs BOT_TOKEN).")
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
    add("seed", command_seed, "Add synthetic demo records and print identities to link with.")
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
