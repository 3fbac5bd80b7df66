"""`proactive schedules ...`: cron schedules (`/api/proactive/schedules`)."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from proactive.cli.commands.common import (
    RUN_COLUMNS,
    Cursor,
    Limit,
    Notify,
    Timeout,
    Wait,
    changes,
    given,
    item_commands,
    json_object,
    run_started,
    text_of,
)
from proactive.cli.exits import USAGE
from proactive.cli.state import CommandFailed, state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/proactive/schedules"

COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("agent", "agent_id"),
    ("cron", "cron_expression"),
    ("timezone", "timezone"),
    ("active", "is_active"),
    ("next run", "next_run"),
    ("last run", "last_run"),
]

item_commands(
    app,
    PATH,
    "schedule",
    COLUMNS,
    listed="Schedules of the workspace, each with its next fire.",
    shown="One schedule: its cron in words and its next five fires.",
    deleted="Delete a schedule (its runs stay in run history).",
)

CatchUp = Annotated[
    str | None,
    typer.Option("--catch-up", help="After downtime run no missed occurrence (skip), the latest, or all."),
]
Overlap = Annotated[
    str | None, typer.Option(help="allow: an occurrence may start while the previous run goes on; skip.")
]
Cron = Annotated[str | None, typer.Option("--cron", help="A cron expression (five fields, or @daily...).")]
Zone = Annotated[str | None, typer.Option("--timezone", "--tz", help="An IANA time zone (default UTC).")]
Task = Annotated[str | None, typer.Option(help="What the agent is asked to do (or --input).")]
TaskFile = Annotated[str | None, typer.Option("--input", help="The task from @file or - (stdin).")]


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Its name.")],
    agent: Annotated[str, typer.Option("--agent", help="The agent it runs.")],
    cron: Annotated[str, typer.Option("--cron", help="A cron expression (five fields, or @daily...).")],
    timezone: Annotated[str, typer.Option("--timezone", "--tz", help="An IANA time zone.")] = "UTC",
    task: Task = None,
    input_: TaskFile = None,
    catch_up: CatchUp = None,
    overlap: Overlap = None,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = False,
    notify: Notify = None,
) -> None:
    """Create a schedule (a bad cron or time zone is refused, exit 5)."""
    st = state(ctx)
    body = given(
        name=name,
        agent_id=agent,
        task_description=text_of(task, input_),
        cron_expression=cron,
        timezone=timezone,
        catch_up=catch_up,
        overlap=overlap,
        is_active=False if paused else None,
        notify=json_object(notify, what="--notify"),
    )
    st.show(st.call("POST", PATH, json=body, workspace_in="body"))


@app.command()
def update(
    ctx: typer.Context,
    schedule_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Another agent.")] = None,
    cron: Cron = None,
    timezone: Zone = None,
    task: Task = None,
    input_: TaskFile = None,
    catch_up: CatchUp = None,
    overlap: Overlap = None,
    notify: Notify = None,
) -> None:
    """Change a schedule (only what is given)."""
    st = state(ctx)
    body = changes(
        name=name,
        agent_id=agent,
        cron_expression=cron,
        timezone=timezone,
        task_description=text_of(task, input_) if task is not None or input_ is not None else None,
        catch_up=catch_up,
        overlap=overlap,
        notify=json_object(notify, what="--notify"),
    )
    st.show(st.call("PATCH", f"{PATH}/{schedule_id}", json=body, workspace_in=None))


@app.command()
def pause(ctx: typer.Context, schedule_id: str) -> None:
    """Pause a schedule: it fires no more until resumed."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{schedule_id}/pause", workspace_in=None))


@app.command()
def resume(ctx: typer.Context, schedule_id: str) -> None:
    """Resume a schedule from now on (occurrences that fell while paused are not run)."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{schedule_id}/resume", workspace_in=None))


@app.command()
def run(
    ctx: typer.Context,
    schedule_id: str,
    wait: Wait = False,
    timeout: Timeout = 300.0,
    idempotency_key: Annotated[str | None, typer.Option(help="Send again to get the same run back.")] = None,
) -> None:
    """Run the schedule's task now (its timing is unchanged)."""
    st = state(ctx)
    started = st.call(
        "POST",
        f"{PATH}/{schedule_id}/run",
        idempotency_key=idempotency_key or str(uuid.uuid4()),
        workspace_in=None,
    )
    run_started(st, started, wait=wait, timeout=timeout)


@app.command()
def runs(ctx: typer.Context, schedule_id: str, limit: Limit = 50, cursor: Cursor = None) -> None:
    """The runs the schedule started, newest first."""
    st = state(ctx)
    answer = st.call(
        "GET", f"{PATH}/{schedule_id}/runs", params={"limit": limit, "cursor": cursor}, workspace_in=None
    )
    st.show(answer, RUN_COLUMNS)


@app.command("next")
def next_(
    ctx: typer.Context,
    schedule_id: Annotated[str | None, typer.Argument(help="A schedule (or give --cron).")] = None,
    count: Annotated[int, typer.Option("-n", "--count", min=1, max=100, help="How many fires.")] = 5,
    cron: Cron = None,
    timezone: Zone = None,
    after: Annotated[
        str | None, typer.Option(help="With --cron: fires after this instant (ISO-8601 with an offset).")
    ] = None,
) -> None:
    """The next fires of a schedule, or of a cron expression before any schedule is made of it
    (`next --cron '0 9 * * 1-5' --timezone Europe/Paris`)."""
    st = state(ctx)
    if (schedule_id is None) == (cron is None):
        raise CommandFailed(USAGE, "give a schedule id, or --cron (with --timezone), not both")
    if schedule_id is not None:
        if timezone is not None or after is not None:
            raise CommandFailed(USAGE, "--timezone and --after go with --cron")
        answer = st.call("GET", f"{PATH}/{schedule_id}/next-runs", params={"count": count}, workspace_in=None)
    else:
        params = given(cron_expression=cron, timezone=timezone, count=count, after=after)
        answer = st.call("GET", f"{PATH}/preview", params=params, workspace_in=None)
    if st.output.format != "table":
        st.show(answer)
        return
    if answer.get("cron_description"):
        st.output.note(f"{answer['cron_description']} ({answer.get('timezone')})")
    st.show(
        {"items": [{"at": fire} for fire in answer["next_runs"]], "next_cursor": None}, [("next fires", "at")]
    )
