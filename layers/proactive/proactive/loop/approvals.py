"""Approvals: an action that `requires_approval` waits, in its execution, on a Step Functions task
token until someone decides.

Asking sends the workspace's default channels a notice with one-click approve and reject links
(`/approvals/<link token>`): signed with a key the platform keeps for itself, expiring with the
approval, naming one goal action and one decision. Opening a link shows what will be decided and
one button; pressing it decides (a GET decides nothing, so the link scanners of mail and chat
services, which open every link they see, cannot approve an action). The API decides too, for
someone signed in: `POST /api/autonomous/approvals/{goal_action_id}/approve` (or `/reject`).

A decision is taken once: a conditional write moves the goal action from `awaiting_approval`, and
only then is the waiting task told. A second click, the other link, or a decision after the
approval lapsed gets an answer saying what was decided, when and by whom. No answer before the
timeout is a rejection (the state machine's timeout), recorded as `expired`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import iso
from proactive.errors import Conflict, InvalidInput, NotFound
from proactive.lib import approval_links
from proactive.lib.approval_links import Decision
from proactive.loop import machine
from proactive.loop.runs_view import timeline_entry
from proactive.notifications.notice import Notice
from proactive.notifications.outbox import queue_notice
from proactive.queue import RunQueue
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store

KEY_NAME = "approval-links"
PURPOSE = "approval"
AWAITING = "awaiting_approval"
_DECIDED = {"approve": "approved", "reject": "rejected"}


def link_key(store: Store) -> bytes:
    return store.platform_keys.get_or_create(KEY_NAME)


def links(store: Store, goal_action_id: str, expires_at: datetime) -> dict[str, str] | None:
    """The approve and reject links, where the API's public address is known."""
    base = get_settings().public_base_url
    if not base:
        return None
    key = link_key(store)
    return {
        decision: f"{base.rstrip('/')}/approvals/"
        + approval_links.make_token(
            key, approval_id=goal_action_id, decision=decision, expires_at=expires_at.timestamp()
        )
        for decision in approval_links.DECISIONS
    }


def request(
    store: Store,
    queue: RunQueue,
    goal_action: Mapping[str, Any],
    goal: Mapping[str, Any],
    token: str,
    timeout_seconds: int,
    now: datetime,
) -> dict[str, Any]:
    """Keep the task token, mark the goal action as awaiting approval, and ask the workspace's
    channels. Asking again (a retried step) asks nothing new: the notifications' ids are the same."""
    ga_id = goal_action["id"]
    expires_at = now + timedelta(seconds=timeout_seconds)
    store.task_tokens.put(ga_id, PURPOSE, token, expires_at)
    found = links(store, ga_id, expires_at)
    workspace = store.workspaces.get(goal_action["workspace_id"]) or {}
    channels = list(workspace.get("default_channels") or [])
    # Waiting first, asking second: a decision made the moment the message arrives is taken.
    if goal_action["status"] != AWAITING:
        store.goal_actions.update(
            ga_id,
            {
                "status": AWAITING,
                "approval": {"requested_at": iso(now), "expires_at": iso(expires_at), "decision": None},
            },
            append={
                "timeline": [
                    timeline_entry(now, "approval_requested", asked_detail(ga_id, channels, expires_at))
                ]
            },
        )
    told = queue_notice(
        store,
        queue,
        goal_action["workspace_id"],
        approval_notice(goal_action, goal, found, expires_at, now),
        channels,
        event_type="goal.approval",
        key=ga_id,
        subject_id=ga_id,
        run_id=None,
        now=now,
    )
    return {"asked_channels": told, "links": found is not None, "expires_at": iso(expires_at)}


def api_route(goal_action_id: str) -> str:
    """How someone signed in decides through the API."""
    return f"POST /api/autonomous/approvals/{goal_action_id}/approve (or /reject)"


def asked_detail(goal_action_id: str, channels: list[str], expires_at: datetime) -> str:
    """The timeline's account of an approval asked for: whom it asks, and until when."""
    asked = (
        f"asks {len(channels)} channel(s)"
        if channels
        else f"no default channel to ask: decide through {api_route(goal_action_id)}"
    )
    return f"{asked}; waits until {iso(expires_at)}"


