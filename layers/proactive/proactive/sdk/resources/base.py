"""What the resources share: a path, the model the API answers with, and the calls most of them
have (get, list, create, update, delete, pause and resume, a new signing secret)."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from proactive.models.common import Page
from proactive.sdk.calls import Bound, Mode, call, each, paged
from proactive.sdk.client import segment

M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)
X = TypeVar("X", bound=BaseModel)

DEFAULT_LIMIT = 50


def run_key(given: str | None) -> str:
    """The Idempotency-Key of a call that starts a run: the caller's, or a new one, so that the
    transport's retries of this call can never start a second run."""
    return given or str(uuid.uuid4())


class Resource(Bound[Mode], Generic[M, Mode]):
    """Calls under one path, answered with the API's own models."""

    path: str
    model: type[M]

    def _url(self, *parts: str) -> str:
        return "/".join([self.path, *(segment(part) for part in parts if part)])

    async def _answer(
        self,
        model: type[X],
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> X:
        answer = await self._transport.request(
            method, path, json=json, params=params, idempotency_key=idempotency_key
        )
        return model.model_validate(answer)

    async def _page(
        self, model: type[X], path: str, params: dict[str, Any], limit: int, cursor: str | None
    ) -> Page[X]:
        answer = await self._transport.request(
            "GET", path, params={**params, "limit": limit, "cursor": cursor}
        )
        items = [model.model_validate(item) for item in answer["items"]]
        return Page(items=items, next_cursor=answer.get("next_cursor"))

    async def _get(self, resource_id: str) -> M:
        return await self._answer(self.model, "GET", self._url(resource_id))


class Readable(Resource[M, Mode]):
    @call
    async def get(self, resource_id: str) -> M:
        """One by id (404 as ProactiveError when there is none in the token's workspaces)."""
        return await self._get(resource_id)


class Listed(Resource[M, Mode]):
    @paged
    async def list(
        self, *, workspace_id: str | None = None, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[M]:
        """A page of them, newest first. `workspace_id` may be left out when the token grants one
        workspace; `cursor` is a page's `next_cursor`."""
        return await self._page(self.model, self.path, {"workspace_id": workspace_id}, limit, cursor)

    iterate = each(list)


class Managed(Readable[M, Mode], Generic[M, C, Mode]):
    """Made, shown and changed; `created` is what making one answers."""

    created: type[C]

    @call
    async def create(self, /, **fields: Any) -> C:
        """Make one from the request body's fields (keyword arguments, as the API names them)."""
        return await self._answer(self.created, "POST", self.path, json=fields)

    @call
    async def update(self, resource_id: str, /, **fields: Any) -> M:
        """Change the given fields, keeping the others."""
        return await self._answer(self.model, "PATCH", self._url(resource_id), json=fields)


class Deletes(Resource[M, Mode]):
    @call
    async def delete(self, resource_id: str) -> None:
        """Delete it."""
        await self._transport.request("DELETE", self._url(resource_id))


class DeletesInUse(Resource[M, Mode]):
    """A resource others may use: deleting it while they do is a 409 naming them."""

    @call
    async def delete(self, resource_id: str, *, force: bool = False) -> None:
        """Delete it. While others use it the API answers 409 naming them (ProactiveError's
        `details`); `force=True` takes it out of each of them (or pauses them) first."""
        await self._transport.request("DELETE", self._url(resource_id), params={"force": force or None})


class Pausable(Resource[M, Mode]):
    """A resource that acts on its own until paused."""

    @call
    async def pause(self, resource_id: str) -> M:
        """Stop until resumed."""
        return await self._answer(self.model, "POST", self._url(resource_id, "pause"))

    @call
    async def resume(self, resource_id: str) -> M:
        """Start again, from its next occurrence or check."""
        return await self._answer(self.model, "POST", self._url(resource_id, "resume"))


class Signed(Resource[M, Mode], Generic[M, C, Mode]):
    """A resource with a signing secret, shown only when made and when regenerated."""

    created: type[C]

    @call
    async def regenerate_secret(self, resource_id: str, *, grace_period_seconds: int | None = None) -> C:
        """A new signing secret, shown only in this answer; the old one stays valid for the grace
        period (24 h unless given)."""
        body = {"grace_period_seconds": grace_period_seconds}
        return await self._answer(
            self.created, "POST", self._url(resource_id, "regenerate-secret"), json=body
        )
