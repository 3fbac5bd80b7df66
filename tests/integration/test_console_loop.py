"""The goal loop's console pages: the loop's page (state, approvals inbox, goals, metrics), a goal
(evidence, chart, what its actions did), a metric's chart, and deciding from the inbox. Also the
API additions they read: decided approvals, one goal action, a metric's newest points."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import iso, utcnow
from proactive.ids import new_id
from proactive.loop import machine
from proactive.loop.analysis import to_stored
from proactive.loop.goals import Evidence, Goal
from proactive.loop.rules import Target
from proactive.models.common import GoalType
from tests.integration.conftest import Aws, token

BASE = "http://127.0.0.1:8000"
WS = "ws-1"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """The console signed in (with a token for ws-1 and ws-2), and the API with the same token."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        bearer = token(WS, "ws-2")
        page = c.get("/console/login")
        signed = c.post("/console/login", data={"csrf": csrf_of(page.text), "token": bearer})
        assert signed.status_code == 303, signed.text
        c.headers["X-Api-Token"] = bearer
        yield c


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def api(c: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """The API as the same person, with their bearer token."""
    headers = {"Authorization": f"Bearer {c.headers['X-Api-Token']}"}
    return c.request(method, path, headers=headers, **kwargs)


def post_cpu(c: TestClient, workspace: str = WS, *, spike: bool = True) -> None:
    """Three hours of one-minute points climbing from 50 to 79, with one spike (an anomaly)."""
    now = utcnow()
    points = [
        {
            "metric_name": "cpu_usage",
            "value": round(50 + 29 * i / 180 + (0.4 if i % 2 else -0.4), 2),
            "timestamp": iso(now - timedelta(minutes=180 - i)),
        }
        for i in range(181)
    ]
    if spike:
        points[150]["value"] = 99.0
    answer = api(c, "POST", "/api/autonomous/metrics", json={"workspace_id": workspace, "metrics": points})
    assert answer.status_code == 200, answer.text


def make_goal(aws: Aws, workspace: str = WS, *, title: str = "Prevent cpu_usage bottleneck") -> str:
    now = utcnow().timestamp()
    goal = Goal(
        id=new_id("goal"),
        type=GoalType.BOTTLENECK_PREVENTION,
        metric="cpu_usage",
        rule="threshold cpu_usage <= 80",
        resource="cpu_usage",
        target=Target("cpu_usage", "<=", 80.0),
        severity="high",
        priority=72.5,
        priority_label="high",
        title=title,
        description="Keep cpu_usage <= 80: the forecast crosses it within the hour.",
        evidence=Evidence(
            trigger="predicted_breach",
            summary="cpu_usage is forecast to reach 80.4 in 30 minutes",
            observed=79.0,
            forecast_method="holt",
            backtest_mase=0.61,
            breach_at=now + 1800,
            breach_value=80.4,
        ),
        due_at=now + 1800,
        created_at=now,
        updated_at=now,
        expires_at=now + 86_400,
    )
    aws.store.goals.save(to_stored(workspace, goal))
    return goal.id


def make_action(aws: Aws, goal_id: str, status: str, workspace: str = WS, **fields: Any) -> str:
    ga_id = new_id("ga")
    now = utcnow()
    approval = {"requested_at": iso(now), "expires_at": iso(now + timedelta(hours=1)), "decision": None}
    record = {
        "id": ga_id,
        "workspace_id": workspace,
        "goal_id": goal_id,
        "analysis_id": new_id("analysis"),
        "action_id": new_id("act"),
        "action_name": "scale out",
        "action_kind": "agent",
        "status": status,
        "plan": {"strategy": "IMMEDIATE", "reason": "IMMEDIATE: the breach is near; drew scale out"},
        "approval": approval,
        "timeline": [{"at": iso(now), "event": "planned", "detail": "scale out"}],
        "created_at": iso(now),
        **fields,
    }
    assert aws.store.goal_actions.create(record)
    if status == "awaiting_approval":
        aws.store.task_tokens.put(ga_id, "approval", f"token-{ga_id}", now + timedelta(hours=1))
    return ga_id


def decided(aws: Aws, goal_id: str, *, run_id: str = "run-abc") -> str:
    now = utcnow()
    return make_action(
        aws,
        goal_id,
        "done",
        approval={
            "requested_at": iso(now - timedelta(minutes=5)),
            "expires_at": iso(now + timedelta(minutes=55)),
            "decision": "approved",
            "decided_at": iso(now - timedelta(minutes=4)),
            "decided_by": "alice@example.com",
            "via": "console",
        },
        run_id=run_id,
        acted_at=iso(now - timedelta(minutes=4)),
        impact={
            "measured": True,
            "expected": 81.2,
            "observed": 55.4,
            "relative_change": -0.3177,
            "gain": 0.3177,
            "improved": True,
            "p_value": 0.0001,
            "points": 30,
            "description": "cpu_usage had a median of 55.4 where the forecast expected 81.2",
        },
    )


def chart_of(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert found, page
    return dict(json.loads(found.group(1)))


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """The waiting executions a decision tells (the state machine's side of an approval)."""
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(machine, "succeed", lambda token, output: calls.append(("succeed", token)) or True)
    monkeypatch.setattr(machine, "fail", lambda token, error, cause: calls.append(("fail", token)) or True)
    return calls


def test_the_loop_page_shows_the_inbox_the_goals_and_the_metrics(browser: TestClient, aws: Aws) -> None:
    post_cpu(browser)
    goal_id = make_goal(aws)
    waiting = make_action(aws, goal_id, "awaiting_approval")
    done = decided(aws, goal_id)

    page = browser.get(f"/console/{WS}/loop")
    assert page.status_code == 200, page.text
    text = page.text
    # The inbox: the waiting action with its buttons, the decision with who, when and the run.
    assert f'action="/console/{WS}/loop/approvals/{waiting}/approve"' in text
    assert f'action="/console/{WS}/loop/approvals/{waiting}/reject"' in text
    assert 'data-confirm="Reject scale out? It will not run."' in text
    assert f'id="decided-{done}"' in text
    assert "alice@example.com" in text
    assert "via console" in text
    assert f'href="/console/{WS}/runs/run-abc"' in text
    assert "55.40 vs 81.20 expected (-31.8%)" in text
    # The goals with why, and the metrics with their charts' pages.
    assert f'href="/console/{WS}/loop/goals/{goal_id}"' in text
    assert "cpu_usage is forecast to reach 80.4 in 30 minutes" in text
    assert f'href="/console/{WS}/loop/metrics/cpu_usage"' in text
    # The decisions stay up to date while the page is open.
    assert f'data-poll="/console/{WS}/loop/approvals?state=decided&amp;limit=10"' in text
    rows = browser.get(f"/console/{WS}/loop/approvals?state=decided&limit=10", headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert rows.text.strip().startswith(f'<tr id="decided-{done}">')
    assert "<html" not in rows.text


def test_the_goal_page_shows_evidence_chart_and_impact(browser: TestClient, aws: Aws) -> None:
    post_cpu(browser)
    goal_id = make_goal(aws)
    decided(aws, goal_id)
    page = browser.get(f"/console/{WS}/loop/goals/{goal_id}")
    assert page.status_code == 200, page.text
    assert "<h1>Prevent cpu_usage bottleneck</h1>" in page.text
    assert "predicted breach" in page.text
    assert "80.40 at" in page.text
    assert "The evidence as recorded" in page.text
    assert "Expected without it" in page.text
    assert "81.20" in page.text
    assert f'href="/console/{WS}/runs/run-abc"' in page.text
    # Forecast far enough ahead to show the predicted breach (in 30 minutes), not the day's default.
    assert '<option value="1" selected>1 hour</option>' in page.text
    chart = chart_of(page.text)
    assert chart["metric"] == "cpu_usage"
    assert chart["thresholds"] == [{"label": "threshold cpu_usage <= 80", "value": 80.0}]
    assert len(chart["x"]) == len(chart["recorded"]) == len(chart["forecast"]) == len(chart["lower"])
    forecast = [i for i, v in enumerate(chart["forecast"]) if v is not None]
    assert forecast
    assert all(chart["lower"][i] <= chart["forecast"][i] <= chart["upper"][i] for i in forecast)
    assert sum(v is not None for v in chart["recorded"]) == 181
    assert chart["mark_label"] == "Predicted breach"
    assert 80.4 in chart["marks"]
    assert chart["x"] == sorted(chart["x"])
    assert "the forecast first crosses it at" in page.text or "the forecast keeps to it" in page.text


def test_the_metric_page_charts_the_forecast_band_anomalies_and_thresholds(
    browser: TestClient, aws: Aws
) -> None:
    post_cpu(browser)
    assert (
        api(
            browser,
            "PUT",
            "/api/autonomous/settings",
            json={"workspace_id": WS, "rules": ["cpu_usage <= 80 horizon_hours=2", "slo cpu_usage >= 10"]},
        ).status_code
        == 200
    )
    page = browser.get(f"/console/{WS}/loop/metrics/cpu_usage?hours=6")
    assert page.status_code == 200, page.text
    chart = chart_of(page.text)
    assert [t["label"] for t in chart["thresholds"]] == ["threshold cpu_usage <= 80", "slo cpu_usage >= 10"]
    assert 99.0 in [v for v in chart["anomalies"] if v is not None]
    assert any(v is not None for v in chart["upper"])
    assert any(v is not None for v in chart["lower"])
    assert 'data-chart="#chart-data"' in page.text
    assert 'role="img"' in page.text
    # The text alternative says the same.
    assert "181 points from" in page.text
    assert "Anomalies, newest first" in page.text
    assert "99.00" in page.text
    assert "How it is forecast" in page.text
    # Scripts are the console's own files; no inline script or style.
    assert "/console/static/loop.js?v=" in page.text
    assert "/console/static/uPlot.min.js?v=" in page.text
    assert "<script>" not in page.text
    assert " style=" not in page.text

    unknown = browser.get(f"/console/{WS}/loop/metrics/no_such_metric")
    assert unknown.status_code == 404
    assert "not found" in unknown.text


def test_approving_and_rejecting_from_the_inbox_need_the_pages_token(
    browser: TestClient, aws: Aws, told: list[tuple[str, Any]]
) -> None:
    goal_id = make_goal(aws)
    first = make_action(aws, goal_id, "awaiting_approval")
    second = make_action(aws, goal_id, "awaiting_approval")
    page = browser.get(f"/console/{WS}/loop")
    csrf = csrf_of(page.text)

    refused = browser.post(
        f"/console/{WS}/loop/approvals/{first}/approve", data={"next": f"/console/{WS}/loop"}
    )
    assert refused.status_code == 403
    assert "reload the page" in refused.text
    assert api(browser, "GET", f"/api/autonomous/approvals/{first}").json()["status"] == "awaiting_approval"

    answer = browser.post(
        f"/console/{WS}/loop/approvals/{first}/approve",
        data={"csrf": csrf, "next": f"/console/{WS}/loop/goals/{goal_id}"},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/{WS}/loop/goals/{goal_id}?decided={first}#approvals"
    shown = api(browser, "GET", f"/api/autonomous/approvals/{first}").json()
    assert shown["status"] == "approved"
    assert (shown["approval"]["decided_by"], shown["approval"]["via"]) == ("tester", "api")
    assert told == [("succeed", f"token-{first}")]

    answer = browser.post(
        f"/console/{WS}/loop/approvals/{second}/reject", data={"csrf": csrf, "next": "https://evil.example/"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/{WS}/loop?decided={second}#approvals"
    assert api(browser, "GET", f"/api/autonomous/approvals/{second}").json()["status"] == "rejected"
    back = browser.get(answer.headers["location"])
    assert "scale out" in back.text
    assert "rejected" in back.text
    assert "by <strong>tester</strong>" in back.text

    # Decided already: the API's answer, as a page.
    again = browser.post(f"/console/{WS}/loop/approvals/{first}/reject", data={"csrf": csrf})
    assert again.status_code == 409
    assert "already approved by tester" in again.text
    assert browser.post(f"/console/{WS}/loop/approvals/{first}/maybe", data={"csrf": csrf}).status_code == 404

    decisions = api(
        browser, "GET", "/api/autonomous/approvals", params={"workspace_id": WS, "state": "decided"}
    )
    assert {a["id"] for a in decisions.json()["items"]} == {first, second}
    assert api(browser, "GET", "/api/autonomous/approvals", params={"workspace_id": WS}).json()["items"] == []


def test_another_workspaces_goal_action_and_metric_answer_404(
    browser: TestClient, aws: Aws, told: list[tuple[str, Any]]
) -> None:
    other_goal = make_goal(aws, "ws-2", title="Their goal")
    other_action = make_action(aws, other_goal, "awaiting_approval", workspace="ws-2")
    post_cpu(browser, "ws-2", spike=False)
    # The person holds ws-2 too, but the address names ws-1: not found there.
    assert browser.get(f"/console/{WS}/loop/goals/{other_goal}").status_code == 404
    csrf = csrf_of(browser.get(f"/console/{WS}/loop").text)
    refused = browser.post(f"/console/{WS}/loop/approvals/{other_action}/approve", data={"csrf": csrf})
    assert refused.status_code == 404
    assert told == []
    assert browser.get(f"/console/{WS}/loop/metrics/cpu_usage").status_code == 404
    assert "Their goal" not in browser.get(f"/console/{WS}/loop").text
    # Seen from its own workspace, it is there.
    assert browser.get(f"/console/ws-2/loop/goals/{other_goal}").status_code == 200
    # A workspace the person does not hold at all.
    assert browser.get("/console/ws-3/loop").status_code == 404
    assert api(browser, "GET", f"/api/autonomous/approvals/{new_id('ga')}").status_code == 404


def test_a_malformed_goal_or_action_does_not_break_the_page(browser: TestClient, aws: Aws) -> None:
    goal_id = make_goal(aws)
    make_action(aws, goal_id, "awaiting_approval")
    broken_goal = to_stored(WS, _goal_like(goal_id))
    broken_goal["goal"] = {"title": "half a goal"}  # no evidence, no target
    aws.store.goals.save(broken_goal)
    bad = make_action(aws, goal_id, "awaiting_approval", plan="not a plan")
    page = browser.get(f"/console/{WS}/loop")
    assert page.status_code == 200, page.text
    assert "Prevent cpu_usage bottleneck" in page.text
    assert bad not in page.text
    assert page.text.count('/approve"') == 1


def _goal_like(goal_id: str) -> Goal:
    now = utcnow().timestamp()
    return Goal(
        id=f"{goal_id}-2",
        type=GoalType.CAPACITY_PLANNING,
        metric="cpu_usage",
        rule="threshold cpu_usage <= 80",
        resource="cpu_usage",
        target=Target("cpu_usage", "<=", 80.0),
        severity="low",
        priority=20.0,
        priority_label="low",
        title="Plan capacity for cpu_usage",
        description="",
        evidence=Evidence(trigger="slow_growth", summary="slow growth"),
        due_at=None,
        created_at=now,
        updated_at=now,
        expires_at=now + 86_400,
    )


def test_bad_filters_are_named_on_a_page(browser: TestClient) -> None:
    for address, field in (
        (f"/console/{WS}/loop?status=sleeping", "status must be one of"),
        (f"/console/{WS}/loop/approvals?state=later", "state must be one of"),
        (f"/console/{WS}/loop/approvals?limit=500", "limit must be a whole number"),
        (f"/console/{WS}/loop/metrics/cpu_usage?hours=5", "hours must be one of"),
        (f"/console/{WS}/loop/metrics/cpu_usage?ahead=169", "ahead must be one of 1 to 168 (hours)"),
    ):
        answer = browser.get(address)
        assert answer.status_code == 422, address
        assert field in answer.text
        assert answer.headers["content-type"].startswith("text/html")


def test_a_metrics_newest_points_come_first_when_asked(browser: TestClient) -> None:
    post_cpu(browser, spike=False)
    path = "/api/autonomous/metrics/cpu_usage"
    oldest = api(browser, "GET", path, params={"workspace_id": WS, "limit": 3}).json()["items"]
    newest = api(browser, "GET", path, params={"workspace_id": WS, "limit": 3, "order": "newest"}).json()
    stamps = [p["timestamp"] for p in newest["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] > oldest[-1]["timestamp"]
    following = api(
        browser,
        "GET",
        path,
        params={"workspace_id": WS, "limit": 3, "order": "newest", "cursor": newest["next_cursor"]},
    ).json()["items"]
    assert following[0]["timestamp"] < stamps[-1]
    refused = api(browser, "GET", path, params={"workspace_id": WS, "order": "sideways"})
    assert refused.status_code == 422


def test_analyse_now_starts_an_analysis(
    browser: TestClient, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    monkeypatch.setattr(machine, "start", lambda analysis_id, *rest: started.append(analysis_id) or "arn")
    assert browser.post(f"/console/{WS}/loop/analyse").status_code == 403
    assert started == []
    csrf = csrf_of(browser.get(f"/console/{WS}/loop").text)
    answer = browser.post(f"/console/{WS}/loop/analyse", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/{WS}/loop?analysis={started[0]}"
    page = browser.get(answer.headers["location"]).text
    assert "An analysis started" in page
    assert "manual" in page  # the latest analyses list it


def test_a_long_forecast_is_drawn_with_a_bounded_number_of_points() -> None:
    from proactive.console import loop_charts

    forecast = {
        "level": 0.9,
        "points": [
            {"timestamp": iso(utcnow() + timedelta(minutes=i)), "value": i, "lower": i - 1, "upper": i + 1}
            for i in range(1, 10_081)
        ],
    }
    chart = loop_charts.chart("cpu_usage", [], forecast, [])
    assert len(chart["x"]) <= loop_charts.DRAWN_FORECAST + 1
    assert chart["forecast"][-1] == 10_080
    assert chart["lower"][0] == 0
    words = loop_charts.described([], forecast, [])
    assert words["forecast_end"]["value"] == 10_080
