"""Webhooks (found by their public path) and their delivery log.

A delivery's payload is stored as JSON text, exactly as it came: whatever its numbers, depth or
keys, the log can hold it and every page of the log can be read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from proactive.clock import parse_iso
from proactive.store import keys
from proactive.store.entities import Entities
from proactive.store.runs import expires
from proactive.store.table import Put, Table, Update, body, from_json_text, json_text


class Webhooks(Entities):
    kind = "webhook"

    def put(self, entity: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None) -> None:
        super().put(entity, extra={**keys.hook_path(entity["url_path"]), **(extra or {})})

    def by_path(self, url_path: str) -> dict[str, Any] | None:
        items, _ = self.table.query(
            index=keys.GSI2, key=Key(keys.GSI2PK).eq(keys.hook_partition(url_path)), limit=1
        )
        return body(items[0]) if items else None


def _shown(item: Mapping[str, Any]) -> dict[str, Any]:
    shown = body(item)
    shown["payload"] = from_json_text(shown.pop("payload_json", None))
    return shown


class Deliveries:
    """Each delivery to a webhook, accepted or not, listed under it newest first."""

    kind = "delivery"

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def _item(self, delivery: Mapping[str, Any]) -> dict[str, Any]:
        stored = {k: v for k, v in delivery.items() if k != "payload"}
        stored["payload_json"] = json_text(delivery.get("payload"), field="payload")
        return {
            **keys.entity(self.kind, delivery["id"]),
            "kind": self.kind,
            **keys.child_listing(
                "webhook", delivery["webhook_id"], self.kind, delivery["received_at"], delivery["id"]
            ),
            keys.TTL_ATTRIBUTE: expires(parse_iso(delivery["received_at"]), self.retention_days),
            **stored,
        }

    def accept(self, delivery: Mapping[str, Any], *, limit_per_minute: int, now: datetime) -> None:
        """Count the delivery against its webhook's per-minute limit and store it, atomically.
        ConditionFailed.failed is [0] when over the limit, [1] when the delivery id was seen;
        WriteConflict when a concurrent delivery got in the way."""
        minute = int(now.timestamp()) // 60
        counter = Update(
            key=keys.rate_counter(delivery["webhook_id"], minute),
            set_values={keys.TTL_ATTRIBUTE: (minute + 2) * 60},
            add={"n": 1},
            condition=Attr("n").not_exists() | Attr("n").lt(limit_per_minute),
            must_exist=False,
        )
        self.table.transact([counter, Put(self._item(delivery))])

    def log(self, delivery: Mapping[str, Any]) -> None:
        """Record a delivery that was not accepted (unauthorized, duplicate, rate limited, ...)."""
        self.table.put(self._item(delivery))

    def forget(self, delivery_id: str) -> None:
        self.table.delete(keys.entity(self.kind, delivery_id))

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        item = self.table.get(keys.entity(self.kind, delivery_id))
        return _shown(item) if item else None

    def update(self, delivery_id: str, changes: Mapping[str, Any], *, only_if_status: str) -> None:
        self.table.update(
            Update(
                key=keys.entity(self.kind, delivery_id),
                set_values=changes,
                condition=Attr("status").eq(only_if_status),
            )
        )

    def page(
        self, webhook_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = self.table.query_page(
            index=keys.GSI1,
            partition=keys.children_partition("webhook", webhook_id, self.kind),
            limit=limit,
            cursor=cursor,
        )
        for item in items:
            item["payload"] = from_json_text(item.pop("payload_json", None))
        return items, next_cursor
