"""The console's runs pages: the list (filtered, live), bulk cancel and replay, and one run.

- `/console/{ws}/runs`: one page of the workspace's runs, newest first, with the API's filters in
  the address (`status`, `agent_id`, `source_type`, `source_id`, `since`, `until`, `q`), so a view
  can be shared. The first page follows new and changed runs as they happen: a server-sent event
  stream (`runs/live`) where the app can stream, polling of the same rows (`runs/rows`) where it
  cannot (inside AWS Lambda, whose API Gateway buffers answers).
- `POST /console/{ws}/runs/bulk`: cancel or replay up to 100 selected runs, each by the API's own
  route, and a page that says what happened to each.
- `/console/{ws}/runs/{id}`: one run: its times, its steps as a waterfall, what started it and
  the runs it is linked to, its input and output (secret-looking values masked), replay and cancel.

Every answer shown is the API's, asked as the signed-in person for this page's workspace alone,
so a run of another workspace is not found here even when the person holds that one too.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from proactive.clock import utcnow
from proactive.console import runs_view
from proactive.console.web import (
    PAGE_HEADERS,
    Checked,
    Looking,
    Viewer,
    api,
    console_router,
    form_fields,
    redirect,
    render,
    templates,
)
from proactive.errors import DomainError, InvalidInput, NotFound
from proactive.models.runs import RunStatus, SourceType

router = console_router()

# Runs on one page, and the most one bulk action takes.
PAGE_SIZE = 50
MAX_BULK = 100
# The live stream looks for changes this often, checks for a gone client this often while it
# waits, and ends after this long (the browser's EventSource then connects again).
LOOK_EVERY = 2.0
DISCONNECT_CHECK = 0.5
STREAM_SECONDS = 180.0
# Polling (where there is no stream): seconds between two looks.
POLL_SECONDS = 5
FILTERS = ("status", "agent_id", "source_type", "source_id", "since", "until", "q")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def _streams() -> bool:
    """Whether answers can stream here (inside AWS Lambda, API Gateway buffers them)."""
    return not os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


@dataclass(frozen=True)
class Filters:
    """The list's filters as the address gives them (empty ones left out)."""

    values: dict[str, str]

    @classmethod
    def of(cls, request: Request) -> Filters:
        given = request.query_params
        return cls({k: v.strip() for k in FILTERS if (v := given.get(k, "")) and v.strip()})

    def api_params(self) -> dict[str, str]:
        """The API's query: a time without an offset is taken as UTC (what the form's fields say)."""
        params = dict(self.values)
        for name in ("since", "until"):
            if name in params:
                params[name] = runs_view.instant_param(params[name])
        return params

    def query(self, **extra: str | None) -> str:
        return urlencode({**self.values, **{k: v for k, v in extra.items() if v}})

    def shown(self, name: str) -> str:
        """A filter's value as its form field shows it (a time in UTC, to the minute)."""
        value = self.values.get(name, "")
        return runs_view.local_field(value) if name in ("since", "until") else value


async def _agent_names(request: Request, viewer: Viewer) -> dict[str, str]:
    """Agent names by id: one page of the workspace's agents (one call, whatever the rows)."""
    try:
        page = await api(request, viewer, "GET", "/api/agents", params={"limit": 100})
    except DomainError:
        return {}
    return {str(a.get("id")): str(a.get("name") or a.get("id")) for a in page.get("items") or []}


