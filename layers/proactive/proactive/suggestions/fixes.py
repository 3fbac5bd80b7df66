"""Agents failing repeatedly the same way, and the fix where one is known (`repeated_failure`):

- a secret its runs need is not set: set it (accepting needs the value, which is never suggested);
- its failed runs used every attempt while its runs that were retried mostly succeeded: allow
  more attempts (two more, at most 10);
- its runs keep failing and nobody is told: make one of the workspace's channels a default
  channel (told of every final failure); without a channel, the pattern alone says so;
- a schedule whose occurrences are mostly skipped because its previous run is still going
  (`overlap: skip`): let its runs overlap.

Decisions only, over a `History` read beforehand.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from proactive.analytics.associations import wilson_lower_bound
from proactive.models.suggestions import Evidence, SuggestedRequest
from proactive.store.entities import field_of
from proactive.suggestions.candidates import MAX_EVIDENCE, Candidate, pattern, pattern_id
from proactive.suggestions.history import History, RunSeen

MIN_FAILURES = 3
DEFAULT_MAX_ATTEMPTS = 3
_MISSING_SECRET = re.compile(r"secret '([^']+)' is not set")
_SKIPPED = "skipped by overlap=skip"

Found = tuple[dict[str, Any], Candidate | None]


def find(history: History) -> list[Found]:
    agents = {str(a["id"]): a for a in history.agents}
    failed: dict[str, list[RunSeen]] = defaultdict(list)
    for run in history.runs:
        if run.status == "failed" and run.agent_id in agents:
            failed[run.agent_id].append(run)
    found: list[Found] = []
    for agent_id, runs in failed.items():
        agent = agents[agent_id]
        found.extend(_missing_secrets(history, agent, runs))
        found.extend(_retries(history, agent, runs))
        found.extend(_untold(history, agent, runs))
    found.extend(_skipped(history))
    return found


def _fix(
    history: History,
    key: str,
    subject: str,
    title: str,
    why: str,
    runs: Sequence[RunSeen],
    statistics: Mapping[str, Any],
    request: SuggestedRequest | None,
    confidence: float,
) -> Found:
    evidence = Evidence(runs=[r.id for r in reversed(runs)][:MAX_EVIDENCE], count=len(runs))
    pid = pattern_id(history.workspace_id, f"failure|{key}")
    found = pattern(pid, "repeated_failure", subject, why, statistics, evidence)
    if request is None:
        return found, None
    days = max(1, (history.until - history.since).days)
    candidate = Candidate(
        workspace_id=history.workspace_id,
        kind="fix",
        fingerprint=f"fix|{key}",
        subject=subject,
        title=title,
        why=why,
        evidence=evidence,
        confidence=confidence,
        impact=len(runs) * 30 / days,
        request=request,
        pattern_id=pid,
        backtest=dict(statistics),
    )
    return found, candidate


def _name(agent: Mapping[str, Any]) -> str:
    return str(agent.get("name") or agent["id"])


def _missing_secrets(history: History, agent: Mapping[str, Any], runs: Sequence[RunSeen]) -> list[Found]:
    by_secret: dict[str, list[RunSeen]] = defaultdict(list)
    for run in runs:
        if match := _MISSING_SECRET.search(run.error or ""):
            by_secret[match.group(1)].append(run)
    found = []
    for secret, missing in by_secret.items():
        if len(missing) < 2:
            continue
        why = f"{len(missing)} runs of {_name(agent)} failed because the secret {secret!r} is not set."
        request = SuggestedRequest(
            method="PUT",
            path=f"/api/secrets/{secret}",
            body={"workspace_id": history.workspace_id, "value": None},
            needs=["value"],
        )
        found.append(
            _fix(
                history,
                f"secret|{agent['id']}|{secret}",
                f"agent:{agent['id']}",
                f"Set the secret {secret!r} that {_name(agent)} needs",
                why,
                missing,
                {"failed_runs": len(missing), "secret": secret},
                request,
                wilson_lower_bound(len(missing), len(runs)),
            )
        )
    return found


def _retries(history: History, agent: Mapping[str, Any], failed: Sequence[RunSeen]) -> list[Found]:
    config = dict(agent.get("config") or {})
    limit = int(config.get("max_attempts") or DEFAULT_MAX_ATTEMPTS)
    exhausted = [r for r in failed if r.attempts >= limit]
    retried = [
        r for r in history.runs if r.agent_id == agent["id"] and r.attempts >= 2 and r.status != "running"
    ]
    saved = [r for r in retried if r.status == "succeeded"]
    if len(exhausted) < MIN_FAILURES or limit >= 10 or len(saved) < 2 or len(saved) * 2 < len(retried):
        return []
    raised = min(10, limit + 2)
    why = (
        f"{len(exhausted)} runs of {_name(agent)} failed after all {limit} attempts, while "
        f"{len(saved)} of its {len(retried)} retried runs succeeded on a later attempt."
    )
    request = SuggestedRequest(
        method="PATCH", path=f"/api/agents/{agent['id']}", body={"config": {**config, "max_attempts": raised}}
    )
    statistics = {
        "exhausted_runs": len(exhausted),
        "retried_runs": len(retried),
        "saved_by_retry": len(saved),
    }
    title = f"Let {_name(agent)} try {raised} times instead of {limit}"
    confidence = wilson_lower_bound(len(saved), len(retried))
    key = f"retries|{agent['id']}|{limit}"
    return [
        _fix(history, key, f"agent:{agent['id']}", title, why, exhausted, statistics, request, confidence)
    ]


def _untold(history: History, agent: Mapping[str, Any], failed: Sequence[RunSeen]) -> list[Found]:
    if len(failed) < MIN_FAILURES or agent.get("notify") or history.settings.get("default_channels"):
        return []
    why = f"{len(failed)} runs of {_name(agent)} failed and no channel was told."
    channels = [c for c in history.channels if field_of(c, "is_active") is not False]
    request = None
    title = f"Tell someone when {_name(agent)} fails"
    if channels:
        channel = channels[0]
        request = SuggestedRequest(
            method="PUT",
            path="/api/workspace/settings",
            body={"workspace_id": history.workspace_id, "default_channels": [str(field_of(channel, "id"))]},
        )
        title = f"Tell {field_of(channel, 'name') or field_of(channel, 'id')} when runs fail"
    else:
        why += " Add a notification channel to be told."
    statistics = {"failed_runs": len(failed), "channels": len(channels)}
    key = f"untold|{agent['id']}"
    confidence = wilson_lower_bound(len(failed), len(failed) + 1)
    return [_fix(history, key, f"agent:{agent['id']}", title, why, failed, statistics, request, confidence)]


def _skipped(history: History) -> list[Found]:
    runs: dict[str, list[RunSeen]] = defaultdict(list)
    for run in history.runs:
        if run.source_type == "schedule" and run.source_id:
            runs[run.source_id].append(run)
    schedules = {str(field_of(s, "id")): s for s in history.schedules}
    found = []
    for schedule_id, seen in runs.items():
        skipped = [r for r in seen if _SKIPPED in (r.error or "")]
        schedule = schedules.get(schedule_id)
        if schedule is None or len(skipped) < MIN_FAILURES or len(skipped) * 2 < len(seen):
            continue
        name = field_of(schedule, "name") or schedule_id
        why = (
            f"{len(skipped)} of the last {len(seen)} occurrences of {name} were skipped because "
            "its previous run was still going."
        )
        request = SuggestedRequest(
            method="PATCH", path=f"/api/proactive/schedules/{schedule_id}", body={"overlap": "allow"}
        )
        statistics = dict(Counter({"occurrences": len(seen), "skipped": len(skipped)}))
        confidence = wilson_lower_bound(len(skipped), len(seen))
        key = f"overlap|{schedule_id}"
        title = f"Let the runs of {name} overlap"
        found.append(
            _fix(
                history, key, f"schedule:{schedule_id}", title, why, skipped, statistics, request, confidence
            )
        )
    return found
