"""`/tasks`: delegations, scheduled tasks and triggered tasks."""

from __future__ import annotations

from proactive.models.common import Page
from proactive.models.runs import Run
from proactive.models.tasks import Task, TaskType
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Deletes, Managed


class Tasks(Managed[Task, Task, Mode], Deletes[Task, Mode]):
    """`/tasks`: a prompt for an agent, done once in the background (`delegation`), on a cron
    schedule (`scheduled`, with `schedule_expression` and `timezone`) or on each signed webhook
    delivery (`triggered`; the answer to `create` shows the webhook's secret, this once).
    `create(task_type=..., prompt=..., agent_id=..., notification_config={...})`; the agent
    defaults to the workspace's `default_agent_id`."""

    path, model, created = "/tasks", Task, Task

    @paged
    async def list(
        self,
        *,
        task_type: TaskType | None = None,
        status: str | None = None,
        workspace_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Task]:
        """A page of tasks, newest first. `status`: `active` or `disabled` (scheduled and
        triggered tasks), or a run status (delegations)."""
        params = {"task_type": task_type, "status": status, "workspace_id": workspace_id}
        return await self._page(Task, self.path, params, limit, cursor)

    iterate = each(list)

    @call
    async def execute(self, task_id: str) -> Run:
        """Run the task's prompt now and give back the run."""
        return await self._answer(Run, "POST", self._url(task_id, "execute"))

    @call
    async def disable(self, task_id: str) -> Task:
        """Stop it: its schedule stops firing, its webhook refuses deliveries."""
        return await self._answer(Task, "POST", self._url(task_id, "disable"))

    @call
    async def enable(self, task_id: str) -> Task:
        """Start a disabled task again (a schedule from now on: occurrences while disabled are
        not run)."""
        return await self._answer(Task, "POST", self._url(task_id, "enable"))
