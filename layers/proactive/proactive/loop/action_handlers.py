"""Action handlers: what the goal loop can do for a goal, each named once in its workspace.

An action serves the goal types it lists and is one of three kinds:

- `agent`: gives an agent of the workspace a task, `task_template` filled from the goal;
- `http`: POSTs to the user's endpoint (whose URL passes the same check as an http agent's),
  signed with Standard Webhooks headers and the action's own secret, shown once when it is made;
- `notify`: tells channels of the workspace, `message_template` (optional) filled from the goal.

Templates are filled with the goal's fields (`GOAL_FIELDS`) and `{parameters.<path>}` from the
action's parameters. Each placeholder is checked whenever a template or the parameters are set,
so an action never fails later for a field it cannot have.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from proactive.agents import require_agent_in
from proactive.agents.runtimes.http import HttpConfig
from proactive.clock import epoch_iso, iso
from proactive.errors import InvalidInput, NotFound
from proactive.ids import new_id
from proactive.lib.signatures import new_secret
from proactive.lib.templates import TemplateError, fields, lookup, render
from proactive.models.actions import ActionCreate, ActionUpdate
from proactive.store import Store
from proactive.store.actions import RECORD_FIELDS
from proactive.store.entities import modify

if TYPE_CHECKING:  # the goals (and numpy with them) load where goals are set, not with the API
    from proactive.loop.goals import Goal

# What a template may name, besides {parameters.<path>}: each filled from the goal acted on.
GOAL_FIELDS: dict[str, str] = {
    "goal_id": "the goal's id",
    "goal_type": "its type, e.g. BOTTLENECK_PREVENTION",
    "title": "its title, e.g. 'Prevent cpu_usage bottleneck'",
    "description": "what was found and why the goal was set",
    "metric": "the metric, e.g. cpu_usage",
    "resource": "what the goal works on (the metric, unless its rule names a resource)",
    "target": "what should hold, e.g. 'cpu_usage <= 80'",
    "target_value": "the target's number, e.g. 80",
    "current_value": "the metric's current level (null when unknown)",
    "predicted_breach_at": "when the forecast crosses the target, UTC ISO-8601 (null when it does not)",
    "predicted_value": "the forecast value at that time (null when it does not cross)",
    "priority": "0 to 100, the most pressing highest",
    "priority_label": "low, medium, high or critical",
    "due_at": "when the goal must be met, UTC ISO-8601 (null when open-ended)",
    "evidence": "why the goal was set, in one sentence with its numbers",
}


def fill(template: str, goal: Goal, parameters: Mapping[str, Any]) -> str:
    """The template with each placeholder filled from the goal (`GOAL_FIELDS`) and parameters."""
    evidence = goal.evidence
    context = {
        "goal_id": goal.id,
        "goal_type": str(goal.type),
        "title": goal.title,
        "description": goal.description,
        "metric": goal.metric,
        "resource": goal.resource,
        "target": str(goal.target),
        "target_value": goal.target.value,
        "current_value": evidence.observed,
        "predicted_breach_at": epoch_iso(evidence.breach_at),
        "predicted_value": evidence.breach_value,
        "priority": goal.priority,
        "priority_label": goal.priority_label,
        "due_at": epoch_iso(goal.due_at),
        "evidence": evidence.summary,
        "parameters": dict(parameters),
    }
    return render(template, context)


def check_template(template: str, parameters: Mapping[str, Any], *, field: str) -> None:
    """InvalidInput naming `field` unless every placeholder is a goal field or a path into the
    parameters that exists."""
    try:
        names = fields(template)
    except TemplateError as exc:
        raise InvalidInput(str(exc), field=field) from None
    for name in names:
        if name in GOAL_FIELDS:
            continue
        if name == "parameters" or name.startswith("parameters."):
            try:
                lookup({"parameters": parameters}, name)
            except KeyError as missing:
                raise InvalidInput(
                    f"placeholder {{{name}}}: the action's parameters have no '{missing.args[0]}'",
                    field=field,
                ) from None
            continue
        known = ", ".join(f"{{{f}}}" for f in GOAL_FIELDS)
        raise InvalidInput(
            f"placeholder {{{name}}} is not a goal field; use {known} or {{parameters.<key>}}", field=field
        )


# Each kind's checks: given the store, the fields being set, the action as it will be and its
# workspace, the kind's fields to store.
Check = Callable[[Store, Mapping[str, Any], Mapping[str, Any], str], dict[str, Any]]


def _agent(
    store: Store, changes: Mapping[str, Any], merged: Mapping[str, Any], workspace: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "agent_id" in changes:
        out["agent_id"] = require_agent_in(store, changes["agent_id"], workspace)["id"]
    if "task_template" in changes or "parameters" in changes:
        check_template(merged["task_template"], merged.get("parameters") or {}, field="task_template")
    return out


def _http(
    store: Store, changes: Mapping[str, Any], merged: Mapping[str, Any], workspace: str
) -> dict[str, Any]:
    if not {"url", "headers", "timeout_seconds"} & changes.keys():
        return {}
    try:
        config = HttpConfig.model_validate(
            {k: merged[k] for k in ("url", "headers", "timeout_seconds") if merged.get(k) is not None}
        )
    except ValidationError as exc:
        problems = [
            {
                "field": ".".join(map(str, e["loc"])) or "url",
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        raise InvalidInput(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            field=problems[0]["field"],
            details=problems,
        ) from None
    dumped = config.model_dump()
    return {
        "url": dumped["url"],
        "method": "POST",
        "headers": dumped["headers"],
        "timeout_seconds": dumped["timeout_seconds"],
    }


def _notify(
    store: Store, changes: Mapping[str, Any], merged: Mapping[str, Any], workspace: str
) -> dict[str, Any]:
    if "channels" in changes:
        for channel_id in changes["channels"]:
            store.channels.referenced(channel_id, workspace, field="channels")
    template = merged.get("message_template")
    if template is not None and ("message_template" in changes or "parameters" in changes):
        check_template(template, merged.get("parameters") or {}, field="message_template")
    return {}


@dataclass(frozen=True)
class _Kind:
    fields: tuple[str, ...]
    required: tuple[str, ...]
    check: Check
    signed: bool = False


_KINDS: dict[str, _Kind] = {
    "agent": _Kind(("agent_id", "task_template"), ("agent_id", "task_template"), _agent),
    "http": _Kind(("url", "method", "headers", "timeout_seconds"), ("url",), _http, signed=True),
    "notify": _Kind(("channels", "message_template"), ("channels",), _notify),
}


def _refuse_foreign(kind: str, given: Collection[str]) -> None:
    """A field of another kind is a mistake worth naming, not something to ignore."""
    own = _KINDS[kind].fields
    for other, spec in _KINDS.items():
        for name in spec.fields:
            if name in given and name not in own:
                raise InvalidInput(f"{name} applies to {other} actions, not to {kind} ones", field=name)


def present(action: Mapping[str, Any]) -> dict[str, Any]:
    """An action as the API shows it: its record under `statistics`."""
    shown = {k: v for k, v in action.items() if k not in RECORD_FIELDS}
    shown["statistics"] = {k: action[k] for k in RECORD_FIELDS if k in action}
    return shown


def create_action(store: Store, data: ActionCreate, workspace_id: str, now: datetime) -> dict[str, Any]:
    """Create an action; an http action's answer holds its secret, shown this once."""
    spec = _KINDS[data.kind]
    _refuse_foreign(data.kind, data.model_fields_set)
    given = data.model_dump()
    for name in spec.required:
        if given.get(name) is None:
            raise InvalidInput(f"{name} is required for {data.kind} actions", field=name)
    settings = {name: given[name] for name in spec.fields if given.get(name) is not None}
    settings |= spec.check(store, settings | {"parameters": data.parameters}, given, workspace_id)
    action: dict[str, Any] = {
        "id": new_id("act"),
        "workspace_id": workspace_id,
        "name": data.name,
        "description": data.description,
        "goal_types": [str(t) for t in data.goal_types],
        "kind": data.kind,
        **settings,
        "requires_approval": data.requires_approval,
        "approval_timeout_minutes": data.approval_timeout_minutes,
        "parameters": data.parameters,
        "is_active": data.is_active,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    if spec.signed:
        action["secret"] = new_secret("standard")
    return present(store.actions.create(action))


def get_action(store: Store, action_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return present(store.actions.owned(action_id, workspaces))


def update_action(
    store: Store, action_id: str, data: ActionUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    """Change the fields given (`headers` and `channels` are replaced whole), against the action
    as it is when written, so a concurrent change to other fields is kept; the references and
    templates changed are checked again."""
    requested = data.model_dump(exclude_unset=True)

    def write(action: dict[str, Any]) -> dict[str, Any]:
        _refuse_foreign(action["kind"], requested)
        changes = dict(requested)
        changes |= _KINDS[action["kind"]].check(store, changes, {**action, **changes}, action["workspace_id"])
        if "goal_types" in changes:
            changes["goal_types"] = [str(t) for t in changes["goal_types"]]
        if changes.get("is_active"):
            changes["paused_reason"] = None
        changes["updated_at"] = iso(now)
        return store.actions.change(action, changes)

    read = partial(store.actions.owned, action_id, workspaces)
    return present(modify(read, write, what=f"action {action_id!r}"))


def delete_action(store: Store, action_id: str, workspaces: frozenset[str]) -> None:
    """Delete the action and its record: a new action of the same name starts with none."""
    if not store.actions.remove(store.actions.owned(action_id, workspaces)):
        raise NotFound(f"action {action_id!r} not found")
