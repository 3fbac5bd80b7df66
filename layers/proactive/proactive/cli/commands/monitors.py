"""`proactive monitors ...`: values checked on an interval that start an agent when a condition
holds (`/api/proactive/monitors`)."""

from __future__ import annotations

from typing import Annotated

import typer

from proactive.cli.commands.common import (
    Cursor,
    Limit,
    Notify,
    changes,
    given,
    item_commands,
    json_object,
    text_of,
)
from proactive.cli.state import state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/proactive/monitors"

COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("agent", "agent_id"),
    ("source", "source.type"),
    ("condition", "condition"),
    ("active", "is_active"),
    ("state", "state"),
    ("last value", "last_value"),
    ("last check", "last_check"),
    ("fired", "trigger_count"),
]

item_commands(
    app,
    PATH,
    "monitor",
    COLUMNS,
    listed="Monitors of the workspace, with what their last check found.",
    shown="One monitor.",
    deleted="Delete a monitor and its checks.",
)
CHECK_COLUMNS = [
    ("id", "id"),
    ("scheduled for", "scheduled_for"),
    ("checked", "checked_at"),
    ("status", "status"),
    ("value", "value"),
    ("change %", "change_pct"),
    ("met", "condition_met"),
    ("fired", "fired"),
    ("run", "run_id"),
    ("error", "error"),
]

SOURCE = (
    'Where the value comes from: JSON, @file or - ({"type": "http", "url", "select"}, '
    '{"type": "metric"} or {"type": "series", "metric_name"}).'
)
Source = Annotated[str | None, typer.Option(help=SOURCE)]
Interval = Annotated[int | None, typer.Option("--interval", help="Seconds between checks (60 at least).")]
Cooldown = Annotated[
    int | None, typer.Option(help="While the condition stays true, fire again after this many seconds.")
]


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Its name.")],
    agent: Annotated[str, typer.Option("--agent", help="The agent it starts when the condition holds.")],
    source: Annotated[str, typer.Option(help=SOURCE)],
    condition: Annotated[str, typer.Option(help="e.g. 'value > 150 and change_pct > 5'.")],
    action: Annotated[str | None, typer.Option(help="The task, with {value} and the like.")] = None,
    input_: Annotated[str | None, typer.Option("--input", help="The task from @file or -.")] = None,
    interval: Interval = None,
    cooldown: Cooldown = None,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = False,
    notify: Notify = None,
) -> None:
    """Create a monitor."""
    st = state(ctx)
    body = given(
        name=name,
        agent_id=agent,
        source=json_object(source, what="--source"),
        condition=condition,
        action=text_of(action, input_, what="--action"),
        check_interval=interval,
        cooldown=cooldown,
        is_active=False if paused else None,
        notify=json_object(notify, what="--notify"),
    )
    st.show(st.call("POST", PATH, json=body, workspace_in="body"))


@app.command()
def update(
    ctx: typer.Context,
    monitor_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Another agent.")] = None,
    source: Source = None,
    condition: Annotated[str | None, typer.Option(help="A new condition.")] = None,
    action: Annotated[str | None, typer.Option(help="A new task.")] = None,
    interval: Interval = None,
    cooldown: Cooldown = None,
    notify: Notify = None,
) -> None:
    """Change a monitor (only what is given)."""
    st = state(ctx)
    body = changes(
        name=name,
        agent_id=agent,
        source=json_object(source, what="--source"),
        condition=condition,
        action=action,
        check_interval=interval,
        cooldown=cooldown,
        notify=json_object(notify, what="--notify"),
    )
    st.show(st.call("PATCH", f"{PATH}/{monitor_id}", json=body, workspace_in=None))


@app.command()
def check(ctx: typer.Context, monitor_id: str) -> None:
    """Check now: the value, whether the condition held, and the run it started."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{monitor_id}/check", workspace_in=None))


@app.command()
def pause(ctx: typer.Context, monitor_id: str) -> None:
    """Pause a monitor: no checks until resumed."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{monitor_id}/pause", workspace_in=None))


@app.command()
def resume(ctx: typer.Context, monitor_id: str) -> None:
    """Resume a monitor."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{monitor_id}/resume", workspace_in=None))


@app.command()
def history(ctx: typer.Context, monitor_id: str, limit: Limit = 50, cursor: Cursor = None) -> None:
    """Its checks, newest first: value, condition result, whether it fired (and the run), or the error."""
    st = state(ctx)
    answer = st.call(
        "GET", f"{PATH}/{monitor_id}/history", params={"limit": limit, "cursor": cursor}, workspace_in=None
    )
    st.show(answer, CHECK_COLUMNS)


@app.command()
def record(
    ctx: typer.Context,
    monitor_id: str,
    value: Annotated[float, typer.Argument(help="The value measured.")],
    at: Annotated[str | None, typer.Option(help="When it was measured (ISO-8601 with an offset).")] = None,
) -> None:
    """Record a value for a metric monitor (aggregated over its window at each check)."""
    st = state(ctx)
    body = given(value=value, timestamp=at)
    st.show(st.call("POST", f"{PATH}/{monitor_id}/values", json=body, workspace_in=None))
