"""A candidate: what mining proposes for one pattern, before it meets the suggestions already made."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proactive.ids import derived_id
from proactive.models.suggestions import Evidence, SuggestedRequest, SuggestionKind

# A pattern's evidence lists at most this many ids of each kind (the newest).
MAX_EVIDENCE = 50


def pattern_id(workspace_id: str, key: str) -> str:
    """A pattern's id, the same at every mining that finds it."""
    return "pat_" + hashlib.sha256(f"{workspace_id}#{key}".encode()).hexdigest()[:16]


def pattern(
    pid: str, kind: str, subject: str, description: str, statistics: Mapping[str, Any], evidence: Evidence
) -> dict[str, Any]:
    """A pattern as `GET /api/proactive/patterns` shows it (`models.suggestions.Pattern`)."""
    return {
        "id": pid,
        "kind": kind,
        "subject": subject,
        "description": description,
        "statistics": dict(statistics),
        "evidence": evidence.model_dump(),
    }


@dataclass(frozen=True)
class Candidate:
    workspace_id: str
    kind: SuggestionKind
    # The pattern's identity (kind, subject and shape): the suggestion's id derives from it.
    fingerprint: str
    subject: str
    title: str
    why: str
    evidence: Evidence
    confidence: float
    impact: float
    request: SuggestedRequest
    pattern_id: str
    backtest: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return derived_id("sug", f"{self.workspace_id}#{self.fingerprint}")
