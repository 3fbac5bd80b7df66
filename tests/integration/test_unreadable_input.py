"""Input that cannot be read back: text that is not valid Unicode (a lone surrogate, escaped in
valid JSON) and bodies that cannot be read at all. Refused at the door with the one error shape,
and what was stored before that rule stays listable."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.errors import InvalidInput
from proactive.runs.callbacks import _outcome
from tests.integration.conftest import Aws, Handlers, make_agent
from tests.integration.test_triggers_webhooks import (
    PR_EVENT,
    deliveries,
    github_headers,
    github_trigger,
    webhook_for,
)

JSON = {"Content-Type": "application/json"}


def pr_event(title: str) -> dict[str, Any]:
    """The pull request event of the webhook tests, with this title."""
    return {**PR_EVENT, "pull_request": {"number": 42, "title": title, "user": {"login": "octocat"}}}


def test_a_signed_delivery_holding_a_lone_surrogate_is_refused_and_its_log_stays_readable(
    client: TestClient, handlers: Handlers
) -> None:
    hook = webhook_for(client, github_trigger(client))
    # Valid JSON, signed, whose title is the lone surrogate U+D800 (escaped, as JSON allows).
    body = json.dumps(pr_event("fix \ud800")).encode()
    assert b"\\ud800" in body
    status, answer, _ = handlers.post_hook(
        hook["url_path"], body, github_headers(hook["secret"], body, "d-1")
    )
    assert status == 400
    assert answer == {
        "error": "bad_request",
        "message": "body holds text that is not valid Unicode: a lone surrogate (U+D800 at position 5) "
        "at pull_request.title",
        "field": None,
    }
    # A pair escaped in JSON is one character (U+1F600): fine.
    fine = json.dumps(pr_event("ok \U0001f600"))
    assert "\\ud83d\\ude00" in fine
    status, _, _ = handlers.post_hook(
        hook["url_path"], fine.encode(), github_headers(hook["secret"], fine.encode(), "d-2")
    )
    assert status == 202
    handlers.drain()

    resp = client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries")
    assert resp.status_code == 200, resp.text
    log = {d["delivery_key"]: d for d in resp.json()["items"]}
    assert log["d-1"]["status"] == "rejected"
    assert "not valid Unicode" in log["d-1"]["reason"]
    assert log["d-2"]["status"] == "accepted"
    runs = client.get("/api/runs")
    assert runs.status_code == 200
    assert [r["task"] for r in runs.json()["items"]] == ["Review PR #42: ok \U0001f600"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Fields of any JSON, which no model types as text.
        ("/api/agents", '{"workspace_id": "ws-1", "name": "a", "config": {"x": ["\\udfff"]}}', "config.x[0]"),
        (
            "/api/autonomous/events",
            '{"event_type": "login", "metadata": {"user": "\\ud800"}}',
            "metadata.user",
        ),
        (
            "/api/autonomous/events",
            '{"events": [{"event_type": "a"}, {"event_type": "b", "metadata": {"k\\udc00": 1}}]}',
            "events[1].metadata",
        ),
        ("/conversations", '{"context_data": {"page": "\\ud800"}}', "context_data.page"),
        # A field typed as text.
        ("/api/agents", '{"workspace_id": "ws-1", "name": "bad \\ud800 name"}', "name"),
        # A surrogate sent raw, as UTF-8 would encode one (which is not UTF-8 at all).
        ("/api/agents", b'{"workspace_id": "ws-1", "name": "\xed\xa0\x80"}', "name"),
    ],
)
def test_api_bodies_holding_a_lone_surrogate_are_refused_naming_the_field(
    client: TestClient, aws: Aws, path: str, body: str | bytes, field: str
) -> None:
    make_agent(aws.store, name="default")
    client.put("/api/workspace/settings", json={"default_agent_id": aws.store.agents.all_in("ws-1")[0]["id"]})
    content = body.encode() if isinstance(body, str) else body
    resp = client.post(path, content=content, headers=JSON)
    assert resp.status_code == 422, resp.text
    answer = resp.json()
    assert (answer["error"], answer["field"]) == ("validation_error", field)
    assert answer["message"].startswith(
        f"{field}: holds text that is not valid Unicode: a lone surrogate (U+D"
    )
    # Nothing was stored: every list still answers, with nothing new in it.
    assert [a["name"] for a in client.get("/api/agents").json()["items"]] == ["default"]
    assert client.get("/api/autonomous/events").json()["items"] == []
    assert client.get("/conversations").json()["items"] == []


def test_a_fire_payload_and_an_action_holding_a_lone_surrogate_are_refused(
    client: TestClient, aws: Aws
) -> None:
    trigger = github_trigger(client, trigger_type="manual", config={}, task_template="Look at {x}")
    fired = client.post(
        f"/api/proactive/triggers/{trigger['id']}/fire",
        content=b'{"payload": {"x": "\\ud800"}}',
        headers=JSON,
    )
    assert (fired.status_code, fired.json()["field"]) == (422, "payload.x")
    assert client.get("/api/runs").json()["items"] == []
    action = {
        "name": "scale",
        "goal_types": ["BOTTLENECK_PREVENTION"],
        "kind": "agent",
        "agent_id": make_agent(aws.store),
        "task_template": "Scale {resource}",
        "parameters": {"note": "\udbff"},
    }
    made = client.post("/api/autonomous/actions", content=json.dumps(action).encode(), headers=JSON)
    assert (made.status_code, made.json()["field"]) == (422, "parameters.note")
    assert client.get("/api/autonomous/actions").json()["items"] == []


def test_an_agents_callback_holding_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        _outcome(b'{"output": {"summary": "done \\ud800"}}')
    assert refused.value.field == "output.summary"
    assert "not valid Unicode" in refused.value.message


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"name": "\xff"}', "it is not UTF-8 text (byte 0xff at position 11)"),
        (
            b'{"workspace_id": "ws-1", "name": ' + b"1" * 5000 + b"}",
            "it holds a number of more than 4300 digits",
        ),
        (b"[" * 100_000, "it nests too deeply to be read"),
        (b'{"name": ', "(Expecting value)"),
    ],
)
def test_every_unreadable_body_answers_400_in_the_one_error_shape(
    client: TestClient, body: bytes, why: str
) -> None:
    resp = client.post("/api/agents", content=body, headers=JSON)
    assert resp.status_code == 400
    answer = resp.json()
    assert set(answer) == {"error", "message", "field"}
    assert (answer["error"], answer["field"]) == ("bad_request", "body")
    assert answer["message"].startswith("request body is not valid JSON")
    assert answer["message"].endswith(why)


def test_the_frameworks_own_errors_have_the_one_shape_and_code(client: TestClient) -> None:
    resp = client.put("/api/agents")
    assert resp.status_code == 405
    assert resp.json() == {"error": "method_not_allowed", "message": "Method Not Allowed", "field": None}
    assert resp.headers["allow"]


def _stored_delivery(aws: Aws, webhook: dict[str, Any], key: str, **fields: Any) -> None:
    if fields.get("payload") is not None:
        aws.store.payloads.put(f"dlv-{key}", fields["payload"], expires_at=2_000_000_000)
    aws.store.deliveries.log(
        {
            "id": f"dlv-{key}",
            "webhook_id": webhook["id"],
            "workspace_id": "ws-1",
            "received_at": f"2026-06-01T12:00:0{len(key)}Z",
            "status": "accepted",
            "reason": None,
            "run_id": None,
            "delivery_key": key,
            "event": "pull_request",
            "payload": None,
            **fields,
        }
    )


def test_a_list_shows_items_stored_with_unreadable_text_marked_and_leaves_out_what_it_cannot_show(
    client: TestClient, aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a delivery stored before such text was refused, its payload holding a lone surrogate,
    # a run it started, and a delivery in a shape the answer no longer takes
    hook = webhook_for(client, github_trigger(client))
    _stored_delivery(aws, hook, "old", payload={"title": "fix \ud800", "ok": "yes"})
    _stored_delivery(aws, hook, "good")
    _stored_delivery(aws, hook, "odd", status="no-such-status")
    agent = make_agent(aws.store)
    run = client.post("/api/runs", json={"workspace_id": "ws-1", "agent_id": agent, "task": "t"}).json()
    aws.store.runs.update(run["id"], {"payload_ref": "dlv-old"})

    # When the lists are read
    with caplog.at_level(logging.WARNING):
        resp = client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries")
    runs = client.get("/api/runs")

    # Then they answer: the unreadable text shown as U+FFFD, the item saying where it was
    assert resp.status_code == 200, resp.text
    shown = {d["delivery_key"]: d for d in resp.json()["items"]}
    assert shown["old"]["payload"] == {"title": "fix \ufffd", "ok": "yes"}
    assert shown["old"]["unreadable"] == ["payload.title"]
    assert shown["good"]["unreadable"] is None
    # And the item that cannot be shown at all is left out, with a warning naming it
    assert "odd" not in shown
    assert any(getattr(r, "item_id", None) == "dlv-odd" for r in caplog.records)
    assert runs.status_code == 200, runs.text
    [listed] = runs.json()["items"]
    assert (listed["payload"]["title"], listed["unreadable"]) == ("fix \ufffd", ["payload.title"])
    one = client.get(f"/api/runs/{run['id']}")
    assert (one.status_code, one.json()["unreadable"]) == (200, ["payload.title"])
    assert deliveries(client, hook["id"])
