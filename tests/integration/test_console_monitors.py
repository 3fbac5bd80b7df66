"""The console's monitors pages, against monitors that read a real HTTP server on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.console.routes_monitors import checks_what, thresholds
from proactive.store.table import Update
from tests.integration.conftest import Aws, make_agent, token
from tests.quotes import Quote, running_quote

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """A browser signed in to the console with workspace ws-1."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        page = c.get("/console/login")
        answer = c.post("/console/login", data={"csrf": csrf(page.text), "token": token("ws-1")})
        assert answer.status_code == 303, answer.text
        yield c


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote() as q:
        yield q


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def bearer(workspace: str = "ws-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(workspace)}"}


def make_monitor(
    browser: TestClient, aws: Aws, quote: Quote, workspace: str = "ws-1", **overrides: Any
) -> dict[str, Any]:
    body = {
        "name": "Stock price",
        "agent_id": make_agent(aws.store, workspace),
        "workspace_id": workspace,
        "source": {"type": "http", "url": quote.url + "?symbol=AAPL&apikey=s3cret", "select": "data.price"},
        "condition": "value > 150",
        "action": "AAPL at {value}",
        "check_interval": 300,
        **overrides,
    }
    answer = browser.post("/api/proactive/monitors", json=body, headers=bearer(workspace))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def check(browser: TestClient, monitor: dict[str, Any]) -> dict[str, Any]:
    answer = browser.post(f"/api/proactive/monitors/{monitor['id']}/check", headers=bearer())
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def chart_of(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="monitor-chart-data">(.*?)</script>', page, re.S)
    assert found, page
    return dict(json.loads(found.group(1)))


def test_thresholds_are_the_numbers_value_is_compared_with() -> None:
    assert thresholds("value > 150") == [{"op": ">", "value": 150.0}]
    assert thresholds("0 < value <= 5.5 and change_pct > 3") == [
        {"op": ">", "value": 0.0},
        {"op": "<=", "value": 5.5},
    ]
    assert thresholds("value < -2 or previous > 4") == [{"op": "<", "value": -2.0}]
    assert thresholds('status == "down"') == []
    assert thresholds("value >") == []


def test_what_a_monitor_checks_in_words_hides_query_values() -> None:
    http = {"type": "http", "url": "https://q.example/quote?symbol=AAPL&apikey=k", "select": "data.price"}
    assert checks_what(http) == "GET https://q.example/quote?symbol=…&apikey=… → data.price"
    assert checks_what({"type": "metric", "aggregation": "avg", "window": 600}) == (
        "Values posted to it: avg over 600 s"
    )
    assert checks_what({"type": "series", "metric_name": "cpu", "aggregation": "max", "window": 300}) == (
        "Goal-loop metric cpu: max over 300 s"
    )


def test_the_list_shows_what_each_monitor_checks_and_its_state(
    browser: TestClient, aws: Aws, quote: Quote
) -> None:
    price = make_monitor(browser, aws, quote)
    check(browser, price)
    paused = make_monitor(browser, aws, quote, name="Paused one", condition="value < 10")
    browser.post(f"/api/proactive/monitors/{paused['id']}/pause", headers=bearer())
    broken = make_monitor(browser, aws, quote, name="Broken one")
    # (written as it is: a monitor read back as its record would refuse it there)
    aws.store.table.update(Update(key=aws.store.monitors.key(broken["id"]), set_values={"name": 12345}))

    page = browser.get("/console/ws-1/monitors")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Stock price" in text
    assert "<code>value &gt; 150</code>" in text
    assert "symbol=…&amp;apikey=…" in text
    assert "s3cret" not in text
    assert "status-ok" in text
    assert "status-paused" in text
    assert "Paused one" in text
    # A monitor stored in a shape the API cannot show is left out, the others listed.
    assert broken["id"] not in text
    row = re.search(rf'<tr id="monitor-{paused["id"]}">(.*?)</tr>', text, re.S)
    assert row
    assert "paused</td>" in row.group(1).replace("\n", "").replace(" ", "")


def test_the_detail_page_charts_the_checks(browser: TestClient, aws: Aws, quote: Quote) -> None:
    monitor = make_monitor(browser, aws, quote)
    results = []
    for price in (140, 151, 160):
        quote.price = price
        results.append(check(browser, monitor))
    quote.status = 500
    check(browser, monitor)

    page = browser.get(f"/console/ws-1/monitors/{monitor['id']}")
    assert page.status_code == 200, page.text
    chart = chart_of(page.text)
    assert chart["value"] == [140, 151, 160, None]
    assert chart["fired"] == [None, 151, None, None]
    assert chart["thresholds"] == [{"op": ">", "value": 150.0}]
    assert len(chart["x"]) == 4
    assert chart["x"] == sorted(chart["x"])
    assert (chart["count"], chart["min"], chart["max"], chart["latest"], chart["fired_count"]) == (
        3,
        140,
        160,
        160,
        1,
    )
    # The text alternative says what the chart shows; the table lists the checks.
    assert 'role="img"' in page.text
    assert "values from 140.00 to 160.00, latest 160.00" in page.text
    assert "Threshold: value &gt; 150.00" in page.text
    assert "1 of them fired" in page.text
    fired = results[1]
    assert f'href="/console/ws-1/runs/{fired["run_id"]}"' in page.text
    assert page.text.count('<tr id="check-') == 4
    assert "error: " in page.text
    assert "uPlot.min.js" in page.text
    assert "monitors.js" in page.text


def test_check_now_pause_and_resume_from_the_page(browser: TestClient, aws: Aws, quote: Quote) -> None:
    monitor = make_monitor(browser, aws, quote)
    base = f"/console/ws-1/monitors/{monitor['id']}"
    page = browser.get(base)
    assert "No numeric value checked yet" in page.text
    form = csrf(page.text)

    quote.price = 155
    answer = browser.post(f"{base}/check", data={"csrf": form})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{base}?checked=chk")
    shown = browser.get(answer.headers["location"]).text
    result = re.search(r'<div class="notice check-result" role="status">(.*?)</div>', shown, re.S)
    assert result, shown
    assert "value <strong>155</strong>, condition met, fired" in result.group(1)
    assert 'href="/console/ws-1/runs/' in result.group(1)

    answer = browser.post(f"{base}/pause", data={"csrf": form})
    assert answer.headers["location"] == f"{base}?done=paused"
    assert "Monitor paused." in browser.get(answer.headers["location"]).text
    assert (
        browser.get(f"/api/proactive/monitors/{monitor['id']}", headers=bearer()).json()["is_active"] is False
    )
    answer = browser.post(f"{base}/resume", headers={"X-CSRF-Token": form, "HX-Request": "true"})
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == f"{base}?done=resumed"
    assert (
        browser.get(f"/api/proactive/monitors/{monitor['id']}", headers=bearer()).json()["is_active"] is True
    )


def test_changes_need_the_token_and_other_workspaces_monitors_are_not_found(
    browser: TestClient, aws: Aws, quote: Quote
) -> None:
    mine = make_monitor(browser, aws, quote)
    for action in ("check", "pause"):
        assert (
            browser.post(f"/console/ws-1/monitors/{mine['id']}/{action}", data={"csrf": "x"}).status_code
            == 403
        )
    history = browser.get(f"/api/proactive/monitors/{mine['id']}/history", headers=bearer()).json()
    assert history["items"] == []

    theirs = make_monitor(browser, aws, quote, workspace="ws-2")
    page = browser.get(f"/console/ws-1/monitors/{theirs['id']}")
    assert page.status_code == 404
    assert "Not found" in page.text
    form = csrf(browser.get(f"/console/ws-1/monitors/{mine['id']}").text)
    assert (
        browser.post(f"/console/ws-1/monitors/{theirs['id']}/check", data={"csrf": form}).status_code == 404
    )
    assert (
        browser.get(f"/api/proactive/monitors/{theirs['id']}/history", headers=bearer("ws-2")).json()["items"]
        == []
    )
