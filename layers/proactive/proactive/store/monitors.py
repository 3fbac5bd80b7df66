"""Monitors (in the due index while active, held by one check at a time), their checks and the
values posted to metric monitors."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from pydantic import ValidationError

from proactive.clock import iso
from proactive.models.monitors import CheckRecord, MonitorRecord
from proactive.observability import logger
from proactive.store import keys
from proactive.store.runs import expires
from proactive.store.schedules import DueEntities
from proactive.store.table import ConditionFailed, Table, Update
from proactive.store.values import body


class Monitors(DueEntities[MonitorRecord]):
    kind = "monitor"
    record = MonitorRecord

    def lock(self, monitor_id: str, check_id: str, *, now: datetime, until: datetime) -> MonitorRecord:
        """Hold the monitor for one check (its checks never overlap); ConditionFailed if another
        unexpired check holds it. Returns the monitor."""
        return self.update(
            monitor_id,
            {"checking_id": check_id, "checking_until": until},
            condition=Attr("checking_id").not_exists()
            | Attr("checking_id").eq(check_id)
            | Attr("checking_until").lt(iso(now)),
        )

    def unlock(
        self,
        monitor_id: str,
        check_id: str,
        changes: Mapping[str, Any],
        *,
        add: Mapping[str, int] | None = None,
    ) -> MonitorRecord | None:
        """Record a check's outcome on the monitor and release it; the monitor as it is now, or
        None if it was deleted (or taken over by a later check) meanwhile."""
        try:
            return self.update(
                monitor_id,
                changes,
                add=add,
                remove=("checking_id", "checking_until"),
                condition=Attr("checking_id").eq(check_id),
            )
        except ConditionFailed:
            return None


class Checks:
    """Each check of a monitor, listed under it newest first by its slot; read back as
    `CheckRecord`s (a listed one that does not read as one is left out, with a warning)."""

    kind = "check"

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def create(self, check: CheckRecord) -> bool:
        """Store a new check (the fields it was given); False if one with that id exists (the
        slot was already claimed)."""
        item = {
            **keys.entity(self.kind, check.id),
            "kind": self.kind,
            **keys.child_listing("monitor", check.monitor_id, self.kind, iso(check.scheduled_for), check.id),
            keys.TTL_ATTRIBUTE: expires(check.scheduled_for, self.retention_days),
            **check.model_dump(exclude_unset=True),
        }
        try:
            self.table.put_new(item)
        except ConditionFailed:
            return False
        return True

    def get(self, check_id: str) -> CheckRecord | None:
        item = self.table.get(keys.entity(self.kind, check_id))
        return CheckRecord.model_validate(body(item)) if item else None

    def update(self, check_id: str, changes: Mapping[str, Any], *, only_if_status: str) -> CheckRecord:
        return CheckRecord.model_validate(
            body(
                self.table.update(
                    Update(
                        key=keys.entity(self.kind, check_id),
                        set_values=changes,
                        condition=Attr("status").eq(only_if_status),
                    )
                )
            )
        )

    def page(
        self, monitor_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[CheckRecord], str | None]:
        items, next_cursor = self.table.query_page(
            index=keys.GSI1,
            partition=keys.children_partition("monitor", monitor_id, self.kind),
            limit=limit,
            cursor=cursor,
        )
        checks: list[CheckRecord] = []
        for item in items:
            try:
                checks.append(CheckRecord.model_validate(item))
            except ValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
                logger.warning(
                    "a stored item does not read as its record and is left out",
                    extra={"item_id": item.get("id"), "kind": self.kind, "fields": fields},
                )
        return checks, next_cursor


class MetricValues:
    """Values posted to a metric monitor, by the time they were measured."""

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def put(self, monitor_id: str, measured_at: datetime, value: float) -> None:
        self.table.put(
            {
                **keys.metric_value(monitor_id, iso(measured_at), secrets.token_hex(4)),
                "value": value,
                keys.TTL_ATTRIBUTE: expires(measured_at, self.retention_days),
            }
        )

    def between(self, monitor_id: str, since: datetime, until: datetime) -> list[float]:
        """Values measured in [since, until], oldest first."""
        condition = Key(keys.PK).eq(keys.metric_values_partition(monitor_id)) & Key(keys.SK).between(
            iso(since), iso(until) + "~"
        )
        return [float(i["value"]) for i in self.table.query_all(index=None, key=condition)]
