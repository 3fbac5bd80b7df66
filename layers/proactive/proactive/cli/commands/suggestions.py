"""`proactive suggestions ...`: what to automate, mined from the workspace's history
(`/api/proactive/suggestions`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from proactive.cli.commands.common import Cursor, Limit, duration, given, json_object
from proactive.cli.exits import USAGE
from proactive.cli.state import CommandFailed, state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/proactive/suggestions"

COLUMNS = [
    ("id", "id"),
    ("kind", "kind"),
    ("status", "status"),
    ("title", "title"),
    ("confidence", "confidence"),
    ("a month", "impact"),
    ("subject", "subject"),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="open, accepted, dismissed, snoozed, expired or superseded."),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="schedule, trigger, monitor or fix.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> None:
    """Suggestions, most useful first."""
    st = state(ctx)
    params = given(status=status, kind=kind, limit=limit, cursor=cursor)
    st.show(st.call("GET", PATH, params=params), COLUMNS)


@app.command()
def show(ctx: typer.Context, suggestion_id: str) -> None:
    """One suggestion: why, its evidence and back-test, and the request accepting makes."""
    st = state(ctx)
    st.show(st.call("GET", f"{PATH}/{suggestion_id}", workspace_in=None))


@app.command()
def accept(
    ctx: typer.Context,
    suggestion_id: str,
    overrides: Annotated[
        str | None,
        typer.Option(help="Fields that replace the suggested request's: JSON, @file or -."),
    ] = None,
) -> None:
    """Make the suggested request (with --overrides) and print what it made."""
    st = state(ctx)
    body = given(overrides=json_object(overrides, what="--overrides"))
    st.show(st.call("POST", f"{PATH}/{suggestion_id}/accept", json=body, workspace_in=None))


@app.command()
def dismiss(
    ctx: typer.Context,
    suggestion_id: str,
    reason: Annotated[str | None, typer.Option(help="Why it is not wanted.")] = None,
) -> None:
    """Not wanted: it is not suggested again unless its evidence grows a lot."""
    st = state(ctx)
    body = given(reason=reason)
    st.show(st.call("POST", f"{PATH}/{suggestion_id}/dismiss", json=body, workspace_in=None))


@app.command()
def snooze(
    ctx: typer.Context,
    suggestion_id: str,
    for_: Annotated[str | None, typer.Option("--for", help="How long: 30m, 12h, 7d, 2w...")] = None,
    until: Annotated[str | None, typer.Option(help="Until this instant (ISO-8601 with an offset).")] = None,
) -> None:
    """Not now: listed as snoozed until then, then open again."""
    st = state(ctx)
    if (for_ is None) == (until is None):
        raise CommandFailed(USAGE, "give --for (e.g. 7d) or --until, one of them")
    when = until if until is not None else (datetime.now(UTC) + duration(str(for_))).isoformat()
    st.show(st.call("POST", f"{PATH}/{suggestion_id}/snooze", json={"until": when}, workspace_in=None))


@app.command()
def refresh(ctx: typer.Context) -> None:
    """Mine the workspace's recent history now, and print what was found."""
    st = state(ctx)
    st.show(st.call("POST", f"{PATH}/refresh"))


@app.command()
def patterns(ctx: typer.Context) -> None:
    """What the last mining found, whether or not it became a suggestion."""
    st = state(ctx)
    answer = st.call("GET", "/api/proactive/patterns")
    if st.output.format != "table":
        st.show(answer)
        return
    st.output.note(f"mined at {answer.get('mined_at')} over {answer.get('window_days')} days")
    columns = [
        ("id", "id"),
        ("kind", "kind"),
        ("subject", "subject"),
        ("description", "description"),
        ("suggestion", "suggestion_id"),
    ]
    st.show({"items": answer.get("patterns") or [], "next_cursor": None}, columns)
