"""The Python SDK: an async client for the Proactive API.

```python
from proactive import Proactive

async with Proactive() as proactive:  # PROACTIVE_API_URL and PROACTIVE_TOKEN, or pass them
    agent = await proactive.agents.create(workspace_id="ws-123", name="backup-agent")
    run = await proactive.runs.create(workspace_id="ws-123", agent_id=agent.id, task="Back up")
    print((await proactive.runs.wait(run.id)).output)
```

Each resource class also works on its own, as `Scheduler()`, `ProactiveMonitor()` and
`WebhookManager()`. Answers are the API's own response models; failures raise ProactiveError.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from proactive.sdk.client import ProactiveError, Transport
from proactive.sdk.resources import (
    Agents,
    Autonomous,
    Channels,
    ProactiveMonitor,
    Runs,
    Scheduler,
    TriggerManager,
    WebhookManager,
)


class Proactive:
    """One API, one token, one connection pool (while used as `async with`), every resource."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.transport = Transport(base_url, token, timeout=timeout, max_retries=max_retries)
        self.agents = Agents(self.transport)
        self.schedules = Scheduler(self.transport)
        self.monitors = ProactiveMonitor(self.transport)
        self.webhooks = WebhookManager(self.transport)
        self.triggers = TriggerManager(self.transport)
        self.runs = Runs(self.transport)
        self.channels = Channels(self.transport)
        self.autonomous = Autonomous(self.transport)

    async def __aenter__(self) -> Self:
        await self.transport.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.transport.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.transport.aclose()


__all__ = [
    "Agents",
    "Autonomous",
    "Channels",
    "Proactive",
    "ProactiveError",
    "ProactiveMonitor",
    "Runs",
    "Scheduler",
    "TriggerManager",
    "WebhookManager",
]
