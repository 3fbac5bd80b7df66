"""The dispatcher handler driven by scheduled events at chosen clocks: on time, exactly once,
right across DST, and nothing lost after downtime."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import proactive.aws
from proactive import schedules
from proactive.clock import iso
from proactive.dev.local import LocalContext, load_handler, scheduled_event
from proactive.models.schedules import ScheduleCreate, ScheduleRecord
from proactive.queue import RunQueue
from proactive.settings import get_settings
from proactive.store import Store
from tests.integration.conftest import Aws, Handlers, make_agent
from tests.mockaws import mocked_aws


def create(aws: Aws, now: datetime, cron: str, tz: str = "UTC", **extra: Any) -> ScheduleRecord:
    body = ScheduleCreate(
        name="Daily Report",
        workspace_id="ws-1",
        agent_id=make_agent(aws.store),
        task_description="Generate daily metrics report",
        cron_expression=cron,
        timezone=tz,
        **extra,
    )
    return schedules.create_schedule(aws.store, aws.queue, aws.bus, body, now)


def next_fire(aws: Aws, schedule_id: str) -> str | None:
    """The schedule's next fire time as the table holds it."""
    schedule = aws.store.schedules.get(schedule_id)
    assert schedule is not None
    return iso(schedule.next_fire_at) if schedule.next_fire_at else None


def runs_of(aws: Aws, schedule_id: str) -> list[dict[str, Any]]:
    """The schedule's runs as the table holds them (times as their stored text)."""
    items, _ = aws.store.runs.list_runs(
        "ws-1", status=None, source_type="schedule", source_id=schedule_id, limit=1000, cursor=None
    )
    return sorted((r.as_stored() for r in items), key=lambda r: r["scheduled_for"])


def tick_every_minute(handlers: Handlers, start: datetime, end: datetime) -> None:
    t = start
    while t <= end:
        handlers.tick(t)
        t += timedelta(minutes=1)


def test_occurrence_is_queued_one_tick_ahead_with_the_delay_left(aws: Aws, handlers: Handlers) -> None:
    # Given a 09:00 New York schedule, when the 08:59 tick runs, the 09:00 occurrence is
    # queued then, not a minute late at the 09:00 tick.
    sched = create(aws, datetime(2026, 6, 1, 14, tzinfo=UTC), "0 9 * * *", "America/New_York")
    summary = handlers.tick(datetime(2026, 6, 2, 12, 59, tzinfo=UTC))
    assert summary["queued"] == 1
    [run] = runs_of(aws, sched.id)
    assert run["scheduled_for"] == "2026-06-02T13:00:00.000000Z"
    assert run["status"] == "queued"
    assert aws.queued_run_ids() == [run["id"]]
    assert next_fire(aws, sched.id) == "2026-06-03T13:00:00.000000Z"


def test_retried_and_stale_ticks_never_start_a_second_run(aws: Aws, handlers: Handlers) -> None:
    sched = create(aws, datetime(2026, 6, 1, 12, tzinfo=UTC), "*/5 * * * *")
    stale_view = aws.store.schedules.get(sched.id)
    now = datetime(2026, 6, 1, 12, 4, tzinfo=UTC)
    handlers.tick(now)
    handlers.tick(now)  # a retried invocation of the same tick
    handlers.tick(now + timedelta(minutes=1))  # the next tick, whose window overlaps
    # A tick that read the schedule before it advanced re-sends but cannot create a run.
    result = schedules.dispatch(aws.store, aws.queue, aws.bus, stale_view, now)
    assert result.queued == []
    runs = runs_of(aws, sched.id)
    assert [r["scheduled_for"] for r in runs] == ["2026-06-01T12:05:00.000000Z"]
    # The duplicate messages reach the worker, which executes the run once.
    handlers.drain()
    run = aws.store.runs.get(runs[0]["id"])
    assert (run.status, run.attempts) == ("succeeded", 1)


