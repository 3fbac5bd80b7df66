"""What a new user and an attacker tried that once gave a 500 or lost something, each now
answered with a clear 4xx or recorded, and nothing stored corrupted or lost."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from proactive.schedules import window_end
from proactive.settings import Settings, SettingsError
from tests.integration.conftest import Aws, Handlers
from tests.integration.test_monitors import check, create
from tests.quotes import Quote, running_quote


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote() as q:
        yield q


def agent(client: TestClient, name: str = "worker") -> str:
    return str(client.post("/api/agents", json={"workspace_id": "ws-1", "name": name}).json()["id"])


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


def github_signed(secret: str, body: bytes, delivery: str) -> dict[str, str]:
    return {
        "x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "x-github-event": "push",
        "x-github-delivery": delivery,
        "content-type": "application/json",
    }


@pytest.fixture
def hook(client: TestClient) -> dict[str, Any]:
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "t",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent(client),
            "task_template": "Handle {n}",
        },
    ).json()
    resp = client.post(
        "/api/proactive/webhooks",
        json={"workspace_id": "ws-1", "name": "w", "trigger_id": trigger["id"], "signature_scheme": "github"},
    )
    return dict(resp.json())


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"n": 1e300}', 202),
        (b'{"n": 123456789012345678901234567890123456789012345}', 202),
        (b'{"n": 1, "": {"": []}}', 202),
        (b'{"n": ' + b"[" * 200 + b"]" * 200 + b"}", 202),
        (b'{"n": NaN}', 400),
        (b"[" * 100_000, 400),
        (b"[" * 50_000 + b"]" * 50_000, 400),
    ],
)
def test_odd_but_signed_deliveries_are_answered_and_logged(
    client: TestClient, handlers: Handlers, hook: dict[str, Any], body: bytes, status: int
) -> None:
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-1"))
    assert code == status, answer
    assert set(answer) >= ({"delivery_id", "status"} if status == 202 else {"error", "message", "field"})
    # Every page of the delivery log can be read, and shows this delivery
    page = client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries")
    assert page.status_code == 200, page.text
    [logged] = page.json()["items"]
    assert logged["status"] == ("accepted" if status == 202 else "rejected")
    if status == 202:
        assert logged["payload"] == json.loads(body)
        handlers.drain()
        [run] = client.get("/api/runs", params={"source_type": "webhook"}).json()["items"]
        assert run["status"] == "succeeded"


def test_a_write_conflict_on_the_shared_counter_is_retried_then_answered_503(
    client: TestClient, handlers: Handlers, hook: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"n": 1}'
    table = handlers.ingest.store.table
    real = table.client.transact_write_items
    conflicts = {"left": 1}

    def conflicted(**kwargs: Any) -> Any:
        # What DynamoDB answers when another transaction touches the same counter at that moment.
        if conflicts["left"]:
            conflicts["left"] -= 1
            reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}]
            error = {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}
            raise ClientError({**error, "CancellationReasons": reasons}, "TransactWriteItems")
        return real(**kwargs)

    monkeypatch.setattr(table.client, "transact_write_items", conflicted)
    # A conflict that clears is retried: the delivery is accepted, not taken for a duplicate
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-1"))
    assert (code, answer["status"]) == (202, "accepted")
    # One that persists is a 503, so the sender retries; nothing was logged as a duplicate
    conflicts["left"] = 100
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-2"))
    assert (code, answer["error"]) == (503, "service_unavailable")
    conflicts["left"] = 0
    code, answer, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-2"))
    assert (code, answer["status"]) == (202, "accepted")
    statuses = [
        d["status"] for d in client.get(f"/api/proactive/webhooks/{hook['id']}/deliveries").json()["items"]
    ]
    assert sorted(statuses) == ["accepted", "accepted"]


def test_a_table_out_of_reach_is_a_json_503_the_sender_retries(
    handlers: Handlers, hook: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = handlers.ingest.store.table

    def throttled(**kwargs: Any) -> Any:
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "Query")

    monkeypatch.setattr(table.client, "query", throttled)
    body = b'{"n": 1}'
    code, answer, headers = handlers.post_hook(
        hook["url_path"], body, github_signed(hook["secret"], body, "d-1")
    )
    assert (code, answer["error"]) == (503, "service_unavailable")
    assert answer["message"] == "the delivery could not be handled; retry later"
    assert headers["content-type"] == "application/json"


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


# Concurrent edits


def race(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, module: Any, reader: str, path: str, edits: Any
) -> dict[str, int]:
    """Two PATCHes of `path`, raced exactly: the first reads the item (through `module.reader`),
    the second then runs to the end, and only then does the first one write. (moto applies writes
    one at a time but does not make a conditional write atomic with a concurrent one, so the race
    is staged.) Their status codes, by "first" and "second"."""
    read = getattr(module, reader)
    first_read, second_done, armed = threading.Event(), threading.Event(), threading.Event()

    def staged(store: Any, item_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
        current = read(store, item_id, workspaces)
        if armed.is_set():  # the first PATCH's first read (the other one starts only after it)
            armed.clear()
            first_read.set()
            assert second_done.wait(10)
        return current

    monkeypatch.setattr(module, reader, staged)
    answers: dict[str, int] = {}

    def patch(body: dict[str, Any]) -> None:
        name = threading.current_thread().name
        if name == "second":
            assert first_read.wait(10)
        answers[name] = client.patch(path, json=body).status_code
        if name == "second":
            second_done.set()

    armed.set()
    threads = [
        threading.Thread(target=patch, args=(b,), name=n)
        for n, b in zip(("first", "second"), edits, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.setattr(module, reader, read)
    return answers


def test_concurrent_patches_of_one_schedule_lose_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proactive import schedules

    for edits in (
        ({"cron_expression": "30 17 * * *"}, {"timezone": "Asia/Tokyo"}),
        ({"timezone": "Asia/Tokyo"}, {"cron_expression": "30 17 * * *"}),
        ({"cron_expression": "30 17 * * *"}, {"is_active": False}),
    ):
        # Given a schedule, when two edits of when it fires arrive together
        sched = client.post(
            "/api/proactive/schedules",
            json={
                "name": "s",
                "workspace_id": "ws-1",
                "agent_id": agent(client),
                "task_description": "t",
                "cron_expression": "0 9 * * *",
            },
        ).json()
        path = f"/api/proactive/schedules/{sched['id']}"
        answers = race(client, monkeypatch, schedules, "get_schedule", path, edits)

        # Then both apply, and the stored next fire follows the stored cron, zone and state
        assert answers == {"first": 200, "second": 200}
        final = client.get(path).json()
        for body in edits:
            for key, value in body.items():
                assert final[key] == value, (edits, final)
        if final["is_active"]:
            next_runs = client.get(f"{path}/next-runs").json()["next_runs"]
            if datetime.fromisoformat(next_runs[0]) <= window_end(datetime.now(UTC)):
                # Due within the hand-off window when it was edited: that occurrence is already on
                # the queue, and the schedule waits for the one after.
                next_runs = next_runs[1:]
            assert final["next_run"] == next_runs[0]
            assert final["next_run"].endswith("T17:30:00+09:00")
        else:
            assert final["next_run"] is None


def test_concurrent_puts_of_workspace_settings_keep_both_fields(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One PUT sets the default agent; while it checks that agent, another sets the default
    # channels. Fields a PUT leaves out keep their value, so both are kept.
    from proactive.store.agents import Agents

    default_agent = agent(client, "assistant")
    channel = client.post(
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "ops",
            "type": "webhook",
            "config": {"url": "http://127.0.0.1:9/x"},
        },
    )
    assert channel.status_code == 201, channel.text
    checking, second_done = threading.Event(), threading.Event()
    check = Agents.referenced

    def staged(self: Agents, item_id: str, workspace_id: str, *, field: str) -> dict[str, Any]:
        checking.set()
        assert second_done.wait(10)
        return check(self, item_id, workspace_id, field=field)

    monkeypatch.setattr(Agents, "referenced", staged)
    answers: dict[str, int] = {}

    def put(name: str, body: dict[str, Any]) -> None:
        if name == "second":
            assert checking.wait(10)
        answers[name] = client.put("/api/workspace/settings", json=body).status_code
        if name == "second":
            second_done.set()

    threads = [
        threading.Thread(target=put, args=("first", {"default_agent_id": default_agent})),
        threading.Thread(target=put, args=("second", {"default_channels": [channel.json()["id"]]})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert answers == {"first": 200, "second": 200}
    settings = client.get("/api/workspace/settings").json()
    assert settings["default_agent_id"] == default_agent
    assert settings["default_channels"] == [channel.json()["id"]]


def test_concurrent_patches_of_one_monitor_lose_nothing(
    client: TestClient, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The next check is derived from the interval and the state, so neither may be stale.
    from proactive import monitors

    for edits in (
        ({"check_interval": 3600}, {"is_active": False}),
        ({"is_active": False}, {"check_interval": 3600}),
        ({"check_interval": 3600}, {"condition": "value > 200"}),
    ):
        mon = client.post(
            "/api/proactive/monitors",
            json={
                "name": "m",
                "workspace_id": "ws-1",
                "agent_id": agent(client),
                "source": {"type": "metric"},
                "condition": "value > 1",
                "action": "look",
                "check_interval": 60,
            },
        ).json()
        path = f"/api/proactive/monitors/{mon['id']}"
        assert race(client, monkeypatch, monitors, "get_monitor", path, edits) == {
            "first": 200,
            "second": 200,
        }

        final = client.get(path).json()
        for body in edits:
            for key, value in body.items():
                assert final[key] == value, (edits, final)
        # The next check (what the dispatcher reads) follows the interval and state it has now
        stored = aws.store.monitors.get(mon["id"])
        if final["is_active"]:
            wait = datetime.fromisoformat(stored["next_fire_at"]) - datetime.fromisoformat(
                final["updated_at"]
            )
            assert wait.total_seconds() == 3600, (edits, stored)
        else:
            assert stored.get("next_fire_at") is None, (edits, stored)


# Bad input that once gave 500


@pytest.mark.parametrize("zone", ["America", "Europe", "Etc", "x" * 300, "../../etc/passwd", "America/"])
def test_a_zone_that_is_a_folder_or_too_long_is_a_422_naming_timezone(client: TestClient, zone: str) -> None:
    resp = client.post(
        "/api/proactive/schedules",
        json={
            "name": "s",
            "workspace_id": "ws-1",
            "agent_id": agent(client),
            "task_description": "t",
            "cron_expression": "* * * * *",
            "timezone": zone,
        },
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == "timezone"


def test_a_huge_webhook_timestamp_is_401(handlers: Handlers, client: TestClient) -> None:
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "t",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent(client),
            "task_template": "go",
        },
    ).json()
    hook = client.post(
        "/api/proactive/webhooks", json={"workspace_id": "ws-1", "name": "w", "trigger_id": trigger["id"]}
    ).json()
    headers = {"webhook-id": "m1", "webhook-timestamp": "9" * 401, "webhook-signature": "v1,AAAA"}
    code, answer, _ = handlers.post_hook(hook["url_path"], b"{}", headers)
    assert (code, answer["error"]) == (401, "unauthorized")
    assert "webhook-timestamp" in answer["message"]


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b'{"a": "b"}').decode(),
        base64.urlsafe_b64encode(b'{"PK": "AGENT#x"}').decode(),
        base64.urlsafe_b64encode(
            json.dumps({"PK": "a", "SK": "b", "GSI1PK": "WS#ws-2#AGENT", "GSI1SK": "c"}).encode()
        ).decode(),
        "!!!",
    ],
)
def test_a_hand_made_cursor_is_a_422(client: TestClient, cursor: str) -> None:
    # Every list the API has (those under an item are read the same way)
    lists = [
        path
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        if "{" not in path
        and any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 12
    for path in lists:
        resp = client.get(path, params={"cursor": cursor})
        assert resp.status_code == 422, (path, resp.text)
        assert resp.json()["message"] == "cursor is not one this API returned", path
        assert resp.json()["field"] == "cursor", path


def test_invalid_settings_fail_at_start_up_naming_each_variable() -> None:
    env = {
        "TABLE_NAME": "tbl",
        "RUN_QUEUE_URL": "q",
        "OUTBOUND_ALLOW_NETWORKS": "banana",
        "TICK_SECONDS": "1",
    }
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert "OUTBOUND_ALLOW_NETWORKS='banana'" in str(err.value)
    assert "TICK_SECONDS='1': must be at least 10" in str(err.value)


# Deleting what others use


def test_deleting_an_agent_in_use_is_409_naming_users_and_force_pauses_them(client: TestClient) -> None:
    # Given an agent used by a schedule, a trigger and a monitor
    used = agent(client, "used")
    sched = client.post(
        "/api/proactive/schedules",
        json={
            "name": "daily",
            "workspace_id": "ws-1",
            "agent_id": used,
            "task_description": "t",
            "cron_expression": "0 9 * * *",
        },
    ).json()
    trig = client.post(
        "/api/proactive/triggers",
        json={
            "name": "on run",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "agent_id": used,
            "config": {"event": "run.failed"},
            "task_template": "look at {run_id}",
        },
    ).json()
    mon = client.post(
        "/api/proactive/monitors",
        json={
            "name": "m",
            "agent_id": used,
            "workspace_id": "ws-1",
            "source": {"type": "metric"},
            "condition": "value > 1",
            "action": "look",
        },
    ).json()

    # When it is deleted, the answer is 409 naming each of them, and nothing changed
    resp = client.delete(f"/api/agents/{used}")
    assert resp.status_code == 409
    for item in (sched, trig, mon):
        assert item["id"] in resp.json()["message"]
    assert client.get(f"/api/agents/{used}").status_code == 200

    # And with force, it is gone and each user is paused with the reason
    assert client.delete(f"/api/agents/{used}", params={"force": "true"}).status_code == 204
    assert client.get(f"/api/agents/{used}").status_code == 404
    for path in (
        f"/api/proactive/schedules/{sched['id']}",
        f"/api/proactive/triggers/{trig['id']}",
        f"/api/proactive/monitors/{mon['id']}",
    ):
        shown = client.get(path).json()
        assert shown["is_active"] is False
        assert f"its agent {used}" in shown["paused_reason"]
    assert client.get(f"/api/proactive/schedules/{sched['id']}").json()["next_run"] is None
    # Resuming is refused while its agent is gone; resuming with another agent clears the reason
    assert client.post(f"/api/proactive/monitors/{mon['id']}/resume").status_code == 422
    other = agent(client, "successor")
    resumed = client.patch(
        f"/api/proactive/monitors/{mon['id']}", json={"agent_id": other, "is_active": True}
    ).json()
    assert (resumed["is_active"], resumed["paused_reason"]) == (True, None)


def test_deleting_the_agent_of_autonomous_mode_or_the_default_agent_is_409_and_force_unsets_them(
    client: TestClient,
) -> None:
    used = agent(client, "executor")
    assert client.put("/api/workspace/settings", json={"default_agent_id": used}).status_code == 200
    assert client.put("/api/autonomous/config", json={"enabled": True, "agent_id": used}).status_code == 200

    resp = client.delete(f"/api/agents/{used}")
    assert resp.status_code == 409
    assert {d["field"] for d in resp.json()["details"]} == {"autonomy", "workspace_settings"}
    assert "autonomous mode" in resp.json()["message"]

    assert client.delete(f"/api/agents/{used}", params={"force": "true"}).status_code == 204
    config = client.get("/api/autonomous/config").json()
    assert (config["enabled"], config["agent_id"], config["next_execution"]) == (False, None, None)
    assert client.get("/api/workspace/settings").json()["default_agent_id"] is None


def test_deleting_a_trigger_webhooks_deliver_to_is_409_and_force_pauses_them(
    client: TestClient, hook: dict[str, Any], handlers: Handlers
) -> None:
    resp = client.delete(f"/api/proactive/triggers/{hook['trigger_id']}")
    assert resp.status_code == 409
    assert hook["id"] in resp.json()["message"]
    assert client.delete(f"/api/proactive/triggers/{hook['trigger_id']}?force=true").status_code == 204
    paused = client.get(f"/api/proactive/webhooks/{hook['id']}").json()
    assert paused["is_active"] is False
    assert "its trigger" in paused["paused_reason"]
    body = b'{"n": 1}'
    code, _, _ = handlers.post_hook(hook["url_path"], body, github_signed(hook["secret"], body, "d-9"))
    assert code == 409


def test_an_event_trigger_may_not_name_another_workspaces_source(client: TestClient) -> None:
    other = {"Authorization": client.headers["Authorization"]}
    from tests.integration.conftest import token

    other["Authorization"] = f"Bearer {token('ws-2')}"
    theirs = client.post("/api/agents", json={"workspace_id": "ws-2", "name": "x"}, headers=other).json()
    their_schedule = client.post(
        "/api/proactive/schedules",
        json={
            "name": "s",
            "workspace_id": "ws-2",
            "agent_id": theirs["id"],
            "task_description": "t",
            "cron_expression": "0 9 * * *",
        },
        headers=other,
    ).json()
    resp = client.post(
        "/api/proactive/triggers",
        json={
            "name": "spy",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "agent_id": agent(client),
            "config": {"event": "run.finished", "source_id": their_schedule["id"]},
            "task_template": "x",
        },
    )
    assert resp.status_code == 422
    assert resp.json()["field"] == "config.source_id"


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
