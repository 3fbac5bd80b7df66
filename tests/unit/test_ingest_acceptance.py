"""Whether webhook ingest accepts a delivery: the decision alone, on values, without any I/O."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from proactive.clock import iso
from proactive.models.webhooks import HookRecord
from proactive.webhooks.acceptance import (
    Accepted,
    Answer,
    current_secrets,
    delivery_id_for,
    duplicate,
    judge,
    rate_limited,
    too_large,
)

NOW = datetime(2026, 3, 9, 12, 0, 30, tzinfo=UTC)
BODY = b'{"action": "opened"}'
JSON = {"content-type": "application/json"}


def webhook(**fields: Any) -> HookRecord:
    return HookRecord.model_validate(
        {
            "id": "webhook-1",
            "workspace_id": "ws-1",
            "trigger_id": "trg-1",
            "is_active": True,
            "signature_scheme": "hmac-sha256",
            "secret": SECRET,
            "previous_secret": None,
            "previous_secret_expires_at": None,
            "rate_limit_per_minute": 60,
            **fields,
        }
    )


SECRET = "s3cret"


def signed(body: bytes, key: str = SECRET, **headers: str) -> dict[str, str]:
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {**JSON, "x-signature": f"sha256={digest}", **headers}


def test_a_body_over_the_limit_is_refused_before_the_webhook_is_looked_up() -> None:
    refused = too_large(b"x" * 11, 10)
    assert refused is not None
    assert refused.response.status == 413
    assert refused.response.body == {
        "error": "payload_too_large",
        "message": "body is larger than 10 bytes",
        "field": None,
    }
    assert refused.log is None
    assert too_large(b"x" * 10, 10) is None


def test_no_webhook_is_404_and_a_paused_one_409_neither_logged() -> None:
    missing = judge(None, signed(BODY), BODY, NOW)
    assert isinstance(missing, Answer)
    assert (missing.response.status, missing.response.body["error"], missing.log) == (404, "not_found", None)
    paused = judge(webhook(is_active=False), signed(BODY), BODY, NOW)
    assert isinstance(paused, Answer)
    assert (paused.response.status, paused.response.body["error"], paused.log) == (409, "conflict", None)


def test_a_signature_by_another_secret_is_401_and_logged_unauthorized() -> None:
    verdict = judge(webhook(), signed(BODY, key="other"), BODY, NOW)
    assert isinstance(verdict, Answer)
    assert verdict.response.status == 401
    assert verdict.response.body["error"] == "unauthorized"
    assert verdict.response.body["message"].startswith("signature check failed: ")
    assert "sign each delivery" not in verdict.response.body["message"]
    assert verdict.log is not None
    assert (verdict.log.status, verdict.log.delivery_key) == ("unauthorized", None)


def test_a_missing_signature_says_how_to_sign() -> None:
    verdict = judge(webhook(), JSON, BODY, NOW)
    assert isinstance(verdict, Answer)
    assert verdict.response.status == 401
    assert (
        "sign each delivery with the webhook's secret, sending x-signature: sha256="
        in (verdict.response.body["message"])
    )


def test_a_signed_body_that_is_not_json_is_400_and_logged_with_its_delivery_key() -> None:
    body = b"{not json"
    verdict = judge(webhook(), signed(body), body, NOW)
    assert isinstance(verdict, Answer)
    assert verdict.response.status == 400
    assert verdict.response.body == {"error": "bad_request", "message": "body is not JSON", "field": None}
    assert verdict.log is not None
    assert verdict.log.status == "rejected"
    assert verdict.log.delivery_key == "sha256:" + hashlib.sha256(body).hexdigest()


def test_a_signed_delivery_is_accepted_keyed_on_its_delivery_key() -> None:
    hook = webhook()
    verdict = judge(hook, signed(BODY, **{"x-event-type": "pr"}), BODY, NOW)
    assert isinstance(verdict, Accepted)
    key = "sha256:" + hashlib.sha256(BODY).hexdigest()
    assert verdict.webhook is hook
    assert verdict.id == delivery_id_for("webhook-1", key)
    assert verdict.delivery == {
        "id": delivery_id_for("webhook-1", key),
        "webhook_id": "webhook-1",
        "workspace_id": "ws-1",
        "trigger_id": "trg-1",
        "received_at": iso(NOW),
        "status": "accepted",
        "reason": None,
        "run_id": None,
        "delivery_key": key,
        "event": "pr",
        "payload": {"action": "opened"},
    }


def test_the_previous_secret_signs_only_during_its_grace_period() -> None:
    rotating = webhook(
        secret="new", previous_secret=SECRET, previous_secret_expires_at=iso(NOW + timedelta(seconds=1))
    )
    assert current_secrets(rotating, NOW) == ["new", SECRET]
    assert isinstance(judge(rotating, signed(BODY), BODY, NOW), Accepted)
    later = NOW + timedelta(seconds=1)
    assert current_secrets(rotating, later) == ["new"]
    assert isinstance(judge(rotating, signed(BODY), BODY, later), Answer)


def test_over_the_rate_limit_is_429_retried_when_the_minute_is_over() -> None:
    verdict = judge(webhook(), signed(BODY), BODY, NOW)
    assert isinstance(verdict, Accepted)
    refused = rate_limited(verdict.webhook, verdict.delivery, NOW)
    assert refused.response.status == 429
    assert refused.response.headers == {"Retry-After": "30"}
    assert refused.response.body["error"] == "rate_limited"
    assert refused.log is not None
    assert refused.log.status == "rate_limited"
    assert refused.log.reason == "more than 60 deliveries this minute"


def test_a_duplicate_is_200_naming_the_delivery_already_received() -> None:
    verdict = judge(webhook(), signed(BODY), BODY, NOW)
    assert isinstance(verdict, Accepted)
    answer = duplicate(verdict.delivery)
    assert answer.response.status == 200
    assert answer.response.body == {"delivery_id": verdict.id, "duplicate": True}
    assert answer.log is not None
    assert answer.log.status == "duplicate"
    assert verdict.id in answer.log.reason
