"""Runs: created once per occurrence (the id is the claim), listed by workspace and by source.

A run's payload (the data that started it) is not kept in the run: the run refers to it
(`payload_ref`), in the delivery that brought it or in an item of its own written with the run,
so the run's later writes (its start, its end) cost the run's own size only. Runs read back as
`RunRecord`s with their payload (one read for a page's payloads); runs written with their
payload inside (`payload_json`) read back as they were.

A workspace's runs are listed over `keys.RUN_LISTING_SHARDS` partitions of GSI1, merged page by
page, newest first (see `keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from pydantic import ValidationError

from proactive.clock import iso
from proactive.models.runs import RunRecord
from proactive.observability import logger
from proactive.store import keys, run_stats
from proactive.store.entities import Entities
from proactive.store.payloads import Payloads
from proactive.store.table import ConditionFailed, Table


def expires(at: datetime, days: int) -> int:
    """The TTL value for an item that expires `days` after `at`."""
    return int((at + timedelta(days=days)).timestamp())


class Runs(Entities[RunRecord]):
    kind = "run"
    record = RunRecord
    # Runs written before payloads were referenced hold theirs as `payload_json`.
    json_fields = ("payload",)

    def __init__(self, table: Table, retention_days: int, payloads: Payloads) -> None:
        super().__init__(table)
        self.retention_days = retention_days
        self.payloads = payloads

    def listing(self, entity: Mapping[str, Any]) -> dict[str, str]:
        return keys.run_listing(entity["workspace_id"], entity["created_at"], entity["id"])

    def create(self, run: RunRecord) -> bool:
        """Store a run (the fields it was made with); False if a run with that id exists (an
        occurrence already claimed). The run's `payload` is stored beside it, once, unless the
        run names a stored one (`payload_ref`, e.g. its delivery's)."""
        ttl = expires(run.created_at, self.retention_days)
        created = iso(run.created_at)
        extra: dict[str, Any] = {keys.TTL_ATTRIBUTE: ttl}
        if run.source_id:
            extra.update(keys.source_listing(run.source_type, run.source_id, created, run.id))
        stored = {k: v for k, v in run.as_stored().items() if k != "payload"}
        if stored.get("payload_ref") is None:
            stored.pop("payload_ref", None)
            if run.payload is not None:
                stored["payload_ref"] = self.payloads.put(run.id, run.payload, expires_at=ttl)
        try:
            self.put(stored, extra=extra)
        except ConditionFailed:
            return False
        if run.status in run_stats.STATUSES:
            # Made final (a missed occurrence, a skipped execution): counted by the write that made it.
            run_stats.RunStats(self.table, self.retention_days).count(run)
        return True

    def shown(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return self._shown_many([item])[0]

    def read_many(self, items: Sequence[Mapping[str, Any]]) -> list[RunRecord]:
        """Runs as records, in order, their payloads read back in one batch; one that does not
        read as a run is left out, with a warning naming it."""
        read: list[RunRecord] = []
        for item, shown in zip(items, self._shown_many(items), strict=True):
            try:
                read.append(RunRecord.model_validate(shown))
            except ValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
                logger.warning(
                    "a stored item does not read as its record and is left out",
                    extra={"item_id": item.get("id"), "kind": self.kind, "fields": fields},
                )
        return read

    def _shown_many(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Runs as callers see them, each with its payload read back (one read for them all)."""
        shown = [super(Runs, self).shown(i) for i in items]
        refs = [str(s["payload_ref"]) for s in shown if s.get("payload_ref")]
        found = self.payloads.get_many(refs) if refs else {}
        for run in shown:
            ref = run.pop("payload_ref", None)
            if ref:
                run["payload"] = found.get(str(ref))
        return shown

    def page(
        self,
        workspace_id: str,
        *,
        limit: int,
        cursor: str | None,
        filters: ConditionBase | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        """One page of the workspace's runs, newest first, merged from its listing's shards."""
        items, next_cursor = self.table.merged_page(
            index=keys.GSI1,
            partitions=keys.run_listing_partitions(workspace_id),
            named=keys.workspace_partition(self.kind, workspace_id),
            limit=limit,
            cursor=cursor,
            filters=filters,
            shape=dict,
        )
        return self.read_many(items), next_cursor

    def all_in(self, workspace_id: str, *, filters: ConditionBase | None = None) -> list[RunRecord]:
        """Every run of the workspace (that matches `filters`), oldest first."""
        found = [
            item
            for partition in keys.run_listing_partitions(workspace_id)
            for item in self.table.query_all(
                index=keys.GSI1, key=Key(keys.GSI1PK).eq(partition), filters=filters
            )
        ]
        found.sort(key=lambda i: str(i.get(keys.GSI1SK, "")))
        return self.read_many(found)

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
    ) -> RunRecord:
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
        agent_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        max_read: int | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        """Runs newest first, narrowed by status, source, agent, creation time (`since`
        included, `until` not) and `text` found in the task or the error (any case). A source
        type and id together are one index partition, anything else the workspace's listing; the
        time range is a key condition of either, so a page reads only that range. The other
        filters apply to the runs read; with `max_read`, a page reads at most that many runs
        (it may then hold fewer than `limit`, with a cursor to go on from)."""
        filters: ConditionBase | None = None

        def also(cond: ConditionBase) -> None:
            nonlocal filters
            filters = cond if filters is None else filters & cond

        if status:
            also(Attr("status").eq(status))
        if agent_id:
            also(Attr("agent_id").eq(agent_id))
        if source_id and source_type:
            also(Attr("workspace_id").eq(workspace_id))
            index, named = keys.GSI2, keys.source_partition(source_type, source_id)
            partitions = [named]
        else:
            if source_type:
                also(Attr("source_type").eq(source_type))
            if source_id:
                also(Attr("source_id").eq(source_id))
            index, named = keys.GSI1, keys.workspace_partition(self.kind, workspace_id)
            partitions = keys.run_listing_partitions(workspace_id)
        items, next_cursor = self.table.merged_page(
            index=index,
            partitions=partitions,
            named=named,
            limit=limit,
            cursor=cursor,
            filters=filters,
            keep=_mentioning(text) if text else None,
            lowest=iso(since) if since else None,
            below=iso(until) if until else None,
            max_read=max_read,
            shape=dict,
        )
        return self.read_many(items), next_cursor

    def since(self, workspace_id: str, since: datetime, fields: Sequence[str]) -> list[dict[str, Any]]:
        """The `fields` of every run of the workspace created at or after `since`, oldest first:
        each shard's listing from `since` on, then the runs' fields alone (no payload, no steps),
        as raw values. What reads a window of history (mining) pays for that window only."""
        keys_found: list[dict[str, Any]] = []
        for partition in keys.run_listing_partitions(workspace_id):
            condition = Key(keys.GSI1PK).eq(partition) & Key(keys.GSI1SK).gte(iso(since))
            keys_found.extend(self.table.query_all(index=keys.GSI1, key=condition, whole=False))
        keys_found.sort(key=lambda entry: str(entry[keys.GSI1SK]))
        found = self.table.batch_get(
            [{keys.PK: e[keys.PK], keys.SK: e[keys.SK]} for e in keys_found], consistent=False, fields=fields
        )
        return sorted(found, key=lambda run: str(run.get("created_at", "")))


def _mentioning(text: str) -> Callable[[Mapping[str, Any]], bool]:
    """Whether a stored run holds `text` in its task or its error, in any case."""
    wanted = text.casefold()

    def mentions(item: Mapping[str, Any]) -> bool:
        return any(
            isinstance(value, str) and wanted in value.casefold()
            for value in (item.get("task"), item.get("error"))
        )

    return mentions
