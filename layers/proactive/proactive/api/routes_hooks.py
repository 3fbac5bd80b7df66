"""The public webhook ingest route, as the API documents it.

In AWS this path is routed to its own function (functions/ingest), which has no web framework;
locally the stack hands it to that same function. This route runs the same code, so the app on
its own (tests, `sam local` of the API) answers webhooks exactly as the ingest function does.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from proactive.api.deps import QueueDep, StoreDep
from proactive.clock import utcnow
from proactive.models.common import ErrorBody
from proactive.queue import RunQueue
from proactive.settings import get_settings
from proactive.store import Store
from proactive.webhooks.ingest import ingest

router = APIRouter(tags=["webhooks"])

_SIGNED = {
    "description": "Signed by the sender with the webhook's secret, in its scheme: `standard` "
    "(webhook-id, webhook-timestamp, webhook-signature), `github` (X-Hub-Signature-256, "
    "X-GitHub-Delivery, X-GitHub-Event) or `hmac-sha256` (X-Signature).",
    "required": True,
    "content": {
        "application/json": {"schema": {"description": "Any JSON: the event payload."}},
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": {"payload": {"type": "string"}}}
        },
    },
}


def _answer(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# How a public webhook route is documented (here and for a triggered task's webhook).
DOCUMENTED: dict[str, Any] = {
    "status_code": 202,
    "openapi_extra": {"requestBody": _SIGNED, "security": []},
    "responses": {
        202: _answer(
            "Accepted: the delivery is stored and queued.",
            type="object",
            properties={"delivery_id": {"type": "string"}, "status": {"const": "accepted"}},
            required=["delivery_id", "status"],
        ),
        200: _answer(
            "A delivery id seen before: nothing more is run.",
            type="object",
            properties={"delivery_id": {"type": "string"}, "duplicate": {"const": True}},
            required=["delivery_id", "duplicate"],
        ),
        **{
            status: {"model": ErrorBody, "description": text}
            for status, text in {
                400: "The body is not JSON, or holds text that is not valid Unicode (a lone surrogate).",
                401: "Not signed, or not by a current secret (logged as unauthorized); the message "
                "names the headers to send.",
                404: "No webhook at this URL.",
                409: "The webhook is paused.",
                413: "The body is larger than the limit.",
                429: "More deliveries this minute than the webhook's limit; see Retry-After.",
                503: "The delivery could not be queued; retry.",
            }.items()
        },
    },
}


@router.post(
    "/api/hooks/{url_path}", summary="Deliver an event to a webhook (public, signed; no token)", **DOCUMENTED
)
async def deliver(url_path: str, request: Request, store: StoreDep, queue: QueueDep) -> JSONResponse:
    return await deliver_to(url_path, request, store, queue)


async def deliver_to(url_path: str, request: Request, store: Store, queue: RunQueue) -> JSONResponse:
    """Ingest the request's delivery to the webhook at `url_path`."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    response = await to_thread.run_sync(
        ingest, store, queue, url_path, headers, body, utcnow(), get_settings()
    )
    return JSONResponse(response.body, status_code=response.status, headers=response.headers)
