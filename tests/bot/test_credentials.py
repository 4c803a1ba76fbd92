"""Verification tokens: standard EdDSA JWS, checked by key id, expiry and signature."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from bot.credentials import (
    KeyRing,
    Purpose,
    TokenProblem,
    TokenRejected,
    key_id,
    sign,
    verify,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys" / "signing-keys.json")


def test_token_is_a_standard_jws_any_jwt_library_verifies(ring: KeyRing) -> None:
    token = sign(ring, "ref-123", Purpose.RESIDENCE, NOW, 600)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == ring.active.kid
    # A third party needs only the published JWK Set and a stock library.
    [jwk] = ring.jwks()["keys"]
    public = jwt.PyJWK.from_dict(jwk).key
    claims = jwt.decode(  # NOW is a fixed moment, so time claims are not checked here
        token, public, algorithms=["EdDSA"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {
        "sub": "ref-123",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 600,
        "pur": "residence",
        "ver": 1,
    }


def test_key_id_is_the_rfc7638_thumbprint(ring: KeyRing) -> None:
    [jwk] = ring.jwks()["keys"]
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert jwk["kid"] == key_id(ring.active.private_key.public_key())
    assert len(jwk["kid"]) == 43
    assert "d" not in jwk  # never the private part


def test_valid_token_verifies_until_it_expires(ring: KeyRing) -> None:
    token = sign(ring, "ref-1", Purpose.GENERAL, NOW, 600)
    claims = verify(token, ring.public_key, now=NOW + timedelta(seconds=599))
    assert (claims.subject, claims.purpose) == ("ref-1", Purpose.GENERAL)
    assert claims.expires_at == NOW + timedelta(seconds=600)
    with pytest.raises(TokenRejected) as rejected:
        verify(token, ring.public_key, now=NOW + timedelta(seconds=601))
    assert rejected.value.problem is TokenProblem.EXPIRED


def test_altered_token_is_rejected_as_bad_signature(ring: KeyRing) -> None:
    token = sign(ring, "ref-1", Purpose.GENERAL, NOW, 600)
    header, _payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        json.dumps({"sub": "ref-2", "iat": 0, "exp": 2**40, "pur": "general"}).encode()
    ).decode()
    with pytest.raises(TokenRejected) as rejected:
        verify(f"{header}.{forged_payload}.{signature}", ring.public_key, now=NOW)
    assert rejected.value.problem is TokenProblem.BAD_SIGNATURE


def test_token_from_a_foreign_key_is_unknown(ring: KeyRing, tmp_path: Path) -> None:
    other = KeyRing(tmp_path / "other.json")
    token = sign(other, "ref-1", Purpose.GENERAL, NOW, 600)
    with pytest.raises(TokenRejected) as rejected:
        verify(token, ring.public_key, now=NOW)
    assert rejected.value.problem is TokenProblem.UNKNOWN_KEY


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 500, "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_tokens_are_rejected(ring: KeyRing, garbage: str) -> None:
    with pytest.raises(TokenRejected) as rejected:
        verify(garbage, ring.public_key, now=NOW)
    assert rejected.value.problem is TokenProblem.MALFORMED


def test_keys_are_created_once_with_owner_only_permissions(ring: KeyRing) -> None:
    first = ring.active.kid
    mode = stat.S_IMODE(ring.path.stat().st_mode)
    assert mode == 0o600
    assert KeyRing(ring.path).active.kid == first


def test_rotation_keeps_old_tokens_verifying(ring: KeyRing) -> None:
    old = sign(ring, "ref-1", Purpose.GENERAL, NOW, 600)
    new_key = ring.rotate()
    new = sign(ring, "ref-1", Purpose.GENERAL, NOW, 600)
    assert jwt.get_unverified_header(new)["kid"] == new_key.kid
    reloaded = KeyRing(ring.path)
    assert len(reloaded.jwks()["keys"]) == 2
    assert verify(old, reloaded.public_key, now=NOW).subject == "ref-1"
    assert verify(new, reloaded.public_key, now=NOW).key_id == new_key.kid


def test_token_issued_in_the_future_is_rejected(ring: KeyRing) -> None:
    token = sign(ring, "ref-1", Purpose.GENERAL, NOW + timedelta(hours=1), 600)
    with pytest.raises(TokenRejected) as rejected:
        verify(token, ring.public_key, now=NOW)
    assert rejected.value.problem is TokenProblem.MALFORMED


def test_processes_starting_together_share_one_new_ring(tmp_path: Path) -> None:
    # Replicas sharing SIGNING_KEY_PATH start at the same moment: one ring, one key.
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "shared" / "keys.json"
    path.parent.mkdir()
    with ThreadPoolExecutor(8) as pool:
        kids = set(pool.map(lambda _n: KeyRing(path).active.kid, range(16)))
    assert len(kids) == 1
    assert kids == {KeyRing(path).active.kid}
    assert [entry.name for entry in path.parent.iterdir()] == ["keys.json"]  # no leftovers
    assert path.stat().st_mode & 0o777 == 0o600