async def _page(
    request: Request, viewer: Viewer, filters: Filters, cursor: str | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {**filters.api_params(), "limit": PAGE_SIZE, "cursor": cursor}
    answer = await api(request, viewer, "GET", "/api/runs", params=params)
    return answer if isinstance(answer, dict) else {"items": []}


def _rows_html(request: Request, viewer: Viewer, rows: list[dict[str, Any]]) -> str:
    page = templates().get_template("runs/rows.html")
    return page.render(request=request, viewer=viewer, rows=rows)


@router.get("/{workspace}/runs")
async def runs_page(request: Request, workspace: str, viewer: Looking) -> Response:
    """One page of the workspace's runs, filtered as the address says, following new runs."""
    filters = Filters.of(request)
    cursor = request.query_params.get("cursor") or None
    names = await _agent_names(request, viewer)
    problem: DomainError | None = None
    try:
        page = await _page(request, viewer, filters, cursor)
    except InvalidInput as exc:
        problem, page = exc, {"items": []}
    rows = [runs_view.row(run, names, viewer) for run in page.get("items") or []]
    base = viewer.path("runs")
    live = not cursor and problem is None
    return render(
        request,
        "runs/list.html",
        viewer,
        status_code=422 if problem else 200,
        rows=rows,
        filters=filters,
        problem=problem,
        agents=sorted(names.items(), key=lambda item: item[1].lower()),
        statuses=[s.value for s in RunStatus],
        source_types=[s.value for s in SourceType],
        live_url=f"{base}/live?{filters.query()}" if live and _streams() else None,
        poll_url=f"{base}/rows?{filters.query()}" if live else None,
        poll_seconds=POLL_SECONDS,
        next_url=f"{base}?{filters.query(cursor=page.get('next_cursor'))}"
        if page.get("next_cursor")
        else None,
        first_url=f"{base}?{filters.query()}" if cursor else None,
        max_bulk=MAX_BULK,
    )


@router.get("/{workspace}/runs/rows")
async def runs_rows(request: Request, workspace: str, viewer: Looking) -> Response:
    """The rows of the first page of the filtered list (for a page that polls)."""
    filters = Filters.of(request)
    names = await _agent_names(request, viewer)
    page = await _page(request, viewer, filters)
    rows = [runs_view.row(run, names, viewer) for run in page.get("items") or []]
    return render(request, "runs/rows.html", viewer, rows=rows)


@router.get("/{workspace}/runs/live")
async def runs_live(request: Request, workspace: str, viewer: Looking) -> Response:
    """Server-sent events: every couple of seconds, the rows of the first page of the filtered
    list that are new or changed since the last look, as one `data:` message of `<tr>`s (the
    first message holds them all). Ends after a few minutes; the browser connects again."""
    if not _streams():
        raise NotFound("live updates are not served here; the page polls for them")
    filters = Filters.of(request)
    names = await _agent_names(request, viewer)
    headers = {**PAGE_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _changes(request, viewer, filters, names), media_type="text/event-stream", headers=headers
    )


async def _changes(
    request: Request, viewer: Viewer, filters: Filters, names: dict[str, str]
) -> AsyncIterator[str]:
    """The stream's messages, until it has lasted `STREAM_SECONDS` or the client is gone."""
    sent: dict[str, str] = {}
    ends = time.monotonic() + STREAM_SECONDS
    yield f"retry: {int(LOOK_EVERY * 1000)}\n\n"
    while True:
        try:
            page = await _page(request, viewer, filters)
        except DomainError:
            return  # the session or the workspace is gone: the browser's next connection says why
        changed: list[str] = []
        for run in page.get("items") or []:
            html = _rows_html(request, viewer, [runs_view.row(run, names, viewer)])
            if sent.get(str(run.get("id"))) != html:
                sent[str(run.get("id"))] = html
                changed.append(html)
        # A comment keeps the connection open through proxies when nothing changed.
        yield _message("".join(changed)) if changed else ": nothing new\n\n"
        wake = time.monotonic() + LOOK_EVERY
        while time.monotonic() < wake:
            if await request.is_disconnected():
                return
            await asyncio.sleep(min(DISCONNECT_CHECK, max(0.0, wake - time.monotonic())))
        if time.monotonic() >= ends or await request.is_disconnected():
            return


def _message(html: str) -> str:
    """One server-sent event whose data is `html` (each line a `data:` line)."""
    return "".join(f"data: {line}\n" for line in html.strip().splitlines()) + "\n"


@dataclass(frozen=True)
class Outcome:
    """What one run of a bulk action came to."""

    run_id: str
    result: str  # cancelled | cancel_requested | replayed | not_found | refused
    message: str = ""
    new_run_id: str | None = None
    status: str | None = None


async def _act(request: Request, viewer: Viewer, action: str, run_id: str) -> Outcome:
    """`action` done to one run by the API's own route, as the person, in this workspace only."""
    if not RUN_ID.fullmatch(run_id):
        return Outcome(run_id, "not_found", "this is not a run id")
    try:
        answer = await api(request, viewer, "POST", f"/api/runs/{quote(run_id, safe='')}/{action}")
    except DomainError as exc:
        return Outcome(run_id, "not_found" if exc.status_code == 404 else "refused", exc.message)
    shown = answer if isinstance(answer, Mapping) else {}
    if action == "replay":
        return Outcome(run_id, "replayed", new_run_id=str(shown.get("id")), status=shown.get("status"))
    if shown.get("status") == RunStatus.CANCELLED.value:
        return Outcome(run_id, "cancelled", status="cancelled")
    return Outcome(
        run_id,
        "cancel_requested",
        "its attempt is running: it is cancelled when that attempt returns",
        status=shown.get("status"),
    )


@router.post("/{workspace}/runs/bulk")
async def runs_bulk(request: Request, workspace: str, viewer: Checked) -> Response:
    """Cancel or replay the selected runs (at most 100), each by the API's own route; the page
    says, run by run, what happened: cancelled, not (and why), or the new run of each replay."""
    form = await form_fields(request)
    action = next(iter(form.get("action", [])), "")
    if action not in ("cancel", "replay"):
        raise InvalidInput("choose an action: cancel or replay", field="action")
    ids = list(dict.fromkeys(i.strip() for i in form.get("ids", []) if i.strip()))
    if not ids:
        raise InvalidInput("select at least one run", field="ids")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} runs at once; {len(ids)} were selected", field="ids")
    outcomes = [await _act(request, viewer, action, run_id) for run_id in ids]
    back = form.get("back", [""])[0]
    return render(
        request,
        "runs/bulk.html",
        viewer,
        action=action,
        outcomes=outcomes,
        back=back if back.startswith(viewer.path("runs")) else viewer.path("runs"),
    )


