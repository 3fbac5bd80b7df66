"""`/api/runs`: every execution, whatever started it."""

from __future__ import annotations

import asyncio
import time

from proactive.models.common import Page
from proactive.models.runs import FINAL_STATUSES, Run, RunStatusName, SourceTypeName
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Readable, run_key


class Runs(Readable[Run, Mode]):
    """`/api/runs`: every execution, whatever started it (a schedule, a trigger, a monitor, a
    task, a conversation, the goal loop, or `create`)."""

    path, model = "/api/runs", Run

    @call
    async def create(
        self, *, workspace_id: str, agent_id: str, task: str, idempotency_key: str | None = None
    ) -> Run:
        """Start a run of an agent with a task; it is queued (`wait` for its outcome). Retried,
        it never starts a second run: the call carries an Idempotency-Key (yours, or a new one;
        the same key within 24 hours gives back the first call's run)."""
        body = {"workspace_id": workspace_id, "agent_id": agent_id, "task": task}
        return await self._answer(Run, "POST", self.path, json=body, idempotency_key=run_key(idempotency_key))

    @paged
    async def list(
        self,
        *,
        status: RunStatusName | None = None,
        source_type: SourceTypeName | None = None,
        source_id: str | None = None,
        agent_id: str | None = None,
        workspace_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Run]:
        """A page of runs, newest first, of those that match the filters given."""
        params = {
            "status": status,
            "source_type": source_type,
            "source_id": source_id,
            "agent_id": agent_id,
            "workspace_id": workspace_id,
        }
        return await self._page(Run, self.path, params, limit, cursor)

    iterate = each(list)

    @call
    async def cancel(self, run_id: str) -> Run:
        """Cancel it: at once while it waits; while its attempt executes, `cancel_requested` and
        cancelled when the attempt returns. 409 as ProactiveError once it has finished."""
        return await self._answer(Run, "POST", self._url(run_id, "cancel"))

    @call
    async def replay(self, run_id: str, *, idempotency_key: str | None = None) -> Run:
        """A new run with the same agent, task and payload, linked to this one (`replay_of`)."""
        return await self._answer(
            Run, "POST", self._url(run_id, "replay"), idempotency_key=run_key(idempotency_key)
        )

    @call
    async def wait(self, run_id: str, *, timeout: float = 300.0, interval: float = 1.0) -> Run:
        """The run once it has finished (succeeded, failed, missed or cancelled); TimeoutError if
        it has not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = await self._get(run_id)
            if run.status in FINAL_STATUSES:
                return run
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"run {run_id} is still {run.status.value} after {timeout:g} s")
            await asyncio.sleep(min(interval, left))
