"""Webhooks: public, signed URLs that deliver events to a trigger.

The ingest path (`ingest`) runs in its own small Lambda function and imports no web
framework: it verifies the signature, counts the delivery against the webhook's rate limit and
stores it in one transaction (which also deduplicates on the delivery id), then queues it. The
worker evaluates the trigger and runs the agent (`process_delivery`). Every delivery, accepted or
not, is in the webhook's delivery log, and an accepted one links to its run and back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from botocore.exceptions import BotoCoreError, ClientError

from proactive import runs, triggers
from proactive.clock import iso, parse_iso
from proactive.errors import InvalidInput
from proactive.ids import new_id, occurrence_run_id
from proactive.models import RegenerateSecret, SourceType, WebhookCreate, WebhookUpdate
from proactive.observability import logger, metrics
from proactive.queue import QueueError, RunQueue
from proactive.settings import Settings
from proactive.signatures import SignatureError, new_secret, verify
from proactive.store import ConditionFailed, Store

_HIDDEN = ("secret", "previous_secret")


def webhook_url(base_url: str, url_path: str) -> str:
    return f"{base_url.rstrip('/')}/api/hooks/{url_path}"


def present(webhook: Mapping[str, Any], base_url: str, now: datetime) -> dict[str, Any]:
    """The webhook as the API shows it: never its secrets."""
    shown = {k: v for k, v in webhook.items() if k not in _HIDDEN}
    expires = webhook.get("previous_secret_expires_at")
    if not expires or parse_iso(expires) <= now:
        shown["previous_secret_expires_at"] = None
    shown["webhook_url"] = webhook_url(base_url, webhook["url_path"])
    return shown


def _require_trigger(store: Store, trigger_id: str, workspace_id: str) -> dict[str, Any]:
    trigger = store.referenced("trigger", trigger_id, workspace_id, field="trigger_id")
    if trigger["trigger_type"] not in ("webhook", "github"):
        raise InvalidInput(
            f"trigger {trigger_id!r} is a {trigger['trigger_type']!r} trigger; "
            "a webhook delivers to a 'webhook' or 'github' trigger",
            field="trigger_id",
        )
    return trigger


def create_webhook(store: Store, data: WebhookCreate, now: datetime) -> dict[str, Any]:
    """Create a webhook; the returned item includes the secret, which is shown only this once."""
    trigger = _require_trigger(store, data.trigger_id, data.workspace_id)
    scheme = data.signature_scheme or ("github" if trigger["trigger_type"] == "github" else "standard")
    webhook = {
        **data.model_dump(),
        "id": new_id("webhook"),
        "signature_scheme": scheme,
        "url_path": str(uuid.uuid4()),
        "secret": new_secret(scheme),
        "previous_secret": None,
        "previous_secret_expires_at": None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    store.put_webhook(webhook)
    logger.info("webhook created", extra={"webhook_id": webhook["id"], "scheme": scheme})
    return webhook


def get_webhook(store: Store, webhook_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.owned("webhook", webhook_id, workspaces)


def update_webhook(
    store: Store, webhook_id: str, data: WebhookUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    webhook = get_webhook(store, webhook_id, workspaces)
    changes = data.model_dump(exclude_unset=True)
    if "trigger_id" in changes:
        _require_trigger(store, changes["trigger_id"], webhook["workspace_id"])
    return store.update_webhook(webhook_id, {**changes, "updated_at": iso(now)})


def regenerate_secret(
    store: Store,
    webhook_id: str,
    data: RegenerateSecret,
    workspaces: frozenset[str],
    now: datetime,
    default_grace_seconds: int,
) -> dict[str, Any]:
    """A new secret; the old one stays valid for the grace period so senders can rotate."""
    webhook = get_webhook(store, webhook_id, workspaces)
    grace = default_grace_seconds if data.grace_period_seconds is None else data.grace_period_seconds
    changes = {
        "secret": new_secret(webhook["signature_scheme"]),
        "previous_secret": webhook["secret"] if grace else None,
        "previous_secret_expires_at": iso(now + timedelta(seconds=grace)) if grace else None,
        "updated_at": iso(now),
    }
    return store.update_webhook(webhook_id, changes)


def delete_webhook(store: Store, webhook_id: str, workspaces: frozenset[str]) -> None:
    get_webhook(store, webhook_id, workspaces)
    store.delete_webhook(webhook_id)


# Ingest


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    return Response(status, {"error": code, "message": message}, dict(headers))


def _parse(body: bytes, headers: Mapping[str, str]) -> Any:
    """The payload: JSON, or GitHub's form encoding (payload=<json>). ValueError otherwise."""
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8"))
        if "payload" in form:
            return json.loads(form["payload"][0])
    return json.loads(body.decode("utf-8")) if body else {}


