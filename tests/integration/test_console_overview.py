"""The console's overview page: run statistics over a window (chart data, figures, per-agent
usage), what fires next, and the goal loop's and suggestions' counts, as the API holds them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import iso, utcnow
from proactive.errors import Conflict
from proactive.models.runs import RunRecord
from tests.integration.conftest import Aws, token

BASE = "http://127.0.0.1:8000"
WS = "ws-1"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """A browser signed in to the console of ws-1 (the API is asked with a bearer token)."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        page = c.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        signed = c.post("/console/login", data={"csrf": csrf.group(1), "token": token(WS)})
        assert signed.status_code == 303, signed.text
        yield c


def _api(browser: TestClient, method: str, path: str, body: Any = None, status: int = 201) -> dict[str, Any]:
    answer = browser.request(method, path, json=body, headers={"Authorization": f"Bearer {token(WS)}"})
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def _finished(
    aws: Aws, agent_id: str, status: str, ago: timedelta, seconds: float | None, **usage: Any
) -> None:
    """A run of `agent_id` that ended `status` `ago`, counted as the platform counts it."""
    at = utcnow() - ago
    run = RunRecord.model_validate(
        {
            "id": f"run_{status}_{at.timestamp()}",
            "workspace_id": WS,
            "agent_id": agent_id,
            "source_type": "manual",
            "status": status,
            "created_at": at,
            "started_at": None if seconds is None else at - timedelta(seconds=seconds),
            "finished_at": at,
            "task": "t",
            "usage": usage or None,
        }
    )
    aws.store.run_stats.record(run)


