"""moto's DynamoDB at the speed its answers allow: the same answers, without its two slow walks.

1. Queries read the partition they name. moto answers a Query by going through every item of
   the table and then sorting what matched: a page of a workspace's ten thousand runs costs as
   much as a scan of the table, once for each partition a listing merges. Here a query of the
   table reads the partition moto keeps anyway, and a query of an index the index's partition:
   each index's items are grouped by partition key after any write (a write may change an item's
   keys), each partition sorted in moto's order when first asked for. moto's own query then runs
   over that partition alone, so what it answers (conditions, filters, order, pages, projections,
   errors) is still moto's.
2. Items are written out as JSON directly. moto writes every answer by walking the operation's
   output shape member by member; an item's attribute values are a union of ten members, tried
   one by one at every level of every map. Here an attribute value is written as what it already
   is, `{"S": ...}`, with binary values encoded as moto encodes them; anything of another form
   still goes through moto's walk.

Installed in the local stack's moto server and for the tests' in-process moto; once per process.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
# Kept beside each table, not in it: moto copies a whole table for each transaction.
_kept: weakref.WeakKeyDictionary[Any, dict[str, _Groups]] = weakref.WeakKeyDictionary()
_generation = [0]  # a write moves it on, before and after: what was grouped during it is stale


def _moved_on() -> None:
    with _lock:
        _generation[0] += 1


def _writing(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def write(*args: Any, **kwargs: Any) -> Any:
        _moved_on()
        try:
            return function(*args, **kwargs)
        finally:
            _moved_on()

    write._writing = True  # type: ignore[attr-defined]
    return write


class _Partition:
    """The table as moto's query sees it: every item is the partition's, the rest is the table's."""

    def __init__(self, table: Any, items: list[Any]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Any]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


class _Groups:
    """An index's items by their partition key, each sorted in moto's order when first asked for."""

    def __init__(self, generation: int, sort_attrs: list[str]) -> None:
        self.generation = generation
        self.sort_attrs = sort_attrs
        self.items: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        self.sorted: set[tuple[Any, ...]] = set()

    def partition(self, key: tuple[Any, ...]) -> list[Any]:
        items = self.items.get(key, [])
        if key not in self.sorted:
            attrs = self.sort_attrs
            items.sort(key=lambda item: tuple(item.attrs[attr] for attr in attrs))
            self.sorted.add(key)
        return items


def _groups(table: Any, index: Any, hash_attrs: list[str], sort_attrs: list[str]) -> _Groups:
    """The index's items grouped by partition, kept until the next write."""
    from moto.dynamodb.models.dynamo_type import Item

    generation = _generation[0]
    kept = _kept.setdefault(table, {})
    found = kept.get(index.name)
    if found is not None and found.generation == generation:
        return found
    groups = _Groups(generation, sort_attrs)
    for item in type(table).all_items(table):
        if not isinstance(item, Item) or any(attr not in item.attrs for attr in sort_attrs):
            continue  # not in the index (moto leaves it out too)
        try:
            groups.items[tuple(item.attrs[attr] for attr in hash_attrs)].append(item)
        except TypeError:  # a key of a type no partition key has: no query's value equals it
            continue
    kept[index.name] = groups
    return groups


def _partition(table: Any, asked: dict[str, Any]) -> list[Any] | None:
    """The items of the partition the query names, or None where it names none plainly."""
    index_name = asked.get("index_name")
    if not index_name:
        hash_key = asked.get("hash_key")
        if hash_key is None or not table.range_key_attr:
            return None
        return list(table.items.get(hash_key, {}).values())
    index = {index.name: index for index in table.all_indexes()}.get(index_name)
    conditions = dict(asked.get("hash_key_conditions") or [])
    if index is None or not conditions:
        return None
    hash_attrs = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    range_attrs = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    if set(conditions) != set(hash_attrs) or not range_attrs or not table.range_key_attr:
        return None
    # moto's order for an index with a sort key: its keys, then the table's.
    sort_attrs = table._generate_attr_to_sort_by(
        [*hash_attrs, table.hash_key_attr], [*range_attrs, table.range_key_attr]
    )
    groups = _groups(table, index, hash_attrs, sort_attrs)
    return groups.partition(tuple(conditions[attr] for attr in hash_attrs))


class _Unusual(Exception):
    """An attribute value of a form the direct writing does not know: moto's walk writes it."""


_SERVICES = frozenset(("dynamodb", "dynamodbstreams"))
_PLAIN = frozenset(("S", "N", "SS", "NS", "NULL", "BOOL"))


def _attribute(serializer: Any, value: Any) -> dict[str, Any]:
    """An attribute value (`{"M": {...}}`, `{"S": "..."}`) as moto's JSON walk would write it."""
    if not isinstance(value, dict) or len(value) != 1:
        raise _Unusual
    ((kind, inner),) = value.items()
    if kind == "M" and isinstance(inner, dict):
        return {"M": {name: _attribute(serializer, member) for name, member in inner.items()}}
    if kind == "L" and isinstance(inner, list):
        return {"L": [_attribute(serializer, member) for member in inner]}
    if kind == "B" and isinstance(inner, bytes | str):
        return {"B": serializer._base64(inner)}
    if kind == "BS" and isinstance(inner, list):
        return {"BS": [serializer._base64(member) for member in inner]}
    if kind in ("S", "N") and not isinstance(inner, str):
        raise _Unusual
    if kind in _PLAIN and inner is not None:
        return {kind: inner}
    raise _Unusual


def _write_items_directly() -> None:
    from moto.core.serialize import BaseJSONSerializer

    walk = BaseJSONSerializer._serialize

    def serialize(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and shape.type_name == "structure"
            and self.operation_model.service_model.service_name in _SERVICES
        ):
            try:
                serialized[self.get_serialized_name(shape, key)] = _attribute(self, value)
                return
            except _Unusual:
                pass
        walk(self, serialized, value, shape, key)

    functools.update_wrapper(serialize, walk)
    BaseJSONSerializer._serialize = serialize  # type: ignore[method-assign]


def install() -> None:
    """Queries read their partition (every write of items forgets the grouping); attribute values
    are written directly."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _lock:
        if getattr(Table.query, "_by_partition", False):
            return
        _write_items_directly()
        for owner, names in (
            (Table, ("put_item", "delete_item")),
            (
                DynamoDBBackend,
                (
                    "create_table",
                    "delete_table",
                    "update_table",
                    "update_item",
                    "transact_write_items",
                    "execute_statement",
                    "execute_transaction",
                    "batch_execute_statement",
                    "import_table",
                    "restore_table_from_backup",
                    "restore_table_to_point_in_time",
                ),
            ),
        ):
            for name in names:
                setattr(owner, name, _writing(getattr(owner, name)))
        original: Callable[..., Any] = Table.query
        signature = inspect.signature(original)

        def query(self: Any, *args: Any, **kwargs: Any) -> Any:
            asked = signature.bind(self, *args, **kwargs).arguments
            items = _partition(self, asked)
            return original(self if items is None else _Partition(self, items), *args, **kwargs)

        functools.update_wrapper(query, original)
        query._by_partition = True  # type: ignore[attr-defined]
        Table.query = query  # type: ignore[method-assign]
