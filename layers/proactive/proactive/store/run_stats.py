"""Run statistics: what a workspace's finished runs add up to, hour by hour, kept as they finish.

Each hour of a workspace holds one item of counters (`keys.run_stats_hour`), added to with
DynamoDB's `ADD` when a run reaches its final status (the hour it finished in):

- `n_<status>`: runs that ended succeeded, failed, cancelled or missed;
- `d_<bucket>`: how long the runs that started took, from their first start to their end, on
  the fixed log-scale buckets of `bucket_of` (eight a decade, from 10 ms to 100,000 s), so the
  median and 95th percentile of a week are estimated from at most 168 items (`percentile`);
- `agent#<agent id>#<field>`: each agent's runs, failed runs, input and output tokens and cost.

A window of statistics is one query of the workspace's partition, whatever the number of runs.
Counting is a write of its own after the run's: `count` never raises (a failure is logged and
the run goes on), so a failed write leaves the run uncounted rather than failing it. All of a
workspace's finishing runs of one hour write one item: past about a thousand a second, writes
are throttled, and those counts are lost (logged), never the runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from proactive.clock import iso, parse_iso
from proactive.models.runs import RunRecord
from proactive.observability import logger
from proactive.store import keys
from proactive.store.table import Table, Update

# The final statuses counted, in the order they are shown.
STATUSES = ("succeeded", "failed", "cancelled", "missed")
# The duration histogram: bucket 0 holds durations under FIRST_EDGE seconds; bucket i (1 to
# LAST) those from edge(i - 1) up to edge(i); bucket LAST + 1 those of edge(LAST) and more.
FIRST_EDGE = 0.01
PER_DECADE = 8
LAST = PER_DECADE * 7
# Each agent's fields, as counted.
AGENT_FIELDS = ("runs", "failed", "input_tokens", "output_tokens", "cost_usd")
# Statistics are kept at least this long, so the longest window (a week) is always whole.
MIN_KEPT_DAYS = 8


def edge(i: int) -> float:
    """The upper edge, in seconds, of duration bucket `i` (the lower edge of bucket i + 1)."""
    return FIRST_EDGE * 10 ** (i / PER_DECADE)


def bucket_of(seconds: float) -> int:
    """The duration bucket `seconds` falls in."""
    if seconds < FIRST_EDGE:
        return 0
    i = math.floor(math.log10(seconds / FIRST_EDGE) * PER_DECADE + 1e-9) + 1
    # Floating point may put a value at an edge one bucket off: settle it on the edges themselves.
    while i > 1 and seconds < edge(i - 1):
        i -= 1
    while i <= LAST and seconds >= edge(i):
        i += 1
    return min(i, LAST + 1)


def bounds(i: int) -> tuple[float, float]:
    """The durations bucket `i` holds: [low, high); high is infinite for the last bucket."""
    if i <= 0:
        return 0.0, FIRST_EDGE
    if i > LAST:
        return edge(LAST), math.inf
    return edge(i - 1), edge(i)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """An estimate of the `q` quantile (0 to 1) of the durations counted in `histogram`
    (bucket -> count); None when it counts none. Within its bucket the value is interpolated on
    the log scale (linearly in the first bucket; the last gives its lower edge), so the estimate
    is off by less than one bucket's width: a factor of 10^(1/8), about 33%, at worst."""
    total = sum(c for c in histogram.values() if c > 0)
    if total <= 0:
        return None
    rank = min(max(q, 0.0), 1.0) * total
    seen = 0
    for i in sorted(b for b, c in histogram.items() if c > 0):
        count = histogram[i]
        if seen + count >= rank:
            share = (rank - seen) / count
            low, high = bounds(i)
            if i <= 0:
                return low + (high - low) * share
            if math.isinf(high):
                return low
            return float(low * (high / low) ** share)
        seen += count
    return bounds(max(histogram))[0]


def hour_of(instant: datetime) -> datetime:
    """The start of the (UTC) hour `instant` falls in."""
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class HourStats:
    """One hour's counters, as read back."""

    hour: datetime
    counts: dict[str, int] = field(default_factory=dict)
    durations: dict[int, int] = field(default_factory=dict)
    agents: dict[str, dict[str, float]] = field(default_factory=dict)


