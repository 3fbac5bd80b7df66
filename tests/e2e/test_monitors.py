"""A monitor on the local stack watching a JSON endpoint on loopback, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.localstack import Stack
from tests.quotes import Quote, running_quote

pytestmark = pytest.mark.e2e
WS = "ws-monitors"


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote() as q:
        yield q


def test_monitor_fires_once_when_the_price_crosses(stack: Stack, quote: Quote) -> None:
    with stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "trading-agent"}).json()
        mon = c.post(
            "/api/proactive/monitors",
            json={
                "name": "Stock Price Monitor",
                "agent_id": agent["id"],
                "workspace_id": WS,
                "source": {"type": "http", "url": quote.url, "select": "data.price"},
                "condition": "value > 150",
                "action": "AAPL at {value}: send alert and analyze",
                "check_interval": 300,
            },
        )
        assert mon.status_code == 201, mon.text
        mid = mon.json()["id"]
        fired = []
        for value in (140, 151, 160):
            quote.price = value
            fired.append(c.post(f"/api/proactive/monitors/{mid}/check").json()["fired"])
        assert fired == [False, True, False]
        deadline = time.monotonic() + 15
        while True:
            runs = c.get("/api/runs", params={"source_type": "monitor", "source_id": mid}).json()["items"]
            if (runs and runs[0]["status"] == "succeeded") or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert [(r["status"], r["task"]) for r in runs] == [
            ("succeeded", "AAPL at 151: send alert and analyze")
        ]
        history = c.get(f"/api/proactive/monitors/{mid}/history").json()["items"]
        assert [h["value"] for h in history] == [160, 151, 140]
