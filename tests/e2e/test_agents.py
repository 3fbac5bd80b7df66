"""A user's own agent service, run by the local stack: retried through the queue, calling back
later, cancelled and replayed, all over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook as Signer

from tests.fakes import Accepted, AgentService, Delay, Output
from tests.fakes.agent_service import unavailable
from tests.localstack import Stack

pytestmark = pytest.mark.e2e
WS = "ws-agents"


def wait_for(c: httpx.Client, run_id: str, done: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = c.get(f"/api/runs/{run_id}").json()
        if done(run):
            return dict(run)
        if time.monotonic() > deadline:
            pytest.fail(f"run did not get there: {run}")
        time.sleep(0.25)


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def agent(c: httpx.Client, service: AgentService, **config: Any) -> dict[str, Any]:
    created = c.post(
        "/api/agents",
        json={
            "workspace_id": WS,
            "name": "my-agent",
            "runtime": "http",
            "config": {"url": service.url, **config},
        },
    ).json()
    service.secret = created["secret"]
    return dict(created)


def test_an_agent_that_fails_twice_then_answers_succeeds_on_the_third_attempt(
    stack: Stack, service: AgentService
) -> None:
    with stack.client(WS) as c:
        mine = agent(c, service)
        service.script(unavailable(retry_after=1), unavailable(retry_after=1), Output("all green"))
        run = c.post("/api/runs", json={"workspace_id": WS, "agent_id": mine["id"], "task": "Check"}).json()
        done = wait_for(c, run["id"], lambda r: r["status"] in ("succeeded", "failed"))
    assert (done["status"], done["attempts"], done["output"]) == ("succeeded", 3, "all green")
    assert [s["type"] for s in done["steps"]].count("attempt_started") == 3
    assert [v.ok for v in service.verifications] == [True, True, True]


def test_a_callback_agent_finishes_later_and_cancel_and_replay_work(
    stack: Stack, service: AgentService
) -> None:
    with stack.client(WS) as c:
        mine = agent(c, service, mode="callback")
        service.script(Accepted())
        run = c.post(
            "/api/runs", json={"workspace_id": WS, "agent_id": mine["id"], "task": "Research"}
        ).json()
        waiting = wait_for(c, run["id"], lambda r: r.get("waiting_for") == "callback")
        assert waiting["status"] == "running"
        body = json.dumps({"output": "the report"})
        sent = datetime.now(UTC)
        answer = httpx.post(
            f"{stack.base_url}/api/callbacks/runs/{run['id']}",
            content=body,
            headers={
                "webhook-id": "cb-1",
                "webhook-timestamp": str(int(sent.timestamp())),
                "webhook-signature": Signer(mine["secret"]).sign("cb-1", sent, body),
                "content-type": "application/json",
            },
        )
        assert answer.status_code == 200, answer.text
        assert wait_for(c, run["id"], lambda r: r["status"] == "succeeded")["output"] == "the report"

        # Cancel a run while its agent is still working; its answer is kept in the steps
        slow = agent(c, service)
        service.script(Delay(2, Output("too late")))
        second = c.post("/api/runs", json={"workspace_id": WS, "agent_id": slow["id"], "task": "Slow"}).json()
        deadline = time.monotonic() + 15
        while len(service.requests.snapshot()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert c.post(f"/api/runs/{second['id']}/cancel").json()["cancel_requested"] is True
        cancelled = wait_for(c, second["id"], lambda r: r["status"] == "cancelled")
        assert cancelled["steps"][-1]["discarded"]["output"] == "too late"

        # Replay it: a new run, linked both ways, that this time answers
        service.script(Output("on time"))
        again = c.post(f"/api/runs/{second['id']}/replay").json()
        assert again["replay_of"] == second["id"]
        assert wait_for(c, again["id"], lambda r: r["status"] == "succeeded")["output"] == "on time"
        assert c.get(f"/api/runs/{second['id']}").json()["replays"] == [again["id"]]
