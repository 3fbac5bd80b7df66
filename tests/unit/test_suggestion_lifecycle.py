"""What one mining does to the suggestions already made, and how they are ranked: new ones open,
ones seen again are brought up to date, dismissed ones stay dismissed until their evidence grows a
lot, ones no longer found expire or are superseded, and the kinds people accept rank higher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from proactive.models.suggestions import Evidence, SuggestedRequest, SuggestionRecord
from proactive.suggestions.candidates import Candidate
from proactive.suggestions.lifecycle import acceptance, as_of, rank, reconcile

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BEFORE = NOW - timedelta(days=1)


def _candidate(
    key: str = "a", *, count: int = 10, subject: str = "agent:a", kind: Any = "schedule"
) -> Candidate:
    return Candidate(
        workspace_id="ws-1",
        kind=kind,
        fingerprint=f"{kind}|{subject}|{key}",
        subject=subject,
        title=f"Schedule {key}",
        why=f"You ran it {count} times.",
        evidence=Evidence(runs=[f"run-{i}" for i in range(count)], count=count),
        confidence=0.8,
        impact=20,
        request=SuggestedRequest(method="POST", path="/api/proactive/schedules", body={"name": key}),
        pattern_id=f"pat-{key}",
    )


def _stored(candidate: Candidate, **changes: Any) -> SuggestionRecord:
    [made] = reconcile([], [candidate], BEFORE).writes
    return made.model_copy(update={"version": 1, **changes})


def test_a_new_pattern_opens_a_suggestion_whose_id_comes_from_its_fingerprint() -> None:
    plan = reconcile([], [_candidate()], NOW)
    [made] = plan.writes
    assert made.status == "open"
    assert made.id == _candidate().id
    assert made.created_at == NOW
    assert plan.open == 1


def test_a_pattern_seen_again_brings_its_suggestion_up_to_date() -> None:
    stored = _stored(_candidate(count=10))
    [updated] = reconcile([stored], [_candidate(count=14)], NOW).writes
    assert updated.id == stored.id
    assert updated.evidence.count == 14
    assert updated.created_at == BEFORE
    assert updated.last_seen_at == NOW


def test_a_dismissed_suggestion_stays_dismissed_until_its_evidence_grows_a_lot() -> None:
    stored = _stored(_candidate(count=10), status="dismissed", dismissed_count=10, dismissed_reason="no")
    assert reconcile([stored], [_candidate(count=15)], NOW).writes == []
    [reopened] = reconcile([stored], [_candidate(count=20)], NOW).writes
    assert reopened.status == "open"
    assert reopened.dismissed_reason is None


def test_accepted_and_snoozed_suggestions_keep_their_status() -> None:
    accepted = _stored(_candidate("a"), status="accepted")
    snoozed = _stored(
        _candidate("b", subject="agent:b"), status="snoozed", snoozed_until=NOW + timedelta(days=1)
    )
    writes = reconcile([accepted, snoozed], [_candidate("a"), _candidate("b", subject="agent:b")], NOW).writes
    assert [(w.id, w.status) for w in writes] == [(snoozed.id, "snoozed")]


def test_a_pattern_no_longer_found_expires_or_is_superseded_by_its_successor() -> None:
    gone = _stored(_candidate("a", subject="agent:a"))
    moved = _stored(_candidate("09:00", subject="agent:b"))
    successor = _candidate("08:30", subject="agent:b")
    writes = {w.id: w for w in reconcile([gone, moved], [successor], NOW).writes}
    assert writes[gone.id].status == "expired"
    assert writes[gone.id].expired_at == NOW
    assert writes[moved.id].status == "superseded"
    assert writes[moved.id].superseded_by == successor.id
    assert writes[successor.id].status == "open"


def test_a_snooze_that_ran_out_is_open_again() -> None:
    stored = _stored(_candidate(), status="snoozed", snoozed_until=NOW - timedelta(minutes=1))
    assert as_of(stored, NOW).status == "open"
    assert as_of(stored, NOW - timedelta(hours=1)).status == "snoozed"


def test_the_ranking_learns_which_kinds_people_accept() -> None:
    schedule = _stored(_candidate("s", kind="schedule", subject="agent:s"))
    fix = _stored(_candidate("f", kind="fix", subject="agent:f"))
    assert acceptance({}, "fix") == 0.5
    assert [s.kind for s in rank([schedule, fix], {})] in (["schedule", "fix"], ["fix", "schedule"])
    learnt = {"accepted_fix": 6, "dismissed_schedule": 6}
    assert acceptance(learnt, "fix") == 7 / 8
    assert acceptance(learnt, "schedule") == 1 / 8
    assert [s.kind for s in rank([schedule, fix], learnt)] == ["fix", "schedule"]
