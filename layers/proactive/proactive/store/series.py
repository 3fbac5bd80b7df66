"""The goal loop's time series: metric points, the metric catalogue and recorded events.

A metric's points share one partition sorted by timestamp, so any window is one Query and a
point sent again overwrites itself. Each metric's catalogue entry also holds its anomaly
detector's state, in one item written only if its version is the one read: that item is where
concurrent posts to a metric meet (`proactive.series` says how). Points and events expire
`retention_days` after their timestamp; a catalogue entry as long after the metric's last point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, Key

from proactive.clock import iso, parse_iso
from proactive.store import keys
from proactive.store.entities import version_is
from proactive.store.runs import expires
from proactive.store.table import Table
from proactive.store.values import body, decode_cursor, encode_cursor, from_json_text, json_text


def _window(
    table: Table,
    *,
    index: str | None,
    partition: str,
    lo: str | None,
    hi: str | None,
    limit: int,
    cursor: str | None,
    newest_first: bool,
    shape: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the partition's items whose sort key lies in [lo, hi] (either end open when
    None). A cursor from a page of another window still continues where it left off: DynamoDB
    refuses a start key outside the key condition, so such a cursor is clamped to the window."""
    pk_name, sk_name = keys.INDEX_KEYS[index]
    start = decode_cursor(cursor, index=index, partition=partition)
    if start is not None:
        at = start[sk_name]
        before_window = (lo is not None and at < lo) if not newest_first else (hi is not None and at > hi)
        past_window = (hi is not None and at >= hi) if not newest_first else (lo is not None and at <= lo)
        if past_window:
            return [], None
        if before_window:
            start = None
    condition: ConditionBase = Key(pk_name).eq(partition)
    if lo is not None and hi is not None:
        condition &= Key(sk_name).between(lo, hi)
    elif lo is not None:
        condition &= Key(sk_name).gte(lo)
    elif hi is not None:
        condition &= Key(sk_name).lte(hi)
    items: list[dict[str, Any]] = []
    while True:
        found, start = table.query(
            index=index,
            key=condition,
            limit=limit - len(items),
            start=start,
            newest_first=newest_first,
            consistent=index is None,
        )
        items.extend(shape(i) for i in found)
        if not start or len(items) >= limit:
            return items, encode_cursor(start)


