"""The webhooks & triggers pages in a real browser: a delivery a sender signs shows in its log with
a link to the run it started, a test delivery from the page, and a secret rotated and shown once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook as Sender

from tests.e2e.browser import Console

pytestmark = pytest.mark.e2e


def deliver(hook: dict[str, Any], secret: str, payload: dict[str, Any]) -> httpx.Response:
    """POST a delivery to the webhook's public URL, signed as a Standard Webhooks sender signs it."""
    body = json.dumps(payload)
    msg_id = f"msg_{uuid.uuid4().hex}"
    sent = datetime.now(UTC)
    return httpx.post(
        hook["webhook_url"],
        content=body,
        timeout=30,
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent.timestamp())),
            "webhook-signature": Sender(secret).sign(msg_id, sent, body),
        },
    )


def alert_webhook(console: Console) -> dict[str, Any]:
    ws, api = console.workspace, console.api
    agent = api.post("/api/agents", json={"workspace_id": ws, "name": "triage-agent"}).json()
    trigger = api.post(
        "/api/proactive/triggers",
        json={
            "name": "Alert Trigger",
            "workspace_id": ws,
            "trigger_type": "webhook",
            "agent_id": agent["id"],
            "task_template": "Look into {alert}",
            "filter": "severity != 'low'",
        },
    )
    assert trigger.status_code == 201, trigger.text
    hook = api.post(
        "/api/proactive/webhooks",
        json={"workspace_id": ws, "name": "Alerts", "trigger_id": trigger.json()["id"]},
    )
    assert hook.status_code == 201, hook.text
    return dict(hook.json())


def test_a_signed_delivery_links_its_run_and_a_rotated_secret_is_shown_once(console: Console) -> None:
    hook = alert_webhook(console)
    page = console.open(f"webhooks/{hook['id']}")
    expect(page.get_by_role("heading", name="Webhook Alerts", level=1)).to_be_visible()
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()

    # A sender signs two deliveries: one the trigger takes, one its filter leaves out
    assert deliver(hook, hook["secret"], {"alert": "disk full", "severity": "high"}).status_code == 202
    assert deliver(hook, hook["secret"], {"alert": "noise", "severity": "low"}).status_code == 202

    # The open log shows them as they are handled, the first with a link to its run
    rows = page.locator("#delivery-rows")
    run_link = rows.locator("a.run-link")
    expect(run_link).to_have_count(1, timeout=20_000)
    expect(rows.get_by_text("is false for this payload")).to_be_visible()
    expect(rows.locator(".status-verified")).to_have_count(2)
    [run] = console.api.get("/api/runs", params={"source_id": hook["id"]}).json()["items"]
    href = f"/console/{console.workspace}/runs/{run['id']}"
    assert run_link.get_attribute("href") == href
    assert console.accessibility_violations() == []
    console.screenshot("webhook-deliveries")

    # The link opens the run's page
    with page.expect_navigation() as opened:
        run_link.click()
    answer = opened.value
    assert answer is not None
    assert answer.status == 200
    assert page.url.endswith(href)

    # A test delivery from the page: the platform signs it; the answer names its run
    page.goto(console.url(f"webhooks/{hook['id']}"))
    page.get_by_label("Payload, a JSON object").fill('{"alert": "from the console", "severity": "high"}')
    page.get_by_role("button", name="Send test delivery").click()
    expect(page.get_by_role("heading", name="Test delivery to webhook Alerts")).to_be_visible()
    expect(page.get_by_text("HTTP 202")).to_be_visible()
    tested_run = page.locator("a.run-link")
    expect(tested_run).to_be_visible()
    assert (tested_run.get_attribute("href") or "").startswith(f"/console/{console.workspace}/runs/")
    assert console.accessibility_violations() == []

    # Rotating the secret asks first, then shows the new secret once
    page.goto(console.url(f"webhooks/{hook['id']}"))
    page.get_by_label("The old secret keeps signing for").select_option("1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", name="New secret for webhook Alerts")).to_be_visible()
    expect(page.get_by_text("You will not see it again.")).to_be_visible()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    assert secret != hook["secret"]
    expect(page.get_by_role("button", name="Copy secret")).to_be_visible()
    assert console.accessibility_violations() == []
    # It signs deliveries, and no other page shows it
    assert deliver(hook, secret, {"alert": "signed anew", "severity": "high"}).status_code == 202
    for section in (f"webhooks/{hook['id']}", "webhooks"):
        console.open(section)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert secret not in page.content()
        assert hook["secret"] not in page.content()


def test_the_webhooks_page_lists_webhooks_and_triggers(console: Console) -> None:
    hook = alert_webhook(console)
    page = console.open("webhooks")
    expect(page.get_by_role("link", name="Alerts", exact=True)).to_be_visible()
    expect(page.locator("#url-1")).to_have_text(hook["webhook_url"])
    triggers = page.locator("section", has=page.get_by_role("heading", name="Triggers"))
    expect(triggers.get_by_text("severity != 'low'")).to_be_visible()
    expect(triggers.get_by_role("link", name="Deliveries to Alerts")).to_have_attribute(
        "href", f"/console/{console.workspace}/webhooks/{hook['id']}"
    )
    assert console.accessibility_violations() == []
    console.screenshot("webhooks")
