"""Whether webhook ingest accepts a delivery, decided apart from any I/O.

Each function takes what ingest has read (the webhook's `HookRecord`, the request's headers and
body, the time) and returns the answer: an `Accepted` delivery to store and queue, or an `Answer`
for the sender with what the delivery log records of it. `proactive.webhooks.ingest` reads, asks,
and writes. Every refusal is in the API's error shape (`proactive.errors.error_body`). The
records are named for their types only: this module loads no validation library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from proactive.clock import iso
from proactive.errors import error_body
from proactive.ids import derived_id
from proactive.lib.signatures import HOW_TO_SIGN, SignatureError, verify
from proactive.lib.surrogates import lone_surrogate, may_hold_surrogates

if TYPE_CHECKING:
    from proactive.models.webhooks import HookRecord


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def refusal(status: int, code: str, message: str, **headers: str) -> Response:
    """An answer in the API's error shape."""
    return Response(status, error_body(code, message), dict(headers))


@dataclass(frozen=True)
class LogEntry:
    """What the webhook's delivery log records of a delivery that was not accepted."""

    status: str
    reason: str
    delivery_key: str | None = None


@dataclass(frozen=True)
class Answer:
    """What the sender is told, and what the delivery log records of it (nothing for a delivery
    that reached no active webhook)."""

    response: Response
    log: LogEntry | None = None


@dataclass(frozen=True)
class Accepted:
    """A delivery to `webhook` to store (deduplicated on its id, counted against the webhook's
    rate limit) and queue."""

    webhook: HookRecord
    delivery: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.delivery["id"])


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


def current_secrets(webhook: HookRecord, now: datetime) -> list[str]:
    """The secrets that sign the webhook's deliveries at `now`: its secret, then its previous one
    while that is in its grace period (`proactive.lib.signatures.rotated`)."""
    found = [webhook.secret] if webhook.secret else []
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires and expires > now:
        found.append(webhook.previous_secret)
    return found


def delivery_id_for(webhook_id: str, delivery_key: str) -> str:
    return derived_id("dlv", f"{webhook_id}#{delivery_key}")


def too_large(body: bytes, max_bytes: int) -> Answer | None:
    """413 for a body over the limit, decided before the webhook is even looked up."""
    if len(body) > max_bytes:
        return Answer(refusal(413, "payload_too_large", f"body is larger than {max_bytes} bytes"))
    return None


def _unsigned(scheme: str, exc: SignatureError) -> Answer:
    """401, saying how to sign when the signature is missing altogether."""
    how = ""
    if "missing" in str(exc):
        sign = HOW_TO_SIGN[scheme]
        how = "; sign each delivery with the webhook's secret, sending " + ", ".join(
            f"{name}: {value}" for name, value in sign.items()
        )
    return Answer(
        refusal(401, "unauthorized", f"signature check failed: {exc}{how}"),
        LogEntry("unauthorized", str(exc)),
    )


def judge(
    webhook: HookRecord | None, headers: Mapping[str, str], body: bytes, now: datetime
) -> Accepted | Answer:
    """The verdict on a delivery to `webhook` (None: no webhook at the URL): refused when the
    webhook is missing or paused, when no current secret signed it (401), or when its body is
    not an event payload (400); otherwise the delivery record, keyed on the sender's delivery id."""
    if webhook is None:
        return Answer(refusal(404, "not_found", "no webhook at this URL"))
    if not webhook.is_active:
        return Answer(refusal(409, "conflict", "this webhook is paused; nothing was run"))
    scheme = webhook.signature_scheme
    try:
        verified = verify(scheme, current_secrets(webhook, now), headers, body, now)
    except SignatureError as exc:
        return _unsigned(scheme, exc)
    try:
        payload = parse_body(body, headers)
    except BodyError as exc:
        return Answer(
            refusal(400, "bad_request", str(exc)), LogEntry("rejected", str(exc), verified.delivery_key)
        )
    return Accepted(
        webhook,
        {
            "id": delivery_id_for(webhook.id, verified.delivery_key),
            "webhook_id": webhook.id,
            "workspace_id": webhook.workspace_id,
            "trigger_id": webhook.trigger_id,
            "received_at": iso(now),
            "status": "accepted",
            "reason": None,
            "run_id": None,
            "delivery_key": verified.delivery_key,
            "event": verified.event,
            "payload": payload,
        },
    )


def rate_limited(webhook: HookRecord, delivery: Mapping[str, Any], now: datetime) -> Answer:
    """429 for a delivery over the webhook's per-minute limit, retried once the minute is over."""
    retry_after = 60 - int(now.timestamp()) % 60
    return Answer(
        refusal(
            429,
            "rate_limited",
            "too many deliveries to this webhook; retry later",
            **{"Retry-After": str(retry_after)},
        ),
        LogEntry(
            "rate_limited",
            f"more than {webhook.rate_limit_per_minute} deliveries this minute",
            delivery["delivery_key"],
        ),
    )


def duplicate(delivery: Mapping[str, Any]) -> Answer:
    """200 for a delivery already received: the sender need not send it again."""
    key = delivery["delivery_key"]
    return Answer(
        Response(200, {"delivery_id": delivery["id"], "duplicate": True}),
        LogEntry("duplicate", f"delivery id {key!r} was already received as {delivery['id']}", key),
    )
