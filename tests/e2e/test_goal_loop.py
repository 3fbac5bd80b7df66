"""The goal loop's example workflow in the local stack, its state machine executed by moto and its
Tasks bridged to the real handler: CPU rising toward 95% sets a BOTTLENECK_PREVENTION goal with
the predicted breach; the planned action needs approval and the workspace's Slack channel gets
one-click links; approved through its link, the action runs the user's agent with the goal in its
task; CPU falls after it, the impact is measured against the forecast made before the action,
and the action's success rate is updated."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from proactive.clock import iso, parse_iso
from tests.e2e.waiting import eventually
from tests.fakes import AgentService, SlackWebhook
from tests.localstack import Stack

pytestmark = pytest.mark.e2e
WS = "ws-goal-loop"


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    with SlackWebhook() as s:
        yield s


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def cpu_points(start: datetime, minutes: int, low: float, high: float) -> list[dict[str, Any]]:
    return [
        {
            "metric_name": "cpu_usage",
            "value": round(low + (high - low) * i / minutes + (0.3 if i % 2 else -0.3), 2),
            "timestamp": iso(start + timedelta(minutes=i)),
        }
        for i in range(minutes + 1)
    ]


@pytest.mark.long
def test_rising_cpu_to_an_approved_agent_run_to_a_measured_impact(
    stack: Stack, slack: SlackWebhook, service: AgentService
) -> None:
    with stack.client(WS) as c:
        channel = c.post(
            "/api/notifications/channels",
            json={"workspace_id": WS, "name": "ops", "type": "slack", "config": {"webhook_url": slack.url}},
        ).json()
        assert c.put(
            "/api/workspace/settings", json={"workspace_id": WS, "default_channels": [channel["id"]]}
        ).is_success
        agent = c.post(
            "/api/agents",
            json={"workspace_id": WS, "name": "scaler", "runtime": "http", "config": {"url": service.url}},
        ).json()
        service.secret = agent["secret"]
        action = c.post(
            "/api/autonomous/actions",
            json={
                "workspace_id": WS,
                "name": "scale out web tier",
                "goal_types": ["BOTTLENECK_PREVENTION"],
                "kind": "agent",
                "agent_id": agent["id"],
                "task_template": "{title}: {evidence} Add capacity before {predicted_breach_at}.",
                "requires_approval": True,
            },
        )
        assert action.status_code == 201, action.text
        settings = c.put(
            "/api/autonomous/settings",
            json={
                "workspace_id": WS,
                "rules": ["cpu_usage <= 80 horizon_hours=2 severity=high"],
                "impact_window_minutes": 1,
            },
        )
        assert settings.status_code == 200, settings.text

        # Three hours climbing from 55% to 79%: on this course it passes 80% within minutes.
        now = datetime.now(UTC)
        posted = c.post(
            "/api/autonomous/metrics",
            json={"workspace_id": WS, "metrics": cpu_points(now - timedelta(minutes=180), 180, 55, 79)},
        )
        assert posted.status_code == 200, posted.text

        started = c.post("/api/autonomous/analysis/trigger", json={"workspace_id": WS})
        assert started.status_code == 202, started.text
        analysis_id = started.json()["id"]

        # The goal, with the predicted breach and the forecast behind it.
        [goal] = eventually(
            lambda: c.get(f"/api/autonomous/goals?workspace_id={WS}").json()["items"], what="goal"
        )
        assert goal["goal_type"] == "BOTTLENECK_PREVENTION"
        evidence = goal["evidence"]
        assert evidence["trigger"] == "predicted_breach"
        assert now < parse_iso(evidence["breach_at"]) < now + timedelta(hours=2)
        assert evidence["forecast_method"]

        # The plan needs approval: Slack is asked, with one-click links.
        message = eventually(lambda: slack.messages, what="the approval request in Slack")[0]
        text = json.dumps(message)
        assert "Approval needed: scale out web tier" in text
        approve = re.search(r"https?://[^\"]+/approvals/[A-Za-z0-9_.-]+", text)
        assert approve is not None
        links = re.findall(r"https?://[^\"]+/approvals/[A-Za-z0-9_.-]+", text)
        assert len(set(links)) == 2

    # No login: the link alone is enough. Opening it shows the decision; the button takes it.
    with httpx.Client(timeout=30) as anonymous:
        page = anonymous.get(links[0])
        assert page.status_code == 200
        assert "Approve" in page.text
        assert anonymous.post(links[0]).status_code == 200
        assert anonymous.post(links[0]).status_code == 409  # single use

    # The agent is given the goal as its task.
    eventually(lambda: service.runs, what="the agent's run")
    task = service.runs[0]["task"]
    assert task.startswith("Prevent cpu_usage bottleneck: ")
    assert service.runs[0]["source_type"] == "goal"

    with stack.client(WS) as c:
        detail = eventually(
            lambda: (
                (d := c.get(f"/api/autonomous/goals/{goal['id']}").json())["actions"][0].get("acted_at") and d
            ),
            what="the action executed",
        )
        acted = parse_iso(detail["actions"][0]["acted_at"])
        # The agent's work shows: CPU settles around 55% from the action on.
        deadline = acted + timedelta(seconds=62)
        while (moment := datetime.now(UTC)) < deadline:
            point = {
                "metric_name": "cpu_usage",
                "value": 55.0 + (moment.second % 3) * 0.4,
                "timestamp": iso(moment),
            }
            assert c.post("/api/autonomous/metrics", json={"workspace_id": WS, **point}).status_code == 200
            time.sleep(2)

        analysis = eventually(
            lambda: (
                (a := c.get(f"/api/autonomous/analyses/{analysis_id}").json())["status"] != "running" and a
            ),
            timeout=60,
            what="the analysis to finish",
        )
        assert analysis["status"] == "succeeded", analysis
        [record] = c.get(f"/api/autonomous/goals/{goal['id']}").json()["actions"]
        assert record["status"] == "done"
        assert record["approval"]["decision"] == "approved"
        assert record["approval"]["via"] == "link"
        assert record["impact"]["measured"] is True
        assert record["impact"]["improved"] is True
        assert record["impact"]["observed"] < 60 < record["impact"]["expected"]
        assert [e["event"] for e in record["timeline"]] == [
            "planned",
            "approval_requested",
            "approved",
            "executing",
            "executed",
            "measured",
            "learned",
        ]
        stats = c.get(f"/api/autonomous/actions/{action.json()['id']}").json()["statistics"]
        assert (stats["attempts"], stats["successes"]) == (1, 1)
        [learnt] = c.get(f"/api/autonomous/executor/insights?workspace_id={WS}").json()["actions"]
        assert learnt["success_rate"] == 1.0
        assert learnt["mean_impact"] > 0.2
        assert c.get(f"/api/autonomous/goals/{goal['id']}").json()["status"] == "achieved"
