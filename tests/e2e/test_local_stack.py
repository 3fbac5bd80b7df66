"""What a new user does after `make dev`: get a token, create an agent and a schedule, and
watch runs happen on time."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.localstack import Stack

pytestmark = pytest.mark.e2e
WS = "ws-e2e"


def wait_for(client: httpx.Client, path: str, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(path).json()
        if done(body):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting on {path}: {body}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def every_minute(stack: Stack) -> dict[str, Any]:
    """A schedule created first, so its fires happen while the other tests run."""
    with stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "minute-agent"}).json()
        resp = c.post(
            "/api/proactive/schedules",
            json={
                "name": "Every minute",
                "workspace_id": WS,
                "agent_id": agent["id"],
                "task_description": "Check the queue depth",
                "cron_expression": "* * * * *",
                "timezone": "Europe/Paris",
            },
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())


def test_health_and_openapi(stack: Stack, every_minute: dict[str, Any]) -> None:
    assert httpx.get(f"{stack.base_url}/health").json()["status"] == "ok"
    assert httpx.get(f"{stack.base_url}/docs").status_code == 200


def test_token_command_prints_only_a_token(stack: Stack) -> None:
    token = stack.token("ws-a", "ws-b")
    assert "\n" not in token
    assert token.count(".") == 2
    with stack.client("ws-a", "ws-b") as c:
        assert c.get("/api/agents", params={"workspace_id": "ws-b"}).status_code == 200


def test_missing_token_is_401_json(stack: Stack) -> None:
    resp = httpx.get(f"{stack.base_url}/api/runs")
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"


def test_delegated_task_runs_in_the_worker(stack: Stack) -> None:
    with stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "research-agent"}).json()
        run = c.post(
            "/api/runs", json={"workspace_id": WS, "agent_id": agent["id"], "task": "Research AI trends."}
        )
        assert run.status_code == 202
        done = wait_for(c, f"/api/runs/{run.json()['id']}", lambda r: r["status"] == "succeeded", 15)
        assert done["output"].endswith("Research AI trends.")
        assert done["source_type"] == "manual"


@pytest.mark.long
def test_schedule_fires_every_minute_on_time_exactly_once(stack: Stack, every_minute: dict[str, Any]) -> None:
    # The first fire is handed off when the schedule is saved; the second comes from a
    # dispatcher tick. Each starts at its time, not a tick later, and each time runs once.
    sid = every_minute["id"]
    with stack.client(WS) as c:
        page = wait_for(
            c,
            f"/api/proactive/schedules/{sid}/runs",
            lambda p: sum(r["status"] == "succeeded" for r in p["items"]) >= 2,
            150,
        )
    done = [r for r in page["items"] if r["status"] == "succeeded"]
    assert len({r["scheduled_for"] for r in page["items"]}) == len(page["items"])
    for run in done:
        scheduled = datetime.fromisoformat(run["scheduled_for"])
        started = datetime.fromisoformat(run["started_at"])
        assert scheduled.second == 0
        # Generous bound: it catches a run a tick late (up to 60 s) without timing the machine.
        assert 0 <= (started - scheduled).total_seconds() < 10, run
    log = stack.log.read_text()
    assert log.count(f"occurrence fired  schedule_id={sid}") >= 2
