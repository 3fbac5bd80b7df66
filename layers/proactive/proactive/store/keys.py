"""Every key format and index name of the single table, written once.

Nothing outside this module builds a key string or names an index. Items:

- entity (agent, schedule, run, trigger, webhook, monitor, delivery, check, ...):
  PK `<KIND>#<id>`, SK `<KIND>`
- listed in a workspace (GSI1): `WS#<ws>#<KIND>` / `<created_at>#<id>`, newest last
- runs listed in a workspace (GSI1): `WS#<ws>#RUN#<shard>` / `<created_at>#<id>`, the shard a
  small hash of the run id (`RUN_LISTING_SHARDS` of them). A busy workspace's runs are spread
  over that many partitions, so no one partition takes every run it starts (a partition takes
  1,000 writes a second); a page of the list queries each shard below the last run shown and
  merges them, newest first, and the cursor is that last run's keys, as for any other list.
  Runs written before the shards were listed under `WS#<ws>#RUN`, which is merged as one more
  shard.
- listed under a parent (GSI1): `<PARENT KIND>#<parent id>#<KIND>` / `<at>#<id>`
  (deliveries under their webhook, checks under their monitor)
- runs by source (GSI2): `SRC#<source type>#<source id>` / `<created_at>#<id>`
- active event triggers (GSI2): `EVT#<ws>` / `<event>#<trigger id>`
- webhook by public path (GSI2): `HOOK#<url_path>` / `WEBHOOK`
- a payload (a webhook delivery's body, the data that started a run): PK `PAYLOAD#<owner id>`,
  SK `PAYLOAD`, written once and referenced by `payload_ref` from the delivery and the runs it
  starts, so a large payload is not rewritten with every change to them
- per-minute delivery counter: PK `RATE#<webhook id>#<minute>`, SK `RATE`
- a metric monitor's posted values: PK `MONVAL#<monitor id>`, SK `<measured at>#<random>`
- a conversation's messages: PK `CONVMSG#<conversation id>`, SK `<at>#<message id>` (in order,
  read consistently from the table itself)
- an API request's Idempotency-Key: PK `REQUEST#<ws>#<sha256 of the key>`, SK `REQUEST`
- an agent's accepted callback: PK `CALLBACK#<run id>#<webhook-id>`, SK `CALLBACK`
- Powertools idempotency records: PK `IDEMPOTENCY#<function>#<idempotency key>`, SK
  `IDEMPOTENCY` (each record its own partition; records written under one partition per
  function, `IDEMPOTENCY#<function>`, are never read again and expire within a day)
- a metric's points: PK `SERIES#<ws>#<metric>`, SK `<timestamp>` (one point per instant, so a
  window is one query and a re-sent point overwrites itself)
- a workspace's metrics, each with its anomaly detector's state: PK `METRICS#<ws>`, SK `<metric>`
- recorded events: PK `EVENTS#<ws>`, SK `<timestamp>#<event id>`; by type (GSI1):
  `EVENTS#<ws>#<event type>` / `<timestamp>#<event id>`
- a goal-loop action's name, unique in its workspace: PK `ACTIONNAME#<ws>#<normalised name>`,
  SK `ACTIONNAME`
- a goal's actions (GSI2): `GOALACT#<goal id>` / `<created_at>#<id>`
- what one goal-loop analysis computed for its later steps: PK `ANALYSIS#<analysis id>`,
  SK `PART#<name>` (`anomalies`, `patterns`, `forecast#<metric>`, `baseline#<goal action id>`)
- a Step Functions task token a goal action waits on: PK `TASKTOKEN#<goal action id>`,
  SK `<purpose>` (never listed, never returned by the API)
- a key the platform made for itself (e.g. the approval links' signing key): PK `PLATFORMKEY#<name>`,
  SK `PLATFORMKEY`
- a workspace's secret, its name and dates (its value is in the secret store, never here):
  PK `SECRETS#<ws>`, SK `<name>` (a workspace's secrets are one query, by name)
- a workspace's run statistics, one item per hour of runs finishing (counters, added to as
  each run reaches its final status): PK `RUNSTATS#<ws>`, SK `<hour, a stored instant>` (a
  week is one query of at most 168 items)

Items that can come due carry `due_pk` (`DUE#<shard>`) and `due_at` while active: the sparse
DueIndex the dispatcher queries for `due_at <= window end`, one shard at a time.

The indexes hold keys, not copies of items (`INDEX_PROJECTIONS`): a write to an item rewrites
its index entries only when their keys change, so a run's updates cost the run's own size and
nothing more. A listing reads the keys from its index and the items themselves by BatchGetItem.
GSI2 also holds the few attributes a webhook delivery's lookup by path reads, so that lookup
stays one call.
"""

from __future__ import annotations

import zlib
from typing import Any

PK, SK = "PK", "SK"
GSI1, GSI2, DUE_INDEX = "GSI1", "GSI2", "DueIndex"
GSI1PK, GSI1SK = "GSI1PK", "GSI1SK"
GSI2PK, GSI2SK = "GSI2PK", "GSI2SK"
DUE_PK, DUE_AT = "due_pk", "due_at"
TTL_ATTRIBUTE = "ttl"
VERSION_ATTRIBUTE = "version"

