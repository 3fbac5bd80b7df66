"""Requests that must take effect once: API calls made with an `Idempotency-Key` (the key's first
request, for 24 hours), and the callbacks agents post (each `webhook-id` once)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import iso
from proactive.errors import Conflict
from proactive.store import keys
from proactive.store.table import ConditionFailed, Table
from proactive.store.values import body

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# The longest a call may wait for the first call with its key to be answered (`Prefer: wait=N`):
# an API answer must come well within the HTTP API's 30 s.
IDEMPOTENCY_MAX_WAIT_SECONDS = 10
# Kept beyond the longest time an agent may take to call back (7 days).
CALLBACK_MEMORY = timedelta(days=8)
_CLAIM_ATTEMPTS = 5


class Requests:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def _key(workspace_id: str, idempotency_key: str) -> dict[str, str]:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        return keys.request(workspace_id, digest)

    def claim(
        self, workspace_id: str, idempotency_key: str, fingerprint: str, run_id: str, now: datetime
    ) -> dict[str, Any] | None:
        """Take the key for this request, which will make run `run_id`; or, when the key was
        taken in the last 24 hours, return what it was taken for (`fingerprint`, `run_id`)."""
        key = self._key(workspace_id, idempotency_key)
        expires = now + IDEMPOTENCY_WINDOW
        item = {
            **key,
            "kind": "request",
            "workspace_id": workspace_id,
            "fingerprint": fingerprint,
            "run_id": run_id,
            "expires_at": iso(expires),
            keys.TTL_ATTRIBUTE: int(expires.timestamp()),
        }
        # A key given back between the refused write and the read is free again: take it then.
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                self.table.put(item, condition=Attr(keys.PK).not_exists() | Attr("expires_at").lt(iso(now)))
            except ConditionFailed:
                taken = self.table.get(key)
                if taken is not None:
                    return body(taken)
                continue
            return None
        raise Conflict("this Idempotency-Key is being taken and given back by other requests; try again")

    def release(self, workspace_id: str, idempotency_key: str, run_id: str) -> None:
        """Give the key back: the request it was taken for made nothing."""
        self.table.delete(self._key(workspace_id, idempotency_key), condition=Attr("run_id").eq(run_id))

    def callback_accepted(self, run_id: str, message_id: str) -> bool:
        """Whether an agent's callback with this `webhook-id` was accepted before."""
        return self.table.get(keys.callback(run_id, message_id)) is not None

    def accept_callback(self, run_id: str, message_id: str, now: datetime) -> bool:
        """Remember an agent's callback by its `webhook-id`; False if it was accepted before."""
        expires = now + CALLBACK_MEMORY
        try:
            self.table.put_new(
                {
                    **keys.callback(run_id, message_id),
                    "kind": "callback",
                    "run_id": run_id,
                    keys.TTL_ATTRIBUTE: int(expires.timestamp()),
                }
            )
        except ConditionFailed:
            return False
        return True
