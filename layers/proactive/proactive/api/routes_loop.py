"""The goal loop's settings, mode, status and predictions: `/api/autonomous/settings`, `/mode`,
`/status` and `/predictions` (autonomous mode's routes and the metrics and events share the
prefix, without clashing)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from proactive.api.deps import CurrentPrincipal, Cursor, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.loop import predictions, settings
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
    return predictions.predictions(
        store,
        workspace,
        horizon_hours=horizon_hours,
        metric_name=metric_name,
        limit=limit,
        cursor=cursor,
        now=utcnow(),
    )
