"""The goal loop's settings (one item per workspace, id: the workspace id) and its reads of the
newest points of a metric.

The settings are written whole, on the condition that their version is still the one read, so
two updates made from the same read cannot both land: the second is told (ConditionFailed) and
applies its change again on what the first one wrote (`entities.modify`).

A forecast wants a metric's latest history, so points are read newest first up to a bound: a
metric sampled every few seconds keeps its last hours rather than its oldest ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Key

from proactive.clock import parse_iso
from proactive.store import keys
from proactive.store.entities import version_is
from proactive.store.schedules import DueEntities
from proactive.store.table import Table


class LoopSettings(DueEntities):
    kind = "loop_settings"

    def save(self, workspace_id: str, settings: Mapping[str, Any], *, expect_version: int) -> dict[str, Any]:
        """Write the settings (version `expect_version` + 1) if nobody wrote them since they were
        read at `expect_version` (0: never stored); ConditionFailed otherwise. Returns them as
        stored."""
        saved = {
            **settings,
            "id": workspace_id,
            "workspace_id": workspace_id,
            keys.VERSION_ATTRIBUTE: expect_version + 1,
        }
        due_at = saved.get("next_analysis_at")
        self.table.put(
            {
                **self.key(workspace_id),
                "kind": self.kind,
                **saved,
                # In the due index while an analysis is due: the dispatcher starts it.
                **self.due.attributes(workspace_id, parse_iso(due_at) if due_at else None),
            },
            condition=version_is(expect_version),
        )
        return saved


class MetricHistory:
    """A metric's newest points, as (timestamp, value) oldest first."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def latest(self, workspace_id: str, metric: str, *, since: str, limit: int) -> list[tuple[str, float]]:
        """The newest `limit` points at or after `since` (as `clock.iso` writes instants)."""
        condition = Key(keys.PK).eq(keys.series_partition(workspace_id, metric)) & Key(keys.SK).gte(since)
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            items, start = self.table.query(
                index=None, key=condition, limit=limit - len(found), start=start, newest_first=True
            )
            found.extend(items)
            if not start:
                break
        return [(str(item[keys.SK]), float(item["value"])) for item in reversed(found)]
