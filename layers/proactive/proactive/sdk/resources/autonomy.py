"""`/api/autonomous`: autonomous mode (the workspace's agent on its own at a frequency)."""

from __future__ import annotations

from typing import Any

from proactive.models.autonomy import (
    AutonomousConfigResponse,
    ExecutionStarted,
    SavedAutonomousConfig,
    SimpleStatus,
)
from proactive.models.notifications import WorkspaceSettings
from proactive.models.runs import Run
from proactive.sdk.calls import Bound, Mode, call


class Autonomous(Bound[Mode]):
    """`/api/autonomous`: autonomous mode, the workspace's agent run on its own at a frequency
    with a digest of what happened (the goal loop, under the same prefix, is `GoalLoop`)."""

    @call
    async def config(self, *, workspace_id: str | None = None) -> AutonomousConfigResponse:
        """The config, with `last_execution`, `next_execution` and `active_run_id`."""
        answer = await self._transport.request(
            "GET", "/api/autonomous/config", params={"workspace_id": workspace_id}
        )
        return AutonomousConfigResponse.model_validate(answer)

    @call
    async def configure(self, /, **fields: Any) -> SavedAutonomousConfig:
        """Turn it on or off (`enabled`, required), set `frequency`, `agent_id`, `task`,
        `channels`, `discord_webhook`, `ntfy_topic`; fields left out keep their value."""
        answer = await self._transport.request("PUT", "/api/autonomous/config", json=fields)
        return SavedAutonomousConfig.model_validate(answer)

    @call
    async def execute(self, *, workspace_id: str | None = None) -> Run:
        """Run it now and give back its run (409 as ProactiveError, naming the run, while
        another execution runs)."""
        answer = await self._transport.request(
            "POST", "/api/autonomous/execute", params={"workspace_id": workspace_id}
        )
        return ExecutionStarted.model_validate(answer).run

    @call
    async def test_webhook(self, webhook_url: str) -> SimpleStatus:
        """Send the test message to a Discord webhook and give back what Discord said."""
        answer = await self._transport.request(
            "POST", "/api/autonomous/test-webhook", json={"webhook_url": webhook_url}
        )
        return SimpleStatus.model_validate(answer)

    @call
    async def settings(self, *, workspace_id: str | None = None) -> WorkspaceSettings:
        """The workspace's settings (the same as `Workspace.settings`)."""
        answer = await self._transport.request(
            "GET", "/api/workspace/settings", params={"workspace_id": workspace_id}
        )
        return WorkspaceSettings.model_validate(answer)

    @call
    async def update_settings(self, /, **fields: Any) -> WorkspaceSettings:
        """Change the workspace's settings (the same as `Workspace.update_settings`)."""
        answer = await self._transport.request("PUT", "/api/workspace/settings", json=fields)
        return WorkspaceSettings.model_validate(answer)
