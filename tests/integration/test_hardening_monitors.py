"""Monitors given what once gave a 500 or lost something: source values and posted values the
store cannot hold, and the seed's own examples; each answered with a clear 4xx or recorded as an
error, nothing stored corrupted or lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import Aws
from tests.integration.hardening import agent
from tests.integration.test_monitors import check, create
from tests.quotes import Quote, running_quote


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote() as q:
        yield q


# Numbers and nesting that DynamoDB cannot hold


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"data": {"price": 1e300}}', "1.000e+300"),
        (b'{"data": {"price": 1e-300}}', "1.000e-300"),
        (b'{"data": {"price": NaN}}', "not a finite number"),
        (b'{"data": {"price": 123456789012345678901234567890123456789012345}}', "45 significant digits"),
        (b'{"data": {"price": {"": 1}}}', "empty or non-text key"),
    ],
)
def test_a_source_value_the_store_cannot_hold_is_a_recorded_error_that_fires_nothing(
    client: TestClient, aws: Aws, quote: Quote, body: bytes, named: str
) -> None:
    # Given a monitor whose source answers with a value DynamoDB cannot hold
    monitor = create(client, quote, condition="value != 0")
    quote.body = body

    # When it is checked three times
    results = [check(client, monitor) for _ in range(3)]

    # Then each check is an error naming the value, nothing ran, and the monitor is failing
    assert [r["status"] for r in results] == ["error"] * 3
    assert named in results[0]["error"]
    assert client.get("/api/runs", params={"source_type": "monitor"}).json()["items"] == []
    shown = client.get(f"/api/proactive/monitors/{monitor['id']}").json()
    assert (shown["state"], shown["consecutive_failures"]) == ("failing", 3)
    # And once the source is sane again, the next check is not skipped as "still running"
    quote.body = None
    quote.price = 151
    assert check(client, monitor)["status"] == "ok"


@pytest.mark.parametrize(
    "body",
    [
        # 10**44: 45 digits, 1 of them significant
        b'{"data": {"price": 100000000000000000000000000000000000000000000}}',
        b'{"data": {"price": 1e44}}',
        b'{"data": {"price": 9.99e125}}',
    ],
)
def test_big_round_numbers_are_stored_exactly_check_after_check(
    client: TestClient, quote: Quote, body: bytes
) -> None:
    # Given a monitor whose source answers with a big round number (valid for DynamoDB)
    monitor = create(client, quote, condition="value > 150")
    quote.body = body
    # When it is checked twice (the second check also writes the first value, as `previous`)
    first, second = check(client, monitor), check(client, monitor)
    # Then both are recorded, the first fires once, and the value reads back as it was sent
    assert [first["status"], second["status"]] == ["ok", "ok"]
    assert (first["fired"], second["fired"]) == (True, False)
    sent = json.loads(body)["data"]["price"]
    assert second["value"] == second["previous"]
    assert float(second["value"]) == float(sent)  # (1e44 in JSON is exactly 10**44, shown whole)
    assert len(client.get("/api/runs", params={"source_type": "monitor"}).json()["items"]) == 1


def test_a_posted_big_round_number_is_checked_like_any_other(client: TestClient) -> None:
    monitor = client.post(
        "/api/proactive/monitors",
        json={
            "name": "m",
            "workspace_id": "ws-1",
            "agent_id": agent(client),
            "source": {"type": "metric", "aggregation": "last"},
            "condition": "value > 150",
            "action": "Look at {value}",
        },
    )
    assert monitor.status_code == 201, monitor.text
    posted = client.post(f"/api/proactive/monitors/{monitor.json()['id']}/values", json={"value": 10**44})
    assert posted.status_code == 202, posted.text
    checked = client.post(f"/api/proactive/monitors/{monitor.json()['id']}/check").json()
    assert (checked["status"], checked["value"], checked["fired"]) == ("ok", 10**44, True)


def test_a_source_value_too_big_to_keep_is_a_recorded_error_and_the_next_check_runs(
    client: TestClient, quote: Quote
) -> None:
    monitor = create(client, quote, condition="value != 0")
    quote.body = json.dumps({"data": {"price": "x" * 500_000}}).encode()
    failed = check(client, monitor)
    assert failed["status"] == "error"
    assert "a check keeps at most 65,536" in failed["error"]
    assert client.get("/api/runs", params={"source_type": "monitor"}).json()["items"] == []
    quote.body = None
    quote.price = 151
    assert check(client, monitor)["status"] == "ok"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (b'{"value": 1e300}', "value", "magnitude between"),
        (b'{"value": NaN}', "value", "finite number"),
        (b'{"value": Infinity}', "value", "finite number"),
        (b'{"value": 1, "timestamp": "0130-01-01T00:00:00Z"}', "timestamp", "1970 or later"),
        (b'{"value": 1, "timestamp": "2999-01-01T00:00:00Z"}', "timestamp", "5 minutes in the future"),
        (b'{"value": 1, "timestamp": "2026-01-01T00:00:00"}', "timestamp", "UTC offset"),
    ],
)
def test_metric_values_the_store_cannot_hold_get_422_naming_the_field(
    client: TestClient, payload: bytes, field: str, message: str
) -> None:
    mon = client.post(
        "/api/proactive/monitors",
        json={
            "name": "m",
            "agent_id": agent(client),
            "workspace_id": "ws-1",
            "source": {"type": "metric"},
            "condition": "value > 1",
            "action": "look",
        },
    ).json()
    resp = client.post(
        f"/api/proactive/monitors/{mon['id']}/values",
        content=payload,
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field
    assert message in resp.json()["message"]


# The seed's own examples


def test_the_seed_monitor_example_gets_a_422_that_explains_both_problems(client: TestClient) -> None:
    resp = client.post(
        "/api/proactive/monitors",
        json={
            "name": "Stock Price Monitor",
            "agent_id": agent(client, "trading-agent-123"),
            "workspace_id": "ws-1",
            "condition": "AAPL stock price > 150",
            "action": "Send alert and analyze",
            "check_interval": 300,
        },
    )
    assert resp.status_code == 422
    body = resp.json()
    assert [d["field"] for d in body["details"]] == ["source", "condition"]
    assert "source is required" in body["message"]
    assert "free text" in body["message"]
    assert "`value > 150`" in body["message"]


def test_a_condition_with_a_unit_gets_a_message_a_person_understands(client: TestClient) -> None:
    resp = client.post(
        "/api/proactive/monitors",
        json={
            "name": "API Response Time Monitor",
            "agent_id": agent(client),
            "workspace_id": "ws-1",
            "source": {"type": "metric"},
            "condition": "value > 500ms",
            "action": "Investigate slow endpoints",
        },
    )
    assert resp.status_code == 422
    assert "'500ms' is a number with a unit: write the number alone (500)" in resp.json()["message"]
    assert "decimal literal" not in resp.json()["message"]
