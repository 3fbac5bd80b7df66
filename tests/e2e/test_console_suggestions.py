"""Suggestions in a real browser on the local stack: two metrics with spikes nothing watches become
two monitor suggestions; one is accepted from the page (and the page links to the monitor it
made), the other dismissed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from proactive.clock import iso

pytestmark = pytest.mark.e2e


def spiky(workspace: str, name: str) -> dict[str, Any]:
    """200 hours of a metric with a spike every 40 hours: mining suggests a monitor for it."""
    now = datetime.now(UTC)
    points = [
        {
            "metric_name": name,
            "value": 95.0 if i % 40 == 20 else 50.0 + i % 7,
            "timestamp": iso(now - timedelta(hours=200 - i)),
        }
        for i in range(200)
    ]
    return {"workspace_id": workspace, "metrics": points}


def test_a_suggestion_is_accepted_and_another_dismissed_from_the_page(console: Any) -> None:
    api, ws = console.api, console.workspace
    assert api.post("/api/agents", json={"workspace_id": ws, "name": "ops"}).status_code == 201
    for name in ("queue_depth", "error_rate"):
        assert api.post("/api/autonomous/metrics", json=spiky(ws, name)).status_code == 200

    page = console.open("suggestions")
    page.get_by_role("button", name="Look again now").click()
    expect(page.get_by_text("Looked again:")).to_be_visible()
    cards = page.locator("article.suggestion")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Accepting will make")
    expect(cards.first).to_contain_text("/api/proactive/monitors")
    assert console.accessibility_violations() == []
    console.screenshot("suggestions")

    listed = api.get("/api/proactive/suggestions", params={"workspace_id": ws, "status": "open"}).json()[
        "items"
    ]
    by_metric = {s["evidence"]["metric"]: s for s in listed}
    accepted, dismissed = by_metric["queue_depth"], by_metric["error_rate"]

    page.get_by_role("button", name=f"Accept: {accepted['title']}").click()
    made = page.locator("p.notice a")
    expect(made).to_be_visible()
    monitor_id = api.get(f"/api/proactive/suggestions/{accepted['id']}").json()["resource"]["id"]
    expect(made).to_have_text(f"/api/proactive/monitors/{monitor_id}")
    expect(made).to_have_attribute("href", f"/console/{ws}/monitors/{monitor_id}")
    monitor = api.get(f"/api/proactive/monitors/{monitor_id}")
    assert monitor.status_code == 200, monitor.text
    assert monitor.json()["source"]["metric_name"] == "queue_depth"
    assert console.accessibility_violations() == []
    console.screenshot("suggestion")

    page.get_by_role("link", name="All suggestions").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Why not (optional)").fill("alerts come from elsewhere")
    page.get_by_role("button", name=f"Dismiss: {dismissed['title']}").click()
    expect(page.locator("article.suggestion")).to_have_count(0)
    after = api.get(f"/api/proactive/suggestions/{dismissed['id']}").json()
    assert (after["status"], after["dismissed_reason"]) == ("dismissed", "alerts come from elsewhere")
