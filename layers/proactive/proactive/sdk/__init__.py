"""The Python SDK: an async client for the Proactive API.

```python
from proactive import Proactive

async with Proactive() as proactive:  # PROACTIVE_API_URL and PROACTIVE_TOKEN, or pass them
    agent = await proactive.agents.create(workspace_id="ws-456", name="backup-agent")
    run = await proactive.runs.create(workspace_id="ws-456", agent_id=agent.id, task="Back up")
    print((await proactive.runs.wait(run.id)).output)
```

Each resource class also works on its own, as `Scheduler()`, `ProactiveMonitor()` and
`WebhookManager()`. Answers are the API's own response models; failures raise ProactiveError.
"""

from __future__ import annotations

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


class Proactive(Transport):
    """One API, one token, one connection pool (while used as `async with`), every resource.
    Takes what Transport takes: `base_url`, `token`, `timeout`, `max_retries`; `request` is there
    for a route no resource covers."""

    @property
    def agents(self) -> Agents:
        return Agents(self)

    @property
    def schedules(self) -> Scheduler:
        return Scheduler(self)

    @property
    def monitors(self) -> ProactiveMonitor:
        return ProactiveMonitor(self)

    @property
    def webhooks(self) -> WebhookManager:
        return WebhookManager(self)

    @property
    def triggers(self) -> TriggerManager:
        return TriggerManager(self)

    @property
    def runs(self) -> Runs:
        return Runs(self)

    @property
    def channels(self) -> Channels:
        return Channels(self)

    @property
    def autonomous(self) -> Autonomous:
        return Autonomous(self)


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
