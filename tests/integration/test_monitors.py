"""Monitors against a real HTTP server on loopback that serves changing JSON."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive import secret_store
from proactive.models.monitors import MonitorRecord
from proactive.monitors import checks
from proactive.settings import get_settings
from tests.integration.conftest import Aws, Handlers
from tests.quotes import Quote, running_quote


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote() as q:
        yield q


def monitor_body(client: TestClient, quote: Quote, **overrides: Any) -> dict[str, Any]:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "trading-agent"}).json()
    return {
        "name": "Stock Price Monitor",
        "agent_id": agent["id"],
        "workspace_id": "ws-1",
        "source": {"type": "http", "url": quote.url, "select": "data.price"},
        "condition": "value > 150",
        "action": "AAPL is at {value}: send alert and analyze",
        "check_interval": 60,
        **overrides,
    }


def create(client: TestClient, quote: Quote, **overrides: Any) -> dict[str, Any]:
    resp = client.post("/api/proactive/monitors", json=monitor_body(client, quote, **overrides))
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def check(client: TestClient, monitor: dict[str, Any]) -> dict[str, Any]:
    resp = client.post(f"/api/proactive/monitors/{monitor['id']}/check")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_fires_on_the_false_to_true_edge_only(client: TestClient, quote: Quote, handlers: Handlers) -> None:
    mon = create(client, quote)
    results = []
    for price in (140, 151, 155, 149, 152):
        quote.price = price
        results.append(check(client, mon))
    assert [r["condition_met"] for r in results] == [False, True, True, False, True]
    assert [r["fired"] for r in results] == [False, True, False, False, True]
    assert results[1]["change_pct"] == pytest.approx((151 - 140) / 140 * 100)
    handlers.drain()
    runs = client.get("/api/runs", params={"source_type": "monitor", "source_id": mon["id"]}).json()["items"]
    assert sorted(r["task"] for r in runs) == [
        "AAPL is at 151: send alert and analyze",
        "AAPL is at 152: send alert and analyze",
    ]
    assert {r["status"] for r in runs} == {"succeeded"}
    # The check and the run point at each other.
    fired = results[1]
    assert client.get(f"/api/runs/{fired['run_id']}").json()["check_id"] == fired["id"]
    shown = client.get(f"/api/proactive/monitors/{mon['id']}").json()
    assert (shown["trigger_count"], shown["last_value"], shown["state"]) == (2, 152, "ok")


def test_cooldown_lets_a_condition_that_stays_true_fire_again(
    client: TestClient, quote: Quote, aws: Aws
) -> None:
    mon = create(client, quote, cooldown=600)
    quote.price = 160
    t0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
    fired = []
    for minutes in (0, 5, 9, 11):
        stored = aws.store.monitors.get(mon["id"])
        assert stored is not None
        fired.append(
            checks.check_now(aws.store, aws.queue, aws.bus, stored, t0 + timedelta(minutes=minutes)).fired
        )
    assert fired == [True, False, False, True]


def test_source_failures_are_recorded_and_mark_the_monitor_failing(client: TestClient, quote: Quote) -> None:
    mon = create(client, quote)
    quote.status = 503
    errors = [check(client, mon)["error"] for _ in range(2)]
    assert errors == ["HTTP 503 from 127.0.0.1"] * 2
    quote.status, quote.body = 200, b"<html>not json</html>"
    assert check(client, mon)["error"] == "response is not JSON"
    shown = client.get(f"/api/proactive/monitors/{mon['id']}").json()
    assert (shown["state"], shown["consecutive_failures"]) == (
        "failing",
        get_settings().monitor_failure_threshold,
    )
    assert shown["last_error"] == "response is not JSON"
    quote.body = json.dumps({"data": {}}).encode()
    assert check(client, mon)["error"] == "select 'data.price' found nothing in the response"
    quote.body = None
    recovered = check(client, mon)
    assert recovered["status"] == "ok"
    assert client.get(f"/api/proactive/monitors/{mon['id']}").json()["state"] == "ok"
    history = client.get(f"/api/proactive/monitors/{mon['id']}/history").json()["items"]
    assert [h["status"] for h in history] == ["ok", "error", "error", "error", "error"]


def test_named_values_and_secret_headers(client: TestClient, quote: Quote) -> None:
    assert client.put("/api/secrets/quote-key", json={"value": "k-123"}).status_code == 201
    mon = create(
        client,
        quote,
        source={
            "type": "http",
            "url": quote.url,
            "select": "{price: data.price, volume: data.volume}",
            "headers": {
                "Authorization": {"secret": "quote-key", "prefix": "Bearer "},
                "X-Client": "proactive",
            },
        },
        condition="price > 100 and volume >= 1000",
        action="Price {price} on volume {volume}",
    )
    result = check(client, mon)
    assert (result["fired"], result["values"]) == (True, {"price": 140.0, "volume": 1200})
    assert quote.seen_headers[-1]["Authorization"] == "Bearer k-123"
    assert "k-123" not in json.dumps(client.get(f"/api/proactive/monitors/{mon['id']}").json())
    secret_store.delete("ws-1", "quote-key")  # the value gone from the store, whatever the reason
    assert "secret 'quote-key' is not set" in check(client, mon)["error"]


def test_outbound_requests_to_private_addresses_are_refused(
    client: TestClient, quote: Quote, monkeypatch: pytest.MonkeyPatch
) -> None:
    mon = create(client, quote)
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "")
    get_settings.cache_clear()
    error = check(client, mon)["error"]
    assert error == "127.0.0.1 resolves to 127.0.0.1, a loopback address; requests there are refused"
    assert quote.seen_headers == []


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("2002:a9fe:a9fe::1", "a 6to4 address carrying 169.254.169.254, a link-local address"),
        ("64:ff9b::a9fe:a9fe", "a NAT64 address carrying 169.254.169.254, a link-local address"),
        ("2001:0:a00:1:8000:0:f7f7:f7f7", "a Teredo address carrying 10.0.0.1, a private address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped address carrying 127.0.0.1, a loopback address"),
    ],
)
def test_a_source_whose_host_resolves_to_an_ipv6_form_of_a_private_address_is_refused(
    client: TestClient, quote: Quote, monkeypatch: pytest.MonkeyPatch, address: str, why: str
) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "quotes.test":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = quote.url.split(":")[2].split("/")[0]
    source = {"type": "http", "url": f"http://quotes.test:{port}/quote", "select": "data.price"}
    mon = create(client, quote, source=source)
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "")
    get_settings.cache_clear()
    assert (
        check(client, mon)["error"] == f"quotes.test resolves to {address}, {why}; requests there are refused"
    )
    assert quote.seen_headers == []
    if address == "::ffff:127.0.0.1":
        # Where loopback is allowed (the local stack), the IPv4 address it carries is allowed too.
        monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8,::1/128")
        get_settings.cache_clear()
        assert (check(client, mon)["status"], len(quote.seen_headers)) == ("ok", 1)


def test_metric_monitor_aggregates_posted_values(client: TestClient, quote: Quote) -> None:
    mon = create(
        client,
        quote,
        source={"type": "metric", "aggregation": "avg", "window": 600},
        condition="value > 80",
        action="CPU averaged {value}%",
    )
    assert check(client, mon)["error"] == "no values were posted in the last 600 s"
    for v in (70, 90, 95):
        assert (
            client.post(f"/api/proactive/monitors/{mon['id']}/values", json={"value": v}).status_code == 202
        )
    result = check(client, mon)
    assert (result["value"], result["fired"]) == (85, True)


@pytest.mark.parametrize(
    ("override", "field", "text"),
    [
        ({"condition": "AAPL stock price > 150"}, "condition", "is free text, not an expression"),
        ({"condition": "__import__('os').system('x')"}, "condition", "function calls"),
        ({"condition": "price > 150"}, "condition", "unknown name(s) ['price']"),
        ({"check_interval": 30}, "check_interval", "greater than or equal to 60"),
        ({"source": {"type": "http", "url": "ftp://x", "select": "a"}}, "source.http.url", "should match"),
        ({"source": {"type": "http", "url": "http://x", "select": "[?"}}, "source.select", "JMESPath"),
        ({"action": "Price {price}"}, "action", "no value 'price'"),
    ],
)
def test_bad_monitors_get_422_naming_the_problem(
    client: TestClient, quote: Quote, override: dict[str, Any], field: str, text: str
) -> None:
    body = monitor_body(client, quote, **override)
    resp = client.post("/api/proactive/monitors", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field
    assert text in resp.json()["message"]


@pytest.mark.parametrize(
    "url", ["https://user:pass@api.example.com/quote", "https://user@api.example.com/quote"]
)
def test_a_source_url_carrying_credentials_is_refused_and_nothing_changes(
    client: TestClient, quote: Quote, url: str
) -> None:
    source = {"type": "http", "url": url, "select": "data.price"}
    refusal = (
        "source.http.url: must not carry credentials before the host (user:password@); "
        "keep a credential in a secret"
    )
    resp = client.post("/api/proactive/monitors", json=monitor_body(client, quote, source=source))
    assert resp.status_code == 422, resp.text
    assert (resp.json()["field"], resp.json()["message"]) == ("source.http.url", refusal)
    assert client.get("/api/proactive/monitors").json()["items"] == []
    mon = create(client, quote)
    resp = client.patch(f"/api/proactive/monitors/{mon['id']}", json={"source": source})
    assert (resp.status_code, resp.json()["message"]) == (422, refusal)
    assert client.get(f"/api/proactive/monitors/{mon['id']}").json()["source"]["url"] == quote.url


def test_dispatcher_claims_each_check_slot_once(
    client: TestClient, quote: Quote, aws: Aws, handlers: Handlers
) -> None:
    mon = create(client, quote, check_interval=3600)
    slot = datetime.fromisoformat(mon["next_check"].replace("Z", "+00:00"))
    assert handlers.tick(slot)["checks"] == 1
    assert handlers.tick(slot)["checks"] == 0  # a retried tick cannot claim it again
    stored = aws.store.monitors.get(mon["id"])
    assert stored is not None
    stale = MonitorRecord.model_validate({**stored.model_dump(), "next_fire_at": mon["next_check"]})
    assert checks.dispatch(aws.store, aws.queue, stale, slot) is False
    quote.price = 151
    handlers.drain()
    history = client.get(f"/api/proactive/monitors/{mon['id']}/history").json()["items"]
    assert [(h["status"], h["fired"]) for h in history] == [("ok", True)]
    handlers.drain()
    runs = client.get("/api/runs", params={"source_type": "monitor"}).json()["items"]
    assert len(runs) == 1
    nxt = client.get(f"/api/proactive/monitors/{mon['id']}").json()["next_check"]
    assert datetime.fromisoformat(nxt.replace("Z", "+00:00")) == slot + timedelta(seconds=3600)


def test_pause_resume_and_checks_never_overlap(client: TestClient, quote: Quote, aws: Aws) -> None:
    mon = create(client, quote)
    assert client.post(f"/api/proactive/monitors/{mon['id']}/pause").json()["next_check"] is None
    resumed = client.post(f"/api/proactive/monitors/{mon['id']}/resume").json()
    assert resumed["is_active"] is True
    now = datetime.now(UTC)
    aws.store.monitors.lock(mon["id"], "chk-other", now=now, until=now + timedelta(minutes=1))
    skipped = check(client, mon)
    assert (skipped["status"], skipped["reason"]) == (
        "skipped",
        "the previous check of this monitor was still running",
    )


def test_slow_and_oversized_responses_are_recorded_errors(
    client: TestClient, quote: Quote, monkeypatch: pytest.MonkeyPatch
) -> None:
    mon = create(client, quote)
    monkeypatch.setenv("OUTBOUND_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("OUTBOUND_MAX_RESPONSE_BYTES", "1024")
    get_settings.cache_clear()
    quote.delay = 1.0
    assert check(client, mon)["error"] == "timed out after 0.3 s"
    quote.delay, quote.body = 0.0, json.dumps({"data": {"price": 1, "pad": "x" * 5000}}).encode()
    assert check(client, mon)["error"] == "response is larger than 1024 bytes"
    monkeypatch.undo()
    get_settings.cache_clear()
