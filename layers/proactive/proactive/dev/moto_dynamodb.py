"""moto's DynamoDB at the speed its answers allow: the same answers, without its two slow walks.

1. Queries read the partition they name. moto answers a Query by going through every item of
   the table and then sorting what matched: a page of a workspace's ten thousand runs costs as
   much as a scan of the table, once for each partition a listing merges. Here a query of the
   table reads the partition moto keeps anyway, and a query of an index the index's partition:
   each index's items are grouped by partition key after any write (a write may change an item's
   keys), each partition sorted in moto's order when first asked for. moto's own query then runs
   over that partition alone, so what it answers (conditions, filters, order, pages, projections,
   errors) is still moto's.
2. Items are written out as JSON directly. moto turns a result's attribute values into plain
   values, then writes the answer by walking the operation's output shape member by member; an
   attribute value is a union of ten members, tried one by one at every level of every map. Here
   each attribute value of a result becomes its written form (`{"S": ...}`, binary values encoded
   as moto encodes them) in one step, which the writing takes as it is; a value of another form
   still goes through moto's conversion and walk.

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

    return write


class _Partition:
    """The table as moto's query sees it: every item is the partition's, the rest is the table's.
    The items of an index's partition come sorted in the order moto sorts them in, so its sort of
    what matched (a part of them, in their order) is left out."""

    def __init__(self, table: Any, items: list[Any], *, in_order: bool) -> None:
        self._table = table
        self._items = items
        self._in_order = in_order

    def all_items(self) -> list[Any]:
        return self._items

    def sorted_items(
        self, hash_attrs: list[str], range_attrs: list[str | None], items: list[Any]
    ) -> list[Any]:
        if self._in_order:
            return items
        return list(self._table.sorted_items(hash_attrs, range_attrs, items))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


class _Groups:
    """An index's items by their partition key. A partition is sorted in moto's order when first
    asked for, and its items projected as the index projects them (what moto's query copies,
    measures and projects is then the index's item, not the table's)."""

    def __init__(self, generation: int, index: Any, sort_attrs: list[str]) -> None:
        self.generation = generation
        self.index = index
        self.sort_attrs = sort_attrs
        self.items: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        self.sorted: set[tuple[Any, ...]] = set()
        self.projected: dict[tuple[Any, ...], list[Any]] = {}

    def partition(self, key: tuple[Any, ...], *, projected: bool) -> list[Any]:
        items = self.items.get(key, [])
        if key not in self.sorted:
            attrs = self.sort_attrs
            items.sort(key=lambda item: tuple(item.attrs[attr] for attr in attrs))
            self.sorted.add(key)
        if not projected:
            return items
        if key not in self.projected:
            self.projected[key] = [self.index.project(item) for item in items]
        return self.projected[key]


def _groups(table: Any, index: Any, hash_attrs: list[str], sort_attrs: list[str]) -> _Groups:
    """The index's items grouped by partition, kept until the next write."""
    from moto.dynamodb.models.dynamo_type import Item

    generation = _generation[0]
    kept = _kept.setdefault(table, {})
    found = kept.get(index.name)
    if found is not None and found.generation == generation:
        return found
    groups = _Groups(generation, index, sort_attrs)
    for item in type(table).all_items(table):
        if not isinstance(item, Item) or any(attr not in item.attrs for attr in sort_attrs):
            continue  # not in the index (moto leaves it out too)
        try:
            groups.items[tuple(item.attrs[attr] for attr in hash_attrs)].append(item)
        except TypeError:  # a key of a type no partition key has: no query's value equals it
            continue
    kept[index.name] = groups
    return groups


def _partition(table: Any, asked: dict[str, Any]) -> _Partition | None:
    """The table as seen by a query of the partition it names, or None where it names none plainly."""
    index_name = asked.get("index_name")
    if not index_name:
        hash_key = asked.get("hash_key")
        if hash_key is None or not table.range_key_attr:
            return None
        return _Partition(table, list(table.items.get(hash_key, {}).values()), in_order=False)
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
    # A legacy QueryFilter is compared with the table's item before moto projects it.
    items = groups.partition(
        tuple(conditions[attr] for attr in hash_attrs), projected=not asked.get("filter_kwargs")
    )
    limit = asked.get("limit")
    if (
        isinstance(limit, int)
        and limit > 0
        and not asked.get("range_comparison")
        and not asked.get("exclusive_start_key")
        and not asked.get("filter_kwargs")
    ):
        # A first page with no sort key condition is the partition's first `limit` items in the
        # order asked for (a filter applies to those only), and one more tells moto there are
        # more: moto is handed those alone.
        items = items[: limit + 1] if asked.get("scan_index_forward", True) else items[-(limit + 1) :]
    return _Partition(table, items, in_order=True)


_querying = threading.local()


