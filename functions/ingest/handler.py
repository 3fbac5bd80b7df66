"""Public webhook ingest: API Gateway HTTP API events for POST /api/hooks/{url_path}.

Deliberately small (no web framework): verify, deduplicate, rate limit, store, queue, answer.
"""

import base64
import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from proactive.clock import utcnow
from proactive.observability import instrumented, logger
from proactive.queue import RunQueue
from proactive.settings import get_settings
from proactive.store import Store
from proactive.webhooks.ingest import ingest, unavailable

settings = get_settings()
store = Store()
queue = RunQueue()


@instrumented(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, traced=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    url_path = (event.get("pathParameters") or {}).get("url_path") or event.get("rawPath", "").rsplit("/", 1)[
        -1
    ]
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    try:
        response = ingest(store, queue, url_path, headers, body, utcnow(), settings)
    except Exception:
        # Whatever failed (DynamoDB throttled, a bug), the sender gets the API's error shape and
        # a status that makes it retry; nothing was accepted, so nothing is lost.
        logger.exception("webhook delivery could not be handled", extra={"url_path": url_path})
        response = unavailable("the delivery could not be handled; retry later")
    return {
        "statusCode": response.status,
        "headers": {"content-type": "application/json", **response.headers},
        "body": json.dumps(response.body),
    }
