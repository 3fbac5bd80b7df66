"""Run statistics: each run counted once as it reaches its final status, and
`GET /api/runs/stats` answering a window of them."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive import runs
from proactive.agents import RunContext, register_runtime
from proactive.agents.runtimes import AgentResult, Usage
from proactive.clock import utcnow
from proactive.errors import AgentError
from proactive.models.runs import RunCreate, RunRecord, RunStatus, SourceType
from proactive.store import ConditionFailed
from proactive.store.run_stats import RunStats, hour_of
from tests.integration.conftest import Aws, Handlers, make_agent, token


class MeteredRuntime:
    """An agent that answers at once, reporting what it consumed; a task saying "fail" fails."""

    name = "metered"

    def validate_config(self, config: Any) -> dict[str, Any]:
        return dict(config)

    def execute(self, agent: Any, task: str, context: RunContext) -> AgentResult:
        usage = Usage(requests=1, input_tokens=120, output_tokens=30, cost_usd=0.0015)
        if "fail" in task:
            raise AgentError("the model refused the request", retryable=False, usage=usage)
        return AgentResult(f"done: {task}", usage=usage)


@pytest.fixture
def metered() -> str:
    register_runtime(MeteredRuntime())
    return "metered"


def _delegate(aws: Aws, agent_id: str, task: str, workspace: str = "ws-1") -> RunRecord:
    return runs.delegate(
        aws.store,
        aws.queue,
        aws.bus,
        RunCreate(workspace_id=workspace, agent_id=agent_id, task=task),
        requested_by="tester",
        now=utcnow(),
    )


def _hours(aws: Aws, workspace: str = "ws-1") -> list[Any]:
    now = utcnow()
    return aws.store.run_stats.hours(workspace, now - timedelta(days=8), now + timedelta(hours=1))


def _counted(aws: Aws, workspace: str = "ws-1") -> dict[str, int]:
    counts: dict[str, int] = {}
    for hour in _hours(aws, workspace):
        for status, n in hour.counts.items():
            counts[status] = counts.get(status, 0) + n
    return counts


def test_runs_the_worker_finishes_are_counted_once_even_when_a_message_comes_again(
    aws: Aws, handlers: Handlers, metered: str
) -> None:
    agent = make_agent(aws.store, runtime=metered, name="metered-agent")
    ok = [_delegate(aws, agent, f"report {n}") for n in range(3)]
    bad = _delegate(aws, agent, "fail this one")
    messages = aws.receive()
    assert len(messages) == 4
    handlers.deliver(messages)
    assert {aws.store.runs.get(r.id).status for r in ok} == {"succeeded"}  # type: ignore[union-attr]
    assert aws.store.runs.get(bad.id).status == "failed"  # type: ignore[union-attr]

    # Every message delivered again (SQS delivers at least once): nothing is counted again.
    handlers.deliver(messages)
    assert _counted(aws) == {"succeeded": 3, "failed": 1}
    [hour] = _hours(aws)
    assert hour.agents[agent] == {
        "runs": 4,
        "failed": 1,
        "input_tokens": 480,
        "output_tokens": 120,
        "cost_usd": pytest.approx(0.006),
    }
    assert sum(hour.durations.values()) == 4  # each started, so each has a duration


def test_a_repeated_final_write_counts_nothing_more(aws: Aws) -> None:
    agent = make_agent(aws.store)
    run = _delegate(aws, agent, "a task")
    now = utcnow()
    runs.finish(aws.store, aws.queue, aws.bus, run, RunStatus.CANCELLED, now, reason="by hand")
    # The same write again, from the run as it was read (a retried call, a second caller).
    with pytest.raises(ConditionFailed):
        runs.finish(aws.store, aws.queue, aws.bus, run, RunStatus.CANCELLED, now, reason="by hand")
    assert _counted(aws) == {"cancelled": 1}


def test_a_cancelled_run_and_a_missed_occurrence_stored_twice_count_once(aws: Aws) -> None:
    agent = make_agent(aws.store)
    queued = _delegate(aws, agent, "to be cancelled")
    runs.cancel(aws.store, aws.queue, aws.bus, queued.id, frozenset({"ws-1"}), by="tester", now=utcnow())
    missed = runs.new_run(
        run_id="run_missed_1",
        workspace_id="ws-1",
        agent_id=agent,
        task="nightly",
        source_type=SourceType.SCHEDULE,
        source_id="sched_1",
        now=utcnow(),
        status=RunStatus.MISSED,
    )
    assert aws.store.runs.create(missed)
    assert not aws.store.runs.create(missed)  # the occurrence is claimed once
    assert _counted(aws) == {"cancelled": 1, "missed": 1}
    [hour] = _hours(aws)
    assert hour.durations == {}  # neither started


def test_a_failing_statistics_write_never_fails_the_run(
    aws: Aws, handlers: Handlers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: RunStats, run: RunRecord, *, now: datetime | None = None) -> None:
        raise RuntimeError("throttled")

    monkeypatch.setattr(RunStats, "record", broken)
    agent = make_agent(aws.store)
    run = _delegate(aws, agent, "still runs")
    with caplog.at_level(logging.ERROR):
        handlers.deliver(aws.receive())
    assert aws.store.runs.get(run.id).status == "succeeded"  # type: ignore[union-attr]
    assert "statistics could not be recorded" in caplog.text
    monkeypatch.undo()
    assert _counted(aws) == {}


def _finished(
    aws: Aws,
    agent: str,
    status: str,
    at: datetime,
    seconds: float | None,
    *,
    workspace: str = "ws-1",
    usage: dict[str, Any] | None = None,
) -> None:
    """Count a run that ended `status` at `at`, having run `seconds` (None: never started)."""
    run = RunRecord.model_validate(
        {
            "id": f"run_{status}_{at.timestamp()}_{seconds}",
            "workspace_id": workspace,
            "agent_id": agent,
            "source_type": "manual",
            "status": status,
            "created_at": at,
            "started_at": None if seconds is None else at - timedelta(seconds=seconds),
            "finished_at": at,
            "task": "t",
            "usage": usage,
        }
    )
    aws.store.run_stats.record(run)


@pytest.fixture
def client(aws: Aws) -> Any:
    from tests.apps import api_app

    with TestClient(api_app(), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token('ws-1')}"
        yield c


def test_the_route_answers_the_window_from_the_hourly_counters(aws: Aws, client: TestClient) -> None:
    now = utcnow()
    for n in range(8):
        _finished(
            aws,
            "agt_a",
            "succeeded",
            now - timedelta(minutes=n),
            2.0 + n * 0.1,
            usage={"input_tokens": 100, "output_tokens": 10, "cost_usd": 0.01},
        )
    _finished(aws, "agt_a", "failed", now - timedelta(hours=3), 40.0)
    _finished(aws, "agt_b", "failed", now - timedelta(hours=3), 60.0)
    _finished(aws, "agt_b", "missed", now - timedelta(hours=5), None)
    _finished(aws, "agt_b", "succeeded", now - timedelta(days=3), 1.0)  # in 7d, not in 24h
    _finished(aws, "agt_b", "succeeded", now - timedelta(days=9), 1.0)  # in neither
    _finished(aws, "agt_c", "succeeded", now, 1.0, workspace="ws-2")  # another workspace's

    day = client.get("/api/runs/stats", params={"window": "24h"})
    assert day.status_code == 200, day.text
    shown = day.json()
    assert shown["window"] == "24h"
    assert shown["bucket_seconds"] == 3600
    assert len(shown["buckets"]) == 24
    assert shown["buckets"][-1]["start"].startswith(hour_of(now).strftime("%Y-%m-%dT%H:00:00"))
    assert shown["totals"] == {"succeeded": 8, "failed": 2, "cancelled": 0, "missed": 1, "total": 11}
    assert sum(b["total"] for b in shown["buckets"]) == 11
    assert shown["buckets"][-4]["failed"] + shown["buckets"][-3]["failed"] == 2  # three hours ago
    assert shown["failure_rate"] == pytest.approx(2 / 10)
    assert shown["durations_counted"] == 10
    assert 2.0 / 1.34 <= shown["duration_p50_seconds"] <= 2.7 * 1.34
    assert 40 / 1.34 <= shown["duration_p95_seconds"] <= 60 * 1.34
    assert shown["agents"] == [
        {
            "agent_id": "agt_a",
            "runs": 9,
            "failed": 1,
            "input_tokens": 800,
            "output_tokens": 80,
            "cost_usd": pytest.approx(0.08),
        },
        {"agent_id": "agt_b", "runs": 2, "failed": 1, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0},
    ]

    week = client.get("/api/runs/stats", params={"window": "7d"}).json()
    assert (week["bucket_seconds"], len(week["buckets"])) == (6 * 3600, 28)
    assert week["totals"]["succeeded"] == 9
    assert week["totals"]["total"] == 12
    assert datetime.fromisoformat(week["since"]) == hour_of(now) - timedelta(hours=167)


def test_the_route_with_nothing_counted_and_with_bad_input(client: TestClient) -> None:
    empty = client.get("/api/runs/stats").json()  # the last 24 hours by default
    assert empty["window"] == "24h"
    assert empty["totals"]["total"] == 0
    assert (empty["failure_rate"], empty["duration_p50_seconds"], empty["agents"]) == (None, None, [])

    wrong = client.get("/api/runs/stats", params={"window": "30d"})
    assert wrong.status_code == 422
    assert "window" in wrong.text
    other = client.get("/api/runs/stats", params={"workspace_id": "ws-2"})
    assert other.status_code == 403


def test_the_route_is_documented_and_no_run_is_called_stats(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/runs/stats"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/RunStatistics")
    assert "estimated" in operation["description"]
    fields = document["components"]["schemas"]["RunStatistics"]["properties"]
    assert "histogram" in fields["duration_p50_seconds"]["description"]
    assert {p["name"] for p in operation["parameters"]} >= {"window", "workspace_id"}


def test_an_unreadable_counter_item_is_left_out(aws: Aws, client: TestClient) -> None:
    from proactive.store import keys

    now = utcnow()
    _finished(aws, "agt_a", "succeeded", now, 3.0)
    hour = hour_of(now)
    # A stray item in the partition whose sort key is not an hour, and counters of another shape.
    aws.store.table.put({**keys.run_stats_hour("ws-1", "not-an-hour"), "n_succeeded": 5})
    earlier = (hour - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    aws.store.table.put({**keys.run_stats_hour("ws-1", earlier), "n_unknown": 2, "d_x": 1, "agent#": 3})
    shown = client.get("/api/runs/stats").json()
    assert shown["totals"]["total"] == 1
    assert json.dumps(shown)  # whole and serialisable
    assert shown["durations_counted"] == 1
    assert datetime.fromisoformat(shown["until"]) == hour + timedelta(hours=1)
    assert shown["until"].endswith(("Z", "+00:00"))


def test_counting_many_runs_at_once_adds_what_counting_each_does(aws: Aws) -> None:
    now = utcnow()
    kinds = [("succeeded", 2.0), ("failed", 30.0), ("missed", None), ("succeeded", 0.5), ("cancelled", 4.0)]
    for n, (status, seconds) in enumerate(kinds * 3):
        ago = timedelta(hours=n % 4, minutes=n)
        _finished(
            aws, f"agt_{n % 2}", status, now - ago, seconds, usage={"input_tokens": 10 + n, "cost_usd": 0.001}
        )
    one_by_one = [(h.hour, h.counts, h.durations, h.agents) for h in _hours(aws)]

    runs_again = []
    for n, (status, seconds) in enumerate(kinds * 3):
        at = now - timedelta(hours=n % 4, minutes=n)
        runs_again.append(
            RunRecord.model_validate(
                {
                    "id": f"run_again_{n}",
                    "workspace_id": "ws-9",
                    "agent_id": f"agt_{n % 2}",
                    "source_type": "manual",
                    "status": status,
                    "created_at": at,
                    "started_at": None if seconds is None else at - timedelta(seconds=seconds),
                    "finished_at": at,
                    "task": "t",
                    "usage": {"input_tokens": 10 + n, "cost_usd": 0.001},
                }
            )
        )
    writes = aws.store.run_stats.record_many(runs_again)
    together = [(h.hour, h.counts, h.durations, h.agents) for h in _hours(aws, "ws-9")]
    assert writes == len(together) <= 5  # one write an hour
    assert [t[:3] for t in together] == [o[:3] for o in one_by_one]
    for (_, _, _, summed), (_, _, _, each) in zip(together, one_by_one, strict=True):
        assert summed.keys() == each.keys()
        for agent, fields in summed.items():
            assert fields == pytest.approx(each[agent])
