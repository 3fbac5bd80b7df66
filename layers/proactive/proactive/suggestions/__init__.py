"""Suggestions: what a workspace could automate, found in what it actually did.

Mining (`suggestions.refresh`, daily per workspace through the due index, or on request) reads the recent
history (`suggestions.history`), finds patterns and turns the strong ones into candidates
(`suggestions.mining`, statistics from `proactive.analytics.routines`, never a guess), and
reconciles them with the suggestions already made (`suggestions.lifecycle`, decisions apart from
the writes here): a new pattern opens a suggestion, one seen again is brought up to date, one
gone expires, one replaced by a better one of the same subject is superseded, and one people
dismissed stays dismissed unless its evidence has grown a lot.

A suggestion holds the exact request accepting makes. Accepting is held by one caller at a time
(`claim`) and remembers what it made (`settle`), so accepting twice makes one resource. The
ranking learns what people accept and dismiss, per kind.

The capability's other pieces: the models in `proactive.models.suggestions`, the table in
`proactive.store.suggestions`, the routes (`/api/proactive/suggestions`, `/api/proactive/patterns`)
in `proactive.api.routes_suggestions`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from proactive.clock import iso, parse_iso
from proactive.errors import Conflict, InvalidInput
from proactive.models.suggestions import SuggestionRecord
from proactive.queue import Message, RunQueue
from proactive.store import ConditionFailed, Store
from proactive.suggestions import lifecycle
from proactive.suggestions.history import WINDOW_DAYS

# Every workspace with an agent (or that asked for its suggestions) is mined this often.
MINING_INTERVAL = timedelta(days=1)
# How long one accept holds a suggestion while its request is made.
ACCEPT_HOLD = timedelta(seconds=60)


def enroll(store: Store, workspace_id: str, now: datetime) -> None:
    """Put the workspace in the daily mining, if it is not yet (a conditional write: safe to repeat)."""
    first = now + MINING_INTERVAL
    with contextlib.suppress(ConditionFailed):
        store.minings.put_due(
            {
                "id": workspace_id,
                "workspace_id": workspace_id,
                "mined_at": None,
                "next_fire_at": iso(first),
                "created_at": iso(now),
            },
            due_at=first,
        )


def patterns(store: Store, workspace_id: str) -> dict[str, Any]:
    """What the last mining of the workspace found."""
    mined = store.minings.get(workspace_id) or {}
    return {
        "workspace_id": workspace_id,
        "mined_at": mined.get("mined_at"),
        "window_days": int(mined.get("window_days") or WINDOW_DAYS),
        "history": mined.get("history") or {},
        "took_ms": mined.get("took_ms"),
        "patterns": mined.get("patterns") or [],
    }


def ranked(
    store: Store, workspace_id: str, now: datetime, *, status: str | None, kind: str | None
) -> list[SuggestionRecord]:
    """The workspace's suggestions, most useful first, as they stand at `now` (a snooze that has
    run out is open again), narrowed to a status and a kind."""
    feedback = store.minings.get(workspace_id)
    if feedback is None:  # a workspace that looks at its suggestions is mined daily from now on
        enroll(store, workspace_id, now)
    shown = [lifecycle.as_of(s, now) for s in store.suggestions.all_in(workspace_id)]
    chosen = [s for s in shown if (status is None or s.status == status) and (kind is None or s.kind == kind)]
    return lifecycle.rank(chosen, feedback or {})


def get(store: Store, suggestion_id: str, workspaces: frozenset[str], now: datetime) -> SuggestionRecord:
    return lifecycle.as_of(store.suggestions.owned(suggestion_id, workspaces), now)


def claim(
    store: Store, suggestion_id: str, workspaces: frozenset[str], now: datetime
) -> tuple[SuggestionRecord, bool]:
    """The suggestion, held for this accept (True), or as accepted before (False: nothing is to
    be made). Conflict while another accept holds it; a dismissed one must be asked for again."""
    suggestion = get(store, suggestion_id, workspaces, now)
    if suggestion.status == "accepted":
        return suggestion, False
    if suggestion.status == "dismissed":
        raise Conflict("the suggestion was dismissed; refresh, and accept it if it is suggested again")
    held = store.suggestions.claim(suggestion_id, now=now, until=now + ACCEPT_HOLD)
    if held is None:
        again = get(store, suggestion_id, workspaces, now)
        if again.status == "accepted":
            return again, False
        raise Conflict("the suggestion is being accepted by another request; try again")
    return held, True


def request_for(suggestion: SuggestionRecord, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The request accepting makes: the suggested one, with `overrides` at the body's top level.
    InvalidInput when a field it needs is still missing."""
    body = {**suggestion.request.body, **overrides}
    missing = [name for name in suggestion.request.needs if body.get(name) in (None, "")]
    if missing:
        raise InvalidInput(
            f"accepting this suggestion needs {', '.join(missing)} in overrides",
            field=f"overrides.{missing[0]}",
        )
    if "workspace_id" in suggestion.request.body and body.get("workspace_id") != suggestion.workspace_id:
        raise InvalidInput(
            "overrides cannot move the suggestion to another workspace", field="overrides.workspace_id"
        )
    return {"method": suggestion.request.method, "path": suggestion.request.path, "body": body}


