"""The sparse due index: items that can come due, by shard and due time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from proactive.clock import iso
from proactive.store import keys
from proactive.store.table import Table
from proactive.store.values import body


class DueIndex:
    def __init__(self, table: Table, shards: int) -> None:
        self.table = table
        self.shards = shards

    def attributes(self, item_id: str, due_at: datetime | None) -> dict[str, str]:
        """The attributes that put an item in the index at `due_at` (none: not due)."""
        return keys.due(item_id, iso(due_at), self.shards) if due_at is not None else {}

    def due(self, shard: int, until: datetime) -> Iterator[dict[str, str]]:
        """The table keys of every item in `shard` due by `until`: what the index holds of
        them. Reads only those items' index entries."""
        condition = Key(keys.DUE_PK).eq(keys.due_partition(shard)) & Key(keys.DUE_AT).lte(iso(until))
        for entry in self.table.query_all(index=keys.DUE_INDEX, key=condition, whole=False):
            yield {keys.PK: str(entry[keys.PK]), keys.SK: str(entry[keys.SK])}

    def read(self, refs: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """Strongly consistent reads of the items at these keys (the index lags writes), each
        with its `kind`."""
        items = self.table.batch_get(refs)
        return [{**body(i), "kind": i.get("kind")} for i in items]
