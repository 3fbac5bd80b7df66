"""The console's webhooks & triggers pages, and the API's signed test delivery they use."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as ReferenceWebhook

from tests.integration.conftest import Aws, Handlers, token
from tests.integration.test_triggers_webhooks import PR_EVENT, github_headers, github_trigger, webhook_for

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """The console as a browser signed in to ws-1 sees it."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        sign_in(c, token("ws-1", "ws-2"))
        yield c


def sign_in(browser: TestClient, bearer: str) -> None:
    page = browser.get("/console/login")
    answer = browser.post("/console/login", data={"csrf": csrf(page.text), "token": bearer})
    assert answer.status_code == 303, answer.text


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def webhook_trigger(client: TestClient, **overrides: Any) -> dict[str, Any]:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "triage-agent"}).json()
    resp = client.post(
        "/api/proactive/triggers",
        json={
            "name": "Alert Trigger",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent["id"],
            "task_template": "Look into {alert}",
            **overrides,
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def standard_delivery(
    hook: dict[str, Any], secret: str, payload: dict[str, Any], msg_id: str
) -> dict[str, Any]:
    """A delivery signed as a Standard Webhooks sender signs it, with the reference library."""
    body = json.dumps(payload)
    sent = datetime.fromtimestamp(int(time.time()), UTC)
    return {
        "content": body,
        "headers": {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent.timestamp())),
            "webhook-signature": ReferenceWebhook(secret).sign(msg_id, sent, body),
            "content-type": "application/json",
        },
    }


# The API: POST /api/proactive/webhooks/{id}/test


def test_a_test_delivery_is_signed_ingested_and_starts_its_run(
    client: TestClient, handlers: Handlers
) -> None:
    hook = webhook_for(client, webhook_trigger(client))
    resp = client.post(f"/api/proactive/webhooks/{hook['id']}/test", json={"payload": {"alert": "disk full"}})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert (result["status_code"], result["answer"]["status"]) == (202, "accepted")
    delivery, run = result["delivery"], result["run"]
    assert delivery["delivery_key"].startswith("test-")
    assert (delivery["status"], delivery["trigger_id"], delivery["run_id"]) == (
        "accepted",
        hook["trigger_id"],
        run["id"],
    )
    assert (run["task"], run["source_type"], run["source_id"], run["status"]) == (
        "Look into disk full",
        "webhook",
        hook["id"],
        "queued",
    )
    assert hook["secret"] not in resp.text
    # The delivery's queue message executes the run made here, once.
    handlers.drain()
    assert client.get(f"/api/runs/{run['id']}").json()["status"] == "succeeded"
    [logged] = client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries").json()["items"]
    assert logged["run_id"] == run["id"]
    assert len(client.get("/api/runs", params={"source_id": hook["id"]}).json()["items"]) == 1


def test_a_test_delivery_in_each_scheme_and_what_its_trigger_makes_of_it(client: TestClient) -> None:
    github = webhook_for(client, github_trigger(client))
    taken = client.post(
        f"/api/proactive/webhooks/{github['id']}/test", json={"payload": PR_EVENT, "event": "pull_request"}
    ).json()
    assert (taken["status_code"], taken["run"]["task"]) == (202, "Review PR #42: Add retries to the uploader")
    other = client.post(
        f"/api/proactive/webhooks/{github['id']}/test", json={"payload": PR_EVENT, "event": "push"}
    ).json()
    assert (other["delivery"]["status"], other["run"]) == ("filtered", None)
    assert other["delivery"]["reason"] == "event 'push' is not one of ['pull_request']"

    filtered = webhook_for(
        client, webhook_trigger(client, filter="severity == 'high'"), signature_scheme="hmac-sha256"
    )
    low = client.post(
        f"/api/proactive/webhooks/{filtered['id']}/test", json={"payload": {"alert": "x", "severity": "low"}}
    ).json()
    assert (low["status_code"], low["delivery"]["status"], low["run"]) == (202, "filtered", None)
    assert "severity == 'high'" in low["delivery"]["reason"]
    # Without a payload, a small one saying it is a test (the template lacks its field: rejected).
    unfiltered = webhook_for(client, webhook_trigger(client))
    plain = client.post(f"/api/proactive/webhooks/{unfiltered['id']}/test").json()
    assert plain["delivery"]["payload"]["test"] is True
    assert (plain["delivery"]["status"], plain["run"]) == ("rejected", None)
    assert "alert" in plain["delivery"]["reason"]


