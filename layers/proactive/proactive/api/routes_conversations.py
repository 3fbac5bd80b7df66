"""Conversations: `/conversations`, at the paths people already use for them.

A message is answered in the request (the answer, or with `stream: true` Server-Sent Events as
the model writes it), except in a deep research conversation, whose turns run in the worker and
answer 202 at once. In AWS the streamed answers come from a function with response streaming
(the HTTP API buffers whole responses); the app is the same.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from proactive import conversations
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.conversations import turns
from proactive.errors import AgentFailed
from proactive.models.common import Page
from proactive.models.conversations import (
    ContinueRequest,
    Conversation,
    ConversationCreate,
    ConversationUpdate,
    Message,
    MessageCreate,
    TurnAccepted,
)
from proactive.models.runs import FINAL_STATUSES
from proactive.queue import RunQueue
from proactive.runs.records import enqueue_new
from proactive.settings import get_settings
from proactive.store import Store

router = APIRouter(prefix="/conversations", tags=["conversations"])

_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The assistant's message; with `stream: true`, `text/event-stream` of `delta` "
        '({"text"}), `tool_call`, then `message` (the stored message) or `error`.',
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    202: {"model": TurnAccepted, "description": "The turn goes on in the background."},
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Conversation)
def create(body: ConversationCreate, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Start a conversation with an agent (default: the workspace's `default_agent_id`)."""
    return conversations.create(store, body, principal, utcnow())


@router.get("", response_model=Page[Conversation])
def list_conversations(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    """Conversations, newest first."""
    items, next_cursor = store.conversations.page(workspace, limit=limit, cursor=cursor)
    return {"items": [conversations.present(store, i) for i in items], "next_cursor": next_cursor}


@router.get("/{conversation_id}", response_model=Conversation)
def get(conversation_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return conversations.present(store, conversations.get(store, conversation_id, principal.workspaces))


@router.patch("/{conversation_id}", response_model=Conversation)
def update(
    conversation_id: str, body: ConversationUpdate, principal: CurrentPrincipal, store: StoreDep
) -> Any:
    """Change the title, the application state a sidekick sees (from the next turn on), or who
    hears when a deep research is done."""
    return conversations.present(
        store, conversations.update(store, conversation_id, body, principal.workspaces, utcnow())
    )


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(conversation_id: str, principal: CurrentPrincipal, store: StoreDep) -> Response:
    """Delete the conversation and its messages (its runs stay in run history)."""
    conversations.delete(store, conversation_id, principal.workspaces)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{conversation_id}/messages", response_model=Page[Message])
def messages(
    conversation_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """The messages, oldest first: the user's, the assistant's (each with its `run_id` and
    `usage`), and a deep research's `progress`."""
    conversations.get(store, conversation_id, principal.workspaces)
    items, next_cursor = store.messages.page(conversation_id, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/{conversation_id}/messages", response_model=Message, responses=_ANSWERS)
async def send(
    conversation_id: str, body: MessageCreate, principal: CurrentPrincipal, store: StoreDep, queue: QueueDep
) -> Any:
    """Send a message; the agent answers with the conversation's history (and a sidekick's
    `context_data`) in view. 409 while the previous message is still being answered."""
    return await _turn(store, queue, conversation_id, principal.workspaces, body.message, body.stream)


@router.post("/{conversation_id}/continue", response_model=Message, responses=_ANSWERS)
async def carry_on(
    conversation_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    body: ContinueRequest | None = None,
) -> Any:
    """The agent carries on from the history without a new message from the user (for instance
    after a deep research); `instruction` may say what to carry on with."""
    body = body or ContinueRequest()
    text = body.instruction or turns.CONTINUE_PROMPT
    return await _turn(store, queue, conversation_id, principal.workspaces, text, body.stream, stored=False)


async def _turn(
    store: Store,
    queue: RunQueue,
    conversation_id: str,
    workspaces: frozenset[str],
    text: str,
    stream: bool,
    *,
    stored: bool = True,
) -> Any:
    now = utcnow()
    conversation, run, message = await to_thread.run_sync(
        lambda: turns.begin(store, conversation_id, workspaces, text=text, from_user=stored, now=now)
    )
    if turns.in_background(conversation):
        await to_thread.run_sync(enqueue_new, store, queue, run, now)
        return _accepted(
            run,
            message,
            "the research runs in the background; its progress and report are "
            f"appended to GET /conversations/{conversation_id}/messages",
        )
    if stream:
        return StreamingResponse(
            _stream(store, queue, run),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    seconds = get_settings().conversation_turn_seconds
    final = await to_thread.run_sync(lambda: turns.answer(store, queue, run, seconds=seconds))
    reply = turns.reply_for(store, final) if final["status"] in FINAL_STATUSES else None
    if reply is None:
        return _accepted(final, message, _pending(final))
    if reply["status"] == "failed":
        raise AgentFailed(f"the agent could not answer (run {final['id']}): {reply.get('error')}")
    return reply


def _pending(run: dict[str, Any]) -> str:
    if run["status"] in FINAL_STATUSES:
        return f"the turn ended {run['status']}: {run.get('reason') or run.get('error')}"
    why = f" after: {run['error']}" if run.get("error") else ""
    when = f" at {run['retry_at']}" if run.get("retry_at") else ""
    return f"the answer will be retried{when}{why}; it will appear in the conversation's messages"


def _accepted(run: dict[str, Any], message: dict[str, Any] | None, detail: str) -> JSONResponse:
    body = TurnAccepted(
        conversation_id=run["source_id"],
        run_id=run["id"],
        status=run["status"],
        message=Message.model_validate(message) if message else None,
        detail=detail,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


def _event(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


async def _stream(store: Store, queue: RunQueue, run: dict[str, Any]) -> AsyncIterator[bytes]:
    """Answer the turn in a thread, passing on each event as the model produces it."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str, data: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, data))

    seconds = get_settings().conversation_stream_seconds
    work = asyncio.ensure_future(
        to_thread.run_sync(lambda: turns.answer(store, queue, run, seconds=seconds, on_event=emit))
    )
    work.add_done_callback(lambda _: events.put_nowait(("done", None)))
    wrote = False
    while True:
        kind, data = await events.get()
        if kind == "done":
            break
        wrote = wrote or kind == "delta"
        yield _event(kind, data)
    try:
        final = work.result()
    except Exception as exc:  # the run is recorded; the client hears why it has no answer here
        yield _event("error", {"run_id": run["id"], "error": f"{type(exc).__name__}: {exc}"})
        return
    reply = turns.reply_for(store, final) if final["status"] in FINAL_STATUSES else None
    if reply is None or reply.get("status") == "failed":
        detail = reply.get("error") if reply else _pending(final)
        yield _event("error", {"run_id": run["id"], "status": final["status"], "error": detail})
        return
    if not wrote and reply["content"]:
        yield _event("delta", {"text": reply["content"]})
    yield _event("message", Message.model_validate(reply).model_dump(mode="json"))
