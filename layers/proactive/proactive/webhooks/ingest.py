"""Public webhook ingest: `POST /api/hooks/{url_path}`, in its own small function.

It imports no web framework and no validation library: it verifies the signature, counts the
delivery against the webhook's rate limit and stores it in one transaction (which also
deduplicates on the delivery id), then queues it for the worker (`proactive.webhooks.deliveries`). Every
answer is JSON in the API's error shape, and every signed delivery is in the delivery log.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from botocore.exceptions import BotoCoreError, ClientError

from proactive.clock import iso, parse_iso
from proactive.ids import derived_id, new_id
from proactive.lib.signatures import HOW_TO_SIGN, SignatureError, verify
from proactive.lib.surrogates import lone_surrogate, may_hold_surrogates
from proactive.observability import logger, metrics
from proactive.queue import Message, QueueError, RunQueue
from proactive.settings import Settings
from proactive.store import ConditionFailed, Store, WriteConflict

# A transaction that collides with a concurrent delivery's (on the shared per-minute counter)
# is tried this many times before the sender is asked to retry.
ACCEPT_ATTEMPTS = 3


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    return Response(status, {"error": code, "message": message, "field": None}, dict(headers))


def unavailable(message: str) -> Response:
    """503 in the API's error shape: the sender should try again later."""
    return _error(503, "service_unavailable", message)


class BodyError(ValueError):
    """The body cannot be read as an event payload; the message says why."""


def _no_constants(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    """A JSON number as a float, refused when it is too large for any float (`1e999`): the table
    could not store it, and a sender would be asked to retry a delivery that can never succeed."""
    value = float(text)
    if math.isinf(value):
        raise BodyError(f"number {text[:40]} is too large to be stored")
    return value


def parse_body(body: bytes, headers: Mapping[str, str]) -> Any:
    """The payload: JSON, or GitHub's form encoding (payload=<json>). BodyError otherwise, also
    for JSON holding text that is not valid Unicode (a lone surrogate escaped as `\\ud800`): it
    could be stored, but no answer could show it again."""
    try:
        text = body.decode("utf-8")
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(text)
            if "payload" in form:
                text = form["payload"][0]
        payload = json.loads(text, parse_constant=_no_constants, parse_float=_finite) if text else {}
        if may_hold_surrogates(text) and (found := lone_surrogate(payload)) is not None:
            path, what = found
            where = "" if path == "body" else f" at {path}"
            raise BodyError(f"body holds text that is not valid Unicode: {what}{where}")
        return payload
    except UnicodeDecodeError:
        raise BodyError("body is not UTF-8 text") from None
    except RecursionError:
        raise BodyError("body nests too deeply to be read") from None
    except ValueError as exc:
        if isinstance(exc, BodyError):
            raise
        raise BodyError("body is not JSON") from None


def _current_secrets(webhook: Mapping[str, Any], now: datetime) -> list[str]:
    found = [webhook["secret"]]
    expires = webhook.get("previous_secret_expires_at")
    if webhook.get("previous_secret") and expires and parse_iso(expires) > now:
        found.append(webhook["previous_secret"])
    return found


def delivery_id_for(webhook_id: str, delivery_key: str) -> str:
    return derived_id("dlv", f"{webhook_id}#{delivery_key}")


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
    webhook = store.webhooks.by_path(url_path)
    if webhook is None:
        return _error(404, "not_found", "no webhook at this URL")
    if not webhook.get("is_active"):
        return _error(409, "conflict", "this webhook is paused; nothing was run")

    def log(status: str, reason: str, delivery_key: str | None = None) -> None:
        store.deliveries.log(
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
            }
        )
        metrics.add_metric(name=f"Deliveries{status.title().replace('_', '')}", unit="Count", value=1)

    try:
        verified = verify(webhook["signature_scheme"], _current_secrets(webhook, now), headers, body, now)
    except SignatureError as exc:
        log("unauthorized", str(exc))
        how = ""
        if "missing" in str(exc):
            sign = HOW_TO_SIGN[webhook["signature_scheme"]]
            how = "; sign each delivery with the webhook's secret, sending " + ", ".join(
                f"{name}: {value}" for name, value in sign.items()
            )
        return _error(401, "unauthorized", f"signature check failed: {exc}{how}")
    try:
        payload = parse_body(body, headers)
    except BodyError as exc:
        log("rejected", str(exc), verified.delivery_key)
        return _error(400, "bad_request", str(exc))

    delivery_id = delivery_id_for(webhook["id"], verified.delivery_key)
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
    for attempt in range(1, ACCEPT_ATTEMPTS + 1):
        try:
            store.deliveries.accept(delivery, limit_per_minute=int(webhook["rate_limit_per_minute"]), now=now)
            break
        except WriteConflict:
            if attempt == ACCEPT_ATTEMPTS:
                logger.warning(
                    "delivery collided with others; sender asked to retry", extra={"delivery_id": delivery_id}
                )
                return _error(503, "service_unavailable", "too many concurrent deliveries; retry later")
        except ConditionFailed as exc:
            if 0 in exc.failed:
                log(
                    "rate_limited",
                    f"more than {webhook['rate_limit_per_minute']} deliveries this minute",
                    verified.delivery_key,
                )
                retry_after = 60 - int(now.timestamp()) % 60
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
        queue.send([Message("delivery", delivery_id)])
    except (QueueError, BotoCoreError, ClientError):
        # Forget the delivery so the sender's retry is accepted afresh rather than deduplicated.
        logger.exception("could not queue delivery", extra={"delivery_id": delivery_id})
        store.deliveries.forget(delivery_id)
        return _error(503, "service_unavailable", "could not queue the delivery; retry later")
    logger.info("delivery accepted", extra={"delivery_id": delivery_id, "webhook_id": webhook["id"]})
    metrics.add_metric(name="DeliveriesAccepted", unit="Count", value=1)
    return Response(202, {"delivery_id": delivery_id, "status": "accepted"})
