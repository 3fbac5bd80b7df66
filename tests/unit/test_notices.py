"""What a notification says about a run, and who hears it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from proactive.agents.runtimes import RunContext
from proactive.agents.runtimes.builtin import BuiltinRuntime
from proactive.notifications import targets, wording

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def run(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "run-1",
        "workspace_id": "ws-1",
        "agent_id": "agent-1",
        "source_type": "schedule",
        "source_id": "sched-1",
        "source_name": "Daily Report",
        "status": "succeeded",
        "attempts": 2,
        "task": "Generate the daily report",
        "started_at": "2026-03-01T11:59:00.000000Z",
        "finished_at": "2026-03-01T11:59:42.500000Z",
        "output": "Revenue up 4%.",
        "error": None,
        "reason": None,
        "usage": {
            "requests": 3,
            "input_tokens": 1200,
            "output_tokens": 300,
            "tool_calls": 2,
            "cost_usd": 0.0123,
        },
        **overrides,
    }


def test_a_success_says_where_it_came_from_how_long_it_took_and_what_it_cost() -> None:
    notice = wording.for_run(run(), "succeeded", NOW, agent_name="reporter")
    assert notice.title == "Run succeeded: Daily Report"
    assert notice.outcome == "success"
    assert notice.body == "Revenue up 4%."
    assert notice.summary == "schedule Daily Report (sched-1) finished in 42.5 s after 2 attempts."
    assert dict(notice.fields) == {
        "Source": "schedule Daily Report (sched-1)",
        "Agent": "reporter",
        "Status": "succeeded",
        "Duration": "42.5 s",
        "Usage": "3 requests, 1,500 tokens, 2 tool calls, $0.0123",
        "Attempts": "2",
    }
    assert notice.ref == "run-1"


def test_a_failure_carries_the_error_and_a_manual_run_is_named_by_its_agent() -> None:
    failed = run(
        source_type="manual",
        source_id="alice",
        source_name=None,
        status="failed",
        output=None,
        error="HTTP 500 from the agent",
        reason="gave up after 3 attempts",
        usage=None,
    )
    notice = wording.for_run(failed, "failed", NOW, agent_name="deploy-checker")
    assert notice.title == "Run failed: deploy-checker"
    assert notice.summary == "manual run by alice failed: gave up after 3 attempts"
    assert notice.body == "HTTP 500 from the agent"
    assert "Usage" not in dict(notice.fields)


def test_long_runs_are_timed_in_minutes() -> None:
    notice = wording.for_run(run(finished_at="2026-03-01T12:09:00.000000Z"), "succeeded", NOW)
    assert dict(notice.fields)["Duration"] == "10.0 min"


def test_the_plan_joins_source_agent_and_workspace_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    class Workspaces:
        def get(self, workspace_id: str) -> dict[str, Any]:
            return {"default_channels": ["chan-default", "chan-a"]}

    class Store:
        workspaces = Workspaces()

    plan = targets.plan(
        Store(),  # type: ignore[arg-type]
        {**run(), "source_notify": {"channels": ["chan-a"], "on": ["start"]}},
        {"notify": {"channels": ["chan-b"], "on": ["success", "failure"]}},
    )
    assert plan == [
        {"channel_id": "chan-a", "on": ["failure", "start"]},
        {"channel_id": "chan-b", "on": ["failure", "success"]},
        {"channel_id": "chan-default", "on": ["failure"]},
    ]
    assert targets.wants(plan, "failure") == ["chan-a", "chan-b", "chan-default"]
    assert targets.wants(plan, "start") == ["chan-a"]
    assert targets.wants(None, "failure") == []


def test_the_builtin_agent_reports_what_the_digest_says_needs_attention() -> None:
    digest = "\n".join(
        [
            "Workspace ws-1 since 2026-03-01T11:00:00.000000Z:",
            "- Runs: 4 (3 succeeded, 1 failed); by source: schedule 4",
            "- Failed: run-9 (schedule Daily Report): HTTP 500",
            "- Failing monitor: Stock (mon-1): HTTP 503 from 127.0.0.1",
            "- Coming up: Daily Report at 2026-03-02T09:00:00.000000Z",
        ]
    )
    context = RunContext(
        run_id="run-1", source_type="autonomous", source_id="ws-1", attempt=1, payload={"digest": digest}
    )
    result = BuiltinRuntime().execute({"name": "reviewer"}, "Review the workspace", context)
    assert result.output.splitlines() == [
        "Builtin agent 'reviewer' reviewed the workspace: 2 items need attention.",
        "- Failed: run-9 (schedule Daily Report): HTTP 500",
        "- Failing monitor: Stock (mon-1): HTTP 503 from 127.0.0.1",
        "- Runs: 4 (3 succeeded, 1 failed); by source: schedule 4",
        "- Coming up: Daily Report at 2026-03-02T09:00:00.000000Z",
    ]
