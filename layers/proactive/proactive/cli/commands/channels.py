"""`proactive channels ...`: notification channels, test messages and the notification log
(`/api/notifications`)."""

from __future__ import annotations

from typing import Annotated

import typer

from proactive.cli.commands.common import (
    Cursor,
    Limit,
    changes,
    given,
    item_commands,
    json_object,
)
from proactive.cli.exits import FAILED
from proactive.cli.state import CommandFailed, state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/notifications/channels"

COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("type", "type"),
    ("active", "is_active"),
    ("disabled because", "disabled_reason"),
    ("created", "created_at"),
]

item_commands(
    app,
    PATH,
    "channel",
    COLUMNS,
    listed="Notification channels of the workspace.",
    shown="One channel (webhook URLs' tokens masked).",
    deleted="Delete a channel (refused, exit 5, while something names it, unless --force).",
    forced=True,
)
LOG_COLUMNS = [
    ("id", "id"),
    ("created", "created_at"),
    ("channel", "channel_id"),
    ("event", "event"),
    ("status", "status"),
    ("attempts", "attempts"),
    ("http", "http_status"),
    ("run", "run_id"),
    ("title", "title"),
    ("reason", "reason"),
]
CONFIG = (
    "Its settings: JSON, @file or - (discord/slack: {webhook_url}; ntfy: {topic, server?, "
    "token_secret?}; email: {to: [...]}; webhook: {url})."
)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Its name.")],
    type_: Annotated[str, typer.Option("--type", help="discord, slack, ntfy, email or webhook.")],
    config: Annotated[str, typer.Option(help=CONFIG)],
    disabled: Annotated[bool, typer.Option(help="Create it turned off.")] = False,
) -> None:
    """Create a channel. A webhook channel's signing secret is printed once, here."""
    st = state(ctx)
    body = given(
        name=name,
        type=type_,
        config=json_object(config, what="--config"),
        is_active=False if disabled else None,
    )
    st.show(st.call("POST", PATH, json=body, workspace_in="body"))


@app.command()
def update(
    ctx: typer.Context,
    channel_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    config: Annotated[str | None, typer.Option(help="New settings: JSON, @file or -.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--disabled", help="Turn it on or off.")] = None,
) -> None:
    """Rename, reconfigure, or turn a channel on or off."""
    st = state(ctx)
    body = changes(name=name, config=json_object(config, what="--config"), is_active=active)
    st.show(st.call("PATCH", f"{PATH}/{channel_id}", json=body, workspace_in=None))


@app.command("test")
def send_test(
    ctx: typer.Context,
    channel_id: str,
    message: Annotated[str | None, typer.Option(help="What the test message says.")] = None,
) -> None:
    """Send a test message now, and print what the receiver said (exit 1 unless it was sent)."""
    st = state(ctx)
    body = given(channel_id=channel_id, message=message)
    answer = st.call("POST", "/api/notifications/test", json=body, workspace_in=None)
    st.show(answer)
    if answer.get("status") != "sent":
        raise CommandFailed(FAILED, f"not sent: {answer.get('reason') or answer.get('answer')}")


@app.command()
def log(
    ctx: typer.Context,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only what was sent to this channel.")
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only what was sent about this run.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> None:
    """What was sent, newest first: sent, retrying, failed or dropped, with the receiver's answer."""
    st = state(ctx)
    params = given(channel_id=channel, run_id=run, limit=limit, cursor=cursor)
    st.show(st.call("GET", "/api/notifications/log", params=params), LOG_COLUMNS)


@app.command()
def subscriptions(ctx: typer.Context, channel_id: str) -> None:
    """What tells the channel, and of which events."""
    st = state(ctx)
    answer = st.call("GET", f"{PATH}/{channel_id}/subscriptions", workspace_in=None)
    st.show(answer, [("kind", "kind"), ("id", "id"), ("name", "name"), ("events", "events")])
