"""Webhook deliveries that once gave a 500 or lost something: odd but signed bodies, a write
conflict on the shared counter, a table out of reach, a huge timestamp, and a trigger deleted
under its webhooks; each answered with a clear status and logged."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from tests.integration.conftest import Handlers
from tests.integration.hardening import agent


def github_signed(secret: str, body: bytes, delivery: str) -> dict[str, str]:
    return {
        "x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "x-github-event": "push",
        "x-github-delivery": delivery,
        "content-type": "application/json",
    }


@pytest.fixture
def hook(client: TestClient) -> dict[str, Any]:
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "t",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent(client),
            "task_template": "Handle {n}",
        },
    ).json()
    resp = client.post(
        "/api/proactive/webhooks",
        json={"workspace_id": "ws-1", "name": "w", "trigger_id": trigger["id"], "signature_scheme": "github"},
    )
    return dict(resp.json())


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"n": 1e300}', 202),
        (b'{"n": 123456789012345678901234567890123456789012345}', 202),
        (b'{"n": 1, "": {"": []}}', 202),
        (b'{"n": ' + b"[" * 200 + b"]" * 200 + b"}", 202),
        (b'{"n": NaN}', 400),
        (b"[" * 100_000, 400),
        (b"[" * 50_000 + b"]" * 50_000, 400),
    ],
)
def test_odd_but_signed_deliveries_are_answered_and_logged(
    client: TestClient, handlers: Handlers, hook: dict[str, Any], body: bytes, status: int
) -> None:
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-1"))
    assert code == status, answer
    assert set(answer) >= ({"delivery_id", "status"} if status == 202 else {"error", "message", "field"})
    # Every page of the delivery log can be read, and shows this delivery
    page = client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries")
    assert page.status_code == 200, page.text
    [logged] = page.json()["items"]
    assert logged["status"] == ("accepted" if status == 202 else "rejected")
    if status == 202:
        assert logged["payload"] == json.loads(body)
        handlers.drain()
        [run] = client.get("/api/runs", params={"source_type": "webhook"}).json()["items"]
        assert run["status"] == "succeeded"


def test_a_write_conflict_on_the_shared_counter_is_retried_then_answered_503(
    client: TestClient, handlers: Handlers, hook: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"n": 1}'
    table = handlers.ingest.store.table
    real = table.client.transact_write_items
    conflicts = {"left": 1}

    def conflicted(**kwargs: Any) -> Any:
        # What DynamoDB answers when another transaction touches the same counter at that moment.
        if conflicts["left"]:
            conflicts["left"] -= 1
            reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}]
            error = {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}
            raise ClientError({**error, "CancellationReasons": reasons}, "TransactWriteItems")
        return real(**kwargs)

    monkeypatch.setattr(table.client, "transact_write_items", conflicted)
    # A conflict that clears is retried: the delivery is accepted, not taken for a duplicate
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-1"))
    assert (code, answer["status"]) == (202, "accepted")
    # One that persists is a 503, so the sender retries; nothing was logged as a duplicate
    conflicts["left"] = 100
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-2"))
    assert (code, answer["error"]) == (503, "service_unavailable")
    conflicts["left"] = 0
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-2"))
    assert (code, answer["status"]) == (202, "accepted")
    statuses = [
        d["status"] for d in client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries").json()["items"]
    ]
    assert sorted(statuses) == ["accepted", "accepted"]


def test_a_table_out_of_reach_is_a_json_503_the_sender_retries(
    handlers: Handlers, hook: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = handlers.ingest.store.table

    def throttled(**kwargs: Any) -> Any:
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "Query")

    monkeypatch.setattr(table.client, "query", throttled)
    body = b'{"n": 1}'
    code, answer, headers = handlers.post_hook(
        hook["url_path"], body, github_signed(hook["secret"], body, "d-1")
    )
    assert (code, answer["error"]) == (503, "service_unavailable")
    assert answer["message"] == "the delivery could not be handled; retry later"
    assert headers["content-type"] == "application/json"


def test_a_huge_webhook_timestamp_is_401(handlers: Handlers, client: TestClient) -> None:
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "t",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent(client),
            "task_template": "go",
        },
    ).json()
    hook = client.post(
        "/api/proactive/webhooks", json={"workspace_id": "ws-1", "name": "w", "trigger_id": trigger["id"]}
    ).json()
    headers = {"webhook-id": "m1", "webhook-timestamp": "9" * 401, "webhook-signature": "v1,AAAA"}
    code, answer, _ = handlers.post_hook(hook["url_path"], b"{}", headers)
    assert (code, answer["error"]) == (401, "unauthorized")
    assert "webhook-timestamp" in answer["message"]


def test_deleting_a_trigger_webhooks_deliver_to_is_409_and_force_pauses_them(
    client: TestClient, hook: dict[str, Any], handlers: Handlers
) -> None:
    resp = client.delete(f"/api/proactive/triggers/{hook['trigger_id']}")
    assert resp.status_code == 409
    assert hook["id"] in resp.json()["message"]
    assert client.delete(f"/api/proactive/triggers/{hook['trigger_id']}?force=true").status_code == 204
    paused = client.get(f"/api/proactive/webhooks/{hook['id']}").json()
    assert paused["is_active"] is False
    assert "its trigger" in paused["paused_reason"]
    body = b'{"n": 1}'
    code, _, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-9"))
    assert code == 409
