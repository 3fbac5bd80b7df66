"""Suggestions in the console: what the workspace could automate, found in its own history.

- `/console/{ws}/suggestions`: the suggestions, most useful first (open ones unless `status`
  says otherwise; `kind` narrows them), each with why, its numbers, its evidence and back-test,
  the exact request accepting makes, and accept / dismiss / snooze.
- `/console/{ws}/suggestions/{id}`: one suggestion; once accepted, a link to what it made.
- `POST .../{id}/accept`, `/dismiss`, `/snooze` and `POST /console/{ws}/suggestions/refresh` are
  the API's own routes, asked as the person signed in. A request the API refuses on accepting
  (a field the suggestion needs, such as a secret's value) is shown on the suggestion's page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response

from proactive.clock import iso, utcnow
from proactive.console.web import Checked, Looking, Viewer, api, console_router, form_fields, redirect, render
from proactive.errors import DomainError, InvalidInput, NotFound

router = console_router()

STATUSES = ("open", "snoozed", "accepted", "dismissed", "expired", "superseded")
KINDS = ("schedule", "trigger", "monitor", "fix")
# How long a snooze lasts: the form's choices.
SNOOZES = {
    "1d": ("a day", timedelta(days=1)),
    "7d": ("a week", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
}
PAGE = 20
# Where the console shows what an accepted suggestion made: its API path's prefix -> the page
# (`{id}` is the made item's id).
PAGES = (
    ("/api/proactive/schedules/", "schedules/{id}"),
    ("/api/proactive/monitors/", "monitors/{id}"),
    ("/api/proactive/triggers/", "webhooks#trigger-{id}"),
    ("/api/agents/", "agents/{id}"),
)


def console_page(viewer: Viewer, resource_path: str | None) -> str | None:
    """The console's page of what an accepted suggestion made, when the console has one."""
    for prefix, page in PAGES:
        if resource_path and resource_path.startswith(prefix) and len(resource_path) > len(prefix):
            return viewer.path(page.format(id=quote(resource_path[len(prefix) :], safe="")))
    return None


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value in (None, "", "any"):
        return None
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of any, {', '.join(allowed)}", field=field)
    return value


