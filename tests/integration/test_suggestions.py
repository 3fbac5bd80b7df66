"""Suggestions, through the API: mined from a workspace's history (runs, and events and metrics
brought in with their own times), accepted into the resource they show, dismissed for good,
snoozed, and kept to their workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient

from proactive.clock import utcnow
from proactive.models.runs import RunStatus, SourceType
from proactive.runs import new_run
from tests.integration.conftest import Aws, Handlers, make_agent, token

NEW_YORK = ZoneInfo("America/New_York")


def _seed_run(
    aws: Aws,
    agent_id: str,
    at: datetime,
    *,
    task: str = "Write the daily report",
    source: SourceType = SourceType.MANUAL,
    status: RunStatus = RunStatus.SUCCEEDED,
    **extra: Any,
) -> str:
    run = new_run(
        workspace_id="ws-1",
        agent_id=agent_id,
        task=task,
        source_type=source,
        source_id=None,
        now=at,
        status=status,
        **extra,
    )
    assert aws.store.runs.create(run)
    return run.id


def _weekday_mornings(now: datetime, weeks: int = 5) -> list[datetime]:
    """09:05 New York time, give or take a few minutes, on each weekday of the last `weeks`."""
    rng = np.random.default_rng(7)
    day = (now - timedelta(days=7 * weeks)).astimezone(NEW_YORK).date()
    out = []
    while day < now.astimezone(NEW_YORK).date():
        if day.weekday() < 5:
            minute = 5 + int(rng.integers(-4, 5))
            out.append(datetime(day.year, day.month, day.day, 9, minute, tzinfo=NEW_YORK).astimezone(UTC))
        day += timedelta(days=1)
    return out


def _zone(client: TestClient) -> None:
    resp = client.put("/api/autonomous/settings", json={"timezone": "America/New_York"})
    assert resp.status_code == 200, resp.text


def _refresh(client: TestClient) -> dict[str, Any]:
    resp = client.post("/api/proactive/suggestions/refresh")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _open(client: TestClient, kind: str) -> list[dict[str, Any]]:
    resp = client.get("/api/proactive/suggestions", params={"status": "open", "kind": kind})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


@pytest.fixture
def routine(client: TestClient, aws: Aws) -> dict[str, Any]:
    """A workspace whose report-agent is run by hand around 09:05 New York time every weekday."""
    agent = make_agent(aws.store)
    _zone(client)
    for at in _weekday_mornings(utcnow()):
        _seed_run(aws, agent, at)
    _refresh(client)
    [suggestion] = _open(client, "schedule")
    return suggestion


def test_weekday_runs_become_a_schedule_suggestion_with_its_evidence_and_request(
    routine: dict[str, Any], client: TestClient
) -> None:
    body = routine["request"]["body"]
    minute, hour, _, _, days = body["cron_expression"].split()
    assert (hour, days) == ("9", "1-5")
    assert 0 <= int(minute) <= 10
    assert body["timezone"] == "America/New_York"
    assert routine["request"]["method"] == "POST"
    assert routine["request"]["path"] == "/api/proactive/schedules"
    assert "weekdays" in routine["why"]
    assert "New York time" in routine["why"]
    assert routine["backtest"]["precision"] >= 0.8
    assert routine["backtest"]["recall"] >= 0.8
    assert len(routine["evidence"]["runs"]) >= 20
    patterns = client.get("/api/proactive/patterns").json()
    [found] = [p for p in patterns["patterns"] if p["kind"] == "recurring_time"]
    assert found["suggestion_id"] == routine["id"]
    assert patterns["history"]["runs"] >= 20


def test_accepting_creates_the_schedule_once(routine: dict[str, Any], client: TestClient) -> None:
    first = client.post(f"/api/proactive/suggestions/{routine['id']}/accept")
    assert first.status_code == 201, first.text
    schedule = first.json()["resource"]
    assert schedule["cron_expression"] == routine["request"]["body"]["cron_expression"]
    assert client.get(f"/api/proactive/schedules/{schedule['id']}").status_code == 200

    again = client.post(f"/api/proactive/suggestions/{routine['id']}/accept")
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["resource"]["id"] == schedule["id"]
    assert len(client.get("/api/proactive/schedules").json()["items"]) == 1
    assert client.get(f"/api/proactive/suggestions/{routine['id']}").json()["status"] == "accepted"

    # Mining again finds the routine scheduled: nothing new is suggested for it.
    _refresh(client)
    assert _open(client, "schedule") == []


def test_accept_overrides_and_a_refused_request_leaves_the_suggestion_open(
    routine: dict[str, Any], client: TestClient
) -> None:
    refused = client.post(
        f"/api/proactive/suggestions/{routine['id']}/accept",
        json={"overrides": {"cron_expression": "61 9 * * *"}},
    )
    # Answered as the API answers that request.
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "cron_expression"
    assert client.get(f"/api/proactive/suggestions/{routine['id']}").json()["status"] == "open"
    assert client.get("/api/proactive/schedules").json()["items"] == []

    moved = client.post(
        f"/api/proactive/suggestions/{routine['id']}/accept",
        json={"overrides": {"cron_expression": "30 8 * * 1-5"}},
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["resource"]["cron_expression"] == "30 8 * * 1-5"


def test_a_dismissed_suggestion_is_not_suggested_again(routine: dict[str, Any], client: TestClient) -> None:
    resp = client.post(
        f"/api/proactive/suggestions/{routine['id']}/dismiss", json={"reason": "I like doing it"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "dismissed"
    assert resp.json()["dismissed_reason"] == "I like doing it"
    _refresh(client)
    assert _open(client, "schedule") == []
    assert client.get(f"/api/proactive/suggestions/{routine['id']}").json()["status"] == "dismissed"
    # Accepting a dismissed suggestion is refused: it must be suggested again first.
    assert client.post(f"/api/proactive/suggestions/{routine['id']}/accept").status_code == 409


def test_a_snoozed_suggestion_waits_until_its_time(routine: dict[str, Any], client: TestClient) -> None:
    until = (utcnow() + timedelta(days=3)).isoformat()
    resp = client.post(f"/api/proactive/suggestions/{routine['id']}/snooze", json={"until": until})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "snoozed"
    assert _open(client, "schedule") == []
    _refresh(client)
    assert client.get(f"/api/proactive/suggestions/{routine['id']}").json()["status"] == "snoozed"

    past = client.post(
        f"/api/proactive/suggestions/{routine['id']}/snooze", json={"until": "2020-01-01T00:00:00Z"}
    )
    assert past.status_code == 422
    assert past.json()["field"] == "until"


def test_another_workspace_sees_none_of_it(routine: dict[str, Any], client: TestClient) -> None:
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    sid = routine["id"]
    assert client.get(f"/api/proactive/suggestions/{sid}", headers=other).status_code == 404
    assert client.post(f"/api/proactive/suggestions/{sid}/accept", headers=other).status_code == 404
    assert client.post(f"/api/proactive/suggestions/{sid}/dismiss", headers=other).status_code == 404
    assert client.get("/api/proactive/suggestions", headers=other).json()["items"] == []
    assert client.get("/api/proactive/patterns", headers=other).json()["patterns"] == []
    assert (
        client.get("/api/proactive/suggestions", params={"workspace_id": "ws-1"}, headers=other).status_code
        == 403
    )


def test_bad_input_is_named(client: TestClient) -> None:
    assert client.get("/api/proactive/suggestions", params={"status": "maybe"}).status_code in (400, 422)
    missing = client.post("/api/proactive/suggestions/sug_nothing/accept")
    assert missing.status_code == 404
    snooze = client.post("/api/proactive/suggestions/sug_nothing/snooze", json={})
    assert snooze.status_code in (400, 422)
    assert snooze.json()["field"] in ("until", "body.until")
    assert client.get("/api/proactive/suggestions", params={"cursor": "made-up"}).status_code == 422


def test_events_followed_by_runs_become_a_trigger_that_then_fires(client: TestClient, aws: Aws) -> None:
    agent = make_agent(aws.store, name="triage")
    now = utcnow()
    rng = np.random.default_rng(3)
    events = []
    for i in range(40):
        at = now - timedelta(days=30) + timedelta(hours=17 * i + int(rng.integers(0, 5)))
        severity = "high" if i % 2 == 0 else "low"
        events.append(
            {"event_type": "alert", "timestamp": at.isoformat(), "metadata": {"severity": severity}}
        )
        if severity == "high" and i % 10 != 0:
            _seed_run(
                aws, agent, at + timedelta(minutes=2 + int(rng.integers(0, 4))), task="Triage the alert"
            )
    assert client.post("/api/autonomous/events", json={"events": events}).status_code == 200
    # A few runs unrelated to any event.
    for day in (3, 11, 19, 27, 29):
        _seed_run(aws, agent, now - timedelta(days=day, hours=5), task="Triage the alert")
    _refresh(client)
    [suggestion] = _open(client, "trigger")
    body = suggestion["request"]["body"]
    assert body["config"] == {"recorded_event": "alert"}
    assert body["filter"] == "severity == 'high'"
    assert suggestion["backtest"]["lift"] > 1

    accepted = client.post(f"/api/proactive/suggestions/{suggestion['id']}/accept")
    assert accepted.status_code == 201, accepted.text
    trigger = accepted.json()["resource"]

    # A live event of the kind fires it; a low one, and an old one, do not.
    live = [
        {"event_type": "alert", "metadata": {"severity": "high"}},
        {"event_type": "alert", "metadata": {"severity": "low"}},
        {
            "event_type": "alert",
            "timestamp": (now - timedelta(days=2)).isoformat(),
            "metadata": {"severity": "high"},
        },
    ]
    assert client.post("/api/autonomous/events", json={"events": live}).status_code == 200
    runs = client.get("/api/runs", params={"source_type": "trigger"}).json()["items"]
    assert [r["source_id"] for r in runs] == [trigger["id"]]


def test_a_metric_with_unwatched_spikes_becomes_a_monitor_suggestion(client: TestClient, aws: Aws) -> None:
    agent = make_agent(aws.store, name="ops")
    now = utcnow().replace(microsecond=0)
    rng = np.random.default_rng(5)
    points = []
    spikes = {100, 260, 420, 600}
    for i in range(700):
        at = now - timedelta(hours=700 - i)
        value = 95.0 if i in spikes or i - 1 in spikes else 50 + float(rng.normal(0, 3))
        points.append({"metric_name": "cpu", "value": round(value, 2), "timestamp": at.isoformat()})
        if i in spikes:
            _seed_run(aws, agent, at + timedelta(minutes=30), status=RunStatus.FAILED, task="nightly")
    for start in range(0, len(points), 500):
        resp = client.post("/api/autonomous/metrics", json={"metrics": points[start : start + 500]})
        assert resp.status_code in (200, 207), resp.text
    _refresh(client)
    [suggestion] = _open(client, "monitor")
    body = suggestion["request"]["body"]
    assert body["source"] == {"type": "series", "metric_name": "cpu", "aggregation": "max"}
    assert body["condition"].startswith("value > ")
    assert 60 < float(body["condition"].split()[-1]) < 95
    assert suggestion["backtest"]["fires"] == 4
    assert suggestion["backtest"]["fires_before_failure"] == 4
    assert "4" in suggestion["why"]
    accepted = client.post(f"/api/proactive/suggestions/{suggestion['id']}/accept")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["resource"]["source"]["metric_name"] == "cpu"


def test_a_missing_secret_is_a_fix_that_needs_its_value(client: TestClient, aws: Aws) -> None:
    agent = make_agent(aws.store, name="poster")
    now = utcnow()
    for hours in (5, 30, 60):
        _seed_run(
            aws,
            agent,
            now - timedelta(hours=hours),
            status=RunStatus.FAILED,
            source=SourceType.SCHEDULE,
            error="secret 'SLACK_TOKEN' is not set in workspace 'ws-1'",
        )
    _refresh(client)
    fixes = _open(client, "fix")
    [secret] = [f for f in fixes if f["request"]["path"] == "/api/secrets/SLACK_TOKEN"]
    assert secret["request"]["needs"] == ["value"]
    refused = client.post(f"/api/proactive/suggestions/{secret['id']}/accept")
    assert refused.status_code == 422
    assert refused.json()["field"] == "overrides.value"
    done = client.post(
        f"/api/proactive/suggestions/{secret['id']}/accept", json={"overrides": {"value": "xoxb-1"}}
    )
    assert done.status_code == 201, done.text
    assert "xoxb-1" not in done.text
    names = [s["name"] for s in client.get("/api/secrets").json()["items"]]
    assert "SLACK_TOKEN" in names


def test_the_daily_mining_runs_through_the_dispatcher(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    make_agent(aws.store)
    created = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "second"})
    assert created.status_code == 201
    assert client.get("/api/proactive/patterns").json()["mined_at"] is None
    handlers.tick(utcnow() + timedelta(days=1, minutes=1))
    handlers.drain_until(lambda: client.get("/api/proactive/patterns").json()["mined_at"] is not None)
    assert client.get("/api/proactive/patterns").json()["window_days"] == 42
