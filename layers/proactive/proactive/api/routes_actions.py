"""The goal loop's action handlers (`/api/autonomous/actions`) and what the executor has learnt
from their outcomes (`/api/autonomous/executor/statistics` and `/insights`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from proactive.api import listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.loop import action_handlers
from proactive.models.actions import (
    Action,
    ActionCreate,
    ActionUpdate,
    ActionWithSecret,
    ExecutorInsights,
    ExecutorStatistics,
)
from proactive.models.common import Page

router = APIRouter(prefix="/api/autonomous", tags=["goal loop"])


_CREATE = (
    "Create an action handler: what the goal loop may do for goals of its `goal_types`. Its name is "
    "unique in the workspace (409 otherwise). An `http` action's `secret` is shown in this answer "
    "only.\n\nTemplates are filled from the goal acted on:\n\n"
    + "\n".join(f"- `{{{name}}}`: {meaning}" for name, meaning in action_handlers.GOAL_FIELDS.items())
    + "\n- `{parameters.<key>}`: from the action's parameters"
)


@router.post(
    "/actions", status_code=status.HTTP_201_CREATED, response_model=ActionWithSecret, description=_CREATE
)
def create_action(body: ActionCreate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    workspace = body.workspace_id or principal.only_workspace()
    principal.require(workspace)
    return action_handlers.create_action(store, body, workspace, utcnow())


@router.get("/actions", response_model=Page[Action])
def list_actions(workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None) -> Any:
    """The workspace's actions, newest first, each with its record of outcomes."""
    items, next_cursor = store.actions.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Action, present=action_handlers.present)


@router.get("/actions/{action_id}", response_model=Action)
def get_action(action_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return action_handlers.get_action(store, action_id, principal.workspaces)


@router.patch("/actions/{action_id}", response_model=Action)
def update_action(action_id: str, body: ActionUpdate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Change the fields given; the others, and changes made meanwhile, are kept. The kind cannot
    change."""
    return action_handlers.update_action(store, action_id, body, principal.workspaces, utcnow())


@router.delete("/actions/{action_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_action(action_id: str, principal: CurrentPrincipal, store: StoreDep) -> Response:
    """Delete the action and its record of outcomes: an action made again under its name starts
    with no record."""
    action_handlers.delete_action(store, action_id, principal.workspaces)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/executor/statistics", response_model=ExecutorStatistics)
def executor_statistics(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """How the workspace's actions have done: totals, and per goal type over the actions serving it."""
    from proactive.loop import insights  # the goal loop's analytics (numpy) load with their routes

    return insights.statistics(workspace, store.actions.all_in(workspace))


@router.get("/executor/insights", response_model=ExecutorInsights)
def executor_insights(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """What the record teaches: each action's success rate, mean impact and Beta posterior with its
    90% credible interval, the success rates by action name and the most failing actions."""
    from proactive.loop import insights

    return insights.insights(workspace, store.actions.all_in(workspace))