def approval_notice(
    goal_action: Mapping[str, Any],
    goal: Mapping[str, Any],
    found: Mapping[str, str] | None,
    expires_at: datetime,
    now: datetime,
) -> Notice:
    """The notice asking for a decision, with the approve and reject links when there are some."""
    return Notice(
        event="goal.approval_requested",
        title=f"Approval needed: {goal_action['action_name']} for {goal['title']}",
        outcome="warning",
        summary=(
            f"The goal loop plans to run '{goal_action['action_name']}' for the goal "
            f"'{goal['title']}'. It waits for a decision until {iso(expires_at)}; no answer by then "
            "means no."
        ),
        fields=(
            ("Goal", goal["title"]),
            ("Priority", f"{goal['priority_label']} ({goal['priority']:g})"),
            ("Why", goal["evidence"]["summary"]),
            ("Plan", goal_action["plan"]["reason"]),
            ("Or through the API", api_route(goal_action["id"])),
        ),
        body=goal["description"],
        link=None,
        ref=goal_action["id"],
        at=now,
        actions=() if found is None else (("Approve", found["approve"]), ("Reject", found["reject"])),
    )


def read_link(store: Store, token: str, now: datetime) -> tuple[dict[str, Any], Decision]:
    """The goal action a link decides, and how; InvalidInput (bad or expired link) or NotFound."""
    try:
        claims = approval_links.read_token(link_key(store), token, now.timestamp())
    except approval_links.LinkError as exc:
        raise InvalidInput(exc.message, field="link") from None
    goal_action = store.goal_actions.get(claims.approval_id)
    if goal_action is None:
        raise NotFound("the action this link decides no longer exists")
    return goal_action, claims.decision


def decide(
    store: Store, goal_action_id: str, decision: Decision, *, by: str, via: str, now: datetime
) -> dict[str, Any]:
    """Take the decision (once) and tell the waiting execution; the goal action as it is now.
    Conflict when it was decided already, or is not waiting for a decision."""
    status = _DECIDED[decision]
    record = {"decision": status, "decided_at": iso(now), "decided_by": by, "via": via}
    try:
        current = store.goal_actions.get(goal_action_id) or {}
        approval = {**(current.get("approval") or {}), **record}
        updated = store.goal_actions.update(
            goal_action_id,
            {"status": status, "approval": approval},
            condition=Attr("status").eq(AWAITING),
            append={"timeline": [timeline_entry(now, status, f"by {by} via {via}")]},
        )
    except ConditionFailed:
        found = store.goal_actions.get(goal_action_id)
        if found is None:
            raise NotFound(f"goal action {goal_action_id!r} not found") from None
        raise Conflict(describe(found)) from None
    token = store.task_tokens.peek(goal_action_id, PURPOSE)
    told = token is not None and (
        machine.succeed(token, {"decision": status, "by": by})
        if decision == "approve"
        else machine.fail(token, machine.REJECTED, f"rejected by {by} via {via}")
    )
    store.task_tokens.discard(goal_action_id, PURPOSE)
    if not told:
        # The wait had ended (it lapsed meanwhile): the execution has moved on without this.
        updated = store.goal_actions.update(
            goal_action_id,
            {"status": "expired", "approval": {**approval, "decision": "expired", "late_decision": status}},
            append={
                "timeline": [
                    timeline_entry(now, "expired", f"the {status} decision came after the wait ended")
                ]
            },
        )
    return updated


def describe(goal_action: Mapping[str, Any]) -> str:
    """Where a goal action's approval stands, in a sentence."""
    approval = goal_action.get("approval") or {}
    decision = approval.get("decision")
    if decision in ("approved", "rejected"):
        by, at = approval.get("decided_by"), approval.get("decided_at")
        return f"this action was already {decision} by {by} at {at}"
    if decision == "expired" or goal_action.get("status") == "expired":
        lapsed = approval.get("expires_at")
        return f"this approval lapsed at {lapsed} with no decision, so the action did not run"
    return f"this action is not waiting for approval (it is {goal_action.get('status')})"


def page(
    goal_action: Mapping[str, Any], goal: Mapping[str, Any] | None, decision: Decision, token: str
) -> str:
    """The page a link opens: what would be decided, and one button that decides it."""
    from html import escape

    verb = "Approve" if decision == "approve" else "Reject"
    title = escape(goal["title"]) if goal else escape(goal_action["goal_id"])
    why = escape(goal["evidence"]["summary"]) if goal else ""
    plan = escape((goal_action.get("plan") or {}).get("reason", ""))
    state = (
        f"<p>{escape(describe(goal_action))}.</p>"
        if goal_action.get("status") != AWAITING
        else (
            f'<form method="post" action="{escape(token)}"><button type="submit" autofocus>{verb} '
            f"{escape(goal_action['action_name'])}</button></form>"
        )
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>"
        f"{verb} action</title></head><body><h1>{verb}: {escape(goal_action['action_name'])}</h1>"
        f"<p>For the goal <b>{title}</b>.</p><p>{why}</p><p>{plan}</p>{state}</body></html>"
    )