def _run_path(viewer: Viewer, run_id: str) -> str:
    return viewer.path(f"runs/{quote(run_id, safe='')}")


def _checked_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise NotFound(f"run {run_id!r} not found")
    return run_id


@router.get("/{workspace}/runs/{run_id}")
async def run_page(request: Request, workspace: str, run_id: str, viewer: Looking) -> Response:
    """One run: its status and times, its steps as a waterfall, what started it and the runs
    linked to it, its input and output, and replay and cancel."""
    run = await api(request, viewer, "GET", f"/api/runs/{quote(_checked_id(run_id), safe='')}")
    agent: dict[str, Any] | None = None
    try:
        agent = await api(request, viewer, "GET", f"/api/agents/{quote(str(run.get('agent_id')), safe='')}")
    except DomainError:
        agent = None
    chained = await _chained(request, viewer, run)
    return render(
        request,
        "runs/run.html",
        viewer,
        run=runs_view.detail(run, agent, viewer),
        chained=chained,
        waterfall=runs_view.waterfall(run, utcnow()),
    )


async def _chained(request: Request, viewer: Viewer, run: Mapping[str, Any]) -> list[str]:
    """The runs its end started: each event trigger listening for runs' ends makes one run per
    finished run, with an id derived from both, so each such trigger's run is looked up by it."""
    if run.get("status") not in ("succeeded", "failed"):
        return []
    try:
        page = await api(request, viewer, "GET", "/api/proactive/triggers", params={"limit": 100})
    except DomainError:
        return []
    found: list[str] = []
    for trigger in runs_view.run_event_triggers(page.get("items") or [], run)[:10]:
        candidate = runs_view.chained_run_id(str(trigger["id"]), str(run["id"]))
        try:
            await api(request, viewer, "GET", f"/api/runs/{candidate}")
        except DomainError:
            continue
        found.append(candidate)
    return found


@router.post("/{workspace}/runs/{run_id}/cancel")
async def cancel_run(request: Request, workspace: str, run_id: str, viewer: Checked) -> Response:
    """Cancel the run (the API's `POST /api/runs/{id}/cancel`), then show it."""
    await api(request, viewer, "POST", f"/api/runs/{quote(_checked_id(run_id), safe='')}/cancel")
    return redirect(request, _run_path(viewer, run_id))


@router.post("/{workspace}/runs/{run_id}/replay")
async def replay_run(request: Request, workspace: str, run_id: str, viewer: Checked) -> Response:
    """Replay the run (the API's `POST /api/runs/{id}/replay`), then show the new run."""
    made = await api(request, viewer, "POST", f"/api/runs/{quote(_checked_id(run_id), safe='')}/replay")
    return redirect(request, _run_path(viewer, str(made["id"])))
