"""What each operation costs in AWS: DynamoDB write and read units, Lambda GB-seconds, and
dollars per million operations at list prices; then a month of a small team and of a million
scheduled runs a day.

Each operation runs through the real handlers (the dispatcher, the worker, webhook ingest, the
API) on moto in-process. Every DynamoDB call they make is recorded with a botocore event hook,
and its units are worked out from the items it actually wrote and read, as DynamoDB bills
on-demand:

- A write costs ceil(item size / 1 KB) in the table (the larger of the item before and after, for
  a put over an item or an update; the item itself for a delete), plus, for each secondary index
  the item is in before or after, ceil(projected size / 1 KB): twice (a delete and a put) when the
  write changes the item's key in that index, and nothing when the write leaves the index entry
  as it was (its keys and projected attributes unchanged: DynamoDB writes an index only when
  what it projects changes). A transaction's writes cost twice in the table (prepare and commit;
  the index entries are written after the commit, as any others). A conditional write that fails
  costs its item's size in the table.
- A read: GetItem ceil(size / 4 KB); BatchGetItem the same per item; Query and Scan the summed
  size of the items read (before any filter: what DynamoDB reads, not what it returns), rounded
  up to 4 KB, per call. Eventually consistent reads cost half. A read that finds nothing costs
  one unit (half).
- Item size: the UTF-8 length of each attribute's name and value; a number one byte per two
  significant digits plus one; true, false and null one byte; a list or map 3 bytes plus one per
  element (and its key's length). An index entry holds the table's keys, the index's keys and
  the attributes the index projects.

To see an item before and after a write, the hook reads it through a client of its own, which
is not recorded.

Lambda: each invocation's wall time on this machine (moto in-process answers a call in about a
millisecond, where DynamoDB takes a few; an agent on loopback answers at once), rounded up to
the millisecond as Lambda bills, times the function's MemorySize in template.yaml. The figures
are this machine's; in AWS, calls take longer and cores differ, so read the GB-s as an order of
magnitude. A scheduled run's worker time includes the wait for its due time (an SQS delay is
whole seconds, so the message comes a little early and the worker waits out the rest), measured
here in real time: the message is handed to the worker the moment its delay ends.

What the dispatcher does for one occurrence (or one monitor check) is the difference between a
tick that claims some and an idle tick, divided by their number; every minute's tick is counted
once, at an idle tick's cost. SQS: each message sent is one request per 64 KB chunk, and the
event source mapping's receive and delete are counted as one request each per message (as if
each came in a batch of its own, the most it costs). A webhook delivery and a conversation's turn
also pass the HTTP API (one request each).

The table printed: WU (write units; "(index)" the part of them index entries take), RU (read
units), GB-s, and $ per million operations. `BENCH_COST_DETAIL=1` prints every recorded call of
each operation, with its units and the items it wrote.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import math
import os
import re
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import quiet

REPEATS = int(os.environ.get("BENCH_RUNS", "3"))
# Occurrences (and checks) claimed by one measured tick; what the tick adds is shared by them.
CLAIMED = int(os.environ.get("BENCH_COST_CLAIMED", "4"))
WS = "ws-cost"
# Set to print every recorded call of each operation, with its units.
DETAIL = bool(os.environ.get("BENCH_COST_DETAIL"))

# List prices, us-east-1, since 2024-11-01 (on-demand DynamoDB, Lambda on arm64, SQS standard,
# HTTP API), written once here.
PRICE_PER_WRITE_UNIT = 0.625 / 1e6
PRICE_PER_READ_UNIT = 0.125 / 1e6
PRICE_PER_GB_SECOND = 0.0000133334
PRICE_PER_LAMBDA_REQUEST = 0.20 / 1e6
PRICE_PER_SQS_REQUEST = 0.40 / 1e6  # each 64 KB chunk of a request's payload is a request
PRICE_PER_HTTP_API_REQUEST = 1.00 / 1e6  # webhook deliveries and API calls pass API Gateway
# (Step Functions is not used by any of these operations: only the goal loop runs there.)
SQS_CHUNK = 64 * 1024

# The small team's month: what happens each day.
DAYS_A_MONTH = 30
TICKS_A_DAY = 24 * 60
TURNS_PER_CONVERSATION = 10
TEAM_DAY = {
    "scheduled run": 50 * 24,
    "webhook delivery, 1 KB": 1000,
    "monitor check": 10 * 24 * 12,
    "conversation turn": 5 * TURNS_PER_CONVERSATION,
}
LARGE_DAY = {"scheduled run": 1_000_000}

KB, READ_BLOCK = 1024, 4096


# Item sizes, as DynamoDB counts them.


def _number_size(text: str) -> int:
    mantissa = re.split("[eE]", text.lstrip("-+"))[0].replace(".", "")
    significant = mantissa.strip("0") or "0"
    return (len(significant) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(e) for k, e in v.items())
    if kind == "SS":
        return sum(len(e.encode()) for e in v)
    if kind == "NS":
        return sum(_number_size(e) for e in v)
    if kind == "BS":
        return sum(len(e) for e in v)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def _kb(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Index:
    """A secondary index as the table defines it: what an item's entry in it holds."""

    name: str
    pk: str
    sk: str
    projection: str
    include: frozenset[str]
    table_keys: tuple[str, str]

    def entry(self, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if item is None or self.pk not in item or self.sk not in item:
            return None
        if self.projection == "ALL":
            return dict(item)
        keep = {*self.table_keys, self.pk, self.sk} | self.include
        return {k: v for k, v in item.items() if k in keep}

    def written(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
        """Write units this index takes for an item going from `before` to `after`."""
        old, new = self.entry(before), self.entry(after)
        if old is None and new is None:
            return 0
        if old is None:
            return _kb(item_size(new))
        if new is None:
            return _kb(item_size(old))
        if (old[self.pk], old[self.sk]) != (new[self.pk], new[self.sk]):
            return _kb(item_size(old)) + _kb(item_size(new))
        return _kb(item_size(new)) if old != new else 0


def indexes_of(definition: Mapping[str, Any]) -> dict[str, Index]:
    table_keys = tuple(k["AttributeName"] for k in definition["KeySchema"])
    found = {}
    for gsi in definition.get("GlobalSecondaryIndexes", []):
        pk, sk = (k["AttributeName"] for k in gsi["KeySchema"])
        projection = gsi["Projection"]
        found[gsi["IndexName"]] = Index(
            gsi["IndexName"],
            pk,
            sk,
            projection["ProjectionType"],
            frozenset(projection.get("NonKeyAttributes", [])),
            (table_keys[0], table_keys[1]),
        )
    return found


# Recording the calls.


@dataclass
class Tally:
    """What the recorded calls cost, and the messages they sent."""

    table_writes: float = 0.0
    index_writes: float = 0.0
    reads: float = 0.0
    sqs_requests: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    by_index: Counter[str] = field(default_factory=Counter)
    sent: list[tuple[float, str, int]] = field(default_factory=list)  # (sent at, body, delay)
    detail: list[str] = field(default_factory=list)  # each call, for BENCH_COST_DETAIL

    @property
    def writes(self) -> float:
        return self.table_writes + self.index_writes


_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


class Recorder:
    """Records every DynamoDB and SQS call made by clients created after it (their events are
    copied from the session's), while `active`."""

    def __init__(self, events: Any, reader: Any, definition: Mapping[str, Any]) -> None:
        self.reader = reader
        self.table = definition["TableName"]
        self.keys = tuple(k["AttributeName"] for k in definition["KeySchema"])
        self.indexes = indexes_of(definition)
        self.tally = Tally()
        self.active = False
        # Seconds spent in these hooks (their own reads): not the functions' time.
        self.overhead = 0.0
        self._lock = threading.Lock()
        self._events = events
        self._hooks = [
            ("before-parameter-build.dynamodb", self._timed(self._before)),
            ("after-call.dynamodb", self._timed(self._after)),
            ("before-parameter-build.sqs", self._timed(self._sqs)),
            ("before-call.lambda.Invoke", _accepted_invoke),
        ]
        for name, hook in self._hooks:
            events.register(name, hook)

    def _timed(self, hook: Callable[..., None]) -> Callable[..., None]:
        def timed(**kwargs: Any) -> None:
            started = time.perf_counter()
            try:
                hook(**kwargs)
            finally:
                with self._lock:
                    self.overhead += time.perf_counter() - started

        return timed

    def close(self) -> None:
        for name, hook in self._hooks:
            self._events.unregister(name, hook)

    @contextmanager
    def recording(self, label: str = "") -> Iterator[Tally]:
        self.tally = Tally()
        self.active = True
        try:
            yield self.tally
        finally:
            self.active = False
            if DETAIL and label:
                print(f"  [{label}] {self.tally.writes:g} WU, {self.tally.reads:g} RU")
                for line in self.tally.detail:
                    print(f"    {line}")

    # DynamoDB

    def _key(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys}

    def _read(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self.reader.get_item(TableName=self.table, Key=dict(key), ConsistentRead=True).get("Item")
        return dict(found) if found else None

    def _write_keys(self, operation: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        if operation == "PutItem":
            return [self._key(params["Item"])]
        if operation in ("UpdateItem", "DeleteItem"):
            return [dict(params["Key"])]
        if operation == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                ((kind, request),) = entry.items()
                if kind != "ConditionCheck":
                    out.append(self._key(request["Item"]) if kind == "Put" else dict(request["Key"]))
            return out
        if operation == "BatchWriteItem":
            return [
                self._key(r["PutRequest"]["Item"]) if "PutRequest" in r else dict(r["DeleteRequest"]["Key"])
                for requests in params["RequestItems"].values()
                for r in requests
            ]
        return []

    def _before(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.active:
            return
        context["cost"] = (
            copy.deepcopy(dict(params)),
            [self._read(k) for k in self._write_keys(model.name, params)],
        )

    def _after(self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.active or "cost" not in context:
            return
        params, before = context["cost"]
        operation = model.name
        failed = "Error" in parsed
        table = index = reads = 0.0
        what: list[str] = []
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            keys = self._write_keys(operation, params)
            after = [self._read(k) for k in keys]
            twice = 2 if operation == "TransactWriteItems" else 1
            for old, new in zip(before, after, strict=True):
                if failed:
                    table += twice * _kb(item_size(old))
                    continue
                table += twice * _kb(max(item_size(old), item_size(new)))
                pk = str((new or old or {}).get(self.keys[0], {}).get("S", "?"))
                part = f"{pk.split('#')[0]} {max(item_size(old), item_size(new))} B"
                for idx in self.indexes.values():
                    units = idx.written(old, new)
                    index += units
                    if units:
                        part += f" +{idx.name} {units}"
                    with self._lock:
                        self.tally.by_index[idx.name] += units
                what.append(part)
        elif operation == "GetItem":
            reads = self._half(params) * math.ceil(max(1, item_size(parsed.get("Item"))) / READ_BLOCK)
        elif operation == "BatchGetItem":
            for table_name, request in params["RequestItems"].items():
                found = {
                    json.dumps(self._key(i), sort_keys=True): i
                    for i in parsed.get("Responses", {}).get(table_name, [])
                }
                unprocessed = parsed.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
                done = [k for k in request["Keys"] if k not in unprocessed]
                factor = 1.0 if request.get("ConsistentRead") else 0.5
                for key in done:
                    item = found.get(json.dumps(dict(key), sort_keys=True))
                    reads += factor * math.ceil(max(1, item_size(item)) / READ_BLOCK)
        elif operation in ("Query", "Scan") and not failed:
            reads = self._half(params) * math.ceil(max(1, self._read_size(operation, params)) / READ_BLOCK)
        with self._lock:
            self.tally.detail.append(
                f"{operation}{' (failed)' if failed else ''}: {table:g} WU + {index:g} index, {reads:g} RU "
                f"{params.get('IndexName', '')} {'; '.join(what)}"
            )
            self.tally.calls[operation] += 1
            self.tally.table_writes += table
            self.tally.index_writes += index
            self.tally.reads += reads

    @staticmethod
    def _half(params: Mapping[str, Any]) -> float:
        return 1.0 if params.get("ConsistentRead") else 0.5

    def _read_size(self, operation: str, params: Mapping[str, Any]) -> int:
        """The size of what a Query or Scan read: the same call again, without its filter, and
        each item as the index holds it."""
        again = {
            k: v for k, v in params.items() if k not in ("FilterExpression", "ProjectionExpression", "Select")
        }
        used = set(_PLACEHOLDER.findall(str(again.get("KeyConditionExpression", ""))))
        for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            kept = {k: v for k, v in again.get(name, {}).items() if k in used}
            if kept:
                again[name] = kept
            else:
                again.pop(name, None)
        found = getattr(self.reader, "query" if operation == "Query" else "scan")(**again).get("Items", [])
        index = self.indexes.get(params.get("IndexName", ""))
        return sum(item_size(index.entry(i) if index else i) for i in found)

    # SQS

    def _sqs(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if not self.active:
            return
        if model.name == "SendMessageBatch":
            entries = params["Entries"]
        elif model.name == "SendMessage":
            entries = [params]
        else:
            with self._lock:
                self.tally.calls[model.name] += 1
                self.tally.sqs_requests += 1
            return
        size = sum(len(e["MessageBody"].encode()) for e in entries)
        with self._lock:
            self.tally.calls[model.name] += 1
            self.tally.sqs_requests += max(1, math.ceil(size / SQS_CHUNK))
            now = time.time()
            self.tally.sent.extend((now, e["MessageBody"], int(e.get("DelaySeconds", 0))) for e in entries)


class _Accepted:
    status_code = 202


def _accepted_invoke(**_: Any) -> tuple[_Accepted, dict[str, Any]]:
    """The dispatcher's fan-out invokes itself asynchronously: Lambda accepts (202) at once."""
    return _Accepted(), {"StatusCode": 202}


# Lambda


class _CfnLoader(yaml.SafeLoader):
    """template.yaml with its short-form tags read as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def memory_sizes() -> dict[str, int]:
    """MemorySize (MB) of each function in template.yaml."""
    from proactive.dev.local import REPO_ROOT

    template = yaml.load((Path(REPO_ROOT) / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    default = int(template["Globals"]["Function"].get("MemorySize", 128))
    return {
        name: int(resource["Properties"].get("MemorySize", default))
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def billed_gb_seconds(seconds: float, memory_mb: int) -> float:
    """Lambda bills each invocation's duration rounded up to the millisecond."""
    return math.ceil(seconds * 1000) / 1000 * memory_mb / 1024


@dataclass
class Cost:
    """One operation: units, Lambda, requests; and its price."""

    name: str
    writes: float = 0.0
    reads: float = 0.0
    gb_seconds: float = 0.0
    lambda_requests: float = 0.0
    sqs_requests: float = 0.0
    http_requests: float = 0.0
    index_writes: float = 0.0
    notes: dict[str, float] = field(default_factory=dict)

    def add(self, tally: Tally, share: float = 1.0) -> None:
        self.writes += tally.writes * share
        self.index_writes += tally.index_writes * share
        self.reads += tally.reads * share
        self.sqs_requests += tally.sqs_requests * share

    def dollars(self) -> float:
        return (
            self.writes * PRICE_PER_WRITE_UNIT
            + self.reads * PRICE_PER_READ_UNIT
            + self.gb_seconds * PRICE_PER_GB_SECOND
            + self.lambda_requests * PRICE_PER_LAMBDA_REQUEST
            + self.sqs_requests * PRICE_PER_SQS_REQUEST
            + self.http_requests * PRICE_PER_HTTP_API_REQUEST
        )


def _median(costs: list[Cost]) -> Cost:
    """Each figure's median over the repeats."""
    out = Cost(costs[0].name)
    for name in (
        "writes",
        "reads",
        "gb_seconds",
        "lambda_requests",
        "sqs_requests",
        "http_requests",
        "index_writes",
    ):
        setattr(out, name, statistics.median(getattr(c, name) for c in costs))
    for note in costs[0].notes:
        out.notes[note] = statistics.median(c.notes[note] for c in costs)
    return out


# The operations.


class Bench:
    """One moto account with the table and queue, the recorder, and the functions' handlers."""

    def __init__(self, resources: Mapping[str, str], recorder: Recorder, suffix: str) -> None:
        from proactive.dev.local import load_handler
        from proactive.queue import RunQueue
        from proactive.store import Store

        self.resources = resources
        self.recorder = recorder
        self.store, self.queue = Store(), RunQueue()
        self.memory = memory_sizes()
        self.suffix = suffix
        self.dispatcher = load_handler("dispatcher", instance=f"_cost{suffix}")
        self.ingest = load_handler("ingest", instance=f"_cost{suffix}")
        self.api = load_handler("api", instance=f"_cost{suffix}")
        # Worker instances, one invocation at a time each (as in Lambda), warmed before use.
        self.workers = [load_handler("worker", instance=f"_cost{suffix}_{i}") for i in range(CLAIMED)]
        for module in self.workers:
            self.work(json.dumps({"run_id": "run-none"}), Cost("warm"), module)

    def invoke(self, function: str, module: ModuleType, event: Mapping[str, Any], cost: Cost) -> Any:
        from proactive.dev.local import LocalContext

        _event_loop()
        overhead = self.recorder.overhead
        started = time.perf_counter()
        result = module.handler(dict(event), LocalContext(function, 300))
        # Invocations are made one at a time, so the hooks' time meanwhile was this one's.
        elapsed = time.perf_counter() - started - (self.recorder.overhead - overhead)
        cost.gb_seconds += billed_gb_seconds(elapsed, self.memory[function])
        cost.lambda_requests += 1
        return result

    def work(self, body: str, cost: Cost, module: ModuleType | None = None) -> dict[str, Any]:
        """The worker handed one message, as the event source mapping hands it (a batch of one)."""
        from proactive.dev.local import sqs_event

        message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": str(uuid.uuid4()), "Body": body}
        result: dict[str, Any] = self.invoke(
            "WorkerFunction",
            module or self.workers[0],
            sqs_event([message], self.resources["queue_arn"]),
            cost,
        )
        assert result["batchItemFailures"] == [], result
        cost.sqs_requests += 2  # the event source mapping's receive and delete
        return result

    def tick(self, now: datetime, cost: Cost, *, fan_out: bool) -> None:
        """One minute's tick as AWS runs it: the scheduled invocation hands each shard to an
        invocation of its own (when `fan_out`), and each shard's invocation dispatches it."""
        from proactive.clock import iso
        from proactive.dev.local import scheduled_event

        if fan_out:
            self.invoke("DispatcherFunction", self.dispatcher, scheduled_event(now), cost)
        for shard in range(self.store.due.shards):
            self.invoke("DispatcherFunction", self.dispatcher, {"time": iso(now), "shard": shard}, cost)

    def idle_tick(self) -> Cost:
        cost = Cost("idle dispatcher tick")
        with self.recorder.recording("idle tick") as tally:
            self.tick(datetime.now(UTC), cost, fan_out=True)
        cost.add(tally)
        return cost

    def marginal_tick(
        self, claimed: int, make_due: Callable[[datetime], None]
    ) -> tuple[Cost, list[tuple[float, str, int]]]:
        """What a tick that claims `claimed` items (made due by `make_due(now)`) adds to an idle
        one, per item; and the messages it sent."""
        idle, busy = Cost("idle"), Cost("busy")
        with self.recorder.recording("tick, before") as tally:
            self.tick(datetime.now(UTC), idle, fan_out=False)
        idle.add(tally)
        make_due(datetime.now(UTC))
        with self.recorder.recording("tick, claiming") as tally:
            self.tick(datetime.now(UTC), busy, fan_out=False)
        busy.add(tally)
        share = Cost("claim")
        share.writes = (busy.writes - idle.writes) / claimed
        share.index_writes = (busy.index_writes - idle.index_writes) / claimed
        share.reads = (busy.reads - idle.reads) / claimed
        share.sqs_requests = (busy.sqs_requests - idle.sqs_requests) / claimed
        share.gb_seconds = max(0.0, busy.gb_seconds - idle.gb_seconds) / claimed
        return share, list(tally.sent)


def _event_loop() -> None:
    """Mangum (the API's adapter) runs the app on the thread's event loop, which Lambda's runtime
    has and the worker's batch processing leaves closed."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def _agent(store: Any) -> str:
    from proactive.agents import create_agent
    from proactive.models.agents import AgentCreate

    return str(create_agent(store, AgentCreate(workspace_id=WS, name="cost-agent"), datetime.now(UTC))["id"])


class _WaitClock:
    """`time` for the worker's attempts, recording each wait for a due time."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real
        self.waited: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)
        self._real.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def scheduled_run(bench: Bench, agent_id: str) -> Cost:
    """The dispatcher claims CLAIMED occurrences due a few seconds from now (each at a different
    fraction of a second), and the worker runs each when its message's delay ends, as SQS and the
    event source mapping would hand it over."""
    from proactive import schedules, wiring
    from proactive.clock import iso
    from proactive.models.schedules import ScheduleCreate
    from proactive.runs import attempts

    store = bench.store
    made = [
        schedules.create_schedule(
            store,
            bench.queue,
            wiring.bus(),
            ScheduleCreate(
                name=f"report {i}",
                workspace_id=WS,
                agent_id=agent_id,
                task_description="Generate the daily metrics report",
                cron_expression="0 0 1 1 *",
            ),
            datetime.now(UTC),
        )
        for i in range(CLAIMED)
    ]

    def make_due(now: datetime) -> None:
        # Each due 3 s after the one before, at its own fraction of a second (spread evenly,
        # as the ticks' second falls anywhere in AWS): one run's message comes after the
        # previous run is done, so the worker's invocations are made one at a time.
        for i, schedule in enumerate(made):
            fire = now + timedelta(seconds=3 + 3 * i + (i + 0.5) / CLAIMED)
            store.schedules.reschedule(schedule.id, {"next_fire_at": iso(fire)}, due_at=fire)

    cost = Cost("scheduled run")
    claim, sent = bench.marginal_tick(CLAIMED, make_due)
    cost.writes, cost.index_writes, cost.reads = claim.writes, claim.index_writes, claim.reads
    cost.sqs_requests, cost.gb_seconds = claim.sqs_requests, claim.gb_seconds
    runs = [(at + delay, body) for at, body, delay in sent if "run_id" in body]
    assert len(runs) == CLAIMED, sent
    clock = _WaitClock(time)
    setattr(attempts, "time", clock)  # noqa: B010 - the attempts module's own `time`
    worker = Cost("worker")
    try:
        with bench.recorder.recording("scheduled runs, worker") as tally:
            for visible_at, body in sorted(runs):
                # Handed over the moment its delay ends, as a long-polling event source mapping does.
                time.sleep(max(0.0, visible_at - time.time()))
                bench.work(body, worker)
    finally:
        setattr(attempts, "time", time)  # noqa: B010
    for run_body in (b for _, b in runs):
        run = store.runs.get(json.loads(run_body)["run_id"])
        assert run is not None, run_body
        assert run.status == "succeeded", run
    cost.add(tally, 1 / CLAIMED)
    cost.gb_seconds += worker.gb_seconds / CLAIMED
    cost.lambda_requests += 1
    cost.sqs_requests += 2
    waits = clock.waited + [0.0] * (CLAIMED - len(clock.waited))
    cost.notes["wait_s"] = statistics.mean(waits)
    cost.notes["wait_max_s"] = max(waits)
    cost.notes["wait_gb_s"] = statistics.mean(waits) * bench.memory["WorkerFunction"] / 1024
    return cost


def _signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-signature": f"sha256={digest}"}


def webhook_delivery(bench: Bench, hook: Any, size: int, serial: int) -> Cost:
    """A signed delivery of about `size` bytes of JSON to the ingest function, then the worker
    runs it (the trigger's run, to success)."""
    from proactive.dev.local import http_api_event

    filler = "x" * max(0, size - 60)
    body = json.dumps(
        {"event": "deploy", "serial": serial, "nonce": uuid.uuid4().hex, "log": filler}
    ).encode()
    cost = Cost(f"webhook delivery, {size // 1024} KB")
    path = f"/api/hooks/{hook.url_path}"
    event = http_api_event(
        "POST", path, _signed(hook.secret, body), body, path_parameters={"url_path": hook.url_path}
    )
    with bench.recorder.recording(cost.name) as tally:
        answer = bench.invoke("IngestFunction", bench.ingest, event, cost)
        assert answer["statusCode"] == 202, answer
        sent = [b for _, b, _ in tally.sent]
        for message in sent:
            bench.work(message, cost)
    cost.add(tally)
    cost.http_requests += 1
    delivery = bench.store.deliveries.get(json.loads(answer["body"])["delivery_id"])
    assert delivery is not None, answer
    assert delivery.run_id, delivery
    run = bench.store.runs.get(delivery.run_id)
    assert run is not None, delivery
    assert run.status == "succeeded", run
    return cost


def monitor_check(bench: Bench, monitor_ids: list[str]) -> Cost:
    """The dispatcher claims CLAIMED monitors' check slots; the worker checks each (an HTTP JSON
    source on loopback; the condition stays false, as it does for most checks)."""
    from proactive.clock import iso

    def make_due(now: datetime) -> None:
        for monitor_id in monitor_ids:
            bench.store.monitors.reschedule(monitor_id, {"next_fire_at": iso(now)}, due_at=now)

    cost = Cost("monitor check")
    claim, sent = bench.marginal_tick(len(monitor_ids), make_due)
    cost.writes, cost.index_writes, cost.reads = claim.writes, claim.index_writes, claim.reads
    cost.sqs_requests, cost.gb_seconds = claim.sqs_requests, claim.gb_seconds
    checks = [b for _, b, _ in sent if "check_id" in b]
    assert len(checks) == len(monitor_ids), sent
    worker = Cost("worker")
    with bench.recorder.recording("checks, worker") as tally:
        for body in checks:
            bench.work(body, worker)
    cost.add(tally, 1 / len(checks))
    cost.gb_seconds += worker.gb_seconds / len(checks)
    cost.lambda_requests += 1
    cost.sqs_requests += 2
    for body in checks:
        check = bench.store.checks.get(json.loads(body)["check_id"])
        assert check is not None, body
        assert (check.status, check.fired) == ("ok", False), check
    return cost


def conversation_turn(bench: Bench, conversation_id: str, token: str) -> Cost:
    """One message to a chatbot conversation (answered in the request by a builtin agent), and
    the worker's later look at the run's safety message (it finds the run finished)."""
    from proactive.dev.local import http_api_event

    body = json.dumps({"message": "What changed in the deploy pipeline this week?"}).encode()
    path = f"/conversations/{conversation_id}/messages"
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    cost = Cost("conversation turn")
    with bench.recorder.recording(cost.name) as tally:
        answer = bench.invoke("ApiFunction", bench.api, http_api_event("POST", path, headers, body), cost)
        assert answer["statusCode"] == 200, answer
        for _, message, _ in list(tally.sent):
            bench.work(message, cost)
    cost.add(tally)
    cost.http_requests += 1
    return cost


# The figures.


def _setup_hooks(bench: Bench, agent_id: str) -> Any:
    from proactive import triggers
    from proactive.models.triggers import TriggerCreate
    from proactive.models.webhooks import WebhookCreate
    from proactive.webhooks import crud as webhooks

    now = datetime.now(UTC)
    trigger = triggers.create_trigger(
        bench.store,
        TriggerCreate(
            name="deploys",
            workspace_id=WS,
            trigger_type="webhook",
            agent_id=agent_id,
            task_template="Summarise the deploy event {event} #{serial}",
        ),
        now,
    )
    return webhooks.create_webhook(
        bench.store,
        WebhookCreate(
            workspace_id=WS,
            name="deploys",
            trigger_id=trigger["id"],
            signature_scheme="hmac-sha256",
            rate_limit_per_minute=10_000,
        ),
        now,
    )


def _setup_monitors(bench: Bench, agent_id: str, url: str) -> list[str]:
    from proactive import monitors
    from proactive.models.monitors import MonitorCreate

    made = []
    for i in range(CLAIMED):
        monitor = monitors.create_monitor(
            bench.store,
            MonitorCreate(
                name=f"quote {i}",
                agent_id=agent_id,
                workspace_id=WS,
                source={"type": "http", "url": url, "select": "data.price"},  # type: ignore[arg-type]
                condition="value > 150",
                action="AAPL is at {value}",
                check_interval=300,
            ),
            datetime.now(UTC),
        )
        made.append(monitor.id)
    return made


def _setup_conversation(bench: Bench, agent_id: str) -> tuple[str, str]:
    from proactive.auth import issue_local_token
    from proactive.dev.local import http_api_event

    token = issue_local_token([WS], secret=os.environ["LOCAL_JWT_SECRET"], subject="cost")
    body = json.dumps({"workspace_id": WS, "agent_id": agent_id, "title": "deploys"}).encode()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    _event_loop()
    answer = bench.api.handler(
        http_api_event("POST", "/conversations", headers, body), _context("ApiFunction")
    )
    assert answer["statusCode"] == 201, answer
    return json.loads(answer["body"])["id"], token


def _context(name: str) -> Any:
    from proactive.dev.local import LocalContext

    return LocalContext(name, 300)


def measure() -> list[Cost]:
    """Every operation, REPEATS times each, in a fresh moto account per repeat."""
    import boto3

    from proactive.store.keys import table_definition
    from tests.mockaws import mocked_aws
    from tests.quotes import running_quote

    results: dict[str, list[Cost]] = {}
    for repeat in range(REPEATS):
        with (
            running_quote(price=100.0) as quote,
            mocked_aws(f"cost-{repeat}", DISPATCH_FANOUT="lambda") as res,
        ):
            reader = boto3.session.Session().client("dynamodb")
            definition = table_definition(os.environ["TABLE_NAME"])
            # Clients made from here on (the handlers' own) carry the recorder's hooks.
            recorder = Recorder(boto3._get_default_session().events, reader, definition)
            try:
                bench = Bench(res, recorder, f"{repeat}")
                agent_id = _agent(bench.store)
                hook = _setup_hooks(bench, agent_id)
                monitor_ids = _setup_monitors(bench, agent_id, quote.url)
                conversation_id, token = _setup_conversation(bench, agent_id)
                # Warm every handler once (their first calls load botocore's models), unrecorded.
                webhook_delivery(bench, hook, 1024, -1)
                conversation_turn(bench, conversation_id, token)
                bench.idle_tick()
                measured = [
                    scheduled_run(bench, agent_id),
                    webhook_delivery(bench, hook, 1024, repeat),
                    webhook_delivery(bench, hook, 25 * 1024, repeat),
                    monitor_check(bench, monitor_ids),
                    conversation_turn(bench, conversation_id, token),
                    bench.idle_tick(),
                ]
            finally:
                recorder.close()
        for cost in measured:
            results.setdefault(cost.name, []).append(cost)
    return [_median(costs) for costs in results.values()]


def _month(costs: Mapping[str, Cost], day: Mapping[str, int]) -> tuple[float, dict[str, float]]:
    parts = {name: costs[name].dollars() * count * DAYS_A_MONTH for name, count in day.items()}
    parts["ticks"] = costs["idle dispatcher tick"].dollars() * TICKS_A_DAY * DAYS_A_MONTH
    return sum(parts.values()), parts


def main() -> None:
    quiet()
    costs = {c.name: c for c in measure()}
    print(
        "[cost] per operation, on-demand list prices (us-east-1); units from the items written and "
        f"read; Lambda GB-s from this machine's wall time (median of {REPEATS} runs)"
    )
    header = f"  {'operation':<24} {'WU':>6} {'(index)':>7} {'RU':>6} {'GB-s':>8} {'$ per million':>14}"
    print(header)
    for cost in costs.values():
        print(
            f"  {cost.name:<24} {cost.writes:>6.1f} {cost.index_writes:>7.1f} {cost.reads:>6.1f} "
            f"{cost.gb_seconds:>8.4f} {cost.dollars() * 1e6:>14.2f}"
        )
    run = costs["scheduled run"]
    print(
        f"[cost] a scheduled run's worker waits for its due time {run.notes['wait_s'] * 1000:.0f} ms on "
        f"average (at most {run.notes['wait_max_s'] * 1000:.0f} ms): {run.notes['wait_gb_s']:.4f} of its "
        f"{run.gb_seconds:.4f} GB-s"
    )
    small, parts = _month(costs, TEAM_DAY)
    shown = ", ".join(f"{name} ${value:.2f}" for name, value in parts.items())
    print(
        f"[cost] a small team's month (a day: 50 hourly schedules, 1,000 deliveries of 1 KB, 10 monitors "
        f"every 5 minutes, 5 conversations of {TURNS_PER_CONVERSATION} turns; a tick every minute): "
        f"${small:.2f} ({shown})"
    )
    large, parts = _month(costs, LARGE_DAY)
    print(
        f"[cost] a month of 1,000,000 scheduled runs a day: ${large:,.0f} "
        f"(runs ${parts['scheduled run']:,.0f}, ticks ${parts['ticks']:.2f})"
    )