def _chart(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="runs-chart-data">(.*?)</script>', page, re.S)
    assert found, page
    return dict(json.loads(found.group(1)))


def _agent(browser: TestClient, name: str) -> str:
    return str(_api(browser, "POST", "/api/agents", {"workspace_id": WS, "name": name})["id"])


def test_the_overview_shows_the_runs_of_the_window_and_each_agents_usage(
    aws: Aws, browser: TestClient
) -> None:
    reports = _agent(browser, "report-agent")
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    for n in range(6):  # six in this hour, whatever its minute now
        _finished(
            aws,
            reports,
            "succeeded",
            (now - hour) * n / 6,
            2.0,
            input_tokens=1000,
            output_tokens=200,
            cost_usd=0.25,
        )
    _finished(aws, reports, "failed", timedelta(hours=2), 30.0)
    _finished(aws, "agt_gone", "missed", timedelta(hours=5), None)
    _finished(aws, reports, "succeeded", timedelta(days=3), 1.0)  # only in the week

    page = browser.get("/console/ws-1/")
    assert page.status_code == 200, page.text
    text = page.text
    chart = _chart(text)
    assert chart["window"] == "24h"
    assert len(chart["x"]) == 24
    assert sum(chart["series"]["succeeded"]) == 6
    assert chart["series"]["succeeded"][chart["x"].index(hour.timestamp())] == 6
    assert sum(chart["series"]["failed"]) == 1
    assert sum(chart["series"]["missed"]) == 1
    assert chart["x"] == sorted(chart["x"])
    assert chart["x"][1] - chart["x"][0] == 3600
    # The figures: 8 finished, one failed among seven that ran to an end, durations estimated.
    assert re.search(r'id="figure-total">8<', text)
    assert re.search(r'id="figure-failure-rate">14\.3%<', text)
    assert re.search(r'id="figure-p50">\d\.\d\d s<', text)
    assert (
        'role="img" aria-label="Runs finished, last 24 hours: 6 succeeded, 1 failed, 0 cancelled, 1 missed'
        in text
    )
    # The same figures as a table, for those who cannot see the chart.
    assert text.count('<th scope="col" class="num">Succeeded</th>') == 1
    # Each agent's usage, by name (an agent since deleted by its id).
    usage = text[text.index('id="agent-usage"') :]
    assert "report-agent" in usage
    assert f'href="/console/ws-1/agents/{reports}"' in usage
    assert "6,000" in usage  # input tokens
    assert "$1.50" in usage
    assert "agt_gone" in usage
    assert "(deleted)" in usage

    week = browser.get("/console/ws-1/?window=7d")
    chart = _chart(week.text)
    assert (chart["window"], chart["bucket_seconds"], len(chart["x"])) == ("7d", 6 * 3600, 28)
    assert sum(chart["series"]["succeeded"]) == 7
    assert 'href="?window=7d" class="button primary" aria-current="true"' in week.text


def test_what_fires_next_soonest_first_with_links(browser: TestClient) -> None:
    agent = _agent(browser, "ops-agent")
    _api(
        browser,
        "POST",
        "/api/proactive/schedules",
        {
            "workspace_id": WS,
            "name": "daily report",
            "agent_id": agent,
            "task_description": "Write the daily report",
            "cron_expression": "0 9 * * *",
            "timezone": "Europe/Paris",
        },
    )
    _api(
        browser,
        "POST",
        "/api/proactive/schedules",
        {
            "workspace_id": WS,
            "name": "every minute",
            "agent_id": agent,
            "task_description": "Look around",
            "cron_expression": "* * * * *",
            "timezone": "UTC",
        },
    )
    _api(
        browser,
        "POST",
        "/api/proactive/monitors",
        {
            "workspace_id": WS,
            "name": "queue depth",
            "agent_id": agent,
            "source": {"type": "metric"},
            "condition": "value > 1",
            "action": "Drain the queue",
        },
    )
    paused = _api(
        browser,
        "POST",
        "/api/proactive/schedules",
        {
            "workspace_id": WS,
            "name": "paused one",
            "agent_id": agent,
            "task_description": "Never",
            "cron_expression": "* * * * *",
            "timezone": "UTC",
        },
    )
    _api(browser, "POST", f"/api/proactive/schedules/{paused['id']}/pause", status=200)

    text = browser.get("/console/ws-1/").text
    section = text[text.index('id="next-heading"') : text.index('id="goals-heading"')]
    assert section.index("every minute") < section.index("daily report")
    assert "queue depth" in section
    assert "paused one" not in section
    assert 'href="/console/ws-1/schedules"' in section
    assert 'href="/console/ws-1/monitors"' in section
    assert section.count("<time datetime=") == 3


def _goal(aws: Aws, n: int) -> None:
    now = iso(utcnow())
    aws.store.goals.put(
        {
            "id": f"goal-{n}",
            "workspace_id": WS,
            "goal_type": "THRESHOLD_BREACH_PREVENTION",
            "status": "active",
            "goal": {
                "metric": "cpu",
                "resource": "web",
                "rule": "threshold cpu <= 80",
                "target": {"metric": "cpu", "operator": "<=", "value": 80.5},
                "title": f"Keep cpu under 80 ({n})",
                "description": "cpu climbs",
                "severity": "high",
                "priority": 80,
                "priority_label": "high",
                "evidence": {"trigger": "predicted_breach"},
            },
            "created_at": now,
            "updated_at": now,
        }
    )


def test_goals_approvals_and_suggestions_are_counted_with_the_first_few(
    aws: Aws, browser: TestClient
) -> None:
    for n in range(7):
        _goal(aws, n)
    aws.store.goal_actions.create(
        {
            "id": "goalaction-1",
            "workspace_id": WS,
            "goal_id": "goal-1",
            "analysis_id": "analysis-1",
            "action_id": "act-1",
            "action_name": "scale-out",
            "action_kind": "webhook",
            "status": "awaiting_approval",
            "plan": {},
            "created_at": iso(utcnow()),
            "timeline": [],
        }
    )
    text = browser.get("/console/ws-1/").text
    assert re.search(r'id="count-goals">7<', text)
    goals = text[text.index('id="goals-heading"') : text.index('id="approvals-heading"')]
    assert goals.count("<li>") == 5  # the first few
    assert "Keep cpu under 80" in goals
    approvals = text[text.index('id="approvals-heading"') : text.index('id="suggestions-heading"')]
    assert re.search(r'id="count-approvals">1<', approvals)
    assert "scale-out" in approvals
    assert 'href="/console/ws-1/loop"' in approvals
    suggestions = text[text.index('id="suggestions-heading"') :]
    assert re.search(r'id="count-suggestions">0<', suggestions)
    assert "No open suggestion." in suggestions
    assert 'href="/console/ws-1/suggestions"' in suggestions


def test_an_empty_workspace_says_so_and_the_page_obeys_the_policy(browser: TestClient) -> None:
    page = browser.get("/console/ws-1/")
    assert page.status_code == 200
    text = page.text
    assert "No run finished in this window." in text
    assert "Nothing is scheduled" in text
    assert _chart(text)["series"]["succeeded"] == [0] * 24
    # No inline script, style or handler: only files of the console, and data blocks.
    assert re.findall(r'<script(?![^>]*(?:\bsrc=|type="application/json"))[^>]*>', text) == []
    assert " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)
    assert "/console/static/overview.js?v=" in text
    assert "/console/static/uPlot.min.js?v=" in text
    assert browser.get("/console/static/overview.js").status_code == 200
    assert browser.get("/console/static/overview.css").status_code == 200


def test_bad_window_another_workspace_and_no_session(browser: TestClient) -> None:
    bad = browser.get("/console/ws-1/?window=30d")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("text/html")
    assert "window must be one of 24h, 7d" in bad.text

    assert browser.get("/console/ws-2/").status_code == 404
    browser.cookies.clear()
    assert browser.get("/console/ws-1/?window=7d").headers["location"].startswith("/console/login?next=")


def test_a_part_the_api_refuses_says_so_and_the_rest_is_shown(
    aws: Aws, browser: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proactive.runs import stats

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise Conflict("statistics are being rebuilt")

    monkeypatch.setattr(stats, "summary", refused)
    page = browser.get("/console/ws-1/")
    assert page.status_code == 200
    assert "Run statistics could not be read: statistics are being rebuilt" in page.text
    assert 'id="next-heading"' in page.text


def test_a_malformed_counter_item_does_not_break_the_page(aws: Aws, browser: TestClient) -> None:
    from proactive.store import keys

    _finished(aws, "agt_a", "succeeded", timedelta(minutes=1), 1.0)
    aws.store.table.put({**keys.run_stats_hour(WS, "garbage"), "n_succeeded": "many"})
    page = browser.get("/console/ws-1/")
    assert page.status_code == 200
    assert sum(_chart(page.text)["series"]["succeeded"]) == 1
