"""`/api/proactive/monitors`: values checked at an interval."""

from __future__ import annotations

from datetime import datetime

from proactive.models.common import Page
from proactive.models.monitors import Check, Monitor
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Deletes, Listed, Managed, Pausable


class ProactiveMonitor(
    Managed[Monitor, Monitor, Mode], Listed[Monitor, Mode], Deletes[Monitor, Mode], Pausable[Monitor, Mode]
):
    """`/api/proactive/monitors`: values checked at an interval that start an agent when a
    condition becomes true. `create(workspace_id=..., name=..., agent_id=..., source={...},
    condition="value > 80", action=..., check_interval=60)`."""

    path, model, created = "/api/proactive/monitors", Monitor, Monitor

    @call
    async def check(self, monitor_id: str) -> Check:
        """Check now and give back the result (a fire starts the agent's run, as a scheduled
        check would)."""
        return await self._answer(Check, "POST", self._url(monitor_id, "check"))

    @call
    async def add_value(
        self, monitor_id: str, value: float, *, timestamp: datetime | str | None = None
    ) -> None:
        """Record a value for a `metric` monitor (aggregated over its window at each check)."""
        await self._transport.request(
            "POST", self._url(monitor_id, "values"), json={"value": value, "timestamp": timestamp}
        )

    @paged
    async def history(
        self, monitor_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Check]:
        """A page of its checks, newest first: value, condition result, whether it fired (and
        the run), or the error."""
        return await self._page(Check, self._url(monitor_id, "history"), {}, limit, cursor)

    iterate_history = each(history)