def test_a_test_delivery_to_a_paused_or_foreign_webhook(client: TestClient) -> None:
    hook = webhook_for(client, webhook_trigger(client), is_active=False)
    paused = client.post(f"/api/proactive/webhooks/{hook['id']}/test", json={"payload": {"alert": "x"}})
    assert paused.status_code == 200
    assert (paused.json()["status_code"], paused.json()["delivery"], paused.json()["run"]) == (
        409,
        None,
        None,
    )
    assert client.get("/api/runs").json()["items"] == []
    other = client.post(
        f"/api/proactive/webhooks/{hook['id']}/test",
        headers={"Authorization": f"Bearer {token('ws-2')}"},
    )
    assert other.status_code == 404
    bad = client.post(f"/api/proactive/webhooks/{hook['id']}/test", json={"payload": [1, 2]})
    assert (bad.status_code, bad.json()["field"]) == (422, "payload")


# The pages


def test_the_page_lists_webhooks_and_triggers_as_the_api_holds_them(
    client: TestClient, browser: TestClient
) -> None:
    github = github_trigger(client, filter="pull_request.draft == `false`")
    hook = webhook_for(client, github)
    event = webhook_trigger(client, name="Nightly Failures")
    client.patch(f"/api/proactive/triggers/{event['id']}", json={"is_active": False})

    page = browser.get("/console/ws-1/webhooks")
    assert page.status_code == 200, page.text
    text = page.text
    assert f'href="/console/ws-1/webhooks/{hook["id"]}"' in text
    assert f"{BASE}/api/hooks/{hook['url_path']}" in text  # the address senders use, to copy
    assert 'data-copy="#url-1"' in text
    assert "GitHub owner/repo: pull_request" in text
    assert "pull_request.draft == `false`" in text
    assert "code-review-agent" in text
    assert "triage-agent" in text
    assert f"/console/ws-1/runs?source_type=trigger&amp;source_id={event['id']}" in text
    assert f"/console/ws-1/runs?source_type=webhook&amp;source_id={hook['id']}" in text
    assert 'status-paused">paused' in text
    assert hook["secret"] not in text
    assert browser.get("/console/ws-2/webhooks").text.count('<tr id="webhook-') == 0


def test_the_log_shows_each_verdict_and_links_the_run_a_delivery_started(
    client: TestClient, browser: TestClient, handlers: Handlers
) -> None:
    hook = webhook_for(client, github_trigger(client))
    body = json.dumps(PR_EVENT).encode()
    url = f"/api/hooks/{hook['url_path']}"
    assert (
        client.post(url, content=body, headers=github_headers(hook["secret"], body, "d-ok")).status_code
        == 202
    )
    assert (
        client.post(url, content=body, headers=github_headers(hook["secret"], body, "d-ok")).status_code
        == 200
    )
    assert client.post(url, content=body, headers=github_headers("wrong", body, "d-bad")).status_code == 401
    elsewhere = json.dumps({**PR_EVENT, "repository": {"full_name": "someone/else"}}).encode()
    assert (
        client.post(
            url, content=elsewhere, headers=github_headers(hook["secret"], elsewhere, "d-other")
        ).status_code
        == 202
    )
    handlers.drain()
    [run] = client.get("/api/runs", params={"source_id": hook["id"]}).json()["items"]

    page = browser.get(f"/console/ws-1/webhooks/{hook['id']}")
    assert page.status_code == 200, page.text
    rows = re.findall(r'<tr id="dlv-[^"]+">(.*?)</tr>', page.text, re.S)
    assert len(rows) == 4

    def row(*marks: str) -> str:
        [found] = [r for r in rows if all(m in r for m in marks)]
        return found

    started = row("d-ok", "status-accepted")
    assert f'href="/console/ws-1/runs/{run["id"]}"' in started
    assert "status-verified" in started
    assert "GitHub PR Trigger" in started
    assert "pull_request" in started
    again = row("d-ok", "status-duplicate")
    assert "yes" in again
    assert "already received" in again
    assert "/runs/" not in again
    unsigned = row("status-invalid")
    assert "status-unauthorized" in unsigned
    assert "does not match" in unsigned
    other = row("d-other")
    assert "status-filtered" in other
    assert "status-verified" in other
    assert "repository &#39;someone/else&#39; is not &#39;owner/repo&#39;" in other
    # The first page follows new deliveries: asked by htmx, it answers the rows alone.
    assert f'data-poll="/console/ws-1/webhooks/{hook["id"]}"' in page.text
    rows_only = browser.get(f"/console/ws-1/webhooks/{hook['id']}", headers={"HX-Request": "true"})
    assert rows_only.text.lstrip().startswith('<tr id="dlv-')
    assert "<html" not in rows_only.text
    assert hook["secret"] not in page.text


