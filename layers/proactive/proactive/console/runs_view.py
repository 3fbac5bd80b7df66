"""What the runs pages show of a run, made from the API's answer (never from the table).

A run as the API shows it may lack any optional field (runs stored by earlier versions, a run
that never started): every value here is read with a default, so such a run still shows. Values
whose key names a secret (a token, a password, a signature...) are masked wherever a payload or a
step's details are shown, although the API's answer should hold none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from proactive.console import runs_waterfall
from proactive.console.runs_waterfall import Waterfall, when
from proactive.console.web import Viewer
from proactive.ids import occurrence_run_id

MASK = "••••••"
SECRET_KEY = re.compile(
    r"secret|passw|token|api[_-]?key|authori[sz]ation|credential|private[_-]?key|signature|cookie",
    re.IGNORECASE,
)
# The console section of each kind of source (web.SECTIONS), where its item has a page.
SOURCE_SECTIONS = {
    "schedule": "schedules",
    "webhook": "webhooks",
    "trigger": "webhooks",
    "monitor": "monitors",
    "goal": "loop",
    "conversation": "conversations",
}
SOURCE_NAMES = {
    "schedule": "Schedule",
    "manual": "Started by hand",
    "webhook": "Webhook",
    "trigger": "Trigger",
    "monitor": "Monitor",
    "autonomous": "Autonomous mode",
    "goal": "Goal",
    "replay": "Replay",
    "conversation": "Conversation",
    "task": "Task",
}
EXCERPT = 110


def instant_param(text: str) -> str:
    """A time from the filter form as the API takes it: one without an offset is UTC (the form
    says so); one that is not a time is passed on as it is, for the API to refuse by name."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_field(text: str) -> str:
    """A time as a `datetime-local` field holds it: UTC, without an offset, to the second."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return ""
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S" if parsed.second else "%Y-%m-%dT%H:%M")


def masked(value: Any) -> Any:
    """`value` with the value of every key that names a secret replaced by a mask."""
    if isinstance(value, Mapping):
        return {
            str(k): (MASK if SECRET_KEY.search(str(k)) and v not in (None, "") else masked(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def excerpt(text: Any, length: int = EXCERPT) -> str:
    words = " ".join(str(text or "").split())
    return words if len(words) <= length else words[: length - 1].rstrip() + "…"


def _seconds(start: Any, end: Any) -> float | None:
    began, ended = when(start), when(end)
    if began is None or ended is None:
        return None
    return max(0.0, (ended - began).total_seconds())


def _usage(run: Mapping[str, Any]) -> dict[str, Any]:
    given = run.get("usage")
    usage: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    tokens = [usage.get("input_tokens"), usage.get("output_tokens")]
    total = sum(t for t in tokens if isinstance(t, int)) if any(isinstance(t, int) for t in tokens) else None
    return {
        "tokens": total or None,
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "requests": usage.get("requests"),
        "tool_calls": usage.get("tool_calls"),
        "cost": usage.get("cost_usd"),
    }


def source_link(viewer: Viewer, source_type: str, source_id: str | None) -> str | None:
    """The console page of what started a run, where it has one."""
    if not source_id:
        return None
    if source_type == "replay":
        return viewer.path(f"runs/{quote(source_id, safe='')}")
    section = SOURCE_SECTIONS.get(source_type)
    return f"{viewer.path(section)}?{urlencode({'id': source_id})}" if section else None


def row(run: Mapping[str, Any], names: Mapping[str, str], viewer: Viewer) -> dict[str, Any]:
    """One row of the runs table."""
    run_id = str(run.get("id") or "")
    agent_id = str(run.get("agent_id") or "")
    source_type = str(run.get("source_type") or "")
    source_id = run.get("source_id")
    return {
        "id": run_id,
        "href": viewer.path(f"runs/{quote(run_id, safe='')}"),
        "status": run.get("status") or "unknown",
        "agent_id": agent_id,
        "agent_name": names.get(agent_id) or agent_id or "—",
        "agent_href": f"{viewer.path('agents')}?{urlencode({'id': agent_id})}" if agent_id else None,
        "source_type": source_type,
        "source_name": SOURCE_NAMES.get(source_type, source_type or "—"),
        "source_id": source_id,
        "source_href": source_link(viewer, source_type, source_id),
        "task": excerpt(run.get("task")),
        "error": excerpt(run.get("error"), 90) if run.get("error") else None,
        "created_at": run.get("created_at"),
        "duration": _seconds(run.get("started_at"), run.get("finished_at")),
        **_usage(run),
    }


def _output(value: Any) -> tuple[Any, bool]:
    """The run's output, and whether it reads as JSON (then shown as JSON, else as text)."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return masked(json.loads(value)), True
        except ValueError:
            pass
    return value, False


