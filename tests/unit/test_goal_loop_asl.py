"""The goal loop's ASL: every Task retries and is caught, every step it names exists, and the
bridge reports a handler's failure as Lambda does (its type names the error Catch matches)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from proactive.dev import state_machine
from proactive.loop import steps


def _states(
    machine: dict[str, Any], inside: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield inside, name, state
        for branch in state.get("Branches", []):
            yield from _states(branch, (*inside, name))
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"], (*inside, name))


ASL = json.loads(state_machine.definition())
PARENTS = {name: state for _, name, state in _states(ASL)}


def test_every_task_retries_and_every_failure_is_caught() -> None:
    tasks = [(inside, name, s) for inside, name, s in _states(ASL) if s["Type"] == "Task"]
    assert len(tasks) >= 15
    for inside, name, state in tasks:
        assert state.get("Retry"), f"{name} has no Retry"
        # The last retrier catches everything else, with back-off and jitter.
        last = state["Retry"][-1]
        assert last["ErrorEquals"] == ["States.ALL"]
        assert last["BackoffRate"] > 1
        assert last["JitterStrategy"] == "FULL"
        # Caught by the Task itself or, in a Parallel branch, by the Parallel state.
        caught = state.get("Catch") or any(PARENTS[p].get("Catch") for p in inside)
        assert caught, f"{name} fails the execution uncaught"


def test_every_step_the_machine_names_is_a_step_of_the_handler() -> None:
    named = {s["Parameters"]["Payload"]["step"] for _, _, s in _states(ASL) if s["Type"] == "Task"}
    assert named == set(steps.STEPS)
    waiting = {
        s["Parameters"]["Payload"]["step"]
        for _, _, s in _states(ASL)
        if s["Type"] == "Task" and s["Resource"].endswith(".waitForTaskToken")
    }
    assert waiting == {"request_approval", "execute"}


def test_the_map_is_bounded_by_the_workspaces_max_concurrent_goals() -> None:
    [acting] = [s for _, _, s in _states(ASL) if s["Type"] == "Map"]
    assert acting["MaxConcurrencyPath"] == "$.max_concurrent_goals"
    inner = acting["ItemProcessor"]["States"]
    assert inner["WaitForBestTime"]["TimestampPath"] == "$.wait_until"
    assert inner["WaitForImpact"]["SecondsPath"] == "$.impact_seconds"
    assert inner["Approve"]["TimeoutSecondsPath"] == "$.approval_timeout_seconds"
    caught = {c["Next"] for c in inner["Approve"]["Catch"]}
    assert caught == {"Declined", "RecordGoalError"}


class ActionFailed(Exception):
    pass


def test_the_bridge_reports_a_failure_as_lambda_does() -> None:
    def fails(event: dict[str, Any]) -> Any:
        raise ActionFailed(f"could not {event['what']}")

    payload, failed = state_machine.answer(fails, json.dumps({"what": "scale"}))
    error = json.loads(payload)
    assert failed
    assert (error["errorType"], error["errorMessage"]) == ("ActionFailed", "could not scale")
    payload, failed = state_machine.answer(lambda event: {"echo": event}, b'{"a": 1}')
    assert (json.loads(payload), failed) == ({"echo": {"a": 1}}, False)
