"""A conversation's turns: each is a run of the conversation's agent.

- `begin` takes the conversation's turn (one at a time: a second message while a turn is being
  answered is a 409 that names the run), stores the user's message and makes the run.
- Chatbot and sidekick turns are answered in the request (`answer`), streamed or not; a safety
  message on the queue lets the worker take the run over if the process answering it dies.
  Deep research goes to the worker like any background run.
- `prepare` (called by the worker's attempt for every conversation run) gives the agent the
  history, the sidekick's application state and, for deep research, a listener that appends each
  step to the conversation as progress.
- `on_run_finished` (a subscriber of `run.finished`) stores the assistant's message, with the
  run's usage, or the failure; its id is derived from the run, so a second delivery adds nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive import events
from proactive.agents.runtimes import RunContext, StreamEvent
from proactive.clock import iso
from proactive.errors import Conflict
from proactive.events import Bus
from proactive.ids import derived_id, new_id
from proactive.models.runs import FINAL_STATUSES, RunRecord, RunStatus, SourceType
from proactive.queue import MAX_DELAY_SECONDS, RunQueue, run_message
from proactive.runs import attempts
from proactive.runs.records import new_run
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store
from proactive.store.entities import modify

CONTINUE_PROMPT = (
    "Continue from where the conversation left off: carry on with what you were doing, or take the "
    "next step your last answer points to."
)
_STATE_INTRO = "The user is working in an application. Its current state, as JSON:\n"
_RESEARCH_INTRO = (
    "This is a deep research conversation: investigate step by step, using the tools you have as "
    "often as you need, and finish with a complete, well-structured report."
)


def user_message_id(run_id: str) -> str:
    return derived_id("msg", f"{run_id}#user")


def assistant_message_id(run_id: str) -> str:
    return derived_id("msg", f"{run_id}#assistant")


def begin(
    store: Store,
    conversation_id: str,
    workspaces: frozenset[str],
    *,
    text: str,
    from_user: bool = True,
    now: datetime,
) -> tuple[dict[str, Any], RunRecord, dict[str, Any] | None]:
    """Take the conversation's turn and make its run on `text`: (conversation, run, the user's
    message, or None when `text` only asks the agent to continue, and is not part of the
    conversation). Conflict while another turn runs."""
    run_id = new_id("run")
    conversation = _take_turn(store, conversation_id, workspaces, run_id, from_user=from_user, now=now)
    message = None
    if from_user:
        message = user_message(conversation_id, run_id, text, now)
        store.messages.add(message)
    return conversation, turn_run(conversation_id, conversation, run_id, text, now), message


def _take_turn(
    store: Store,
    conversation_id: str,
    workspaces: frozenset[str],
    run_id: str,
    *,
    from_user: bool,
    now: datetime,
) -> dict[str, Any]:
    """Make `run_id` the conversation's turn; Conflict while another turn's run is not final, or
    when the conversation's agent was deleted (no run is made for it)."""

    def take(conversation: dict[str, Any]) -> dict[str, Any]:
        if store.agents.get(conversation["agent_id"]) is None:
            raise Conflict(
                f"conversation {conversation_id}'s agent {conversation['agent_id']} no longer exists; "
                "start a new conversation with another agent",
                field="agent_id",
            )
        active = conversation.get("active_run_id")
        if active:
            run = store.runs.get(active)
            if run is not None and run.status not in FINAL_STATUSES:
                raise Conflict(
                    f"conversation {conversation_id} is still answering (run {active}, {run.status}); "
                    f"wait for it, or cancel it with POST /api/runs/{active}/cancel"
                )
        return store.conversations.update(
            conversation_id,
            {"active_run_id": run_id, "updated_at": iso(now), "last_message_at": iso(now)},
            add={"message_count": 1 if from_user else 0},
            expect_version=int(conversation.get("version") or 0),
        )

    from proactive import conversations

    return modify(
        lambda: conversations.get(store, conversation_id, workspaces),
        take,
        what=f"conversation {conversation_id!r}",
    )


def user_message(conversation_id: str, run_id: str, text: str, now: datetime) -> dict[str, Any]:
    """The user's message that starts the turn `run_id` answers."""
    return {
        "id": user_message_id(run_id),
        "conversation_id": conversation_id,
        "role": "user",
        "content": text,
        "created_at": iso(now),
        "run_id": run_id,
        "status": "complete",
    }


def turn_run(
    conversation_id: str, conversation: Mapping[str, Any], run_id: str, text: str, now: datetime
) -> RunRecord:
    """The run (not yet stored) of the conversation's agent that answers a turn on `text`."""
    extra: dict[str, Any] = {}
    if conversation.get("notify"):
        extra["source_notify"] = conversation["notify"]
    return new_run(
        run_id=run_id,
        workspace_id=conversation["workspace_id"],
        agent_id=conversation["agent_id"],
        task=text,
        source_type=SourceType.CONVERSATION,
        source_id=conversation_id,
        source_name=conversation.get("title") or conversation["pattern_type"].replace("_", " "),
        now=now,
        **extra,
    )


def in_background(conversation: Mapping[str, Any]) -> bool:
    """Whether the conversation's turns run in the worker rather than in the request."""
    return bool(conversation["pattern_type"] == "deep_research")