async def _agents(request: Request, viewer: Viewer, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workspace's agents (a page of them), when a suggestion shown needs one chosen."""
    if not any("agent_id" in ((s.get("request") or {}).get("needs") or []) for s in shown):
        return []
    found = await api(request, viewer, "GET", "/api/agents", params={"limit": 100})
    return [{"id": a["id"], "name": a["name"]} for a in found["items"]]


async def _suggestion(request: Request, viewer: Viewer, suggestion_id: str) -> dict[str, Any]:
    """The suggestion, when it is of the workspace of the address (404 otherwise)."""
    found: dict[str, Any] = await api(
        request, viewer, "GET", f"/api/proactive/suggestions/{quote(suggestion_id, safe='')}"
    )
    if found.get("workspace_id") != viewer.workspace:
        raise NotFound(f"suggestion {suggestion_id!r} not found")
    return found


@router.get("/{workspace}/suggestions")
async def suggestions(
    request: Request,
    viewer: Looking,
    status: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    refreshed: str | None = None,
) -> Response:
    """The suggestions, most useful first, a page at a time, and what the last mining found."""
    chosen = "open" if status is None else _choice(status, STATUSES, "status")
    chosen_kind = _choice(kind, KINDS, "kind")
    found = await api(
        request,
        viewer,
        "GET",
        "/api/proactive/suggestions",
        params={"status": chosen, "kind": chosen_kind, "limit": PAGE, "cursor": cursor},
    )
    mined = await api(request, viewer, "GET", "/api/proactive/patterns")
    next_cursor = found.get("next_cursor")
    query = {k: v for k, v in request.query_params.items() if k not in ("cursor", "refreshed")}
    return render(
        request,
        "suggestions/index.html",
        viewer,
        items=found["items"],
        next_url=f"{request.url.path}?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor else None,
        status=chosen or "any",
        kind=chosen_kind or "",
        statuses=STATUSES,
        kinds=KINDS,
        snoozes=SNOOZES,
        mined=mined,
        refreshed=refreshed,
        agents=await _agents(request, viewer, found["items"]),
        page_of=lambda s: console_page(viewer, s.get("resource_path")),
    )


@router.get("/{workspace}/suggestions/{suggestion_id}")
async def suggestion_page(request: Request, viewer: Looking, suggestion_id: str) -> Response:
    """One suggestion, and once accepted, what it made."""
    suggestion = await _suggestion(request, viewer, suggestion_id)
    return _one(request, viewer, suggestion, agents=await _agents(request, viewer, [suggestion]))


def _one(
    request: Request,
    viewer: Viewer,
    suggestion: dict[str, Any],
    *,
    agents: list[dict[str, Any]],
    error: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "suggestions/detail.html",
        viewer,
        status_code=error.status_code if error else 200,
        s=suggestion,
        snoozes=SNOOZES,
        made=console_page(viewer, suggestion.get("resource_path")),
        error=error,
        values=values or {},
        agents=agents,
    )


def _field(fields: dict[str, list[str]], name: str) -> str:
    return next(iter(fields.get(name, [])), "").strip()


@router.post("/{workspace}/suggestions/refresh")
async def refresh(request: Request, viewer: Checked) -> Response:
    """Mine the workspace's recent history now, then show what was found."""
    mined = await api(request, viewer, "POST", "/api/proactive/suggestions/refresh")
    summary = f"{mined.get('patterns') or 0} patterns, {mined.get('open') or 0} open"
    return redirect(request, f"{viewer.path('suggestions')}?{urlencode({'refreshed': summary})}")


@router.post("/{workspace}/suggestions/{suggestion_id}/accept")
async def accept(request: Request, viewer: Checked, suggestion_id: str) -> Response:
    """Make the suggestion's request (with the fields it needs, from the form), then show what it
    made. A refusal is shown on the suggestion's page, with the values typed kept (a secret's
    value excepted)."""
    suggestion = await _suggestion(request, viewer, suggestion_id)
    fields = await form_fields(request)
    needs = list((suggestion.get("request") or {}).get("needs") or [])
    overrides = {name: value for name in needs if (value := _field(fields, f"override.{name}"))}
    path = f"/api/proactive/suggestions/{quote(suggestion_id, safe='')}/accept"
    try:
        await api(request, viewer, "POST", path, {"overrides": overrides})
    except DomainError as refused:
        if refused.status_code == 404:
            raise
        kept = {name: value for name, value in overrides.items() if name != "value"}
        agents = await _agents(request, viewer, [suggestion])
        return _one(request, viewer, suggestion, agents=agents, error=refused, values=kept)
    return redirect(request, viewer.path(f"suggestions/{quote(suggestion_id, safe='')}"))


@router.post("/{workspace}/suggestions/{suggestion_id}/dismiss")
async def dismiss(request: Request, viewer: Checked, suggestion_id: str) -> Response:
    """Not wanted: not suggested again unless its evidence grows a lot."""
    await _suggestion(request, viewer, suggestion_id)
    reason = _field(await form_fields(request), "reason")
    if len(reason) > 500:
        raise InvalidInput("the reason is at most 500 characters", field="reason")
    body = {"reason": reason} if reason else {}
    await api(
        request, viewer, "POST", f"/api/proactive/suggestions/{quote(suggestion_id, safe='')}/dismiss", body
    )
    return redirect(request, viewer.path("suggestions"))


@router.post("/{workspace}/suggestions/{suggestion_id}/snooze")
async def snooze(request: Request, viewer: Checked, suggestion_id: str) -> Response:
    """Not now: listed as snoozed for the chosen time, then open again."""
    await _suggestion(request, viewer, suggestion_id)
    chosen = _field(await form_fields(request), "for")
    if chosen not in SNOOZES:
        raise InvalidInput(f"snooze for one of {', '.join(SNOOZES)}", field="for")
    until = iso(utcnow() + SNOOZES[chosen][1])
    path = f"/api/proactive/suggestions/{quote(suggestion_id, safe='')}/snooze"
    await api(request, viewer, "POST", path, {"until": until})
    return redirect(request, viewer.path("suggestions"))
