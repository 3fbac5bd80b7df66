"""The goal loop's settings: one item per workspace, the defaults until it is first changed.

An update is partial at any depth: fields left out keep their value, and `rules`, when given,
replaces the list. Each rule is accepted as text or as an object and stored as its normalised
text (`proactive.loop.rules`), which reads back to the same rule; a rule that does not parse is
refused naming it and its field (`rules[1].value`), as is one watching the same condition as an
earlier one. The update is applied to the settings as read and written only if nobody wrote
them since; otherwise it is applied again to what the other writer stored, so two concurrent
updates of different fields both hold.

One analysis interval. The forecasting block and the agent block each name an
`analysis_interval_minutes` (the forecasting engine's and the agent's); the loop runs one
analysis, so both are one value, shown in both blocks. An update may give it in either block,
or in both if they agree.

When the next analysis is due (`next_analysis_at`): never while autonomous mode or auto analysis
is off; at once when both come on; then the last analysis plus the interval (a new interval
counts from the last analysis). The item is not in the due index yet: the dispatcher counts an
indexed item of a kind nothing is registered to dispatch as an error at every tick, so it joins
the index together with the goal loop's due kind in `proactive.wiring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from pydantic import ValidationError

from proactive.clock import iso, parse_iso
from proactive.errors import InvalidInput
from proactive.loop.rules import parse_rule
from proactive.models.loop import MAX_RULE_CHARS, LoopConfig
from proactive.store import Store
from proactive.store.entities import modify

_CONFIG_FIELDS = tuple(LoopConfig.model_fields)
# Kept from the stored item by every update, whatever it changes.
_STATE_FIELDS = ("last_analysis_at", "created_at")


def defaults(workspace_id: str) -> dict[str, Any]:
    """The settings of a workspace that never changed them (version 0)."""
    return {
        **LoopConfig().model_dump(mode="json"),
        "workspace_id": workspace_id,
        "next_analysis_at": None,
        "last_analysis_at": None,
        "updated_at": None,
        "version": 0,
    }


def current(store: Store, workspace_id: str) -> dict[str, Any]:
    """The workspace's settings as stored, over the defaults (so a field added since they were
    stored shows its default)."""
    return _merged(defaults(workspace_id), store.loop_settings.get(workspace_id) or {})


def shown(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as the API shows them."""
    return {name: settings.get(name) for name in defaults("")}


