"""`/api/proactive/triggers`: what turns a webhook delivery or an event into a run."""

from __future__ import annotations

from typing import Any

from proactive.models.triggers import FireResult, Trigger
from proactive.sdk.calls import Mode, call
from proactive.sdk.resources.base import DeletesInUse, Listed, Managed, run_key


class TriggerManager(Managed[Trigger, Trigger, Mode], Listed[Trigger, Mode], DeletesInUse[Trigger, Mode]):
    """`/api/proactive/triggers`: what turns a webhook delivery or an event into a run.
    `create(workspace_id=..., name=..., trigger_type="webhook", agent_id=..., task_template=...)`."""

    path, model, created = "/api/proactive/triggers", Trigger, Trigger

    @call
    async def fire(
        self,
        trigger_id: str,
        payload: dict[str, Any] | None = None,
        *,
        event: str | None = None,
        idempotency_key: str | None = None,
    ) -> FireResult:
        """Fire it with a payload: `status` is `accepted` with the run, or `filtered` with why
        (422 as ProactiveError when the payload lacks a field the task template needs)."""
        return await self._answer(
            FireResult,
            "POST",
            self._url(trigger_id, "fire"),
            json={"payload": payload or {}, "event": event},
            idempotency_key=run_key(idempotency_key),
        )
