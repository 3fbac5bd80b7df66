"""The management API over its ASGI interface, against moto: what a user of the API sees."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from proactive.auth import issue_local_token
from tests.integration.conftest import Aws, Handlers, token

SCHEDULE = {
    "name": "Daily Report",
    "workspace_id": "ws-1",
    "task_description": "Generate daily metrics report",
    "cron_expression": "0 9 * * *",
    "timezone": "America/New_York",
}


def agent(client: TestClient, workspace: str = "ws-1", name: str = "report-agent") -> dict[str, Any]:
    resp = client.post("/api/agents", json={"workspace_id": workspace, "name": name})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def schedule(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {**SCHEDULE, "agent_id": agent(client)["id"], **overrides}
    resp = client.post("/api/proactive/schedules", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


# Auth


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization header"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        ("Bearer abc.def", "invalid token"),
        ("expired", "token has expired"),
        ("foreign", "Signature verification failed"),
    ],
)
def test_requests_without_a_valid_token_get_401_json(
    client: TestClient, header: str | None, message: str
) -> None:
    if header == "expired":
        header = "Bearer " + issue_local_token(
            ["ws-1"], secret=os.environ["LOCAL_JWT_SECRET"], ttl=timedelta(seconds=-1)
        )
    elif header == "foreign":
        header = "Bearer " + jwt.encode(
            {"sub": "x", "exp": 9_999_999_999, "workspaces": ["ws-1"]}, "other-key" * 4
        )
    headers = {"Authorization": header} if header else {}
    client.headers.pop("Authorization")
    for path in ("/api/agents", "/api/runs", "/api/proactive/schedules"):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 401
        assert resp.json()["error"] == "unauthorized"
        assert message in resp.json()["message"]
        assert resp.headers["www-authenticate"] == "Bearer"


def test_health_and_docs_need_no_token(client: TestClient) -> None:
    client.headers.pop("Authorization")
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/api/proactive/schedules/{schedule_id}/next-runs" in client.get("/openapi.json").json()["paths"]


def test_docs_render_offline_with_an_authorize_button_and_one_error_shape(client: TestClient) -> None:
    page = client.get("/docs").text
    # Every file the page loads is served by the app itself: nothing from a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets
    assert all(a.startswith("/docs/static/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200
    assert "cdn." not in page
    spec = client.get("/openapi.json").json()
    # A bearer scheme (Swagger UI's Authorize button), used by every /api route but ingest.
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT whose claim lists your workspaces.",
    }
    hook = spec["paths"]["/api/hooks/{url_path}"]["post"]
    assert hook["security"] == []
    assert {"202", "200", "400", "401", "404", "409", "413", "429", "503"} <= set(hook["responses"])
    # Every error response, on every route, is the one error body; FastAPI's own 422 is gone.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if path.startswith("/approvals/"):
                    # One-click approval links open in a browser: every answer is a page.
                    assert set(answer["content"]) == {"text/html"}, (method, path, status)
                elif status.startswith(("4", "5")):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", (method, path, status)
    assert "HTTPValidationError" not in json.dumps(spec)
    fire = spec["paths"]["/api/proactive/triggers/{trigger_id}/fire"]["post"]["responses"]["200"]
    assert fire["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/FireResult"


def test_resources_in_another_workspace_answer_404(client: TestClient) -> None:
    sched = schedule(client)
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    for path in (
        f"/api/agents/{sched['agent_id']}",
        f"/api/proactive/schedules/{sched['id']}",
        f"/api/proactive/schedules/{sched['id']}/next-runs",
    ):
        resp = client.get(path, headers=other)
        assert resp.status_code == 404, path
        assert resp.json()["error"] == "not_found"
    assert client.delete(f"/api/proactive/schedules/{sched['id']}", headers=other).status_code == 404
    assert client.post(f"/api/proactive/schedules/{sched['id']}/run", headers=other).status_code == 404
    # ...and the owner still has it, untouched.
    assert client.get(f"/api/proactive/schedules/{sched['id']}").json()["is_active"] is True


def test_creating_in_a_workspace_the_token_lacks_is_forbidden(client: TestClient) -> None:
    resp = client.post("/api/agents", json={"workspace_id": "ws-9", "name": "x"})
    assert resp.status_code == 403
    assert resp.json()["field"] == "workspace_id"


def test_listing_with_several_workspaces_needs_workspace_id(client: TestClient) -> None:
    both = {"Authorization": f"Bearer {token('ws-1', 'ws-2')}"}
    resp = client.get("/api/agents", headers=both)
    assert resp.status_code == 422
    assert resp.json()["field"] == "workspace_id"
    assert client.get("/api/agents?workspace_id=ws-2", headers=both).json() == {
        "items": [],
        "next_cursor": None,
    }


# Agents


def test_agent_crud(client: TestClient) -> None:
    created = agent(client)
    assert created["runtime"] == "builtin"
    resp = client.patch(f"/api/agents/{created['id']}", json={"name": "renamed", "description": "daily"})
    assert resp.json()["name"] == "renamed"
    assert client.get(f"/api/agents/{created['id']}").json()["description"] == "daily"
    assert client.patch(f"/api/agents/{created['id']}", json={"name": None}).status_code == 422
    assert client.patch(f"/api/agents/{created['id']}", json={"runtime": "gpt"}).json()["field"] == "runtime"
    assert client.delete(f"/api/agents/{created['id']}").status_code == 204
    assert client.get(f"/api/agents/{created['id']}").status_code == 404


def test_pagination_returns_every_item_once_newest_first(client: TestClient) -> None:
    names = [f"agent-{i}" for i in range(5)]
    for name in names:
        agent(client, name=name)
    seen: list[str] = []
    cursor = None
    while True:
        resp = client.get("/api/agents", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen.extend(a["name"] for a in resp["items"])
        cursor = resp["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(names))
    bad = client.get("/api/agents", params={"cursor": "garbage"})
    assert (bad.status_code, bad.json()["field"]) == (422, "cursor")


# Schedules


def test_create_schedule_as_in_the_docs(client: TestClient) -> None:
    sched = schedule(client)
    assert sched["id"].startswith("sched-")
    assert {k: sched[k] for k in SCHEDULE} == SCHEDULE
    assert (sched["is_active"], sched["catch_up"], sched["overlap"], sched["last_run"]) == (
        True,
        "latest",
        "skip",
        None,
    )
    assert sched["next_run"].endswith(("-05:00", "-04:00"))
    assert sched["next_run"][11:19] == "09:00:00"
    assert client.get(f"/api/proactive/schedules/{sched['id']}").json() == sched
    assert [s["id"] for s in client.get("/api/proactive/schedules").json()["items"]] == [sched["id"]]


@pytest.mark.parametrize(
    ("override", "field", "text"),
    [
        ({"cron_expression": "0 9 * *"}, "cron_expression", "has 4 fields"),
        ({"cron_expression": "0 25 * * *"}, "cron_expression", "invalid cron expression"),
        ({"timezone": "America/Gotham"}, "timezone", "unknown time zone 'America/Gotham'"),
        ({"agent_id": "agent-missing"}, "agent_id", "agent 'agent-missing' does not exist"),
        ({"catch_up": "never"}, "catch_up", "Input should be 'skip', 'latest' or 'all'"),
        ({"task_description": ""}, "task_description", "at least 1 character"),
        ({"name": None}, "name", "valid string"),
    ],
)
def test_bad_schedules_get_422_naming_the_field(
    client: TestClient, override: dict[str, Any], field: str, text: str
) -> None:
    body = {**SCHEDULE, "agent_id": agent(client)["id"], **override}
    resp = client.post("/api/proactive/schedules", json=body)
    assert resp.status_code == 422
    assert resp.json()["field"] == field
    assert text in resp.json()["message"]
    assert client.get("/api/proactive/schedules").json()["items"] == []


def test_missing_field_and_broken_json(client: TestClient) -> None:
    resp = client.post(
        "/api/proactive/schedules", json={k: v for k, v in SCHEDULE.items() if k != "cron_expression"}
    )
    assert resp.status_code == 422
    assert resp.json()["message"].startswith("agent_id: Field required; cron_expression: Field required")
    resp = client.post(
        "/api/proactive/schedules", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "bad_request"
    assert resp.json()["field"] == "body"
    assert resp.json()["message"].startswith("request body is not valid JSON")


def test_next_runs_carry_the_zone_offset_across_dst(client: TestClient) -> None:
    sched = schedule(client, cron_expression="0 9 * * 0", timezone="Europe/London")
    runs = client.get(f"/api/proactive/schedules/{sched['id']}/next-runs?count=30").json()["next_runs"]
    assert len(runs) == 30
    assert all(r[11:19] == "09:00:00" for r in runs)
    assert {r[-6:] for r in runs} == {"+00:00", "+01:00"}  # GMT and BST both appear over 30 weeks
    assert client.get(f"/api/proactive/schedules/{sched['id']}/next-runs?count=0").status_code == 422
    assert client.get(f"/api/proactive/schedules/{sched['id']}/next-runs?count=101").status_code == 422


def test_pause_resume_and_patch(client: TestClient) -> None:
    sched = schedule(client)
    paused = client.post(f"/api/proactive/schedules/{sched['id']}/pause").json()
    assert (paused["is_active"], paused["next_run"]) == (False, None)
    resumed = client.post(f"/api/proactive/schedules/{sched['id']}/resume").json()
    assert resumed["is_active"] is True
    assert resumed["next_run"] == sched["next_run"]
    patched = client.patch(
        f"/api/proactive/schedules/{sched['id']}", json={"cron_expression": "30 17 * * 1-5"}
    ).json()
    assert patched["next_run"][11:19] == "17:30:00"
    bad = client.patch(f"/api/proactive/schedules/{sched['id']}", json={"timezone": "Nowhere/Land"})
    assert (bad.status_code, bad.json()["field"]) == (422, "timezone")
    assert client.get(f"/api/proactive/schedules/{sched['id']}").json()["next_run"] == patched["next_run"]
    assert (
        client.patch(f"/api/proactive/schedules/{sched['id']}", json={"workspace_id": "ws-2"}).status_code
        == 422
    )


def test_run_now_and_the_runs_it_leaves(client: TestClient, handlers: Handlers) -> None:
    # Paused, so no cron occurrence can join the runs listed below; run-now still works.
    sched = schedule(client, is_active=False)
    run = client.post(f"/api/proactive/schedules/{sched['id']}/run")
    assert run.status_code == 202
    assert (run.json()["status"], run.json()["source_type"], run.json()["source_id"]) == (
        "queued",
        "schedule",
        sched["id"],
    )
    handlers.drain()
    listed = client.get(f"/api/proactive/schedules/{sched['id']}/runs").json()["items"]
    assert [(r["id"], r["status"]) for r in listed] == [(run.json()["id"], "succeeded")]
    by_source = client.get("/api/runs", params={"source_type": "schedule", "source_id": sched["id"]}).json()
    assert [r["id"] for r in by_source["items"]] == [run.json()["id"]]
    assert client.get("/api/runs", params={"status": "failed"}).json()["items"] == []
    assert client.get("/api/runs", params={"status": "bogus"}).status_code == 422


def test_schedule_saved_just_before_its_fire_is_queued_at_once(client: TestClient, aws: Aws) -> None:
    # Every minute: the next fire is always inside the current look-ahead window.
    sched = schedule(client, cron_expression="* * * * *", timezone="UTC")
    runs = client.get(f"/api/proactive/schedules/{sched['id']}/runs").json()["items"]
    # The window is one tick plus a margin, so saved in a minute's last seconds it covers two.
    assert 1 <= len(runs) <= 2
    assert {r["status"] for r in runs} == {"queued"}
    assert all(r["scheduled_for"] < sched["next_run"].replace("+00:00", "Z") for r in runs)


def test_delete_schedule(client: TestClient) -> None:
    sched = schedule(client)
    assert client.delete(f"/api/proactive/schedules/{sched['id']}").status_code == 204
    assert client.get(f"/api/proactive/schedules/{sched['id']}").status_code == 404
    assert client.delete(f"/api/proactive/schedules/{sched['id']}").status_code == 404


# Delegation


def test_delegated_task_is_queued_then_executed(client: TestClient, handlers: Handlers) -> None:
    a = agent(client)
    resp = client.post(
        "/api/runs", json={"workspace_id": "ws-1", "agent_id": a["id"], "task": "Research AI trends"}
    )
    assert resp.status_code == 202
    run = resp.json()
    assert (run["status"], run["source_type"], run["source_id"], run["attempts"]) == (
        "queued",
        "manual",
        "tester",
        0,
    )
    handlers.drain()
    done = client.get(f"/api/runs/{run['id']}").json()
    assert done["status"] == "succeeded"
    assert "Research AI trends" in done["output"]
    bad = client.post("/api/runs", json={"workspace_id": "ws-1", "agent_id": "agent-nope", "task": "x"})
    assert (bad.status_code, bad.json()["field"]) == (422, "agent_id")
    assert (
        client.get(f"/api/runs/{run['id']}", headers={"Authorization": f"Bearer {token('ws-2')}"}).status_code
        == 404
    )


def test_queue_outage_answers_503_and_leaves_no_run_pretending_to_be_queued(
    client: TestClient, aws: Aws
) -> None:
    a = agent(client)
    aws.sqs.delete_queue(QueueUrl=aws.queue_url)
    resp = client.post("/api/runs", json={"workspace_id": "ws-1", "agent_id": a["id"], "task": "Research"})
    assert resp.status_code == 503
    assert resp.json()["error"] == "service_unavailable"
    [run] = client.get("/api/runs").json()["items"]
    assert run["status"] == "failed"
    assert run["error"].startswith("could not queue the run")
    # A schedule saved during the outage is kept; the dispatcher hands its occurrence over later.
    sched = client.post(
        "/api/proactive/schedules", json={**SCHEDULE, "agent_id": a["id"], "cron_expression": "* * * * *"}
    )
    assert sched.status_code == 201
    assert client.get(f"/api/proactive/schedules/{sched.json()['id']}").json()["is_active"] is True
