"""Suggestions: whether mining finds what a workspace's history holds, how rarely it finds
something in random activity, and what mining one workspace costs.

Histories are generated from fixed seeds (numpy's default_rng), `BENCH_SEEDS` seeds per case
(default 20), and mined as the worker mines them: `mining.mine` over a `History` of the read
window (42 days) holding five weeks of activity, as a workspace five weeks old has. For each case,
recall is the share of seeds whose expected suggestion was found, and precision the share of
the routines (or runs that follow events) found, over all seeds, that are the expected one.

1. Weekday runs at 09:05 New York time, +/- 4 minutes: a weekday cron (`M 9 * * 1-5`, M from 0
   to 10) in that zone; again over five weeks that span the change to daylight saving time
   (8 March 2026).
2. A daily run at 17:30 Paris time (+/- 4 minutes) missed on 20% of the days: `M 17 * * D`, M from
   25 to 35, D at least five weekdays; again with six weeks of activity, the whole window.
3. A run every four hours (00:00, 04:00 ... 20:00 UTC, +/- 3 minutes): the six hours found, as
   one cron with hours 0,4,8,12,16,20 or as routines of their own.
4. 100 histories of runs at random (Poisson) times, 1, 2, 4 or 8 a day: the schedule suggestions
   found across them all (the target is at most 5).
5. Alert events, 80% of them followed by a manual run within 1 to 10 minutes, among other event
   types: the association with alerts found. With the same events and runs at random times,
   none should be (over five weeks, and over six, the whole window).
6. Mining one workspace of 10,000 runs and 50,000 recorded events. moto serves a few hundred
   items a second, so the table is read at a twentieth of that size: `refresh` as the worker
   calls it, with its two parts timed apart, reading the history (most of it moto answering,
   far more slowly than DynamoDB) and `mine`. At full size, `mine` over the history in memory
   (the statistics, as in AWS), and the read estimated from what was measured: the calls
   (those paging through runs and events grow with them) at an assumed DynamoDB latency each,
   plus the time per item spent outside moto (parsing the answers, making the history). The
   target is under 5 seconds for one invocation.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import numpy as np

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from proactive.suggestions.history import WINDOW_DAYS, EventSeen, History, RunSeen
from proactive.suggestions.mining import mine
from tests.bench.common import CallCounter, quiet, spread

SEEDS = int(os.environ.get("BENCH_SEEDS", "20"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RANDOM_HISTORIES = 100
RANDOM_RATES = (1, 2, 4, 8)  # runs a day, a quarter of the random histories each
WEEKS = 5
WORKSPACE = "ws-bench"
AGENT = "agent-bench"
TASK = "Write the daily report"
# Fixed instants: a Wednesday in June, and a Friday three weeks after the March change to
# daylight saving time in New York (its five weeks start on 20 February).
NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
NOW_DST = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
EVERY_FOUR_HOURS = frozenset(range(0, 24, 4))
STORED_RUNS = 10_000
STORED_EVENTS = 50_000
# moto serves a few hundred items a second: the workspace read through it is a twentieth as big.
TABLE_RUNS = STORED_RUNS // 20
TABLE_EVENTS = STORED_EVENTS // 20
# DynamoDB's time for one call reading a page of the history (up to 1,000 small items) from
# inside the region, the network included: an assumption of the estimate, stated once.
CALL_MS = 15.0

Expected = Callable[[int, set[int], str], bool]


def _run(i: int, at: datetime) -> RunSeen:
    """A manual run of the report agent."""
    return RunSeen(
        id=f"run-{i:06d}",
        agent_id=AGENT,
        source_type="manual",
        source_id=None,
        task=TASK,
        created_at=at,
        status="succeeded",
        error=None,
        attempts=1,
    )


def _history(zone: str, now: datetime, runs: Sequence[datetime], events: Sequence[EventSeen] = ()) -> History:
    return History(
        workspace_id=WORKSPACE,
        zone=zone,
        since=now - timedelta(days=WINDOW_DAYS),
        until=now,
        runs=[_run(i, at) for i, at in enumerate(sorted(runs))],
        events=sorted(events, key=lambda e: e.at),
        metrics={},
        agents=[{"id": AGENT, "name": "report-agent"}],
        schedules=[],
        triggers=[],
        monitors=[],
        channels=[],
        settings={},
    )


def _days(zone: ZoneInfo, now: datetime, weeks: int = WEEKS) -> list[datetime]:
    """Local midnights of the days of the `weeks` before `now`."""
    first = (now - timedelta(weeks=weeks)).astimezone(zone).date()
    last = now.astimezone(zone).date()
    return [
        datetime(day.year, day.month, day.day, tzinfo=zone)
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


def _at(midnight: datetime, minute: float) -> datetime:
    """`minute` minutes past local midnight (wall-clock time), in UTC."""
    return (midnight + timedelta(minutes=minute)).astimezone(UTC)


def _routines(history: History, now: datetime) -> list[tuple[int, set[int], str]]:
    """The schedule suggestions mining finds: (minute, hours, day-of-week field) of each cron."""
    found = []
    for shown in mine(history, now).patterns:
        if shown["kind"] != "recurring_time":
            continue
        minute, hours, _, _, days = shown["statistics"]["cron"].split()
        found.append((int(minute), {int(h) for h in hours.split(",")}, days))
    return found


def _weekday_count(days: str) -> int:
    """How many weekdays a cron's day-of-week field names."""
    if days == "*":
        return 7
    count = 0
    for part in days.split(","):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


