"""A workspace's secrets: set, listed with what uses each, deleted.

A secret belongs to one workspace; its value goes to the secret store (proactive.secret_store)
and never comes back out of the API. The table keeps each secret's name and dates, so that
listing never reads a value. Writes go in the order that keeps every value listed: the name is
recorded before its value is stored, and the value removed before its name.

What uses a secret is found by `references`, the one reading of where configuration names
secrets: an agent's `config.headers.<header>.secret` (http) and `config.api_key_secret` (llm), a
monitor's `source.headers.<header>.secret`, an ntfy channel's `config.token_secret` and a goal-loop
action's `headers.<header>.secret`. (The SMTP password is the platform's, not a workspace's.)
Deleting a secret that is used answers 409 naming the users; with `force`, monitors and actions
are paused and channels turned off first, each recording why. Agents have no off switch: their
runs fail, naming the missing secret, until it is set again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive import monitors, secret_store
from proactive.clock import iso
from proactive.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from proactive.models.common import WORKSPACE_ID, WORKSPACE_ID_RULE
from proactive.observability import logger
from proactive.settings import get_settings, shared_secret_pairs
from proactive.store import ConditionFailed, Store
from proactive.store.entities import Entities, fields_of, modify

# A workspace holds at most this many secrets (Parameter Store's standard tier holds 10,000 per
# account and region, for every workspace of every stage).
MAX_SECRETS = 100
# The kinds of resource whose configuration may name a secret, as `used_by` names them.
KINDS = ("agent", "monitor", "channel", "action")


def references(kind: str, item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every secret a resource of `kind` (agent, monitor, channel, action) names, as (secret
    name, field that names it), in the order of its fields. The one place that knows where
    configuration names secrets: `used_by`, the check before a delete and the migration of
    secrets to workspaces all read it."""
    found: list[tuple[str, str]] = []

    def headers(value: Any, where: str) -> None:
        if isinstance(value, Mapping):
            for header, given in value.items():
                if isinstance(given, Mapping) and isinstance(given.get("secret"), str):
                    found.append((given["secret"], f"{where}.{header}"))

    def named(value: Any, where: str) -> None:
        if isinstance(value, str) and value:
            found.append((value, where))

    def part(value: Any) -> Mapping[str, Any]:
        return value if isinstance(value, Mapping) else {}

    if kind == "agent":
        config = part(item.get("config"))
        headers(config.get("headers"), "config.headers")
        named(config.get("api_key_secret"), "config.api_key_secret")
    elif kind == "monitor":
        headers(part(item.get("source")).get("headers"), "source.headers")
    elif kind == "channel":
        named(part(item.get("config")).get("token_secret"), "config.token_secret")
    elif kind == "action":
        headers(item.get("headers"), "headers")
    return found


def _resources(store: Store, kind: str, workspace_id: str) -> list[dict[str, Any]]:
    entities: dict[str, Entities[Any]] = {
        "agent": store.agents,
        "monitor": store.monitors,
        "channel": store.channels,
    }
    if kind == "action":
        return store.actions.all_in(workspace_id)
    return [fields_of(item) for item in entities[kind].all_in(workspace_id)]


def users(store: Store, workspace_id: str) -> dict[str, list[dict[str, str]]]:
    """For each secret name the workspace's resources name: who names it (`kind`, `id`, `name`,
    and the `field` that names it)."""
    found: dict[str, list[dict[str, str]]] = {}
    for kind in KINDS:
        for item in _resources(store, kind, workspace_id):
            for name, field in references(kind, item):
                found.setdefault(name, []).append(
                    {"kind": kind, "id": str(item["id"]), "name": str(item.get("name") or ""), "field": field}
                )
    return found


