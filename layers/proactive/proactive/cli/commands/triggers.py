"""`proactive triggers ...`: what starts an agent on an event (`/api/proactive/triggers`)."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from proactive.cli.commands.common import (
    Notify,
    Timeout,
    Wait,
    changes,
    given,
    item_commands,
    json_object,
    run_started,
)
from proactive.cli.state import state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/proactive/triggers"

COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("type", "trigger_type"),
    ("agent", "agent_id"),
    ("active", "is_active"),
    ("fired", "fire_count"),
    ("last fired", "last_fired_at"),
    ("task template", "task_template"),
]

item_commands(
    app,
    PATH,
    "trigger",
    COLUMNS,
    listed="Triggers of the workspace.",
    shown="One trigger.",
    deleted="Delete a trigger (refused, exit 5, while webhooks deliver to it, unless --force).",
    forced=True,
)

Config = Annotated[
    str | None,
    typer.Option(
        help="The type's settings: JSON, @file or - (github: {repository, event}; event: {event}).",
    ),
]
Filter = Annotated[
    str | None, typer.Option("--filter", help="JMESPath over the payload; runs only if truthy.")
]
Template = Annotated[
    str | None, typer.Option("--task-template", help="The task, with {fields} of the payload.")
]


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Its name.")],
    agent: Annotated[str, typer.Option("--agent", help="The agent it starts.")],
    task_template: Annotated[
        str, typer.Option("--task-template", help="The task, with {fields} of the payload.")
    ],
    trigger_type: Annotated[
        str, typer.Option("--type", help="webhook, github, manual or event.")
    ] = "webhook",
    config: Config = None,
    filter_: Filter = None,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = False,
    notify: Notify = None,
) -> None:
    """Create a trigger (give it a webhook with `proactive webhooks create --trigger ID`)."""
    st = state(ctx)
    body = given(
        name=name,
        trigger_type=trigger_type,
        agent_id=agent,
        task_template=task_template,
        config=json_object(config, what="--config"),
        filter=filter_,
        is_active=False if paused else None,
        notify=json_object(notify, what="--notify"),
    )
    st.show(st.call("POST", PATH, json=body, workspace_in="body"))


@app.command()
def update(
    ctx: typer.Context,
    trigger_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Another agent.")] = None,
    task_template: Template = None,
    config: Config = None,
    filter_: Filter = None,
    active: Annotated[bool | None, typer.Option("--active/--paused", help="Turn it on or off.")] = None,
    notify: Notify = None,
) -> None:
    """Change a trigger (only what is given)."""
    st = state(ctx)
    body = changes(
        name=name,
        agent_id=agent,
        task_template=task_template,
        config=json_object(config, what="--config"),
        filter=filter_,
        is_active=active,
        notify=json_object(notify, what="--notify"),
    )
    st.show(st.call("PATCH", f"{PATH}/{trigger_id}", json=body, workspace_in=None))


@app.command()
def fire(
    ctx: typer.Context,
    trigger_id: str,
    payload: Annotated[str | None, typer.Option(help="The event's payload: JSON, @file or -.")] = None,
    event: Annotated[str | None, typer.Option(help="The event's name (e.g. a GitHub event).")] = None,
    wait: Wait = False,
    timeout: Timeout = 300.0,
) -> None:
    """Fire the trigger with a payload: the run it started (none when its filter said no)."""
    st = state(ctx)
    body = given(payload=json_object(payload, what="--payload") or {}, event=event)
    answer = st.call(
        "POST",
        f"{PATH}/{trigger_id}/fire",
        json=body,
        idempotency_key=str(uuid.uuid4()),
        workspace_in=None,
    )
    if answer.get("run") is None or not wait:
        st.show(answer)
        return
    run_started(st, answer["run"], wait=True, timeout=timeout)
