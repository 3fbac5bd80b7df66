"""Fuzz target: the whole webhook ingest (`proactive.webhooks.ingest.ingest`) on moto, as the ingest
function calls it, with the webhooks the first line of an input names (format in
`webhook_format`): one per scheme whose previous secret is in its grace period, one per scheme
whose previous secret has expired (`expired` deliveries go there), and a paused one (`paused`).
Any other word is a URL path where there is no webhook.

Contract, for any headers and body:
- no exception: the function's catch-all would answer 503, and the sender would retry a delivery
  that can never succeed;
- the status is one the OpenAPI document lists for `POST /api/hooks/{url_path}`, and the right
  one: 413 for a body over the limit, 404 / 409 for no webhook / a paused one, 401 exactly when
  the signature is not a current secret's, 400 exactly when the body cannot be read, else
  202 (or 200 for a repeated delivery id, 429 over the rate limit);
- an accepted delivery is stored with the payload the body holds and the sender's delivery key.

Rate limiting runs at a fixed clock: past 10,000 accepted deliveries, 429 is the right answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from proactive.clock import iso
from proactive.queue import RunQueue
from proactive.settings import get_settings
from proactive.store import Store
from proactive.webhooks.acceptance import BodyError, parse_body
from proactive.webhooks.ingest import ingest
from tests.fuzz import webhook_format as fmt
from tests.fuzz.common import NOW, expect
from tests.mockaws import mocked_aws

MAX_BODY = 2048  # the least the setting allows, so that inputs of a few KiB pass it
DOCUMENTED = {200, 202, 400, 401, 404, 409, 413, 429}


def url_path(scheme: str, mode: str) -> str:
    """Where an input's delivery goes. These paths hold a space, so no input's first word is one."""
    if scheme == "paused":
        return "hook paused"
    if scheme in fmt.SCHEMES:
        return f"hook {scheme} expired" if mode == "expired" else f"hook {scheme}"
    return scheme


def _webhooks() -> list[dict[str, Any]]:
    """The webhooks the inputs reach, as `proactive.webhooks.crud.create_webhook` stores them (put
    directly: ingest reads no trigger, and the API would cost each run its start-up)."""
    made = []
    for scheme in fmt.SCHEMES:
        keys = fmt.secrets_for(scheme)
        for path, previous, until in (
            (url_path(scheme, "sign"), keys["old"], NOW + timedelta(hours=1)),
            (url_path(scheme, "expired"), keys["expired"], NOW - timedelta(seconds=1)),
        ):
            made.append(_webhook(path, scheme, keys["current"], previous, until, active=True))
    keys = fmt.secrets_for("standard")
    made.append(_webhook("hook paused", "standard", keys["current"], None, None, active=False))
    return made


def _webhook(
    path: str, scheme: str, secret: str, previous: str | None, until: Any, *, active: bool
) -> dict[str, Any]:
    return {
        "id": "webhook_" + path.replace(" ", "_").replace("-", "_"),
        "workspace_id": "ws-fuzz",
        "name": path,
        "trigger_id": "trigger_fuzz",
        "signature_scheme": scheme,
        "rate_limit_per_minute": 10_000,
        "is_active": active,
        "url_path": path,
        "secret": secret,
        "previous_secret": previous,
        "previous_secret_expires_at": iso(until) if until else None,
        "created_at": iso(NOW),
        "updated_at": iso(NOW),
    }


@contextmanager
def target() -> Iterator[Callable[[bytes], str]]:
    with mocked_aws("fuzz-ingest"):
        store, queue = Store(), RunQueue()
        settings = dataclasses.replace(get_settings(), webhook_max_body_bytes=MAX_BODY)
        for webhook in _webhooks():
            store.webhooks.put(webhook)

        def run(data: bytes) -> str:
            delivery = fmt.parse(data)
            path = url_path(delivery.scheme, delivery.mode)
            response = ingest(store, queue, path, delivery.headers, delivery.body, NOW, settings)
            status = response.status
            expect(status in DOCUMENTED, f"status {status} is not one the API documents: {response.body}")
            if len(delivery.body) > MAX_BODY:
                expect(status == 413, f"a body over the limit got {status}")
                return "413"
            if delivery.scheme not in (*fmt.SCHEMES, "paused"):
                expect(status == 404, f"a path with no webhook got {status}")
                return "404"
            if delivery.scheme == "paused":
                expect(status == 409, f"a paused webhook got {status}")
                return "409"
            keys = fmt.secrets_for(delivery.scheme)
            current = [keys["current"]] + ([keys["old"]] if delivery.mode != "expired" else [])
            if not fmt.signed_by(delivery, current):
                expect(status == 401, f"a delivery not signed by a current secret got {status}")
                return "401"
            expect(status != 401 or not fmt.well_signed(delivery), "a correctly signed delivery got 401")
            try:
                payload = parse_body(delivery.body, delivery.headers)
            except BodyError:
                expect(status == 400, f"a signed delivery whose body cannot be read got {status}")
                return "400"
            expect(
                status in (200, 202, 429),
                f"a signed delivery with a readable body got {status}: {response.body}",
            )
            if status == 202:
                stored = store.deliveries.get(response.body["delivery_id"])
                expect(stored is not None, "an accepted delivery is not stored")
                assert stored is not None
                expect(stored.status == "accepted", f"an accepted delivery is stored as {stored.status}")
                expect(
                    stored.delivery_key == fmt.delivery_key(delivery),
                    "the stored delivery key is not the sender's",
                )
                expect(
                    json.dumps(stored.payload, sort_keys=True) == json.dumps(payload, sort_keys=True),
                    "the stored payload is not the body's",
                )
            return str(status)

        yield run