class MetricPoints:
    """Each metric's points: `{timestamp, value, anomaly_score}`, oldest first."""

    kind = "metric_point"

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def item(
        self, workspace_id: str, metric: str, at: str, value: float, anomaly_score: float
    ) -> dict[str, Any]:
        """The stored form of a point (`at` as `clock.iso` writes it)."""
        return {
            **keys.series_point(workspace_id, metric, at),
            "kind": self.kind,
            "value": value,
            "anomaly_score": anomaly_score,
            keys.TTL_ATTRIBUTE: expires(parse_iso(at), self.retention_days),
        }

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Store points (from `item`), overwriting any at the same metric and timestamp."""
        self.table.put_many(items)

    def at(self, workspace_id: str, metric: str, instants: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The points stored at these timestamps, by timestamp."""
        found = self.table.batch_get([keys.series_point(workspace_id, metric, at) for at in instants])
        return {i[keys.SK]: self._shown(i) for i in found}

    def window(
        self,
        workspace_id: str,
        metric: str,
        since: str,
        until: str | None,
        *,
        limit: int,
        cursor: str | None,
        newest_first: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the points from `since` to `until` (both included), oldest first (or
        newest first)."""
        return _window(
            self.table,
            index=None,
            partition=keys.series_partition(workspace_id, metric),
            lo=since,
            hi=until,
            limit=limit,
            cursor=cursor,
            newest_first=newest_first,
            shape=self._shown,
        )

    def newest(
        self, workspace_id: str, metric: str, since: str, until: str | None, *, limit: int
    ) -> list[dict[str, Any]]:
        """The newest `limit` points from `since` to `until` (None: the latest), oldest first."""
        points: list[dict[str, Any]] = []
        cursor = None
        while len(points) < limit:
            page, cursor = self.window(
                workspace_id,
                metric,
                since,
                until,
                limit=min(1000, limit - len(points)),
                cursor=cursor,
                newest_first=True,
            )
            points.extend(page)
            if not cursor:
                break
        return points[::-1]

    @staticmethod
    def _shown(item: Mapping[str, Any]) -> dict[str, Any]:
        return {"timestamp": item[keys.SK], "value": item["value"], "anomaly_score": item["anomaly_score"]}


class MetricStates:
    """Each metric's catalogue entry: its summary (count, first and last timestamp, last value
    and score) and its detector's state, versioned."""

    kind = "metric"

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def get(self, workspace_id: str, metric: str) -> dict[str, Any] | None:
        item = self.table.get(keys.metric_state(workspace_id, metric))
        return body(item) if item else None

    def get_many(self, workspace_id: str, metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The entries of these metrics that exist, by metric name."""
        found = self.table.batch_get([keys.metric_state(workspace_id, m) for m in metrics])
        return {i["metric_name"]: body(i) for i in found}

    def save(self, state: Mapping[str, Any], *, expect_version: int) -> None:
        """Write the entry (with `version` one more than `expect_version`) if nobody wrote it since
        it was read at `expect_version` (0: it did not exist); ConditionFailed otherwise."""
        self.table.put(
            {
                **keys.metric_state(state["workspace_id"], state["metric_name"]),
                "kind": self.kind,
                **state,
                keys.VERSION_ATTRIBUTE: expect_version + 1,
                keys.TTL_ATTRIBUTE: expires(parse_iso(state["last_timestamp"]), self.retention_days),
            },
            condition=version_is(expect_version),
        )

    def page(
        self, workspace_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the workspace's metrics, by name, without their detector state."""
        return _window(
            self.table,
            index=None,
            partition=keys.metric_catalogue_partition(workspace_id),
            lo=None,
            hi=None,
            limit=limit,
            cursor=cursor,
            newest_first=False,
            shape=self.summary,
        )

    @staticmethod
    def summary(item: Mapping[str, Any]) -> dict[str, Any]:
        fields = (
            "metric_name",
            "count",
            "first_timestamp",
            "last_timestamp",
            "last_value",
            "last_anomaly_score",
        )
        return {name: item[name] for name in fields}


class EventLog:
    """Recorded events, by time in their workspace and by time per type (GSI1)."""

    kind = "event"

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def put_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Store events: `{id, workspace_id, event_type, timestamp, metadata}` (metadata kept as
        JSON text, so whatever its numbers, depth or keys it reads back as it came)."""
        self.table.put_many(
            [
                {
                    **keys.event_log_entry(e["workspace_id"], e["event_type"], e["timestamp"], e["id"]),
                    "kind": self.kind,
                    **{k: v for k, v in e.items() if k != "metadata"},
                    "metadata_json": json_text(e["metadata"], field="metadata"),
                    keys.TTL_ATTRIBUTE: expires(parse_iso(e["timestamp"]), self.retention_days),
                }
                for e in events
            ]
        )

    def page(
        self,
        workspace_id: str,
        *,
        event_type: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the events from `since` to `until` (either open), newest first."""
        lo, hi = keys.event_log_bounds(
            None if since is None else iso(since), None if until is None else iso(until)
        )
        if event_type is None:
            index, partition = None, keys.event_log_partition(workspace_id)
        else:
            index, partition = keys.GSI1, keys.event_type_partition(workspace_id, event_type)
        return _window(
            self.table,
            index=index,
            partition=partition,
            lo=lo,
            hi=hi,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            shape=self._shown,
        )

    @staticmethod
    def _shown(item: Mapping[str, Any]) -> dict[str, Any]:
        shown = body(item)
        shown["metadata"] = from_json_text(shown.pop("metadata_json", "{}"))
        return shown
