"""DynamoDB access for the single table: the only module that knows key formats and indexes.

Every item has PK and SK. Entities are keyed by their own id, and listed through GSI1:

- agent: PK `AGENT#<id>`, SK `AGENT`; GSI1 `WS#<ws>#AGENT` / `<created>#<id>`
- schedule: PK `SCHEDULE#<id>`, SK `SCHEDULE`; GSI1 `WS#<ws>#SCHEDULE` / `<created>#<id>`
- run: PK `RUN#<id>`, SK `RUN`; GSI1 `WS#<ws>#RUN` / `<created>#<id>`;
  GSI2 (runs by source) `SRC#<type>#<id>` / `<created>#<id>`
- trigger: PK `TRIGGER#<id>`, SK `TRIGGER`; GSI1 `WS#<ws>#TRIGGER`; an active event trigger
  also GSI2 `EVT#<ws>` / `<event name>#<id>`
- webhook: PK `WEBHOOK#<id>`, SK `WEBHOOK`; GSI1 `WS#<ws>#WEBHOOK`; GSI2 `HOOK#<url_path>` / `WEBHOOK`
- delivery: PK `DELIVERY#<id>`, SK `DELIVERY`; GSI1 `WEBHOOK#<webhook id>#DELIVERY` / `<received>#<id>`
- rate counter: PK `RATE#<webhook id>#<minute>`, SK `RATE` (expires after two minutes)
- monitor: PK `MONITOR#<id>`, SK `MONITOR`; GSI1 `WS#<ws>#MONITOR`; due index while active
- check (monitor history): PK `CHECK#<id>`, SK `CHECK`; GSI1 `MONITOR#<id>#CHECK` / `<slot>#<id>`
- metric value: PK `MONVAL#<monitor id>`, SK `<measured at>#<random>`
- Powertools idempotency record: PK `IDEMPOTENCY#<function>`, SK the idempotency key

Items that can come due (schedules now; monitors and autonomous configs later) carry `due_pk`
(`DUE#<shard>`) and `due_at` while active: a sparse index (DueIndex) that the dispatcher queries
for `due_at <= window end`, so a tick reads only what is due, never the whole table.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import secrets
import zlib
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder, Key
from botocore.exceptions import ClientError

from proactive.clock import iso, parse_iso
from proactive.errors import InvalidInput, NotFound
from proactive.settings import get_settings

GSI1 = "GSI1"
GSI2 = "GSI2"
DUE_INDEX = "DueIndex"
TTL_ATTRIBUTE = "ttl"
IDEMPOTENCY_PK_PREFIX = "IDEMPOTENCY#"

_KEY_ATTRIBUTES = frozenset(
    {"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "due_pk", "due_at", TTL_ATTRIBUTE, "kind"}
)


def table_definition(table_name: str) -> dict[str, Any]:
    """`create_table` arguments for the table; template.yaml declares the same (a test checks)."""

    def gsi(name: str, pk: str, sk: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": pk, "KeyType": "HASH"},
                {"AttributeName": sk, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    attributes = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "due_pk", "due_at"]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            gsi(GSI1, "GSI1PK", "GSI1SK"),
            gsi(GSI2, "GSI2PK", "GSI2SK"),
            gsi(DUE_INDEX, "due_pk", "due_at"),
        ],
    }


class ConditionFailed(Exception):
    """A conditional write did not apply (the item changed, exists, or does not)."""

    def __init__(self, message: str, *, failed: list[int] | None = None) -> None:
        super().__init__(message)
        self.failed = failed or []


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; hand out ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _storable(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _body(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in item.items() if k not in _KEY_ATTRIBUTES}


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(_plain(dict(key)), sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not one this API returned", field="cursor") from exc
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return key


def _pk(kind: str, item_id: str) -> dict[str, str]:
    return {"PK": f"{kind.upper()}#{item_id}", "SK": kind.upper()}


def _child_item(
    kind: str, body: Mapping[str, Any], *, parent: str, at: str, retention_days: int
) -> dict[str, Any]:
    """An item listed under its parent in GSI1 (newest first by its `at` field) that expires
    `retention_days` after that time: a delivery under its webhook, a check under its monitor."""
    return {
        **_pk(kind, body["id"]),
        "kind": kind,
        "GSI1PK": f"{parent}#{kind.upper()}",
        "GSI1SK": f"{body[at]}#{body['id']}",
        TTL_ATTRIBUTE: _ttl(parse_iso(body[at]), retention_days),
        **_storable(dict(body)),
    }


def due_shard(item_id: str, shards: int) -> str:
    return f"DUE#{zlib.crc32(item_id.encode()) % shards}"


def _ttl(now: datetime, days: int) -> int:
    return int((now + timedelta(days=days)).timestamp())


class Store:
    """The table, with one method per access pattern."""

    def __init__(self, table_name: str | None = None, *, dynamodb: Any = None) -> None:
        settings = get_settings()
        self.table_name = table_name or settings.table_name
        self._shards = settings.due_shards
        self._resource = dynamodb or boto3.resource("dynamodb")
        self.table = self._resource.Table(self.table_name)

    # generic entity access

    def _put_entity(
        self, kind: str, body: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None
    ) -> None:
        item: dict[str, Any] = {
            **_pk(kind, body["id"]),
            "kind": kind,
            "GSI1PK": f"WS#{body['workspace_id']}#{kind.upper()}",
            "GSI1SK": f"{body['created_at']}#{body['id']}",
            **_storable(dict(body)),
            **(extra or {}),
        }
        self._put_new(item)

    def _put_new(self, item: Mapping[str, Any]) -> None:
        """Put an item that must not exist yet; ConditionFailed if it does."""
        self._write(lambda: self.table.put_item(Item=item, ConditionExpression=Attr("PK").not_exists()))

    def _get_entity(self, kind: str, item_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        resp = self.table.get_item(Key=_pk(kind, item_id), ConsistentRead=consistent)
        item = resp.get("Item")
        return _body(item) if item else None

    def owned(self, kind: str, item_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
        """The item if it exists in one of `workspaces`. Anything else is NotFound: an item in
        another workspace is indistinguishable from one that does not exist."""
        item = self._get_entity(kind, item_id)
        if item is None or item.get("workspace_id") not in workspaces:
            raise NotFound(f"{kind} {item_id!r} not found")
        return item

    def referenced(self, kind: str, item_id: str, workspace_id: str, *, field: str) -> dict[str, Any]:
        """An item another one refers to (a schedule's agent, a webhook's trigger); InvalidInput
        naming `field` if it is not in that workspace."""
        item = self._get_entity(kind, item_id)
        if item is None or item.get("workspace_id") != workspace_id:
            raise InvalidInput(
                f"{kind} {item_id!r} does not exist in workspace {workspace_id!r}", field=field
            )
        return item

    def _update_kwargs(
        self,
        kind: str,
        item_id: str,
        *,
        set_values: Mapping[str, Any] | None = None,
        remove: tuple[str, ...] = (),
        condition: ConditionBase | None = None,
        add: Mapping[str, int] | None = None,
        must_exist: bool = True,
    ) -> dict[str, Any]:
        """UpdateItem arguments: the change, applied only if `condition` holds and (unless
        `must_exist` is False) the item exists."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, adds = [], []
        for i, (name, value) in enumerate((set_values or {}).items()):
            names[f"#s{i}"] = name
            values[f":s{i}"] = _storable(value)
            sets.append(f"#s{i} = :s{i}")
        for i, (name, amount) in enumerate((add or {}).items()):
            names[f"#a{i}"] = name
            values[f":a{i}"] = amount
            adds.append(f"#a{i} :a{i}")
        removes = []
        for i, name in enumerate(remove):
            names[f"#r{i}"] = name
            removes.append(f"#r{i}")
        parts = []
        if sets:
            parts.append("SET " + ", ".join(sets))
        if adds:
            parts.append("ADD " + ", ".join(adds))
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        cond: ConditionBase | None = Attr("PK").exists() if must_exist else None
        if condition is not None:
            cond = condition if cond is None else cond & condition
        if cond is None:
            raise ValueError("an update needs a condition")
        kwargs: dict[str, Any] = {
            "Key": _pk(kind, item_id),
            "UpdateExpression": " ".join(parts),
            "ExpressionAttributeNames": names,
            "ConditionExpression": cond,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        return kwargs

    def _update_entity(self, kind: str, item_id: str, **change: Any) -> dict[str, Any]:
        """Apply the change (see `_update_kwargs`); return the new item."""
        kwargs = {**self._update_kwargs(kind, item_id, **change), "ReturnValues": "ALL_NEW"}
        resp = self._write(lambda: self.table.update_item(**kwargs))
        return _body(resp["Attributes"])

    def _transact(self, operations: list[tuple[str, dict[str, Any]]]) -> None:
        """Apply ("Update", `_update_kwargs`) and ("Put", {"Item", "ConditionExpression"})
        operations atomically. ConditionFailed.failed lists the positions whose condition failed."""
        # The resource's client serialises the values, but cannot place a condition object's
        # placeholders inside a transaction item, so the condition is rendered here.
        items = []
        for op, request in operations:
            built = ConditionExpressionBuilder().build_expression(request["ConditionExpression"])
            names = {**request.get("ExpressionAttributeNames", {}), **built.attribute_name_placeholders}
            values = {**request.get("ExpressionAttributeValues", {}), **built.attribute_value_placeholders}
            item = {
                **request,
                "TableName": self.table_name,
                "ConditionExpression": built.condition_expression,
            }
            item["ExpressionAttributeNames"] = names
            if values:
                item["ExpressionAttributeValues"] = values
            items.append({op: item})
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
            raise ConditionFailed(str(exc), failed=failed) from exc

    def _delete_entity(self, kind: str, item_id: str) -> bool:
        try:
            self.table.delete_item(Key=_pk(kind, item_id), ConditionExpression=Attr("PK").exists())
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _list_workspace(
        self,
        kind: str,
        workspace_id: str,
        *,
        limit: int,
        cursor: str | None,
        filters: ConditionBase | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._query_page(
            index=GSI1,
            key=Key("GSI1PK").eq(f"WS#{workspace_id}#{kind.upper()}"),
            limit=limit,
            cursor=cursor,
            filters=filters,
        )

    def _query_page(
        self,
        *,
        index: str,
        key: ConditionBase,
        limit: int,
        cursor: str | None,
        filters: ConditionBase | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first. With a filter, keeps reading until the page is full or the index ends."""
        items: list[dict[str, Any]] = []
        start = decode_cursor(cursor)
        while True:
            kwargs: dict[str, Any] = {
                "IndexName": index,
                "KeyConditionExpression": key,
                "ScanIndexForward": False,
                "Limit": limit - len(items),
            }
            if filters is not None:
                kwargs["FilterExpression"] = filters
            if start:
                kwargs["ExclusiveStartKey"] = start
            resp = self.table.query(**kwargs)
            items.extend(_body(i) for i in resp.get("Items", []))
            start = resp.get("LastEvaluatedKey")
            if not start or len(items) >= limit:
                return items, encode_cursor(start)

    @staticmethod
    def _write(call: Any) -> Any:
        try:
            return call()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in (
                "ConditionalCheckFailedException",
                "TransactionCanceledException",
            ):
                raise ConditionFailed(str(exc)) from exc
            raise

    # agents

    def put_agent(self, agent: Mapping[str, Any]) -> None:
        self._put_entity("agent", agent)

    def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        return self._get_entity("agent", agent_id)

    def list_agents(
        self, workspace_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._list_workspace("agent", workspace_id, limit=limit, cursor=cursor)

    def update_agent(self, agent_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self._update_entity("agent", agent_id, set_values=changes)

    def delete_agent(self, agent_id: str) -> bool:
        return self._delete_entity("agent", agent_id)

    # schedules and other items that come due

    def _due_attributes(self, item_id: str, due_at: datetime | None) -> dict[str, Any]:
        if due_at is None:
            return {}
        return {"due_pk": due_shard(item_id, self._shards), "due_at": iso(due_at)}

    def put_schedule(self, schedule: Mapping[str, Any], *, due_at: datetime | None) -> None:
        self._put_entity("schedule", schedule, extra=self._due_attributes(schedule["id"], due_at))

    def get_schedule(self, schedule_id: str) -> dict[str, Any] | None:
        return self._get_entity("schedule", schedule_id)

    def list_schedules(
        self, workspace_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._list_workspace("schedule", workspace_id, limit=limit, cursor=cursor)

    def _update_due_item(
        self,
        kind: str,
        item_id: str,
        changes: Mapping[str, Any],
        *,
        due_at: datetime | bool | None = False,
        expect_next_fire_at: str | None = None,
    ) -> dict[str, Any]:
        """Change an item that can come due. `due_at`: a datetime to (re)index it, None to drop it
        from the due index, False to leave the index alone. `expect_next_fire_at` makes the
        write conditional on the item not having been advanced or edited meanwhile."""
        set_values = dict(changes)
        remove: tuple[str, ...] = ()
        if isinstance(due_at, datetime):
            set_values.update(self._due_attributes(item_id, due_at))
        elif due_at is None:
            remove = ("due_pk", "due_at")
        condition = None
        if expect_next_fire_at is not None:
            condition = Attr("next_fire_at").eq(expect_next_fire_at)
        return self._update_entity(kind, item_id, set_values=set_values, remove=remove, condition=condition)

    def update_schedule(
        self,
        schedule_id: str,
        changes: Mapping[str, Any],
        *,
        due_at: datetime | bool | None = False,
        expect_next_fire_at: str | None = None,
    ) -> dict[str, Any]:
        return self._update_due_item(
            "schedule", schedule_id, changes, due_at=due_at, expect_next_fire_at=expect_next_fire_at
        )

    def delete_schedule(self, schedule_id: str) -> bool:
        return self._delete_entity("schedule", schedule_id)

    def query_due(self, until: datetime) -> Iterator[dict[str, Any]]:
        """Every indexed item with `due_at <= until`, across all shards. Reads only those items."""
        for shard in range(self._shards):
            start = None
            while True:
                kwargs: dict[str, Any] = {
                    "IndexName": DUE_INDEX,
                    "KeyConditionExpression": Key("due_pk").eq(f"DUE#{shard}")
                    & Key("due_at").lte(iso(until)),
                }
                if start:
                    kwargs["ExclusiveStartKey"] = start
                resp = self.table.query(**kwargs)
                for item in resp.get("Items", []):
                    yield {**_body(item), "kind": item.get("kind")}
                start = resp.get("LastEvaluatedKey")
                if not start:
                    break

    def get_items_consistent(self, refs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Strongly consistent reads of (kind, id) items, 100 per call; missing ones are left out."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(refs), 100):
            keys: list[dict[str, Any]] = [_pk(kind, item_id) for kind, item_id in refs[start : start + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                resp = self._resource.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    found.append({**_body(item), "kind": item.get("kind")})
                request = resp.get("UnprocessedKeys") or {}
        return found

    def start_run(
        self,
        run_id: str,
        *,
        now: datetime,
        lease_until: datetime,
        slot_of: str | None = None,
        exclusive: bool = False,
    ) -> None:
        """Move a queued run (or one whose lease expired) to running, taking one attempt.

        With `slot_of` (a schedule id) the schedule is taken first: it must be active and, when
        `exclusive`, free of any other run with an unexpired lease. Raises ConditionFailed with
        `failed` = [0] if the schedule refused, [1] if the run was not startable (then the slot
        is given back). Two writes rather than a transaction: a worker that dies between them
        leaves a slot that its lease frees, and a transaction is far costlier in the local stack.
        """
        if slot_of is not None:
            condition: ConditionBase = Attr("is_active").eq(True)
            changes: dict[str, Any] = {"last_run": iso(now), "last_run_id": run_id}
            if exclusive:
                condition = condition & (
                    Attr("active_run_id").not_exists()
                    | Attr("active_run_id").eq(run_id)
                    | Attr("active_lease_until").lt(iso(now))
                )
                changes.update({"active_run_id": run_id, "active_lease_until": iso(lease_until)})
            try:
                self._update_entity("schedule", slot_of, set_values=changes, condition=condition)
            except ConditionFailed as exc:
                raise ConditionFailed(str(exc), failed=[0]) from exc
        try:
            self._update_entity(
                "run",
                run_id,
                set_values={
                    "status": "running",
                    "started_at": iso(now),
                    "lease_until": iso(lease_until),
                    "holds_slot": exclusive,
                },
                add={"attempts": 1},
                condition=Attr("status").eq("queued")
                | (Attr("status").eq("running") & Attr("lease_until").lt(iso(now))),
            )
        except ConditionFailed as exc:
            if slot_of is not None and exclusive:
                self.release_slot(slot_of, run_id)
            raise ConditionFailed(str(exc), failed=[1]) from exc

    def release_slot(self, schedule_id: str, run_id: str) -> None:
        # If another run holds it, or the schedule is gone, there is nothing to release.
        with contextlib.suppress(ConditionFailed):
            self._update_entity(
                "schedule",
                schedule_id,
                remove=("active_run_id", "active_lease_until"),
                condition=Attr("active_run_id").eq(run_id),
            )

    # runs

    def create_run(self, run: Mapping[str, Any]) -> bool:
        """Create a run; False if a run with that id exists (an occurrence already claimed)."""
        settings = get_settings()
        extra: dict[str, Any] = {
            TTL_ATTRIBUTE: _ttl(parse_iso(run["created_at"]), settings.run_retention_days)
        }
        if run.get("source_id"):
            extra["GSI2PK"] = f"SRC#{run['source_type']}#{run['source_id']}"
            extra["GSI2SK"] = f"{run['created_at']}#{run['id']}"
        try:
            self._put_entity("run", run, extra=extra)
        except ConditionFailed:
            return False
        return True

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        return self._get_entity("run", run_id)

    def list_runs(
        self,
        workspace_id: str,
        *,
        status: str | None,
        source_type: str | None,
        source_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        filters: ConditionBase | None = None

        def also(cond: ConditionBase) -> None:
            nonlocal filters
            filters = cond if filters is None else filters & cond

        if status:
            also(Attr("status").eq(status))
        if source_id and source_type:
            also(Attr("workspace_id").eq(workspace_id))
            return self._query_page(
                index=GSI2,
                key=Key("GSI2PK").eq(f"SRC#{source_type}#{source_id}"),
                limit=limit,
                cursor=cursor,
                filters=filters,
            )
        if source_type:
            also(Attr("source_type").eq(source_type))
        if source_id:
            also(Attr("source_id").eq(source_id))
        return self._list_workspace("run", workspace_id, limit=limit, cursor=cursor, filters=filters)

    def update_run(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        *,
        condition: ConditionBase | None = None,
        add: Mapping[str, int] | None = None,
        remove: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        return self._update_entity(
            "run", run_id, set_values=changes, condition=condition, add=add, remove=remove
        )

    # Powertools idempotency shares the table

    def idempotency_layer(self, function_name: str) -> Any:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self.table_name,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=f"{IDEMPOTENCY_PK_PREFIX}{function_name}",
            expiry_attr=TTL_ATTRIBUTE,
        )

    # triggers

    @staticmethod
    def _trigger_index(trigger: Mapping[str, Any]) -> dict[str, Any]:
        if trigger["trigger_type"] == "event" and trigger.get("is_active"):
            event = str(trigger.get("config", {}).get("event", ""))
            return {"GSI2PK": f"EVT#{trigger['workspace_id']}", "GSI2SK": f"{event}#{trigger['id']}"}
        return {}

    def put_trigger(self, trigger: Mapping[str, Any]) -> None:
        self._put_entity("trigger", trigger, extra=self._trigger_index(trigger))

    def get_trigger(self, trigger_id: str) -> dict[str, Any] | None:
        return self._get_entity("trigger", trigger_id)

    def list_triggers(
        self, workspace_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._list_workspace("trigger", workspace_id, limit=limit, cursor=cursor)

    def update_trigger(self, trigger: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**trigger, **changes}
        index = self._trigger_index(merged)
        remove = () if index else ("GSI2PK", "GSI2SK")
        return self._update_entity("trigger", trigger["id"], set_values={**changes, **index}, remove=remove)

    def record_fire(self, trigger_id: str, now: datetime) -> None:
        with contextlib.suppress(ConditionFailed):
            self._update_entity(
                "trigger", trigger_id, set_values={"last_fired_at": iso(now)}, add={"fire_count": 1}
            )

    def delete_trigger(self, trigger_id: str) -> bool:
        return self._delete_entity("trigger", trigger_id)

    def event_triggers(self, workspace_id: str, prefix: str) -> list[dict[str, Any]]:
        """Active event triggers in a workspace listening for events that start with `prefix`
        (e.g. "run."): one query for every event a finished run emits."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": GSI2,
            "KeyConditionExpression": Key("GSI2PK").eq(f"EVT#{workspace_id}")
            & Key("GSI2SK").begins_with(prefix),
        }
        while True:
            resp = self.table.query(**kwargs)
            items.extend(_body(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # webhooks

    def put_webhook(self, webhook: Mapping[str, Any]) -> None:
        self._put_entity(
            "webhook", webhook, extra={"GSI2PK": f"HOOK#{webhook['url_path']}", "GSI2SK": "WEBHOOK"}
        )

    def get_webhook(self, webhook_id: str) -> dict[str, Any] | None:
        return self._get_entity("webhook", webhook_id)

    def webhook_by_path(self, url_path: str) -> dict[str, Any] | None:
        resp = self.table.query(
            IndexName=GSI2, KeyConditionExpression=Key("GSI2PK").eq(f"HOOK#{url_path}"), Limit=1
        )
        items = resp.get("Items", [])
        return _body(items[0]) if items else None

    def list_webhooks(
        self, workspace_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._list_workspace("webhook", workspace_id, limit=limit, cursor=cursor)

    def update_webhook(self, webhook_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self._update_entity("webhook", webhook_id, set_values=changes)

    def delete_webhook(self, webhook_id: str) -> bool:
        return self._delete_entity("webhook", webhook_id)

    # deliveries

    @staticmethod
    def _delivery_item(delivery: Mapping[str, Any], retention_days: int) -> dict[str, Any]:
        return _child_item(
            "delivery",
            delivery,
            parent=f"WEBHOOK#{delivery['webhook_id']}",
            at="received_at",
            retention_days=retention_days,
        )

    def accept_delivery(
        self, delivery: Mapping[str, Any], *, limit_per_minute: int, now: datetime, retention_days: int
    ) -> None:
        """Count the delivery against its webhook's per-minute limit and store it, atomically.
        ConditionFailed.failed is [0] when over the limit, [1] when the delivery id was seen."""
        minute = int(now.timestamp()) // 60
        counter = self._update_kwargs(
            "rate",
            f"{delivery['webhook_id']}#{minute}",
            set_values={TTL_ATTRIBUTE: (minute + 2) * 60},
            add={"n": 1},
            condition=Attr("n").not_exists() | Attr("n").lt(limit_per_minute),
            must_exist=False,
        )
        put = {
            "Item": self._delivery_item(delivery, retention_days),
            "ConditionExpression": Attr("PK").not_exists(),
        }
        self._transact([("Update", counter), ("Put", put)])

    def log_delivery(self, delivery: Mapping[str, Any], *, retention_days: int) -> None:
        """Record a delivery that was not accepted (unauthorized, duplicate, rate limited)."""
        self.table.put_item(Item=self._delivery_item(delivery, retention_days))

    def forget_delivery(self, delivery_id: str) -> None:
        self._delete_entity("delivery", delivery_id)

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return self._get_entity("delivery", delivery_id)

    def update_delivery(self, delivery_id: str, changes: Mapping[str, Any], *, only_if_status: str) -> None:
        self._update_entity(
            "delivery", delivery_id, set_values=changes, condition=Attr("status").eq(only_if_status)
        )

    def list_deliveries(
        self, webhook_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._query_page(
            index=GSI1,
            key=Key("GSI1PK").eq(f"WEBHOOK#{webhook_id}#DELIVERY"),
            limit=limit,
            cursor=cursor,
            filters=None,
        )

    # monitors

    def put_monitor(self, monitor: Mapping[str, Any], *, due_at: datetime | None) -> None:
        self._put_entity("monitor", monitor, extra=self._due_attributes(monitor["id"], due_at))

    def get_monitor(self, monitor_id: str) -> dict[str, Any] | None:
        return self._get_entity("monitor", monitor_id)

    def list_monitors(
        self, workspace_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._list_workspace("monitor", workspace_id, limit=limit, cursor=cursor)

    def update_monitor(
        self,
        monitor_id: str,
        changes: Mapping[str, Any],
        *,
        due_at: datetime | bool | None = False,
        expect_next_fire_at: str | None = None,
    ) -> dict[str, Any]:
        return self._update_due_item(
            "monitor", monitor_id, changes, due_at=due_at, expect_next_fire_at=expect_next_fire_at
        )

    def delete_monitor(self, monitor_id: str) -> bool:
        return self._delete_entity("monitor", monitor_id)

    def lock_monitor(
        self, monitor_id: str, check_id: str, *, now: datetime, until: datetime
    ) -> dict[str, Any]:
        """Hold the monitor for one check (its checks never overlap); ConditionFailed if another
        unexpired check holds it. Returns the monitor."""
        return self._update_entity(
            "monitor",
            monitor_id,
            set_values={"checking_id": check_id, "checking_until": iso(until)},
            condition=Attr("checking_id").not_exists()
            | Attr("checking_id").eq(check_id)
            | Attr("checking_until").lt(iso(now)),
        )

    def unlock_monitor(
        self,
        monitor_id: str,
        check_id: str,
        changes: Mapping[str, Any],
        *,
        add: Mapping[str, int] | None = None,
    ) -> None:
        """Record a check's outcome on the monitor and release it."""
        with contextlib.suppress(ConditionFailed):  # deleted meanwhile: nothing to record
            self._update_entity(
                "monitor",
                monitor_id,
                set_values=changes,
                add=add,
                remove=("checking_id", "checking_until"),
                condition=Attr("checking_id").eq(check_id),
            )

    def create_check(self, check: Mapping[str, Any], *, retention_days: int) -> bool:
        """Store a check; False if one with that id exists (the slot was already claimed)."""
        item = _child_item(
            "check",
            check,
            parent=f"MONITOR#{check['monitor_id']}",
            at="scheduled_for",
            retention_days=retention_days,
        )
        try:
            self._put_new(item)
        except ConditionFailed:
            return False
        return True

    def get_check(self, check_id: str) -> dict[str, Any] | None:
        return self._get_entity("check", check_id)

    def update_check(
        self, check_id: str, changes: Mapping[str, Any], *, only_if_status: str
    ) -> dict[str, Any]:
        return self._update_entity(
            "check", check_id, set_values=changes, condition=Attr("status").eq(only_if_status)
        )

    def list_checks(
        self, monitor_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self._query_page(
            index=GSI1,
            key=Key("GSI1PK").eq(f"MONITOR#{monitor_id}#CHECK"),
            limit=limit,
            cursor=cursor,
            filters=None,
        )

    def put_metric_value(
        self, monitor_id: str, measured_at: datetime, value: float, *, retention_days: int
    ) -> None:
        self.table.put_item(
            Item={
                "PK": f"MONVAL#{monitor_id}",
                "SK": f"{iso(measured_at)}#{secrets.token_hex(4)}",
                "value": _storable(float(value)),
                TTL_ATTRIBUTE: _ttl(measured_at, retention_days),
            }
        )

    def metric_values(self, monitor_id: str, since: datetime, until: datetime) -> list[float]:
        """Values measured in [since, until], oldest first."""
        values: list[float] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(f"MONVAL#{monitor_id}")
            & Key("SK").between(iso(since), iso(until) + "~"),
        }
        while True:
            resp = self.table.query(**kwargs)
            values.extend(float(_plain(i["value"])) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return values
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
