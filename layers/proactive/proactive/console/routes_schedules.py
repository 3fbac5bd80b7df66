"""The console's schedules pages: the list, one schedule, and the form that makes one.

Every schedule shows its cron in words, its zone, its next five fires (in its zone, and in the
viewer's), its last run's outcome, and whether it is active; pause, resume, run now and delete are
forms (POST, with the page's CSRF token). The form checks the cron and the zone as they are typed
and previews the next fires, asking the API's preview route (`GET /api/proactive/schedules/preview`,
the one the CLI uses), and shows each refusal of the API beside its field.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import available_timezones

from fastapi import Request
from fastapi.responses import Response

from proactive.console.web import (
    Checked,
    Looking,
    Viewer,
    api,
    console_router,
    form_fields,
    redirect,
    refusals,
    render,
)
from proactive.errors import DomainError
from proactive.lib.cron import CronError, load_zone

router = console_router()

API = "/api/proactive/schedules"
PAGE = 25
# The fields of the form, as the API names them.
FIELDS = ("name", "agent_id", "task_description", "cron_expression", "timezone", "catch_up", "overlap")
CATCH_UP = (
    ("latest", "Run the latest missed occurrence"),
    ("skip", "Run none of the missed occurrences"),
    ("all", "Run every missed occurrence"),
)
OVERLAP = (("skip", "Skip an occurrence while the previous run is going"), ("allow", "Let runs overlap"))
# What the notice above the list says after a form was sent (`?done=`).
DONE = {
    "paused": "Schedule paused.",
    "resumed": "Schedule resumed: it fires from now on.",
    "deleted": "Schedule deleted.",
    "created": "Schedule created.",
}


def zone_names() -> list[str]:
    """The IANA zones the time zone field suggests."""
    return sorted(available_timezones())


def wall_time(text: str, timezone: str) -> str:
    """An ISO fire time (with its offset) as a reader of the schedule's zone says it."""
    try:
        instant = datetime.fromisoformat(text)
        return instant.astimezone(load_zone(timezone)).strftime("%a %d %b %Y, %H:%M %Z")
    except (ValueError, CronError):
        return text


def fires(items: list[str], timezone: str) -> list[dict[str, str]]:
    return [{"iso": item, "wall": wall_time(item, timezone)} for item in items]


async def _run_or_none(request: Request, viewer: Viewer, run_id: str | None) -> dict[str, Any] | None:
    if not run_id:
        return None
    try:
        run = await api(request, viewer, "GET", f"/api/runs/{quote(run_id, safe='')}")
    except DomainError:
        return None  # deleted since, or not readable: the page shows the id alone
    return dict(run) if isinstance(run, dict) else None


def _shown(schedule: dict[str, Any], last_run: dict[str, Any] | None) -> dict[str, Any]:
    return {
        **schedule,
        "fires": fires(list(schedule.get("upcoming") or []), str(schedule.get("timezone") or "UTC")),
        "last": last_run,
        "state": "active" if schedule.get("is_active") else "paused",
    }


def _back(viewer: Viewer, fields: dict[str, list[str]], default: str) -> str:
    """Where a form sends the person back to: a page of this workspace's schedules only."""
    back = next(iter(fields.get("back", [])), "")
    path = back.split("?", 1)[0]
    inside = path.startswith(viewer.path("schedules")) and ".." not in path
    return path if inside else default


def _with(path: str, **params: str) -> str:
    return f"{path}?{urlencode(params)}"


@router.get("/{workspace}/schedules")
async def schedules_page(
    request: Request, workspace: str, viewer: Looking, cursor: str | None = None
) -> Response:
    """A page of the workspace's schedules, each with its next fires and its last run."""
    page = await api(request, viewer, "GET", API, params={"limit": PAGE, "cursor": cursor})
    items = [item for item in page.get("items", []) if isinstance(item, dict)]
    last_runs = await asyncio.gather(*(_run_or_none(request, viewer, s.get("last_run_id")) for s in items))
    next_cursor = page.get("next_cursor")
    return render(
        request,
        "schedules/list.html",
        viewer,
        schedules=[_shown(item, run) for item, run in zip(items, last_runs, strict=True)],
        next_url=_with(viewer.path("schedules"), cursor=next_cursor) if next_cursor else None,
        started=request.query_params.get("started"),
        done=DONE.get(request.query_params.get("done", "")),
        created=request.query_params.get("created"),
    )