# The key attributes of the table and of each index, partition key first.
INDEX_KEYS: dict[str | None, tuple[str, str]] = {
    None: (PK, SK),
    GSI1: (GSI1PK, GSI1SK),
    GSI2: (GSI2PK, GSI2SK),
    DUE_INDEX: (DUE_PK, DUE_AT),
}
# Attributes that only serve the table's keys and indexes: never part of an item's body.
KEY_ATTRIBUTES = frozenset({name for pair in INDEX_KEYS.values() for name in pair} | {TTL_ATTRIBUTE, "kind"})

# What webhook ingest reads of a webhook it finds by its path (GSI2 holds them).
HOOK_FIELDS = (
    "id",
    "workspace_id",
    "trigger_id",
    "is_active",
    "signature_scheme",
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "rate_limit_per_minute",
)
# The attributes each index holds beyond the table's keys and its own (none: KEYS_ONLY).
INDEX_PROJECTIONS: dict[str, tuple[str, ...]] = {GSI1: (), GSI2: HOOK_FIELDS, DUE_INDEX: ()}


def table_definition(table_name: str) -> dict[str, Any]:
    """`create_table` arguments for the table; template.yaml declares the same (a test checks)."""

    def index(name: str) -> dict[str, Any]:
        pk, sk = INDEX_KEYS[name]
        included = INDEX_PROJECTIONS[name]
        projection: dict[str, Any] = (
            {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(included)}
            if included
            else {"ProjectionType": "KEYS_ONLY"}
        )
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": pk, "KeyType": "HASH"},
                {"AttributeName": sk, "KeyType": "RANGE"},
            ],
            "Projection": projection,
        }

    attributes = [name for pair in INDEX_KEYS.values() for name in pair]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [index(GSI1), index(GSI2), index(DUE_INDEX)],
    }


def entity(kind: str, item_id: str) -> dict[str, str]:
    return {PK: f"{kind.upper()}#{item_id}", SK: kind.upper()}


def workspace_partition(kind: str, workspace_id: str) -> str:
    return f"WS#{workspace_id}#{kind.upper()}"


def workspace_listing(kind: str, workspace_id: str, created_at: str, item_id: str) -> dict[str, str]:
    return {"GSI1PK": workspace_partition(kind, workspace_id), "GSI1SK": f"{created_at}#{item_id}"}


# A workspace's runs are listed over this many partitions (a small hash of the run id picks one).
RUN_LISTING_SHARDS = 4


def run_listing_shard(run_id: str) -> int:
    return zlib.crc32(run_id.encode()) % RUN_LISTING_SHARDS


def run_listing_partitions(workspace_id: str) -> list[str]:
    """Every partition a workspace's runs are listed in: its shards, and the one partition runs
    were listed in before there were shards."""
    base = workspace_partition("run", workspace_id)
    return [*(f"{base}#{shard}" for shard in range(RUN_LISTING_SHARDS)), base]


def run_listing(workspace_id: str, created_at: str, run_id: str) -> dict[str, str]:
    base = workspace_partition("run", workspace_id)
    return {"GSI1PK": f"{base}#{run_listing_shard(run_id)}", "GSI1SK": f"{created_at}#{run_id}"}


def children_partition(parent_kind: str, parent_id: str, kind: str) -> str:
    return f"{parent_kind.upper()}#{parent_id}#{kind.upper()}"


def child_listing(parent_kind: str, parent_id: str, kind: str, at: str, item_id: str) -> dict[str, str]:
    return {"GSI1PK": children_partition(parent_kind, parent_id, kind), "GSI1SK": f"{at}#{item_id}"}


def source_partition(source_type: str, source_id: str) -> str:
    return f"SRC#{source_type}#{source_id}"


def source_listing(source_type: str, source_id: str, created_at: str, item_id: str) -> dict[str, str]:
    return {"GSI2PK": source_partition(source_type, source_id), "GSI2SK": f"{created_at}#{item_id}"}


def event_listeners_partition(workspace_id: str) -> str:
    return f"EVT#{workspace_id}"


def event_listener(workspace_id: str, event: str, trigger_id: str) -> dict[str, str]:
    return {"GSI2PK": event_listeners_partition(workspace_id), "GSI2SK": f"{event}#{trigger_id}"}


def hook_partition(url_path: str) -> str:
    return f"HOOK#{url_path}"


def hook_path(url_path: str) -> dict[str, str]:
    return {"GSI2PK": hook_partition(url_path), "GSI2SK": "WEBHOOK"}


def rate_counter(webhook_id: str, minute: int) -> dict[str, str]:
    return entity("rate", f"{webhook_id}#{minute}")


def request(workspace_id: str, key_digest: str) -> dict[str, str]:
    return entity("request", f"{workspace_id}#{key_digest}")


def callback(run_id: str, message_id: str) -> dict[str, str]:
    return entity("callback", f"{run_id}#{message_id[:200]}")


def metric_values_partition(monitor_id: str) -> str:
    return f"MONVAL#{monitor_id}"


