"""`proactive tasks ...`: work handed to an agent once, on a schedule, or on each signed event
(`/tasks`)."""

from __future__ import annotations

from typing import Annotated

import typer

from proactive.cli.commands.common import (
    Cursor,
    Limit,
    Timeout,
    Wait,
    changes,
    given,
    item_commands,
    json_object,
    run_started,
    text_of,
)
from proactive.cli.state import state

app = typer.Typer(no_args_is_help=True)
PATH = "/tasks"

COLUMNS = [
    ("id", "id"),
    ("type", "task_type"),
    ("name", "name"),
    ("agent", "agent_id"),
    ("status", "status"),
    ("schedule", "schedule_expression"),
    ("next run", "next_run"),
    ("webhook", "webhook_url"),
    ("created", "created_at"),
]

item_commands(
    app,
    PATH,
    "task",
    COLUMNS,
    listed=None,
    shown="One task: what it owns (schedule, trigger, webhook) and its recent runs.",
    deleted="Delete a task and its schedule, or its trigger and webhook (runs stay in run history).",
)

Prompt = Annotated[str | None, typer.Option(help="What the agent is asked to do (or --input).")]
PromptFile = Annotated[str | None, typer.Option("--input", help="The prompt from @file or - (stdin).")]
Cron = Annotated[str | None, typer.Option("--cron", help="A scheduled task's cron expression.")]
Zone = Annotated[str | None, typer.Option("--timezone", "--tz", help="A scheduled task's time zone.")]
TriggerConfig = Annotated[
    str | None,
    typer.Option(
        "--trigger-config",
        help="A triggered task's webhook: JSON, @file or - ({filter?, signature_scheme?, "
        "rate_limit_per_minute?}).",
    ),
]
NotifyTask = Annotated[
    str | None,
    typer.Option(
        "--notify",
        help='Who hears when it is done: JSON, @file or - ({"channel_ids": [...]} or {"channels": '
        '["slack"], "slack_webhook_url": ...}).',
    ),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    task_type: Annotated[
        str | None, typer.Option("--type", help="delegation, scheduled or triggered.")
    ] = None,
    status: Annotated[str | None, typer.Option(help="active or disabled; a delegation's run status.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> None:
    """Tasks, newest first."""
    st = state(ctx)
    params = given(task_type=task_type, status=status, limit=limit, cursor=cursor)
    st.show(st.call("GET", PATH, params=params), COLUMNS)


@app.command()
def create(
    ctx: typer.Context,
    task_type: Annotated[str, typer.Option("--type", help="delegation, scheduled or triggered.")],
    prompt: Prompt = None,
    input_: PromptFile = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="The agent (default: the workspace's).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Its name.")] = None,
    cron: Cron = None,
    timezone: Zone = None,
    trigger_config: TriggerConfig = None,
    notify: NotifyTask = None,
) -> None:
    """Create a task: a delegation runs once now, a scheduled one on its cron, a triggered one on
    each signed delivery to its webhook (whose secret is printed once, here)."""
    st = state(ctx)
    body = given(
        task_type=task_type,
        prompt=text_of(prompt, input_, what="--prompt"),
        agent_id=agent,
        name=name,
        schedule_expression=cron,
        timezone=timezone,
        trigger_config=json_object(trigger_config, what="--trigger-config"),
        notification_config=json_object(notify, what="--notify"),
    )
    st.show(st.call("POST", PATH, json=body, workspace_in="body"))


@app.command()
def update(
    ctx: typer.Context,
    task_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    prompt: Prompt = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Another agent.")] = None,
    cron: Cron = None,
    timezone: Zone = None,
    trigger_config: TriggerConfig = None,
    notify: NotifyTask = None,
) -> None:
    """Change a task (its schedule or trigger changes with it)."""
    st = state(ctx)
    body = changes(
        name=name,
        prompt=prompt,
        agent_id=agent,
        schedule_expression=cron,
        timezone=timezone,
        trigger_config=json_object(trigger_config, what="--trigger-config"),
        notification_config=json_object(notify, what="--notify"),
    )
    st.show(st.call("PATCH", f"{PATH}/{task_id}", json=body, workspace_in=None))


@app.command()
def execute(ctx: typer.Context, task_id: str, wait: Wait = False, timeout: Timeout = 300.0) -> None:
    """Run the task's prompt now."""
    st = state(ctx)
    run_started(
        st, st.call("POST", f"{PATH}/{task_id}/execute", workspace_in=None), wait=wait, timeout=timeout
    )


@app.command()
def disable(ctx: typer.Context, task_id: str) -> None:
    """Stop a task: its schedule stops firing, its webhook refuses deliveries."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{task_id}/disable", workspace_in=None))


@app.command()
def enable(ctx: typer.Context, task_id: str) -> None:
    """Start a disabled task again (its schedule from now on)."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/{task_id}/enable", workspace_in=None))