def _current_secrets(webhook: Mapping[str, Any], now: datetime) -> list[str]:
    found = [webhook["secret"]]
    expires = webhook.get("previous_secret_expires_at")
    if webhook.get("previous_secret") and expires and parse_iso(expires) > now:
        found.append(webhook["previous_secret"])
    return found


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
    if len(body) > settings.webhook_max_body_bytes:
        return _error(
            413, "payload_too_large", f"body is larger than {settings.webhook_max_body_bytes} bytes"
        )
    webhook = store.webhook_by_path(url_path)
    if webhook is None:
        return _error(404, "not_found", "no webhook at this URL")
    if not webhook.get("is_active"):
        return _error(409, "conflict", "this webhook is paused; nothing was run")

    def log(status: str, reason: str, delivery_key: str | None = None) -> None:
        store.log_delivery(
            {
                "id": new_id("dlv"),
                "webhook_id": webhook["id"],
                "workspace_id": webhook["workspace_id"],
                "received_at": iso(now),
                "status": status,
                "reason": reason,
                "run_id": None,
                "delivery_key": delivery_key,
                "event": None,
                "payload": None,
            },
            retention_days=settings.delivery_retention_days,
        )
        metrics.add_metric(name=f"Deliveries{status.title().replace('_', '')}", unit="Count", value=1)

    try:
        verified = verify(webhook["signature_scheme"], _current_secrets(webhook, now), headers, body, now)
    except SignatureError as exc:
        log("unauthorized", str(exc))
        return _error(401, "unauthorized", f"signature check failed: {exc}")
    try:
        payload = _parse(body, headers)
    except (ValueError, UnicodeDecodeError):
        log("rejected", "body is not JSON", verified.delivery_key)
        return _error(400, "bad_request", "body is not JSON")

    delivery_id = "dlv-" + occurrence_run_id(f"{webhook['id']}#{verified.delivery_key}").removeprefix("run-")
    delivery = {
        "id": delivery_id,
        "webhook_id": webhook["id"],
        "workspace_id": webhook["workspace_id"],
        "trigger_id": webhook["trigger_id"],
        "received_at": iso(now),
        "status": "accepted",
        "reason": None,
        "run_id": None,
        "delivery_key": verified.delivery_key,
        "event": verified.event,
        "payload": payload,
    }
    try:
        store.accept_delivery(
            delivery,
            limit_per_minute=int(webhook["rate_limit_per_minute"]),
            now=now,
            retention_days=settings.delivery_retention_days,
        )
    except ConditionFailed as exc:
        if 0 in exc.failed:
            retry_after = 60 - int(now.timestamp()) % 60
            log(
                "rate_limited",
                f"more than {webhook['rate_limit_per_minute']} deliveries this minute",
                verified.delivery_key,
            )
            return _error(
                429,
                "rate_limited",
                "too many deliveries to this webhook; retry later",
                **{"Retry-After": str(retry_after)},
            )
        log(
            "duplicate",
            f"delivery id {verified.delivery_key!r} was already received as {delivery_id}",
            verified.delivery_key,
        )
        return Response(200, {"delivery_id": delivery_id, "duplicate": True})
    try:
        queue.send_deliveries([delivery_id])
    except (QueueError, BotoCoreError, ClientError):
        # Forget the delivery so the sender's retry is accepted afresh rather than deduplicated.
        logger.exception("could not queue delivery", extra={"delivery_id": delivery_id})
        store.forget_delivery(delivery_id)
        return _error(503, "service_unavailable", "could not queue the delivery; retry later")
    logger.info("delivery accepted", extra={"delivery_id": delivery_id, "webhook_id": webhook["id"]})
    metrics.add_metric(name="DeliveriesAccepted", unit="Count", value=1)
    return Response(202, {"delivery_id": delivery_id, "status": "accepted"})


def process_delivery(
    store: Store,
    queue: RunQueue,
    delivery_id: str,
    *,
    now_fn: Callable[[], datetime],
    on_finish: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """In the worker: evaluate an accepted delivery against its trigger and run the agent.
    Idempotent: the run's id is derived from the delivery's."""
    delivery = store.get_delivery(delivery_id)
    if delivery is None:
        return {"delivery_id": delivery_id, "status": "gone"}
    if delivery.get("run_id"):
        return runs.execute(store, delivery["run_id"], now_fn=now_fn, on_finish=on_finish)
    if delivery["status"] != "accepted":
        return {"delivery_id": delivery_id, "status": delivery["status"]}
    trigger = store.get_trigger(delivery["trigger_id"])
    now = now_fn()
    if trigger is None:
        outcome = triggers.Outcome("rejected", f"trigger {delivery['trigger_id']} no longer exists")
    else:
        outcome = triggers.evaluate(trigger, delivery["payload"], delivery.get("event"))
    if outcome.status != "accepted" or outcome.task is None or trigger is None:
        store.update_delivery(
            delivery_id, {"status": outcome.status, "reason": outcome.reason}, only_if_status="accepted"
        )
        logger.info(
            "delivery not run",
            extra={"delivery_id": delivery_id, "status": outcome.status, "reason": outcome.reason},
        )
        return {"delivery_id": delivery_id, "status": outcome.status}
    run = runs.new_run(
        run_id=occurrence_run_id(f"delivery#{delivery_id}"),
        workspace_id=trigger["workspace_id"],
        agent_id=trigger["agent_id"],
        task=outcome.task,
        source_type=SourceType.WEBHOOK,
        source_id=delivery["webhook_id"],
        now=now,
        trigger_id=trigger["id"],
        delivery_id=delivery_id,
    )
    if store.create_run(run):
        store.record_fire(trigger["id"], now)
    store.update_delivery(delivery_id, {"run_id": run["id"]}, only_if_status="accepted")
    return runs.execute(store, run["id"], now_fn=now_fn, on_finish=on_finish)
