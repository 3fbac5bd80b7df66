"""The worker handler fed SQS events: runs execute once, failures are recorded and retried,
and nothing is lost."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from proactive import schedules
from proactive.agents import RunContext, register_runtime
from proactive.agents.runtimes import AgentResult
from proactive.clock import utcnow
from proactive.errors import AgentError
from proactive.models.runs import RunCreate, RunRecord
from proactive.models.schedules import ScheduleCreate
from proactive.queue import MAX_DELAY_SECONDS
from proactive.runs import delegate
from tests.integration.conftest import Aws, Handlers, make_agent


class FlakyRuntime:
    """An agent that fails its first `failures` calls, as a real one does when its API is down."""

    name = "flaky"

    def __init__(self) -> None:
        self.failures = 0
        self.calls = 0

    def validate_config(self, config: Any) -> dict[str, Any]:
        return dict(config)

    def execute(self, agent: Any, task: str, context: RunContext) -> AgentResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise AgentError(f"upstream returned 503 on call {self.calls}")
        return AgentResult(f"done: {task}")


class GateRuntime:
    """An agent that holds its run until the test opens the gate."""

    name = "gate"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def validate_config(self, config: Any) -> dict[str, Any]:
        return dict(config)

    def execute(self, agent: Any, task: str, context: RunContext) -> AgentResult:
        self.entered.set()
        assert self.release.wait(10)
        return AgentResult("released")


@pytest.fixture
def flaky() -> FlakyRuntime:
    runtime = FlakyRuntime()
    register_runtime(runtime)
    return runtime


def delegate_run(aws: Aws, agent_id: str, task: str = "Research AI trends") -> RunRecord:
    return delegate(
        aws.store,
        aws.queue,
        aws.bus,
        RunCreate(workspace_id="ws-1", agent_id=agent_id, task=task),
        requested_by="tester",
        now=utcnow(),
    )


def test_delegated_run_succeeds_with_the_agents_output(aws: Aws, handlers: Handlers) -> None:
    run = delegate_run(aws, make_agent(aws.store))
    assert run.status == "queued"
    handlers.drain()
    done = aws.store.runs.get(run.id)
    assert done.status == "succeeded"
    assert done.attempts == 1
    assert done.output.startswith("Builtin agent 'report-agent' summary of the manual task")
    assert done.started_at <= done.finished_at


def test_redelivered_message_does_not_run_again(aws: Aws, handlers: Handlers, flaky: FlakyRuntime) -> None:
    run = delegate_run(aws, make_agent(aws.store, runtime="flaky"))
    [message] = aws.receive()
    assert handlers.deliver([message])["batchItemFailures"] == []
    assert handlers.deliver([message])["batchItemFailures"] == []  # SQS at-least-once
    assert flaky.calls == 1
    assert aws.store.runs.get(run.id).attempts == 1


def test_agent_failure_is_recorded_and_retried_until_it_succeeds(
    aws: Aws, handlers: Handlers, flaky: FlakyRuntime
) -> None:
    flaky.failures = 2
    run = delegate_run(aws, make_agent(aws.store, runtime="flaky"))
    [message] = aws.receive()
    result = handlers.deliver([message])
    # The attempt is done with (its message is not retried); the next attempt has its own message.
    assert result["batchItemFailures"] == []
    after_first = aws.store.runs.get(run.id)
    assert (after_first.status, after_first.attempts) == ("queued", 1)
    assert "upstream returned 503 on call 1" in after_first.error
    assert after_first.retry_at > after_first.started_at
    handlers.drain_until(lambda: aws.store.runs.get(run.id).status == "succeeded", fast_forward=True)
    final = aws.store.runs.get(run.id)
    assert (final.status, final.attempts, final.error) == ("succeeded", 3, None)
    assert final.output == "done: Research AI trends"
    assert [s["type"] for s in final.steps] == [
        "attempt_started",
        "attempt_failed",
        "attempt_started",
        "attempt_failed",
        "attempt_started",
    ]


def test_agent_that_keeps_failing_ends_failed_with_the_error(
    aws: Aws, handlers: Handlers, flaky: FlakyRuntime
) -> None:
    flaky.failures = 99
    run = delegate_run(aws, make_agent(aws.store, runtime="flaky"))
    handlers.drain_until(lambda: aws.store.runs.get(run.id).status == "failed", fast_forward=True)
    final = aws.store.runs.get(run.id)
    assert (final.status, final.attempts) == ("failed", 3)
    assert final.error == "upstream returned 503 on call 3"
    assert final.reason == "gave up after 3 attempt(s)"
    # Finished: no message is left, none stuck in a retry loop (SQS delays a message 15 minutes
    # at most, so by then any would be due).
    aws.clock.advance(MAX_DELAY_SECONDS + 1)
    assert aws.receive() == []


def test_run_of_a_deleted_agent_fails_with_a_clear_error(aws: Aws, handlers: Handlers) -> None:
    agent_id = make_agent(aws.store)
    run = delegate_run(aws, agent_id)
    aws.store.agents.delete(agent_id)
    handlers.drain()
    final = aws.store.runs.get(run.id)
    assert final.status == "failed"
    assert final.error == f"agent {agent_id!r} no longer exists"


def test_malformed_message_is_reported_failed_not_dropped(aws: Aws, handlers: Handlers) -> None:
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps({"hello": "world"}))
    [message] = aws.receive()
    assert handlers.deliver([message])["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]


def test_occurrence_of_a_schedule_paused_before_it_ran_is_cancelled(aws: Aws, handlers: Handlers) -> None:
    # 20 s before 09:00: saving hands the 09:00 occurrence to the queue (and only that one).
    now = datetime(2026, 5, 1, 8, 59, 40, tzinfo=UTC)
    body = ScheduleCreate(
        name="s",
        workspace_id="ws-1",
        agent_id=make_agent(aws.store),
        task_description="t",
        cron_expression="0 9 * * *",
    )
    sched = schedules.create_schedule(aws.store, aws.queue, aws.bus, body, now)
    schedules.set_active(aws.store, aws.queue, aws.bus, sched.id, False, frozenset({"ws-1"}), now)
    [run] = aws.store.runs.list_runs(
        "ws-1", status=None, source_type="schedule", source_id=sched.id, limit=5, cursor=None
    )[0]
    from proactive import runs

    result = runs.execute(aws.store, aws.queue, aws.bus, run.id, now_fn=lambda: now + timedelta(minutes=1))
    assert result["status"] == "cancelled"
    assert aws.store.runs.get(run.id).reason == "the schedule was paused before this occurrence ran"


def test_overlap_skip_cancels_an_occurrence_while_the_previous_run_is_still_going(
    aws: Aws, handlers: Handlers
) -> None:
    gate = GateRuntime()
    register_runtime(gate)
    start = datetime(2026, 5, 1, 0, 0, 30, tzinfo=UTC)
    body = ScheduleCreate(
        name="s",
        workspace_id="ws-1",
        agent_id=make_agent(aws.store, runtime="gate"),
        task_description="slow report",
        cron_expression="* * * * *",
        overlap="skip",
    )
    sched = schedules.create_schedule(aws.store, aws.queue, aws.bus, body, start)
    handlers.tick(start + timedelta(seconds=30))
    first, second = sorted(
        aws.store.runs.list_runs(
            "ws-1", status=None, source_type="schedule", source_id=sched.id, limit=5, cursor=None
        )[0],
        key=lambda r: r.scheduled_for,
    )
    from proactive import runs

    worker = threading.Thread(target=runs.execute, args=(aws.store, aws.queue, aws.bus, first.id))
    worker.start()
    assert gate.entered.wait(10)
    assert runs.execute(aws.store, aws.queue, aws.bus, second.id)["status"] == "cancelled"
    gate.release.set()
    worker.join(10)
    assert aws.store.runs.get(first.id).status == "succeeded"
    reason = aws.store.runs.get(second.id).reason
    assert reason == f"skipped by overlap=skip: run {first.id} of this schedule was still running"
    # The slot is free again: the next occurrence runs.
    schedule = aws.store.table.get(aws.store.schedules.key(sched.id))
    assert schedule is not None
    assert "active_run_id" not in schedule
    assert schedule["last_run_id"] == first.id


class RendezvousRuntime:
    """Two runs that each finish only once the other has started: possible only when the worker
    performs a batch's records side by side (one record waiting must not hold up another)."""

    name = "rendezvous"

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)

    def validate_config(self, config: Any) -> dict[str, Any]:
        return dict(config)

    def execute(self, agent: Any, task: str, context: RunContext) -> AgentResult:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            raise AgentError("the other run of the batch never started") from None
        return AgentResult(f"met: {task}")


def test_a_batchs_records_are_performed_side_by_side(aws: Aws, handlers: Handlers) -> None:
    register_runtime(RendezvousRuntime())
    agent = make_agent(aws.store, runtime="rendezvous")
    first, second = delegate_run(aws, agent, "first"), delegate_run(aws, agent, "second")
    messages = aws.receive()
    assert len(messages) == 2
    assert handlers.deliver(messages)["batchItemFailures"] == []
    for run in (first, second):
        done = aws.store.runs.get(run.id)
        assert (done.status, done.attempts) == ("succeeded", 1), done.error


def test_message_that_keeps_failing_lands_in_the_dead_letter_queue(aws: Aws, handlers: Handlers) -> None:
    # A message the worker can never process is not retried forever, nor dropped: after the
    # queue's receive limit SQS moves it to the DLQ, where it can be inspected and redriven.
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="not json at all")
    receives = 0
    while handlers.drain():
        receives += 1
        handlers.retry_now()
    assert receives == 5
    [dead] = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert dead["Body"] == "not json at all"
