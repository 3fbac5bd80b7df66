"""The table's shared mechanics: conditional writes, updates, transactions, queries and pages.
Entity modules build on these; none of them talks to DynamoDB directly.

It uses the low-level client (thread-safe, and cheaper to create than a resource), so values
are converted on the way in and out (`store.values`), once: what DynamoDB cannot hold is refused
with the path to it before a call is made.

The secondary indexes hold keys (and, for GSI2, a webhook's few ingest fields), not whole items
(`keys.INDEX_PROJECTIONS`). A query of an index therefore returns whole items by reading them
from the table with BatchGetItem, in the index's order, and applies its filter to them here
(DynamoDB can only filter an index on what the index holds). An item gone from the table, or
no longer in the partition the index listed it under, is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder, Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from proactive import aws
from proactive.store.keys import INDEX_KEYS, PK, SK
from proactive.store.values import body, decode_cursor, encode_cursor, matches, plain, storable

# How many entries a filtered page of several partitions reads at a time (`Table.merged_page`).
FILTERED_CHUNK = 200


class ConditionFailed(Exception):
    """A conditional write did not apply (the item changed, exists, or does not). `failed` lists
    the positions, within a transaction, whose condition failed."""

    def __init__(self, message: str, *, failed: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.failed = list(failed)


class WriteConflict(Exception):
    """A transaction collided with another write to the same item; it may succeed if retried."""


@dataclass(frozen=True)
class Update:
    """One item's change for `Table.transact` (as `Table.update` takes it)."""

    key: Mapping[str, str]
    set_values: Mapping[str, Any] | None = None
    add: Mapping[str, int | float] | None = None
    remove: Sequence[str] = ()
    condition: ConditionBase | None = None
    must_exist: bool = True
    append: Mapping[str, Sequence[Any]] | None = None  # list attribute -> items to add at its end


@dataclass(frozen=True)
class Put:
    """A new item for `Table.transact`; by default it must not exist yet."""

    item: Mapping[str, Any]
    condition: ConditionBase | None = None


