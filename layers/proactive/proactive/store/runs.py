"""Runs: created once per occurrence (the id is the claim), listed by workspace and by source."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from proactive.clock import iso, parse_iso
from proactive.store import keys
from proactive.store.entities import Entities
from proactive.store.table import ConditionFailed, Table


def expires(at: datetime, days: int) -> int:
    """The TTL value for an item that expires `days` after `at`."""
    return int((at + timedelta(days=days)).timestamp())


class Runs(Entities):
    kind = "run"
    json_fields = ("payload",)

    def __init__(self, table: Table, retention_days: int) -> None:
        super().__init__(table)
        self.retention_days = retention_days

    def create(self, run: Mapping[str, Any]) -> bool:
        """Store a run; False if a run with that id exists (an occurrence already claimed)."""
        extra: dict[str, Any] = {
            keys.TTL_ATTRIBUTE: expires(parse_iso(run["created_at"]), self.retention_days)
        }
        if run.get("source_id"):
            extra.update(
                keys.source_listing(run["source_type"], run["source_id"], run["created_at"], run["id"])
            )
        try:
            self.put(run, extra=extra)
        except ConditionFailed:
            return False
        return True

    def start(
        self,
        run_id: str,
        *,
        now: datetime,
        lease_until: datetime,
        holds_slot: bool,
        steps: list[dict[str, Any]],
        first: bool,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Move a queued run (or one whose lease expired) to running, taking one attempt;
        `started_at` is the first attempt's start. ConditionFailed if it is neither."""
        changes: dict[str, Any] = {
            "status": "running",
            "lease_until": iso(lease_until),
            "holds_slot": holds_slot,
            "steps": steps,
            **(extra or {}),
        }
        if first:
            changes["started_at"] = iso(now)
        return self.update(
            run_id,
            changes,
            remove=("retry_at",),
            add={"attempts": 1},
            condition=Attr("status").eq("queued")
            | (Attr("status").eq("running") & Attr("lease_until").lt(iso(now))),
        )

    def list_runs(
        self,
        workspace_id: str,
        *,
        status: str | None,
        source_type: str | None,
        source_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Runs newest first, narrowed by status and source. A source type and id together are
        one index query; anything else filters the workspace's runs."""
        filters: ConditionBase | None = None

        def also(cond: ConditionBase) -> None:
            nonlocal filters
            filters = cond if filters is None else filters & cond

        if status:
            also(Attr("status").eq(status))
        if source_id and source_type:
            also(Attr("workspace_id").eq(workspace_id))
            return self.table.query_page(
                index=keys.GSI2,
                partition=keys.source_partition(source_type, source_id),
                limit=limit,
                cursor=cursor,
                filters=filters,
                shape=self.shown,
            )
        if source_type:
            also(Attr("source_type").eq(source_type))
        if source_id:
            also(Attr("source_id").eq(source_id))
        return self.page(workspace_id, limit=limit, cursor=cursor, filters=filters)
