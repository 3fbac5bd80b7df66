"""Access shared by every entity kind: keyed by its own id, listed in its workspace, versioned.

Every write of an entity adds one to its `version`, so a change derived from what was read
(a next fire time computed from the cron and zone read) can be made conditional on nothing
having changed since: `update(..., expect_version=item["version"])`.

A kind's `sealed_fields` (signing secrets) are sealed (`proactive.sealing`) in every write and
unsealed in every read, bound to the item's kind and id and the attribute's name: the table, its
indexes, exports and backups hold them encrypted, and callers only ever see their plaintext. One
stored in clear, before values were sealed, reads back as it is and is sealed by the item's next
update (`Entities.update`).

A kind with a `record` (a `models.common.Record`) reads back as that model: `Records[MonitorRecord]`
gives `MonitorRecord`s, the others give dicts. A record is written as its fields (times as
fixed-width UTC text), with whatever else it holds. An item that no longer reads as its record (a
shape its model no longer takes) fails where it is read alone; in a list it is left out, with a
warning naming it, and the list goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from proactive import sealing
from proactive.errors import Conflict, InvalidInput, NotFound
from proactive.observability import logger
from proactive.store import keys
from proactive.store.table import ConditionFailed, Table, Update
from proactive.store.values import body, from_json_text, json_text

if TYPE_CHECKING:
    # Only the kinds with a record load pydantic (webhook ingest's cold start loads none).
    from proactive.models.common import Record

T = TypeVar("T")
S = TypeVar("S")
# What a kind's reads give: its record, or a dict for a kind without one.
ItemT = TypeVar("ItemT")

# How often a read-modify-write is tried before giving up on a busy item.
OPTIMISTIC_ATTEMPTS = 5


# The attributes that hold a signing secret (a current one, and its predecessor in its grace period).
SIGNING_SECRETS = ("secret", "previous_secret")


def sealing_context(kind: str, item_id: str, attribute: str) -> dict[str, str]:
    """What a sealed attribute is bound to: a sealed value copied to another item, or to another
    attribute, does not unseal there."""
    return {"kind": kind, "id": item_id, "attribute": attribute}


def seal_fields(kind: str, item_id: str, values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """`values` with each of `names` that holds text sealed (None and absent ones as they are)."""
    out = dict(values)
    for name in names:
        value = out.get(name)
        if isinstance(value, str) and value:
            out[name] = sealing.seal(value, sealing_context(kind, item_id, name))
    return out


def unseal_fields(kind: str, item: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """`item` (which has its `id`) with each of `names` it holds unsealed; text stored before
    values were sealed comes back as it is. SealError when one does not unseal."""
    out = dict(item)
    for name in names:
        value = out.get(name)
        if isinstance(value, str) and sealing.is_sealed(value):
            out[name] = sealing.unseal(value, sealing_context(kind, str(item["id"]), name))
    return out


def in_clear(item: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """The attributes among `names` that `item` (as stored) still holds in clear."""
    return {
        name: value
        for name in names
        if isinstance(value := item.get(name), str) and value and not sealing.is_sealed(value)
    }


def seal_in_place(
    table: Table, key: Mapping[str, str], kind: str, item_id: str, clear: Mapping[str, str]
) -> None:
    """Seal, in the stored item, the attributes `clear` gives with the text they hold. Only if each
    still holds that text (a write since then stored its own value, sealed), and leaving the version
    alone (the value means the same). Where this process cannot seal (its role may not make data
    keys), they are left for a process that can: they read back as they are meanwhile."""
    if not clear:
        return
    condition: ConditionBase | None = None
    for name, value in clear.items():
        same = Attr(name).eq(value)
        condition = same if condition is None else condition & same
    try:
        sealed = seal_fields(kind, item_id, clear, list(clear))
        table.update(Update(key=key, set_values=sealed, condition=condition))
    except (ConditionFailed, sealing.SealError):
        # Written since (so sealed by that write), or not sealable here: it reads back as it is.
        return


def version_is(expected: int) -> ConditionBase:
    """The item has not been written since it was read at `expected` (0: before versions)."""
    if expected == 0:
        return Attr(keys.VERSION_ATTRIBUTE).not_exists() | Attr(keys.VERSION_ATTRIBUTE).eq(0)
    return Attr(keys.VERSION_ATTRIBUTE).eq(expected)


def fields_of(entity: Mapping[str, Any] | Record) -> dict[str, Any]:
    """A new entity's fields as stored (times as fixed-width UTC text, which keys are built of),
    from a record or a mapping."""
    return dict(entity) if isinstance(entity, Mapping) else entity.as_stored()


def field_of(item: Any, name: str) -> Any:
    """A field of an item as read (a record or a dict); None if it has none."""
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


class Entities(Generic[ItemT]):
    """One kind of entity in the table, read back as `ItemT`: its `record`, or a dict."""

    kind: ClassVar[str]
    record: ClassVar[type[Record] | None] = None
    # Fields holding arbitrary JSON from outside (a payload): kept as JSON text, as it came, so
    # that whatever its numbers, depth or keys, it is stored and read back unchanged.
    json_fields: ClassVar[tuple[str, ...]] = ()
    # Fields holding a secret: sealed in the table, plaintext to callers (see the module's docstring).
    sealed_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, table: Table) -> None:
        self.table = table

    def shown(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """An item as callers see it: no key attributes, JSON fields decoded, sealed fields unsealed."""
        shown = body(item)
        for name in self.json_fields:
            if f"{name}_json" in shown:
                shown[name] = from_json_text(shown.pop(f"{name}_json"))
        return unseal_fields(self.kind, shown, self.sealed_fields) if self.sealed_fields else shown

    def read(self, item: Mapping[str, Any]) -> ItemT:
        """An item as the kind reads back: `shown`, as its record where it has one (ValidationError
        if the item does not read as one)."""
        shown = self.shown(item)
        return cast(ItemT, shown if self.record is None else self.record.model_validate(shown))

    def read_many(self, items: Sequence[Mapping[str, Any]]) -> list[ItemT]:
        """Items as the kind reads back, in order; one that does not read as its record is left
        out, with a warning naming it."""
        read: list[ItemT] = []
        for item in items:
            try:
                read.append(self.read(item))
            except ValueError as exc:
                # Only pydantic's ValidationError (a ValueError with `errors`, caught so that the
                # kinds without a record load no pydantic); a seal that does not open still fails.
                if not hasattr(exc, "errors"):
                    raise
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
                logger.warning(
                    "a stored item does not read as its record and is left out",
                    extra={"item_id": item.get("id"), "kind": self.kind, "fields": fields},
                )
        return read

    def key(self, item_id: str) -> dict[str, str]:
        return keys.entity(self.kind, item_id)

    def listing(self, entity: Mapping[str, Any]) -> dict[str, str]:
        """The index keys that list a new entity in its workspace."""
        return keys.workspace_listing(self.kind, entity["workspace_id"], entity["created_at"], entity["id"])

    def item(
        self, entity: Mapping[str, Any] | Record, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The stored form of a new entity: its keys, its workspace listing and its body."""
        entity = fields_of(entity)
        stored = {k: v for k, v in entity.items() if k not in self.json_fields}
        for name in self.json_fields:
            if entity.get(name) is not None:
                stored[f"{name}_json"] = json_text(entity[name], field=name)
        stored = seal_fields(self.kind, entity["id"], stored, self.sealed_fields)
        return {
            **self.key(entity["id"]),
            "kind": self.kind,
            **self.listing(entity),
            **stored,
            keys.VERSION_ATTRIBUTE: 1,
            **(extra or {}),
        }

    def put(self, entity: Mapping[str, Any] | Record, *, extra: Mapping[str, Any] | None = None) -> None:
        """Store a new entity; ConditionFailed if one with its id exists."""
        self.table.put_new(self.item(entity, extra))

    def get(self, item_id: str, *, consistent: bool = True) -> ItemT | None:
        item = self.table.get(self.key(item_id), consistent=consistent)
        return self.read(item) if item else None

    def owned(self, item_id: str, workspaces: frozenset[str]) -> ItemT:
        """The entity if it exists in one of `workspaces`. Anything else is NotFound: an entity
        in another workspace is indistinguishable from one that does not exist."""
        item = self.get(item_id)
        if item is None or field_of(item, "workspace_id") not in workspaces:
            raise NotFound(f"{self.kind} {item_id!r} not found")
        return item

    def referenced(self, item_id: str, workspace_id: str, *, field: str) -> ItemT:
        """An entity another one refers to (a schedule's agent, a webhook's trigger); InvalidInput
        naming `field` unless it is in that workspace."""
        item = self.get(item_id)
        if item is None or field_of(item, "workspace_id") != workspace_id:
            raise InvalidInput(
                f"{self.kind} {item_id!r} does not exist in workspace {workspace_id!r}", field=field
            )
        return item

    def page(
        self,
        workspace_id: str,
        *,
        limit: int,
        cursor: str | None,
        filters: ConditionBase | None = None,
    ) -> tuple[list[ItemT], str | None]:
        """One page of the workspace's entities, newest first."""
        items, next_cursor = self.table.query_page(
            index=keys.GSI1,
            partition=keys.workspace_partition(self.kind, workspace_id),
            limit=limit,
            cursor=cursor,
            filters=filters,
            shape=dict,
        )
        return self.read_many(items), next_cursor

    def all_in(self, workspace_id: str, *, filters: ConditionBase | None = None) -> list[ItemT]:
        """Every entity of the workspace (that matches `filters`), oldest first."""
        return self.read_many(
            list(
                self.table.query_all(
                    index=keys.GSI1,
                    key=Key(keys.GSI1PK).eq(keys.workspace_partition(self.kind, workspace_id)),
                    filters=filters,
                )
            )
        )

    def update(
        self,
        item_id: str,
        changes: Mapping[str, Any] | None = None,
        *,
        remove: Sequence[str] = (),
        add: Mapping[str, int] | None = None,
        append: Mapping[str, Sequence[Any]] | None = None,
        condition: ConditionBase | None = None,
        expect_version: int | None = None,
    ) -> ItemT:
        """Change an existing entity (if `condition` holds and, with `expect_version`, nobody
        wrote it since); return it as it is now. ConditionFailed otherwise. A sealed field among
        `changes` is stored sealed; one the item still held in clear is sealed then too."""
        if expect_version is not None:
            condition = (
                version_is(expect_version) if condition is None else condition & version_is(expect_version)
            )
        values = dict(changes or {})
        for name in self.json_fields:
            if name in values:
                value = values.pop(name)
                values[f"{name}_json"] = None if value is None else json_text(value, field=name)
        values = seal_fields(self.kind, item_id, values, self.sealed_fields)
        change = Update(
            key=self.key(item_id),
            set_values=values,
            add={**(add or {}), keys.VERSION_ATTRIBUTE: 1},
            remove=remove,
            condition=condition,
            append=append,
        )
        stored = self.table.update(change)
        seal_in_place(self.table, self.key(item_id), self.kind, item_id, in_clear(stored, self.sealed_fields))
        return self.read(stored)

    def delete(self, item_id: str, *, condition: ConditionBase | None = None) -> bool:
        return self.table.delete(self.key(item_id), condition=condition)


def modify(
    read: Callable[[], S],
    write: Callable[[S], T],
    *,
    what: str,
) -> T:
    """Read-modify-write without losing a concurrent change: `write` gets the current entity and
    must make its update conditional on that entity's version; when another write got there
    first, the entity is read again and `write` is called again."""
    for _ in range(OPTIMISTIC_ATTEMPTS):
        current = read()
        try:
            return write(current)
        except ConditionFailed:
            continue
    raise Conflict(f"{what} is being changed by another request; try again")
