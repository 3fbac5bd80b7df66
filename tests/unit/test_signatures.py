"""Signature schemes, checked against signers from outside the project."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook as ReferenceWebhook

from proactive.lib.signatures import SignatureError, body_key, new_secret, verify

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BODY = b'{"event":"deployment","version":"v1.2.3"}'


def reference_headers(
    secret: str, body: bytes, msg_id: str = "msg_2Lh9", at: datetime = NOW
) -> dict[str, str]:
    """Headers signed by the Standard Webhooks reference library."""
    signature = ReferenceWebhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def test_standard_webhooks_reference_signature_verifies() -> None:
    secret = new_secret("standard")
    verified = verify("standard", [secret], reference_headers(secret, BODY), BODY, NOW)
    assert verified.delivery_key == "msg_2Lh9"


def test_standard_accepts_any_of_several_signatures_and_secrets() -> None:
    old, new = new_secret("standard"), new_secret("standard")
    headers = reference_headers(new, BODY)
    headers["webhook-signature"] = "v1,Zm9vYmFy v2,abc " + headers["webhook-signature"]
    assert verify("standard", [old, new], headers, BODY, NOW).delivery_key == "msg_2Lh9"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-signature": "v1,AAAA"}, "no v1 signature"),
        ({"webhook-signature": "not-a-signature"}, "no v1 signature"),
        ({"webhook-id": ""}, r"missing header\(s\): webhook-id"),
        ({"webhook-timestamp": "yesterday"}, "not a Unix timestamp"),
    ],
)
def test_standard_refuses_bad_headers(change: dict[str, str], message: str) -> None:
    secret = new_secret("standard")
    headers = {**reference_headers(secret, BODY), **change}
    with pytest.raises(SignatureError, match=message):
        verify("standard", [secret], headers, BODY, NOW)


def test_standard_refuses_a_changed_body_and_another_secret() -> None:
    secret = new_secret("standard")
    headers = reference_headers(secret, BODY)
    with pytest.raises(SignatureError):
        verify("standard", [secret], headers, BODY + b" ", NOW)
    with pytest.raises(SignatureError):
        verify("standard", [new_secret("standard")], headers, BODY, NOW)


@pytest.mark.parametrize(("offset", "message"), [(-301, "more than 5 minutes old"), (301, "in the future")])
def test_standard_refuses_stale_and_future_timestamps(offset: int, message: str) -> None:
    secret = new_secret("standard")
    headers = reference_headers(secret, BODY, at=NOW + timedelta(seconds=offset))
    with pytest.raises(SignatureError, match=message):
        verify("standard", [secret], headers, BODY, NOW)
    # Inside the tolerance it passes.
    ok = reference_headers(secret, BODY, at=NOW + timedelta(seconds=offset - (1 if offset > 0 else -1) * 2))
    verify("standard", [secret], ok, BODY, NOW)


def test_github_published_example() -> None:
    # From GitHub's "Validating webhook deliveries" documentation.
    secret = "It's a Secret to Everybody"
    body = b"Hello, World!"
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {
        "x-hub-signature-256": f"sha256={expected}",
        "x-github-delivery": "d-1",
        "x-github-event": "ping",
    }
    verified = verify("github", [secret], headers, body, NOW)
    assert (verified.delivery_key, verified.event) == ("d-1", "ping")
    with pytest.raises(SignatureError, match="does not match"):
        verify("github", ["another secret"], headers, body, NOW)
    with pytest.raises(SignatureError, match="x-github-delivery header is missing"):
        verify("github", [secret], {"x-hub-signature-256": f"sha256={expected}"}, body, NOW)


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "header is missing"), ("md5=abcd", "must look like"), ("sha256=zz", "not hexadecimal")],
)
def test_hmac_header_format_errors(value: str | None, message: str) -> None:
    headers = {"x-signature": value} if value is not None else {}
    with pytest.raises(SignatureError, match=message):
        verify("hmac-sha256", ["s3cret"], headers, BODY, NOW)


def test_hmac_scheme_uses_a_body_hash_as_delivery_id() -> None:
    digest = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    verified = verify("hmac-sha256", ["s3cret"], {"x-signature": f"sha256={digest}"}, BODY, NOW)
    assert verified.delivery_key == body_key(BODY) == "sha256:" + hashlib.sha256(BODY).hexdigest()


def test_new_secrets_are_unique_and_in_each_schemes_form() -> None:
    assert new_secret("standard").startswith("whsec_")
    assert len({new_secret("github") for _ in range(50)}) == 50
