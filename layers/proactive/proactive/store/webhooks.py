"""Webhooks (found by their public path) and their delivery log.

A delivery's payload is stored as JSON text, exactly as it came: whatever its numbers, depth or
keys, the log can hold it and every page of the log can be read back. It is stored once, in an
item of its own (`store.payloads`) that the delivery and the run it starts both refer to, kept
as long as that run is; the delivery's own item stays small, so recording what became of it
costs little. Deliveries stored with the payload inside (`payload_json`) read back as they were.

A webhook's secrets are sealed (`Entities.sealed_fields`), in the table and in GSI2, which holds
them for ingest: `by_path` unseals them as every other read does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from pydantic import ValidationError

from proactive.clock import parse_iso
from proactive.models.common import Record
from proactive.models.webhooks import DeliveryRecord, HookRecord, WebhookRecord
from proactive.observability import logger
from proactive.queue import DLQ_RETENTION_SECONDS
from proactive.store import keys
from proactive.store.entities import SIGNING_SECRETS, Entities, fields_of, unseal_fields
from proactive.store.payloads import Payloads
from proactive.store.runs import expires
from proactive.store.table import Put, Table, Update
from proactive.store.values import body, from_json_text


class Webhooks(Entities[WebhookRecord]):
    kind = "webhook"
    record = WebhookRecord
    sealed_fields = SIGNING_SECRETS

    def put(self, entity: Mapping[str, Any] | Record, *, extra: Mapping[str, Any] | None = None) -> None:
        super().put(entity, extra={**keys.hook_path(fields_of(entity)["url_path"]), **(extra or {})})

    def by_path(self, url_path: str) -> HookRecord | None:
        """The fields webhook ingest reads (`keys.HOOK_FIELDS`) of the webhook at this path, as
        the index holds them (one call), its secrets unsealed."""
        items, _ = self.table.query(
            index=keys.GSI2, key=Key(keys.GSI2PK).eq(keys.hook_partition(url_path)), limit=1, whole=False
        )
        if not items:
            return None
        found = {k: v for k, v in items[0].items() if k in keys.HOOK_FIELDS}
        return HookRecord.model_validate(unseal_fields(self.kind, found, self.sealed_fields))


class Deliveries:
    """Each delivery to a webhook, accepted or not, listed under it newest first. Read back as
    `DeliveryRecord`s, with `payload` (read back) and `payload_ref` (where it is stored, for the
    run it starts; None for a delivery stored with its payload inside). One that does not read
    as a record is left out of a page, with a warning naming it."""

    kind = "delivery"

    def __init__(
        self, table: Table, retention_days: int, payloads: Payloads, run_retention_days: int
    ) -> None:
        self.table = table
        self.retention_days = retention_days
        self.payloads = payloads
        # The payload is kept as long as the run it starts: that run is made when the worker takes
        # the delivery's message, which waits at most the run queue's 4 days and, redriven from
        # the dead-letter queue, that queue's retention.
        waits = -(-DLQ_RETENTION_SECONDS // 86_400)
        self.payload_retention_days = max(retention_days, run_retention_days + waits)

    def _read_many(self, items: Sequence[Mapping[str, Any]]) -> list[DeliveryRecord]:
        read: list[DeliveryRecord] = []
        for delivery in self._shown_many(items):
            try:
                read.append(DeliveryRecord.model_validate(delivery))
            except ValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
                logger.warning(
                    "a stored item does not read as its record and is left out",
                    extra={"item_id": delivery.get("id"), "kind": self.kind, "fields": fields},
                )
        return read

    def _shown_many(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        shown = [body(i) for i in items]
        refs = [str(s["payload_ref"]) for s in shown if s.get("payload_ref")]
        found = self.payloads.get_many(refs) if refs else {}
        for delivery in shown:
            ref = delivery.get("payload_ref")
            if ref:
                delivery["payload"] = found.get(str(ref))
            else:
                delivery["payload"] = from_json_text(delivery.pop("payload_json", None))
                delivery["payload_ref"] = None
        return shown

    def _item(self, delivery: Mapping[str, Any]) -> dict[str, Any]:
        stored = {k: v for k, v in delivery.items() if k not in ("payload", "payload_ref")}
        if delivery.get("payload") is not None:
            stored["payload_ref"] = delivery["id"]
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
        WriteConflict when a concurrent delivery got in the way.

        Its payload is stored first, outside the transaction (a transaction's writes cost twice,
        and the payload is most of a delivery's size): a delivery in the log always has its
        payload. A payload stored for a delivery id already received is not replaced, and one
        whose delivery was refused (over the limit) is left to expire."""
        if delivery.get("payload") is not None:
            received = parse_iso(delivery["received_at"])
            self.payloads.put(
                delivery["id"],
                delivery["payload"],
                expires_at=expires(received, self.payload_retention_days),
            )
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
        """Remove a delivery and its payload (it was not queued: the sender's retry starts afresh)."""
        self.table.delete(keys.entity(self.kind, delivery_id))
        self.payloads.forget(delivery_id)

    def get(self, delivery_id: str) -> DeliveryRecord | None:
        """The delivery (ValidationError if it does not read as a record)."""
        item = self.table.get(keys.entity(self.kind, delivery_id))
        return DeliveryRecord.model_validate(self._shown_many([item])[0]) if item else None

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
    ) -> tuple[list[DeliveryRecord], str | None]:
        items, next_cursor = self.table.query_page(
            index=keys.GSI1,
            partition=keys.children_partition("webhook", webhook_id, self.kind),
            limit=limit,
            cursor=cursor,
            shape=dict,
        )
        return self._read_many(items), next_cursor
