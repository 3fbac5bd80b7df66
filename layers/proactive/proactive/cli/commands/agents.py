"""`proactive agents ...`"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from proactive.cli.commands.common import Timeout, Wait, item_commands, json_object, run_started, text_of
from proactive.cli.state import CommandFailed, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("runtime", "runtime"),
    ("description", "description"),
    ("created", "created_at"),
]

item_commands(
    app,
    "/api/agents",
    "agent",
    COLUMNS,
    listed="Agents of the workspace.",
    shown="One agent (its secrets are never shown).",
    deleted="Delete an agent (refused, exit 5, while something uses it, unless --force).",
    forced=True,
)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Its name.")],
    runtime: Annotated[str, typer.Option(help="builtin, http or llm.")] = "builtin",
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    config: Annotated[
        str | None, typer.Option(help="Runtime settings: JSON, @file or - (stdin). Secrets by name only.")
    ] = None,
) -> None:
    """Create an agent. An http agent's signing secret is printed once, here."""
    st = state(ctx)
    body = {
        "name": name,
        "runtime": runtime,
        "description": description,
        "config": json_object(config, what="--config") or {},
    }
    st.show(
        st.call(
            "POST", "/api/agents", json={k: v for k, v in body.items() if v is not None}, workspace_in="body"
        )
    )


@app.command()
def update(
    ctx: typer.Context,
    agent_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    config: Annotated[str | None, typer.Option(help="New runtime settings: JSON, @file or -.")] = None,
) -> None:
    """Change an agent (only what is given)."""
    st = state(ctx)
    body = {"name": name, "description": description, "config": json_object(config, what="--config")}
    changes = {k: v for k, v in body.items() if v is not None}
    if not changes:
        raise CommandFailed(2, "nothing to change: give --name, --description or --config")
    st.show(st.call("PATCH", f"/api/agents/{agent_id}", json=changes, workspace_in=None))


@app.command()
def run(
    ctx: typer.Context,
    agent_id: str,
    task: Annotated[str | None, typer.Option(help="What to do (or --input).")] = None,
    input_: Annotated[str | None, typer.Option("--input", help="The task from @file or - (stdin).")] = None,
    wait: Wait = False,
    watch: Annotated[bool, typer.Option(help="Wait, printing its steps as they happen (stderr).")] = False,
    timeout: Timeout = 300.0,
    idempotency_key: Annotated[str | None, typer.Option(help="Send again to get the same run back.")] = None,
) -> None:
    """Start a run of the agent now."""
    st = state(ctx)
    started = st.call(
        "POST",
        "/api/runs",
        json={"agent_id": agent_id, "task": text_of(task, input_)},
        idempotency_key=idempotency_key or str(uuid.uuid4()),
        workspace_in="body",
    )
    run_started(st, started, wait=wait, timeout=timeout, watch=watch)
