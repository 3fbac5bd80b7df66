"""Webhook signature schemes, verified in constant time against one or more secrets.

- `standard`: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature with
  space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), 5-minute tolerance.
- `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`; the delivery id is
  `X-GitHub-Delivery`.
- `hmac-sha256`: `X-Signature: sha256=<hex HMAC-SHA256 of the body>`; the delivery id is a
  hash of the body.

Signing is the `standard` scheme's other half: what the platform sends (to an http agent, a
webhook channel, an http action) carries `signed_headers`. A secret that is regenerated stays valid
for a grace period (`rotated`), during which both are current (`current_secrets`).

Only the standard library (and the clock's helpers) is used: verification sits on the ingest
function's cold path, and several secrets are tried while a rotated one is in its grace period.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from proactive.clock import iso, parse_iso

Scheme = Literal["standard", "github", "hmac-sha256"]
SCHEMES: tuple[Scheme, ...] = ("standard", "github", "hmac-sha256")
TOLERANCE = timedelta(minutes=5)
_STANDARD_PREFIX = "whsec_"
# What a sender must put in each delivery's headers, by scheme (shown when a webhook is made, and
# when a delivery comes without them).
HOW_TO_SIGN: dict[str, dict[str, str]] = {
    "standard": {
        "webhook-id": "a unique id per delivery (a retry sends the same one)",
        "webhook-timestamp": "the time of sending, in Unix seconds",
        "webhook-signature": "v1,<base64 of HMAC-SHA256 of '<webhook-id>.<webhook-timestamp>.<body>', "
        "keyed with the base64-decoded part of the secret after 'whsec_'>",
    },
    "github": {
        "x-hub-signature-256": "sha256=<hex HMAC-SHA256 of the body, keyed with the secret>",
        "x-github-delivery": "a unique id per delivery",
        "x-github-event": "the event name",
    },
    "hmac-sha256": {"x-signature": "sha256=<hex HMAC-SHA256 of the body, keyed with the secret>"},
}


class SignatureError(Exception):
    """The request is not signed, or not by a current secret. The message says which."""


@dataclass(frozen=True)
class Verified:
    delivery_key: str  # the sender's delivery id, or a hash of the body where the scheme has none
    event: str | None  # the sender's event name, where the scheme carries one


def new_secret(scheme: Scheme) -> str:
    """A fresh secret in the form the scheme's senders expect."""
    if scheme == "standard":
        return _STANDARD_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def _key(secret: str) -> bytes:
    if secret.startswith(_STANDARD_PREFIX):
        return base64.b64decode(secret[len(_STANDARD_PREFIX) :] + "==")
    return secret.encode()


def _hmac(secret: str, data: bytes) -> bytes:
    return hmac.new(_key(secret), data, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature of a message: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
    keyed with the secret's decoded bytes."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(_hmac(secret, signed)).decode()


def body_signature(secret: str, body: bytes) -> str:
    """The `github` and `hmac-sha256` schemes' signature of a body: `sha256=<hex HMAC-SHA256>`,
    keyed with the secret (as `verify` checks it)."""
    return "sha256=" + _hmac(secret, body).hex()


def signed_headers(
    secret: str, msg_id: str, timestamp: int, body: bytes, *, previous: Sequence[str] = ()
) -> dict[str, str]:
    """The Standard Webhooks headers of a message: its id, its time and its signature, followed
    by one with each of `previous` (space-separated, as the scheme allows), so that a receiver
    still holding a secret in its grace period keeps accepting it."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in (secret, *previous)),
    }


def rotated(current: str | None, new: str, grace_seconds: int, now: datetime) -> dict[str, Any]:
    """The stored fields of a secret's rotation at `now`: `new` becomes the secret, and `current`
    stays valid as the previous one for `grace_seconds` (none is kept when that is 0)."""
    return {
        "secret": new,
        "previous_secret": current if grace_seconds else None,
        "previous_secret_expires_at": iso(now + timedelta(seconds=grace_seconds)) if grace_seconds else None,
    }


def current_secrets(item: Mapping[str, Any], now: datetime) -> list[str]:
    """The secrets valid at `now` of what holds the fields `rotated` writes: its secret, then its
    previous one while that is in its grace period."""
    found = [item["secret"]] if item.get("secret") else []
    expires = item.get("previous_secret_expires_at")
    if item.get("previous_secret") and expires and parse_iso(expires) > now:
        found.append(item["previous_secret"])
    return found


def body_key(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def verify(
    scheme: Scheme, secrets_: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime
) -> Verified:
    """Check the request against every current secret; raise SignatureError if none signed it.
    `headers` must have lower-case names."""
    if scheme == "standard":
        return _verify_standard(secrets_, headers, body, now)
    header = "x-hub-signature-256" if scheme == "github" else "x-signature"
    given = _hex_digest(headers.get(header), header)
    if not any(hmac.compare_digest(_hmac(s, body), given) for s in secrets_):
        raise SignatureError(f"{header} does not match the body signed with this webhook's secret")
    if scheme == "github":
        delivery = headers.get("x-github-delivery")
        if not delivery:
            raise SignatureError("x-github-delivery header is missing")
        return Verified(delivery_key=delivery[:200], event=headers.get("x-github-event"))
    return Verified(delivery_key=body_key(body), event=headers.get("x-event-type"))


def _hex_digest(value: str | None, header: str) -> bytes:
    if not value:
        raise SignatureError(f"{header} header is missing")
    algorithm, _, digest = value.partition("=")
    if algorithm != "sha256" or not digest:
        raise SignatureError(f"{header} must look like 'sha256=<hex digest>'")
    try:
        return bytes.fromhex(digest)
    except ValueError:
        raise SignatureError(f"{header} digest is not hexadecimal") from None


def _verify_standard(
    secrets_: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime
) -> Verified:
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    missing = [
        n
        for n, v in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signatures),
        )
        if not v
    ]
    if missing or msg_id is None or timestamp is None or signatures is None:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureError("webhook-timestamp is not a Unix timestamp in seconds")
    sent = int(timestamp)
    age = now.timestamp() - sent
    if age > TOLERANCE.total_seconds():
        raise SignatureError("webhook-timestamp is more than 5 minutes old (replayed or delayed delivery)")
    if -age > TOLERANCE.total_seconds():
        raise SignatureError("webhook-timestamp is more than 5 minutes in the future")
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = [_hmac(s, signed) for s in secrets_]
    for candidate in signatures.split(" "):
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(e, given) for e in expected):
            return Verified(delivery_key=msg_id[:200], event=headers.get("webhook-event"))
    raise SignatureError("no v1 signature in webhook-signature matches this webhook's secret")


def verify_callback(agent: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """Check a callback the agent POSTed to the platform: signed with the agent's current secret, or
    its previous one while that is in its grace period, at most 5 minutes from `now`. Returns the
    `webhook-id` (for replay protection); raises SignatureError otherwise."""
    secrets = current_secrets(agent, now)
    if not secrets:
        raise SignatureError("this agent has no signing secret")
    lowered = {name.lower(): value for name, value in headers.items()}
    return verify("standard", secrets, lowered, body, now).delivery_key
