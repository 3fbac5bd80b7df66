"""The input format of the webhook targets, how they sign it, and what a correct verification is.

An input is a delivery written as text, so that seeds are readable and mutations stay meaningful:

    standard sign
    webhook-id: msg_1
    webhook-timestamp: 1767225600
    content-type: application/json

    {"event": "deploy"}

The first line names the webhook's scheme (`standard`, `github`, `hmac-sha256`; the ingest target
also knows `paused`, and treats any other word as a URL path where there is no webhook) and how
the fuzzer's delivery is signed: `sign` with the webhook's current secret, `old` with its previous
one (still in its grace period), `expired` with a previous one whose grace period is over, `wrong`
with a secret the webhook never had, `raw` not at all (the headers are used as written). Every
`{sig}` in a header value becomes the signature; without one, the scheme's signature header is set
to it. Then come `name: value` header lines, a blank line and the body, byte for byte. A fuzzer
cannot forge an HMAC, so without this the accepted paths would never be reached.

The oracle below computes signatures from the formulas the schemes document (`HOW_TO_SIGN`), not
with the code under test.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.fuzz.common import NOW_SECONDS

SCHEMES = ("standard", "github", "hmac-sha256")
MODES = ("sign", "old", "expired", "wrong", "raw")
SIGNATURE_HEADER = {
    "standard": "webhook-signature",
    "github": "x-hub-signature-256",
    "hmac-sha256": "x-signature",
}
# Fixed secrets, so a crash input replays the same way. The standard scheme's are in its form.
SECRETS = {
    "standard": {
        "current": "whsec_" + base64.b64encode(b"current-secret-of-the-fuzzed-hook").decode(),
        "old": "whsec_" + base64.b64encode(b"previous-secret-in-grace-period").decode(),
        "expired": "whsec_" + base64.b64encode(b"previous-secret-past-its-grace").decode(),
        "wrong": "whsec_" + base64.b64encode(b"a-secret-this-hook-never-had").decode(),
    },
    "other": {
        "current": "current-secret-of-the-fuzzed-hook",
        "old": "previous-secret-in-grace-period",
        "expired": "previous-secret-past-its-grace",
        "wrong": "a-secret-this-hook-never-had",
    },
}
TOLERANCE_SECONDS = 5 * 60


def secrets_for(scheme: str) -> dict[str, str]:
    """The scheme's secrets by the mode that signs with them (`sign` with the current one)."""
    found = SECRETS["standard" if scheme == "standard" else "other"]
    return {**found, "sign": found["current"]}


@dataclass(frozen=True)
class Delivery:
    scheme: str  # as written: a scheme, or another word
    mode: str
    headers: dict[str, str]  # lower-case names, as the ingest function passes them
    body: bytes


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_") + "==")
    return secret.encode()


def signature(scheme: str, secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """The signature header's value a sender holding `secret` sends for this delivery."""
    if scheme == "standard":
        signed = (
            headers.get("webhook-id", "").encode()
            + b"."
            + headers.get("webhook-timestamp", "").encode()
            + b"."
            + body
        )
        return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()
    return "sha256=" + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def parse(data: bytes) -> Delivery:
    """The delivery an input describes, signed as its first line says."""
    head, _, body = data.partition(b"\n\n")
    lines = head.decode("utf-8", errors="replace").split("\n")
    words = lines[0].split()
    scheme = words[0] if words else "standard"
    mode = words[1] if len(words) > 1 and words[1] in MODES else "raw"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.removeprefix(" ")
    if scheme in SCHEMES and mode != "raw":
        signed = signature(scheme, secrets_for(scheme)[mode], headers, body)
        header = SIGNATURE_HEADER[scheme]
        if any("{sig}" in v for v in headers.values()):
            headers = {k: v.replace("{sig}", signed) for k, v in headers.items()}
        else:
            headers[header] = signed
    return Delivery(scheme, mode, headers, body)


def _timestamp_ok(value: str | None) -> bool:
    return (
        value is not None
        and value.isascii()
        and value.isdigit()
        and len(value) <= 12
        and abs(int(value) - NOW_SECONDS) <= TOLERANCE_SECONDS
    )


def signed_by(delivery: Delivery, secrets: Sequence[str]) -> bool:
    """Whether the delivery carries a valid signature by one of `secrets` (soundness: no
    verification may accept a delivery for which this is false)."""
    headers, body = delivery.headers, delivery.body
    if delivery.scheme == "standard":
        given = headers.get("webhook-signature") or ""
        if not (headers.get("webhook-id") and _timestamp_ok(headers.get("webhook-timestamp"))):
            return False
        expected = {signature("standard", s, headers, body).removeprefix("v1,") for s in secrets}
        wanted = {base64.b64decode(e) for e in expected}
        for candidate in given.split(" "):
            version, _, encoded = candidate.partition(",")
            try:
                if version == "v1" and base64.b64decode(encoded, validate=True) in wanted:
                    return True
            except (binascii.Error, ValueError):
                continue
        return False
    header = SIGNATURE_HEADER[delivery.scheme]
    algorithm, _, digest = (headers.get(header) or "").partition("=")
    try:
        given_bytes = bytes.fromhex(digest)
    except ValueError:
        return False
    if algorithm != "sha256" or not digest:
        return False
    if delivery.scheme == "github" and not headers.get("x-github-delivery"):
        return False
    return any(hmac.new(_key(s), body, hashlib.sha256).digest() == given_bytes for s in secrets)


def well_signed(delivery: Delivery) -> bool:
    """Whether the delivery is one a correct sender makes with a current secret (completeness: a
    verification must accept it): the signature in its place, every header the scheme needs."""
    if delivery.scheme not in SCHEMES or delivery.mode not in ("sign", "old"):
        return False
    headers = delivery.headers
    signed = signature(delivery.scheme, secrets_for(delivery.scheme)[delivery.mode], headers, delivery.body)
    header = SIGNATURE_HEADER[delivery.scheme]
    if delivery.scheme == "standard":
        return bool(
            headers.get("webhook-id")
            and _timestamp_ok(headers.get("webhook-timestamp"))
            and signed in (headers.get(header) or "").split(" ")
        )
    if delivery.scheme == "github" and not headers.get("x-github-delivery"):
        return False
    return headers.get(header) == signed


def delivery_key(delivery: Delivery) -> str:
    """The key a verified delivery is deduplicated on, as the schemes document it."""
    if delivery.scheme == "standard":
        return delivery.headers["webhook-id"][:200]
    if delivery.scheme == "github":
        return delivery.headers["x-github-delivery"][:200]
    return "sha256:" + hashlib.sha256(delivery.body).hexdigest()