def _chained_from(run: Mapping[str, Any]) -> str | None:
    """The run whose end started this one (a trigger listening for runs' ends says so in the
    payload it gave the run)."""
    payload = run.get("payload")
    if run.get("source_type") != "trigger" or not isinstance(payload, Mapping):
        return None
    parent = payload.get("run_id")
    return str(parent) if isinstance(parent, str) and "status" in payload else None


def _plain(value: Any) -> str:
    simple = isinstance(value, str | int | float | bool) or value is None
    return str(value) if simple else json.dumps(value, default=str)


def _step_rows(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """The steps as the table under the waterfall lists them: time, type, the other details."""
    rows = []
    for step in steps:
        if not isinstance(step, Mapping):
            continue
        details = masked({k: v for k, v in step.items() if k not in ("at", "type")})
        text = ", ".join(f"{k}: {_plain(v)}" for k, v in details.items())
        failed = bool(details.get("error")) or details.get("ok") is False
        rows.append(
            {"at": step.get("at"), "type": str(step.get("type") or "step"), "details": text, "failed": failed}
        )
    return rows


def detail(run: Mapping[str, Any], agent: Mapping[str, Any] | None, viewer: Viewer) -> dict[str, Any]:
    """Everything the run page shows of a run."""
    run_id = str(run.get("id") or "")
    payload = run.get("payload")
    output, output_is_json = _output(run.get("output"))
    source_type = str(run.get("source_type") or "")
    source_id = run.get("source_id")
    shown = row(run, {str(agent.get("id")): str(agent.get("name"))} if agent else {}, viewer)
    goal_action = payload.get("goal_action_id") if isinstance(payload, Mapping) else None
    return {
        **shown,
        "task_text": str(run.get("task") or ""),
        "error_text": run.get("error"),
        "reason": run.get("reason"),
        "attempts": run.get("attempts"),
        "scheduled_for": run.get("scheduled_for"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "retry_at": run.get("retry_at"),
        "waiting_for": run.get("waiting_for"),
        "callback_deadline": run.get("callback_deadline"),
        "cancel_requested": bool(run.get("cancel_requested")),
        "can_cancel": run.get("status") in ("queued", "running") and not run.get("cancel_requested"),
        "delivery_id": run.get("delivery_id"),
        "check_id": run.get("check_id"),
        "trigger_id": run.get("trigger_id") if run.get("trigger_id") != source_id else None,
        "goal_action_id": goal_action if isinstance(goal_action, str) else None,
        "source_runs_href": (
            f"{viewer.path('runs')}?{urlencode({'source_type': source_type, 'source_id': source_id})}"
            if source_id
            else None
        ),
        "replay_of": run.get("replay_of"),
        "replays": [r for r in run.get("replays") or [] if isinstance(r, str)],
        "chained_from": _chained_from(run),
        "input": {"task": run.get("task"), "payload": masked(payload)},
        "output": output,
        "output_is_json": output_is_json,
        "has_output": run.get("output") not in (None, ""),
        "steps": _step_rows(run.get("steps") or []),
        "unreadable": run.get("unreadable"),
        "run_href": viewer.path(f"runs/{quote(run_id, safe='')}"),
    }


def waterfall(run: Mapping[str, Any], now: datetime) -> Waterfall:
    """The run's waterfall (empty when nothing in it can be placed in time)."""
    try:
        return runs_waterfall.build(run, now)
    except (TypeError, ValueError, OverflowError):
        return Waterfall()


def run_event_triggers(
    triggers: Iterable[Mapping[str, Any]], run: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The triggers that fire when a run like this one ends (as `triggers.chain` picks them)."""
    emitted = (f"run.{run.get('status')}", "run.finished")
    picked = []
    for trigger in triggers:
        given = trigger.get("config")
        config: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        if not trigger.get("id") or config.get("event") not in emitted:
            continue
        if any(config.get(k) not in (None, run.get(k)) for k in ("source_type", "source_id")):
            continue
        picked.append(trigger)
    return picked


def chained_run_id(trigger_id: str, run_id: str) -> str:
    """The id of the run a trigger makes when the run `run_id` ends (`triggers.chain`)."""
    return occurrence_run_id(f"chain#{trigger_id}#{run_id}")
