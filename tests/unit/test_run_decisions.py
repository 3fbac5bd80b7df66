"""Decisions a run's attempt and a conversation's turn take from values alone: when to try again,
why not, which schedule slot an occurrence takes, and the records a turn starts with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from proactive.clock import iso
from proactive.conversations import turns
from proactive.errors import AgentError
from proactive.models.runs import RunRecord
from proactive.runs import slots
from proactive.runs.attempts import give_up_reason, retry_delay

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _run(**fields: Any) -> RunRecord:
    base = {"id": "run_1", "workspace_id": "ws_1", "agent_id": "agent_1", "source_type": "schedule"}
    return RunRecord.model_validate({**base, "status": "queued", "created_at": NOW, "task": "t", **fields})


def test_a_retry_after_is_followed_within_the_cap() -> None:
    assert retry_delay(AgentError("busy", retry_after=12.5), 3, base_seconds=10, cap_seconds=900) == 12.5
    assert retry_delay(AgentError("busy", retry_after=5_000), 1, base_seconds=10, cap_seconds=900) == 900.0
    assert retry_delay(AgentError("busy", retry_after=-3), 1, base_seconds=10, cap_seconds=900) == 0.0


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 10), (2, 20), (4, 80), (9, 900)])
def test_back_off_doubles_with_each_attempt_up_to_the_cap(attempts: int, ceiling: float) -> None:
    delays = [retry_delay(AgentError("5xx"), attempts, base_seconds=10, cap_seconds=900) for _ in range(200)]

    # Full jitter: anywhere from nothing to the ceiling, and spread over it
    assert all(0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2


def test_the_reason_a_failed_run_is_not_tried_again() -> None:
    assert give_up_reason(AgentError("5xx", retryable=True), 3) == "gave up after 3 attempt(s)"
    assert give_up_reason(AgentError("401", retryable=False), 1) == "not retried: the failure cannot pass"


def test_only_a_scheduled_occurrence_takes_its_schedule_slot() -> None:
    assert slots.occurrence_slot(_run(source_id="sch_1")) == (None, False)
    assert slots.occurrence_slot(_run(source_id="sch_1", occurrence_key="k")) == ("sch_1", True)
    assert slots.occurrence_slot(_run(source_id="sch_1", occurrence_key="k", overlap="allow")) == (
        "sch_1",
        False,
    )


def test_a_turn_starts_with_the_users_message_and_a_run_of_the_agent() -> None:
    conversation = {
        "id": "conv_1",
        "workspace_id": "ws_1",
        "agent_id": "agent_1",
        "title": None,
        "pattern_type": "deep_research",
        "notify": {"on": ["finish"]},
    }

    message = turns.user_message("conv_1", "run_1", "What changed?", NOW)
    run = turns.turn_run("conv_1", conversation, "run_1", "What changed?", NOW)

    assert message == {
        "id": turns.user_message_id("run_1"),
        "conversation_id": "conv_1",
        "role": "user",
        "content": "What changed?",
        "created_at": iso(NOW),
        "run_id": "run_1",
        "status": "complete",
    }
    assert run.id == "run_1"
    assert (run.workspace_id, run.agent_id, run.task) == ("ws_1", "agent_1", "What changed?")
    assert (run.source_type, run.source_id) == ("conversation", "conv_1")
    # Untitled, the run is named for the conversation's pattern
    assert run.source_name == "deep research"
    assert run.source_notify == {"on": ["finish"]}
    assert run.status == "queued"


def test_a_turn_of_a_titled_conversation_without_notify_settings() -> None:
    conversation = {"workspace_id": "ws_1", "agent_id": "agent_1", "title": "Ops", "pattern_type": "chatbot"}

    run = turns.turn_run("conv_1", conversation, "run_1", "hi", NOW)

    assert run.source_name == "Ops"
    assert "source_notify" not in run.as_stored()
