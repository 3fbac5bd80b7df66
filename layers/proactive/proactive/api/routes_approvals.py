"""Approving and rejecting what the goal loop plans to do.

- `/approvals/{link}` (public, no login): the one-click links sent to the workspace's channels.
  GET shows what would be decided and one button; POST decides. The link is signed, expires with
  the approval and decides one action one way.
- `/api/autonomous/approvals` (signed in): the actions awaiting a decision (or, with
  `state=decided`, those decided: who, when, how), one action by its id, and
  `POST /api/autonomous/approvals/{goal_action_id}/approve` or `/reject`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from anyio import to_thread
from boto3.dynamodb.conditions import Attr
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from proactive.api import listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.errors import DomainError
from proactive.loop import approvals, runs_view
from proactive.models.common import Page
from proactive.models.goals import GoalAction

router = APIRouter(prefix="/api/autonomous", tags=["goal loop"])
public = APIRouter(tags=["goal loop"])


# The decisions an approval ends with: someone approved or rejected it, or no one did in time.
DECIDED = ("approved", "rejected", "expired")
ApprovalState = Literal["awaiting", "decided"]


@router.get("/approvals", response_model=Page[GoalAction])
def list_awaiting(
    workspace: WorkspaceScope,
    store: StoreDep,
    state: Annotated[
        ApprovalState,
        Query(
            description="awaiting: the actions waiting for a decision; decided: those whose approval "
            "was decided (approved or rejected: `approval` says by whom, when and how) or lapsed "
            "(expired), whatever they did since."
        ),
    ] = "awaiting",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """The actions waiting for a decision (or decided), newest first."""
    condition = (
        Attr("status").eq(approvals.AWAITING)
        if state == "awaiting"
        else Attr("approval.decision").is_in(list(DECIDED))
    )
    items, next_cursor = store.goal_actions.page(workspace, limit=limit, cursor=cursor, filters=condition)
    return listing.page(items, next_cursor, GoalAction, present=runs_view.present_action)


@router.get("/approvals/{goal_action_id}", response_model=GoalAction)
def get_goal_action(goal_action_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    """One action the loop planned for a goal: its plan, its approval (asked when, until when,
    decided by whom, when and how), its run, its measured impact and its timeline."""
    return runs_view.present_action(store.goal_actions.owned(goal_action_id, principal.workspaces))


@router.post("/approvals/{goal_action_id}/{decision}", response_model=GoalAction)
def decide(
    goal_action_id: str, decision: Literal["approve", "reject"], principal: CurrentPrincipal, store: StoreDep
) -> Any:
    """Approve or reject an action waiting for a decision; 409 (saying who decided, and when) once
    it is decided or has lapsed."""
    store.goal_actions.owned(goal_action_id, principal.workspaces)
    decided = approvals.decide(store, goal_action_id, decision, by=principal.subject, via="api", now=utcnow())
    return runs_view.present_action(decided)


def _page(title: str, text: str, status_code: int) -> HTMLResponse:
    from html import escape

    body = f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title></head>"
    body += f"<body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    return HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


def _html(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"text/html": {"schema": {"type": "string"}}}}


_LINK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _html("The page: what the link decides, and its button (GET); the decision taken (POST)."),
    404: _html("The action the link decides no longer exists."),
    409: _html("Already decided (who, when), or the approval lapsed."),
    422: _html("Not a link this platform issued, altered, or expired."),
}


@public.get(
    "/approvals/{link}",
    response_class=HTMLResponse,
    summary="An approval link (public; signed)",
    responses=_LINK_RESPONSES,
    openapi_extra={"security": []},
)
async def open_link(link: str, store: StoreDep) -> HTMLResponse:
    """What the link would decide, with one button that decides it. Opening it decides nothing."""

    def show() -> HTMLResponse:
        try:
            goal_action, decision = approvals.read_link(store, link, utcnow())
        except DomainError as exc:
            return _page("This link cannot be used", exc.message, exc.status_code)
        goal = store.goals.get(goal_action["goal_id"])
        page = approvals.page(goal_action, None if goal is None else _presented(goal), decision, link)
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    return await to_thread.run_sync(show)


@public.post(
    "/approvals/{link}",
    response_class=HTMLResponse,
    summary="Decide through an approval link",
    responses=_LINK_RESPONSES,
    openapi_extra={"security": []},
)
async def use_link(link: str, store: StoreDep) -> HTMLResponse:
    """Take the link's decision (once; a second use is told what was decided, by whom and when)."""

    def take() -> HTMLResponse:
        try:
            goal_action, decision = approvals.read_link(store, link, utcnow())
            decided = approvals.decide(
                store, goal_action["id"], decision, by="approval link", via="link", now=utcnow()
            )
        except DomainError as exc:
            return _page("Not decided", exc.message, exc.status_code)
        if decided["status"] == "expired":
            return _page("Too late", approvals.describe(decided), 409)
        verb = "Approved" if decided["status"] == "approved" else "Rejected"
        return _page(
            f"{verb}: {decided['action_name']}", f"Recorded at {decided['approval']['decided_at']}.", 200
        )

    return await to_thread.run_sync(take)


def _presented(goal: dict[str, Any]) -> dict[str, Any]:
    from proactive.loop import analysis

    return analysis.present(goal)
