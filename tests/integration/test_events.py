"""Platform events survive a worker that dies between a change and the delivery of its events."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from proactive import events
from proactive.dev.local import LocalContext, sqs_event
from tests.integration.conftest import Aws, Handlers


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing in the worker may catch it."""


def _chain_setup(client: TestClient) -> tuple[str, str]:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "researcher"}).json()["id"]
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "After a manual run",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "config": {"event": "run.succeeded", "source_type": "manual"},
            "agent_id": agent,
            "task_template": "Follow up on run {run_id}",
        },
    ).json()["id"]
    return agent, trigger


def _chained_runs(client: TestClient, trigger_id: str) -> list[dict[str, object]]:
    params = {"source_type": "trigger", "source_id": trigger_id}
    return list(client.get("/api/runs", params=params).json()["items"])


def test_worker_killed_before_delivering_events_still_chains_exactly_once(
    client: TestClient, handlers: Handlers, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an event trigger on successful manual runs, and a manual run waiting in the queue
    agent, trigger = _chain_setup(client)
    body = {"workspace_id": "ws-1", "agent_id": agent, "task": "Research"}
    first = client.post("/api/runs", json=body).json()
    [message] = aws.receive()

    # When the worker dies right after recording the run's success, before delivering its events
    delivered = events.Bus.deliver

    def die(*args: object, **kwargs: object) -> None:
        raise WorkerKilled

    monkeypatch.setattr(events.Bus, "deliver", die)
    with pytest.raises(WorkerKilled):
        # No time left on the invocation: its idempotency claim lapses as a dead worker's would.
        handlers.worker.handler(sqs_event([message], aws.queue_arn), LocalContext("WorkerFunction", 0))
    monkeypatch.setattr(events.Bus, "deliver", delivered)

    # Then the run has succeeded, and nothing was chained yet
    assert client.get(f"/api/runs/{first['id']}").json()["status"] == "succeeded"
    assert _chained_runs(client, trigger) == []

    # When SQS delivers the message again after its visibility timeout, and a duplicate of it later
    aws.sqs.change_message_visibility(
        QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    handlers.drain()
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=message["Body"])
    handlers.drain()
    assert handlers.in_flight == []

    # Then the chained run happened exactly once, and succeeded
    chained = _chained_runs(client, trigger)
    assert len(chained) == 1
    assert chained[0]["task"] == f"Follow up on run {first['id']}"
    assert chained[0]["status"] == "succeeded"
    stored = aws.store.runs.get(first["id"])
    assert stored is not None
    assert "pending_events" not in stored


def test_a_subscriber_that_fails_leaves_the_event_pending_and_the_retry_delivers_it(
    client: TestClient, handlers: Handlers, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an event trigger and a manual run, and an event delivery that fails once
    agent, trigger = _chain_setup(client)
    body = {"workspace_id": "ws-1", "agent_id": agent, "task": "Research"}
    first = client.post("/api/runs", json=body).json()
    delivered = events.Bus.deliver
    calls = []

    def flaky(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("the queue did not answer")
        delivered(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(events.Bus, "deliver", flaky)

    # When the worker runs it: the run succeeds but its message fails, so SQS retries it
    handlers.drain()
    assert client.get(f"/api/runs/{first['id']}").json()["status"] == "succeeded"
    assert len(handlers.in_flight) == 1
    handlers.retry_now()
    handlers.drain()

    # Then the retry delivered the event: one chained run
    assert len(_chained_runs(client, trigger)) == 1
