"""Conversations: an agent and a person talking (chatbot, sidekick, deep research).

A conversation names its agent and keeps its messages in order. Every turn is a run
(`source_type: "conversation"`), so turns have the same retries, usage, cost, notifications and
history as everything else; `turns` makes and answers them. This module holds the conversation
itself: made, shown, changed, deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from proactive.agents import require_agent_in
from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.ids import new_id
from proactive.models.conversations import ConversationCreate, ConversationUpdate
from proactive.models.runs import FINAL_STATUSES
from proactive.notifications import shorthands
from proactive.store import Store
from proactive.store.entities import modify

if TYPE_CHECKING:
    # Only named in annotations: auth loads PyJWT, which the light functions do without.
    from proactive.auth import Principal


def default_agent(store: Store, workspace_id: str, agent_id: str | None) -> str:
    """The agent named, or the workspace's default; 422 naming `agent_id` when there is neither."""
    chosen = agent_id or store.workspaces.get(workspace_id).get("default_agent_id")
    if not chosen:
        raise InvalidInput(
            f"agent_id: no agent was named and workspace {workspace_id!r} has no default agent; give "
            "agent_id, or set default_agent_id with PUT /api/workspace/settings",
            field="agent_id",
        )
    require_agent_in(store, chosen, workspace_id)
    return chosen


def create(store: Store, data: ConversationCreate, principal: Principal, now: datetime) -> dict[str, Any]:
    workspace = data.workspace_id or principal.only_workspace()
    principal.require(workspace)
    agent_id = default_agent(store, workspace, data.agent_id)
    notify, shown = shorthands.resolve(
        store, workspace, data.notification_config, now, field="notification_config"
    )
    conversation = {
        "id": new_id("conv"),
        "workspace_id": workspace,
        "pattern_type": data.pattern_type,
        "agent_id": agent_id,
        "title": data.title,
        "context_data": data.context_data,
        "notification_config": shown,
        "notify": notify,
        "message_count": 0,
        "active_run_id": None,
        "last_message_at": None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    store.conversations.put(conversation)
    return conversation


def get(store: Store, conversation_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.conversations.owned(conversation_id, workspaces)


def present(store: Store, conversation: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation as the API shows it: `active_run_id` only while that run is going."""
    shown = dict(conversation)
    active = conversation.get("active_run_id")
    if active:
        run = store.runs.get(active)
        if run is None or run.status in FINAL_STATUSES:
            shown["active_run_id"] = None
    return shown


def update(
    store: Store,
    conversation_id: str,
    data: ConversationUpdate,
    workspaces: frozenset[str],
    now: datetime,
) -> dict[str, Any]:
    """Change the title, the sidekick's `context_data` (seen from the next turn on) or who is told
    when a deep research is done."""
    requested = data.model_dump(exclude_unset=True)

    def write(conversation: dict[str, Any]) -> dict[str, Any]:
        changes = {k: v for k, v in requested.items() if k != "notification_config"}
        if "notification_config" in requested:
            notify, shown = shorthands.resolve(
                store,
                conversation["workspace_id"],
                data.notification_config,
                now,
                field="notification_config",
            )
            changes.update(notify=notify, notification_config=shown)
        changes["updated_at"] = iso(now)
        return store.conversations.update(
            conversation_id, changes, expect_version=int(conversation.get("version") or 0)
        )

    return modify(
        lambda: get(store, conversation_id, workspaces), write, what=f"conversation {conversation_id!r}"
    )


def delete(store: Store, conversation_id: str, workspaces: frozenset[str]) -> None:
    """The conversation and all its messages. Its runs stay in run history."""
    get(store, conversation_id, workspaces)
    store.conversations.delete(conversation_id)
    store.messages.delete_all(conversation_id)