def update(store: Store, workspace_id: str, changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Apply `changes` (the update's fields that were given, nested as shown) and return the
    settings as stored. InvalidInput naming the field for a bad rule or two different intervals."""
    changes = dict(changes)
    if "rules" in changes:
        changes["rules"] = normalised_rules(changes["rules"])
    interval = _analysis_interval(changes)
    if interval is not None:
        for block in ("forecasting", "agent"):
            changes[block] = {**changes.get(block, {}), "analysis_interval_minutes": interval}

    def write(stored: dict[str, Any]) -> dict[str, Any]:
        config = _config(_merged({k: stored[k] for k in _CONFIG_FIELDS}, changes))
        settings = {
            **config.model_dump(mode="json"),
            **{name: stored.get(name) for name in _STATE_FIELDS},
            "next_analysis_at": _next_analysis(stored, config, now),
            "updated_at": iso(now),
        }
        settings["created_at"] = settings["created_at"] or iso(now)
        return store.loop_settings.save(workspace_id, settings, expect_version=int(stored["version"]))

    return modify(lambda: current(store, workspace_id), write, what="the goal loop's settings")


def record_analysis(store: Store, workspace_id: str, now: datetime) -> dict[str, Any]:
    """Note that an analysis ran now (the next one stays when it was due: the dispatcher sets
    it, an interval after the slot it started)."""

    def write(stored: dict[str, Any]) -> dict[str, Any]:
        config = _config({k: stored[k] for k in _CONFIG_FIELDS})
        due = config.agent.autonomous_mode and config.forecasting.auto_analysis_enabled
        settings = {
            **config.model_dump(mode="json"),
            "created_at": stored.get("created_at") or iso(now),
            "last_analysis_at": iso(now),
            # The dispatcher moved it on when it started this analysis; an analysis asked for
            # by hand leaves the schedule as it was.
            "next_analysis_at": (stored.get("next_analysis_at") or iso(now)) if due else None,
            "updated_at": iso(now),
        }
        return store.loop_settings.save(workspace_id, settings, expect_version=int(stored["version"]))

    return modify(lambda: current(store, workspace_id), write, what="the goal loop's settings")


def set_mode(store: Store, workspace_id: str, autonomous: bool, now: datetime) -> dict[str, Any]:
    """Turn autonomous mode on or off (`agent.autonomous_mode`); the settings as stored."""
    return update(store, workspace_id, {"agent": {"autonomous_mode": autonomous}}, now)


def status(store: Store, workspace_id: str) -> dict[str, Any]:
    """What can be told of the loop now: its mode, the metrics it has, when it analyses."""
    settings = current(store, workspace_id)
    return {
        "workspace_id": workspace_id,
        "autonomous_mode": settings["agent"]["autonomous_mode"],
        "metrics_tracked": _count_metrics(store, workspace_id),
        "last_analysis_at": settings.get("last_analysis_at"),
        "next_analysis_at": settings.get("next_analysis_at"),
        "active_goals": len(store.goals.all_in(workspace_id, filters=Attr("status").eq("active"))),
        "settings_version": settings["version"],
    }


def normalised_rules(specs: list[Any]) -> list[str]:
    """Each rule (text or object) in its normalised text form. InvalidInput naming `rules[i]` and
    the rule's field for one that does not parse or repeats an earlier rule's condition."""
    texts: list[str] = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(specs):
        if isinstance(spec, str) and len(spec) > MAX_RULE_CHARS:
            raise InvalidInput(
                f"rules[{index}]: a rule is at most {MAX_RULE_CHARS} characters", field=f"rules[{index}]"
            )
        try:
            rule = parse_rule(spec)
        except InvalidInput as exc:
            where = f"rules[{index}]" if exc.field in (None, "rule") else f"rules[{index}].{exc.field}"
            raise InvalidInput(f"{where}: {exc.message}", field=where) from None
        except OverflowError:
            raise InvalidInput(f"rules[{index}]: a number is too large", field=f"rules[{index}]") from None
        if rule.condition in seen:
            raise InvalidInput(
                f"rules[{index}] watches '{rule.condition}' like rules[{seen[rule.condition]}]; "
                "give each condition once, with all its options",
                field=f"rules[{index}]",
            )
        seen[rule.condition] = index
        texts.append(str(rule))
    return texts


def _config(document: Mapping[str, Any]) -> LoopConfig:
    """The merged settings, checked whole (InvalidInput naming the first field at fault)."""
    try:
        return LoopConfig.model_validate(document)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
        said = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidInput(said, field=problems[0]["field"], details=problems) from None


def _analysis_interval(changes: Mapping[str, Any]) -> int | None:
    """The one analysis interval an update sets, if it sets one."""
    given = {
        block: changes[block]["analysis_interval_minutes"]
        for block in ("forecasting", "agent")
        if "analysis_interval_minutes" in changes.get(block, {})
    }
    if len(set(given.values())) > 1:
        raise InvalidInput(
            "agent.analysis_interval_minutes and forecasting.analysis_interval_minutes are one "
            "interval (the loop runs one analysis): give it once, or the same in both",
            field="agent.analysis_interval_minutes",
        )
    return next(iter(given.values()), None)


def _next_analysis(stored: Mapping[str, Any], config: LoopConfig, now: datetime) -> str | None:
    if not (config.agent.autonomous_mode and config.forecasting.auto_analysis_enabled):
        return None
    if not (stored["agent"]["autonomous_mode"] and stored["forecasting"]["auto_analysis_enabled"]):
        return iso(now)
    last = stored.get("last_analysis_at")
    if last:
        return iso(parse_iso(last) + timedelta(minutes=config.agent.analysis_interval_minutes))
    return stored.get("next_analysis_at") or iso(now)


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied: nested blocks merged field by field, anything else replaced."""
    merged = dict(base)
    for name, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = _merged(merged[name], value)
        else:
            merged[name] = value
    return merged


def _count_metrics(store: Store, workspace_id: str) -> int:
    count, cursor = 0, None
    while True:
        page, cursor = store.metric_states.page(workspace_id, limit=1000, cursor=cursor)
        count += len(page)
        if not cursor:
            return count
