"""Settings read once from the environment and an optional `.env` file."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import available_locales

if TYPE_CHECKING:
    from bot.office_hours import OfficeHours
    from bot.preferences import QuietHours

DEFAULT_DATA_DIR = Path("data")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")

# What each setting expects, said the way an operator needs to read it.
EXPECTED: dict[str, str] = {
    "BOT_TOKEN": "the token from @BotFather, like 123456789:AAE...",
    "TELEGRAM_API_BASE_URL": "an http(s) URL of a Bot API server ending before the token, "
    "like https://api.telegram.org/bot",
    "TELEGRAM_FILE_BASE_URL": "an http(s) URL of a Bot API file server, "
    "like https://api.telegram.org/file/bot",
    "DATABASE_URL": "an async SQLAlchemy URL: sqlite+aiosqlite:///path/to/file.db "
    "or postgresql+asyncpg://user:password@host:5432/database",
    "DEFAULT_LOCALE": "one of the shipped locales",
    "STAFF_LOCALE": "one of the shipped locales, or empty for DEFAULT_LOCALE",
    "TIMEZONE": "an IANA time zone name like Asia/Shanghai",
    "LOG_LEVEL": "one of " + ", ".join(_LOG_LEVELS),
    "DATA_DIR": "a directory the bot may write to",
    "IDENTIFIER_HASH_KEY": "at least 32 characters of secret text",
    "HOLIDAY_CALENDAR": "a country code known to the `holidays` package (like CN), or none",
    "PUBLIC_HOLIDAYS": "comma-separated dates in the form YYYY-MM-DD",
    "PUBLIC_BASE_URL": "the http(s) address verifiers reach, like https://permits.example.com",
    "QR_TTL_SECONDS": "a number of seconds from 60 to 86400",
    "SIGNING_KEY_PATH": "a file path the bot may write its signing keys to",
    "WEB_HOST": "an address to listen on, like 127.0.0.1 or 0.0.0.0",
    "WEB_PORT": "a TCP port number from 0 to 65535",
    "WEBHOOK_URL": "the public https URL Telegram posts updates to, ending in /telegram/webhook",
    "WEBHOOK_SECRET": "1 to 256 characters from A-Z, a-z, 0-9, _ and -",
    "EVENTS_API_SECRET": "at least 16 characters of secret text shared with the records system",
    "WEBAPP_MAX_AGE_SECONDS": "a number of seconds from 60 to 86400",
    "RATE_GLOBAL_PER_SECOND": "a number of messages per second from 1 to 1000",
    "RATE_PER_CHAT_PER_SECOND": "a number of messages per second per chat from 0.05 to 100",
    "RATE_GROUP_PER_MINUTE": "a number of messages per minute per group from 1 to 6000",
    "PAID_BROADCAST": "true or false",
    "QUIET_HOURS": "a range like 21:00-08:00, or off",
    "REMINDER_SCAN_TIME": "a local time like 07:00",
    "EMPLOYER_INVITE_DAYS": "a number of days from 1 to 90",
    "DISPATCH_LEASE_SECONDS": "a number of seconds from 5 to 3600",
    "MAX_CONCURRENT_UPDATES": "a number of updates from 1 to 1024",
    "SUPPORT_CHAT_ID": "the numeric id of the staff supergroup, like -1001234567890",
    "SUPPORT_HOURS": "days and hours like Mon-Fri 09:00-18:00",
    "ADMIN_USER_IDS": "comma-separated numeric Telegram user ids",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Settings(BaseSettings):
    """Every setting of the bot; names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    BOT_TOKEN: str | None = None
    TELEGRAM_API_BASE_URL: str = "https://api.telegram.org/bot"
    TELEGRAM_FILE_BASE_URL: str = "https://api.telegram.org/file/bot"
    DATA_DIR: Path = DEFAULT_DATA_DIR
    DATABASE_URL: str | None = None
    DEFAULT_LOCALE: str = "en"
    STAFF_LOCALE: str | None = None
    TIMEZONE: str = "Asia/Shanghai"
    LOG_LEVEL: str = "INFO"
    IDENTIFIER_HASH_KEY: str | None = Field(default=None, repr=False)
    HOLIDAY_CALENDAR: str = "CN"
    PUBLIC_HOLIDAYS: str = ""
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8080"
    QR_TTL_SECONDS: int = Field(default=600, ge=60, le=86400)
    SIGNING_KEY_PATH: Path | None = None
    WEB_HOST: str = "127.0.0.1"
    WEB_PORT: int = Field(default=8080, ge=0, le=65535)
    WEBHOOK_URL: str | None = None
    WEBHOOK_SECRET: str | None = Field(default=None, repr=False)
    EVENTS_API_SECRET: str | None = Field(default=None, repr=False)
    WEBAPP_MAX_AGE_SECONDS: int = Field(default=3600, ge=60, le=86400)
    RATE_GLOBAL_PER_SECOND: float = Field(default=30.0, ge=1, le=1000)
    RATE_PER_CHAT_PER_SECOND: float = Field(default=1.0, ge=0.05, le=100)
    RATE_GROUP_PER_MINUTE: float = Field(default=20.0, ge=1, le=6000)
    PAID_BROADCAST: bool = False
    QUIET_HOURS: str = "21:00-08:00"
    REMINDER_SCAN_TIME: str = "07:00"
    EMPLOYER_INVITE_DAYS: int = Field(default=7, ge=1, le=90)
    DISPATCH_LEASE_SECONDS: int = Field(default=120, ge=5, le=3600)
    MAX_CONCURRENT_UPDATES: int = Field(default=64, ge=1, le=1024)
    SUPPORT_CHAT_ID: int | None = None
    SUPPORT_HOURS: str = "Mon-Fri 09:00-18:00"
    ADMIN_USER_IDS: str = ""

    @field_validator("BOT_TOKEN")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        bot_id, sep, secret = value.partition(":")
        if not (sep and bot_id.isdigit() and len(secret) >= 20):
            raise ValueError("malformed")
        return value

    @field_validator("TELEGRAM_API_BASE_URL", "TELEGRAM_FILE_BASE_URL", "PUBLIC_BASE_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("malformed")
        return value

    @field_validator("WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("malformed")
        return value

    @field_validator("WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not (1 <= len(value) <= 256) or not all(
            c.isascii() and (c.isalnum() or c in "_-") for c in value
        ):
            raise ValueError("malformed")
        return value

    @field_validator("EVENTS_API_SECRET")
    @classmethod
    def _events_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) < 16:
            raise ValueError("too short")
        return value

    @field_validator("QUIET_HOURS", "REMINDER_SCAN_TIME", "SUPPORT_HOURS")
    @classmethod
    def _times_of_day(cls, value: str, info: ValidationInfo) -> str:
        from bot.office_hours import parse_office_hours
        from bot.preferences import parse_clock, parse_quiet_hours

        parser = {
            "QUIET_HOURS": parse_quiet_hours,
            "REMINDER_SCAN_TIME": parse_clock,
            "SUPPORT_HOURS": parse_office_hours,
        }[str(info.field_name)]
        parser(value)
        text = value.strip()
        return "off" if text.lower() == "off" else text

    @field_validator("SUPPORT_CHAT_ID", mode="before")
    @classmethod
    def _support_chat(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not str(value).lstrip("-").isdigit() or int(str(value)) >= 0:
            raise ValueError("not a group id")
        return value

    @field_validator("ADMIN_USER_IDS")
    @classmethod
    def _admins(cls, value: str) -> str:
        for part in filter(None, (item.strip() for item in value.split(","))):
            if not part.isdigit():
                raise ValueError("not a user id")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("malformed")
        return value

    @field_validator("STAFF_LOCALE", mode="before")
    @classmethod
    def _staff_locale_unset(cls, value: object) -> object:
        return value or None  # empty: the same as DEFAULT_LOCALE

    @field_validator("DEFAULT_LOCALE", "STAFF_LOCALE")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is not None and value not in available_locales():
            raise ValueError("unknown locale")
        return value

    @field_validator("TIMEZONE")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("LOG_LEVEL")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in _LOG_LEVELS:
            raise ValueError("unknown level")
        return level

    @field_validator("IDENTIFIER_HASH_KEY")
    @classmethod
    def _hash_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) < 32:
            raise ValueError("too short")
        return value

    @field_validator("HOLIDAY_CALENDAR")
    @classmethod
    def _holiday_calendar(cls, value: str) -> str:
        if value.lower() == "none":
            return "none"
        import holidays

        if value.upper() not in holidays.list_supported_countries():
            raise ValueError("unknown country")
        return value.upper()

    @field_validator("PUBLIC_HOLIDAYS")
    @classmethod
    def _public_holidays(cls, value: str) -> str:
        for part in filter(None, (item.strip() for item in value.split(","))):
            date.fromisoformat(part)
        return value

    def holidays(self, first_year: int, last_year: int) -> frozenset[date]:
        """Public holidays: the official calendar plus the extra PUBLIC_HOLIDAYS dates."""
        from bot.deadlines import official_holidays

        extra = {
            date.fromisoformat(part)
            for part in (item.strip() for item in self.PUBLIC_HOLIDAYS.split(","))
            if part
        }
        return official_holidays(self.HOLIDAY_CALENDAR, first_year, last_year) | extra

    @property
    def signing_key_path(self) -> Path:
        """Where the verification-code signing keys live (created on first use)."""
        return self.SIGNING_KEY_PATH or self.DATA_DIR / "signing-keys.json"

    @property
    def database_url(self) -> str:
        """The configured database, else a SQLite file in the data directory."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite+aiosqlite:///{self.DATA_DIR / 'permit-assistant.db'}"

    @property
    def tz(self) -> ZoneInfo:
        """The operator's time zone (deadlines and office hours are in it)."""
        return ZoneInfo(self.TIMEZONE)

    def today(self) -> date:
        """Today's date in the operator's time zone (deadlines are counted in it)."""
        return datetime.now(self.tz).date()

    @property
    def quiet_hours(self) -> QuietHours | None:
        """The default quiet hours (None when QUIET_HOURS is off)."""
        from bot.preferences import parse_quiet_hours

        return parse_quiet_hours(self.QUIET_HOURS)

    @property
    def reminder_scan_time(self) -> time:
        """The local time of day the reminder scan runs."""
        from bot.preferences import parse_clock

        return parse_clock(self.REMINDER_SCAN_TIME)

    @property
    def admin_user_ids(self) -> frozenset[int]:
        """Telegram users allowed to use the staff commands anywhere."""
        return frozenset(
            int(part) for part in (item.strip() for item in self.ADMIN_USER_IDS.split(",")) if part
        )

    @property
    def staff_locale(self) -> str:
        """The language of everything the support staff read (STAFF_LOCALE, else
        DEFAULT_LOCALE); workers are always answered in their own."""
        return self.STAFF_LOCALE or self.DEFAULT_LOCALE

    @cached_property
    def support_hours(self) -> OfficeHours:
        """When staff answer support tickets (in TIMEZONE)."""
        from bot.office_hours import parse_office_hours

        return parse_office_hours(self.SUPPORT_HOURS)

    @property
    def log_level(self) -> int:
        """LOG_LEVEL as a `logging` level number."""
        return logging.getLevelNamesMapping()[self.LOG_LEVEL]

    @cached_property
    def identifier_hash_key(self) -> bytes:
        """Key of the keyed hashes of passport, social-security and phone numbers.

        Without IDENTIFIER_HASH_KEY a random key is created once in DATA_DIR and reused, so
        hashes stay comparable across restarts of a single-node install.
        """
        if self.IDENTIFIER_HASH_KEY:
            return self.IDENTIFIER_HASH_KEY.encode()
        key_file = self.DATA_DIR / "identifier-hash.key"
        if not key_file.exists():
            import secrets

            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32), encoding="ascii")
            key_file.chmod(0o600)
        return key_file.read_text(encoding="ascii").strip().encode()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning any validation failure into one `ConfigError` line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        got = error.get("input")
        secret = name in ("BOT_TOKEN", "IDENTIFIER_HASH_KEY", "WEBHOOK_SECRET", "EVENTS_API_SECRET")
        shown = "" if secret else f" (got {got!r})"
        if name in ("DEFAULT_LOCALE", "STAFF_LOCALE"):
            expected = "one of " + ", ".join(available_locales())
        else:
            expected = EXPECTED.get(name, "a valid value")
        raise ConfigError(f"{name} is invalid: expected {expected}{shown}") from None
