"""The Python SDK: a client for the Proactive API, async (`Proactive`) or blocking (`ProactiveSync`).

```python
from proactive import Proactive

async with Proactive() as proactive:  # PROACTIVE_API_URL and PROACTIVE_TOKEN, or pass them
    agent = await proactive.agents.create(workspace_id="ws-456", name="backup-agent")
    run = await proactive.runs.create(workspace_id="ws-456", agent_id=agent.id, task="Back up")
    print((await proactive.runs.wait(run.id)).output)
```

`ProactiveSync` has the same resources and methods, each a blocking call (for scripts and
notebooks): `ProactiveSync().runs.wait(run.id)`. Each resource class also works on its own
(async), as `Scheduler()`, `ProactiveMonitor()` and `WebhookManager()`. Answers are the API's
own response models; failures raise ProactiveError. docs/sdk.md is the reference.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Generic, Self

from proactive.sdk.calls import Async, Mode, PageCall, Runner, Sync
from proactive.sdk.client import ProactiveError, Transport
from proactive.sdk.resources import (
    Actions,
    Agents,
    Approvals,
    Autonomous,
    Channels,
    Conversations,
    Delta,
    Events,
    GoalLoop,
    LoginLink,
    Metrics,
    ProactiveMonitor,
    Runs,
    Scheduler,
    Secrets,
    StreamEvent,
    Suggestions,
    Tasks,
    ToolCall,
    TriggerManager,
    TurnFailed,
    WebhookManager,
    Workspace,
)


class _Resources(Generic[Mode]):
    """Every resource, sharing the client's transport (and connection pool)."""

    _runner: Runner | None

    @property
    def _api(self) -> Transport:
        raise NotImplementedError

    @property
    def agents(self) -> Agents[Mode]:
        """`/api/agents`."""
        return Agents(self._api, _runner=self._runner)

    @property
    def runs(self) -> Runs[Mode]:
        """`/api/runs`."""
        return Runs(self._api, _runner=self._runner)

    @property
    def schedules(self) -> Scheduler[Mode]:
        """`/api/proactive/schedules`."""
        return Scheduler(self._api, _runner=self._runner)

    @property
    def triggers(self) -> TriggerManager[Mode]:
        """`/api/proactive/triggers`."""
        return TriggerManager(self._api, _runner=self._runner)

    @property
    def webhooks(self) -> WebhookManager[Mode]:
        """`/api/proactive/webhooks`."""
        return WebhookManager(self._api, _runner=self._runner)

    @property
    def monitors(self) -> ProactiveMonitor[Mode]:
        """`/api/proactive/monitors`."""
        return ProactiveMonitor(self._api, _runner=self._runner)

    @property
    def suggestions(self) -> Suggestions[Mode]:
        """`/api/proactive/suggestions` and `/api/proactive/patterns`."""
        return Suggestions(self._api, _runner=self._runner)

    @property
    def workspace(self) -> Workspace[Mode]:
        """`/api/workspace`: settings and console sign-in links."""
        return Workspace(self._api, _runner=self._runner)

    @property
    def secrets(self) -> Secrets[Mode]:
        """`/api/secrets`."""
        return Secrets(self._api, _runner=self._runner)

    @property
    def channels(self) -> Channels[Mode]:
        """`/api/notifications`."""
        return Channels(self._api, _runner=self._runner)

    @property
    def autonomous(self) -> Autonomous[Mode]:
        """`/api/autonomous/config`, `/execute` and `/test-webhook`: autonomous mode."""
        return Autonomous(self._api, _runner=self._runner)

    @property
    def loop(self) -> GoalLoop[Mode]:
        """The goal loop: settings, mode, status, predictions, analyses, goals, report."""
        return GoalLoop(self._api, _runner=self._runner)

    @property
    def metrics(self) -> Metrics[Mode]:
        """`/api/autonomous/metrics`: the goal loop's numbers."""
        return Metrics(self._api, _runner=self._runner)

    @property
    def events(self) -> Events[Mode]:
        """`/api/autonomous/events`: the goal loop's events."""
        return Events(self._api, _runner=self._runner)

    @property
    def actions(self) -> Actions[Mode]:
        """`/api/autonomous/actions` and the executor's statistics and insights."""
        return Actions(self._api, _runner=self._runner)

    @property
    def approvals(self) -> Approvals[Mode]:
        """`/api/autonomous/approvals`."""
        return Approvals(self._api, _runner=self._runner)

    @property
    def conversations(self) -> Conversations[Mode]:
        """`/conversations`."""
        return Conversations(self._api, _runner=self._runner)

    @property
    def tasks(self) -> Tasks[Mode]:
        """`/tasks`."""
        return Tasks(self._api, _runner=self._runner)


class Proactive(Transport, _Resources[Async]):
    """One API, one token, one connection pool (while used as `async with`), every resource.
    Takes what Transport takes: `base_url`, `token`, `stream_url`, `timeout`, `max_retries`;
    `request` is there for a route no resource covers."""

    _runner = None

    @property
    def _api(self) -> Transport:
        return self

    async def health(self) -> dict[str, str]:
        """`/health`: whether the API is up, and its version."""
        answer: dict[str, str] = await self.request("GET", "/health")
        return answer


class ProactiveSync(_Resources[Sync]):
    """`Proactive`'s resources and methods as blocking calls, for scripts and notebooks: the same
    arguments, the same answers (a list's page, and `iterate` as a plain iterator; a streamed
    answer as an iterator of its events).

    The calls run on the SDK's own event loop, in a thread of its own, so they work inside a
    running event loop too (a Jupyter notebook). Used as `with`, it keeps one connection pool
    until the block ends (or `close()`); otherwise each call opens its own connection."""

    _runner: Runner

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        stream_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.transport = Transport(
            base_url, token, stream_url=stream_url, timeout=timeout, max_retries=max_retries
        )
        self._runner = Runner.shared()

    @property
    def _api(self) -> Transport:
        return self.transport

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def __enter__(self) -> Self:
        self._runner.run(self.transport.__aenter__())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._runner.run(self.transport.__aexit__(exc_type, exc, tb))

    def close(self) -> None:
        """Close the connection pool (a no-op when none is open)."""
        self._runner.run(self.transport.aclose())

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """A route no resource covers, with the same token, errors and retries: the decoded JSON
        answer (None for `204`)."""
        return self._runner.run(
            self.transport.request(method, path, json=json, params=params, idempotency_key=idempotency_key)
        )

    def health(self) -> dict[str, str]:
        """`/health`: whether the API is up, and its version."""
        answer: dict[str, str] = self.request("GET", "/health")
        return answer


__all__ = [
    "Actions",
    "Agents",
    "Approvals",
    "Autonomous",
    "Channels",
    "Conversations",
    "Delta",
    "Events",
    "GoalLoop",
    "LoginLink",
    "Metrics",
    "PageCall",
    "Proactive",
    "ProactiveError",
    "ProactiveMonitor",
    "ProactiveSync",
    "Runs",
    "Scheduler",
    "Secrets",
    "StreamEvent",
    "Suggestions",
    "Tasks",
    "ToolCall",
    "TriggerManager",
    "TurnFailed",
    "WebhookManager",
    "Workspace",
]
