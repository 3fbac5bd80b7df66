"""Access shared by every entity kind: keyed by its own id, listed in its workspace, versioned.

Every write of an entity adds one to its `version`, so a change derived from what was read
(a next fire time computed from the cron and zone read) can be made conditional on nothing
having changed since: `update(..., expect_version=item["version"])`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from proactive.errors import Conflict, InvalidInput, NotFound
from proactive.store import keys
from proactive.store.table import ConditionFailed, Table, Update, body, from_json_text, json_text

T = TypeVar("T")

# How often a read-modify-write is tried before giving up on a busy item.
OPTIMISTIC_ATTEMPTS = 5


def version_is(expected: int) -> ConditionBase:
    """The item has not been written since it was read at `expected` (0: before versions)."""
    if expected == 0:
        return Attr(keys.VERSION_ATTRIBUTE).not_exists() | Attr(keys.VERSION_ATTRIBUTE).eq(0)
    return Attr(keys.VERSION_ATTRIBUTE).eq(expected)


class Entities:
    """One kind of entity in the table."""

    kind: ClassVar[str]
    # Fields holding arbitrary JSON from outside (a payload): kept as JSON text, as it came, so
    # that whatever its numbers, depth or keys, it is stored and read back unchanged.
    json_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, table: Table) -> None:
        self.table = table

    def shown(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """An item as callers see it: no key attributes, JSON fields decoded."""
        shown = body(item)
        for name in self.json_fields:
            if f"{name}_json" in shown:
                shown[name] = from_json_text(shown.pop(f"{name}_json"))
        return shown

    def key(self, item_id: str) -> dict[str, str]:
        return keys.entity(self.kind, item_id)

    def listing(self, entity: Mapping[str, Any]) -> dict[str, str]:
        """The index keys that list a new entity in its workspace."""
        return keys.workspace_listing(self.kind, entity["workspace_id"], entity["created_at"], entity["id"])

    def item(self, entity: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The stored form of a new entity: its keys, its workspace listing and its body."""
        stored = {k: v for k, v in entity.items() if k not in self.json_fields}
        for name in self.json_fields:
            if entity.get(name) is not None:
                stored[f"{name}_json"] = json_text(entity[name], field=name)
        return {
            **self.key(entity["id"]),
            "kind": self.kind,
            **self.listing(entity),
            **stored,
            keys.VERSION_ATTRIBUTE: 1,
            **(extra or {}),
        }

    def put(self, entity: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None) -> None:
        """Store a new entity; ConditionFailed if one with its id exists."""
        self.table.put_new(self.item(entity, extra))

    def get(self, item_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        item = self.table.get(self.key(item_id), consistent=consistent)
        return self.shown(item) if item else None

    def owned(self, item_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
        """The entity if it exists in one of `workspaces`. Anything else is NotFound: an entity
        in another workspace is indistinguishable from one that does not exist."""
        item = self.get(item_id)
        if item is None or item.get("workspace_id") not in workspaces:
            raise NotFound(f"{self.kind} {item_id!r} not found")
        return item

    def referenced(self, item_id: str, workspace_id: str, *, field: str) -> dict[str, Any]:
        """An entity another one refers to (a schedule's agent, a webhook's trigger); InvalidInput
        naming `field` unless it is in that workspace."""
        item = self.get(item_id)
        if item is None or item.get("workspace_id") != workspace_id:
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
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the workspace's entities, newest first."""
        return self.table.query_page(
            index=keys.GSI1,
            partition=keys.workspace_partition(self.kind, workspace_id),
            limit=limit,
            cursor=cursor,
            filters=filters,
            shape=self.shown,
        )

    def all_in(self, workspace_id: str, *, filters: ConditionBase | None = None) -> list[dict[str, Any]]:
        """Every entity of the workspace (that matches `filters`), oldest first."""
        return [
            self.shown(i)
            for i in self.table.query_all(
                index=keys.GSI1,
                key=Key(keys.GSI1PK).eq(keys.workspace_partition(self.kind, workspace_id)),
                filters=filters,
            )
        ]

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
    ) -> dict[str, Any]:
        """Change an existing entity (if `condition` holds and, with `expect_version`, nobody
        wrote it since); return it as it is now. ConditionFailed otherwise."""
        if expect_version is not None:
            condition = (
                version_is(expect_version) if condition is None else condition & version_is(expect_version)
            )
        values = dict(changes or {})
        for name in self.json_fields:
            if name in values:
                value = values.pop(name)
                values[f"{name}_json"] = None if value is None else json_text(value, field=name)
        change = Update(
            key=self.key(item_id),
            set_values=values,
            add={**(add or {}), keys.VERSION_ATTRIBUTE: 1},
            remove=remove,
            condition=condition,
            append=append,
        )
        return self.shown(self.table.update(change))

    def delete(self, item_id: str, *, condition: ConditionBase | None = None) -> bool:
        return self.table.delete(self.key(item_id), condition=condition)


def modify(
    read: Callable[[], dict[str, Any]],
    write: Callable[[dict[str, Any]], T],
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
