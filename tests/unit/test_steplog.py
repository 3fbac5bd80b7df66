"""A run's steps stay within what one item can hold, and say what they left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count

from proactive.agents.runtimes import MAX_DETAIL_CHARS, MAX_STEPS, MAX_STEPS_BYTES, StepLog


def clock() -> StepLog:
    ticks = count()
    start = datetime(2026, 6, 1, tzinfo=UTC)
    return StepLog(clock=lambda: start + timedelta(seconds=next(ticks)))


def test_past_the_count_the_oldest_go_and_a_marker_says_how_many() -> None:
    log = clock()
    log.add("attempt_started", attempt=1)
    for n in range(MAX_STEPS + 49):
        log.add("tool_call", tool="fetch_url", n=n)
    assert len(log.steps) == MAX_STEPS
    first, marker, *rest = log.steps
    assert first["type"] == "attempt_started"
    assert (marker["type"], marker["dropped"]) == ("truncated", 51)
    assert [s["n"] for s in rest] == list(range(51, MAX_STEPS + 49))


def test_long_details_are_cut_and_all_steps_stay_within_the_byte_budget() -> None:
    log = clock()
    log.add("attempt_started", attempt=1)
    for n in range(80):
        log.add("tool_call", tool="fetch_url", arguments={"url": "x" * 5000}, error="e" * 5000, n=n)
    newest = log.steps[-1]
    assert newest["n"] == 79
    assert newest["error"].endswith(" … [truncated]")
    assert len(newest["error"]) == MAX_DETAIL_CHARS + len(" … [truncated]")
    assert len(json.dumps(log.steps)) <= MAX_STEPS_BYTES
    _, marker, *rest = log.steps
    assert marker["type"] == "truncated"
    assert marker["dropped"] + len(rest) == 80  # every step is either kept or counted


def test_one_step_larger_than_the_budget_is_still_kept() -> None:
    log = clock()
    log.add("attempt_started", attempt=1)
    for n in range(3):
        log.add("tool_call", **{f"k{i}": "y" * MAX_DETAIL_CHARS for i in range(40)}, n=n)
    assert log.steps[-1]["n"] == 2
    assert log.steps[1] == {"at": log.steps[1]["at"], "type": "truncated", "dropped": 2}
