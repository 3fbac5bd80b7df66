"""`/api/workspace`: a workspace's own settings, and one-time console sign-in links."""

from __future__ import annotations

from typing import Any

from proactive.models.notifications import WorkspaceSettings
from proactive.models.workspace import LoginLink
from proactive.sdk.calls import Bound, Mode, call


class Workspace(Bound[Mode]):
    """`/api/workspace`: the workspace's default agent and default channels, and links that
    sign a person in to the console."""

    @call
    async def settings(self, *, workspace_id: str | None = None) -> WorkspaceSettings:
        """The workspace's `default_agent_id` and `default_channels`."""
        answer = await self._transport.request(
            "GET", "/api/workspace/settings", params={"workspace_id": workspace_id}
        )
        return WorkspaceSettings.model_validate(answer)

    @call
    async def update_settings(self, /, **fields: Any) -> WorkspaceSettings:
        """Set `default_agent_id` (conversations and tasks use it when they name no agent) and
        `default_channels` (told of final failures, failing monitors, missed occurrences); fields
        left out keep their value. `workspace_id` may be left out when the token grants one."""
        answer = await self._transport.request("PUT", "/api/workspace/settings", json=fields)
        return WorkspaceSettings.model_validate(answer)

    @call
    async def login_link(self) -> LoginLink:
        """A link that signs its opener in to the console as the token's holder, with the
        token's workspaces. It works once, within 15 minutes: treat it as the token itself."""
        return LoginLink.model_validate(await self._transport.request("POST", "/api/workspace/login-links"))
