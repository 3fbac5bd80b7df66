"""A monitor on the local stack watching a JSON endpoint on loopback, over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.localstack import Stack

pytestmark = pytest.mark.e2e
WS = "ws-monitors"


@pytest.fixture
def price() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"price": 140}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"data": {"price": state["price"]}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/quote"
    yield state
    server.shutdown()


def test_monitor_fires_once_when_the_price_crosses(stack: Stack, price: dict[str, Any]) -> None:
    with stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "trading-agent"}).json()
        mon = c.post(
            "/api/proactive/monitors",
            json={
                "name": "Stock Price Monitor",
                "agent_id": agent["id"],
                "workspace_id": WS,
                "source": {"type": "http", "url": price["url"], "select": "data.price"},
                "condition": "value > 150",
                "action": "AAPL at {value}: send alert and analyze",
                "check_interval": 300,
            },
        )
        assert mon.status_code == 201, mon.text
        mid = mon.json()["id"]
        fired = []
        for value in (140, 151, 160):
            price["price"] = value
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
