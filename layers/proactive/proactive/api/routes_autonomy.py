"""Autonomous mode: `/api/autonomous/config`, `/execute` and `/test-webhook` (the goal loop's
routes share the `/api/autonomous` prefix, without clashing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from proactive import autonomy
from proactive.api.deps import BusDep, CurrentPrincipal, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.errors import InvalidInput
from proactive.models.autonomy import (
    AutonomousConfigPayload,
    AutonomousConfigResponse,
    ExecutionStarted,
    SavedAutonomousConfig,
    SimpleStatus,
    TestWebhookPayload,
)
from proactive.models.notifications import ChannelRecord
from proactive.notifications import channels, crud, render, send
from proactive.notifications.notice import Notice

router = APIRouter(prefix="/api/autonomous", tags=["autonomous mode"])

DISCORD_NAME, NTFY_NAME = "autonomous mode (discord)", "autonomous mode (ntfy)"


def _shown(store: StoreDep, config: dict[str, Any]) -> dict[str, Any]:
    shown = autonomy.present(store, config, utcnow())
    by_id = {c.id: c for c in store.channels.all_in(config["workspace_id"])}
    for channel_id in config.get("channels", []):
        channel = by_id.get(channel_id)
        if channel is None:
            continue
        if channel.name == DISCORD_NAME:
            shown["discord_webhook"] = channels.masked_url(channel.config["webhook_url"], "discord")
        elif channel.name == NTFY_NAME:
            shown["ntfy_topic"] = channel.config["topic"]
    return shown


@router.get("/config", response_model=AutonomousConfigResponse)
def get_config(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """Autonomous mode: whether it is on, how often, what runs, and when it ran and runs next."""
    return _shown(store, autonomy.get_config(store, workspace))


@router.put("/config", response_model=SavedAutonomousConfig)
def put_config(body: AutonomousConfigPayload, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Turn autonomous mode on or off and set its frequency, agent, task and channels.
    `discord_webhook` and `ntfy_topic` make (or update) the workspace's channels of those types
    for it; left out (or sent back as GET shows them), they stay as they are; `null` or `""`
    detaches them. `channels`, when given, is the whole list of other channels. A new frequency
    counts from the last execution. Nothing is saved, and no channel made, unless all of it can be."""
    workspace = body.workspace_id or principal.only_workspace()
    principal.require(workspace)
    now = utcnow()
    current = autonomy.get_config(store, workspace)
    by_id = {c.id: c for c in store.channels.all_in(workspace)}
    attached = {by_id[c].name: c for c in current.get("channels", []) if c in by_id}
    given = body.model_fields_set
    if "channels" in given:
        picked = list(body.channels)
    else:
        picked = [c for name, c in attached.items() if name not in (DISCORD_NAME, NTFY_NAME)]
    # The shorthands: (channel name, type, the config to make or update it with, or the channel to keep)
    wanted: list[tuple[str, str, dict[str, Any] | None, str | None]] = []
    for name, type_, value, key, field in (
        (DISCORD_NAME, "discord", body.discord_webhook, "webhook_url", "discord_webhook"),
        (NTFY_NAME, "ntfy", body.ntfy_topic, "topic", "ntfy_topic"),
    ):
        kept = attached.get(name)
        if field not in given or (kept and value == _shown_value(by_id[kept], type_)):
            if kept:
                wanted.append((name, type_, None, kept))
        elif value:
            try:
                config = channels.validate(type_, {key: value})
            except InvalidInput as exc:
                raise InvalidInput(f"{field}: {exc.message}", field=field) from None
            wanted.append((name, type_, config, None))
    changes = {
        "enabled": body.enabled,
        "frequency": body.frequency,
        "agent_id": body.agent_id or current.get("agent_id"),
        "task": body.task or current.get("task"),
    }
    autonomy.check_config(store, workspace, {**current, **changes, "channels": picked})
    for name, type_, settings, kept in wanted:
        picked.append(kept or crud.shorthand(store, workspace, type_, settings or {}, name, now))
    changes["channels"] = list(dict.fromkeys(picked))
    return {**_shown(store, autonomy.save_config(store, workspace, changes, now)), "status": "ok"}


def _shown_value(channel: ChannelRecord, type_: str) -> str:
    """A shorthand channel's value as GET shows it."""
    config = channel.config
    if type_ == "discord":
        return channels.masked_url(config.get("webhook_url", ""), "discord")
    return str(config.get("topic", ""))


@router.post("/execute", status_code=status.HTTP_202_ACCEPTED, response_model=ExecutionStarted)
def execute(workspace: WorkspaceScope, store: StoreDep, queue: QueueDep, bus: BusDep) -> Any:
    """Run autonomous mode now (it counts as an execution). 409 with the running run's id while
    another execution runs."""
    return {
        "status": "ok",
        "message": "Execution started",
        "run": autonomy.execute_now(store, queue, bus, workspace, utcnow()),
    }


@router.post("/test-webhook", response_model=SimpleStatus)
def test_webhook(body: TestWebhookPayload, principal: CurrentPrincipal) -> Any:
    """Send a test notification to a Discord webhook, and answer what Discord said."""
    del principal  # any caller with a token may test a webhook of their own
    config = channels.validate("discord", {"webhook_url": body.webhook_url})
    now = utcnow()
    notice = Notice(
        event="test",
        title="Test Notification",
        outcome="info",
        summary="This is a test message from Proactive Autonomous Mode! 🤖",
        fields=(),
        body=None,
        link=None,
        ref=None,
        at=now,
    )
    tested = ChannelRecord(
        id="test",
        workspace_id="",
        name="test",
        type="discord",
        config=config,
        is_active=True,
        created_at=now,
        updated_at=now,
    )
    outcome = send.deliver(
        tested,
        render.render("discord", notice, config),
        message_id="test",
        now=now,
    )
    if outcome.status != "sent":
        raise InvalidInput(
            f"Failed to send notification: {outcome.reason or outcome.answer}", field="webhook_url"
        )
    return {
        "status": "ok",
        "message": "Test notification sent",
        "receiver": {"http_status": outcome.http_status, "answer": outcome.answer},
    }
