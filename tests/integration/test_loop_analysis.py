"""An analysis through the API: CPU rising towards its limit sets a BOTTLENECK_PREVENTION goal
with the predicted breach and the forecast behind it; the next analysis refreshes that goal
rather than adding another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import iso, parse_iso
from tests.integration.conftest import Handlers, run_analysis, token, wait_for_analysis

pytestmark = pytest.mark.goal_loop

METRICS = "/api/autonomous/metrics"


def post_rising_cpu(client: TestClient, now: datetime) -> None:
    """Two days of five-minute CPU points climbing from 40% to 78%, with a little noise."""
    steps = 2 * 24 * 12
    points = [
        {
            "metric_name": "cpu_usage",
            "value": round(40 + 38 * i / steps + (1.5 if i % 3 == 0 else -1.0), 2),
            "timestamp": iso(now - timedelta(minutes=5 * (steps - i))),
        }
        for i in range(steps + 1)
    ]
    for offset in range(0, len(points), 1000):
        resp = client.post(METRICS, json={"metrics": points[offset : offset + 1000]})
        assert resp.status_code == 200, resp.text


def test_a_forecast_breach_sets_one_goal_with_its_evidence(client: TestClient) -> None:
    now = datetime.now(UTC)
    post_rising_cpu(client, now)
    resp = client.put("/api/autonomous/settings", json={"rules": ["cpu_usage <= 80 horizon_hours=12"]})
    assert resp.status_code == 200, resp.text

    first = run_analysis(client)
    assert first["status"] == "succeeded", first
    assert set(first["steps"]) == {"forecast", "detect", "patterns", "set_goals", "plan"}
    assert list(first["steps"]["forecast"]["forecasts"]) == ["cpu_usage"]
    [goal_id] = first["steps"]["set_goals"]["created"]

    goal = client.get(f"/api/autonomous/goals/{goal_id}").json()
    assert goal["goal_type"] == "BOTTLENECK_PREVENTION"
    assert goal["status"] == "active"
    assert goal["target"] == "cpu_usage <= 80"
    evidence = goal["evidence"]
    assert evidence["trigger"] == "predicted_breach"
    breach = parse_iso(evidence["breach_at"])
    assert now < breach < now + timedelta(hours=12)
    assert evidence["breach_value"] > 80
    assert evidence["forecast_method"]
    assert goal["due_at"] is not None

    second = run_analysis(client)["steps"]["set_goals"]
    assert second["created"] == []
    assert second["updated"] == [goal_id]
    listed = client.get("/api/autonomous/goals?status=active").json()["items"]
    assert [g["id"] for g in listed] == [goal_id]
    status = client.get("/api/autonomous/status").json()
    assert status["active_goals"] == 1
    assert status["last_analysis_at"] is not None


def test_without_rules_an_analysis_sets_nothing_and_goals_are_private(client: TestClient) -> None:
    now = datetime.now(UTC)
    post_rising_cpu(client, now)
    decided: dict[str, Any] = run_analysis(client)["steps"]
    assert (decided["set_goals"]["created"], decided["forecast"]["forecasts"]) == ([], {})
    client.put("/api/autonomous/settings", json={"rules": ["cpu_usage <= 80 horizon_hours=12"]})
    [goal_id] = run_analysis(client)["steps"]["set_goals"]["created"]
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    assert client.get(f"/api/autonomous/goals/{goal_id}", headers=other).status_code == 404
    assert client.get("/api/autonomous/goals?workspace_id=ws-2", headers=other).json()["items"] == []


def test_with_the_loop_on_the_dispatcher_starts_one_analysis_per_interval(
    client: TestClient, handlers: Handlers
) -> None:
    now = datetime.now(UTC)
    post_rising_cpu(client, now)
    client.put(
        "/api/autonomous/settings",
        json={"rules": ["cpu_usage <= 80 horizon_hours=12"], "agent": {"analysis_interval_minutes": 30}},
    )
    on = client.post("/api/autonomous/mode", json={"autonomous": True}).json()
    assert on["next_analysis_at"] is not None

    tick = datetime.now(UTC)
    assert handlers.tick(tick)["errors"] == []
    [started] = client.get("/api/autonomous/analyses").json()["items"]
    assert started["trigger"] == "schedule"
    assert wait_for_analysis(client, started["id"])["status"] == "succeeded"
    [goal] = client.get("/api/autonomous/goals").json()["items"]
    assert goal["goal_type"] == "BOTTLENECK_PREVENTION"
    status = client.get("/api/autonomous/status").json()
    assert status["active_goals"] == 1
    following = parse_iso(status["next_analysis_at"])
    assert timedelta(minutes=29) < following - parse_iso(on["next_analysis_at"]) <= timedelta(minutes=30)

    # The same tick again (a retried invocation) starts nothing more.
    handlers.tick(tick)
    assert len(client.get("/api/autonomous/analyses").json()["items"]) == 1
    # Turned off, the loop leaves the index: a tick at the next slot starts nothing.
    client.post("/api/autonomous/mode", json={"autonomous": False})
    handlers.tick(following + timedelta(seconds=1))
    assert len(client.get("/api/autonomous/analyses").json()["items"]) == 1


def test_the_report_shows_the_loops_activity(client: TestClient) -> None:
    empty = client.get("/api/autonomous/report").json()
    assert (empty["goals_by_status"], empty["active_goals"], empty["rules"]) == ({}, [], [])
    assert empty["executor"]["totals"]["attempts"] == 0
    post_rising_cpu(client, datetime.now(UTC))
    client.put("/api/autonomous/settings", json={"rules": ["cpu_usage <= 80 horizon_hours=12"]})
    [goal_id] = run_analysis(client)["steps"]["set_goals"]["created"]
    report = client.get("/api/autonomous/report").json()
    assert report["rules"] == ["threshold cpu_usage <= 80 horizon_hours=12"]
    assert report["goals_by_status"] == {"active": 1}
    assert report["goals_by_type"] == {"BOTTLENECK_PREVENTION": 1}
    assert [g["id"] for g in report["active_goals"]] == [goal_id]
    assert report["metrics_tracked"] == 1
    assert report["last_analysis_at"] is not None
