"""The sparse due index: items that can come due, by shard and due time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from proactive.clock import iso
from proactive.store import keys
from proactive.store.table import Table, body


class DueIndex:
    def __init__(self, table: Table, shards: int) -> None:
        self.table = table
        self.shards = shards

    def attributes(self, item_id: str, due_at: datetime | None) -> dict[str, str]:
        """The attributes that put an item in the index at `due_at` (none: not due)."""
        return keys.due(item_id, iso(due_at), self.shards) if due_at is not None else {}

    def due(self, shard: int, until: datetime) -> Iterator[tuple[str, str]]:
        """(kind, id) of every item in `shard` due by `until`. Reads only those items."""
        condition = Key(keys.DUE_PK).eq(keys.due_partition(shard)) & Key(keys.DUE_AT).lte(iso(until))
        for item in self.table.query_all(index=keys.DUE_INDEX, key=condition):
            yield str(item["kind"]), str(item["id"])

    def read(self, refs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """Strongly consistent reads of (kind, id) items (the index lags writes), with `kind`."""
        items = self.table.batch_get([keys.entity(kind, item_id) for kind, item_id in refs])
        return [{**body(i), "kind": i["kind"]} for i in items]
