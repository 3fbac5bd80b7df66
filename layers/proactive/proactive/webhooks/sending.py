"""A delivery signed as a sender signs it, and a test delivery made with the webhook's own secret.

`signed_delivery` gives the headers a sender puts on a delivery in each scheme (`standard`:
Standard Webhooks; `github`; `hmac-sha256`), from `proactive.lib.signatures`, so a delivery made
here is verified exactly as any sender's is. `send_test` makes one such delivery server-side (the
secret never leaves the platform), hands it to ingest as the public URL would, and evaluates it
against its trigger at once, so its answer names the delivery and the run it started (which the
delivery's queue message then executes, as for any delivery).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proactive.lib.signatures import Scheme, body_signature, signed_headers
from proactive.models.runs import RunRecord
from proactive.models.webhooks import DeliveryRecord, WebhookRecord
from proactive.queue import RunQueue
from proactive.settings import Settings
from proactive.store import Store
from proactive.webhooks import deliveries
from proactive.webhooks.ingest import ingest

# The delivery id of a test delivery starts with this, so the delivery log shows it for one.
TEST_PREFIX = "test-"


def signed_delivery(
    scheme: Scheme, secret: str, body: bytes, *, delivery_id: str, event: str | None, now: datetime
) -> dict[str, str]:
    """The headers (lower-case names) a sender sends with `body` to a webhook of `scheme` whose
    secret is `secret`: its signature, its delivery id where the scheme carries one, and `event`."""
    headers = {"content-type": "application/json"}
    if scheme == "standard":
        headers.update(signed_headers(secret, delivery_id, int(now.timestamp()), body))
        named = "webhook-event"
    else:
        signature = body_signature(secret, body)
        if scheme == "github":
            headers.update({"x-hub-signature-256": signature, "x-github-delivery": delivery_id})
            named = "x-github-event"
        else:
            headers["x-signature"] = signature
            named = "x-event-type"
    if event:
        headers[named] = event
    return headers


def test_payload(webhook: WebhookRecord, delivery_id: str, now: datetime) -> dict[str, Any]:
    """What a test delivery carries when no payload is given: it says it is a test, and of what."""
    return {
        "test": True,
        "message": f"A test delivery to webhook {webhook.name}, sent by Proactive.",
        "webhook_id": webhook.id,
        "delivery_id": delivery_id,
        "sent_at": now.isoformat(),
    }


@dataclass(frozen=True)
class TestOutcome:
    """What the webhook's URL answered, the delivery as its log holds it, and the run it started."""

    status_code: int
    answer: dict[str, Any]
    delivery: DeliveryRecord | None
    run: RunRecord | None


def send_test(
    store: Store,
    queue: RunQueue,
    webhook: WebhookRecord,
    payload: dict[str, Any] | None,
    event: str | None,
    now: datetime,
    settings: Settings,
) -> TestOutcome:
    """Sign a delivery with the webhook's current secret, deliver it to the webhook's URL (ingest:
    a paused webhook, its rate limit and duplicates are answered as for any sender), and, once
    accepted, evaluate it against its trigger so that its run, if any, is made now."""
    delivery_key = f"{TEST_PREFIX}{uuid.uuid4()}"
    body = json.dumps(payload if payload is not None else test_payload(webhook, delivery_key, now)).encode()
    headers = signed_delivery(
        webhook.signature_scheme, webhook.secret, body, delivery_id=delivery_key, event=event, now=now
    )
    answered = ingest(store, queue, webhook.url_path, headers, body, now, settings)
    delivery_id = answered.body.get("delivery_id") if answered.status == 202 else None
    delivery = store.deliveries.get(str(delivery_id)) if delivery_id else None
    if delivery is not None and delivery.status == "accepted" and not delivery.run_id:
        deliveries.start(store, delivery, now)
        delivery = store.deliveries.get(delivery.id)
    run = store.runs.get(delivery.run_id) if delivery is not None and delivery.run_id else None
    return TestOutcome(answered.status, answered.body, delivery, run)