async def _agents(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    page = await api(request, viewer, "GET", "/api/agents", params={"limit": 100})
    return [item for item in page.get("items", []) if isinstance(item, dict)]


def _form_page(
    request: Request,
    viewer: Viewer,
    agents: list[dict[str, Any]],
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "schedules/new.html",
        viewer,
        status_code=status_code,
        agents=agents,
        values=values,
        errors=errors,
        zones=zone_names(),
        catch_up=CATCH_UP,
        overlap=OVERLAP,
    )


@router.get("/{workspace}/schedules/new")
async def new_schedule(request: Request, workspace: str, viewer: Looking) -> Response:
    """The form that makes a schedule."""
    values = {"timezone": "UTC", "catch_up": "latest", "overlap": "skip", "is_active": "on"}
    return _form_page(request, viewer, await _agents(request, viewer), values, {})


@router.post("/{workspace}/schedules/new")
async def create_schedule(request: Request, workspace: str, viewer: Checked) -> Response:
    """Make the schedule the form describes; a refusal shows the form again, each message beside
    the field it concerns."""
    fields = await form_fields(request)
    values = {name: next(iter(fields.get(name, [])), "").strip() for name in FIELDS}
    values["is_active"] = "on" if fields.get("is_active") else ""
    body: dict[str, Any] = {k: v for k, v in values.items() if k != "is_active"}
    body.update(workspace_id=viewer.workspace, is_active=bool(values["is_active"]))
    body["timezone"] = body["timezone"] or "UTC"
    try:
        made = await api(request, viewer, "POST", API, body)
    except DomainError as exc:
        if exc.status_code not in (400, 404, 409, 422):
            raise
        agents = await _agents(request, viewer)
        return _form_page(
            request, viewer, agents, values, refusals(exc, FIELDS, elsewhere=""), status_code=exc.status_code
        )
    return redirect(request, _with(viewer.path("schedules"), done="created", created=str(made["id"])))


@router.get("/{workspace}/schedules/preview")
async def preview(
    request: Request,
    workspace: str,
    viewer: Looking,
    cron_expression: str = "",
    timezone: str = "",
) -> Response:
    """The form's preview: the cron in words and its next five fires, or why the cron or the
    zone cannot be used (each message beside its field, swapped in out of band)."""
    result: dict[str, Any] | None = None
    errors: dict[str, str] = {}
    timezone = timezone.strip() or "UTC"
    if cron_expression.strip():
        params = {"cron_expression": cron_expression, "timezone": timezone, "count": 5}
        try:
            result = await api(request, viewer, "GET", f"{API}/preview", params=params)
        except DomainError as exc:
            if exc.status_code != 422:
                raise
            errors = refusals(exc, ("cron_expression", "timezone"), elsewhere="")
    shown = fires(list(result["next_runs"]), timezone) if result else []
    return render(request, "schedules/_preview.html", viewer, result=result, fires=shown, errors=errors)


@router.get("/{workspace}/schedules/{schedule_id}")
async def schedule_page(request: Request, workspace: str, viewer: Looking, schedule_id: str) -> Response:
    """One schedule: what it runs and when, its next fires, its recent runs."""
    path = f"{API}/{quote(schedule_id, safe='')}"
    schedule = await api(request, viewer, "GET", path)
    runs, last = await asyncio.gather(
        api(request, viewer, "GET", f"{path}/runs", params={"limit": 10}),
        _run_or_none(request, viewer, schedule.get("last_run_id")),
    )
    return render(
        request,
        "schedules/detail.html",
        viewer,
        schedule=_shown(schedule, last),
        runs=[r for r in runs.get("items", []) if isinstance(r, dict)],
        started=request.query_params.get("started"),
        done=DONE.get(request.query_params.get("done", "")),
    )


async def _act(request: Request, viewer: Viewer, schedule_id: str, action: str) -> Response:
    fields = await form_fields(request)
    path = f"{API}/{quote(schedule_id, safe='')}"
    detail = viewer.path(f"schedules/{quote(schedule_id, safe='')}")
    back = _back(viewer, fields, detail)
    if action == "run":
        run = await api(request, viewer, "POST", f"{path}/run")
        return redirect(request, _with(back, started=str(run["id"])))
    if action == "delete":
        await api(request, viewer, "DELETE", path)
        return redirect(request, _with(viewer.path("schedules"), done="deleted"))
    await api(request, viewer, "POST", f"{path}/{action}")
    return redirect(request, _with(back, done=f"{action}d"))


@router.post("/{workspace}/schedules/{schedule_id}/pause")
async def pause(request: Request, workspace: str, viewer: Checked, schedule_id: str) -> Response:
    return await _act(request, viewer, schedule_id, "pause")


@router.post("/{workspace}/schedules/{schedule_id}/resume")
async def resume(request: Request, workspace: str, viewer: Checked, schedule_id: str) -> Response:
    """Resume from now on (occurrences that fell while it was paused are not run)."""
    return await _act(request, viewer, schedule_id, "resume")


@router.post("/{workspace}/schedules/{schedule_id}/run")
async def run_now(request: Request, workspace: str, viewer: Checked, schedule_id: str) -> Response:
    """Start one run now; the page it goes back to links to it."""
    return await _act(request, viewer, schedule_id, "run")


@router.post("/{workspace}/schedules/{schedule_id}/delete")
async def delete(request: Request, workspace: str, viewer: Checked, schedule_id: str) -> Response:
    return await _act(request, viewer, schedule_id, "delete")
