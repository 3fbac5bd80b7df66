"""What a notification says, from what happened: the run's source and name, its status, how long
it took, its attempts, its output or error, its usage, and a link to it. Never canned text: the
output in a success notice is the agent's own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from proactive.clock import parse_iso
from proactive.notifications.notice import Notice
from proactive.settings import get_settings

_OUTCOME = {"started": "start", "succeeded": "success", "failed": "failure"}


def run_link(workspace_id: str, run_id: str) -> str | None:
    """The run's page in the console, where the public address is known (`PUBLIC_BASE_URL`):
    `<PUBLIC_BASE_URL>/console/<workspace>/runs/<run id>`."""
    base = get_settings().public_base_url
    if not base:
        return None
    return f"{base.rstrip('/')}/console/{quote(workspace_id, safe='')}/runs/{quote(run_id, safe='')}"


def _duration(run: Mapping[str, Any]) -> str | None:
    if not (run.get("started_at") and run.get("finished_at")):
        return None
    seconds = (parse_iso(run["finished_at"]) - parse_iso(run["started_at"])).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _usage(usage: Mapping[str, Any] | None) -> str | None:
    if not usage or not usage.get("requests"):
        return None
    tokens = int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
    text = f"{usage['requests']} requests, {tokens:,} tokens, {usage.get('tool_calls') or 0} tool calls"
    return text + (f", ${usage['cost_usd']:.4f}" if usage.get("cost_usd") is not None else "")


def source_of(run: Mapping[str, Any]) -> str:
    """e.g. "schedule Daily Report (sched-1)", "manual run by alice"."""
    kind, ident, name = run["source_type"], run.get("source_id"), run.get("source_name")
    if kind == "manual":
        return f"manual run by {ident}"
    if kind == "autonomous":
        return "autonomous mode"
    return f"{kind} {name} ({ident})" if name else f"{kind} {ident}"


def for_run(run: Mapping[str, Any], moment: str, now: datetime, *, agent_name: str | None = None) -> Notice:
    """A run that started, succeeded or failed for good."""
    source = source_of(run)
    verb = {"started": "started", "succeeded": "succeeded", "failed": "failed"}[moment]
    autonomous = run["source_type"] == "autonomous"
    label = agent_name if autonomous or run["source_type"] == "manual" else run.get("source_name")
    title = f"{'Autonomous agent' if autonomous else 'Run'} {verb}: {label or run['source_type']}"
    fields = [("Source", source)]
    if agent_name:
        fields.append(("Agent", agent_name))
    fields.append(("Status", run["status"] if moment != "started" else "running"))
    attempts = int(run.get("attempts") or 0)
    if moment != "started":
        for name, value in (("Duration", _duration(run)), ("Usage", _usage(run.get("usage")))):
            if value:
                fields.append((name, value))
    if attempts:
        fields.append(("Attempts", str(attempts)))
    if moment == "started":
        summary = f"{source} started its agent on: {run['task'][:300]}"
        body = run["task"]
    elif moment == "succeeded":
        summary = f"{source} finished" + (f" in {_duration(run)}" if _duration(run) else "")
        summary += f" after {attempts} attempt{'s' if attempts != 1 else ''}." if attempts else "."
        body = run.get("output") or "(the agent gave no output)"
    else:
        summary = f"{source} failed" + (f": {run['reason']}" if run.get("reason") else ".")
        body = run.get("error") or run.get("reason") or "(no error was recorded)"
    return Notice(
        event=("autonomous." if autonomous else "run.") + verb,
        title=title,
        outcome=_OUTCOME[moment],  # type: ignore[arg-type]
        summary=summary,
        fields=tuple(fields),
        body=body,
        link=run_link(run["workspace_id"], run["id"]),
        ref=run["id"],
        at=now,
    )


def for_monitor(monitor: Mapping[str, Any], failing: bool, now: datetime) -> Notice:
    name = f"{monitor['name']} ({monitor['id']})"
    if failing:
        return Notice(
            event="monitor.failing",
            title=f"Monitor failing: {monitor['name']}",
            outcome="warning",
            summary=f"Monitor {name} has failed {monitor.get('consecutive_failures')} checks in a row.",
            fields=(("Monitor", name), ("Last error", str(monitor.get("last_error") or "")[:1000])),
            body=monitor.get("last_error"),
            link=None,
            ref=monitor["id"],
            at=now,
        )
    return Notice(
        event="monitor.recovered",
        title=f"Monitor recovered: {monitor['name']}",
        outcome="success",
        summary=f"Monitor {name} checks its source again (value {monitor.get('last_value')!r}).",
        fields=(("Monitor", name), ("Value", repr(monitor.get("last_value"))[:1000])),
        body=None,
        link=None,
        ref=monitor["id"],
        at=now,
    )


def for_missed(run: Mapping[str, Any], now: datetime) -> Notice:
    """The first occurrence of a schedule missed within the hour (the others are not notified
    again, and are all listed as missed runs)."""
    listing = f"/api/runs?source_type=schedule&source_id={run.get('source_id')}&status=missed"
    return Notice(
        event="occurrence.missed",
        title=f"Occurrence missed: {run.get('source_name') or run.get('source_id')}",
        outcome="warning",
        summary=(
            f"{source_of(run)} did not run at {run['scheduled_for']}: {run.get('reason')}. "
            f"Other occurrences it missed within the hour are listed at {listing}"
        ),
        fields=(("Source", source_of(run)), ("Scheduled for", run["scheduled_for"])),
        body=run.get("reason"),
        link=run_link(run["workspace_id"], run["id"]),
        ref=run["id"],
        at=now,
    )
