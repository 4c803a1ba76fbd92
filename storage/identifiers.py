"""Identifier rules: permit numbers, credit codes, name matching, keyed hashes and masks."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

PERMIT_NO_LENGTH = 18
_SEPARATORS = re.compile(r"[\s\-‐‑–—_./]+")

# Unified Social Credit Code (GB 32100-2015): alphabet and check-character weights.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def compact(value: str) -> str:
    """A number as typed, without spaces, dashes, dots or slashes, upper-cased."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


def is_permit_no(value: str) -> bool:
    """Whether `value` (already compacted) is an 18-digit work permit number."""
    return len(value) == PERMIT_NO_LENGTH and value.isascii() and value.isdigit()


def uscc_check_char(first17: str) -> str:
    """The 18th character of a Unified Social Credit Code from its first 17."""
    total = sum(
        USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    """Whether `value` is a well-formed Unified Social Credit Code with a correct check char."""
    if len(value) != 18 or any(char not in USCC_ALPHABET for char in value):
        return False
    return uscc_check_char(value[:17]) == value[17]


def name_key(name: str) -> str:
    """A name reduced for matching: case-, space- and accent-insensitive."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "".join(without_marks.casefold().split())


def phone_digits(value: str) -> str:
    """A phone number as its digits only (country code included, no `+`)."""
    return "".join(char for char in unicodedata.normalize("NFKC", value) if char.isdigit())


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalised identifier, separated by kind so hashes never collide."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def mask(value: str, *, keep_start: int = 4, keep_end: int = 2, group: int = 4) -> str:
    """Show the ends of an identifier and hide the middle, e.g. `1101 **** **** **89`."""
    if len(value) <= keep_start + keep_end:
        return "*" * max(len(value) - 2, 0) + value[-2:]
    shown = value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
    return " ".join(shown[i : i + group] for i in range(0, len(shown), group))


def mask_phone(digits: str) -> str:
    """A phone number with all but its last four digits hidden."""
    return "+" + "*" * max(len(digits) - 4, 0) + digits[-4:]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """How a personal identifier is stored: a keyed hash to match on, a mask to show."""

    hash: str
    masked: str


class IdentifierHasher:
    """Turns passport, social-security and phone numbers into fingerprints with one key.

    Import and linking must normalise the same way, so both go through this class.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def passport(self, raw: str) -> Fingerprint:
        """Fingerprint of a passport number (spaces, dashes and case ignored)."""
        value = compact(raw)
        return Fingerprint(keyed_hash(self._key, "passport", value), mask(value, keep_end=2))

    def social_security(self, raw: str) -> Fingerprint:
        """Fingerprint of a social-security number (spaces and dashes ignored)."""
        value = compact(raw)
        return Fingerprint(keyed_hash(self._key, "ss", value), mask(value))

    def phone(self, raw: str) -> Fingerprint:
        """Fingerprint of a phone number in international form (digits only)."""
        value = phone_digits(raw)
        return Fingerprint(keyed_hash(self._key, "phone", value), mask_phone(value))
