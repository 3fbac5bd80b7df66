"""The goal loop's pages in a real browser on the local stack: an analysis started from the page
plans an action that needs approval; it is approved from the inbox, and the page shows who
decided, when, and the run the action started; the goal's chart draws the recorded values, the
forecast band, the anomalies and the threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from proactive.clock import iso
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e


def climbing_cpu(workspace: str) -> dict[str, Any]:
    """Three hours of one-minute CPU points climbing from 50% to 79%, with one spike: on this
    course it passes 80% within minutes."""
    now = datetime.now(UTC)
    points = [
        {
            "metric_name": "cpu_usage",
            "value": 99.0 if i == 150 else round(50 + 29 * i / 180 + (0.4 if i % 2 else -0.4), 2),
            "timestamp": iso(now - timedelta(minutes=180 - i)),
        }
        for i in range(181)
    ]
    return {"workspace_id": workspace, "metrics": points}


def set_up(console: Any) -> None:
    """A rule on CPU, an agent, and an action for its goals that needs approval."""
    api, ws = console.api, console.workspace
    agent = api.post("/api/agents", json={"workspace_id": ws, "name": "scaler"})
    assert agent.status_code == 201, agent.text
    action = {
        "workspace_id": ws,
        "name": "scale out",
        "goal_types": ["BOTTLENECK_PREVENTION"],
        "kind": "agent",
        "agent_id": agent.json()["id"],
        "task_template": "{title}: {evidence}",
        "requires_approval": True,
    }
    assert api.post("/api/autonomous/actions", json=action).status_code == 201
    rules = {"workspace_id": ws, "rules": ["cpu_usage <= 80 horizon_hours=2 severity=high"]}
    assert api.put("/api/autonomous/settings", json=rules).status_code == 200
    assert api.post("/api/autonomous/metrics", json=climbing_cpu(ws)).status_code == 200


def test_an_action_approved_from_the_inbox_starts_its_run_and_the_goal_charts_its_forecast(
    console: Any,
) -> None:
    set_up(console)
    api, ws = console.api, console.workspace
    page = console.open("loop")
    page.get_by_role("button", name="Analyse now").click()
    expect(page.get_by_text("An analysis started")).to_be_visible()

    # The analysis sets the goal and asks for approval; the inbox shows it.
    waiting = eventually(
        lambda: api.get("/api/autonomous/approvals", params={"workspace_id": ws}).json()["items"],
        what="an action waiting for approval",
    )[0]
    page.reload()
    row = page.locator(f"#awaiting-{waiting['id']}")
    expect(row).to_contain_text("scale out")
    expect(row).to_contain_text("Prevent cpu_usage bottleneck")
    assert console.accessibility_violations() == []

    row.get_by_role("button", name="Approve scale out").click()
    page.wait_for_url(f"**/loop?decided={waiting['id']}#approvals")
    decided = api.get(f"/api/autonomous/approvals/{waiting['id']}").json()
    approval = decided["approval"]
    assert approval["decision"] == "approved"
    row = page.locator(f"#decided-{waiting['id']}")
    expect(row).to_contain_text(f"approved by {approval['decided_by']}")
    expect(row.locator("time").first).to_have_attribute("datetime", approval["decided_at"])
    # The run shows as soon as it starts (the decisions are kept up to date on the page).
    run_link = row.locator("a[href*='/runs/']")
    expect(run_link).to_be_visible(timeout=20_000)
    run_id = run_link.inner_text().strip()
    run = api.get(f"/api/runs/{run_id}")
    assert run.status_code == 200, run.text
    assert (run.json()["source_type"], run.json()["source_id"]) == ("goal", waiting["goal_id"])
    assert console.accessibility_violations() == []
    console.screenshot("loop-overview")

    # The goal: its evidence, the decision, the run, and its metric's chart.
    page.locator(f"#decided-{waiting['id']}").get_by_role("link", name="Prevent cpu_usage bottleneck").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prevent cpu_usage bottleneck")
    expect(page.locator(f"#action-{waiting['id']} a[href$='/runs/{run_id}']")).to_be_visible()
    expect(page.locator(".loop-plot[data-drawn='1'] canvas").first).to_be_visible()
    data = page.evaluate("() => JSON.parse(document.getElementById('chart-data').textContent)")
    assert any(v is not None for v in data["lower"])
    assert any(v is not None for v in data["upper"])
    assert 99.0 in data["anomalies"]
    assert data["thresholds"][0]["value"] == 80
    assert console.accessibility_violations() == []
    console.screenshot("loop")

    # The metric's own page, with the rule's threshold.
    page.get_by_role("link", name="cpu_usage").first.click()
    expect(page.locator(".loop-plot[data-drawn='1'] canvas").first).to_be_visible()
    expect(page.get_by_text("threshold cpu_usage <= 80").first).to_be_visible()
    assert console.accessibility_violations() == []
    console.screenshot("loop-metric")

    # Every decision, a page at a time.
    page = console.open("loop/approvals?state=decided")
    expect(page.locator(f"#decided-{waiting['id']}")).to_contain_text("approved by")
    assert console.accessibility_violations() == []