def settle(
    store: Store, suggestion: SuggestionRecord, resource: Mapping[str, Any], resource_path: str, now: datetime
) -> SuggestionRecord:
    """Record what accepting made, and count the acceptance for the ranking."""
    accepted = store.suggestions.update(
        suggestion.id,
        {
            "status": "accepted",
            "resource": dict(resource),
            "resource_path": resource_path,
            "accepted_at": now,
            "accepting_until": None,
            "updated_at": now,
        },
    )
    _count(store, suggestion.workspace_id, f"accepted_{suggestion.kind}", now)
    return accepted


def release(store: Store, suggestion: SuggestionRecord) -> None:
    """Let another accept try (the request was refused)."""
    with contextlib.suppress(ConditionFailed):
        store.suggestions.update(suggestion.id, {"accepting_until": None})


def dismiss(
    store: Store, suggestion_id: str, workspaces: frozenset[str], reason: str | None, now: datetime
) -> SuggestionRecord:
    suggestion = get(store, suggestion_id, workspaces, now)
    if suggestion.status == "accepted":
        raise Conflict("the suggestion was accepted; delete what it made instead")
    dismissed = store.suggestions.update(
        suggestion.id,
        {
            "status": "dismissed",
            "dismissed_at": now,
            "dismissed_reason": reason,
            "dismissed_count": suggestion.evidence.count,
            "snoozed_until": None,
            "updated_at": now,
        },
    )
    if suggestion.status != "dismissed":
        _count(store, suggestion.workspace_id, f"dismissed_{suggestion.kind}", now)
    return dismissed


def snooze(
    store: Store, suggestion_id: str, workspaces: frozenset[str], until: datetime, now: datetime
) -> SuggestionRecord:
    if until.tzinfo is None:
        raise InvalidInput("until needs a UTC offset (e.g. 2026-12-24T09:00:00Z)", field="until")
    if until <= now:
        raise InvalidInput("until must be in the future", field="until")
    suggestion = get(store, suggestion_id, workspaces, now)
    if suggestion.status not in ("open", "snoozed"):
        raise Conflict(f"only an open suggestion can be snoozed; this one is {suggestion.status}")
    return store.suggestions.update(
        suggestion.id, {"status": "snoozed", "snoozed_until": until, "updated_at": now}
    )


def _count(store: Store, workspace_id: str, counter: str, now: datetime) -> None:
    try:
        store.minings.update(workspace_id, add={counter: 1})
    except ConditionFailed:  # not enrolled yet
        enroll(store, workspace_id, now)
        store.minings.update(workspace_id, add={counter: 1})


# The due kind and the work kind (registered in `proactive.wiring`).


def dispatch(
    store: Store, queue: RunQueue, item: Mapping[str, Any], now: datetime, window_end: datetime
) -> int:
    """A workspace's daily mining is due: hand it to the worker (mining reads the history, which
    takes longer than a tick may), then move the workspace to its next day. The message names
    the slot and the worker mines each slot once, so a tick that hands it over again (the move
    failed, or another tick got there first) costs nothing."""
    current = item.get("next_fire_at")
    if not current or parse_iso(str(current)) > window_end:
        return 0
    queue.send([Message("mining", str(item["id"]), extra=(("slot", str(current)),))])
    following = max(parse_iso(str(current)), now) + MINING_INTERVAL
    with contextlib.suppress(ConditionFailed):  # another tick moved it
        store.minings.reschedule(
            str(item["id"]),
            {"next_fire_at": iso(following)},
            due_at=following,
            expect_next_fire_at=str(current),
        )
    return 1
