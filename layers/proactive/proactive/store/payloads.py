"""Payloads: the data that came from outside (a webhook delivery's body, what started a run),
each written once in an item of its own and referenced by `payload_ref` from the items that use
it (a delivery, the run it started).

An item's writes are billed by its whole size, so a 25 KB body kept in a run would be paid for
again at every change to the run (its start, its end, each step); referenced, it is paid for
once. A payload is stored as the JSON text it came as, so numbers of any size, any depth and any
keys read back unchanged. Payloads never change once written, so a process keeps the ones it
read lately and does not read them again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.store import keys
from proactive.store.table import ConditionFailed, Table
from proactive.store.values import from_json_text, json_text

# What a process keeps of the payloads it read (JSON text): enough for a worker's batch.
CACHE_BYTES = 4 * 1024 * 1024


class Payloads:
    def __init__(self, table: Table) -> None:
        self.table = table
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def put(self, owner_id: str, value: Any, *, expires_at: int) -> str:
        """Store `value` as `owner_id`'s payload (if it has none yet: a payload is written once,
        and a second write for the same owner, a retry, keeps the first) and return its
        reference. UnstorableValue if it is not JSON."""
        text = json_text(value, field="payload")
        try:
            self.table.put(
                {**keys.payload(owner_id), "kind": "payload", "json": text, keys.TTL_ATTRIBUTE: expires_at},
                condition=Attr(keys.PK).not_exists(),
            )
        except ConditionFailed:
            pass
        else:
            self._keep(owner_id, text)
        return owner_id

    def get(self, ref: str) -> Any:
        """The payload `ref` names (None if there is none: it expired, or was never stored)."""
        return self.get_many([ref]).get(ref)

    def get_many(self, refs: Iterable[str]) -> dict[str, Any]:
        """The payloads these references name, by reference; those not found are left out."""
        wanted = list(dict.fromkeys(refs))
        texts: dict[str, str] = {}
        with self._lock:
            for ref in wanted:
                if ref in self._cache:
                    self._cache.move_to_end(ref)
                    texts[ref] = self._cache[ref]
        by_key = {keys.payload(ref)[keys.PK]: ref for ref in wanted if ref not in texts}
        # Written just before the item that refers to it: a consistent read always finds it.
        found = self.table.batch_get([keys.payload(ref) for ref in by_key.values()]) if by_key else []
        for item in found:
            ref = by_key[item[keys.PK]]
            if isinstance(item.get("json"), str):
                texts[ref] = item["json"]
                self._keep(ref, item["json"])
        return {ref: from_json_text(text) for ref, text in texts.items()}

    def forget(self, ref: str) -> None:
        self.table.delete(keys.payload(ref))
        with self._lock:
            if ref in self._cache:
                self._cached_bytes -= len(self._cache.pop(ref))

    def _keep(self, ref: str, text: str) -> None:
        if len(text) > CACHE_BYTES // 4:
            return
        with self._lock:
            if ref in self._cache:
                return
            self._cache[ref] = text
            self._cached_bytes += len(text)
            while self._cached_bytes > CACHE_BYTES:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)
