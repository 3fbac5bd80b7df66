"""One-click approve and reject links: signed tokens that need no login.

A token is `<payload>.<signature>`, both base64url without padding. The payload is compact JSON
with the approval id, the decision, the expiry (whole epoch seconds) and a random nonce; the
signature is the HMAC-SHA256 of the payload text, prefixed with a label for this use so that a
secret shared with another use signs nothing here. Reading a token checks its shape, then its
signature in constant time, and only then reads what it says, so nothing unsigned is
interpreted; the expiry comes last.

The token itself may be presented more than once: the approval's record takes one decision (a
conditional write keyed on the approval id). The nonce makes each link distinct, so the record
can name the link that decided it, or refuse links it did not issue.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Literal

Decision = Literal["approve", "reject"]
DECISIONS: tuple[Decision, ...] = ("approve", "reject")
LinkFault = Literal["malformed", "bad_signature", "expired"]

_LABEL = b"proactive approval link v1\x00"
_VERSION = 1
_KEYS = {"v", "id", "d", "exp", "n"}
_MIN_SECRET_BYTES = 16
_MAX_ID_LENGTH = 200
# Far above a real token (about 150 characters): caps the work done on a forged one.
_MAX_TOKEN_LENGTH = 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class LinkError(Exception):
    """The link cannot be used. `reason` is malformed, bad_signature or expired; the message says more."""

    def __init__(self, message: str, *, reason: LinkFault) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    """What a valid link says."""

    approval_id: str
    decision: Decision
    expires_at: int
    nonce: str


def make_token(secret: bytes, *, approval_id: str, decision: Decision, expires_at: float) -> str:
    """A URL-safe token deciding `approval_id` this way, valid until `expires_at` (epoch seconds,
    rounded down to the second)."""
    _check_secret(secret)
    if not isinstance(approval_id, str) or not 0 < len(approval_id) <= _MAX_ID_LENGTH:
        raise ValueError(f"approval_id must be text of 1 to {_MAX_ID_LENGTH} characters")
    if decision not in DECISIONS:
        raise ValueError("decision must be 'approve' or 'reject'")
    if not math.isfinite(expires_at):
        raise ValueError("expires_at must be a finite number of epoch seconds")
    claims = {
        "v": _VERSION,
        "id": approval_id,
        "d": decision,
        "exp": math.floor(expires_at),
        "n": secrets.token_urlsafe(12),
    }
    payload = _encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_encode(_sign(secret, payload))}"


def read_token(secret: bytes, token: str, now: float) -> LinkClaims:
    """What the token says, if this secret signed it and it has not expired; else LinkError."""
    _check_secret(secret)
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise LinkError("this is not an approval link token", reason="malformed")
    payload, signature = token.split(".")
    if not _BASE64URL.fullmatch(payload):
        raise LinkError("the link holds characters a token never has", reason="malformed")
    given = _decode(signature)
    if len(given) != hashlib.sha256().digest_size:
        raise LinkError("the link's signature has the wrong length", reason="malformed")
    if not hmac.compare_digest(_sign(secret, payload), given):
        raise LinkError(
            "the link's signature does not match: it was altered or not issued here", reason="bad_signature"
        )
    try:
        claims = json.loads(_decode(payload))
    except ValueError:
        claims = None
    if not _well_formed(claims):
        raise LinkError("the link's contents are not readable by this version", reason="malformed")
    if now >= claims["exp"]:
        raise LinkError("the link has expired; ask for a new one", reason="expired")
    return LinkClaims(claims["id"], claims["d"], claims["exp"], claims["n"])


def _well_formed(claims: object) -> bool:
    return (
        isinstance(claims, dict)
        and set(claims) == _KEYS
        and claims["v"] == _VERSION
        and isinstance(claims["id"], str)
        and 0 < len(claims["id"]) <= _MAX_ID_LENGTH
        and claims["d"] in DECISIONS
        and type(claims["exp"]) is int
        and isinstance(claims["n"], str)
    )


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the signing secret must be at least {_MIN_SECRET_BYTES} bytes")


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, _LABEL + payload.encode("ascii"), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    """Base64url without padding, in its one canonical spelling (no two tokens say the same)."""
    if not _BASE64URL.fullmatch(text):
        raise LinkError("the link holds characters a token never has", reason="malformed")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LinkError("the link is not valid base64url", reason="malformed") from None
    if _encode(data) != text:
        raise LinkError("the link is not in canonical base64url", reason="malformed")
    return data
