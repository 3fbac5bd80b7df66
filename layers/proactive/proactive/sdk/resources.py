"""One class per kind of resource, each a thin map of the API's routes to methods that take
keyword arguments (the fields of the request body, as the API documents them) and give back the
API's own response models, so attributes and types match what the API sends.

Each can be made on its own, as in `Scheduler()` (the API's address and token then come from
`PROACTIVE_API_URL` and `PROACTIVE_TOKEN`), or reached from a `Proactive` client, whose
connections they then share.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel

from proactive.models.agents import Agent, AgentWithSecret
from proactive.models.autonomy import AutonomousConfigResponse, SimpleStatus
from proactive.models.monitors import Check, Monitor
from proactive.models.notifications import (
    Channel,
    ChannelWithSecret,
    Notification,
    SendOutcome,
    WorkspaceSettings,
)
from proactive.models.runs import FINAL_STATUSES, Run
from proactive.models.schedules import NextRuns, Schedule
from proactive.models.triggers import FireResult, Trigger
from proactive.models.webhooks import Delivery, Webhook, WebhookWithSecret
from proactive.sdk.client import Transport

M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)


def _key(given: str | None) -> str:
    """The Idempotency-Key of a call that starts a run: the caller's, or a new one, so that the
    transport's retries of this call can never start a second run."""
    return given or str(uuid.uuid4())


class _Bound:
    """Calls through a transport: a client's, or one of its own from the environment."""

    def __init__(
        self, transport: Transport | None = None, *, base_url: str | None = None, token: str | None = None
    ) -> None:
        self._transport = transport or Transport(base_url, token)

    async def __aenter__(self) -> Self:
        await self._transport.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._transport.__aexit__(None, None, None)


class _Resource(_Bound, Generic[M]):
    path: str
    model: type[M]

    def _url(self, resource_id: str = "", action: str = "") -> str:
        return "/".join(part for part in (self.path, resource_id, action) if part)

    async def get(self, resource_id: str) -> M:
        """One by id (404 as ProactiveError when there is none in the token's workspaces)."""
        return self.model.model_validate(await self._transport.request("GET", self._url(resource_id)))

    def list(
        self, *, workspace_id: str | None = None, page_size: int = 50, **filters: Any
    ) -> AsyncIterator[M]:
        """All of them, page after page (`async for`). `workspace_id` may be left out when the
        token grants one workspace."""
        return self._pages(self.model, self.path, {"workspace_id": workspace_id, **filters}, page_size)

    async def _pages(
        self, model: type[C], path: str, params: dict[str, Any], page_size: int
    ) -> AsyncIterator[C]:
        cursor: str | None = None
        while True:
            page = await self._transport.request(
                "GET", path, params={**params, "limit": page_size, "cursor": cursor}
            )
            for item in page["items"]:
                yield model.model_validate(item)
            cursor = page.get("next_cursor")
            if not cursor:
                return


class _Managed(_Resource[M], Generic[M, C]):
    """A resource that is made, changed and deleted; `created` is what making one answers."""

    created: type[C]

    async def create(self, **fields: Any) -> C:
        """Make one from the request body's fields."""
        return self.created.model_validate(await self._transport.request("POST", self.path, json=fields))

    async def update(self, resource_id: str, **fields: Any) -> M:
        """Change the given fields, keeping the others."""
        answer = await self._transport.request("PATCH", self._url(resource_id), json=fields)
        return self.model.model_validate(answer)

    async def delete(self, resource_id: str) -> None:
        """Delete it."""
        await self._transport.request("DELETE", self._url(resource_id))


class _InUse(_Managed[M, C]):
    """A resource others may use: deleting it while they do is a 409 naming them."""

    async def delete(self, resource_id: str, *, force: bool = False) -> None:
        """Delete it. While others use it the API answers 409 naming them; `force=True` pauses
        each of them first."""
        await self._transport.request("DELETE", self._url(resource_id), params={"force": force or None})


class _Pausable(_Managed[M, C]):
    """A resource that acts on its own until paused."""

    async def pause(self, resource_id: str) -> M:
        """Stop until resumed."""
        return self.model.model_validate(
            await self._transport.request("POST", self._url(resource_id, "pause"))
        )

    async def resume(self, resource_id: str) -> M:
        """Start again, from its next occurrence or check."""
        answer = await self._transport.request("POST", self._url(resource_id, "resume"))
        return self.model.model_validate(answer)


