"""Real agents through the worker: a user's HTTP agent service on loopback (which checks our
signatures with the reference Standard Webhooks library) and an OpenAI-compatible model on
loopback. Retries, callbacks, cancel, replay and Idempotency-Key, as a user sees them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Signer

from proactive import runs
from tests.fakes import Accepted, AgentService, Delay, OpenAIChatServer, Output, call_tool, say
from tests.fakes.agent_service import bad_request, unavailable
from tests.integration.conftest import Aws, Handlers


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def http_agent(client: TestClient, service: AgentService, **config: Any) -> dict[str, Any]:
    resp = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "deploy-checker",
            "runtime": "http",
            "config": {"url": service.url, **config},
        },
    )
    assert resp.status_code == 201, resp.text
    agent = dict(resp.json())
    # The service checks every request against the secret shown once, at creation.
    service.secret = agent["secret"]
    return agent


def start(client: TestClient, agent: dict[str, Any], task: str = "Check the deploy", **headers: str) -> Any:
    return client.post(
        "/api/runs", json={"workspace_id": "ws-1", "agent_id": agent["id"], "task": task}, headers=headers
    )


def run_of(client: TestClient, run_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/runs/{run_id}").json())


def test_the_secret_is_shown_once_and_never_again(client: TestClient, service: AgentService) -> None:
    agent = http_agent(client, service)
    assert agent["secret"].startswith("whsec_")
    assert "secret" not in client.get(f"/api/agents/{agent['id']}").json()
    listed = client.get("/api/agents").json()["items"]
    assert all("secret" not in a for a in listed)
    patched = client.patch(f"/api/agents/{agent['id']}", json={"description": "x"}).json()
    assert "secret" not in patched


def test_an_agent_failing_twice_with_503_then_answering_succeeds_with_three_attempts(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    # Given an http agent that is unavailable twice (asking for a retry after a second), then answers
    agent = http_agent(client, service)
    service.script(unavailable(retry_after=1), unavailable(retry_after=1), Output("deploy looks healthy"))

    # When a run is delegated to it
    run = start(client, agent).json()
    handlers.drain_until(
        lambda: run_of(client, run["id"])["status"] not in ("queued", "running"),
        timeout=30,
        fast_forward=True,
    )

    # Then it succeeded on the third attempt, and the steps tell the story
    done = run_of(client, run["id"])
    assert (done["status"], done["attempts"], done["output"]) == ("succeeded", 3, "deploy looks healthy")
    kinds = [s["type"] for s in done["steps"]]
    assert kinds == [
        "attempt_started",
        "http_request",
        "attempt_failed",
        "attempt_started",
        "http_request",
        "attempt_failed",
        "attempt_started",
        "http_request",
    ]
    assert [s["status"] for s in done["steps"] if s["type"] == "http_request"] == [503, 503, 200]
    failed = [s for s in done["steps"] if s["type"] == "attempt_failed"]
    assert all(s["retry_at"] for s in failed)
    # And every request was signed (the reference library verified each), one webhook-id per attempt
    assert [v.ok for v in service.verifications] == [True, True, True]
    ids = [r.headers["webhook-id"] for r in service.requests]
    assert ids == [f"{run['id']}-1", f"{run['id']}-2", f"{run['id']}-3"]
    assert [body["attempt"] for body in service.runs] == [1, 2, 3]
    assert service.runs[0]["task"] == "Check the deploy"
    assert service.runs[0]["source_type"] == "manual"


def test_an_agent_answering_400_fails_after_one_attempt(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    agent = http_agent(client, service)
    service.script(bad_request("task is not a deploy"))
    run = start(client, agent).json()
    handlers.drain_until(lambda: run_of(client, run["id"])["status"] == "failed")
    done = run_of(client, run["id"])
    assert done["attempts"] == 1
    assert "400" in done["error"]
    assert done["reason"] == "not retried: the failure cannot pass"
    assert len(service.requests) == 1


def callback(
    client: TestClient, secret: str, run_id: str, body: dict[str, Any], message_id: str = "cb-1"
) -> Any:
    payload = json.dumps(body)
    sent = datetime.now(UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, sent, payload),
        "content-type": "application/json",
    }
    saved = client.headers.pop("Authorization")  # the agent has no token
    try:
        return client.post(f"/api/callbacks/runs/{run_id}", content=payload, headers=headers)
    finally:
        client.headers["Authorization"] = saved


def test_a_callback_agent_completes_its_run_later(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    # Given an agent in callback mode, which accepts the run and answers later
    agent = http_agent(client, service, mode="callback")
    service.script(Accepted())
    run = start(client, agent, task="Research the market").json()
    handlers.drain()

    # Then the run waits for it
    waiting = run_of(client, run["id"])
    assert (waiting["status"], waiting["waiting_for"]) == ("running", "callback")
    assert waiting["callback_deadline"]

    # When a callback arrives unsigned or wrongly signed, it is refused and changes nothing
    assert callback(client, "whsec_" + "A" * 43, run["id"], {"output": "forged"}).status_code == 401
    assert run_of(client, run["id"])["status"] == "running"

    # When the agent calls back, signed with its secret, the run succeeds with its output
    resp = callback(client, agent["secret"], run["id"], {"output": {"report": "markets are up"}})
    assert resp.status_code == 200, resp.text
    done = run_of(client, run["id"])
    assert done["status"] == "succeeded"
    assert json.loads(done["output"]) == {"report": "markets are up"}
    assert [s["type"] for s in done["steps"]][-2:] == ["waiting_for_callback", "callback_received"]

    # And a replay of that callback is refused as unauthenticated; a new callback for a finished
    # run is a conflict
    replay = callback(client, agent["secret"], run["id"], {"output": "again"})
    assert replay.status_code == 401, replay.text
    assert "already accepted" in replay.json()["message"]
    late = callback(client, agent["secret"], run["id"], {"output": "again"}, message_id="cb-2")
    assert late.status_code == 409
    assert run_of(client, run["id"])["output"] == done["output"]


def test_a_callback_that_never_comes_fails_the_attempt_and_it_is_retried(
    client: TestClient, aws: Aws, handlers: Handlers, service: AgentService
) -> None:
    agent = http_agent(client, service, mode="callback", callback_timeout_seconds=60, max_attempts=2)
    service.script(Accepted(), Output("second time lucky"))
    run = start(client, agent).json()
    handlers.drain()
    waiting = run_of(client, run["id"])
    # When the callback's time is up (the timer message, seen after the deadline)
    later = datetime.fromisoformat(waiting["callback_deadline"]) + timedelta(seconds=1)
    runs.execute(
        aws.store,
        aws.queue,
        aws.bus,
        run["id"],
        now_fn=lambda: later,
        message={"attempt": 1, "wake": "callback"},
    )
    # Then the attempt failed for that reason, and the next attempt succeeds
    retried = run_of(client, run["id"])
    assert retried["status"] == "queued"
    assert "did not call back" in retried["error"]
    handlers.drain_until(lambda: run_of(client, run["id"])["status"] == "succeeded", fast_forward=True)
    assert run_of(client, run["id"])["attempts"] == 2


def test_cancel_queued_running_and_finished_runs(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    agent = http_agent(client, service)
    # A queued run is cancelled at once, and the worker then leaves it alone
    queued = start(client, agent).json()
    cancelled = client.post(f"/api/runs/{queued['id']}/cancel").json()
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "cancelled by tester")
    handlers.drain()
    assert run_of(client, queued["id"])["status"] == "cancelled"
    assert service.requests.snapshot() == []

    # A run whose attempt is executing is cancelled when the attempt returns; its output is kept
    service.script(Delay(1.5, Output("late answer")))
    executing = start(client, agent).json()
    worker = threading.Thread(target=handlers.drain)
    worker.start()
    deadline = time.monotonic() + 10
    while not service.requests.snapshot():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    asked = client.post(f"/api/runs/{executing['id']}/cancel").json()
    assert (asked["status"], asked["cancel_requested"]) == ("running", True)
    worker.join()
    done = run_of(client, executing["id"])
    assert (done["status"], done["output"]) == ("cancelled", None)
    assert done["steps"][-1]["type"] == "cancelled"
    assert done["steps"][-1]["discarded"]["output"] == "late answer"

    # A finished run answers 409
    resp = client.post(f"/api/runs/{done['id']}/cancel")
    assert resp.status_code == 409


def test_cancel_a_run_waiting_to_retry_or_for_a_callback(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    # Waiting to retry (the agent asked for 100 s): cancelled at once, and never tried again
    agent = http_agent(client, service)
    service.script(unavailable(retry_after=100))
    retrying = start(client, agent).json()
    handlers.drain()
    assert run_of(client, retrying["id"])["retry_at"]
    done = client.post(f"/api/runs/{retrying['id']}/cancel").json()
    assert (done["status"], done["retry_at"]) == ("cancelled", None)
    handlers.retry_now()
    handlers.drain()
    assert len(service.requests.snapshot()) == 1

    # Waiting for a callback: cancelled at once; the agent's late callback is a conflict
    waiter = http_agent(client, service, mode="callback")
    service.script(Accepted())
    waiting = start(client, waiter).json()
    handlers.drain()
    assert run_of(client, waiting["id"])["waiting_for"] == "callback"
    done = client.post(f"/api/runs/{waiting['id']}/cancel").json()
    assert (done["status"], done["waiting_for"], done["callback_deadline"]) == ("cancelled", None, None)
    late = callback(client, waiter["secret"], waiting["id"], {"output": "finally"})
    assert late.status_code == 409
    assert run_of(client, waiting["id"])["output"] is None


def test_replay_starts_a_linked_run_with_the_same_task_and_payload(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    agent = http_agent(client, service)
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "deploys",
            "workspace_id": "ws-1",
            "trigger_type": "manual",
            "agent_id": agent["id"],
            "task_template": "Check deploy {version}",
        },
    ).json()
    service.script(bad_request("broken agent"), Output("fixed"))
    fired = client.post(
        f"/api/proactive/triggers/{trigger['id']}/fire", json={"payload": {"version": "1.2.3"}}
    )
    first = fired.json()["run"]
    handlers.drain_until(lambda: run_of(client, first["id"])["status"] == "failed")

    # When the agent is fixed and the run replayed
    replay = client.post(f"/api/runs/{first['id']}/replay")
    assert replay.status_code == 202
    again = replay.json()
    handlers.drain_until(lambda: run_of(client, again["id"])["status"] == "succeeded")

    # Then the new run has the same task and payload, and the two link both ways
    assert (again["task"], again["replay_of"], again["source_type"]) == (
        "Check deploy 1.2.3",
        first["id"],
        "replay",
    )
    assert run_of(client, first["id"])["replays"] == [again["id"]]
    assert service.runs[1]["payload"] == {"version": "1.2.3"}


def test_idempotency_key_gives_back_the_first_run(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    agent = http_agent(client, service)
    first = start(client, agent, **{"Idempotency-Key": "deploy-42"}).json()
    second = start(client, agent, **{"Idempotency-Key": "deploy-42"}).json()
    assert second["id"] == first["id"]
    assert len(client.get("/api/runs").json()["items"]) == 1
    other = start(client, agent, task="Something else", **{"Idempotency-Key": "deploy-42"})
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert start(client, agent, **{"Idempotency-Key": "deploy-43"}).json()["id"] != first["id"]


def test_idempotency_key_on_run_now_fire_and_replay(client: TestClient, service: AgentService) -> None:
    agent = http_agent(client, service)
    schedule = client.post(
        "/api/proactive/schedules",
        json={
            "name": "nightly",
            "workspace_id": "ws-1",
            "agent_id": agent["id"],
            "task_description": "Export",
            "cron_expression": "0 3 * * *",
        },
    ).json()
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "on demand",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent["id"],
            "task_template": "Handle {n}",
        },
    ).json()
    replayed = start(client, agent).json()
    for path, body in (
        (f"/api/proactive/schedules/{schedule['id']}/run", None),
        (f"/api/proactive/triggers/{trigger['id']}/fire", {"payload": {"n": 1}}),
        (f"/api/runs/{replayed['id']}/replay", None),
    ):
        first = client.post(path, json=body, headers={"Idempotency-Key": f"k-{path}"})
        again = client.post(path, json=body, headers={"Idempotency-Key": f"k-{path}"})
        assert (first.status_code, again.status_code) == (202, 202), (path, first.text)
        # /fire answers {"status", "reason", "run"}; the others, the run
        run, run_again = (r.json().get("run") or r.json() for r in (first, again))
        assert run_again["id"] == run["id"], path
    # Three keys, three runs (beside the one replayed)
    assert len(client.get("/api/runs").json()["items"]) == 4


def test_a_regenerated_secret_keeps_the_old_one_valid_during_the_grace(
    client: TestClient, handlers: Handlers, service: AgentService
) -> None:
    agent = http_agent(client, service, mode="callback")
    old = agent["secret"]
    rotated = client.post(f"/api/agents/{agent['id']}/regenerate-secret", json={"grace_period_seconds": 600})
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old
    service.secret = new
    service.script(Accepted())
    run = start(client, agent).json()
    handlers.drain()
    assert [v.ok for v in service.verifications] == [True]  # signed with the new secret
    assert callback(client, old, run["id"], {"output": "signed with the old one"}).status_code == 200
    # A service not yet given the new secret still takes the platform's requests meanwhile
    service.secret = old
    service.script(Accepted())
    start(client, agent)
    handlers.drain()
    assert [v.ok for v in service.verifications] == [True, True]


def test_an_llm_agent_runs_a_tool_round_and_records_usage_and_steps(
    client: TestClient, handlers: Handlers
) -> None:
    with OpenAIChatServer() as model:
        assert client.put("/api/secrets/model-key", json={"value": "test-key"}).status_code == 201
        model.script(call_tool("recent_runs", {"limit": 5}), say("Nothing has failed lately."))
        agent = client.post(
            "/api/agents",
            json={
                "workspace_id": "ws-1",
                "name": "reviewer",
                "runtime": "llm",
                "config": {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "base_url": model.api_base,
                    "api_key_secret": "model-key",
                    "tools": ["recent_runs"],
                },
            },
        ).json()
        run = start(client, agent, task="Review recent runs").json()
        handlers.drain_until(lambda: run_of(client, run["id"])["status"] == "succeeded", timeout=30)
    done = run_of(client, run["id"])
    assert done["output"] == "Nothing has failed lately."
    assert done["usage"]["requests"] == 2
    assert done["usage"]["tool_calls"] == 1
    assert done["usage"]["input_tokens"] > 0
    kinds = [s["type"] for s in done["steps"]]
    assert kinds.count("model_request") == 2
    assert [s["tool"] for s in done["steps"] if s["type"] == "tool_call"] == ["recent_runs"]


def test_a_run_stopped_by_its_usage_limit_keeps_what_it_spent(client: TestClient, handlers: Handlers) -> None:
    with OpenAIChatServer(default=call_tool("recent_runs", {"limit": 5})) as model:
        assert client.put("/api/secrets/model-key", json={"value": "test-key"}).status_code == 201
        agent = client.post(
            "/api/agents",
            json={
                "workspace_id": "ws-1",
                "name": "looper",
                "runtime": "llm",
                "config": {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "base_url": model.api_base,
                    "api_key_secret": "model-key",
                    "tools": ["recent_runs"],
                    "usage_limits": {"max_requests": 2},
                },
            },
        ).json()
        run = start(client, agent, task="Keep looking").json()
        handlers.drain_until(lambda: run_of(client, run["id"])["status"] == "failed", timeout=30)
        spent = model.total_usage()
    done = run_of(client, run["id"])
    assert done["error"] == "usage limit reached: 2 requests (max_requests=2)"
    assert (done["attempts"], done["usage"]["requests"], done["usage"]["tool_calls"]) == (1, 2, 2)
    assert done["usage"]["input_tokens"] == spent.input_tokens
    # gpt-4o-mini has a published price: what the failed attempt cost is counted too
    assert done["usage"]["cost_usd"] is not None
    assert done["usage"]["cost_usd"] > 0
