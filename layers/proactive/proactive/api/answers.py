"""A conversation's turn over HTTP: answered in the request, streamed as Server-Sent Events as
the model writes it, or accepted (202) when it goes on in the background.

The API's conversation routes and the stream function's app (`proactive.api.stream`) answer
through here, so a streamed answer is the same whichever address serves it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from fastapi import status
from fastapi.responses import JSONResponse, StreamingResponse

from proactive.clock import iso, utcnow
from proactive.conversations import turns
from proactive.errors import AgentFailed
from proactive.events import Bus
from proactive.models.common import ErrorBody
from proactive.models.conversations import Message, TurnAccepted
from proactive.models.runs import FINAL_STATUSES, RunRecord, RunStatus
from proactive.queue import RunQueue
from proactive.runs.records import enqueue_new
from proactive.settings import get_settings
from proactive.store import Store

# What a turn's route answers, for its OpenAPI document.
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The assistant's message; with `stream: true`, `text/event-stream` of `delta` "
        '({"text"}), `tool_call`, then `message` (the stored message) or `error`.',
        # Each server-sent event: its name and its data (JSON text).
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string"},
                        "data": {"type": "string"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                    "required": ["data"],
                }
            }
        },
    },
    202: {"model": TurnAccepted, "description": "The turn goes on in the background."},
    502: {
        "model": ErrorBody,
        "description": "The agent could not answer (its agent is gone, or it failed for good); the "
        "message names the run that records why.",
    },
}


async def take_turn(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    conversation_id: str,
    workspaces: frozenset[str],
    text: str,
    stream: bool,
    *,
    stored: bool = True,
) -> Any:
    """Take the conversation's turn and answer it: the stored reply (a dict), a streaming response
    of its events when `stream`, or 202 when it goes on in the background (a deep research, or an
    answer that will be retried)."""
    now = utcnow()
    conversation, run, message = await to_thread.run_sync(
        lambda: turns.begin(store, conversation_id, workspaces, text=text, from_user=stored, now=now)
    )
    if turns.in_background(conversation):
        await to_thread.run_sync(enqueue_new, store, queue, bus, run, now)
        return _accepted(
            run,
            message,
            "the research runs in the background; its progress and report are "
            f"appended to GET /conversations/{conversation_id}/messages",
        )
    if stream:
        return StreamingResponse(
            _stream(store, queue, bus, run),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    seconds = get_settings().conversation_turn_seconds
    final = await to_thread.run_sync(lambda: turns.answer(store, queue, bus, run, seconds=seconds))
    reply = turns.reply_for(store, final) if final.status in FINAL_STATUSES else None
    if reply is None:
        return _accepted(final, message, _pending(final))
    if reply["status"] == "failed":
        raise AgentFailed(f"the agent could not answer (run {final.id}): {reply.get('error')}")
    return reply


def _pending(run: RunRecord) -> str:
    if run.status in FINAL_STATUSES:
        return f"the turn ended {run.status}: {run.reason or run.error}"
    why = f" after: {run.error}" if run.error else ""
    when = f" at {iso(run.retry_at)}" if run.retry_at else ""
    return f"the answer will be retried{when}{why}; it will appear in the conversation's messages"


def _accepted(run: RunRecord, message: dict[str, Any] | None, detail: str) -> JSONResponse:
    body = TurnAccepted(
        conversation_id=str(run.source_id),
        run_id=run.id,
        status=RunStatus(run.status),
        message=Message.model_validate(message) if message else None,
        detail=detail,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


def _event(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


async def _stream(store: Store, queue: RunQueue, bus: Bus, run: RunRecord) -> AsyncIterator[bytes]:
    """Answer the turn in a thread, passing on each event as the model produces it."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str, data: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, data))

    seconds = get_settings().conversation_stream_seconds
    work = asyncio.ensure_future(
        to_thread.run_sync(lambda: turns.answer(store, queue, bus, run, seconds=seconds, on_event=emit))
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
        yield _event("error", {"run_id": run.id, "error": f"{type(exc).__name__}: {exc}"})
        return
    reply = turns.reply_for(store, final) if final.status in FINAL_STATUSES else None
    if reply is None or reply.get("status") == "failed":
        detail = reply.get("error") if reply else _pending(final)
        yield _event("error", {"run_id": run.id, "status": final.status, "error": detail})
        return
    if not wrote and reply["content"]:
        yield _event("delta", {"text": reply["content"]})
    yield _event("message", Message.model_validate(reply).model_dump(mode="json"))