# The histories of each case, by seed, and what counts as its expected routine.


def _weekday_mornings(seed: int, now: datetime) -> History:
    zone = ZoneInfo("America/New_York")
    rng = np.random.default_rng(seed)
    runs = [_at(day, 9 * 60 + 5 + rng.uniform(-4, 4)) for day in _days(zone, now) if day.weekday() < 5]
    return _history("America/New_York", now, [r for r in runs if r < now])


def _weekday_expected(minute: int, hours: set[int], days: str) -> bool:
    return hours == {9} and 0 <= minute <= 10 and days == "1-5"


def _evenings(seed: int, now: datetime, weeks: int = WEEKS) -> History:
    zone = ZoneInfo("Europe/Paris")
    rng = np.random.default_rng(seed)
    runs = [
        _at(day, 17 * 60 + 30 + rng.uniform(-4, 4)) for day in _days(zone, now, weeks) if rng.random() >= 0.2
    ]
    return _history("Europe/Paris", now, [r for r in runs if r < now])


def _evening_expected(minute: int, hours: set[int], days: str) -> bool:
    return hours == {17} and 25 <= minute <= 35 and _weekday_count(days) >= 5


def _four_hourly(seed: int, now: datetime) -> History:
    rng = np.random.default_rng(seed)
    runs = [
        _at(day, hour * 60 + rng.uniform(-3, 3))
        for day in _days(ZoneInfo("UTC"), now)
        for hour in sorted(EVERY_FOUR_HOURS)
    ]
    return _history("UTC", now, [r for r in runs if r < now])


def _four_hourly_part(minute: int, hours: set[int], days: str) -> bool:
    return days == "*" and hours <= EVERY_FOUR_HOURS and minute <= 5


def _measured(
    make: Callable[[int, datetime], History],
    expected: Expected,
    now: datetime,
    covered: Callable[[list[tuple[int, set[int], str]]], bool] | None = None,
) -> tuple[float, float, int]:
    """Recall (seeds whose expected routine was found), precision (expected among found), found."""
    hits = right = total = 0
    for seed in range(SEEDS):
        found = _routines(make(seed, now), now)
        matching = [f for f in found if expected(*f)]
        total += len(found)
        right += len(matching)
        hits += bool(covered(matching) if covered else matching)
    return hits / SEEDS, right / total if total else 1.0, total


def _six_hours(found: list[tuple[int, set[int], str]]) -> bool:
    return set().union(*(hours for _, hours, _ in found)) == EVERY_FOUR_HOURS if found else False


