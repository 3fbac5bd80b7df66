"""Conversations: `/conversations`, at the paths people already use for them.

A message is answered in the request (the answer, or with `stream: true` Server-Sent Events as
the model writes it), except in a deep research conversation, whose turns run in the worker and
answer 202 at once. In AWS the streamed answers come from the stream function (the HTTP API
buffers whole responses), whose app serves this one route with `stream: true`
(`proactive.api.stream`); both answer through `proactive.api.answers`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from proactive import conversations
from proactive.api import listing
from proactive.api.answers import ANSWERS, take_turn
from proactive.api.deps import BusDep, CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.conversations import turns
from proactive.models.common import Page
from proactive.models.conversations import (
    ContinueRequest,
    Conversation,
    ConversationCreate,
    ConversationUpdate,
    Message,
    MessageCreate,
)

router = APIRouter(prefix="/conversations", tags=["conversations"])


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
    return listing.page(items, next_cursor, Conversation, present=lambda i: conversations.present(store, i))


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
    return listing.page(items, next_cursor, Message)


@router.post("/{conversation_id}/messages", response_model=Message, responses=ANSWERS)
async def send(
    conversation_id: str,
    body: MessageCreate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
) -> Any:
    """Send a message; the agent answers with the conversation's history (and a sidekick's
    `context_data`) in view. 409 while the previous message is still being answered."""
    return await take_turn(
        store, queue, bus, conversation_id, principal.workspaces, body.message, body.stream
    )


@router.post("/{conversation_id}/continue", response_model=Message, responses=ANSWERS)
async def carry_on(
    conversation_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
    body: ContinueRequest | None = None,
) -> Any:
    """The agent carries on from the history without a new message from the user (for instance
    after a deep research); `instruction` may say what to carry on with."""
    body = body or ContinueRequest()
    text = body.instruction or turns.CONTINUE_PROMPT
    return await take_turn(
        store, queue, bus, conversation_id, principal.workspaces, text, body.stream, stored=False
    )
