"""The overview in a real browser: runs made through the API show in the chart's data and the
per-agent table, the window toggle redraws the chart, and the page passes the accessibility check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
RUNS = 3


def _finished_runs(console: Any, agent_id: str, count: int) -> None:
    """Start `count` runs of the agent and wait until every one has finished."""
    ids = []
    for n in range(count):
        made = console.api.post(
            "/api/runs",
            json={"workspace_id": console.workspace, "agent_id": agent_id, "task": f"Summarise report {n}"},
        )
        assert made.status_code == 202, made.text
        ids.append(made.json()["id"])
    deadline = time.monotonic() + 60
    while True:
        states = [console.api.get(f"/api/runs/{run_id}").json()["status"] for run_id in ids]
        if all(s == "succeeded" for s in states):
            return
        assert time.monotonic() < deadline, f"runs did not finish: {states}"
        time.sleep(0.25)


def test_finished_runs_show_in_the_chart_and_the_per_agent_table(console: Any) -> None:
    agent = console.api.post(
        "/api/agents", json={"workspace_id": console.workspace, "name": "digest-agent", "runtime": "builtin"}
    )
    assert agent.status_code == 201, agent.text
    _finished_runs(console, agent.json()["id"], RUNS)

    page = console.open()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    # The chart is drawn (uPlot's canvas) from the page's data, which counts the runs.
    chart = page.locator("#runs-chart")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(chart).to_have_attribute("data-drawn", "24")
    data = json.loads(page.locator("#runs-chart-data").text_content() or "null")
    assert sum(data["series"]["succeeded"]) == RUNS
    assert "3 succeeded" in (chart.get_attribute("aria-label") or "")
    expect(page.locator("#figure-total")).to_have_text(str(RUNS))
    # The per-agent table names the agent and its runs.
    row = page.locator("#agent-usage tbody tr", has_text="digest-agent")
    expect(row).to_be_visible()
    expect(row.locator("td").nth(1)).to_have_text(str(RUNS))
    console.screenshot("overview")
    # The same figures as a table, for those who cannot see the chart.
    page.get_by_text("The chart's figures as a table").click()
    expect(page.locator(".chart-table table")).to_be_visible()
    assert console.accessibility_violations() == []

    # The week: the toggle keeps the window in the address and the chart is drawn again.
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url("**/?window=7d")
    expect(page.locator("#runs-chart")).to_have_attribute("data-drawn", "28")
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")
    assert console.accessibility_violations() == []
