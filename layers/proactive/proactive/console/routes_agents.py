"""The console's agents: the list, an agent's page (its settings, what starts it, its recent runs,
run now, delete), and the forms that create and edit http and llm agents.

Every change is the API's own request made as the signed-in person, so the API's refusals are
what the page shows, each next to the field it names. An http agent's signing secret is shown
on the page that answers its creation (or a regeneration) and never again; header values that
are credentials are references to workspace secrets, shown by name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response

from proactive.console import agent_forms
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
from proactive.errors import Conflict, InvalidInput, NotFound

router = console_router()

PAGE_SIZE = 50
RECENT_RUNS = 10


def _id(value: str) -> str:
    return quote(value, safe="")


async def _agent(request: Request, viewer: Viewer, agent_id: str) -> dict[str, Any]:
    """The agent, when it is one of the workspace of the address (404 otherwise)."""
    agent: dict[str, Any] = await api(request, viewer, "GET", f"/api/agents/{_id(agent_id)}")
    if agent["workspace_id"] != viewer.workspace:
        raise NotFound(f"agent {agent_id!r} not found")
    return agent


@router.get("/{workspace}/agents")
async def index(request: Request, workspace: str, viewer: Looking, cursor: str | None = None) -> Response:
    """The workspace's agents, newest first."""
    page = await api(request, viewer, "GET", "/api/agents", params={"limit": PAGE_SIZE, "cursor": cursor})
    next_cursor = page.get("next_cursor")
    return render(
        request,
        "agents/index.html",
        viewer,
        agents=page["items"],
        next_url=f"{request.url.path}?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        runtimes={name: title for name, title, _ in agent_forms.RUNTIMES},
    )


def _form_page(
    request: Request,
    viewer: Viewer,
    *,
    runtime: str,
    form: dict[str, Any],
    agent: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "agents/form.html",
        viewer,
        status_code=status_code,
        runtime=runtime,
        runtime_title={name: title for name, title, _ in agent_forms.RUNTIMES}.get(runtime, runtime),
        form=form,
        agent=agent,
        errors=errors or {},
        runtimes=agent_forms.RUNTIMES,
        providers=agent_forms.PROVIDERS,
        modes=agent_forms.HTTP_MODES,
        tool_choices=agent_forms.TOOL_CHOICES,
    )


def _runtime(value: str | None) -> str:
    known = [name for name, _, _ in agent_forms.RUNTIMES]
    if value and value not in known:
        raise InvalidInput(f"runtime: must be one of {', '.join(known)}", field="runtime")
    return value or "llm"


@router.get("/{workspace}/agents/new")
async def new(request: Request, workspace: str, viewer: Looking, runtime: str | None = None) -> Response:
    """The form for a new agent of the runtime chosen (default: llm)."""
    chosen = _runtime(runtime)
    form = {"provider": "openai", "mode": "sync"} if chosen != "builtin" else {}
    return _form_page(request, viewer, runtime=chosen, form=form)


@router.post("/{workspace}/agents/new")
async def create(request: Request, workspace: str, viewer: Checked) -> Response:
    """Create the agent; an http agent's secret is shown on the answer, once."""
    fields = await form_fields(request)
    runtime = _runtime((fields.get("runtime") or [""])[0])
    form = agent_forms.form_from_fields(fields)
    config, errors = agent_forms.config_from_form(runtime, form)
    if errors:
        return _form_page(request, viewer, runtime=runtime, form=form, errors=errors, status_code=422)
    body = {
        "workspace_id": viewer.workspace,
        "name": form["name"],
        "runtime": runtime,
        "description": form["description"] or None,
        "config": config,
    }
    try:
        created = await api(request, viewer, "POST", "/api/agents", body)
    except (InvalidInput, NotFound) as exc:
        return _form_page(
            request, viewer, runtime=runtime, form=form, errors=refusals(exc), status_code=exc.status_code
        )
    if created.get("secret"):
        return render(request, "agents/secret.html", viewer, status_code=201, agent=created, created=True)
    return redirect(request, viewer.path(f"agents/{_id(created['id'])}"))


