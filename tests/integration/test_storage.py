"""What the table stores, and so what it costs: indexes that hold keys, a workspace's runs over
several partitions, payloads stored once, idempotency records each in a partition of their own,
runs that end without being written again, and items written in the earlier shapes still read
back."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from proactive import runs, schedules, triggers
from proactive.agents import register_runtime
from proactive.clock import iso
from proactive.models.runs import RunRecord, RunStatus, SourceType
from proactive.models.schedules import ScheduleCreate, ScheduleRecord, ScheduleUpdate
from proactive.models.triggers import TriggerCreate
from proactive.models.webhooks import WebhookCreate, WebhookRecord
from proactive.queue import Message, run_message
from proactive.runs import attempts
from proactive.store import keys
from proactive.store.values import encode_cursor
from proactive.webhooks import crud as webhooks
from tests.integration.conftest import Aws, Handlers, make_agent
from tests.integration.test_worker import GateRuntime

WS = "ws-1"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _run(at: datetime, **extra: Any) -> RunRecord:
    return runs.new_run(
        workspace_id=WS,
        agent_id="agent-x",
        task="Summarise the week",
        source_type=SourceType.MANUAL,
        source_id="tester",
        now=at,
        **extra,
    )


def _stored(aws: Aws, kind: str, item_id: str) -> dict[str, Any]:
    item = aws.store.table.get(keys.entity(kind, item_id))
    assert item is not None
    return item


def _all_pages(aws: Aws, limit: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = aws.store.runs.list_runs(
            WS,
            status=filters.get("status"),
            source_type=None,
            source_id=None,
            limit=limit,
            cursor=cursor,
        )
        assert len(page) <= limit
        seen += [r.id for r in page]
        if cursor is None:
            return seen


# A workspace's runs, over several partitions


def test_a_workspace_s_runs_are_spread_over_shards_and_listed_newest_first_page_by_page(aws: Aws) -> None:
    made = [_run(T0 + timedelta(seconds=i)) for i in range(30)]
    for run in made:
        assert aws.store.runs.create(run)
    partitions = {_stored(aws, "run", r.id)[keys.GSI1PK] for r in made}
    assert len(partitions) > 1
    assert partitions <= set(keys.run_listing_partitions(WS))
    newest_first = [r.id for r in reversed(made)]
    for limit in (1, 7, 30, 100):
        assert _all_pages(aws, limit) == newest_first


def test_a_filtered_run_list_fills_its_pages_across_the_shards(aws: Aws) -> None:
    made = [_run(T0 + timedelta(seconds=i)) for i in range(24)]
    for i, run in enumerate(made):
        if i % 3 == 0:
            run.status = RunStatus.FAILED.value
        aws.store.runs.create(run)
    failed = [r.id for r in reversed(made) if r.status == RunStatus.FAILED.value]
    assert _all_pages(aws, 3, status="failed") == failed


def test_runs_listed_before_the_shards_are_merged_in_and_an_earlier_cursor_still_works(aws: Aws) -> None:
    new = [_run(T0 + timedelta(seconds=2 * i)) for i in range(6)]
    for run in new:
        aws.store.runs.create(run)
    # A run as it was written before: one listing partition, its payload inside.
    old = _run(T0 + timedelta(seconds=5))
    aws.store.table.put(
        {
            **keys.entity("run", old.id),
            "kind": "run",
            **keys.workspace_listing("run", WS, iso(old.created_at), old.id),
            **old.as_stored(),
            "payload_json": json.dumps({"n": 10**30}),
            "version": 1,
        }
    )
    order = sorted([*new, old], key=lambda r: r.created_at, reverse=True)
    assert _all_pages(aws, 2) == [r.id for r in order]
    shown = aws.store.runs.get(old.id)
    assert shown is not None
    assert shown.payload == {"n": 10**30}
    # A cursor given out by the one-partition list continues below the run it names.
    earlier = encode_cursor(
        {
            keys.PK: keys.entity("run", old.id)[keys.PK],
            keys.SK: keys.entity("run", old.id)[keys.SK],
            **keys.workspace_listing("run", WS, iso(old.created_at), old.id),
        }
    )
    page, _ = aws.store.runs.page(WS, limit=10, cursor=earlier)
    assert [r.id for r in page] == [r.id for r in order if r.created_at < old.created_at]


def test_the_run_list_through_the_api_pages_over_the_shards(client: Any, aws: Aws) -> None:
    made = [_run(T0 + timedelta(seconds=i)) for i in range(9)]
    for run in made:
        aws.store.runs.create(run)
    seen, cursor = [], None
    while True:
        answer = client.get("/api/runs", params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        seen += [r["id"] for r in answer["items"]]
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert seen == [r.id for r in reversed(made)]


# Indexes hold keys


def test_no_index_holds_copies_of_items() -> None:
    definition = keys.table_definition("t")
    projections = {i["IndexName"]: i["Projection"] for i in definition["GlobalSecondaryIndexes"]}
    assert projections[keys.GSI1] == {"ProjectionType": "KEYS_ONLY"}
    assert projections[keys.DUE_INDEX] == {"ProjectionType": "KEYS_ONLY"}
    assert projections[keys.GSI2] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(keys.HOOK_FIELDS)}


def test_a_listing_shows_whole_items_and_leaves_out_those_no_longer_listed_there(aws: Aws) -> None:
    agent = make_agent(aws.store)
    data = {"name": "chain", "workspace_id": WS, "trigger_type": "event", "agent_id": agent}
    listening = [
        triggers.create_trigger(
            aws.store,
            TriggerCreate(**data, config={"event": "run.finished"}, task_template="again"),  # type: ignore[arg-type]
            T0,
        )
        for _ in range(2)
    ]
    assert {t["id"] for t in aws.store.triggers.listening(WS, "run.")} == {t["id"] for t in listening}
    assert aws.store.triggers.listening(WS, "run.")[0]["task_template"] == "again"
    assert aws.store.triggers.any_listening(WS, "run.")
    # Off: its index entry goes, and whatever the index still says, the item is not listed.
    current = aws.store.triggers.get(listening[0]["id"])
    assert current is not None
    aws.store.triggers.change(current, {"is_active": False})
    assert [t["id"] for t in aws.store.triggers.listening(WS, "run.")] == [listening[1]["id"]]
    assert (
        aws.store.table.listed(
            [{**_stored(aws, "trigger", listening[0]["id"]), keys.GSI2PK: "x"}], index=keys.GSI2
        )
        == []
    )


# Payloads stored once


def _hook(aws: Aws) -> WebhookRecord:
    trigger = triggers.create_trigger(
        aws.store,
        TriggerCreate(
            name="deploys",
            workspace_id=WS,
            trigger_type="webhook",
            agent_id=make_agent(aws.store),
            task_template="Summarise deploy {event}",
        ),
        T0,
    )
    return webhooks.create_webhook(
        aws.store,
        WebhookCreate(
            workspace_id=WS, name="deploys", trigger_id=trigger["id"], signature_scheme="hmac-sha256"
        ),
        T0,
    )


def _signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-signature": f"sha256={digest}"}


def test_a_delivery_s_payload_is_stored_once_and_its_run_refers_to_it(aws: Aws, handlers: Handlers) -> None:
    hook = _hook(aws)
    payload = {"event": "deploy", "log": "x" * 25_000, "big": 10**40}
    body = json.dumps(payload).encode()
    code, answer, _ = handlers.post_hook(hook.url_path, body, _signed(hook.secret, body))
    assert code == 202, answer
    handlers.drain()
    delivery = aws.store.deliveries.get(answer["delivery_id"])
    assert delivery is not None
    assert delivery.run_id
    run = aws.store.runs.get(delivery.run_id)
    assert run is not None
    assert (run.status, run.payload, delivery.payload) == ("succeeded", payload, payload)
    raw_run, raw_delivery = _stored(aws, "run", run.id), _stored(aws, "delivery", delivery.id)
    assert "payload_json" not in raw_run
    assert "payload_json" not in raw_delivery
    assert raw_run["payload_ref"] == raw_delivery["payload_ref"]
    # The run and the delivery stay small whatever the payload: their writes cost their own size.
    assert len(json.dumps(raw_run)) < 1500
    assert len(json.dumps(raw_delivery)) < 1000
    stored = aws.store.table.get(keys.payload(raw_run["payload_ref"]))
    assert stored is not None
    assert json.loads(stored["json"]) == payload
    assert stored[keys.TTL_ATTRIBUTE] >= raw_run[keys.TTL_ATTRIBUTE]  # kept as long as the run
    page, _ = aws.store.deliveries.page(hook.id, limit=10, cursor=None)
    assert page[0].payload == payload
    listed, _ = aws.store.runs.page(WS, limit=10, cursor=None)
    assert listed[0].payload == payload


def test_a_run_s_own_payload_is_stored_beside_it_and_a_replay_reads_it(aws: Aws) -> None:
    run = _run(T0, payload={"value": 151.5, "named": {"price": 151.5}})
    aws.store.runs.create(run)
    raw = _stored(aws, "run", run.id)
    assert "payload_json" not in raw
    assert raw["payload_ref"] == run.id
    shown = aws.store.runs.get(run.id)
    assert shown is not None
    assert shown.payload == run.payload
    assert "payload_ref" not in shown
    without = _run(T0 + timedelta(seconds=1))
    aws.store.runs.create(without)
    assert "payload_ref" not in _stored(aws, "run", without.id)
    assert aws.store.table.get(keys.payload(without.id)) is None


def test_a_delivery_stored_with_its_payload_inside_still_reads_back_and_runs(
    aws: Aws, handlers: Handlers
) -> None:
    hook = _hook(aws)
    payload = {"event": "rollback", "n": 10**30}
    delivery = {
        "id": "dlv-old",
        "webhook_id": hook.id,
        "workspace_id": WS,
        "trigger_id": hook.trigger_id,
        "received_at": "2026-06-01T12:00:00.000000Z",
        "status": "accepted",
        "reason": None,
        "run_id": None,
        "delivery_key": "k-1",
        "event": None,
    }
    aws.store.table.put(
        {
            **keys.entity("delivery", "dlv-old"),
            "kind": "delivery",
            **keys.child_listing("webhook", hook.id, "delivery", delivery["received_at"], "dlv-old"),
            **delivery,
            "payload_json": json.dumps(payload),
        }
    )
    page, _ = aws.store.deliveries.page(hook.id, limit=10, cursor=None)
    assert page[0].payload == payload
    aws.queue.send([Message("delivery", "dlv-old")])
    handlers.drain()
    shown = aws.store.deliveries.get("dlv-old")
    assert shown is not None
    run = aws.store.runs.get(shown.run_id)
    assert run is not None
    assert (run.status, run.task, run.payload) == ("succeeded", "Summarise deploy rollback", payload)


# Idempotency records


def test_each_idempotency_record_is_a_partition_of_its_own_and_runs_need_none(
    aws: Aws, handlers: Handlers
) -> None:
    agent = make_agent(aws.store)
    made = runs.delegate(
        aws.store,
        aws.queue,
        aws.bus,
        runs_model(WS, agent),
        requested_by="tester",
        now=datetime.now(UTC),
    )
    # A callback timer keeps its record; a run's attempt guards itself and has none.
    aws.queue.send([run_message(made.id, 0, attempt=1, wake="callback", until="x")])
    handlers.drain()
    assert aws.store.runs.get(made.id).status == "succeeded"  # type: ignore[union-attr]
    found = [
        item
        for page in aws.store.table.client.get_paginator("scan").paginate(TableName=aws.store.table.name)
        for item in page["Items"]
        if item[keys.PK]["S"].startswith("IDEMPOTENCY#")
    ]
    assert len(found) == 1
    assert found[0][keys.PK]["S"].startswith("IDEMPOTENCY#worker#")
    assert found[0][keys.SK]["S"] == "IDEMPOTENCY"
    # A second delivery of that message finds its record, done.
    aws.queue.send([run_message(made.id, 0, attempt=1, wake="callback", until="x")])
    handlers.drain()
    assert handlers.in_flight == []


def runs_model(workspace: str, agent: str) -> Any:
    from proactive.models.runs import RunCreate

    return RunCreate(workspace_id=workspace, agent_id=agent, task="Check the queue")


# Writes a run's life saves


class _Writes:
    """UpdateItem calls a client makes, by the key's partition (until `stop`: the tests' clients
    outlive a test)."""

    EVENT = "before-parameter-build.dynamodb.UpdateItem"

    def __init__(self, client: Any) -> None:
        self.by_pk: Counter[str] = Counter()
        self._client = client
        client.meta.events.register(self.EVENT, self._count)

    def stop(self) -> None:
        self._client.meta.events.unregister(self.EVENT, self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.by_pk[params["Key"][keys.PK]["S"]] += 1


def test_a_run_nobody_is_told_of_is_not_written_again_once_it_ended(aws: Aws) -> None:
    agent = make_agent(aws.store)
    run = runs.delegate(
        aws.store, aws.queue, aws.bus, runs_model(WS, agent), requested_by="t", now=datetime.now(UTC)
    )
    writes = _Writes(aws.store.table.client)
    runs.execute(aws.store, aws.queue, aws.bus, run.id)
    writes.stop()
    raw = _stored(aws, "run", run.id)
    assert raw["status"] == "succeeded"
    assert "pending_events" not in raw
    assert writes.by_pk[keys.entity("run", run.id)[keys.PK]] == 2  # its start and its end


def test_a_run_whose_end_is_listened_for_still_tells_it(aws: Aws) -> None:
    agent = make_agent(aws.store)
    chained = triggers.create_trigger(
        aws.store,
        TriggerCreate(
            name="after",
            workspace_id=WS,
            trigger_type="event",
            agent_id=agent,
            config={"event": "run.succeeded"},
            task_template="follow up on {run_id}",
        ),
        T0,
    )
    run = runs.delegate(
        aws.store, aws.queue, aws.bus, runs_model(WS, agent), requested_by="t", now=datetime.now(UTC)
    )
    runs.execute(aws.store, aws.queue, aws.bus, run.id)
    assert "pending_events" not in _stored(aws, "run", run.id)
    followed, _ = aws.store.runs.list_runs(
        WS, status=None, source_type="trigger", source_id=chained["id"], limit=5, cursor=None
    )
    assert [r.task for r in followed] == [f"follow up on {run.id}"]


def _hourly(aws: Aws, start: datetime, *, runtime: str = "builtin") -> ScheduleRecord:
    body = ScheduleCreate(
        name="hourly",
        workspace_id=WS,
        agent_id=make_agent(aws.store, runtime=runtime),
        task_description="Hourly report",
        cron_expression="0 * * * *",
        overlap="skip",
    )
    return schedules.create_schedule(aws.store, aws.queue, aws.bus, body, start)


def _occurrence(aws: Aws, schedule_id: str, fire: datetime) -> RunRecord:
    found, _ = aws.store.runs.list_runs(
        WS, status=None, source_type="schedule", source_id=schedule_id, limit=50, cursor=None
    )
    [run] = [r for r in found if r.scheduled_for == fire]
    return run


def test_a_run_leaves_its_slot_to_lapse_and_a_finished_holder_s_slot_is_taken_over(
    aws: Aws, handlers: Handlers
) -> None:
    schedule = _hourly(aws, T0 - timedelta(hours=1))
    handlers.tick(T0 - timedelta(seconds=30))
    first = _occurrence(aws, schedule.id, T0)
    assert runs.execute(aws.store, aws.queue, aws.bus, first.id, now_fn=lambda: T0)["status"] == "succeeded"
    # Its lease lapses before the next occurrence: the slot is not written again to free it.
    assert _stored(aws, "schedule", schedule.id)["active_run_id"] == first.id
    # Made to fire every minute: the next occurrence comes while that lease still holds, and
    # takes the slot over from the finished run.
    schedules.update_schedule(
        aws.store,
        aws.queue,
        aws.bus,
        schedule.id,
        ScheduleUpdate(cron_expression="* * * * *"),
        frozenset({WS}),
        T0 + timedelta(seconds=10),
    )
    handlers.tick(T0 + timedelta(seconds=30))
    fire = T0 + timedelta(minutes=1)
    second = _occurrence(aws, schedule.id, fire)
    assert (
        runs.execute(aws.store, aws.queue, aws.bus, second.id, now_fn=lambda: fire)["status"] == "succeeded"
    )
    assert _stored(aws, "schedule", schedule.id)["last_run_id"] == second.id


def test_a_delivery_that_loses_the_run_to_another_leaves_it_the_slot(aws: Aws, handlers: Handlers) -> None:
    gate = GateRuntime()
    register_runtime(gate)
    schedule = _hourly(aws, T0 - timedelta(hours=1), runtime="gate")
    handlers.tick(T0 - timedelta(seconds=30))
    queued = _occurrence(aws, schedule.id, T0)
    now = datetime.now(UTC)
    holder = threading.Thread(target=runs.execute, args=(aws.store, aws.queue, aws.bus, queued.id))
    holder.start()
    try:
        assert gate.entered.wait(10)
        # A second delivery that read the run while it was still queued loses its start ...
        assert attempts._attempt(aws.store, aws.queue, aws.bus, queued, now, lambda: now)["status"] == "taken"
        # ... and leaves the slot to the attempt going on.
        assert _stored(aws, "schedule", schedule.id)["active_run_id"] == queued.id
    finally:
        gate.release.set()
        holder.join(10)
    assert aws.store.runs.get(queued.id).status == "succeeded"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kind", "extra", "keyed"),
    [
        ("run", {}, False),
        ("run", {"attempt": 2}, False),
        ("run", {"attempt": 1, "wake": "callback", "until": "x"}, True),
        ("delivery", {}, False),
        ("check", {}, True),
        ("notification", {"attempt": 1}, True),
    ],
)
def test_work_that_guards_itself_has_no_idempotency_key(
    kind: str, extra: dict[str, Any], keyed: bool
) -> None:
    from proactive.wiring import WORK_KINDS

    assert (WORK_KINDS[kind].idempotency_key("x-1", extra) is not None) is keyed
