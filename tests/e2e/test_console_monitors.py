"""The monitors pages in a real browser: a monitor watching a JSON endpoint on loopback, its
chart after a few checks, and check now, pause and resume from its page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.quotes import running_quote


def test_a_monitors_page_charts_its_checks(console: Any) -> None:
    api = console.api
    with running_quote() as quote:
        agent = api.post(
            "/api/agents", json={"workspace_id": console.workspace, "name": "trading-agent"}
        ).json()
        made = api.post(
            "/api/proactive/monitors",
            json={
                "name": "Stock price",
                "agent_id": agent["id"],
                "workspace_id": console.workspace,
                "source": {"type": "http", "url": quote.url, "select": "data.price"},
                "condition": "value > 150",
                "action": "AAPL at {value}: look into it",
                "check_interval": 300,
            },
        )
        assert made.status_code == 201, made.text
        monitor = made.json()
        for price in (140, 146, 152, 158, 149, 155):
            quote.price = price
            assert api.post(f"/api/proactive/monitors/{monitor['id']}/check").status_code == 200

        page = console.open("monitors")
        row = page.locator(f"#monitor-{monitor['id']}")
        expect(row).to_contain_text("value > 150")
        expect(row.locator(".status")).to_have_text("ok")
        assert console.accessibility_violations() == []

        # The chart draws the six checks; the table lists them, two of them fired
        row.get_by_role("link", name="Stock price").click()
        chart = page.locator("#monitor-chart")
        expect(chart.locator("canvas")).to_be_visible()
        expect(chart).to_have_attribute("data-drawn", "6")
        expect(page.locator("figcaption")).to_contain_text("Threshold: value > 150.00")
        expect(page.locator("table.checks tbody tr")).to_have_count(6)
        expect(page.locator("table.checks tbody tr").filter(has_text="yes")).to_have_count(2)
        assert console.accessibility_violations() == []

        # Check now shows what it found, and the chart has it
        quote.price = 161
        page.get_by_role("button", name="Check now").click()
        expect(page.locator(".check-result")).to_contain_text("value 161, condition met, did not fire")
        expect(chart).to_have_attribute("data-drawn", "7")
        console.screenshot("monitor")

        # Dark mode draws it again with the dark scheme's colours
        page.emulate_media(color_scheme="dark")
        expect(chart.locator("canvas")).to_be_visible()

        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_text("Monitor paused.")).to_be_visible()
        expect(page.locator(".page-head .status")).to_have_text("paused")
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_text("Monitor resumed.")).to_be_visible()
        expect(page.locator(".page-head .status")).to_have_text("ok")