@router.get("/{workspace}/agents/{agent_id}/edit")
async def edit(request: Request, workspace: str, agent_id: str, viewer: Looking) -> Response:
    agent = await _agent(request, viewer, agent_id)
    form = agent_forms.form_from_agent(agent)
    return _form_page(request, viewer, runtime=agent["runtime"], form=form, agent=agent)


@router.post("/{workspace}/agents/{agent_id}/edit")
async def update(request: Request, workspace: str, agent_id: str, viewer: Checked) -> Response:
    """Save the agent's name, description and settings (its runtime stays as it is)."""
    agent = await _agent(request, viewer, agent_id)
    form = agent_forms.form_from_fields(await form_fields(request))
    config, errors = agent_forms.config_from_form(agent["runtime"], form)
    if not errors:
        body = {"name": form["name"], "description": form["description"] or None, "config": config}
        try:
            await api(request, viewer, "PATCH", f"/api/agents/{_id(agent_id)}", body)
        except (InvalidInput, Conflict) as exc:
            errors = refusals(exc)
        else:
            return redirect(request, viewer.path(f"agents/{_id(agent_id)}"))
    return _form_page(
        request, viewer, runtime=agent["runtime"], form=form, agent=agent, errors=errors, status_code=422
    )


@router.get("/{workspace}/agents/{agent_id}")
async def show(
    request: Request, workspace: str, agent_id: str, viewer: Looking, started: str | None = None
) -> Response:
    """An agent: its settings, what starts it, its recent runs, and what can be done with it."""
    return await _show(request, viewer, agent_id, started=started)


async def _show(
    request: Request,
    viewer: Viewer,
    agent_id: str,
    *,
    started: str | None = None,
    errors: dict[str, str] | None = None,
    task: str = "",
    status_code: int = 200,
) -> Response:
    agent = await _agent(request, viewer, agent_id)
    users = await api(request, viewer, "GET", f"/api/agents/{_id(agent_id)}/users")
    runs = await api(request, viewer, "GET", "/api/runs", params={"agent_id": agent_id, "limit": RECENT_RUNS})
    return render(
        request,
        "agents/show.html",
        viewer,
        status_code=status_code,
        agent=agent,
        users=users,
        runs=runs["items"],
        more_runs=bool(runs.get("next_cursor")),
        started=started,
        errors=errors or {},
        task=task,
        runtimes={name: title for name, title, _ in agent_forms.RUNTIMES},
    )


@router.post("/{workspace}/agents/{agent_id}/run")
async def run_now(request: Request, workspace: str, agent_id: str, viewer: Checked) -> Response:
    """Start a run of the agent on the task given; the agent's page then links to it."""
    await _agent(request, viewer, agent_id)
    task = ((await form_fields(request)).get("task") or [""])[0].strip()
    body = {"workspace_id": viewer.workspace, "agent_id": agent_id, "task": task}
    try:
        run = await api(request, viewer, "POST", "/api/runs", body)
    except (InvalidInput, Conflict) as exc:
        return await _show(
            request, viewer, agent_id, errors=refusals(exc), task=task, status_code=exc.status_code
        )
    return redirect(request, viewer.path(f"agents/{_id(agent_id)}?{urlencode({'started': run['id']})}"))


@router.post("/{workspace}/agents/{agent_id}/delete")
async def delete(request: Request, workspace: str, agent_id: str, viewer: Checked) -> Response:
    """Delete the agent; while something starts it, the API's 409 is shown on its page."""
    await _agent(request, viewer, agent_id)
    try:
        await api(request, viewer, "DELETE", f"/api/agents/{_id(agent_id)}")
    except Conflict as exc:
        return await _show(request, viewer, agent_id, errors={"delete": exc.message}, status_code=409)
    return redirect(request, viewer.path("agents"))


@router.post("/{workspace}/agents/{agent_id}/regenerate-secret")
async def regenerate_secret(request: Request, workspace: str, agent_id: str, viewer: Checked) -> Response:
    """A new signing secret for an http agent, shown on this answer only."""
    await _agent(request, viewer, agent_id)
    agent = await api(request, viewer, "POST", f"/api/agents/{_id(agent_id)}/regenerate-secret")
    return render(request, "agents/secret.html", viewer, agent=agent, created=False)
