"""The SDK's HTTP side against a scripted server on loopback: the API's errors as exceptions, and
retries only where doing a call twice cannot do anything twice."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from proactive import Proactive, ProactiveError, Scheduler
from tests.fakes import HttpReply, WebhookReceiver

RUN = {
    "id": "run-1",
    "workspace_id": "ws-1",
    "agent_id": "agent-1",
    "source_type": "manual",
    "status": "queued",
    "task": "export",
    "created_at": "2026-12-06T10:00:00Z",
}
SCHEDULE = {
    "id": "sched-1",
    "name": "Weekly Backup",
    "workspace_id": "ws-1",
    "agent_id": "agent-1",
    "task_description": "Backup all databases",
    "cron_expression": "0 0 * * 0",
    "timezone": "UTC",
    "is_active": True,
    "catch_up": "latest",
    "overlap": "skip",
    "next_run": "2026-12-13T00:00:00+00:00",
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
}
UNAVAILABLE = HttpReply(
    503, {"error": "unavailable", "message": "could not queue the run; retry"}, headers={"Retry-After": "0"}
)


@pytest.fixture
def api() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def client(api: WebhookReceiver, **kwargs: Any) -> Proactive:
    return Proactive(api.base_url, "token-1", **kwargs)


def test_a_run_start_that_meets_a_503_is_sent_again_with_the_same_idempotency_key(
    api: WebhookReceiver,
) -> None:
    api.script(UNAVAILABLE, HttpReply(202, RUN))

    run = asyncio.run(client(api).runs.create(workspace_id="ws-1", agent_id="agent-1", task="export"))

    assert run.id == "run-1"
    first, second = api.requests
    assert (first.method, first.path) == ("POST", "/api/runs")
    key = first.header("Idempotency-Key")
    assert key
    assert second.header("Idempotency-Key") == key
    assert first.header("Authorization") == second.header("Authorization") == "Bearer token-1"
    assert first.json == second.json == {"workspace_id": "ws-1", "agent_id": "agent-1", "task": "export"}


def test_a_caller_s_own_idempotency_key_is_the_one_sent(api: WebhookReceiver) -> None:
    api.script(HttpReply(202, RUN))
    asyncio.run(client(api).schedules.run("sched-1", idempotency_key="nightly-2026-12-06"))
    assert api.requests.last.header("Idempotency-Key") == "nightly-2026-12-06"
    assert api.requests.last.path == "/api/proactive/schedules/sched-1/run"


def test_a_create_without_a_key_is_not_sent_twice_after_a_503(api: WebhookReceiver) -> None:
    api.script(UNAVAILABLE, HttpReply(201, SCHEDULE))

    with pytest.raises(ProactiveError) as raised:
        asyncio.run(client(api).schedules.create(name="Weekly Backup", workspace_id="ws-1"))

    assert len(api.requests) == 1
    assert (raised.value.status, raised.value.error) == (503, "unavailable")
    assert raised.value.retry_after == 0
    assert str(raised.value) == "503 unavailable: could not queue the run; retry"


def test_a_429_is_waited_out_for_any_call(api: WebhookReceiver) -> None:
    api.script(
        HttpReply(429, {"error": "rate_limited", "message": "slow down"}, headers={"Retry-After": "0.2"}),
        HttpReply(201, SCHEDULE),
    )
    started = asyncio.run(_timed(client(api).schedules.create(name="Weekly Backup")))
    schedule, took = started
    assert schedule.next_run == "2026-12-13T00:00:00+00:00"
    assert len(api.requests) == 2
    assert took >= 0.2


def test_the_api_s_error_body_becomes_the_exception(api: WebhookReceiver) -> None:
    api.script(
        HttpReply(
            422,
            {
                "error": "validation_error",
                "message": "cron_expression: not a cron expression",
                "field": "cron_expression",
                "details": [{"field": "cron_expression", "message": "not a cron expression"}],
            },
        )
    )
    with pytest.raises(ProactiveError) as raised:
        asyncio.run(client(api).schedules.create(cron_expression="every day"))
    error = raised.value
    assert (error.status, error.error, error.field) == (422, "validation_error", "cron_expression")
    assert error.details == [{"field": "cron_expression", "message": "not a cron expression"}]


def test_a_text_answer_is_still_an_exception_with_what_it_said(api: WebhookReceiver) -> None:
    api.script(HttpReply(502, "Bad Gateway from the load balancer"))
    with pytest.raises(ProactiveError) as raised:
        asyncio.run(client(api, max_retries=0).runs.get("run-1"))
    assert (raised.value.status, raised.value.message) == (502, "Bad Gateway from the load balancer")


def test_reads_are_retried_and_listing_follows_every_page(api: WebhookReceiver) -> None:
    second = {**SCHEDULE, "id": "sched-2"}
    api.script(
        HttpReply(504, "gateway timeout"),
        HttpReply(200, {"items": [SCHEDULE], "next_cursor": "c-1"}),
        HttpReply(200, {"items": [second], "next_cursor": None}),
    )

    async def every() -> list[str]:
        async with client(api) as proactive:
            return [s.id async for s in proactive.schedules.list(limit=1)]

    assert asyncio.run(every()) == ["sched-1", "sched-2"]
    assert [r.query.get("cursor") for r in api.requests] == [None, None, "c-1"]
    assert api.requests.last.query["limit"] == "1"
    # One pool for the whole block: the three requests shared connections
    assert api.connections_opened <= 2


def test_an_api_that_cannot_be_reached_says_where(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PROACTIVE_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PROACTIVE_TOKEN", "token-1")
    with pytest.raises(ProactiveError) as raised:
        asyncio.run(Scheduler().get("sched-1"))
    assert raised.value.status == 0
    assert f"GET http://127.0.0.1:{port}/api/proactive/schedules/sched-1: ConnectError" in str(raised.value)


def test_no_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROACTIVE_TOKEN", raising=False)
    with pytest.raises(ValueError, match="PROACTIVE_TOKEN"):
        Scheduler()


async def _timed(call: Any) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await call
    return result, loop.time() - start
