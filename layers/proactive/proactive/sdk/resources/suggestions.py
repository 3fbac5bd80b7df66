"""`/api/proactive/suggestions` and `/patterns`: what the workspace's history says to automate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from proactive.models.common import Page
from proactive.models.suggestions import (
    Accepted,
    Patterns,
    Refreshed,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
)
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Readable


class Suggestions(Readable[Suggestion, Mode]):
    """`/api/proactive/suggestions`: schedules, triggers, monitors and fixes suggested from the
    workspace's history (mined daily, or now with `refresh`), each with why, its evidence and
    back-test, and the request accepting it makes."""

    path, model = "/api/proactive/suggestions", Suggestion

    @paged
    async def list(
        self,
        *,
        status: SuggestionStatus | None = None,
        kind: SuggestionKind | None = None,
        workspace_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Suggestion]:
        """A page of suggestions, the most useful first (what people accept and dismiss of each
        kind is learnt)."""
        params = {"status": status, "kind": kind, "workspace_id": workspace_id}
        return await self._page(Suggestion, self.path, params, limit, cursor)

    iterate = each(list)

    @call
    async def accept(self, suggestion_id: str, *, overrides: dict[str, Any] | None = None) -> Accepted:
        """Make the suggestion's request (with `overrides` replacing its body's top-level fields,
        e.g. another `agent_id`) and give back what it made (`resource`). Accepting again makes
        nothing new (`created` False). A request the API refuses raises as the API refused it,
        and the suggestion stays open."""
        body = {"overrides": overrides or {}}
        return await self._answer(Accepted, "POST", self._url(suggestion_id, "accept"), json=body)

    @call
    async def dismiss(self, suggestion_id: str, *, reason: str | None = None) -> Suggestion:
        """Not wanted: it is not suggested again unless its evidence grows a lot."""
        return await self._answer(
            Suggestion, "POST", self._url(suggestion_id, "dismiss"), json={"reason": reason}
        )

    @call
    async def snooze(self, suggestion_id: str, until: datetime) -> Suggestion:
        """Not now: listed as snoozed until `until` (with a UTC offset), then open again."""
        return await self._answer(
            Suggestion, "POST", self._url(suggestion_id, "snooze"), json={"until": until}
        )

    @call
    async def refresh(self, *, workspace_id: str | None = None) -> Refreshed:
        """Mine the workspace's recent history now and give back what was found."""
        params = {"workspace_id": workspace_id}
        return await self._answer(Refreshed, "POST", f"{self.path}/refresh", params=params)

    @call
    async def patterns(self, *, workspace_id: str | None = None) -> Patterns:
        """What the last mining found, whether or not it became a suggestion: each pattern with
        its statistics and evidence."""
        params = {"workspace_id": workspace_id}
        return await self._answer(Patterns, "GET", "/api/proactive/patterns", params=params)
