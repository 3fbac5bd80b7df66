"""`proactive secrets ...`: the workspace's secrets (`/api/secrets`). A value is read from stdin
only (typed without echo at a terminal, or piped), never from the command line, so it stays out
of shell history and process lists; no answer ever holds it again."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from proactive.cli.commands.common import Yes, confirm
from proactive.cli.exits import USAGE
from proactive.cli.output import Column
from proactive.cli.state import CommandFailed, state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/secrets"

COLUMNS: list[Column] = [
    ("name", "name"),
    ("updated", "updated_at"),
    ("created", "created_at"),
    (
        "used by",
        lambda s: ", ".join(
            f"{u.get('kind')} {u.get('name')} ({u.get('field')})" for u in s.get("used_by") or []
        ),
    ),
]


def _value(name: str) -> str:
    """The value from stdin: typed (not echoed) at a terminal, else all that is piped in, less one
    final line ending."""
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"Value of {name} (not shown): ", stream=sys.stderr)
    else:
        value = sys.stdin.read()
        value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    if not value:
        raise CommandFailed(USAGE, "no value on stdin: `printf %s VALUE | proactive secrets set NAME`")
    return value


@app.command("set")
def set_(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Its name (letters, digits, _ . -).")]
) -> None:
    """Create or replace a secret; its value is read from stdin."""
    st = state(ctx)
    answer = st.call("PUT", f"{PATH}/{name}", json={"value": _value(name)}, workspace_in="body")
    st.show(answer)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """The workspace's secrets by name, with what uses each (never a value; one page holds all)."""
    st = state(ctx)
    st.show(st.call("GET", PATH), COLUMNS)


@app.command()
def delete(
    ctx: typer.Context,
    name: str,
    force: Annotated[
        bool, typer.Option(help="Delete even while resources name it (monitors and actions are paused).")
    ] = False,
    yes: Yes = False,
) -> None:
    """Delete a secret (refused, exit 5, while resources name it, unless --force)."""
    st = state(ctx)
    confirm(yes, f"Delete secret {name}?")
    st.call("DELETE", f"{PATH}/{name}", params={"force": force or None})
    st.output.note(f"deleted {name}")
