"""Pieces the command modules share: reading a payload, waiting for a run, time and id options."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from proactive.cli.exits import FAILED, OK, TIMED_OUT, USAGE
from proactive.cli.output import Column
from proactive.cli.state import CommandFailed, State, state

FINAL = frozenset({"succeeded", "failed", "cancelled", "missed"})

Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed to act on many).")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=200, help="Items a page.")]
Cursor = Annotated[str | None, typer.Option("--cursor", help="The `next_cursor` of the previous page.")]
Wait = Annotated[bool, typer.Option(help="Wait for the run to end; exit 1 if it failed.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait at most (exit 124).")]
Force = Annotated[
    bool, typer.Option(help="Delete even while others use it (the API pauses or detaches them).")
]
Notify = Annotated[
    str | None,
    typer.Option(help='Who is told of its runs: JSON, @file or - ({"channels": [...], "on": ["failure"]}).'),
]


def given(**fields: Any) -> dict[str, Any]:
    """The fields that were given (not None), for a request's body or query."""
    return {key: value for key, value in fields.items() if value is not None}


def confirm(yes: bool, question: str) -> None:
    """Go on only with --yes or when the person says yes (exit 1 otherwise)."""
    if not yes and not typer.confirm(question, err=True):
        raise CommandFailed(FAILED, "not done")


def item_commands(
    app: typer.Typer,
    path: str,
    noun: str,
    columns: Sequence[Column],
    *,
    listed: str | None,
    shown: str,
    deleted: str,
    forced: bool = False,
) -> None:
    """`list`, `show` and `delete` of the items of the API's collection at `path`, each with its
    help text (`listed` None: the module writes its own `list`); `forced` adds `--force` to
    `delete`. A module adds what differs."""
    metavar = f"{noun}_id"

    def show(ctx: typer.Context, item_id: str = typer.Argument(..., metavar=metavar)) -> None:
        st = state(ctx)
        st.show(st.call("GET", f"{path}/{item_id}", workspace_in=None))

    def remove(st: State, item_id: str, yes: bool, force: bool) -> None:
        confirm(yes, f"Delete {noun} {item_id}?")
        st.call("DELETE", f"{path}/{item_id}", params={"force": force or None}, workspace_in=None)
        st.output.note(f"deleted {item_id}")

    def delete(
        ctx: typer.Context, item_id: str = typer.Argument(..., metavar=metavar), yes: Yes = False
    ) -> None:
        remove(state(ctx), item_id, yes, False)

    def delete_forced(
        ctx: typer.Context,
        item_id: str = typer.Argument(..., metavar=metavar),
        force: Force = False,
        yes: Yes = False,
    ) -> None:
        remove(state(ctx), item_id, yes, force)

    if listed is not None:

        def list_(ctx: typer.Context, limit: Limit = 50, cursor: Cursor = None) -> None:
            st = state(ctx)
            st.show(st.call("GET", path, params={"limit": limit, "cursor": cursor}), columns)

        app.command("list", help=listed)(list_)
    app.command("show", help=shown)(show)
    app.command("delete", help=deleted)(delete_forced if forced else delete)


def changes(**fields: Any) -> dict[str, Any]:
    """A PATCH body: the fields given; usage error (exit 2) when none is."""
    found = given(**fields)
    if not found:
        raise CommandFailed(USAGE, "nothing to change: give at least one option")
    return found


def text_of(text: str | None, source: str | None, *, what: str = "--task") -> str:
    """A text given itself, or with --input (@file or - for stdin); usage error when neither is."""
    found: Any = text if text is not None else payload(source)
    if found is None:
        raise CommandFailed(USAGE, f"give {what} TEXT, or --input @file / --input - (stdin)")
    return found if isinstance(found, str) else json.dumps(found)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def duration(text: str) -> timedelta:
    """`90s`, `15m`, `12h`, `7d`, `2w` or a mix (`1h30m`); usage error otherwise."""
    parts = re.findall(r"(\d+)\s*([smhdw])", text.strip().lower())
    if not parts or re.sub(r"\d+\s*[smhdw]", "", text.strip().lower()).strip():
        raise CommandFailed(USAGE, f"{text!r} is not a duration (e.g. 30m, 12h, 7d, 1h30m)")
    return timedelta(seconds=sum(int(n) * _UNITS[unit] for n, unit in parts))


def run_started(st: State, run: dict[str, Any], *, wait: bool, timeout: float, watch: bool = False) -> None:
    """Show a run just started, or (with --wait) wait for it to end and exit as it ended."""
    if not (wait or watch):
        st.show(run)
        return
    st.output.note(f"started {run['id']}")
    code = wait_for_run(st, run["id"], timeout=timeout, watch=watch)
    if code:
        raise CommandFailed(code)


def payload(value: str | None, *, what: str = "--input") -> Any:
    """`@file` (its JSON, else its text), `-` (stdin, likewise) or the value itself (JSON when it
    parses, else text); None when not given."""
    if value is None:
        return None
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise CommandFailed(USAGE, f"{what}: cannot read {path}: {exc.strerror}") from exc
    else:
        text = value
    try:
        return json.loads(text)
    except ValueError:
        return text


def json_object(value: str | None, *, what: str) -> dict[str, Any] | None:
    """A payload that must be a JSON object."""
    found = payload(value, what=what)
    if found is not None and not isinstance(found, dict):
        raise CommandFailed(USAGE, f"{what} must be a JSON object")
    return found


def wait_for_run(state: State, run_id: str, *, timeout: float, watch: bool) -> int:
    """Poll the run until it ends: print it, and give 0 when it succeeded, 1 when it failed, was
    cancelled or missed, 124 when `timeout` seconds passed first."""
    deadline = time.monotonic() + timeout
    seen_status, seen_steps = None, 0
    delay = 0.25
    while True:
        run = state.call("GET", f"/api/runs/{run_id}", workspace_in=None)
        if watch:
            steps = run.get("steps") or []
            for step in steps[seen_steps:]:
                state.output.note(step_line(step))
            seen_steps = len(steps)
            if run.get("status") != seen_status:
                state.output.note(f"{run_id}: {run.get('status')}")
        seen_status = run.get("status")
        if seen_status in FINAL:
            state.show(run, RUN_COLUMNS)
            return OK if seen_status == "succeeded" else FAILED
        if time.monotonic() >= deadline:
            state.show(run, RUN_COLUMNS)
            raise CommandFailed(TIMED_OUT, f"run {run_id} is still {seen_status} after {timeout:g} s")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 2.0)


def step_line(step: dict[str, Any]) -> str:
    """A run step as one line of a log."""
    parts = [str(step.get("at") or ""), str(step.get("type") or "step")]
    for key in ("name", "tool", "status", "message", "error"):
        if step.get(key):
            parts.append(f"{key}={step[key]}")
    if step.get("duration_ms") is not None:
        parts.append(f"{step['duration_ms']} ms")
    return "  ".join(part for part in parts if part)


RUN_COLUMNS: list[Column] = [
    ("id", "id"),
    ("status", "status"),
    ("agent", "agent_id"),
    ("source", lambda r: f"{r.get('source_type') or ''}:{r.get('source_id') or ''}".strip(":")),
    ("created", "created_at"),
    ("task", lambda r: (str(r.get("task") or ""))[:80]),
    ("error", "error"),
]
