"""Public webhook ingest: `POST /api/hooks/{url_path}`, in its own small function.

It imports no web framework and no validation library: it verifies the signature, counts the
delivery against the webhook's rate limit and stores it in one transaction (which also
deduplicates on the delivery id), then queues it for the worker (`proactive.webhooks.deliveries`). Every
answer is JSON in the API's error shape, and every signed delivery is in the delivery log.
Whether a delivery is accepted is decided in `proactive.webhooks.acceptance`; this module reads
and writes around that decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from proactive.clock import iso
from proactive.ids import new_id
from proactive.observability import logger, metrics
from proactive.queue import Message, QueueError, RunQueue
from proactive.settings import Settings
from proactive.store import ConditionFailed, Store, WriteConflict
from proactive.webhooks.acceptance import (
    Accepted,
    Answer,
    LogEntry,
    Response,
    duplicate,
    judge,
    rate_limited,
    refusal,
    too_large,
)

if TYPE_CHECKING:
    from proactive.models.webhooks import HookRecord

# A transaction that collides with a concurrent delivery's (on the shared per-minute counter)
# is tried this many times before the sender is asked to retry.
ACCEPT_ATTEMPTS = 3


def unavailable(message: str) -> Response:
    """503 in the API's error shape: the sender should try again later."""
    return refusal(503, "service_unavailable", message)


def ingest(
    store: Store,
    queue: RunQueue,
    url_path: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    settings: Settings,
) -> Response:
    """Receive one delivery at a public webhook URL. `headers` have lower-case names."""
    oversized = too_large(body, settings.webhook_max_body_bytes)
    if oversized is not None:
        return oversized.response
    webhook = store.webhooks.by_path(url_path)
    verdict = judge(webhook, headers, body, now)
    if isinstance(verdict, Answer):
        return _answer(store, webhook, verdict, now)
    refused = _store(store, verdict, now)
    if refused is not None:
        return _answer(store, verdict.webhook, refused, now)
    try:
        queue.send([Message("delivery", verdict.id)])
    except (QueueError, BotoCoreError, ClientError):
        # Forget the delivery so the sender's retry is accepted afresh rather than deduplicated.
        logger.exception("could not queue delivery", extra={"delivery_id": verdict.id})
        store.deliveries.forget(verdict.id)
        return unavailable("could not queue the delivery; retry later")
    logger.info("delivery accepted", extra={"delivery_id": verdict.id, "webhook_id": verdict.webhook.id})
    metrics.add_metric(name="DeliveriesAccepted", unit="Count", value=1)
    return Response(202, {"delivery_id": verdict.id, "status": "accepted"})


def _store(store: Store, accepted: Accepted, now: datetime) -> Answer | None:
    """Store the delivery, counting it against the rate limit; the answer when it is not stored
    (over the limit, a duplicate, or colliding with concurrent deliveries every time)."""
    limit = accepted.webhook.rate_limit_per_minute
    for _ in range(ACCEPT_ATTEMPTS):
        try:
            store.deliveries.accept(accepted.delivery, limit_per_minute=limit, now=now)
            return None
        except WriteConflict:
            continue
        except ConditionFailed as exc:
            # The transaction's first item is the per-minute counter; otherwise the delivery exists.
            if 0 in exc.failed:
                return rate_limited(accepted.webhook, accepted.delivery, now)
            return duplicate(accepted.delivery)
    logger.warning("delivery collided with others; sender asked to retry", extra={"delivery_id": accepted.id})
    return Answer(unavailable("too many concurrent deliveries; retry later"))


def _answer(store: Store, webhook: HookRecord | None, answer: Answer, now: datetime) -> Response:
    """Record in the delivery log what the answer says is to be recorded, and give the answer."""
    if answer.log is not None and webhook is not None:
        _log(store, webhook, answer.log, now)
    return answer.response


def _log(store: Store, webhook: HookRecord, entry: LogEntry, now: datetime) -> None:
    store.deliveries.log(
        {
            "id": new_id("dlv"),
            "webhook_id": webhook.id,
            "workspace_id": webhook.workspace_id,
            "received_at": iso(now),
            "status": entry.status,
            "reason": entry.reason,
            "run_id": None,
            "delivery_key": entry.delivery_key,
            "event": None,
            "payload": None,
        }
    )
    metrics.add_metric(name=f"Deliveries{entry.status.title().replace('_', '')}", unit="Count", value=1)