class _QueryCopies:
    """`copy` as moto's table module sees it. moto's query copies every item it found, attribute
    by attribute, before projecting, filtering and writing them out, none of which changes an
    attribute value: during a query, the items are copied and their values shared."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def deepcopy(self, found: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

        if not getattr(_querying, "active", False) or not isinstance(found, list):
            return self._module.deepcopy(found, memo)
        if not all(type(item) is Item for item in found):
            return self._module.deepcopy(found, memo)
        copies = []
        for item in found:
            copied: Any = Item.__new__(Item)
            copied.hash_key, copied.range_key = item.hash_key, item.range_key
            attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(attrs)
            dict.update(attrs, item.attrs)
            copied.attrs = attrs
            copies.append(copied)
        return copies

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _copy_lightly() -> None:
    from moto.dynamodb.models import table

    table.copy = _QueryCopies(table.copy)  # type: ignore[assignment,attr-defined]


def _measure_once() -> None:
    """An item's size (which moto's query measures twice for every item it returns, walking every
    attribute) kept with the item until the next write."""
    from moto.dynamodb.models.dynamo_type import Item

    measure = Item.size

    def size(self: Any) -> int:
        kept = self.__dict__.get("_measured")
        if kept is not None and kept[0] == _generation[0]:
            return int(kept[1])
        measured = measure(self)
        self.__dict__["_measured"] = (_generation[0], measured)
        return measured

    functools.update_wrapper(size, measure)
    Item.size = size  # type: ignore[method-assign]


def _project_directly() -> None:
    """An index's projection of an item whose projected attributes are all strings, made
    without moto's round trip of the whole item through plain JSON (the same item results)."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import SecondaryIndex

    through_json = SecondaryIndex.project

    def project(self: Any, item: Any) -> Any:
        kind = (self.projection or {}).get("ProjectionType")
        if kind not in ("KEYS_ONLY", "INCLUDE"):
            return through_json(self, item)
        names = [*self.table_key_attrs, *(key["AttributeName"] for key in self.schema)]
        if kind == "INCLUDE":
            names.extend(self.projection.get("NonKeyAttributes", []))
        kept = {name: item.attrs[name] for name in dict.fromkeys(names) if name in item.attrs}
        if any(value.type != "S" or not isinstance(value.value, str) for value in kept.values()):
            return through_json(self, item)
        return Item(
            hash_key=item.hash_key,
            range_key=item.range_key,
            attrs={name: {"S": value.value} for name, value in kept.items()},
        )

    functools.update_wrapper(project, through_json)
    SecondaryIndex.project = project  # type: ignore[method-assign]


_SERVICES = frozenset(("dynamodb", "dynamodbstreams"))


class _Wire(dict[str, Any]):
    """An attribute value already in the form it is written in."""


def _wire(value: Any) -> _Wire | None:
    """moto's attribute value (`DynamoType`) in the form moto's writing gives it, or None for a
    form this does not know (moto's own conversion takes it)."""
    kind, inner = value.type, value.value
    if kind in ("S", "N") and isinstance(inner, str):
        return _Wire({kind: inner})
    if kind in ("NULL", "BOOL") and isinstance(inner, bool):
        return _Wire({kind: inner})
    if kind in ("SS", "NS") and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
        return _Wire({kind: list(inner)})
    if kind == "M" and isinstance(inner, dict):
        members = {name: _wire(member) for name, member in inner.items()}
        return None if any(m is None for m in members.values()) else _Wire({"M": members})
    if kind == "L" and isinstance(inner, list):
        items = [_wire(member) for member in inner]
        return None if any(i is None for i in items) else _Wire({"L": items})
    if kind == "B" and isinstance(inner, bytes | str):
        return _Wire({"B": _base64(inner)})
    if kind == "BS" and isinstance(inner, list) and all(isinstance(v, bytes | str) for v in inner):
        return _Wire({"BS": [_base64(v) for v in inner]})
    return None


def _base64(value: bytes | str) -> str:
    """A binary value as moto writes it: stored as sent (base64) or as bytes, written as base64."""
    import base64

    raw = value if isinstance(value, bytes) else base64.b64decode(value)
    return base64.b64encode(raw).strip().decode("utf-8")


def _convert_directly() -> None:
    """moto turns a result's attribute values into plain values and its writing walks them again:
    here each becomes its written form in one step (anything else is converted by moto)."""
    from moto.dynamodb import responses
    from moto.dynamodb.models.dynamo_type import DynamoType

    convert = responses.dynamo_to_dict  # type: ignore[attr-defined]

    def to_dict(found: Any) -> Any:
        if isinstance(found, DynamoType):
            wire = _wire(found)
            return convert(found) if wire is None else wire
        if type(found) is dict or (isinstance(found, dict) and not isinstance(found, _Wire)):
            return {name: to_dict(value) for name, value in found.items()}
        if isinstance(found, list):
            return [to_dict(item) for item in found]
        return convert(found)

    functools.update_wrapper(to_dict, convert)
    responses.dynamo_to_dict = to_dict  # type: ignore[assignment,attr-defined]


def _write_items_directly() -> None:
    from moto.core.serialize import BaseJSONSerializer

    walk = BaseJSONSerializer._serialize

    def serialize(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            type(value) is _Wire
            and key
            and shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name in _SERVICES
        ):
            serialized[self.get_serialized_name(shape, key)] = value
            return
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
        _convert_directly()
        _project_directly()
        _measure_once()
        _copy_lightly()
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
            partition = _partition(self, asked)
            _querying.active = True
            try:
                return original(self if partition is None else partition, *args, **kwargs)
            finally:
                _querying.active = False

        functools.update_wrapper(query, original)
        query._by_partition = True  # type: ignore[attr-defined]
        Table.query = query  # type: ignore[method-assign]
