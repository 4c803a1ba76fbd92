"""Verification codes: short-lived JWS (EdDSA over Ed25519) tokens and the keys that sign them.

A token is a standard compact JWS (RFC 7515) with `alg: EdDSA` (RFC 8037) and a `kid`, so
any JOSE library can check it against our published public keys. Its claims: `sub` (an
opaque permit reference, never the permit number), `iat`, `exp`, `pur` (purpose), `ver`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TOKEN_VERSION = 1
MAX_CLOCK_SKEW = 300  # seconds a token's iat may lie ahead of our clock


class Purpose(enum.StrEnum):
    """What the holder shows the code for; the verifier sees it."""

    GENERAL = "general"
    EMPLOYMENT = "employment"
    RESIDENCE = "residence"
    SOCIAL_INSURANCE = "social_insurance"


class TokenProblem(enum.StrEnum):
    """Why a token does not verify."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"


class TokenRejected(Exception):
    """A token that does not verify, and why."""

    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified content of a token."""

    subject: str
    purpose: Purpose
    issued_at: datetime
    expires_at: datetime
    key_id: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256) of a public key: a stable, derivable key id."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(public_key))},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """A public key as a JWK (RFC 8037 `OKP`/`Ed25519`) with its `kid`."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw_public(public_key)),
        "kid": key_id(public_key),
        "alg": "EdDSA",
        "use": "sig",
    }


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One Ed25519 key pair with its id and creation time."""

    private_key: Ed25519PrivateKey
    created_at: datetime

    @property
    def kid(self) -> str:
        """The key id carried in token headers."""
        return key_id(self.private_key.public_key())


class KeyRing:
    """The signing keys in a file (mode 0600): the newest signs, all of them verify.

    Created on first use; `rotate` adds a key, so tokens signed by an older key keep
    verifying until they expire.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: list[SigningKey] | None = None

    def _load(self) -> list[SigningKey]:
        if self._keys is None:
            if not self.path.exists():
                first = SigningKey(Ed25519PrivateKey.generate(), datetime.now(UTC))
                try:
                    self._save([first], create=True)
                    self._keys = [first]
                    return self._keys
                except FileExistsError:
                    pass  # another process (a replica) created the ring first: use theirs
            stored = json.loads(self.path.read_text(encoding="ascii"))
            self._keys = [
                SigningKey(
                    _load_private(entry["private_pem"]),
                    datetime.fromisoformat(entry["created_at"]),
                )
                for entry in stored["keys"]
            ]
        return self._keys

    def rotate(self) -> SigningKey:
        """Add a new signing key (it signs from now on) and save the ring."""
        keys = self._keys if self._keys is not None else self._load()
        key = SigningKey(Ed25519PrivateKey.generate(), datetime.now(UTC))
        keys.append(key)
        self._save(keys)
        return key

    def _save(self, keys: list[SigningKey], *, create: bool = False) -> None:
        """Write the ring atomically; with `create`, only if no ring exists yet
        (FileExistsError otherwise), so processes starting together agree on one ring."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entries = [
            {
                "kid": key.kid,
                "created_at": key.created_at.isoformat(),
                "private_pem": key.private_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode("ascii"),
            }
            for key in keys
        ]
        # A temporary file of this process's own, created 0600 (mkstemp): the private keys
        # are never readable by others, and two processes never write the same file.
        descriptor, name = tempfile.mkstemp(
            prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent
        )
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                json.dump({"keys": entries}, handle, indent=1)
            if create:
                os.link(temporary, self.path)  # fails if the ring appeared meanwhile
            else:
                temporary.replace(self.path)
        finally:
            temporary.unlink(missing_ok=True)

    @property
    def active(self) -> SigningKey:
        """The key that signs new tokens (the newest)."""
        return self._load()[-1]

    @property
    def keys(self) -> list[SigningKey]:
        """Every key, oldest first."""
        return list(self._load())

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key with this id, if it is in the ring."""
        for key in self._load():
            if key.kid == kid:
                return key.private_key.public_key()
        return None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JWK Set."""
        return {"keys": [public_jwk(key.private_key.public_key()) for key in self._load()]}


def _load_private(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key


def sign(ring: KeyRing, subject: str, purpose: Purpose, issued_at: datetime, ttl: int) -> str:
    """A compact JWS for `subject`, valid `ttl` seconds from `issued_at`."""
    key = ring.active
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + timedelta(seconds=ttl)).timestamp()),
        "pur": purpose.value,
        "ver": TOKEN_VERSION,
    }
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})


def verify(token: str, public_key_for: Any, now: datetime | None = None, leeway: int = 0) -> Claims:
    """Check a token's signature and expiry with the key its `kid` names.

    `public_key_for(kid)` returns an `Ed25519PublicKey` or None (a `KeyRing.public_key`, or a
    lookup in a downloaded JWK Set).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected(TokenProblem.MALFORMED) from None
    kid = header.get("kid")
    if header.get("alg") != "EdDSA" or not isinstance(kid, str):
        raise TokenRejected(TokenProblem.MALFORMED)
    public_key = public_key_for(kid)
    if public_key is None:
        raise TokenRejected(TokenProblem.UNKNOWN_KEY)
    moment = now or datetime.now(UTC)
    try:
        payload = jwt.decode(
            token,
            public_key,
            algorithms=["EdDSA"],
            # Time claims are checked below against `moment`, one clock for page and tests.
            options={
                "require": ["sub", "iat", "exp"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected(TokenProblem.BAD_SIGNATURE) from None
    except jwt.PyJWTError:
        raise TokenRejected(TokenProblem.MALFORMED) from None
    try:
        expires_at = datetime.fromtimestamp(int(payload["exp"]), UTC)
        issued_at = datetime.fromtimestamp(int(payload["iat"]), UTC)
        purpose = Purpose(payload.get("pur", Purpose.GENERAL.value))
        subject = str(payload["sub"])
    except (TypeError, ValueError):
        raise TokenRejected(TokenProblem.MALFORMED) from None
    if issued_at.timestamp() > moment.timestamp() + MAX_CLOCK_SKEW + leeway:
        raise TokenRejected(TokenProblem.MALFORMED)
    if moment.timestamp() > expires_at.timestamp() + leeway:
        raise TokenRejected(TokenProblem.EXPIRED)
    return Claims(subject, purpose, issued_at, expires_at, kid)


def load_jwks(source: str) -> dict[str, Any]:
    """A JWK Set from a file path or an http(s) URL (such as /.well-known/permit-keys.json)."""
    if source.startswith(("http://", "https://")):
        import urllib.request

        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 - http(s) only
            data = json.loads(response.read().decode("utf-8"))
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWK Set (expected an object with a 'keys' list)")
    return data


def keys_from_jwks(jwks: dict[str, Any]) -> Any:
    """A `kid -> Ed25519PublicKey` lookup over a JWK Set, for `verify`."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks["keys"]:
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
            raw = base64.urlsafe_b64decode(str(jwk["x"]) + "=" * (-len(str(jwk["x"])) % 4))
            keys[str(jwk["kid"])] = Ed25519PublicKey.from_public_bytes(raw)
    return keys.get