class _Signed(_Managed[M, C]):
    """A resource with a signing secret, shown only when made and when regenerated."""

    async def regenerate_secret(self, resource_id: str, *, grace_period_seconds: int | None = None) -> C:
        """A new signing secret, shown only in this answer; the old one stays valid for the grace
        period (24 h unless given)."""
        body = {"grace_period_seconds": grace_period_seconds}
        answer = await self._transport.request("POST", self._url(resource_id, "regenerate-secret"), json=body)
        return self.created.model_validate(answer)


class Agents(_InUse[Agent, AgentWithSecret], _Signed[Agent, AgentWithSecret]):
    """`/api/agents`: what runs do their tasks with (`builtin`, `http` or `llm`); an `http` agent
    signs with its secret."""

    path, model, created = "/api/agents", Agent, AgentWithSecret


class Scheduler(_Pausable[Schedule, Schedule]):
    """`/api/proactive/schedules`: cron schedules, in their own time zones."""

    path, model, created = "/api/proactive/schedules", Schedule, Schedule

    async def run(self, schedule_id: str, *, idempotency_key: str | None = None) -> Run:
        """Run it now (the schedule's next fire is unchanged)."""
        answer = await self._transport.request(
            "POST", self._url(schedule_id, "run"), idempotency_key=_key(idempotency_key)
        )
        return Run.model_validate(answer)

    async def next_runs(self, schedule_id: str, count: int = 5) -> list[str]:
        """The next `count` fire times, with the schedule's zone offset."""
        answer = await self._transport.request(
            "GET", self._url(schedule_id, "next-runs"), params={"count": count}
        )
        return NextRuns.model_validate(answer).next_runs

    def runs(self, schedule_id: str, *, page_size: int = 50) -> AsyncIterator[Run]:
        """Its runs, newest first."""
        return self._pages(Run, self._url(schedule_id, "runs"), {}, page_size)


class ProactiveMonitor(_Pausable[Monitor, Monitor]):
    """`/api/proactive/monitors`: values checked at an interval that start an agent when a
    condition becomes true."""

    path, model, created = "/api/proactive/monitors", Monitor, Monitor

    async def check(self, monitor_id: str) -> Check:
        """Check now and give back the result."""
        return Check.model_validate(await self._transport.request("POST", self._url(monitor_id, "check")))

    async def add_value(self, monitor_id: str, value: float, *, timestamp: str | None = None) -> None:
        """Record a value for a `metric` monitor."""
        await self._transport.request(
            "POST", self._url(monitor_id, "values"), json={"value": value, "timestamp": timestamp}
        )

    def history(self, monitor_id: str, *, page_size: int = 50) -> AsyncIterator[Check]:
        """Its checks, newest first."""
        return self._pages(Check, self._url(monitor_id, "history"), {}, page_size)


class WebhookManager(_Signed[Webhook, WebhookWithSecret]):
    """`/api/proactive/webhooks`: signed public URLs that fire a trigger."""

    path, model, created = "/api/proactive/webhooks", Webhook, WebhookWithSecret

    def deliveries(self, webhook_id: str, *, page_size: int = 50) -> AsyncIterator[Delivery]:
        """Every delivery, newest first, whatever became of it."""
        return self._pages(Delivery, self._url(webhook_id, "deliveries"), {}, page_size)


class TriggerManager(_InUse[Trigger, Trigger]):
    """`/api/proactive/triggers`: what turns a webhook delivery or an event into a run."""

    path, model, created = "/api/proactive/triggers", Trigger, Trigger

    async def fire(
        self,
        trigger_id: str,
        payload: dict[str, Any] | None = None,
        *,
        event: str | None = None,
        idempotency_key: str | None = None,
    ) -> FireResult:
        """Fire it with a payload: `status` is `accepted` with the run, or `filtered` with why."""
        answer = await self._transport.request(
            "POST",
            self._url(trigger_id, "fire"),
            json={"payload": payload or {}, "event": event},
            idempotency_key=_key(idempotency_key),
        )
        return FireResult.model_validate(answer)