class _Expressions:
    """Placeholders for one request's names and values, shared by all its expressions."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._builder = ConditionExpressionBuilder()

    def condition(self, condition: ConditionBase, *, is_key: bool = False) -> str:
        built = self._builder.build_expression(condition, is_key_condition=is_key)
        self.names.update(built.attribute_name_placeholders)
        for placeholder, value in built.attribute_value_placeholders.items():
            self.values[placeholder] = storable(value)
        return str(built.condition_expression)

    def update(self, change: Update) -> str:
        sets, adds, removes = [], [], []
        for i, (name, value) in enumerate((change.set_values or {}).items()):
            self.names[f"#s{i}"] = name
            self.values[f":s{i}"] = storable(value, name)
            sets.append(f"#s{i} = :s{i}")
        for i, (name, items) in enumerate((change.append or {}).items()):
            self.names[f"#l{i}"] = name
            self.values[f":l{i}"] = storable(list(items), name)
            self.values[":empty_list"] = []
            sets.append(f"#l{i} = list_append(if_not_exists(#l{i}, :empty_list), :l{i})")
        for i, (name, amount) in enumerate((change.add or {}).items()):
            self.names[f"#a{i}"] = name
            self.values[f":a{i}"] = storable(amount, name)
            adds.append(f"#a{i} :a{i}")
        for i, name in enumerate(change.remove):
            self.names[f"#r{i}"] = name
            removes.append(f"#r{i}")
        parts = []
        if sets:
            parts.append("SET " + ", ".join(sets))
        if adds:
            parts.append("ADD " + ", ".join(adds))
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        return " ".join(parts)

    def arguments(self, serializer: TypeSerializer) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = {k: serializer.serialize(v) for k, v in self.values.items()}
        return out


def _chunk(wanted: int, filtered: bool, readable: int | None) -> int:
    """How many entries a page of several partitions reads next: those it still wants, or,
    filtered (few may be kept), a larger chunk, within what it may still read."""
    if not filtered:
        return wanted
    chunk = max(wanted, FILTERED_CHUNK)
    return chunk if readable is None else max(1, min(chunk, readable))


def _update_condition(change: Update) -> ConditionBase | None:
    condition: ConditionBase | None = Attr(PK).exists() if change.must_exist else None
    if change.condition is not None:
        condition = change.condition if condition is None else condition & change.condition
    return condition


class Table:
    """One DynamoDB table, through the low-level client (made on first use, when none is given:
    a function that never reaches the table, or not yet, does not pay for making it)."""

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def _serialize(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._serializer.serialize(v) for k, v in storable(dict(item)).items()}

    def _deserialize(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: plain(self._deserializer.deserialize(v)) for k, v in item.items()}

    @staticmethod
    def _call(call: Any, **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(str(exc)) from exc
            raise

    def put(self, item: Mapping[str, Any], *, condition: ConditionBase | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": self._serialize(item)}
        if condition is not None:
            expressions = _Expressions()
            kwargs["ConditionExpression"] = expressions.condition(condition)
            kwargs.update(expressions.arguments(self._serializer))
        self._call(self.client.put_item, **kwargs)

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Put items unconditionally, 25 per call (loading data, not recording changes)."""
        for offset in range(0, len(items), 25):
            request: dict[str, Any] = {
                self.name: [{"PutRequest": {"Item": self._serialize(i)}} for i in items[offset : offset + 25]]
            }
            while request:
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    def put_new(self, item: Mapping[str, Any]) -> None:
        """Put an item that must not exist yet; ConditionFailed if it does."""
        self.put(item, condition=Attr(PK).not_exists())

    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        resp = self.client.get_item(TableName=self.name, Key=self._serialize(key), ConsistentRead=consistent)
        item = resp.get("Item")
        return self._deserialize(item) if item else None

    def update(self, change: Update, *, returning: bool = True) -> dict[str, Any]:
        """Apply the change if its condition holds (and, unless `must_exist` is False, the item
        exists); return the whole item as it is now (unless `returning` is False: then nothing
        comes back, and an empty dict is returned)."""
        expressions = _Expressions()
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": self._serialize(change.key),
            "UpdateExpression": expressions.update(change),
            "ReturnValues": "ALL_NEW" if returning else "NONE",
        }
        condition = _update_condition(change)
        if condition is not None:
            kwargs["ConditionExpression"] = expressions.condition(condition)
        kwargs.update(expressions.arguments(self._serializer))
        resp = self._call(self.client.update_item, **kwargs)
        return self._deserialize(resp["Attributes"]) if returning else {}

    def delete(self, key: Mapping[str, str], *, condition: ConditionBase | None = None) -> bool:
        """Delete the item if it exists (and the condition holds); False otherwise."""
        expressions = _Expressions()
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": self._serialize(key),
            "ConditionExpression": expressions.condition(
                Attr(PK).exists() if condition is None else Attr(PK).exists() & condition
            ),
        }
        kwargs.update(expressions.arguments(self._serializer))
        try:
            self._call(self.client.delete_item, **kwargs)
        except ConditionFailed:
            return False
        return True

    def transact(self, operations: Sequence[Update | Put]) -> None:
        """Apply every operation or none. ConditionFailed.failed lists the positions whose
        condition failed; WriteConflict means another write got in the way (retry)."""
        items = []
        for op in operations:
            expressions = _Expressions()
            request: dict[str, Any] = {"TableName": self.name}
            if isinstance(op, Put):
                request["Item"] = self._serialize(op.item)
                condition: ConditionBase | None = (
                    op.condition if op.condition is not None else Attr(PK).not_exists()
                )
            else:
                request["Key"] = self._serialize(op.key)
                request["UpdateExpression"] = expressions.update(op)
                condition = _update_condition(op)
            if condition is not None:
                request["ConditionExpression"] = expressions.condition(condition)
            request.update(expressions.arguments(self._serializer))
            items.append({"Put" if isinstance(op, Put) else "Update": request})
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
            if failed:
                raise ConditionFailed(str(exc), failed=failed) from exc
            raise WriteConflict(str(exc)) from exc

    def query(
        self,
        *,
        index: str | None,
        key: ConditionBase,
        filters: ConditionBase | None = None,
        limit: int | None = None,
        start: Mapping[str, Any] | None = None,
        newest_first: bool = False,
        consistent: bool = False,
        whole: bool = True,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a query: the items and the key to continue from. Of an index, the items
        are read whole from the table (unless `whole` is False: then as the index holds them),
        and `filters` applies to them as read; `limit` counts index entries, as DynamoDB's
        Limit counts items evaluated before a filter."""
        expressions = _Expressions()
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": expressions.condition(key, is_key=True),
            "ScanIndexForward": not newest_first,
        }
        if index is not None:
            kwargs["IndexName"] = index
        if consistent:
            kwargs["ConsistentRead"] = True
        if filters is not None and index is None:
            kwargs["FilterExpression"] = expressions.condition(filters)
        if limit is not None:
            kwargs["Limit"] = limit
        if start:
            kwargs["ExclusiveStartKey"] = self._serialize(start)
        kwargs.update(expressions.arguments(self._serializer))
        resp = self.client.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        found = [self._deserialize(i) for i in resp.get("Items", [])]
        if index is not None:
            if whole:
                found = self.listed(found, index=index)
            if filters is not None:
                found = [i for i in found if matches(filters, i)]
        return found, (self._deserialize(last) if last else None)

    def listed(self, entries: Sequence[Mapping[str, Any]], *, index: str) -> list[dict[str, Any]]:
        """The items an index's entries point to, read from the table (eventually consistent, as
        the index is), in the entries' order; those gone, or no longer listed under the entry's
        partition, are left out."""
        if not entries:
            return []
        partition_key = INDEX_KEYS[index][0]
        found = {
            (i[PK], i[SK]): i
            for i in self.batch_get([{PK: e[PK], SK: e[SK]} for e in entries], consistent=False)
        }
        out = []
        for entry in entries:
            item = found.get((entry[PK], entry[SK]))
            if item is not None and item.get(partition_key) == entry.get(partition_key):
                out.append(item)
        return out

    def query_all(
        self,
        *,
        index: str | None,
        key: ConditionBase,
        filters: ConditionBase | None = None,
        whole: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every item the query matches, oldest first, page after page (`whole` as for `query`)."""
        start: dict[str, Any] | None = None
        while True:
            items, start = self.query(index=index, key=key, filters=filters, start=start, whole=whole)
            yield from items
            if not start:
                return

    def query_page(
        self,
        *,
        index: str | None,
        partition: str,
        limit: int,
        cursor: str | None,
        filters: ConditionBase | None = None,
        shape: Callable[[Mapping[str, Any]], dict[str, Any]] = body,
        oldest_first: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first (or oldest first), each item as `shape` gives it (default: without its key
        attributes). With a filter, keeps reading until the page is full or the index ends. On the
        table itself (`index` None) the read is consistent."""
        items: list[dict[str, Any]] = []
        start = decode_cursor(cursor, index=index, partition=partition)
        while True:
            found, start = self.query(
                index=index,
                key=Key(INDEX_KEYS[index][0]).eq(partition),
                filters=filters,
                limit=limit - len(items),
                start=start,
                newest_first=not oldest_first,
                consistent=index is None,
            )
            items.extend(shape(i) for i in found)
            if not start or len(items) >= limit:
                return items, encode_cursor(start)

    def merged_page(
        self,
        *,
        index: str,
        partitions: Sequence[str],
        named: str,
        limit: int,
        cursor: str | None,
        filters: ConditionBase | None = None,
        shape: Callable[[Mapping[str, Any]], dict[str, Any]] = body,
        keep: Callable[[Mapping[str, Any]], bool] | None = None,
        lowest: str | None = None,
        below: str | None = None,
        max_read: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page, newest first, of the items listed under several partitions of an index
        (the shards of one list) as if they were one: each is queried below the last item
        shown, and the entries merged by sort key. Sort keys are unique across the partitions
        (they end in the item's id), so the cursor is the last item's keys, with `named` as its
        partition: the same shape, and the same check, as the cursor of a one-partition list.

        Only entries whose sort key is at least `lowest` and less than `below` are read (a key
        condition: a range costs only what it holds). An item is kept when it matches `filters`
        and `keep`; with `max_read`, the page stops once that many items were read, so a filter
        few items match never reads the whole list: the page may then hold fewer than `limit`
        items (even none) and still have a cursor to go on from."""
        pk_name, sk_name = INDEX_KEYS[index]
        start = decode_cursor(cursor, index=index, partition=named)
        upper: str | None = below
        if start is not None and (upper is None or str(start[sk_name]) < upper):
            upper = str(start[sk_name])
        items: list[dict[str, Any]] = []
        read = 0

        def cursor_at(entry: Mapping[str, Any]) -> str | None:
            return encode_cursor({**{k: entry[k] for k in (PK, SK, sk_name)}, pk_name: named})

        while True:
            filtered = filters is not None or keep is not None
            wanted = _chunk(limit - len(items), filtered, None if max_read is None else max_read - read)
            entries, more = self._merged_entries(index, partitions, wanted, lowest, upper)
            taken = entries[:wanted]
            if not taken:
                return items, None
            more = more or len(entries) > wanted
            for item in self.listed(taken, index=index):
                if (filters is None or matches(filters, item)) and (keep is None or keep(item)):
                    items.append(shape(item))
                    if len(items) >= limit and (
                        more or item[SK] != taken[-1][SK] or item[PK] != taken[-1][PK]
                    ):
                        return items, cursor_at(item)
            read += len(taken)
            last = taken[-1]
            upper = str(last[sk_name])
            if not more or len(items) >= limit:
                return items, None
            if max_read is not None and read >= max_read:
                return items, cursor_at(last)

    def _merged_entries(
        self, index: str, partitions: Sequence[str], wanted: int, lowest: str | None, upper: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The newest entries of each partition with a sort key in [`lowest`, `upper`), newest
        first, and whether any partition holds more. The first `wanted` entries are the newest of
        all: each partition that has more entries gave `wanted` of its own, all newer than those
        it still holds."""
        pk_name, sk_name = INDEX_KEYS[index]
        entries: list[dict[str, Any]] = []
        more = False
        if lowest is not None and upper is not None and lowest >= upper:
            return entries, more
        for partition in partitions:
            condition: ConditionBase = Key(pk_name).eq(partition)
            asked = wanted
            if lowest is not None and upper is not None:
                # BETWEEN includes its upper end, which is excluded: one more is asked for, so
                # `wanted` are left once the entry at `upper` (if there is one) is dropped.
                condition = condition & Key(sk_name).between(lowest, upper)
                asked = wanted + 1
            elif lowest is not None:
                condition = condition & Key(sk_name).gte(lowest)
            elif upper is not None:
                condition = condition & Key(sk_name).lt(upper)
            found, following = self.query(
                index=index, key=condition, limit=asked, newest_first=True, whole=False
            )
            entries.extend(e for e in found if upper is None or str(e[sk_name]) < upper)
            more = more or following is not None
        entries.sort(key=lambda e: str(e[sk_name]), reverse=True)
        return entries, more

    def batch_get(
        self,
        keys: Sequence[Mapping[str, str]],
        *,
        consistent: bool = True,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The items at these keys (whole, or only `fields`), 100 per call; missing ones are left
        out."""
        found: list[dict[str, Any]] = []
        projection: dict[str, Any] = {}
        if fields:
            names = {f"#f{i}": name for i, name in enumerate(fields)}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        for offset in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self.name: {
                    "Keys": [self._serialize(k) for k in keys[offset : offset + 100]],
                    "ConsistentRead": consistent,
                    **projection,
                }
            }
            while request:
                resp = self.client.batch_get_item(RequestItems=request)
                found.extend(self._deserialize(i) for i in resp.get("Responses", {}).get(self.name, []))
                request = resp.get("UnprocessedKeys") or {}
        return found