def _routine_cases() -> None:
    cases: list[tuple[str, Callable[[int, datetime], History], Expected, datetime, Any]] = [
        ("weekdays 09:05 New York (+/-4 min)", _weekday_mornings, _weekday_expected, NOW, None),
        (
            "weekdays 09:05 New York, five weeks across the DST change",
            _weekday_mornings,
            _weekday_expected,
            NOW_DST,
            None,
        ),
        ("daily 17:30 Paris, 20% of days missed", _evenings, _evening_expected, NOW, None),
        (
            "the same over six weeks, the whole window",
            partial(_evenings, weeks=WINDOW_DAYS // 7),
            _evening_expected,
            NOW,
            None,
        ),
        ("every 4 hours from 00:00 UTC (+/-3 min)", _four_hourly, _four_hourly_part, NOW, _six_hours),
    ]
    for name, make, expected, now, covered in cases:
        started = time.perf_counter()
        recall, precision, found = _measured(make, expected, now, covered)
        took = time.perf_counter() - started
        print(
            f"[suggestions] {name}: recall {recall:.0%}, precision {precision:.0%} "
            f"({found} routines found over {SEEDS} seeds; {took * 1000 / SEEDS:.0f} ms a history)"
        )


def _random_runs() -> None:
    total = 0
    per_rate = dict.fromkeys(RANDOM_RATES, 0)
    for seed in range(RANDOM_HISTORIES):
        rate = RANDOM_RATES[seed % len(RANDOM_RATES)]
        rng = np.random.default_rng(10_000 + seed)
        count = int(rng.poisson(rate * 7 * WEEKS))
        runs = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, WEEKS * 7 * 86_400, count)]
        found = len(_routines(_history("America/New_York", NOW, runs), NOW))
        total += found
        per_rate[rate] += found
    by_rate = ", ".join(f"{per_rate[r]} at {r}/day" for r in RANDOM_RATES)
    print(
        f"[suggestions] runs at random times, {RANDOM_HISTORIES} histories of five weeks: "
        f"{total} schedule suggestions in all ({by_rate}; target at most 5)"
    )


# Runs that follow events.

NOISE_TYPES = ("deploy", "signup", "invoice.paid")


def _event_history(seed: int, related: bool, weeks: int = WEEKS) -> History:
    """Alerts (3 a day) among other events (5 a day of each type) over `weeks`, with manual runs:
    80% of the alerts followed by one within 1 to 10 minutes, plus one a day at random
    (`related`), or as many runs at random times."""
    rng = np.random.default_rng(20_000 + seed)
    span = weeks * 7 * 86_400

    def times(rate: float) -> list[datetime]:
        count = int(rng.poisson(rate * 7 * weeks))
        return sorted(NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, span, count))

    alerts = times(3)
    events = [
        EventSeen(f"evt-a{i}", "alert", at, {"severity": str(rng.choice(["high", "low"]))})
        for i, at in enumerate(alerts)
    ]
    for kind in NOISE_TYPES:
        events += [EventSeen(f"evt-{kind}-{i}", kind, at, {}) for i, at in enumerate(times(5))]
    followers = [at + timedelta(minutes=float(rng.uniform(1, 10))) for at in alerts if rng.random() < 0.8]
    runs = [*followers, *times(1)]
    if not related:
        runs = times(len(runs) / (7 * weeks))
    return _history("UTC", NOW, [r for r in runs if r < NOW], events)


def _associations(history: History) -> list[str]:
    return [
        p["statistics"]["event_type"] for p in mine(history, NOW).patterns if p["kind"] == "followed_by_run"
    ]


