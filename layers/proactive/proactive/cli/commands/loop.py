"""`proactive loop ...`: the goal loop (`/api/autonomous/...`): its inputs (metrics, events), the
goals it sets, the actions it may take and the approvals they wait for, its status and report."""

from __future__ import annotations

from typing import Annotated

import typer

from proactive.cli.commands.common import Cursor, Limit, given
from proactive.cli.commands.loop_data import events_app, metrics_app
from proactive.cli.state import state

app = typer.Typer(no_args_is_help=True)
goals_app = typer.Typer(no_args_is_help=True, help="The goals the loop has set: list, show.")
approvals_app = typer.Typer(
    no_args_is_help=True, help="Actions waiting for a decision: list, show, approve, reject."
)
actions_app = typer.Typer(no_args_is_help=True, help="What the loop may do for goals: list, show.")
app.add_typer(metrics_app, name="metrics")
app.add_typer(events_app, name="events")
app.add_typer(goals_app, name="goals")
app.add_typer(approvals_app, name="approvals")
app.add_typer(actions_app, name="actions")
BASE = "/api/autonomous"

GOAL_COLUMNS = [
    ("id", "id"),
    ("type", "goal_type"),
    ("status", "status"),
    ("priority", "priority_label"),
    ("metric", "metric"),
    ("target", "target"),
    ("title", "title"),
    ("due", "due_at"),
]
APPROVAL_COLUMNS = [
    ("id", "id"),
    ("goal", "goal_id"),
    ("action", "action_name"),
    ("kind", "action_kind"),
    ("status", "status"),
    ("until", "approval.expires_at"),
    ("decision", "approval.decision"),
    ("created", "created_at"),
]
ACTION_COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("kind", "kind"),
    ("goal types", "goal_types"),
    ("approval", "requires_approval"),
    ("active", "is_active"),
    ("attempts", "statistics.attempts"),
    ("successes", "statistics.successes"),
]


@goals_app.command("list")
def goals_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="active, achieved, failed or expired.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> None:
    """The goals the loop has set, newest first."""
    st = state(ctx)
    params = given(status=status, limit=limit, cursor=cursor)
    st.show(st.call("GET", f"{BASE}/goals", params=params), GOAL_COLUMNS)


@goals_app.command("show")
def goals_show(ctx: typer.Context, goal_id: str) -> None:
    """A goal, why it was set, and what the loop did for it."""
    st = state(ctx)
    st.show(st.call("GET", f"{BASE}/goals/{goal_id}", workspace_in=None))


@approvals_app.command("list")
def approvals_list(
    ctx: typer.Context,
    decided: Annotated[bool, typer.Option("--decided", help="Those decided (or lapsed) instead.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> None:
    """The actions waiting for a decision (or decided), newest first."""
    st = state(ctx)
    params = given(state="decided" if decided else None, limit=limit, cursor=cursor)
    st.show(st.call("GET", f"{BASE}/approvals", params=params), APPROVAL_COLUMNS)


@approvals_app.command("show")
def approvals_show(ctx: typer.Context, goal_action_id: str) -> None:
    """One planned action: its plan, its approval, its run and its timeline."""
    st = state(ctx)
    st.show(st.call("GET", f"{BASE}/approvals/{goal_action_id}", workspace_in=None))


@approvals_app.command("approve")
def approve(ctx: typer.Context, goal_action_id: str) -> None:
    """Approve an action (refused, exit 5, once decided or lapsed)."""
    st = state(ctx)
    st.show(st.call("POST", f"{BASE}/approvals/{goal_action_id}/approve", workspace_in=None))


@approvals_app.command("reject")
def reject(ctx: typer.Context, goal_action_id: str) -> None:
    """Reject an action (refused, exit 5, once decided or lapsed)."""
    st = state(ctx)
    st.show(st.call("POST", f"{BASE}/approvals/{goal_action_id}/reject", workspace_in=None))


@actions_app.command("list")
def actions_list(ctx: typer.Context, limit: Limit = 50, cursor: Cursor = None) -> None:
    """The workspace's action handlers, newest first, with their record of outcomes."""
    st = state(ctx)
    st.show(st.call("GET", f"{BASE}/actions", params={"limit": limit, "cursor": cursor}), ACTION_COLUMNS)


@actions_app.command("show")
def actions_show(ctx: typer.Context, action_id: str) -> None:
    """One action handler."""
    st = state(ctx)
    st.show(st.call("GET", f"{BASE}/actions/{action_id}", workspace_in=None))


@app.command()
def status(ctx: typer.Context) -> None:
    """Whether the loop runs on its own, its metrics, when it analysed and analyses next."""
    st = state(ctx)
    st.show(st.call("GET", f"{BASE}/status"))


@app.command()
def analyze(ctx: typer.Context) -> None:
    """Analyse now: forecast, score, set goals and plan actions (`loop analyses` follows it)."""
    st = state(ctx)
    st.show(st.call("POST", f"{BASE}/analysis/trigger", json={}, workspace_in="body"))


@app.command()
def analyses(ctx: typer.Context, limit: Limit = 20, cursor: Cursor = None) -> None:
    """The loop's analyses, newest first."""
    st = state(ctx)
    columns = [
        ("id", "id"),
        ("trigger", "trigger"),
        ("status", "status"),
        ("analysed at", "analysed_at"),
        ("finished", "finished_at"),
        ("error", "error"),
    ]
    st.show(st.call("GET", f"{BASE}/analyses", params={"limit": limit, "cursor": cursor}), columns)


@app.command()
def report(ctx: typer.Context) -> None:
    """The loop's activity: mode, analyses, rules, goals and how its actions have done."""
    st = state(ctx)
    st.show(st.call("GET", f"{BASE}/report"))