def test_the_log_is_paged(client: TestClient, browser: TestClient, aws: Aws) -> None:
    hook = webhook_for(client, github_trigger(client))
    for n in range(3):
        stored_delivery(aws, hook, f"k{n}")
    from proactive.console import routes_webhooks

    page_size, routes_webhooks.PAGE = routes_webhooks.PAGE, 2
    try:
        first = browser.get(f"/console/ws-1/webhooks/{hook['id']}")
        older = re.search(r'<a href="([^"]+)">Older deliveries</a>', first.text)
        assert older, first.text
        second = browser.get(older.group(1).replace("&amp;", "&"))
    finally:
        routes_webhooks.PAGE = page_size
    assert first.text.count('<tr id="dlv-') == 2
    assert second.text.count('<tr id="dlv-') == 1
    assert "data-poll" not in second.text


def stored_delivery(aws: Aws, hook: dict[str, Any], key: str, **fields: Any) -> None:
    """A delivery as the log holds it, written as it may have been stored long ago."""
    if fields.get("payload") is not None:
        aws.store.payloads.put(f"dlv-{key}", fields["payload"], expires_at=2_000_000_000)
    aws.store.deliveries.log(
        {
            "id": f"dlv-{key}",
            "webhook_id": hook["id"],
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


def test_a_malformed_stored_delivery_does_not_break_the_log(
    client: TestClient, browser: TestClient, aws: Aws
) -> None:
    hook = webhook_for(client, github_trigger(client))
    stored_delivery(aws, hook, "good", payload={"title": "fine"})
    stored_delivery(aws, hook, "odd", status="no-such-status")
    stored_delivery(aws, hook, "old", payload={"title": "fix \ud800"})
    stored_delivery(aws, hook, "bare", run_id={"not": "an id"}, event=7)

    page = browser.get(f"/console/ws-1/webhooks/{hook['id']}")
    assert page.status_code == 200, page.text
    assert "dlv-good" in page.text
    assert "dlv-old" in page.text
    assert "dlv-odd" not in page.text
    assert "dlv-bare" not in page.text
    assert "unreadable text shown as" in page.text
    assert "payload.title" in page.text


def test_rotating_shows_the_new_secret_once_and_only_then(client: TestClient, browser: TestClient) -> None:
    hook = webhook_for(client, webhook_trigger(client))
    detail = browser.get(f"/console/ws-1/webhooks/{hook['id']}")
    rotate = f"/console/ws-1/webhooks/{hook['id']}/rotate"
    assert 'data-confirm="Rotate the secret' in detail.text

    refused = browser.post(rotate, data={"grace_hours": "24"})
    assert refused.status_code == 403
    assert "whsec_" not in refused.text
    forged = browser.post(rotate, data={"grace_hours": "24", "csrf": "forged"})
    assert forged.status_code == 403
    bad = browser.post(rotate, data={"grace_hours": "5", "csrf": csrf(detail.text)})
    assert bad.status_code == 422
    assert "0, 1, 24 or 168 hours" in bad.text

    answer = browser.post(rotate, data={"grace_hours": "1", "csrf": csrf(detail.text)})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', answer.text).group(1)  # type: ignore[union-attr]
    assert secret != hook["secret"]
    assert "You will not see it again" in answer.text
    assert 'data-copy="#new-secret"' in answer.text
    # The shown secret signs deliveries; the old one still does, for the hour chosen.
    for signing, msg in ((secret, "m-new"), (hook["secret"], "m-old")):
        sent = client.post(
            f"/api/hooks/{hook['url_path']}", **standard_delivery(hook, signing, {"alert": "a"}, msg)
        )
        assert sent.status_code == 202, sent.text
    # No other page shows either secret.
    for path in ("/console/ws-1/webhooks", f"/console/ws-1/webhooks/{hook['id']}"):
        shown = browser.get(path).text
        assert secret not in shown
        assert hook["secret"] not in shown
        assert "previous secret also signs until" in shown or path.endswith("webhooks")


def test_sending_a_test_delivery_from_the_page(client: TestClient, browser: TestClient) -> None:
    hook = webhook_for(client, webhook_trigger(client))
    detail = browser.get(f"/console/ws-1/webhooks/{hook['id']}")
    send = f"/console/ws-1/webhooks/{hook['id']}/test"

    assert browser.post(send, data={"payload": "{}"}).status_code == 403
    unreadable = browser.post(send, data={"csrf": csrf(detail.text), "payload": "{not json"})
    assert unreadable.status_code == 422
    assert "the payload is not JSON" in unreadable.text
    listed = browser.post(send, data={"csrf": csrf(detail.text), "payload": "[1]"})
    assert listed.status_code == 422
    assert "must be a JSON object" in listed.text
    assert client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries").json()["items"] == []

    answer = browser.post(
        send,
        data={"csrf": csrf(detail.text), "payload": '{"alert": "queue backed up"}', "event": "alert.fired"},
    )
    assert answer.status_code == 200, answer.text
    [run] = client.get("/api/runs", params={"source_id": hook["id"]}).json()["items"]
    assert run["task"] == "Look into queue backed up"
    assert f'href="/console/ws-1/runs/{run["id"]}"' in answer.text
    assert "HTTP 202" in answer.text
    assert "status-verified" in answer.text
    assert hook["secret"] not in answer.text
    [delivery] = client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries").json()["items"]
    assert (delivery["event"], delivery["run_id"]) == ("alert.fired", run["id"])


def test_another_workspaces_webhook_answers_404(client: TestClient, browser: TestClient) -> None:
    theirs = client.post(
        "/api/agents",
        json={"workspace_id": "ws-2", "name": "theirs"},
        headers={"Authorization": f"Bearer {token('ws-2')}"},
    )
    assert theirs.status_code == 201, theirs.text
    ws2 = {"Authorization": f"Bearer {token('ws-2')}"}
    trigger = client.post(
        "/api/proactive/triggers",
        headers=ws2,
        json={
            "name": "t",
            "workspace_id": "ws-2",
            "trigger_type": "webhook",
            "agent_id": theirs.json()["id"],
            "task_template": "x",
        },
    ).json()
    hook = client.post(
        "/api/proactive/webhooks",
        headers=ws2,
        json={"workspace_id": "ws-2", "name": "w2", "trigger_id": trigger["id"]},
    ).json()

    # Held by the session, but not the workspace of the address: 404, and nothing changes.
    detail = browser.get(f"/console/ws-1/webhooks/{hook['id']}")
    assert detail.status_code == 404
    page = browser.get(f"/console/ws-2/webhooks/{hook['id']}")
    assert page.status_code == 200
    rotated = browser.post(f"/console/ws-1/webhooks/{hook['id']}/rotate", data={"csrf": csrf(page.text)})
    assert rotated.status_code == 404
    assert "whsec_" not in rotated.text
    # A session without the workspace gets the API's own 404.
    only_ws1 = TestClient(browser.app, base_url=BASE, follow_redirects=False)
    sign_in(only_ws1, token("ws-1"))
    assert only_ws1.get(f"/console/ws-1/webhooks/{hook['id']}").status_code == 404
    assert only_ws1.get(f"/console/ws-2/webhooks/{hook['id']}").status_code == 404
