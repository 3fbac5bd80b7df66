from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from proactive import monitors
from proactive.api import listing
from proactive.api.deps import BusDep, CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.monitors import Check, CheckRecord, MetricValue, Monitor, MonitorCreate, MonitorUpdate
from proactive.monitors import checks

router = APIRouter(prefix="/api/proactive/monitors", tags=["monitors"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Monitor)
def create_monitor(body: MonitorCreate, principal: CurrentPrincipal, store: StoreDep) -> Monitor:
    principal.require(body.workspace_id)
    return monitors.present(monitors.create_monitor(store, body, utcnow()))


@router.get("", response_model=Page[Monitor])
def list_monitors(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    items, next_cursor = store.monitors.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Monitor, present=monitors.present)


@router.get("/{monitor_id}", response_model=Monitor)
def get_monitor(monitor_id: str, principal: CurrentPrincipal, store: StoreDep) -> Monitor:
    return monitors.present(monitors.get_monitor(store, monitor_id, principal.workspaces))


@router.patch("/{monitor_id}", response_model=Monitor)
def update_monitor(
    monitor_id: str, body: MonitorUpdate, principal: CurrentPrincipal, store: StoreDep
) -> Monitor:
    return monitors.present(monitors.update_monitor(store, monitor_id, body, principal.workspaces, utcnow()))


@router.delete("/{monitor_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_monitor(monitor_id: str, principal: CurrentPrincipal, store: StoreDep) -> Response:
    monitors.delete_monitor(store, monitor_id, principal.workspaces)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{monitor_id}/pause", response_model=Monitor)
def pause(monitor_id: str, principal: CurrentPrincipal, store: StoreDep) -> Monitor:
    return monitors.present(monitors.set_active(store, monitor_id, False, principal.workspaces, utcnow()))


@router.post("/{monitor_id}/resume", response_model=Monitor)
def resume(monitor_id: str, principal: CurrentPrincipal, store: StoreDep) -> Monitor:
    return monitors.present(monitors.set_active(store, monitor_id, True, principal.workspaces, utcnow()))


@router.post("/{monitor_id}/check", response_model=Check)
def check_now(
    monitor_id: str, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep, bus: BusDep
) -> CheckRecord:
    """Check now and return the result (a fire queues the agent's run, as a scheduled check would)."""
    monitor = monitors.get_monitor(store, monitor_id, principal.workspaces)
    return checks.check_now(store, queue, bus, monitor, utcnow())


@router.get("/{monitor_id}/history", response_model=Page[Check])
def history(
    monitor_id: str, principal: CurrentPrincipal, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Checks, newest first: value, condition result, whether it fired (and the run), or the error."""
    monitors.get_monitor(store, monitor_id, principal.workspaces)
    items, next_cursor = store.checks.page(monitor_id, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Check)


@router.post("/{monitor_id}/values", status_code=status.HTTP_202_ACCEPTED)
def add_value(
    monitor_id: str, body: MetricValue, principal: CurrentPrincipal, store: StoreDep
) -> dict[str, str]:
    """Record a value for a metric monitor (aggregated over its window at each check)."""
    monitor = monitors.get_monitor(store, monitor_id, principal.workspaces)
    monitors.add_value(store, monitor, body, utcnow())
    return {"status": "recorded"}