def _read(item: Mapping[str, Any]) -> HourStats | None:
    """An item as counters; None for one that does not read as them (it is left out)."""
    try:
        stats = HourStats(hour=parse_iso(str(item[keys.SK])))
    except (KeyError, ValueError):
        return None
    for name, value in item.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        prefix, _, rest = name.partition("_")
        if prefix == "n" and rest in STATUSES:
            stats.counts[rest] = int(value)
        elif prefix == "d" and rest.isdigit():
            stats.durations[int(rest)] = int(value)
        elif name.startswith("agent#"):
            agent, _, what = name.removeprefix("agent#").rpartition("#")
            if agent and what in AGENT_FIELDS:
                stats.agents.setdefault(agent, {})[what] = value
    return stats


def _hour_of_run(run: RunRecord, now: datetime | None) -> datetime:
    """The hour a finished run is counted in: that of its end (else of `now`)."""
    if run.status not in STATUSES:
        raise ValueError(f"run {run.id} is {run.status}, not finished")
    return hour_of(run.finished_at or now or datetime.now(UTC))


def _added(run: RunRecord) -> dict[str, int | float]:
    """What a run that has just finished adds to its hour's counters."""
    agent = f"agent#{run.agent_id}#"
    added: dict[str, int | float] = {f"n_{run.status}": 1, f"{agent}runs": 1}
    if run.status == "failed":
        added[f"{agent}failed"] = 1
    if run.started_at is not None and run.finished_at is not None:
        took = max(0.0, (run.finished_at - run.started_at).total_seconds())
        added[f"d_{bucket_of(took)}"] = 1
    usage = run.usage or {}
    for name in ("input_tokens", "output_tokens"):
        if isinstance(usage.get(name), int) and usage[name] > 0:
            added[f"{agent}{name}"] = int(usage[name])
    cost = usage.get("cost_usd")
    # A number DynamoDB cannot hold (infinite, not a number) is left out, not the whole update.
    if isinstance(cost, int | float) and math.isfinite(cost) and cost > 0:
        added[f"{agent}cost_usd"] = round(float(cost), 6)
    return added


class RunStats:
    """Each workspace's hourly run counters."""

    kind = "run_stats"

    def __init__(self, table: Table, retention_days: int) -> None:
        self.table = table
        self.kept_days = max(retention_days, MIN_KEPT_DAYS)

    def record(self, run: RunRecord, *, now: datetime | None = None) -> None:
        """Add `run`, which has just reached its final status, to its hour's counters (the hour
        of its `finished_at`, else of `now`). Raises what the write raises."""
        self._add(run.workspace_id, _hour_of_run(run, now), _added(run))

    def record_many(self, runs: Iterable[RunRecord], *, now: datetime | None = None) -> int:
        """Add finished runs to their hours' counters, as `record` adds each, with one write per
        workspace and hour (counting runs stored before their statistics were kept, say). How
        many writes were made. Raises what a write raises: the hours written before it stay."""
        summed: dict[tuple[str, datetime], dict[str, int | float]] = {}
        for run in runs:
            into = summed.setdefault((run.workspace_id, _hour_of_run(run, now)), {})
            for name, amount in _added(run).items():
                into[name] = into.get(name, 0) + amount
        for (workspace_id, hour), added in summed.items():
            self._add(workspace_id, hour, added)
        return len(summed)

    def _add(self, workspace_id: str, hour: datetime, added: Mapping[str, int | float]) -> None:
        self.table.update(
            Update(
                key=keys.run_stats_hour(workspace_id, iso(hour)),
                set_values={
                    "workspace_id": workspace_id,
                    keys.TTL_ATTRIBUTE: int((hour + timedelta(days=self.kept_days)).timestamp()),
                },
                add=added,
                must_exist=False,
            ),
            returning=False,
        )

    def count(self, run: RunRecord, *, now: datetime | None = None) -> bool:
        """`record`, but a failure is logged and not raised (statistics never fail a run);
        whether the run was counted."""
        try:
            self.record(run, now=now)
        except Exception:
            logger.exception(
                "the run's statistics could not be recorded; the run is not affected",
                extra={"run_id": run.id, "workspace_id": run.workspace_id, "status": run.status},
            )
            return False
        return True

    def hours(self, workspace_id: str, since: datetime, until: datetime) -> list[HourStats]:
        """The workspace's hourly counters from the hour of `since` to that of `until` (both
        included), oldest first: one query. An hour no run finished in has no item."""
        condition = Key(keys.PK).eq(keys.run_stats_partition(workspace_id)) & Key(keys.SK).between(
            iso(hour_of(since)), iso(hour_of(until))
        )
        return [stats for item in self._items(condition) if (stats := _read(item)) is not None]

    def _items(self, condition: Any) -> Iterator[dict[str, Any]]:
        return self.table.query_all(index=None, key=condition)
