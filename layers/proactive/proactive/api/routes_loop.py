"""The goal loop's settings, mode, status, predictions, goals and analyses:
`/api/autonomous/settings`, `/mode`, `/status`, `/predictions`, `/goals` and `/analysis/trigger`
(autonomous mode's routes and the metrics and events share the prefix, without clashing)."""

from __future__ import annotations

from typing import Annotated, Any

from boto3.dynamodb.conditions import Attr
from fastapi import APIRouter, Query
from fastapi import status as http_status

from proactive.api import cursors, listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.loop import runs_view, settings
from proactive.models.common import Page
from proactive.models.goals import AnalysisRequest, AnalysisRun, Goal, GoalDetail, GoalStatus, Report
from proactive.models.loop import (
    MAX_HORIZON_HOURS,
    LoopSettings,
    LoopSettingsUpdate,
    LoopStatus,
    ModeChange,
    Predictions,
)
from proactive.models.series import SeriesName

router = APIRouter(prefix="/api/autonomous", tags=["goal loop"])


@router.get("/settings", response_model=LoopSettings)
def get_settings(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """The goal loop's settings: the defaults until they are first changed (`version` 0)."""
    return settings.shown(settings.current(store, workspace))


@router.put("/settings", response_model=LoopSettings)
def put_settings(body: LoopSettingsUpdate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Change the settings: fields left out keep their value, at any depth; `rules`, when given,
    replaces the list. `agent.analysis_interval_minutes` and `forecasting.analysis_interval_minutes`
    are one value: give either (or both, equal). 422 names the field at fault (`rules[1].value`)."""
    workspace = body.workspace_id or principal.only_workspace()
    principal.require(workspace)
    changes = body.model_dump(exclude_unset=True, exclude={"workspace_id"})
    return settings.shown(settings.update(store, workspace, changes, utcnow()))


@router.post("/mode", response_model=LoopStatus)
def set_mode(body: ModeChange, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Turn autonomous mode on or off, and answer the loop's status. Turned on (with auto analysis),
    the first analysis is due at once."""
    workspace = body.workspace_id or principal.only_workspace()
    principal.require(workspace)
    settings.set_mode(store, workspace, body.autonomous, utcnow())
    return settings.status(store, workspace)


@router.get("/status", response_model=LoopStatus)
def get_status(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """Whether the loop runs on its own, how many metrics it has, when it analysed and analyses next."""
    return settings.status(store, workspace)


@router.get("/predictions", response_model=Predictions)
def get_predictions(
    workspace: WorkspaceScope,
    store: StoreDep,
    horizon_hours: Annotated[
        int | None,
        Query(
            ge=1, le=MAX_HORIZON_HOURS, description="Hours ahead (default: the settings' forecast horizon)."
        ),
    ] = None,
    metric_name: Annotated[SeriesName | None, Query(description="Only this metric (404 if unknown).")] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="Metrics per page.")] = 20,
    cursor: Cursor = None,
) -> Any:
    """Each metric's forecast from its last 14 days: point forecasts with 90% intervals, the method
    (or ensemble and its weights) and how each did on the recent history. A metric with too few
    points has no points and a `reason`."""
    # The goal loop's analytics (numpy and the forecasts) load with the routes that use them, not
    # with the API.
    from proactive.loop import predictions

    found = predictions.predictions(
        store,
        workspace,
        horizon_hours=horizon_hours,
        metric_name=metric_name,
        limit=limit,
        cursor=cursor,
        now=utcnow(),
    )
    return {**found, "next_cursor": cursors.opaque(found.get("next_cursor"))}


@router.post("/analysis/trigger", response_model=AnalysisRun, status_code=http_status.HTTP_202_ACCEPTED)
def trigger_analysis(
    principal: CurrentPrincipal, store: StoreDep, body: AnalysisRequest | None = None
) -> Any:
    """Analyse now: starts the goal loop's state machine, which forecasts the metrics the rules
    read, reads their anomaly scores, finds the recurring patterns, sets (or refreshes) goals, then
    plans and takes actions for them. Answers the analysis at once (202); `GET /analyses/{id}`
    shows each step as it finishes."""
    workspace = (body.workspace_id if body else None) or principal.only_workspace()
    principal.require(workspace)
    settings.current(store, workspace)  # an unknown workspace is refused before anything starts
    return runs_view.start(store, workspace, utcnow())


@router.get("/analyses", response_model=Page[AnalysisRun])
def list_analyses(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 20, cursor: Cursor = None
) -> Any:
    """The workspace's analyses, newest first."""
    items, next_cursor = store.analyses.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, AnalysisRun, present=runs_view.present)


@router.get("/analyses/{analysis_id}", response_model=AnalysisRun)
def get_analysis(analysis_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return runs_view.present(store.analyses.owned(analysis_id, principal.workspaces))


@router.get("/goals", response_model=Page[Goal])
def list_goals(
    workspace: WorkspaceScope,
    store: StoreDep,
    status: GoalStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """The goals the loop has set, newest first, each with why it was set."""
    from proactive.loop import analysis

    items, next_cursor = store.goals.page(
        workspace, limit=limit, cursor=cursor, filters=Attr("status").eq(status) if status else None
    )
    return listing.page(items, next_cursor, Goal, present=analysis.present)


@router.get("/goals/{goal_id}", response_model=GoalDetail)
def get_goal(goal_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """The goal, why it was set, and what the loop did for it (plans, approvals, executions,
    impacts), oldest first."""
    from proactive.loop import analysis

    goal = analysis.present(store.goals.owned(goal_id, principal.workspaces))
    return {**goal, "actions": [runs_view.present_action(a) for a in store.goal_actions.of_goal(goal_id)]}


@router.get("/report", response_model=Report)
def get_report(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """The goal loop's activity: its mode and analyses, the rules it watches, its goals (by status
    and type, the active ones in full) and how its actions have done."""
    from proactive.loop import analysis

    return analysis.report(store, workspace, utcnow())