def metric_value(monitor_id: str, measured_at: str, suffix: str) -> dict[str, str]:
    return {PK: metric_values_partition(monitor_id), SK: f"{measured_at}#{suffix}"}


def conversation_messages_partition(conversation_id: str) -> str:
    return f"CONVMSG#{conversation_id}"


def conversation_message(conversation_id: str, at: str, message_id: str) -> dict[str, str]:
    return {PK: conversation_messages_partition(conversation_id), SK: f"{at}#{message_id}"}


def due_shard(item_id: str, shards: int) -> int:
    return zlib.crc32(item_id.encode()) % shards


def due_partition(shard: int) -> str:
    return f"DUE#{shard}"


def due(item_id: str, due_at: str, shards: int) -> dict[str, str]:
    return {"due_pk": due_partition(due_shard(item_id, shards)), "due_at": due_at}


def idempotency_record(function_name: str, idempotency_key: str) -> dict[str, str]:
    return {PK: f"IDEMPOTENCY#{function_name}#{idempotency_key}", SK: "IDEMPOTENCY"}


def idempotency_key_in(function_name: str, partition: str) -> str:
    """The idempotency key an `idempotency_record` partition holds."""
    return partition.removeprefix(f"IDEMPOTENCY#{function_name}#")


def payload(owner_id: str) -> dict[str, str]:
    return entity("payload", owner_id)


# Time series: metric points, the metric catalogue (with detector state) and recorded events.
# Metric names and event types hold no `#`, so a partition names its workspace and metric (or
# event type) unambiguously: the name is what follows the last `#`.


def series_partition(workspace_id: str, metric: str) -> str:
    return f"SERIES#{workspace_id}#{metric}"


def series_point(workspace_id: str, metric: str, at: str) -> dict[str, str]:
    return {PK: series_partition(workspace_id, metric), SK: at}


def metric_catalogue_partition(workspace_id: str) -> str:
    return f"METRICS#{workspace_id}"


def metric_state(workspace_id: str, metric: str) -> dict[str, str]:
    return {PK: metric_catalogue_partition(workspace_id), SK: metric}


def event_log_partition(workspace_id: str) -> str:
    return f"EVENTS#{workspace_id}"


def event_type_partition(workspace_id: str, event_type: str) -> str:
    return f"EVENTS#{workspace_id}#{event_type}"


def event_log_entry(workspace_id: str, event_type: str, at: str, event_id: str) -> dict[str, str]:
    return {
        PK: event_log_partition(workspace_id),
        SK: f"{at}#{event_id}",
        "GSI1PK": event_type_partition(workspace_id, event_type),
        "GSI1SK": f"{at}#{event_id}",
    }


def event_log_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """The sort-key bounds of events recorded from `since` to `until` (both included)."""
    return since, None if until is None else f"{until}#~"


# Goal loop actions: each action name in a workspace is held by one item naming the action that
# holds it, written in the same transaction as the action, so two actions cannot share a name.
# Workspace ids hold no `#`, so whatever the name holds, the partition is unambiguous.


def action_name(workspace_id: str, name: str) -> dict[str, str]:
    return {PK: f"ACTIONNAME#{workspace_id}#{name}", SK: "ACTIONNAME"}


def goal_actions_partition(goal_id: str) -> str:
    return f"GOALACT#{goal_id}"


def goal_action_listing(goal_id: str, created_at: str, item_id: str) -> dict[str, str]:
    return {"GSI2PK": goal_actions_partition(goal_id), "GSI2SK": f"{created_at}#{item_id}"}


def analysis_part(analysis_id: str, name: str) -> dict[str, str]:
    return {PK: f"ANALYSIS#{analysis_id}", SK: f"PART#{name}"}


# The names of an analysis's parts: its anomaly scores, its patterns, a metric's forecast, and the
# forecast a goal action's impact is measured against.
ANOMALIES_PART = "anomalies"
PATTERNS_PART = "patterns"


def forecast_part(metric: str) -> str:
    return f"forecast#{metric}"


def baseline_part(goal_action_id: str) -> str:
    return f"baseline#{goal_action_id}"


def task_token(goal_action_id: str, purpose: str) -> dict[str, str]:
    return {PK: f"TASKTOKEN#{goal_action_id}", SK: purpose}


def platform_key(name: str) -> dict[str, str]:
    return entity("platformkey", name)


def login_link(code_hash: str) -> dict[str, str]:
    return entity("loginlink", code_hash)


# Secret names hold no `#` (secret_store.NAME), nor do workspace ids.


def secrets_partition(workspace_id: str) -> str:
    return f"SECRETS#{workspace_id}"


def secret(workspace_id: str, name: str) -> dict[str, str]:
    return {PK: secrets_partition(workspace_id), SK: name}


# Run statistics: workspace ids hold no `#`; an hour is a stored instant (fixed width, sorts as text).


def run_stats_partition(workspace_id: str) -> str:
    return f"RUNSTATS#{workspace_id}"


def run_stats_hour(workspace_id: str, hour: str) -> dict[str, str]:
    return {PK: run_stats_partition(workspace_id), SK: hour}