def list_secrets(store: Store, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's secrets by name, each with `used_by`; never a value."""
    using = users(store, workspace_id)
    return [{**s, "used_by": using.get(s["name"], [])} for s in store.secrets.all_in(workspace_id)]


def put_secret(
    store: Store, workspace_id: str, name: str, value: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Create or replace the workspace's secret; returns its metadata (never the value) and
    whether it is new. InvalidInput for a name, workspace or value that cannot be stored (the
    message never repeats the value), or past MAX_SECRETS; ServiceUnavailable when the store did
    not take the value (the secret is then listed, and its earlier value, if any, kept)."""
    problem = secret_store.value_problem(value)
    if problem:
        raise InvalidInput(f"value {problem}", field="value")
    if not secret_store.NAME.match(name):
        raise InvalidInput("must be 1 to 128 letters, digits, '_', '.' or '-'", field="name")
    if not name.strip("."):
        # `.` and `..` would be path segments in Parameter Store and in URLs.
        raise InvalidInput("must not be made of dots alone", field="name")
    if not WORKSPACE_ID.match(workspace_id):
        raise InvalidInput(f"workspace_id must be {WORKSPACE_ID_RULE}", field="workspace_id")
    if (
        store.secrets.get(workspace_id, name) is None
        and len(store.secrets.all_in(workspace_id)) >= MAX_SECRETS
    ):
        raise InvalidInput(
            f"workspace {workspace_id!r} holds {MAX_SECRETS} secrets, the most it may; delete one first",
            field="name",
        )
    secret, created = store.secrets.record(workspace_id, name, iso(now))
    try:
        secret_store.put(workspace_id, name, value)
    except secret_store.SecretStoreError as exc:
        raise ServiceUnavailable(
            f"{exc}; the value was not stored (any earlier one is kept): set it again"
        ) from None
    logger.info("secret set", extra={"workspace_id": workspace_id, "secret": name, "is_new": created})
    return secret, created


def delete_secret(
    store: Store, workspace_id: str, name: str, now: datetime, *, force: bool
) -> dict[str, list[str]]:
    """Delete the workspace's secret (NotFound if it has none by that name: another workspace's
    is not its). While resources name it, Conflict naming them, unless `force`: then monitors
    and actions are paused and channels turned off first, each recording why (unless
    SHARED_SECRETS grants a platform secret under that name, which they will use instead).
    Returns the ids of what was paused or turned off."""
    if store.secrets.get(workspace_id, name) is None:
        raise NotFound(f"secret {name!r} not found")
    using = users(store, workspace_id).get(name, [])
    if using and not force:
        raise _refuse(name, using)
    done: dict[str, list[str]] = {}
    if name not in shared_secret_pairs(get_settings().shared_secrets):
        done = _pause(store, workspace_id, name, using, now)
    try:
        secret_store.delete(workspace_id, name)
    except secret_store.SecretStoreError as exc:
        raise ServiceUnavailable(f"{exc}; try again") from None
    store.secrets.delete(workspace_id, name)
    logger.info("secret deleted", extra={"workspace_id": workspace_id, "secret": name, "paused": done})
    return done


def _refuse(name: str, using: list[dict[str, str]]) -> Conflict:
    by_kind: dict[str, list[dict[str, str]]] = {}
    for user in using:
        by_kind.setdefault(f"{user['kind']}s", []).append(user)
    described = "; ".join(
        f"{len(items)} {kind}: "
        + ", ".join(f"{u['id']} ({u['name']})" for u in items[:10])
        + (" ..." if len(items) > 10 else "")
        for kind, items in by_kind.items()
    )
    return Conflict(
        f"secret {name!r} is in use by {described}; point them at another secret or delete them first, "
        "or delete with ?force=true to pause each of them (agents have no off switch: their runs fail "
        "until the secret is set again)",
        details=[
            {"field": kind, "message": ", ".join(u["id"] for u in items)} for kind, items in by_kind.items()
        ],
    )


def _pause(
    store: Store, workspace_id: str, name: str, using: list[dict[str, str]], now: datetime
) -> dict[str, list[str]]:
    workspaces = frozenset({workspace_id})
    reason = f"paused when the secret {name!r} it names was deleted"
    done: dict[str, list[str]] = {}
    for user in using:
        if user["kind"] == "monitor":
            try:
                monitors.set_active(store, user["id"], False, workspaces, now, reason=reason)
            except NotFound:
                continue  # deleted in the meantime
        elif user["kind"] == "action":
            try:
                modify(
                    partial(store.actions.owned, user["id"], workspaces),
                    partial(_paused_action, store, reason, now),
                    what=f"action {user['id']!r}",
                )
            except NotFound:
                continue
        elif user["kind"] == "channel":
            try:
                store.channels.update(
                    user["id"],
                    {
                        "is_active": False,
                        "disabled_reason": f"turned off when the secret {name!r} it names was deleted",
                        "updated_at": iso(now),
                    },
                    condition=Attr("is_active").eq(True),
                )
            except ConditionFailed:
                continue  # off already (or deleted)
        else:
            continue
        done.setdefault(f"{user['kind']}s", []).append(user["id"])
    return done


def _paused_action(store: Store, reason: str, now: datetime, current: dict[str, Any]) -> dict[str, Any]:
    return store.actions.change(
        current, {"is_active": False, "paused_reason": reason, "updated_at": iso(now)}
    )
