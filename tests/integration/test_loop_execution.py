"""The goal loop acting, run by its state machine on moto with its Tasks in the real handler: a goal
is planned an action that needs approval; the channels get one-click links; a link decides once;
the approved agent action runs as a run of the goal; a rejection or a lapse runs nothing; the
impact is measured against the forecast and learnt by the action's record."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import iso, utcnow
from proactive.ids import derived_id
from proactive.loop import machine, steps
from proactive.settings import get_settings
from tests.integration.conftest import Aws, Handlers, make_agent, wait_for_analysis
from tests.integration.conftest import token as token_for

pytestmark = pytest.mark.goal_loop

GOAL_TYPE = "BOTTLENECK_PREVENTION"


@pytest.fixture(autouse=True)
def public_url() -> Iterator[None]:
    os.environ["PUBLIC_BASE_URL"] = "https://proactive.example"
    get_settings.cache_clear()
    yield
    os.environ.pop("PUBLIC_BASE_URL", None)
    get_settings.cache_clear()


def post_climbing_cpu(client: TestClient, now: datetime) -> None:
    """Three hours of one-minute CPU points climbing from 50% to 79%: the forecast crosses 80
    within minutes, so the goal is due within the hour and its action is planned at once."""
    minutes = 180
    points = [
        {
            "metric_name": "cpu_usage",
            "value": round(50 + 29 * i / minutes + (0.4 if i % 2 else -0.4), 2),
            "timestamp": iso(now - timedelta(minutes=minutes - i)),
        }
        for i in range(minutes + 1)
    ]
    assert client.post("/api/autonomous/metrics", json={"metrics": points}).status_code == 200


def set_up(
    client: TestClient, aws: Aws, *, kind: str = "agent", requires_approval: bool = True
) -> dict[str, Any]:
    """CPU climbing to its limit, a rule on it, a channel the workspace is told on, and one action."""
    post_climbing_cpu(client, utcnow())
    made_channel = client.post(
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "ops",
            "type": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook"},
        },
    )
    assert made_channel.status_code == 201, made_channel.text
    channel = made_channel.json()
    resp = client.put(
        "/api/workspace/settings", json={"workspace_id": "ws-1", "default_channels": [channel["id"]]}
    )
    assert resp.status_code == 200, resp.text
    resp = client.put(
        "/api/autonomous/settings",
        json={"rules": ["cpu_usage <= 80 horizon_hours=2"], "impact_window_minutes": 1},
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = {
        "name": "scale out",
        "goal_types": [GOAL_TYPE],
        "kind": kind,
        "requires_approval": requires_approval,
    }
    if kind == "agent":
        body |= {
            "agent_id": make_agent(aws.store),
            "task_template": "Add capacity for {resource}: {evidence}",
        }
    else:
        body |= {"channels": [channel["id"]], "message_template": "{title}: {evidence}"}
    made = client.post("/api/autonomous/actions", json=body)
    assert made.status_code == 201, made.text
    return dict(made.json())


def start_analysis(client: TestClient) -> str:
    resp = client.post("/api/autonomous/analysis/trigger")
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def wait_for(check: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def awaiting(client: TestClient) -> dict[str, Any]:
    items = wait_for(lambda: client.get("/api/autonomous/approvals").json()["items"])
    return dict(items[0])


def links_sent(aws: Aws, goal_action_id: str) -> dict[str, str]:
    """The approve and reject links the notification to the workspace's channel carries (recorded
    when the event that the action awaits approval is delivered, which may come just after the
    action is listed)."""
    [note] = wait_for(
        lambda: [n for n in aws.store.notifications.all_in("ws-1") if n.subject_id == goal_action_id]
    )
    actions = dict(note.notice["actions"])
    return {"approve": actions["Approve"], "reject": actions["Reject"]}


def path_of(link: str) -> str:
    return re.sub(r"^https://proactive\.example", "", link)


def test_an_approved_action_runs_its_agent_for_the_goal_and_a_link_decides_once(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    action = set_up(client, aws)
    analysis_id = start_analysis(client)
    pending = awaiting(client)
    assert pending["action_id"] == action["id"]
    assert pending["plan"]["strategy"] == "IMMEDIATE"
    assert "drew" in pending["plan"]["reason"]
    links = links_sent(aws, pending["id"])

    page = client.get(path_of(links["approve"]), headers={"Authorization": ""})
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    assert "Approve scale out" in page.text
    # Opening the page decided nothing.
    assert client.get("/api/autonomous/approvals").json()["items"][0]["status"] == "awaiting_approval"

    decided = client.post(path_of(links["approve"]), headers={"Authorization": ""})
    assert decided.status_code == 200, decided.text
    again = client.post(path_of(links["reject"]), headers={"Authorization": ""})
    assert again.status_code == 409
    assert "already approved by approval link" in again.text

    # The execution goes on: the agent's run is queued, as a run of the goal.
    def run_of_goal() -> dict[str, Any] | None:
        resp = client.get(f"/api/autonomous/goals/{pending['goal_id']}")
        assert resp.status_code == 200, resp.text
        goal = resp.json()
        return goal["actions"][0] if goal["actions"][0].get("run_id") else None

    record = wait_for(run_of_goal)
    handlers.drain()
    run = client.get(f"/api/runs/{record['run_id']}").json()
    assert (run["source_type"], run["source_id"], run["status"]) == ("goal", pending["goal_id"], "succeeded")
    assert run["task"].startswith("Add capacity for cpu_usage: ")

    def executed() -> dict[str, Any] | None:
        ga = client.get(f"/api/autonomous/goals/{pending['goal_id']}").json()["actions"][0]
        return ga if ga["status"] == "executed" else None

    ga = wait_for(executed)
    assert ga["approval"]["decided_by"] == "approval link"
    assert [e["event"] for e in ga["timeline"]] == [
        "planned",
        "approval_requested",
        "approved",
        "executing",
        "executed",
    ]
    analysis = client.get(f"/api/autonomous/analyses/{analysis_id}").json()
    assert analysis["status"] == "running"  # it waits for the impact window now
    assert analysis["steps"]["plan"]["acting_on"] == [pending["goal_id"]]


def test_an_approved_actions_execution_counts_as_an_attempt_as_soon_as_its_run_succeeded(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    action = set_up(client, aws)
    start_analysis(client)
    pending = awaiting(client)
    assert client.post(f"/api/autonomous/approvals/{pending['id']}/approve").status_code == 200

    def executed() -> dict[str, Any] | None:
        handlers.drain()
        ga = client.get(f"/api/autonomous/goals/{pending['goal_id']}").json()["actions"][0]
        return ga if ga["status"] == "executed" else None

    ga = wait_for(executed)
    assert client.get(f"/api/runs/{ga['run_id']}").json()["status"] == "succeeded"
    # Waiting for the impact window now: the run list shows one run, and so does the record.
    totals = client.get("/api/autonomous/executor/statistics").json()["totals"]
    assert (totals["attempts"], totals["awaiting_outcome"], totals["successes"], totals["failures"]) == (
        1,
        1,
        0,
        0,
    )
    assert totals["success_rate"] is None  # not a failure: its outcome is not learnt yet
    [insight] = client.get("/api/autonomous/executor/insights").json()["actions"]
    assert (insight["action_id"], insight["attempts"], insight["awaiting_outcome"]) == (action["id"], 1, 1)
    # The steps after the window learn the outcome once, and count no second attempt.
    item = {"goal_action_id": ga["id"], "impact_seconds": 60}
    later = utcnow() + timedelta(seconds=61)
    steps.handle(aws.store, aws.queue, aws.bus, {"step": "measure", "state": item}, later)
    steps.handle(aws.store, aws.queue, aws.bus, {"step": "learn", "state": item}, later)
    stats = client.get(f"/api/autonomous/actions/{action['id']}").json()["statistics"]
    assert stats["attempts"] == 1
    assert stats["successes"] + stats["failures"] == 1
    totals = client.get("/api/autonomous/executor/statistics").json()["totals"]
    assert (totals["attempts"], totals["awaiting_outcome"]) == (1, 0)


def test_a_rejected_action_does_not_run_and_the_decision_is_recorded(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    set_up(client, aws)
    analysis_id = start_analysis(client)
    pending = awaiting(client)
    resp = client.post(f"/api/autonomous/approvals/{pending['id']}/reject")
    assert resp.status_code == 200, resp.text
    assert resp.json()["approval"]["decided_by"] == "tester"
    finished = wait_for_analysis(client, analysis_id)
    assert finished["status"] == "succeeded"
    assert finished["result"]["actions"] == 1
    goal = client.get(f"/api/autonomous/goals/{pending['goal_id']}").json()
    [ga] = goal["actions"]
    assert ga["status"] == "rejected"
    assert ga["run_id"] is None
    assert client.post(f"/api/autonomous/approvals/{pending['id']}/approve").status_code == 409
    assert handlers.drain() >= 0
    assert not [r for r in aws.store.runs.all_in("ws-1") if r.source_type == "goal"]


def test_an_action_without_approval_runs_at_once_and_a_failed_run_is_a_failure_on_its_record(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    action = set_up(client, aws, requires_approval=False)
    # An agent whose runs fail for good: nothing listens where it is.
    agent = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "gone",
            "runtime": "http",
            "config": {"url": "http://127.0.0.1:9/a"},
        },
    ).json()
    client.patch(f"/api/autonomous/actions/{action['id']}", json={"agent_id": agent["id"]})
    analysis_id = start_analysis(client)

    def finished() -> bool:
        handlers.drain()
        handlers.retry_now()
        return bool(client.get(f"/api/autonomous/analyses/{analysis_id}").json()["status"] != "running")

    wait_for(finished, timeout=30)
    stats = client.get(f"/api/autonomous/actions/{action['id']}").json()["statistics"]
    assert (stats["attempts"], stats["failures"], stats["successes"]) == (1, 1, 0)
    [goal] = client.get("/api/autonomous/goals").json()["items"]
    [ga] = client.get(f"/api/autonomous/goals/{goal['id']}").json()["actions"]
    assert ga["status"] == "failed"
    assert "run" in ga["error"]


def test_measure_and_learn_compare_with_the_forecast_and_update_the_record(
    client: TestClient, aws: Aws
) -> None:
    """After the impact window: the steps the state machine calls then, called with that time."""
    action = set_up(client, aws, kind="notify", requires_approval=False)
    start_analysis(client)

    def executed() -> dict[str, Any] | None:
        found = [g for g in aws.store.goal_actions.all_in("ws-1") if g["status"] == "executed"]
        return found[0] if found else None

    ga = wait_for(executed)
    assert ga["result"]["notified"] == 1
    acted = datetime.fromisoformat(ga["acted_at"].replace("Z", "+00:00"))
    # The action worked: CPU drops to about 60% where the forecast expected 80% and more.
    after = [
        {
            "metric_name": "cpu_usage",
            "value": 60 + (i % 3) * 0.5,
            "timestamp": iso(acted + timedelta(seconds=5 * i)),
        }
        for i in range(1, 13)
    ]
    assert client.post("/api/autonomous/metrics", json={"metrics": after}).status_code == 200
    item = {"goal_action_id": ga["id"], "impact_seconds": 60}
    later = acted + timedelta(seconds=61)
    measured = steps.handle(aws.store, aws.queue, aws.bus, {"step": "measure", "state": item}, later)
    assert measured["measured"]
    assert measured["improved"]
    assert measured["observed"] < 61
    assert measured["expected"] > 75
    learned = steps.handle(aws.store, aws.queue, aws.bus, {"step": "learn", "state": item}, later)
    assert learned["outcome"]["success"] is True
    assert learned["outcome"]["goal_status"] == "achieved"
    stats = client.get(f"/api/autonomous/actions/{action['id']}").json()["statistics"]
    assert (stats["attempts"], stats["successes"], stats["failures"]) == (1, 1, 0)
    assert stats["impact_count"] == 1
    assert stats["impact_sum"] > 0.2
    goal = client.get(f"/api/autonomous/goals/{ga['goal_id']}").json()
    assert goal["status"] == "achieved"
    assert [e["event"] for e in goal["actions"][0]["timeline"]][-2:] == ["measured", "learned"]
    insights = client.get("/api/autonomous/executor/insights").json()
    [learnt] = insights["actions"]
    assert (learnt["success_rate"], learnt["impact_count"]) == (1.0, 1)
    assert learnt["mean_impact"] == pytest.approx(stats["impact_sum"])
    # Learnt once: the state machine's own call after the window finds it done.
    again = steps.handle(aws.store, aws.queue, aws.bus, {"step": "learn", "state": item}, later)
    assert again["outcome"] == learned["outcome"]
    assert client.get(f"/api/autonomous/actions/{action['id']}").json()["statistics"]["attempts"] == 1


def test_an_approval_that_lapses_runs_nothing_and_a_late_or_forged_link_is_refused(
    client: TestClient, aws: Aws
) -> None:
    set_up(client, aws)
    start_analysis(client)
    pending = awaiting(client)
    links = links_sent(aws, pending["id"])
    # The state machine's timeout ends the wait: its Catch leads to this step.
    lapse = {
        "step": "declined",
        "state": {"goal_action_id": pending["id"]},
        "error": {"Error": "States.Timeout"},
    }
    assert steps.handle(aws.store, aws.queue, aws.bus, lapse, utcnow())["status"] == "expired"
    late = client.post(path_of(links["approve"]), headers={"Authorization": ""})
    assert late.status_code == 409
    assert "lapsed" in late.text
    assert client.post(f"/api/autonomous/approvals/{pending['id']}/approve").status_code == 409
    [ga] = client.get(f"/api/autonomous/goals/{pending['goal_id']}").json()["actions"]
    assert (ga["status"], ga["approval"]["decided_by"], ga["run_id"]) == ("expired", "timeout", None)

    token = path_of(links["approve"]).rsplit("/", 1)[1]
    payload, signature = token.split(".")
    forged = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    for bad in (forged, "not-a-token", token + "x"):
        page = client.get(f"/approvals/{bad}", headers={"Authorization": ""})
        assert page.status_code in (400, 422), page.text
        assert "cannot be used" in page.text
    # Another workspace's member cannot decide it through the API.
    other = {"Authorization": f"Bearer {token_for('ws-2')}"}
    assert client.post(f"/api/autonomous/approvals/{pending['id']}/approve", headers=other).status_code == 404


def test_without_its_state_machine_the_dispatcher_keeps_the_slot_for_the_next_tick(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    post_climbing_cpu(client, utcnow())
    client.put("/api/autonomous/settings", json={"rules": ["cpu_usage <= 80 horizon_hours=2"]})
    slot = client.post("/api/autonomous/mode", json={"autonomous": True}).json()["next_analysis_at"]
    arn = os.environ.pop(machine.ARN_VARIABLE)
    try:
        assert handlers.tick(utcnow())["errors"] == []
        assert client.get("/api/autonomous/status").json()["next_analysis_at"] == slot
        [unstarted] = client.get("/api/autonomous/analyses").json()["items"]
        assert unstarted["status"] == "failed"
        assert "the next tick tries again" in unstarted["error"]
    finally:
        os.environ[machine.ARN_VARIABLE] = arn
    handlers.tick(utcnow())
    [started] = client.get("/api/autonomous/analyses").json()["items"]
    assert started["trigger"] == "schedule"
    # The same analysis, started this time: it runs, and ends well.
    wait_for(lambda: client.get(f"/api/autonomous/analyses/{started['id']}").json()["status"] == "succeeded")
    assert client.get(f"/api/autonomous/analyses/{started['id']}").json()["error"] is None
    assert client.get("/api/autonomous/status").json()["next_analysis_at"] > slot


def test_a_goal_waits_for_the_one_before_it_and_an_adaptive_plan_is_made_again_on_fresh_numbers(
    client: TestClient, aws: Aws
) -> None:
    """The Map's `ready` step, as the state machine calls it before acting."""
    set_up(client, aws, kind="notify", requires_approval=False)
    analysis_id = start_analysis(client)
    wait_for(lambda: [g for g in aws.store.goal_actions.all_in("ws-1") if g["status"] == "executed"])
    [goal_id] = [g["id"] for g in aws.store.goals.all_in("ws-1")]
    now = utcnow()

    def goal_action(name: str, plan: dict[str, Any], ga_id: str | None = None) -> str:
        ga_id = ga_id or f"goalaction-{name}"
        aws.store.goal_actions.create(
            {
                "id": ga_id,
                "workspace_id": "ws-1",
                "goal_id": goal_id,
                "analysis_id": analysis_id,
                "action_id": aws.store.actions.all_in("ws-1")[0]["id"],
                "action_name": "scale out",
                "action_kind": "notify",
                "status": "planned",
                "plan": {"reason": "test", "wait_until": iso(now), "sample": 0.5, **plan},
                "created_at": iso(now),
                "timeline": [],
            }
        )
        return ga_id

    def ready(ga_id: str) -> dict[str, Any]:
        item = {"goal_action_id": ga_id, "requires_approval": False, "action_kind": "notify"}
        return dict(steps.handle(aws.store, aws.queue, aws.bus, {"step": "ready", "state": item}, utcnow()))

    # ADAPTIVE, planned when CPU was at 50%: it is at 79% now, so the action is drawn again.
    adaptive = goal_action("adaptive", {"strategy": "ADAPTIVE", "planned_value": 50.0, "after": None})
    assert ready(adaptive)["go"] == "act"
    record = aws.store.goal_actions.get(adaptive)
    assert record is not None
    assert record["timeline"][-1]["event"] == "replanned"
    assert "moved from 50.0 to" in record["timeline"][-1]["detail"]
    assert record["plan"]["planned_value"] > 78
    # SCHEDULED: acted on as planned, whatever the metric did.
    scheduled = goal_action("scheduled", {"strategy": "SCHEDULED", "planned_value": 50.0, "after": None})
    assert ready(scheduled)["go"] == "act"
    assert aws.store.goal_actions.get(scheduled)["timeline"] == []  # type: ignore[index]

    # COLLABORATIVE, after another goal on the same resource: it waits while that one is under way.
    earlier = derived_id("goalaction", f"{analysis_id}|goal-earlier")
    goal_action("earlier", {"strategy": "IMMEDIATE", "after": None}, ga_id=earlier)
    later = goal_action(
        "later", {"strategy": "COLLABORATIVE", "planned_value": 79.0, "after": "goal-earlier"}
    )
    waiting = ready(later)
    assert (waiting["go"], waiting["poll_seconds"]) == ("wait", 60)
    assert aws.store.goal_actions.get(later)["status"] == "waiting"  # type: ignore[index]
    aws.store.goal_actions.update(earlier, {"status": "done"})
    assert ready(later)["go"] == "act"