def test_fall_back_repeated_time_runs_once(aws: Aws, handlers: Handlers) -> None:
    # 01:30 occurs twice in New York on 2026-11-01. Ticking every minute through the night
    # yields exactly one run, at the first 01:30 (EDT).
    sched = create(aws, datetime(2026, 10, 31, 12, tzinfo=UTC), "30 1 * * *", "America/New_York")
    tick_every_minute(
        handlers, datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    )
    assert [r["scheduled_for"] for r in runs_of(aws, sched.id)] == ["2026-11-01T05:30:00.000000Z"]
    assert next_fire(aws, sched.id) == "2026-11-02T06:30:00.000000Z"


def test_spring_forward_missing_time_runs_once_after_the_gap(aws: Aws, handlers: Handlers) -> None:
    # 02:30 does not exist in New York on 2026-03-08: one run at 03:00 EDT (07:00 UTC).
    sched = create(aws, datetime(2026, 3, 7, 12, tzinfo=UTC), "30 2 * * *", "America/New_York")
    tick_every_minute(
        handlers, datetime(2026, 3, 8, 6, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    )
    assert [r["scheduled_for"] for r in runs_of(aws, sched.id)] == ["2026-03-08T07:00:00.000000Z"]


@pytest.mark.parametrize(
    ("policy", "expected_run", "expected_missed"),
    [
        ("latest", ["01:00"], ["00:10", "00:20", "00:30", "00:40", "00:50"]),
        ("all", ["00:10", "00:20", "00:30", "00:40", "00:50", "01:00"], []),
        ("skip", [], ["00:10", "00:20", "00:30", "00:40", "00:50", "01:00"]),
    ],
)
def test_downtime_follows_catch_up_and_records_every_missed_occurrence(
    aws: Aws, handlers: Handlers, policy: str, expected_run: list[str], expected_missed: list[str]
) -> None:
    # Given a schedule every 10 minutes and no dispatcher from 00:00 to 01:05 (downtime),
    # when the dispatcher comes back, each missed occurrence is run or recorded as missed.
    sched = create(aws, datetime(2026, 5, 1, 0, 0, 30, tzinfo=UTC), "*/10 * * * *", catch_up=policy)
    summary = handlers.tick(datetime(2026, 5, 1, 1, 5, tzinfo=UTC))
    runs = runs_of(aws, sched.id)
    queued = [r["scheduled_for"][11:16] for r in runs if r["status"] == "queued"]
    missed = [r for r in runs if r["status"] == "missed"]
    assert queued == expected_run
    assert [r["scheduled_for"][11:16] for r in missed] == expected_missed
    assert all(f"catch_up={policy}" in r["reason"] for r in missed)
    assert summary["missed"] == len(expected_missed)
    assert next_fire(aws, sched.id) == "2026-05-01T01:10:00.000000Z"


def test_long_downtime_is_caught_up_in_bounded_chunks_without_losing_any(
    aws: Aws, handlers: Handlers
) -> None:
    limit = get_settings().max_catch_up_per_tick
    sched = create(aws, datetime(2026, 5, 1, 0, 0, 30, tzinfo=UTC), "* * * * *")
    back = datetime(2026, 5, 1, 0, 0, 30, tzinfo=UTC) + timedelta(minutes=2 * limit + 30)
    ticks = 0
    while next_fire(aws, sched.id) < back.strftime("%Y-%m-%dT%H:%M"):
        handlers.tick(back)
        ticks += 1
    runs = runs_of(aws, sched.id)
    assert ticks == 3
    fires = [r["scheduled_for"] for r in runs]
    assert len(fires) == len(set(fires)) == 2 * limit + 30 + 1
    queued = [r["scheduled_for"][11:16] for r in runs if r["status"] == "queued"]
    # 00:01 was handed off when the schedule was saved; 03:48 is the latest missed one;
    # 03:49 and 03:50 are late by less than the missed threshold; 03:51 is due in this window.
    assert queued == ["00:01", "03:48", "03:49", "03:50", "03:51"]


def test_late_tick_runs_recent_occurrences_rather_than_calling_them_missed(
    aws: Aws, handlers: Handlers
) -> None:
    # A tick that starts 40 s late (cold start, throttling) is not downtime.
    sched = create(aws, datetime(2026, 5, 1, 0, 0, 30, tzinfo=UTC), "* * * * *", catch_up="skip")
    handlers.tick(datetime(2026, 5, 1, 0, 1, 40, tzinfo=UTC))
    assert {r["status"] for r in runs_of(aws, sched.id)} == {"queued"}


def test_saving_just_before_a_fire_hands_the_occurrence_to_the_queue(aws: Aws) -> None:
    # Created 20 s before its first fire: the next tick would be too late, so saving queues it.
    sched = create(aws, datetime(2026, 5, 1, 8, 59, 40, tzinfo=UTC), "0 9 * * *")
    [run] = runs_of(aws, sched.id)
    assert run["scheduled_for"] == "2026-05-01T09:00:00.000000Z"
    assert next_fire(aws, sched.id) == "2026-05-02T09:00:00.000000Z"


def test_tick_reads_only_due_items(aws: Aws, handlers: Handlers) -> None:
    make_agent(aws.store)
    for i in range(30):
        create(aws, datetime(2026, 5, 1, 0, 0, tzinfo=UTC), f"{i} 12 * * *")
    summary = handlers.tick(datetime(2026, 5, 1, 11, 59, 30, tzinfo=UTC))
    # Only the 12:00 schedule is due in the window (to 12:00:35); 29 others exist.
    assert (summary["due"], summary["queued"]) == (1, 1)


def test_paused_schedule_is_not_due(aws: Aws, handlers: Handlers) -> None:
    sched = create(aws, datetime(2026, 5, 1, 0, 0, tzinfo=UTC), "*/5 * * * *", is_active=False)
    assert sched.next_fire_at is None
    assert handlers.tick(datetime(2026, 5, 1, 0, 4, tzinfo=UTC))["due"] == 0
    assert runs_of(aws, sched.id) == []


def test_a_tick_fans_out_one_invocation_per_shard_and_each_dispatches_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with mocked_aws("fanout", DUE_SHARDS="8", DISPATCH_FANOUT="lambda"):
        # Given 40 or more half-hourly schedules spread over all 8 shards of the due index
        store = Store()
        aws = Aws(store, RunQueue(), None, "", "", "")
        now = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
        ids = [create(aws, now, "*/30 * * * *").id for _ in range(40)]
        while len({store.due.attributes(i, now)["due_pk"] for i in ids}) < 8:
            ids.append(create(aws, now, "*/30 * * * *").id)  # random ids: fill every shard
        dispatcher = load_handler("dispatcher", instance="_fanout")

        # When the scheduled tick arrives, it starts one asynchronous invocation per shard
        lambda_client = boto3.client("lambda", region_name="us-east-1")  # a client of its own: it is stubbed
        invoked: list[dict[str, Any]] = []
        lambda_client.meta.events.register(
            "provide-client-params.lambda.Invoke", lambda params, **_: invoked.append(dict(params))
        )
        make_client = proactive.aws.client
        monkeypatch.setattr(
            proactive.aws,
            "client",
            lambda service: lambda_client if service == "lambda" else make_client(service),
        )
        with Stubber(lambda_client) as stub:
            for _ in range(8):
                stub.add_response("invoke", {"StatusCode": 202})
            result = dispatcher.handler(scheduled_event(datetime(2026, 6, 1, 12, 29, tzinfo=UTC)), CONTEXT)
            stub.assert_no_pending_responses()
        assert result["fanned_out"] == 8
        assert {(p["FunctionName"], p["InvocationType"]) for p in invoked} == {
            ("DispatcherFunction", "Event")
        }
        payloads = [json.loads(p["Payload"]) for p in invoked]
        assert sorted(p["shard"] for p in payloads) == list(range(8))
        assert runs_for(store, ids) == []

        # Then each shard's invocation dispatches the occurrences of its own shard, exactly once
        counts = [dispatcher.handler(p, CONTEXT)["queued"] for p in payloads]
        assert sum(counts) == len(ids)
        assert all(count > 0 for count in counts)
        assert [dispatcher.handler(p, CONTEXT)["queued"] for p in payloads] == [0] * 8
        assert len(runs_for(store, ids)) == len(ids)


CONTEXT = LocalContext("DispatcherFunction")


def runs_for(store: Store, schedule_ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for sid in schedule_ids:
        items, _ = store.runs.list_runs(
            "ws-1", status=None, source_type="schedule", source_id=sid, limit=100, cursor=None
        )
        found.extend(items)
    return found
