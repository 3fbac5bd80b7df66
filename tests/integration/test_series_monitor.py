"""A monitor over a goal-loop metric: its points in the window, aggregated, and the highest
anomaly score among them, so `anomaly_score > 0.9` fires when the metric does something new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from proactive.clock import iso
from tests.integration.conftest import token


def monitor(client: TestClient, condition: str, **source: Any) -> dict[str, Any]:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "watcher"}).json()
    body = {
        "name": "cpu anomalies",
        "agent_id": agent["id"],
        "workspace_id": "ws-1",
        "source": {"type": "series", "metric_name": "cpu_usage", **source},
        "condition": condition,
        "action": "cpu_usage did something new: {value} (score {anomaly_score})",
    }
    resp = client.post("/api/proactive/monitors", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def post(client: TestClient, points: list[tuple[datetime, float]]) -> None:
    body = {"metrics": [{"metric_name": "cpu_usage", "value": v, "timestamp": iso(t)} for t, v in points]}
    resp = client.post("/api/autonomous/metrics", json=body)
    assert resp.status_code == 200, resp.text


def check(client: TestClient, mon: dict[str, Any]) -> dict[str, Any]:
    resp = client.post(f"/api/proactive/monitors/{mon['id']}/check")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_an_anomaly_in_the_window_fires_and_steady_points_do_not(client: TestClient) -> None:
    now = datetime.now(UTC)
    steady = [(now - timedelta(seconds=600 - 4 * i), 40.0 + (i % 7)) for i in range(140)]
    post(client, steady)
    mon = monitor(client, "anomaly_score > 0.9", window=300)
    quiet = check(client, mon)
    assert quiet["status"] == "ok"
    assert quiet["condition_met"] is False
    assert quiet["value"] == steady[-1][1]

    post(client, [(datetime.now(UTC), 97.0)])
    spiked = check(client, mon)
    assert spiked["condition_met"] is True
    assert spiked["fired"] is True
    assert spiked["value"] == 97.0
    assert spiked["values"]["anomaly_score"] > 0.9


def test_aggregations_read_the_window_and_an_empty_window_is_a_recorded_error(client: TestClient) -> None:
    now = datetime.now(UTC)
    post(client, [(now - timedelta(seconds=s), float(s)) for s in (500, 200, 100, 10)])
    avg = monitor(client, "value > 100", aggregation="avg", window=300)
    assert check(client, avg)["value"] == (200 + 100 + 10) / 3
    empty = monitor(client, "value > 1", window=300)
    client.patch(
        f"/api/proactive/monitors/{empty['id']}", json={"source": {"type": "series", "metric_name": "mem"}}
    )
    failed = check(client, empty)
    assert failed["status"] == "error"
    assert "no mem points came in the last 300 s" in failed["error"]


def test_a_condition_may_name_anomaly_score_only_for_a_series_source(client: TestClient) -> None:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "w"}).json()
    body = {
        "name": "m",
        "agent_id": agent["id"],
        "workspace_id": "ws-1",
        "source": {"type": "metric"},
        "condition": "anomaly_score > 0.9",
        "action": "x",
    }
    resp = client.post("/api/proactive/monitors", json=body)
    assert resp.status_code == 422
    assert resp.json()["field"] == "condition"
    bad_name = {**body, "source": {"type": "series", "metric_name": "cpu usage"}, "condition": "value > 1"}
    assert client.post("/api/proactive/monitors", json=bad_name).status_code == 422


def test_a_series_monitor_reads_its_own_workspace_only(client: TestClient) -> None:
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    now = datetime.now(UTC)
    resp = client.post(
        "/api/autonomous/metrics",
        json={"metric_name": "cpu_usage", "value": 99.0, "timestamp": iso(now), "workspace_id": "ws-2"},
        headers=other,
    )
    assert resp.status_code == 200
    mon = monitor(client, "value > 1")
    failed = check(client, mon)
    assert failed["status"] == "error"
    assert "no cpu_usage points" in failed["error"]
