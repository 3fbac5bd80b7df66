"""`/api/secrets`: a workspace's secrets. A value is only ever sent: no answer holds it."""

from __future__ import annotations

from pydantic import SecretStr

from proactive.models.common import Page
from proactive.models.secrets import Secret, SecretListed
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Resource


class Secrets(Resource[Secret, Mode]):
    """`/api/secrets`: values a workspace's resources name instead of holding (an llm agent's
    `api_key_secret`, a header `{"secret": "<name>"}`, an ntfy channel's `token_secret`). A value
    goes in once, to the secret store; answers show each secret's name, dates and users, never
    its value."""

    path, model = "/api/secrets", Secret

    @call
    async def set(self, name: str, value: str | SecretStr, *, workspace_id: str | None = None) -> Secret:
        """Create or replace the secret `name` (1 to 128 letters, digits, `_`, `.` or `-`) and give
        back its metadata. `value` may be a `pydantic.SecretStr`, so it is never printed."""
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        body = {"value": plain, "workspace_id": workspace_id}
        return await self._answer(Secret, "PUT", self._url(name), json=body)

    @paged
    async def list(
        self, *, workspace_id: str | None = None, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[SecretListed]:
        """Every secret of the workspace by name, each with the resources that name it
        (`used_by`). One page holds them all (`limit` and `cursor` are there for the common
        shape of lists)."""
        return await self._page(SecretListed, self.path, {"workspace_id": workspace_id}, limit, cursor)

    iterate = each(list)

    @call
    async def delete(self, name: str, *, workspace_id: str | None = None, force: bool = False) -> None:
        """Delete it. While resources name it the API answers 409 naming them (in `details`);
        `force=True` pauses monitors and actions and turns channels off first (agents that name
        it fail their runs until it is set again)."""
        params = {"workspace_id": workspace_id, "force": force or None}
        await self._transport.request("DELETE", self._url(name), params=params)
