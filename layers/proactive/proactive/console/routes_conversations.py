"""The console's conversations: the list, starting one, and a conversation's messages with a box
to send the next one, whose answer streams in as the model writes it.

A message is sent to `POST /console/{workspace}/conversations/{id}/messages`. With
`Accept: text/event-stream` (what `chat.js` sends) it answers the API's own stream of the turn
(`delta`, `tool_call`, then `message` or `error`): the same function the API's streaming route
answers with (`proactive.api.answers.take_turn`), as the signed-in person, so what is checked and
refused is exactly what the API checks. A refusal before the answer starts is JSON, the API's
error body with its status. A deep research conversation answers 202 at once (its turn runs in
the background, and the page follows its progress). Without that header (a plain form, no
script) the answer is waited for and the page shown again.

In AWS the console is served by the API function behind API Gateway, which does not stream
responses: there the same route answers with the whole stream at once, when the turn is done (the
stream function's function URL, which does stream, takes bearer tokens and not the console's
session cookie, and is on another origin).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.responses import StreamingResponse

from proactive.api.answers import take_turn
from proactive.api.deps import BusDep, QueueDep, StoreDep
from proactive.console.web import (
    PAGE_HEADERS,
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
from proactive.errors import DomainError, InvalidInput, NotFound, error_body
from proactive.models.conversations import MessageCreate

router = console_router()

KINDS = (("chatbot", "Chatbot"), ("sidekick", "Sidekick"), ("deep_research", "Deep research"))
PAGE_SIZE = 50
MESSAGES_PAGE = 100


def _one(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


async def _agents(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    """One page of the workspace's agents (to choose from, and to name them)."""
    page = await api(request, viewer, "GET", "/api/agents", params={"limit": 100})
    return list(page["items"])


def _next_url(request: Request, cursor: str | None) -> str | None:
    if not cursor:
        return None
    query = {**request.query_params, "cursor": cursor}
    return f"{request.url.path}?{urlencode(query)}"


@router.get("/{workspace}/conversations")
async def index(request: Request, workspace: str, viewer: Looking, cursor: str | None = None) -> Response:
    """The workspace's conversations, newest first, and a form to start one."""
    return await _index(request, viewer, cursor=cursor)


async def _index(
    request: Request,
    viewer: Viewer,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    page = await api(request, viewer, "GET", "/conversations", params={"limit": PAGE_SIZE, "cursor": cursor})
    agents = await _agents(request, viewer)
    return render(
        request,
        "conversations/index.html",
        viewer,
        status_code=status_code,
        conversations=page["items"],
        next_url=_next_url(request, page.get("next_cursor")),
        agents=agents,
        agent_names={a["id"]: a["name"] for a in agents},
        kinds=KINDS,
        kind_names=dict(KINDS),
        form=form or {"pattern_type": "chatbot"},
        errors=errors or {},
    )


@router.post("/{workspace}/conversations")
async def start(request: Request, workspace: str, viewer: Checked) -> Response:
    """Start a conversation with the agent and of the kind chosen, then open it."""
    fields = await form_fields(request)
    form = {name: _one(fields, name) for name in ("agent_id", "pattern_type", "title", "context_data")}
    body: dict[str, Any] = {
        "workspace_id": viewer.workspace,
        "pattern_type": form["pattern_type"] or "chatbot",
        "agent_id": form["agent_id"] or None,
        "title": form["title"] or None,
    }
    errors: dict[str, str] = {}
    if form["context_data"]:
        try:
            body["context_data"] = json.loads(form["context_data"])
        except ValueError as exc:
            errors["context_data"] = f"is not valid JSON ({exc})"
    if not errors:
        try:
            created = await api(request, viewer, "POST", "/conversations", body)
        except (InvalidInput, NotFound) as exc:
            errors = refusals(exc)
        else:
            return redirect(request, viewer.path(f"conversations/{quote(created['id'], safe='')}"))
    return await _index(request, viewer, form=form, errors=errors, status_code=422)


async def _conversation(request: Request, viewer: Viewer, conversation_id: str) -> dict[str, Any]:
    """The conversation, when it is one of the workspace of the address (404 otherwise)."""
    conversation: dict[str, Any] = await api(
        request, viewer, "GET", f"/conversations/{quote(conversation_id, safe='')}"
    )
    if conversation["workspace_id"] != viewer.workspace:
        raise NotFound(f"conversation {conversation_id!r} not found")
    return conversation


def tool_calls(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The tools each run called (its `tool_call` steps, with arguments and result), by run id."""
    return {run["id"]: [s for s in run.get("steps") or [] if s.get("type") == "tool_call"] for run in runs}


@router.get("/{workspace}/conversations/{conversation_id}")
async def conversation(
    request: Request, workspace: str, conversation_id: str, viewer: Looking, cursor: str | None = None
) -> Response:
    """A conversation: its messages (oldest first, each answer with the tools it called), a
    sidekick's application state, and the box to send the next message. An htmx request (or
    `chat.js` following a deep research) gets the messages alone."""
    shown = await _conversation(request, viewer, conversation_id)
    path = f"/conversations/{quote(conversation_id, safe='')}"
    messages = await api(
        request, viewer, "GET", f"{path}/messages", params={"limit": MESSAGES_PAGE, "cursor": cursor}
    )
    runs = await api(
        request,
        viewer,
        "GET",
        "/api/runs",
        params={"source_type": "conversation", "source_id": conversation_id, "limit": MESSAGES_PAGE},
    )
    try:
        agent = await api(request, viewer, "GET", f"/api/agents/{quote(shown['agent_id'], safe='')}")
    except NotFound:
        agent = None  # deleted since: the conversation stays readable
    return render(
        request,
        "conversations/show.html",
        viewer,
        conversation=shown,
        messages=messages["items"],
        next_url=_next_url(request, messages.get("next_cursor")),
        tools=tool_calls(runs["items"]),
        agent=agent,
        kind_names=dict(KINDS),
        send_url=viewer.path(f"conversations/{quote(conversation_id, safe='')}/messages"),
    )


def _refused(exc: DomainError) -> JSONResponse:
    extra = {"details": exc.details} if exc.details else {}
    body = error_body(exc.code, exc.message, exc.field, **extra)
    return JSONResponse(body, status_code=exc.status_code, headers=PAGE_HEADERS)


@router.post("/{workspace}/conversations/{conversation_id}/messages")
async def send(
    request: Request,
    workspace: str,
    conversation_id: str,
    viewer: Checked,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
) -> Response:
    """Send a message (form field `message`). Streamed (`Accept: text/event-stream`): the turn's
    events as the model produces them, 202 (JSON) for a deep research, or the API's error body
    with its status. Otherwise the conversation's page once the answer is in."""
    streamed = "text/event-stream" in request.headers.get("accept", "")
    text = (await form_fields(request)).get("message", [""])[0]
    # Only the conversations of the workspace of the address, among those the session may see.
    workspaces = frozenset({viewer.workspace})
    try:
        try:
            body = MessageCreate(message=text, stream=streamed)
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise InvalidInput(f"message: {problem['msg']}", field="message") from None
        answer = await take_turn(store, queue, bus, conversation_id, workspaces, body.message, body.stream)
    except DomainError as exc:
        if streamed:
            return _refused(exc)
        raise
    if streamed and isinstance(answer, StreamingResponse | JSONResponse):
        answer.headers.update({k: v for k, v in PAGE_HEADERS.items() if k != "Cache-Control"})
        return answer
    return redirect(request, viewer.path(f"conversations/{quote(conversation_id, safe='')}"))
