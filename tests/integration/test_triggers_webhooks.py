"""Triggers and webhooks through the API, the ingest function and the worker, on moto."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as ReferenceWebhook

from tests.integration.conftest import Aws, Handlers

PR_EVENT = {
    "action": "opened",
    "number": 42,
    "pull_request": {"number": 42, "title": "Add retries to the uploader", "user": {"login": "octocat"}},
    "repository": {"full_name": "owner/repo"},
}


def agent_id(client: TestClient) -> str:
    return str(
        client.post("/api/agents", json={"workspace_id": "ws-1", "name": "code-review-agent"}).json()["id"]
    )


def github_trigger(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "GitHub PR Trigger",
        "workspace_id": "ws-1",
        "trigger_type": "github",
        "config": {"repository": "owner/repo", "event": "pull_request"},
        "agent_id": agent_id(client),
        "task_template": "Review PR #{pr_number}: {pr_title}",
        **overrides,
    }
    resp = client.post("/api/proactive/triggers", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def webhook_for(client: TestClient, trigger: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    resp = client.post(
        "/api/proactive/webhooks",
        json={
            "workspace_id": "ws-1",
            "name": "Deploy Webhook",
            "trigger_id": trigger["id"],
            **overrides,
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def github_headers(
    secret: str, body: bytes, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": "pull_request",
        "Content-Type": "application/json",
    }


def deliveries(client: TestClient, webhook_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/api/proactive/webhooks/{webhook_id}/deliveries").json()["items"])


# Triggers


def test_trigger_as_in_the_docs_and_manual_fire(client: TestClient, handlers: Handlers) -> None:
    trig = github_trigger(client)
    assert (trig["is_active"], trig["fire_count"], trig["config"]["event"]) == (True, 0, ["pull_request"])
    resp = client.post(f"/api/proactive/triggers/{trig['id']}/fire", json={"payload": PR_EVENT})
    assert resp.status_code == 202
    run = resp.json()["run"]
    assert (run["source_type"], run["source_id"], run["task"]) == (
        "trigger",
        trig["id"],
        "Review PR #42: Add retries to the uploader",
    )
    handlers.drain()
    assert client.get(f"/api/runs/{run['id']}").json()["status"] == "succeeded"
    assert client.get(f"/api/proactive/triggers/{trig['id']}").json()["fire_count"] == 1


def test_fire_that_is_filtered_or_lacks_a_field(client: TestClient) -> None:
    trig = github_trigger(client)
    other = client.post(
        f"/api/proactive/triggers/{trig['id']}/fire",
        json={"payload": {**PR_EVENT, "repository": {"full_name": "someone/else"}}},
    )
    assert other.status_code == 200
    assert other.json() == {
        "status": "filtered",
        "reason": "repository 'someone/else' is not 'owner/repo'",
        "run": None,
    }
    missing = client.post(
        f"/api/proactive/triggers/{trig['id']}/fire",
        json={"payload": {"repository": {"full_name": "owner/repo"}}},
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "payload.pr_number"
    assert "no field 'pull_request'" in missing.json()["message"]
    assert client.get("/api/runs").json()["items"] == []


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"task_template": "Review {pr_number"}, "task_template"),
        ({"filter": "[?"}, "filter"),
        ({"config": {"repository": "owner/repo"}}, "config.event"),
        ({"agent_id": "agent-nope"}, "agent_id"),
        ({"trigger_type": "sms"}, "trigger_type"),
    ],
)
def test_bad_triggers_get_422_naming_the_field(
    client: TestClient, override: dict[str, Any], field: str
) -> None:
    body = {
        "name": "t",
        "workspace_id": "ws-1",
        "trigger_type": "github",
        "config": {"repository": "owner/repo", "event": "pull_request"},
        "agent_id": agent_id(client),
        "task_template": "x",
        **override,
    }
    resp = client.post("/api/proactive/triggers", json=body)
    assert (resp.status_code, resp.json()["field"]) == (422, field)


def test_trigger_patch_pause_and_delete(client: TestClient) -> None:
    trig = github_trigger(client)
    paused = client.patch(
        f"/api/proactive/triggers/{trig['id']}", json={"is_active": False, "filter": "action"}
    )
    assert (paused.json()["is_active"], paused.json()["filter"]) == (False, "action")
    fired = client.post(f"/api/proactive/triggers/{trig['id']}/fire", json={"payload": PR_EVENT})
    assert fired.status_code == 422
    assert fired.json()["message"] == f"trigger {trig['id']} is paused"
    assert client.delete(f"/api/proactive/triggers/{trig['id']}").status_code == 204
    assert client.get(f"/api/proactive/triggers/{trig['id']}").status_code == 404


def test_event_trigger_chains_from_a_finished_run(client: TestClient, handlers: Handlers) -> None:
    a = agent_id(client)
    chained = client.post(
        "/api/proactive/triggers",
        json={
            "name": "After any run",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "config": {"event": "run.succeeded", "source_type": "manual"},
            "agent_id": a,
            "task_template": "Follow up on run {run_id}: {output}",
        },
    ).json()
    first = client.post(
        "/api/runs", json={"workspace_id": "ws-1", "agent_id": a, "task": "Research AI trends"}
    ).json()
    handlers.drain()
    runs = client.get("/api/runs", params={"source_type": "trigger", "source_id": chained["id"]}).json()[
        "items"
    ]
    assert len(runs) == 1
    assert runs[0]["task"].startswith(f"Follow up on run {first['id']}: Builtin agent")
    assert runs[0]["status"] == "succeeded"
    # The chained run came from a trigger, not a manual run, so it does not fire again.
    assert len(client.get("/api/runs").json()["items"]) == 2


# Webhooks


def test_create_webhook_shows_the_secret_once(client: TestClient) -> None:
    hook = webhook_for(client, github_trigger(client))
    assert hook["id"].startswith("webhook-")
    assert hook["signature_scheme"] == "github"
    assert hook["webhook_url"] == f"http://testserver/api/hooks/{hook['url_path']}"
    assert hook["secret"]
    shown = client.get(f"/api/proactive/webhooks/{hook['id']}").json()
    assert "secret" not in shown
    listed = client.get("/api/proactive/webhooks").json()["items"]
    assert all("secret" not in w and "previous_secret" not in w for w in listed)


def test_webhook_needs_a_webhook_or_github_trigger(client: TestClient) -> None:
    manual = client.post(
        "/api/proactive/triggers",
        json={
            "name": "m",
            "workspace_id": "ws-1",
            "trigger_type": "manual",
            "agent_id": agent_id(client),
            "task_template": "x",
        },
    ).json()
    resp = client.post(
        "/api/proactive/webhooks", json={"workspace_id": "ws-1", "name": "w", "trigger_id": manual["id"]}
    )
    assert (resp.status_code, resp.json()["field"]) == (422, "trigger_id")


def test_signed_github_delivery_runs_the_agent_and_links_both_ways(
    client: TestClient, handlers: Handlers
) -> None:
    hook = webhook_for(client, github_trigger(client))
    body = json.dumps(PR_EVENT).encode()
    status, answer, _ = handlers.post_hook(hook["url_path"], body, github_headers(hook["secret"], body))
    assert status == 202
    assert answer["status"] == "accepted"
    handlers.drain()
    [delivery] = deliveries(client, hook["id"])
    assert (delivery["id"], delivery["status"], delivery["event"]) == (
        answer["delivery_id"],
        "accepted",
        "pull_request",
    )
    run = client.get(f"/api/runs/{delivery['run_id']}").json()
    assert (run["status"], run["task"]) == ("succeeded", "Review PR #42: Add retries to the uploader")
    assert (run["source_type"], run["source_id"], run["delivery_id"]) == (
        "webhook",
        hook["id"],
        delivery["id"],
    )


def test_repeated_delivery_runs_once(client: TestClient, handlers: Handlers) -> None:
    hook = webhook_for(client, github_trigger(client))
    body = json.dumps(PR_EVENT).encode()
    first = handlers.post_hook(hook["url_path"], body, github_headers(hook["secret"], body))
    again = handlers.post_hook(hook["url_path"], body, github_headers(hook["secret"], body))
    assert (first[0], again[0]) == (202, 200)
    assert again[1] == {"delivery_id": first[1]["delivery_id"], "duplicate": True}
    handlers.drain()
    assert len(client.get("/api/runs").json()["items"]) == 1
    assert sorted(d["status"] for d in deliveries(client, hook["id"])) == ["accepted", "duplicate"]


def test_bad_signature_is_401_and_runs_nothing(client: TestClient, handlers: Handlers, aws: Aws) -> None:
    hook = webhook_for(client, github_trigger(client))
    body = json.dumps(PR_EVENT).encode()
    status, answer, _ = handlers.post_hook(hook["url_path"], body, github_headers("wrong secret", body))
    assert status == 401
    assert answer["error"] == "unauthorized"
    status, _, _ = handlers.post_hook(hook["url_path"], body, {"Content-Type": "application/json"})
    assert status == 401
    assert aws.receive() == []
    assert [d["status"] for d in deliveries(client, hook["id"])] == ["unauthorized", "unauthorized"]
    assert client.get("/api/runs").json()["items"] == []


def test_standard_webhooks_sender_and_secret_rotation(client: TestClient, handlers: Handlers) -> None:
    trig = github_trigger(client, trigger_type="webhook", config={}, task_template="Deploy {version}")
    hook = webhook_for(client, trig)
    assert hook["signature_scheme"] == "standard"
    body = b'{"event": "deployment", "version": "v1.2.3"}'

    def send(secret: str, msg_id: str) -> int:
        now = datetime.now(UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": ReferenceWebhook(secret).sign(msg_id, now, body.decode()),
        }
        return handlers.post_hook(hook["url_path"], body, headers)[0]

    assert send(hook["secret"], "msg_1") == 202
    rotated = client.post(f"/api/proactive/webhooks/{hook['id']}/regenerate-secret").json()
    assert rotated["secret"] != hook["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    assert send(hook["secret"], "msg_2") == 202  # the old secret is still good in the grace period
    assert send(rotated["secret"], "msg_3") == 202
    now_only = client.post(
        f"/api/proactive/webhooks/{hook['id']}/regenerate-secret", json={"grace_period_seconds": 0}
    ).json()
    assert send(rotated["secret"], "msg_4") == 401
    assert send(now_only["secret"], "msg_5") == 202
    handlers.drain()
    tasks = {r["task"] for r in client.get("/api/runs").json()["items"]}
    assert tasks == {"Deploy v1.2.3"}


def test_filtered_and_rejected_deliveries_are_logged_not_run(client: TestClient, handlers: Handlers) -> None:
    hook = webhook_for(client, github_trigger(client))
    other_repo = json.dumps({**PR_EVENT, "repository": {"full_name": "else/where"}}).encode()
    no_pr = json.dumps({"repository": {"full_name": "owner/repo"}, "action": "opened"}).encode()
    handlers.post_hook(hook["url_path"], other_repo, github_headers(hook["secret"], other_repo, "d-1"))
    handlers.post_hook(hook["url_path"], no_pr, github_headers(hook["secret"], no_pr, "d-2"))
    handlers.drain()
    log = {d["delivery_key"]: d for d in deliveries(client, hook["id"])}
    assert (log["d-1"]["status"], log["d-1"]["reason"]) == (
        "filtered",
        "repository 'else/where' is not 'owner/repo'",
    )
    assert log["d-2"]["status"] == "rejected"
    assert "placeholder {pr_number}" in log["d-2"]["reason"]
    assert client.get("/api/runs").json()["items"] == []


def test_rate_limit_answers_429_with_retry_after(client: TestClient, handlers: Handlers) -> None:
    hook = webhook_for(client, github_trigger(client), rate_limit_per_minute=3)
    body = json.dumps(PR_EVENT).encode()
    answers = [
        handlers.post_hook(hook["url_path"], body, github_headers(hook["secret"], body, f"d-{i}"))
        for i in range(5)
    ]
    assert [a[0] for a in answers] == [202, 202, 202, 429, 429]
    assert 1 <= int(answers[3][2]["Retry-After"]) <= 60
    assert sorted(d["status"] for d in deliveries(client, hook["id"])).count("rate_limited") == 2


def test_paused_deleted_and_oversized(client: TestClient, handlers: Handlers) -> None:
    hook = webhook_for(client, github_trigger(client))
    body = json.dumps(PR_EVENT).encode()
    assert handlers.post_hook(hook["url_path"], b"x" * (256 * 1024 + 1), {})[0] == 413
    client.patch(f"/api/proactive/webhooks/{hook['id']}", json={"is_active": False})
    assert handlers.post_hook(hook["url_path"], body, github_headers(hook["secret"], body))[0] == 409
    client.delete(f"/api/proactive/webhooks/{hook['id']}")
    assert handlers.post_hook(hook["url_path"], body, github_headers(hook["secret"], body))[0] == 404
    assert client.get("/api/runs").json()["items"] == []


def test_a_trigger_listening_to_its_own_runs_stops_after_five_links(
    client: TestClient, handlers: Handlers
) -> None:
    a = agent_id(client)
    loop = client.post(
        "/api/proactive/triggers",
        json={
            "name": "Echo",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "config": {"event": "run.finished"},
            "agent_id": a,
            "task_template": "Again after {run_id}",
        },
    ).json()
    client.post("/api/runs", json={"workspace_id": "ws-1", "agent_id": a, "task": "Start"})
    for _ in range(8):
        handlers.drain()
    chained = client.get("/api/runs", params={"source_type": "trigger", "source_id": loop["id"]}).json()[
        "items"
    ]
    assert len(chained) == 5
    assert {r["status"] for r in chained} == {"succeeded"}
