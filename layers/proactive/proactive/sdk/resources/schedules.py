"""`/api/proactive/schedules`: cron schedules."""

from __future__ import annotations

from proactive.models.common import Page
from proactive.models.runs import Run
from proactive.models.schedules import NextRuns, Schedule
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Deletes, Listed, Managed, Pausable, run_key


class Scheduler(
    Managed[Schedule, Schedule, Mode],
    Listed[Schedule, Mode],
    Deletes[Schedule, Mode],
    Pausable[Schedule, Mode],
):
    """`/api/proactive/schedules`: cron schedules, in their own time zones, that start an agent
    with a task. `create(workspace_id=..., name=..., agent_id=..., task_description=...,
    cron_expression=..., timezone=...)`."""

    path, model, created = "/api/proactive/schedules", Schedule, Schedule

    @call
    async def run(self, schedule_id: str, *, idempotency_key: str | None = None) -> Run:
        """Run it now (the schedule's next fire is unchanged). Retried, it never starts a second
        run: the call carries an Idempotency-Key (yours, or a new one)."""
        return await self._answer(
            Run, "POST", self._url(schedule_id, "run"), idempotency_key=run_key(idempotency_key)
        )

    @call
    async def next_runs(self, schedule_id: str, count: int = 5) -> list[str]:
        """The next `count` fire times (1 to 100), with the schedule's zone offset."""
        answer = await self._answer(
            NextRuns, "GET", self._url(schedule_id, "next-runs"), params={"count": count}
        )
        return answer.next_runs

    @paged
    async def runs(
        self, schedule_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Run]:
        """A page of its runs, newest first."""
        return await self._page(Run, self._url(schedule_id, "runs"), {}, limit, cursor)

    iterate_runs = each(runs)
