"""Goal loop actions through the API on moto: each kind made and shown, the http action's secret
shown once, what is refused and why, names unique per workspace, workspaces kept apart, edits
that keep each other's changes, outcomes that all count, and the executor's statistics and
insights over them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import utcnow
from proactive.loop.action_handlers import GOAL_FIELDS, fill, update_action
from proactive.loop.goals import Evidence, Goal
from proactive.loop.rules import GoalType, Target
from proactive.models.actions import ActionUpdate
from proactive.store import Store
from proactive.store.actions import Actions
from tests.integration.conftest import Aws, make_agent, token

ACTIONS = "/api/autonomous/actions"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def as_workspace(client: TestClient, *workspaces: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*workspaces)}"}


def make_channel(client: TestClient, name: str = "ops", workspace: str = "ws-1") -> str:
    resp = client.post(
        "/api/notifications/channels",
        json={"workspace_id": workspace, "name": name, "type": "ntfy", "config": {"topic": "ops-alerts"}},
        headers=as_workspace(client, workspace),
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def agent_action(agent_id: str, name: str = "Scale out", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "goal_types": ["BOTTLENECK_PREVENTION", "CAPACITY_PLANNING"],
        "kind": "agent",
        "agent_id": agent_id,
        "task_template": "Add capacity for {metric}: {description} (breach at {predicted_breach_at})",
        **extra,
    }


def create(client: TestClient, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    resp = client.post(ACTIONS, json=body, **kwargs)
    assert resp.status_code == 201, resp.text
    made: dict[str, Any] = resp.json()
    return made


def test_each_kind_is_created_and_shown(client: TestClient, aws: Aws) -> None:
    # Given an agent and a channel in the workspace
    agent_id = make_agent(aws.store)
    channel_id = make_channel(client)

    # When an action of each kind is created
    agent = create(client, agent_action(agent_id, parameters={"replicas": 2}, requires_approval=True))
    http = create(
        client,
        {
            "name": "Flush cache",
            "description": "Asks the cache service to drop cold entries.",
            "goal_types": ["performance_target"],
            "kind": "http",
            "url": "https://cache.example.com/flush",
            "headers": {"X-Env": "prod", "Authorization": {"secret": "cache-token", "prefix": "Bearer "}},
        },
    )
    notify = create(
        client,
        {
            "name": "Tell on-call",
            "goal_types": ["SLA_MAINTENANCE"],
            "kind": "notify",
            "channels": [channel_id],
            "message_template": "{title}: {target} at risk ({priority_label})",
            "approval_timeout_minutes": 15,
            "is_active": False,
        },
    )

    # Then each is shown with its settings, defaults and a fresh record
    fresh = {
        "attempts": 0,
        "successes": 0,
        "failures": 0,
        "impact_sum": 0.0,
        "impact_count": 0,
        "alpha": 1,
        "beta": 1,
        "last_outcome_at": None,
    }
    assert agent["workspace_id"] == "ws-1"
    assert agent["kind"] == "agent"
    assert agent["agent_id"] == agent_id
    assert agent["goal_types"] == ["BOTTLENECK_PREVENTION", "CAPACITY_PLANNING"]
    assert agent["parameters"] == {"replicas": 2}
    assert (agent["requires_approval"], agent["approval_timeout_minutes"], agent["is_active"]) == (
        True,
        60,
        True,
    )
    assert agent["statistics"] == fresh
    assert agent["secret"] is None
    assert http["goal_types"] == ["PERFORMANCE_TARGET"]
    assert (http["url"], http["method"], http["timeout_seconds"]) == (
        "https://cache.example.com/flush",
        "POST",
        30,
    )
    assert http["headers"] == {
        "X-Env": "prod",
        "Authorization": {"secret": "cache-token", "prefix": "Bearer "},
    }
    assert notify["channels"] == [channel_id]
    assert notify["message_template"].startswith("{title}")
    assert (notify["approval_timeout_minutes"], notify["is_active"]) == (15, False)
    for made in (agent, http, notify):
        shown = client.get(f"{ACTIONS}/{made['id']}").json()
        assert shown == {k: v for k, v in made.items() if k != "secret"}

    # And the list shows them newest first
    listed = client.get(ACTIONS).json()
    assert [a["id"] for a in listed["items"]] == [notify["id"], http["id"], agent["id"]]
    assert listed["next_cursor"] is None


def test_the_http_actions_secret_is_shown_once(client: TestClient) -> None:
    made = create(
        client,
        {
            "name": "Hook",
            "goal_types": ["COST_REDUCTION"],
            "kind": "http",
            "url": "https://ops.example.com/x",
        },
    )
    assert made["secret"].startswith("whsec_")
    assert len(made["secret"]) > 40

    patched = client.patch(f"{ACTIONS}/{made['id']}", json={"url": "https://ops.example.com/y"})
    for shown in (
        client.get(f"{ACTIONS}/{made['id']}").json(),
        client.get(ACTIONS).json()["items"][0],
        patched.json(),
    ):
        assert "secret" not in shown
        assert made["secret"] not in str(shown)


REFUSED = [
    ({"goal_types": ["WORLD_PEACE"]}, "goal_types"),
    ({"goal_types": []}, "goal_types"),
    ({"goal_types": ["COST_REDUCTION", "cost_reduction"]}, "goal_types"),
    ({"agent_id": "agent-nope"}, "agent_id"),
    ({"task_template": "Fix {hostname}"}, "task_template"),
    ({"task_template": "Fix {metric"}, "task_template"),
    ({"task_template": "Scale to {parameters.replicas}"}, "task_template"),
    ({"url": "https://x.example.com"}, "url"),
    ({"task_template": None}, "task_template"),
    ({"approval_timeout_minutes": 0}, "approval_timeout_minutes"),
    ({"approval_timeout_minutes": 10081}, "approval_timeout_minutes"),
    ({"parameters": {"blob": "x" * 20_000}}, "parameters"),
    ({"kind": "script"}, "kind"),
]


@pytest.mark.parametrize(("change", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_an_agent_action_that_cannot_work_is_refused_naming_the_field(
    client: TestClient, aws: Aws, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**agent_action(make_agent(aws.store)), **change}.items() if v is not None}
    resp = client.post(ACTIONS, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field
    assert client.get(ACTIONS).json()["items"] == []


HTTP_REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", {}, "url"),
    ("http://10.0.0.7:8080/hook", {}, "url"),
    ("ftp://files.example.com/x", {}, "url"),
    ("https://user:pw@ops.example.com/", {}, "url"),
    ("https://ops.example.com/", {"headers": {"Authorization": "Bearer plain-text"}}, "headers"),
    ("https://ops.example.com/", {"headers": {"webhook-signature": "v1,x"}}, "headers"),
    ("https://ops.example.com/", {"method": "GET"}, "method"),
    ("https://ops.example.com/", {"channels": ["chan-1"]}, "channels"),
]


@pytest.mark.parametrize(("url", "extra", "field"), HTTP_REFUSED, ids=[u + f for u, _, f in HTTP_REFUSED])
def test_an_http_action_that_cannot_work_is_refused_naming_the_field(
    client: TestClient, url: str, extra: dict[str, Any], field: str
) -> None:
    body = {"name": "Hook", "goal_types": ["COST_REDUCTION"], "kind": "http", "url": url, **extra}
    resp = client.post(ACTIONS, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field


def test_a_notify_action_needs_channels_of_its_own_workspace(client: TestClient) -> None:
    theirs = make_channel(client, workspace="ws-2")
    ours = make_channel(client)
    base = {"name": "Tell", "goal_types": ["SLA_MAINTENANCE"], "kind": "notify"}

    for channels in ([], ["chan-nope"], [theirs], [ours, theirs]):
        resp = client.post(ACTIONS, json={**base, "channels": channels})
        assert resp.status_code == 422, resp.text
        assert resp.json()["field"] == "channels"
    resp = client.post(ACTIONS, json={**base, "channels": [ours], "message_template": "{owner} look"})
    assert (resp.status_code, resp.json()["field"]) == (422, "message_template")
    assert client.post(ACTIONS, json={**base, "channels": [ours]}).status_code == 201


def test_templates_may_name_the_goal_fields_and_the_parameters(client: TestClient, aws: Aws) -> None:
    every = " ".join(f"{{{name}}}" for name in GOAL_FIELDS) + " {parameters.pool.size} {parameters}"
    made = create(
        client,
        agent_action(make_agent(aws.store), task_template=every, parameters={"pool": {"size": 4}}),
    )
    assert made["task_template"] == every

    # A placeholder the parameters would lose is refused when the parameters change
    resp = client.patch(f"{ACTIONS}/{made['id']}", json={"parameters": {"pool": {}}})
    assert (resp.status_code, resp.json()["field"]) == (422, "task_template")


def test_fill_gives_each_documented_field_its_goal_value() -> None:
    at = T0.timestamp()
    goal = Goal(
        id="goal-1",
        type=GoalType.BOTTLENECK_PREVENTION,
        metric="cpu_usage",
        rule="threshold cpu_usage <= 80",
        resource="web-pool",
        target=Target("cpu_usage", "<=", 80.0),
        severity="medium",
        priority=62.5,
        priority_label="high",
        title="Prevent cpu_usage bottleneck",
        description="cpu_usage is forecast to pass 80 within 6 h",
        evidence=Evidence(
            "predicted_breach",
            "holt forecast crosses 80",
            observed=71.0,
            breach_at=at + 3600,
            breach_value=80.4,
        ),
        due_at=at + 3600,
        created_at=at,
        updated_at=at,
        expires_at=at + 8 * 3600,
    )
    template = "|".join(f"{{{name}}}" for name in GOAL_FIELDS) + "|{parameters.replicas}"
    assert fill(template, goal, {"replicas": 3}).split("|") == [
        "goal-1",
        "BOTTLENECK_PREVENTION",
        "Prevent cpu_usage bottleneck",
        "cpu_usage is forecast to pass 80 within 6 h",
        "cpu_usage",
        "web-pool",
        "cpu_usage <= 80",
        "80.0",
        "71.0",
        "2026-03-02T10:00:00.000000Z",
        "80.4",
        "62.5",
        "high",
        "2026-03-02T10:00:00.000000Z",
        "holt forecast crosses 80",
        "3",
    ]


def test_names_are_unique_in_a_workspace(client: TestClient, aws: Aws) -> None:
    agent_id = make_agent(aws.store)
    first = create(client, agent_action(agent_id, name="Scale out"))

    # The same name, in any case or spacing, is a conflict
    for name in ("Scale out", "scale  OUT"):
        resp = client.post(ACTIONS, json=agent_action(agent_id, name=name))
        assert (resp.status_code, resp.json()["field"]) == (409, "name"), resp.text

    # Another workspace has names of its own
    other = as_workspace(client, "ws-2")
    theirs = make_agent(aws.store, workspace="ws-2")
    assert client.post(ACTIONS, json=agent_action(theirs, name="Scale out"), headers=other).status_code == 201

    # A rename to a taken name is a conflict; a rename frees the old name
    second = create(client, agent_action(agent_id, name="Tune"))
    resp = client.patch(f"{ACTIONS}/{second['id']}", json={"name": "SCALE OUT"})
    assert (resp.status_code, resp.json()["field"]) == (409, "name")
    renamed = client.patch(f"{ACTIONS}/{first['id']}", json={"name": "Scale up"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Scale up"
    assert client.patch(f"{ACTIONS}/{second['id']}", json={"name": "Scale out"}).status_code == 200
    # Changing only its case keeps the name the action's own
    assert client.patch(f"{ACTIONS}/{first['id']}", json={"name": "scale UP"}).json()["name"] == "scale UP"

    # A deleted action's name is free again
    assert client.delete(f"{ACTIONS}/{first['id']}").status_code == 204
    assert client.post(ACTIONS, json=agent_action(agent_id, name="Scale up")).status_code == 201


def test_a_name_left_held_by_an_interrupted_delete_can_be_taken(client: TestClient, aws: Aws) -> None:
    # Given an action whose item was deleted but whose name was not released
    agent_id = make_agent(aws.store)
    made = create(client, agent_action(agent_id))
    assert aws.store.actions.delete(made["id"])

    # Then the name can be taken by a new action, and held by it
    assert client.post(ACTIONS, json=agent_action(agent_id)).status_code == 201
    assert client.post(ACTIONS, json=agent_action(agent_id)).status_code == 409


def test_workspaces_are_kept_apart(client: TestClient, aws: Aws) -> None:
    # Given an action of ws-2
    other = as_workspace(client, "ws-2")
    theirs = create(client, agent_action(make_agent(aws.store, workspace="ws-2")), headers=other)

    # Then a ws-1 token cannot see, change or delete it
    url = f"{ACTIONS}/{theirs['id']}"
    assert client.get(url).status_code == 404
    assert client.patch(url, json={"description": "mine now"}).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get(ACTIONS).json()["items"] == []
    assert client.get(url, headers=other).json()["description"] is None

    # And cannot create in ws-2, nor use ws-2's agent in ws-1
    assert (
        client.post(ACTIONS, json={**agent_action(theirs["agent_id"]), "workspace_id": "ws-2"}).status_code
        == 403
    )
    resp = client.post(ACTIONS, json=agent_action(theirs["agent_id"]))
    assert (resp.status_code, resp.json()["field"]) == (422, "agent_id")

    # A token with two workspaces must say which
    both = as_workspace(client, "ws-1", "ws-2")
    resp = client.post(ACTIONS, json=agent_action(theirs["agent_id"]), headers=both)
    assert (resp.status_code, resp.json()["field"]) == (422, "workspace_id")


def test_the_list_is_paginated(client: TestClient, aws: Aws) -> None:
    agent_id = make_agent(aws.store)
    made = [create(client, agent_action(agent_id, name=f"Action {i}"))["id"] for i in range(5)]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(ACTIONS, params=params).json()
        assert len(page["items"]) <= 2
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]
    assert client.get(ACTIONS, params={"cursor": "bm9wZQ=="}).status_code == 422


def test_patch_changes_only_what_it_names(client: TestClient, aws: Aws) -> None:
    agent_id = make_agent(aws.store)
    made = create(client, agent_action(agent_id, description="first", parameters={"replicas": 2}))
    url = f"{ACTIONS}/{made['id']}"

    resp = client.patch(url, json={"description": "second", "goal_types": ["pattern_adaptation"]})
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    assert changed["description"] == "second"
    assert changed["goal_types"] == ["PATTERN_ADAPTATION"]
    unchanged = {
        k: v for k, v in made.items() if k not in ("description", "goal_types", "updated_at", "secret")
    }
    assert {k: changed[k] for k in unchanged} == unchanged
    assert client.get(url).json() == changed

    # Nulls clear what may be empty; fields of another kind, a kind change, unknown agents are refused
    assert client.patch(url, json={"description": None}).json()["description"] is None
    for body, field in (
        ({"url": "https://ops.example.com/"}, "url"),
        ({"kind": "http"}, "kind"),
        ({"agent_id": "agent-nope"}, "agent_id"),
        ({"name": None}, "body"),
        ({"task_template": "{nope}"}, "task_template"),
    ):
        resp = client.patch(url, json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["field"] == field
    assert client.patch(f"{ACTIONS}/act-nope", json={"is_active": False}).status_code == 404


def test_concurrent_patches_both_land(client: TestClient, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an action, and another request that changes it between this request's read and write
    made = create(client, agent_action(make_agent(aws.store)))
    original = Actions.change
    interrupted: list[int] = []

    def change(self: Actions, action: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if not interrupted:
            interrupted.append(action["version"])
            update_action(
                aws.store,
                made["id"],
                ActionUpdate(description="from the other request"),
                frozenset({"ws-1"}),
                utcnow(),
            )
        return original(self, action, changes)

    monkeypatch.setattr(Actions, "change", change)

    # When this request changes another field (and, in a second round, the name)
    resp = client.patch(f"{ACTIONS}/{made['id']}", json={"requires_approval": True})
    interrupted.clear()
    renamed = client.patch(f"{ACTIONS}/{made['id']}", json={"name": "Scale out, carefully"})

    # Then both changes land, each time
    assert resp.status_code == 200, resp.text
    assert renamed.status_code == 200, renamed.text
    shown = client.get(f"{ACTIONS}/{made['id']}").json()
    assert shown["requires_approval"] is True
    assert shown["description"] == "from the other request"
    assert shown["name"] == "Scale out, carefully"
    assert aws.store.actions.get(made["id"])["version"] == 5
    # And the old name was released, the new one held
    assert client.post(ACTIONS, json=agent_action(made["agent_id"])).status_code == 201
    assert (
        client.post(ACTIONS, json=agent_action(made["agent_id"], name="scale out, carefully")).status_code
        == 409
    )


def test_outcomes_recorded_by_two_processes_all_count(client: TestClient, aws: Aws) -> None:
    # Given an action, as two processes (each with its own store) read it before any outcome
    made = create(client, agent_action(make_agent(aws.store)))
    first, second = aws.store, Store()
    read_before = first.actions.get(made["id"]) or {}

    # When they take turns recording outcomes, one of them late and out of order
    outcomes = [(True, 0.2), (False, None), (True, -0.05), (True, None)] * 2
    for i, (success, impact) in enumerate(outcomes):
        at = T0 + timedelta(minutes=-30 if i == 5 else i)
        assert (first, second)[i % 2].actions.record_outcome(made["id"], success, impact, at) is not None

    # Then every outcome counted, and the latest time is kept
    assert client.get(f"{ACTIONS}/{made['id']}").json()["statistics"] == {
        "attempts": 8,
        "successes": 6,
        "failures": 2,
        "impact_sum": pytest.approx(0.3),
        "impact_count": 4,
        "alpha": 7,
        "beta": 3,
        "last_outcome_at": "2026-03-02T09:07:00Z",
    }
    # And an edit of the action as read before the outcomes is not refused because of them
    changed = second.actions.update(made["id"], {"is_active": False}, expect_version=read_before["version"])
    assert (changed["is_active"], changed["attempts"]) == (False, 8)


def test_an_outcome_for_a_deleted_action_is_dropped(client: TestClient, aws: Aws) -> None:
    made = create(client, agent_action(make_agent(aws.store)))
    assert client.delete(f"{ACTIONS}/{made['id']}").status_code == 204
    assert aws.store.actions.record_outcome(made["id"], True, 0.1, T0) is None
    assert aws.store.actions.get(made["id"]) is None
    assert client.delete(f"{ACTIONS}/{made['id']}").status_code == 404


def test_a_deleted_actions_record_goes_with_it(client: TestClient, aws: Aws) -> None:
    agent_id = make_agent(aws.store)
    made = create(client, agent_action(agent_id))
    aws.store.actions.record_outcome(made["id"], False, None, T0)
    client.delete(f"{ACTIONS}/{made['id']}")

    again = create(client, agent_action(agent_id))
    assert again["statistics"]["attempts"] == 0
    stats = client.get("/api/autonomous/executor/statistics").json()
    assert stats["totals"]["attempts"] == 0
    assert stats["totals"]["actions"] == 1


def test_statistics_and_insights_reflect_the_outcomes(client: TestClient, aws: Aws) -> None:
    # Given three actions: one that mostly worked, one that failed twice, one not yet tried
    agent_id = make_agent(aws.store)
    scale = create(client, agent_action(agent_id, name="Scale out"))
    tune = create(client, agent_action(agent_id, name="Tune", goal_types=["BOTTLENECK_PREVENTION"]))
    create(client, agent_action(agent_id, name="Cut spend", goal_types=["COST_REDUCTION"], is_active=False))
    record = aws.store.actions.record_outcome
    for success, impact in ((True, 0.1), (True, 0.3), (True, None), (False, None)):
        record(scale["id"], success, impact, T0)
    for _ in range(2):
        record(tune["id"], False, -0.1, T0 + timedelta(hours=1))

    # When the executor's statistics are read
    stats = client.get("/api/autonomous/executor/statistics").json()

    # Then the totals and each goal type add up the actions serving it
    assert stats["workspace_id"] == "ws-1"
    assert stats["totals"] == {
        "actions": 3,
        "active_actions": 2,
        "attempts": 6,
        "successes": 3,
        "failures": 3,
        "awaiting_outcome": 0,
        "success_rate": 0.5,
    }
    by_type = stats["by_goal_type"]
    assert set(by_type) == set(GoalType)
    assert by_type["BOTTLENECK_PREVENTION"] == {**stats["totals"], "actions": 2}
    assert by_type["CAPACITY_PLANNING"] == {
        "actions": 1,
        "active_actions": 1,
        "attempts": 4,
        "successes": 3,
        "failures": 1,
        "awaiting_outcome": 0,
        "success_rate": 0.75,
    }
    assert by_type["COST_REDUCTION"]["actions"] == 1
    assert by_type["COST_REDUCTION"]["success_rate"] is None
    assert by_type["SLA_MAINTENANCE"]["actions"] == 0

    # And the insights show each posterior, the best first, with its 90% credible interval
    found = client.get("/api/autonomous/executor/insights").json()
    assert [a["name"] for a in found["actions"]] == ["Scale out", "Cut spend", "Tune"]
    best, untried, worst = found["actions"]
    assert (best["attempts"], best["success_rate"], best["impact_count"]) == (4, 0.75, 2)
    assert best["mean_impact"] == pytest.approx(0.2)
    posterior = best["posterior"]
    assert (posterior["alpha"], posterior["beta"], posterior["level"]) == (4, 2, 0.9)
    assert posterior["mean"] == pytest.approx(4 / 6)

    # Beta(4, 2) has the CDF 5x^4 - 4x^5: 5% of it lies below the interval and 5% above
    def cdf(x: float) -> float:
        return 5 * x**4 - 4 * x**5

    assert cdf(posterior["lower"]) == pytest.approx(0.05, abs=1e-9)
    assert cdf(posterior["upper"]) == pytest.approx(0.95, abs=1e-9)
    # Beta(1, 1), nothing learnt: the middle 90% of [0, 1]
    assert (untried["posterior"]["lower"], untried["posterior"]["upper"]) == (
        pytest.approx(0.05),
        pytest.approx(0.95),
    )
    assert untried["success_rate"] is None
    assert untried["mean_impact"] is None
    # Beta(1, 3) has the quantile 1 - (1 - p)^(1/3)
    assert worst["posterior"]["lower"] == pytest.approx(1 - 0.95 ** (1 / 3))
    assert worst["posterior"]["upper"] == pytest.approx(1 - 0.05 ** (1 / 3))
    assert worst["last_outcome_at"] == "2026-03-02T10:00:00Z"
    assert found["action_success_rates"] == {
        "Scale out": {"rate": 0.75, "attempts": 4},
        "Tune": {"rate": 0.0, "attempts": 2},
    }
    assert found["common_failures"] == [{"action": "Tune", "count": 2}, {"action": "Scale out", "count": 1}]

    # And another workspace's executor has learnt nothing
    other = client.get("/api/autonomous/executor/insights", headers=as_workspace(client, "ws-2")).json()
    assert other == {"workspace_id": "ws-2", "actions": [], "action_success_rates": {}, "common_failures": []}


def test_deleting_the_agent_of_an_action_is_refused_and_force_pauses_the_action(
    client: TestClient, aws: Aws
) -> None:
    agent_id = make_agent(aws.store)
    action = create(client, agent_action(agent_id))
    refused = client.delete(f"/api/agents/{agent_id}")
    assert refused.status_code == 409
    assert action["id"] in refused.json()["message"]
    assert client.get(f"{ACTIONS}/{action['id']}").json()["is_active"] is True

    assert client.delete(f"/api/agents/{agent_id}?force=true").status_code == 204
    paused = client.get(f"{ACTIONS}/{action['id']}").json()
    assert paused["is_active"] is False
    assert agent_id in paused["paused_reason"]
    other = make_agent(aws.store, name="other")
    resumed = client.patch(f"{ACTIONS}/{action['id']}", json={"agent_id": other, "is_active": True})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["paused_reason"] is None