def answer(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    run: RunRecord,
    *,
    seconds: float,
    on_event: StreamEvent | None = None,
) -> RunRecord:
    """Store the run and make its first attempt here and now (telling `on_event` what the model
    produces as it goes). The run as it is after: final, or queued for a retry by the worker."""
    store.runs.create(run)
    # Should this process die mid-answer, this message lets the worker take the run over once its
    # lease lapses; when the answer is done, it finds the run finished and does nothing.
    takeover = min(MAX_DELAY_SECONDS, get_settings().run_lease_seconds + 5)
    queue.send([run_message(run.id, takeover)])
    deadline = attempts.ATTEMPT_DEADLINE.set(time.monotonic() + seconds)
    stream = attempts.ATTEMPT_STREAM.set(on_event)
    try:
        attempts.execute(store, queue, bus, run.id)
    finally:
        attempts.ATTEMPT_STREAM.reset(stream)
        attempts.ATTEMPT_DEADLINE.reset(deadline)
    return store.runs.get(run.id) or run


def reply_for(store: Store, run: RunRecord) -> dict[str, Any] | None:
    """The assistant's message for a finished run, as stored."""
    if run.finished_at is None or run.source_id is None:
        return None
    return store.messages.get(run.source_id, iso(run.finished_at), assistant_message_id(run.id))


def prepare(store: Store, run: RunRecord, context: RunContext) -> None:
    """What the agent must know on this turn: the conversation so far (without this turn's own
    message, which is the task), the application state, and for deep research a progress
    listener."""
    conversation = store.conversations.get(str(run.source_id))
    if conversation is None:
        return
    earlier = store.messages.latest(conversation["id"], get_settings().conversation_history_messages + 1)
    context.history = [
        {"role": m["role"], "content": m["content"]}
        for m in earlier
        if m["role"] in ("user", "assistant")
        and m.get("status", "complete") == "complete"
        and m.get("run_id") != run.id
    ][-get_settings().conversation_history_messages :]
    parts = []
    if conversation.get("context_data"):
        state = json.dumps(conversation["context_data"], ensure_ascii=False, indent=1, default=str)
        parts.append(_STATE_INTRO + state)
    if conversation["pattern_type"] == "deep_research":
        parts.append(_RESEARCH_INTRO)
        context.steps.listeners.append(_progress(store, conversation["id"], run.id, context.attempt))
    context.instructions = "\n\n".join(parts) or None


def _progress(
    store: Store, conversation_id: str, run_id: str, attempt: int
) -> Callable[[dict[str, Any]], None]:
    """Appends each step of a deep research to the conversation as a `progress` message."""
    counter = iter(range(1_000_000))

    def append(step: dict[str, Any]) -> None:
        text = describe(step)
        if text is None:
            return
        store.messages.add(
            {
                "id": derived_id("msg", f"{run_id}#{attempt}#{next(counter)}"),
                "conversation_id": conversation_id,
                "role": "progress",
                "content": text,
                "created_at": step["at"],
                "run_id": run_id,
                "status": "complete",
                "step": step["type"],
            }
        )

    return append


def describe(step: Mapping[str, Any]) -> str | None:
    """A step as a line of progress a person reads; None for steps that say nothing new."""
    kind = step["type"]
    if kind == "model_request":
        if step.get("error"):
            return f"Model request failed: {step['error']}"
        return (
            f"Thought it over ({step.get('input_tokens', 0)} tokens read, "
            f"{step.get('output_tokens', 0)} written, {step.get('duration_ms', 0) / 1000:.1f} s)"
        )
    if kind == "tool_call":
        arguments = json.dumps(step.get("arguments"), ensure_ascii=False, default=str)
        outcome = "ok" if step.get("ok") else f"failed: {step.get('error')}"
        return f"Used {step.get('tool')} {arguments}: {outcome}"
    if kind == "http_request":
        return f"Called the agent service: HTTP {step.get('status', '?')}"
    if kind == "attempt_started" and int(step.get("attempt") or 1) > 1:
        return f"Trying again (attempt {step['attempt']})"
    if kind == "attempt_failed":
        retry = f"; trying again at {step['retry_at']}" if step.get("retry_at") else ""
        return f"Attempt failed: {step.get('error')}{retry}"
    if kind == "waiting_for_callback":
        return f"Waiting for the agent service to report back (until {step.get('until')})"
    return None


def on_run_finished(store: Store, queue: RunQueue, event: events.Event, now: datetime) -> None:
    """A conversation's run finished: its answer (or its failure) becomes the assistant's message."""
    run = event.subject
    if run.get("source_type") != SourceType.CONVERSATION.value or not run.get("source_id"):
        return
    conversation = store.conversations.get(str(run["source_id"]))
    if conversation is None:
        return  # deleted meanwhile: its messages are gone, and this one is not wanted
    failed = run["status"] == RunStatus.FAILED.value
    message = {
        "id": assistant_message_id(run["id"]),
        "conversation_id": conversation["id"],
        "role": "assistant",
        "content": "" if failed else run.get("output") or "",
        "created_at": run["finished_at"],
        "run_id": run["id"],
        "status": "failed" if failed else "complete",
        "error": run.get("error") if failed else None,
        "usage": run.get("usage"),
    }
    if not store.messages.add(message):
        return
    counted = {"last_message_at": run["finished_at"]}
    try:
        # The turn is over: the conversation is free for the next one (unless one already began).
        store.conversations.update(
            conversation["id"],
            counted,
            add={"message_count": 1},
            remove=("active_run_id",),
            condition=Attr("active_run_id").eq(run["id"]),
        )
    except ConditionFailed:
        store.conversations.update(conversation["id"], counted, add={"message_count": 1})