class Runs(_Resource[Run]):
    """`/api/runs`: every execution, whatever started it."""

    path, model = "/api/runs", Run

    async def create(self, *, idempotency_key: str | None = None, **fields: Any) -> Run:
        """Start a run of an agent with a task (`workspace_id`, `agent_id`, `task`, `payload`)."""
        answer = await self._transport.request(
            "POST", self.path, json=fields, idempotency_key=_key(idempotency_key)
        )
        return Run.model_validate(answer)

    async def cancel(self, run_id: str) -> Run:
        """Cancel it (409 as ProactiveError when it has already finished)."""
        return Run.model_validate(await self._transport.request("POST", self._url(run_id, "cancel")))

    async def replay(self, run_id: str, *, idempotency_key: str | None = None) -> Run:
        """A new run with the same agent, task and payload, linked to this one."""
        answer = await self._transport.request(
            "POST", self._url(run_id, "replay"), idempotency_key=_key(idempotency_key)
        )
        return Run.model_validate(answer)

    async def wait(self, run_id: str, *, timeout: float = 300.0, interval: float = 1.0) -> Run:
        """The run once it has finished (succeeded, failed, missed or cancelled); TimeoutError if
        it has not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = await self.get(run_id)
            if run.status in FINAL_STATUSES:
                return run
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"run {run_id} is still {run.status.value} after {timeout:g} s")
            await asyncio.sleep(min(interval, left))


class Channels(_Managed[Channel, ChannelWithSecret]):
    """`/api/notifications/channels`: where people are told (discord, slack, ntfy, email, webhook),
    and the log of what they were told."""

    path, model, created = "/api/notifications/channels", Channel, ChannelWithSecret

    async def test(
        self,
        channel_id: str | None = None,
        *,
        channel: dict[str, Any] | None = None,
        message: str | None = None,
        workspace_id: str | None = None,
    ) -> SendOutcome:
        """Send a test message now to a channel (by id, or `channel={"type", "config"}`) and give
        back what the receiver said."""
        body: dict[str, Any] = {"channel_id": channel_id, "channel": channel, "workspace_id": workspace_id}
        if message is not None:
            body["message"] = message
        answer = await self._transport.request("POST", "/api/notifications/test", json=body)
        return SendOutcome.model_validate(answer)

    def log(
        self,
        *,
        channel_id: str | None = None,
        run_id: str | None = None,
        workspace_id: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Notification]:
        """Notifications, newest first, with their status and the receiver's answer."""
        params = {"channel_id": channel_id, "run_id": run_id, "workspace_id": workspace_id}
        return self._pages(Notification, "/api/notifications/log", params, page_size)


class Autonomous(_Bound):
    """`/api/autonomous`: autonomous mode (the workspace's agent on its own at a frequency) and the
    workspace's settings (default agent, default channels)."""

    async def config(self, *, workspace_id: str | None = None) -> AutonomousConfigResponse:
        """The config, with `last_execution`, `next_execution` and `active_run_id`."""
        answer = await self._transport.request(
            "GET", "/api/autonomous/config", params={"workspace_id": workspace_id}
        )
        return AutonomousConfigResponse.model_validate(answer)

    async def configure(self, **fields: Any) -> AutonomousConfigResponse:
        """Turn it on or off, set `frequency`, `agent_id`, `task`, `channels`, `discord_webhook`,
        `ntfy_topic`; fields left out keep their value."""
        answer = await self._transport.request("PUT", "/api/autonomous/config", json=fields)
        return AutonomousConfigResponse.model_validate(answer)

    async def execute(self, *, workspace_id: str | None = None) -> Run:
        """Run it now (409 as ProactiveError, naming the run, while another execution runs)."""
        answer = await self._transport.request(
            "POST", "/api/autonomous/execute", params={"workspace_id": workspace_id}
        )
        return Run.model_validate(answer["run"])

    async def test_webhook(self, webhook_url: str) -> SimpleStatus:
        """Send the test message to a Discord webhook and give back what Discord said."""
        answer = await self._transport.request(
            "POST", "/api/autonomous/test-webhook", json={"webhook_url": webhook_url}
        )
        return SimpleStatus.model_validate(answer)

    async def settings(self, *, workspace_id: str | None = None) -> WorkspaceSettings:
        """The workspace's `default_agent_id` and `default_channels`."""
        answer = await self._transport.request(
            "GET", "/api/workspace/settings", params={"workspace_id": workspace_id}
        )
        return WorkspaceSettings.model_validate(answer)

    async def update_settings(self, **fields: Any) -> WorkspaceSettings:
        """Set `default_agent_id` and `default_channels`; fields left out keep their value."""
        answer = await self._transport.request("PUT", "/api/workspace/settings", json=fields)
        return WorkspaceSettings.model_validate(answer)