def _association_cases() -> None:
    started = time.perf_counter()
    hits = right = total = 0
    for seed in range(SEEDS):
        found = _associations(_event_history(seed, related=True))
        total += len(found)
        right += found.count("alert")
        hits += "alert" in found
    took = time.perf_counter() - started
    print(
        f"[suggestions] alerts followed by a manual run within 10 min in 80% of cases: "
        f"recall {hits / SEEDS:.0%}, precision {right / total if total else 1:.0%} "
        f"({total} associations found over {SEEDS} seeds; {took * 1000 / SEEDS:.0f} ms a history)"
    )
    for weeks, name in (
        (WEEKS, "the same events, runs at random times"),
        (WINDOW_DAYS // 7, "the same over six weeks, the whole window"),
    ):
        by_seed = [_associations(_event_history(seed, related=False, weeks=weeks)) for seed in range(SEEDS)]
        types = sorted({kind for kinds in by_seed for kind in kinds})
        print(
            f"[suggestions] {name}: an association found for {sum(1 for f in by_seed if f) / SEEDS:.0%} "
            f"of {SEEDS} seeds ({sum(len(f) for f in by_seed)} in all{': ' if types else ''}"
            f"{', '.join(types)}; target none)"
        )


# Mining a workspace.


def _workspace(runs: int, events: int, agents: Sequence[str]) -> tuple[list[RunSeen], list[EventSeen]]:
    """Runs over five weeks (a quarter by hand, the rest from schedules and triggers, one in ten
    failed) of `agents`, and events of 20 types with a small payload."""
    rng = np.random.default_rng(30_000)
    span = WEEKS * 7 * 86_400
    sources = ("manual", "schedule", "schedule", "trigger")
    seen_runs = [
        RunSeen(
            id=f"run-{i:06d}",
            agent_id=agents[int(rng.integers(len(agents)))],
            source_type=sources[i % len(sources)],
            source_id=None if i % len(sources) == 0 else f"src-{int(rng.integers(20))}",
            task=f"Task {int(rng.integers(8))} of the day",
            created_at=NOW - timedelta(seconds=float(ago)),
            status="failed" if rng.random() < 0.1 else "succeeded",
            error=None,
            attempts=1,
        )
        for i, ago in enumerate(rng.uniform(0, span, runs))
    ]
    seen_events = [
        EventSeen(
            id=f"evt-{i:06d}",
            type=f"type-{int(rng.integers(20))}",
            at=NOW - timedelta(seconds=float(ago)),
            metadata={"severity": str(rng.choice(["low", "high"])), "count": int(rng.integers(1000))},
        )
        for i, ago in enumerate(rng.uniform(0, span, events))
    ]
    return sorted(seen_runs, key=lambda r: r.created_at), sorted(seen_events, key=lambda e: e.at)


def _in_memory() -> tuple[int, int, list[float]]:
    """`mine` over the history of a workspace of STORED_RUNS runs and STORED_EVENTS events."""
    agents = [f"agent-{i}" for i in range(5)]
    runs, events = _workspace(STORED_RUNS, STORED_EVENTS, agents)
    seen = replace(
        _history("America/New_York", NOW, []),
        runs=runs,
        events=events,
        agents=[{"id": a, "name": a} for a in agents],
    )
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        mine(seen, NOW)
        times.append(time.perf_counter() - started)
    return len(runs), len(events), times


def _load(store: Any, runs: int, events: int) -> None:
    """The workspace of `_workspace`, written with the store: runs one by one, events in batches."""
    from proactive.agents import create_agent
    from proactive.clock import iso
    from proactive.loop import settings
    from proactive.models.agents import AgentCreate
    from proactive.models.runs import RunStatus, SourceType
    from proactive.runs import new_run

    settings.update(store, WORKSPACE, {"timezone": "America/New_York"}, NOW)
    agents = [
        str(create_agent(store, AgentCreate(workspace_id=WORKSPACE, name=f"agent-{i}"), NOW)["id"])
        for i in range(5)
    ]
    seen_runs, seen_events = _workspace(runs, events, agents)
    for run in seen_runs:
        store.runs.create(
            new_run(
                run_id=run.id,
                workspace_id=WORKSPACE,
                agent_id=run.agent_id,
                task=run.task,
                source_type=SourceType(run.source_type),
                source_id=run.source_id,
                now=run.created_at,
                status=RunStatus(run.status),
            )
        )
    items = [
        {
            "id": e.id,
            "workspace_id": WORKSPACE,
            "event_type": e.type,
            "timestamp": iso(e.at),
            "metadata": dict(e.metadata),
        }
        for e in seen_events
    ]
    for start in range(0, len(items), 1000):
        store.events_log.put_many(items[start : start + 1000])


class _Timed:
    """A function that notes how long each call took, how much of it moto spent answering and how
    many calls to AWS it made."""

    def __init__(self, function: Callable[..., Any], serving: list[float], counter: CallCounter) -> None:
        self.function = function
        self.serving = serving
        self.counter = counter
        self.times: list[float] = []
        self.served: list[float] = []
        self.calls: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        before, calls = sum(self.serving), self.counter.total
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.times.append(time.perf_counter() - started)
            self.served.append(sum(self.serving) - before)
            self.calls.append(self.counter.total - calls)


@dataclass
class _TableFigures:
    refresh: list[float]
    read: _Timed
    mine: _Timed
    fixed_calls: int


def _through_the_table() -> _TableFigures:
    """`refresh` of a workspace of TABLE_RUNS runs and TABLE_EVENTS events stored in moto, with
    its history's read and `mine` timed within it and the time moto spent answering requests; and
    the calls reading an empty workspace makes (those that do not grow with the history)."""
    from moto.core.botocore_stubber import BotocoreStubber

    from proactive.store import Store
    from proactive.suggestions import history, mining
    from proactive.suggestions.refresh import refresh
    from tests.mockaws import mocked_aws

    serving: list[float] = []
    answer = BotocoreStubber.process_request

    def served(self: Any, request: Any) -> Any:
        started = time.perf_counter()
        try:
            return answer(self, request)
        finally:
            serving.append(time.perf_counter() - started)

    with mocked_aws("bench-suggestions"):
        store = Store()
        _load(store, TABLE_RUNS, TABLE_EVENTS)
        counter = CallCounter(store.table.client)
        history.read(store, "ws-empty", NOW)
        fixed_calls = counter.total
        read, mined = _Timed(history.read, serving, counter), _Timed(mining.mine, serving, counter)
        whole = []
        with (
            patch.object(history, "read", read),
            patch.object(mining, "mine", mined),
            patch.object(BotocoreStubber, "process_request", served),
        ):
            for _ in range(RUNS):
                started = time.perf_counter()
                refresh(store, WORKSPACE, NOW)
                whole.append(time.perf_counter() - started)
    return _TableFigures(whole, read, mined, fixed_calls)


def _stored_workspace() -> None:
    runs, events, mine_times = _in_memory()
    table = _through_the_table()
    read = statistics.median(table.read.times)
    served = statistics.median(table.read.served)
    calls = max(table.read.calls)
    # What stays in AWS of reading: parsing the answers and making the history of them, per item.
    client = (read - served) / (TABLE_RUNS + TABLE_EVENTS)
    # The calls that page through runs and events grow with them; the others do not.
    scale = (runs + events) / (TABLE_RUNS + TABLE_EVENTS)
    full_calls = round(table.fixed_calls + (calls - table.fixed_calls) * scale)
    estimate = (runs + events) * client + full_calls * CALL_MS / 1000
    print(
        f"[suggestions] refresh of a workspace of {TABLE_RUNS:,} runs and {TABLE_EVENTS:,} events "
        f"stored in moto: {spread(table.refresh, ' s', 1, 2)}; of which reading the history "
        f"{read:.2f} s ({calls} calls; moto answering them {served:.2f} s, far slower than "
        f"DynamoDB; parsing and reading the answers {client * 1e6:.0f} us an item) and mine() "
        f"{spread(table.mine.times, ' s', 1, 2)}"
    )
    print(
        f"[suggestions] a workspace of {runs:,} runs and {events:,} events: mine() "
        f"{spread(mine_times, ' s', 1, 2)} (the statistics, as in AWS); reading its history "
        f"about {estimate:.1f} s in AWS ({full_calls} calls at {CALL_MS:.0f} ms, an assumption, "
        f"and {client * 1e6:.0f} us an item as measured here); in all about "
        f"{statistics.median(mine_times) + estimate:.1f} s, for a target under 5 s an invocation"
    )


def main() -> None:
    quiet()
    _routine_cases()
    _random_runs()
    _association_cases()
    _stored_workspace()


if __name__ == "__main__":
    main()
