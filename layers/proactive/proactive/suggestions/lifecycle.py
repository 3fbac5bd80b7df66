"""What a mining does to the suggestions already made, and how they are ranked: decisions only,
no I/O (the writes are `proactive.suggestions.refresh`'s).

- A candidate no suggestion has yet opens one. Its id derives from the pattern's fingerprint
  (kind, subject and shape, e.g. the agent, its task and the cron), so mining again finds it.
- A candidate seen again brings its suggestion's figures up to date; an expired or superseded
  one is open again. A snoozed one stays snoozed; an accepted one is left as it is.
- A dismissed one stays dismissed unless its evidence has grown a lot since (`REGROWTH` times
  what it was, and at least `REGROWTH_MIN` more occurrences): people are not asked twice.
- An open or snoozed suggestion that mining no longer finds is superseded when a candidate of
  the same kind and subject takes its place (its `superseded_by`), and expires otherwise.

Ranking: a suggestion's own score (its confidence, and how much it would handle: log of its
occurrences a month) times the chance people accept one of its kind, the mean of a Beta
posterior (one accept and one dismissal assumed before any are seen) over the workspace's
accepts and dismissals of that kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proactive.models.suggestions import SuggestionRecord
from proactive.suggestions.candidates import Candidate

REGROWTH = 2.0
REGROWTH_MIN = 5
# What a mining that finds a suggestion again brings up to date.
_FROM_MINING = (
    *("title", "why", "evidence", "backtest", "confidence", "impact"),
    *("score", "request", "pattern_id", "last_seen_at"),
)


@dataclass(frozen=True)
class Plan:
    writes: list[SuggestionRecord]
    open: int


def own_score(confidence: float, impact: float) -> float:
    return round(confidence * math.log1p(max(impact, 0.0)), 6)


def _fresh(candidate: Candidate, now: datetime) -> SuggestionRecord:
    return SuggestionRecord(
        id=candidate.id,
        workspace_id=candidate.workspace_id,
        kind=candidate.kind,
        fingerprint=candidate.fingerprint,
        status="open",
        title=candidate.title,
        why=candidate.why,
        subject=candidate.subject,
        evidence=candidate.evidence,
        backtest=dict(candidate.backtest),
        confidence=candidate.confidence,
        impact=candidate.impact,
        score=own_score(candidate.confidence, candidate.impact),
        request=candidate.request,
        pattern_id=candidate.pattern_id,
        last_seen_at=now,
        created_at=now,
        updated_at=now,
    )


def _regrown(current: SuggestionRecord, candidate: Candidate) -> bool:
    before = current.dismissed_count or 0
    return candidate.evidence.count >= max(before * REGROWTH, before + REGROWTH_MIN)


def _seen_again(current: SuggestionRecord, candidate: Candidate, now: datetime) -> SuggestionRecord | None:
    """`current` brought up to date with `candidate`; None when it is left as it is."""
    if current.status == "accepted" or (current.status == "dismissed" and not _regrown(current, candidate)):
        return None
    fresh = _fresh(candidate, now)
    status = "snoozed" if current.status == "snoozed" else "open"
    changes: dict[str, Any] = {
        **{name: getattr(fresh, name) for name in _FROM_MINING},
        "status": status,
        "expired_at": None,
        "superseded_by": None,
        "updated_at": now,
    }
    if current.status == "dismissed":
        changes.update(dismissed_at=None, dismissed_reason=None, dismissed_count=None)
    return current.model_copy(update=changes)


def reconcile(existing: Sequence[SuggestionRecord], candidates: Sequence[Candidate], now: datetime) -> Plan:
    """What one mining changes: see the module's docstring. `existing` are the workspace's
    suggestions as stored, `candidates` what the mining found (one per fingerprint)."""
    by_id = {s.id: s for s in existing}
    writes: list[SuggestionRecord] = []
    found: dict[str, Candidate] = {}
    for candidate in candidates:
        found[candidate.id] = candidate
        current = by_id.get(candidate.id)
        if current is None:
            writes.append(_fresh(candidate, now))
        elif (updated := _seen_again(current, candidate, now)) is not None:
            writes.append(updated)
    by_subject = {(c.kind, c.subject): sid for sid, c in found.items()}
    for current in existing:
        if current.id in found or current.status not in ("open", "snoozed"):
            continue
        successor = by_subject.get((current.kind, current.subject))
        if successor is not None:
            writes.append(
                current.model_copy(
                    update={"status": "superseded", "superseded_by": successor, "updated_at": now}
                )
            )
        else:
            writes.append(
                current.model_copy(update={"status": "expired", "expired_at": now, "updated_at": now})
            )
    written = {w.id: w for w in writes}
    statuses = [written.get(s.id, s).status for s in existing] + [
        w.status for w in writes if w.id not in by_id
    ]
    return Plan(writes, sum(1 for s in statuses if s == "open"))


def as_of(suggestion: SuggestionRecord, now: datetime) -> SuggestionRecord:
    """The suggestion as it stands at `now`: a snooze that has run out is open again."""
    if (
        suggestion.status == "snoozed"
        and suggestion.snoozed_until is not None
        and suggestion.snoozed_until <= now
    ):
        return suggestion.model_copy(update={"status": "open"})
    return suggestion


def acceptance(feedback: Mapping[str, Any], kind: str) -> float:
    """The posterior mean of the chance people accept a suggestion of `kind` (see the docstring)."""
    accepted = float(feedback.get(f"accepted_{kind}") or 0)
    dismissed = float(feedback.get(f"dismissed_{kind}") or 0)
    return (1 + accepted) / (2 + accepted + dismissed)


def rank(suggestions: Sequence[SuggestionRecord], feedback: Mapping[str, Any]) -> list[SuggestionRecord]:
    """Most useful first: own score times the kind's acceptance (ties: newest first)."""
    return sorted(
        suggestions,
        key=lambda s: (-s.score * acceptance(feedback, s.kind), -s.created_at.timestamp(), s.id),
    )
