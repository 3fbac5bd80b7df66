"""Suggestions of what to automate, mined from the workspace's history, and the patterns found."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from proactive import suggestions
from proactive.api import inprocess, listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.errors import InvalidInput
from proactive.models.common import Page
from proactive.models.suggestions import (
    AcceptBody,
    Accepted,
    DismissBody,
    Patterns,
    Refreshed,
    SnoozeBody,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
)
from proactive.suggestions.refresh import refresh as mine_now

router = APIRouter(prefix="/api/proactive/suggestions", tags=["suggestions"])
patterns_router = APIRouter(prefix="/api/proactive/patterns", tags=["suggestions"])


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return max(0, int(cursor.removeprefix("offset:")))
    except ValueError:
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None


@router.get("", response_model=Page[Suggestion])
def list_suggestions(
    workspace: WorkspaceScope,
    store: StoreDep,
    status: Annotated[SuggestionStatus | None, Query(description="Only suggestions in this status.")] = None,
    kind: Annotated[SuggestionKind | None, Query(description="Only suggestions of this kind.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The workspace's suggestions, most useful first (what people accept and dismiss of each
    kind is learnt), each with why, its evidence and back-test, and the request accepting makes."""
    ranked = suggestions.ranked(store, workspace, utcnow(), status=status, kind=kind)
    start = _offset(cursor)
    shown = ranked[start : start + limit]
    following = f"offset:{start + limit}" if start + limit < len(ranked) else None
    return listing.page(shown, following, Suggestion)


@router.post("/refresh", response_model=Refreshed)
def refresh(workspace: WorkspaceScope, store: StoreDep) -> Refreshed:
    """Mine the workspace's recent history now (it is also mined daily) and answer what was found."""
    mined = mine_now(store, workspace, utcnow())
    return Refreshed(status="mined", patterns=mined.patterns, open=mined.open, took_ms=mined.took_ms)


@router.get("/{suggestion_id}", response_model=Suggestion)
def get_suggestion(suggestion_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return suggestions.get(store, suggestion_id, principal.workspaces, utcnow())


@router.post(
    "/{suggestion_id}/accept",
    response_model=Accepted,
    responses={201: {"model": Accepted, "description": "Accepted now: what it made."}},
)
async def accept(
    suggestion_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    request: Request,
    response: Response,
    body: AcceptBody | None = None,
) -> Any:
    """Make the suggestion's request (with `overrides` in its body) in its workspace, as the
    caller, and answer what it made (201). Accepting again makes nothing new: the answer is what
    the first accept made (200). A request the API refuses is answered as the API refused it,
    and the suggestion stays open."""
    suggestion, fresh = await run_in_threadpool(
        suggestions.claim, store, suggestion_id, principal.workspaces, utcnow()
    )
    if not fresh:
        return Accepted(
            suggestion=Suggestion.model_validate(suggestion.model_dump()),
            created=False,
            resource=suggestion.resource,
        )
    try:
        made = suggestions.request_for(suggestion, body.overrides if body else {})
        # As the caller: the principal this request was authenticated as (a token's, or the
        # console's signed-in person's), whichever way it came.
        answer = await inprocess.call(
            request, made["method"], made["path"], made["body"], as_principal=principal
        )
    except BaseException:
        await run_in_threadpool(suggestions.release, store, suggestion)
        raise
    if answer.status >= 400:
        await run_in_threadpool(suggestions.release, store, suggestion)
        return JSONResponse(answer.body, status_code=answer.status)
    resource = answer.body if isinstance(answer.body, dict) else {}
    path = (
        made["path"]
        if made["method"] != "POST" or "id" not in resource
        else f"{made['path']}/{resource['id']}"
    )
    settled = await run_in_threadpool(suggestions.settle, store, suggestion, resource, path, utcnow())
    response.status_code = 201
    return Accepted(
        suggestion=Suggestion.model_validate(settled.model_dump()), created=True, resource=resource
    )


@router.post("/{suggestion_id}/dismiss", response_model=Suggestion)
def dismiss(
    suggestion_id: str, principal: CurrentPrincipal, store: StoreDep, body: DismissBody | None = None
) -> Any:
    """Not wanted: it is not suggested again unless its evidence grows a lot."""
    reason = body.reason if body else None
    return suggestions.dismiss(store, suggestion_id, principal.workspaces, reason, utcnow())


@router.post("/{suggestion_id}/snooze", response_model=Suggestion)
def snooze(suggestion_id: str, body: SnoozeBody, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """Not now: it is listed as snoozed until `until`, then open again."""
    return suggestions.snooze(store, suggestion_id, principal.workspaces, body.until, utcnow())


@patterns_router.get("", response_model=Patterns)
def patterns(workspace: WorkspaceScope, store: StoreDep) -> Any:
    """What the last mining found in the workspace's history, whether or not it became a
    suggestion: each pattern with its statistics and evidence."""
    return suggestions.patterns(store, workspace)
