"""The suggestions page: ranked open suggestions with their numbers, evidence, back-test and the
exact request accepting makes; accept (with a field the suggestion needs), dismiss and snooze
through the API's own routes; what accepting made, linked; other workspaces' suggestions kept
apart; a stored suggestion that no longer reads does not break the list."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import utcnow
from proactive.ids import new_id
from proactive.models.suggestions import Evidence, SuggestedRequest, SuggestionRecord
from tests.integration.conftest import Aws, make_agent, token

BASE = "http://127.0.0.1:8000"
WS = "ws-1"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """The console signed in with a token for ws-1 and ws-2."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        page = c.get("/console/login")
        signed = c.post("/console/login", data={"csrf": csrf_of(page.text), "token": token(WS, "ws-2")})
        assert signed.status_code == 303, signed.text
        yield c


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def suggest(
    aws: Aws,
    *,
    workspace: str = WS,
    kind: str = "schedule",
    title: str = "Run report-agent every weekday at 09:05",
    score: float = 0.8,
    request: SuggestedRequest | None = None,
) -> str:
    now = utcnow()
    if request is None:
        body = {
            "workspace_id": workspace,
            "name": "weekday report",
            "agent_id": make_agent(aws.store, workspace),
            "task_description": "Write the daily report",
            "cron_expression": "5 9 * * 1-5",
            "timezone": "America/New_York",
        }
        request = SuggestedRequest(method="POST", path="/api/proactive/schedules", body=body)
    record = SuggestionRecord(
        id=new_id("sug"),
        workspace_id=workspace,
        kind=kind,  # type: ignore[arg-type]
        fingerprint=new_id("fp"),
        title=title,
        why="report-agent was run by hand on 24 weekdays around 09:05 New York time.",
        subject="agent:report-agent",
        evidence=Evidence(runs=[f"run-{i}" for i in range(7)], count=24),
        backtest={"precision": 0.92, "recall": 0.88, "weeks": 5},
        confidence=0.9,
        impact=21.0,
        score=score,
        request=request,
        last_seen_at=now,
        created_at=now,
        updated_at=now,
    )
    aws.store.suggestions.put(record)
    return record.id


def shown(c: TestClient, suggestion_id: str) -> dict[str, Any]:
    answer = c.get(
        f"/api/proactive/suggestions/{suggestion_id}",
        headers={"Authorization": f"Bearer {token(WS, 'ws-2')}"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_open_suggestions_are_listed_ranked_with_their_evidence_and_request(
    browser: TestClient, aws: Aws
) -> None:
    low = suggest(aws, title="A weak routine", score=0.1)
    high = suggest(aws, title="A strong routine", score=0.9)
    page = browser.get(f"/console/{WS}/suggestions")
    assert page.status_code == 200, page.text
    text = page.text
    assert text.index("A strong routine") < text.index("A weak routine")
    assert "Confidence <strong>90%</strong>" in text
    assert "About <strong>21.00</strong> occurrences a month" in text
    assert f'href="/console/{WS}/runs/run-0"' in text
    assert "precision" in text
    assert "0.92" in text
    # The exact request accepting makes, as JSON.
    block = re.search(rf'<pre id="request-{high}" tabindex="0">(.*?)</pre>', text, re.S)
    assert block is not None
    request = json.loads(unescape(block.group(1)))
    assert request["method"] == "POST"
    assert request["path"] == "/api/proactive/schedules"
    assert request["body"]["cron_expression"] == "5 9 * * 1-5"
    for action in ("accept", "snooze", "dismiss"):
        assert f'action="/console/{WS}/suggestions/{low}/{action}"' in text
    assert '<option value="7d">a week</option>' in text
    # Filters in the address.
    assert "A strong routine" not in browser.get(f"/console/{WS}/suggestions?kind=monitor").text
    assert "A strong routine" in browser.get(f"/console/{WS}/suggestions?status=any&kind=schedule").text
    bad = browser.get(f"/console/{WS}/suggestions?status=maybe")
    assert bad.status_code == 422
    assert "status must be one of" in bad.text


def test_accepting_creates_the_request_and_links_to_what_it_made(browser: TestClient, aws: Aws) -> None:
    suggestion_id = suggest(aws)
    csrf = csrf_of(browser.get(f"/console/{WS}/suggestions").text)
    refused = browser.post(f"/console/{WS}/suggestions/{suggestion_id}/accept")
    assert refused.status_code == 403
    assert shown(browser, suggestion_id)["status"] == "open"

    answer = browser.post(f"/console/{WS}/suggestions/{suggestion_id}/accept", data={"csrf": csrf})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/{WS}/suggestions/{suggestion_id}"
    accepted = shown(browser, suggestion_id)
    assert accepted["status"] == "accepted"
    schedule_id = accepted["resource"]["id"]
    page = browser.get(answer.headers["location"])
    assert page.status_code == 200
    assert f'href="/console/{WS}/schedules/{schedule_id}"' in page.text
    assert "What accepting made" in page.text
    # Accepted: no more buttons, and it is no longer open.
    assert f"/suggestions/{suggestion_id}/accept" not in page.text
    assert "Run report-agent" not in browser.get(f"/console/{WS}/suggestions").text
    assert "Run report-agent" in browser.get(f"/console/{WS}/suggestions?status=accepted").text


def test_a_field_the_suggestion_needs_is_asked_for_and_a_refusal_shown_on_the_page(
    browser: TestClient, aws: Aws
) -> None:
    needs = SuggestedRequest(
        method="PUT",
        path="/api/secrets/SLACK_TOKEN",
        body={"workspace_id": WS, "value": None},
        needs=["value"],
    )
    suggestion_id = suggest(aws, kind="fix", title="Set the secret 'SLACK_TOKEN'", request=needs)
    page = browser.get(f"/console/{WS}/suggestions/{suggestion_id}")
    assert 'name="override.value" type="password"' in page.text
    csrf = csrf_of(page.text)
    refused = browser.post(
        f"/console/{WS}/suggestions/{suggestion_id}/accept", data={"csrf": csrf, "override.value": ""}
    )
    assert refused.status_code == 422
    assert "Not accepted: accepting this suggestion needs value" in refused.text
    assert shown(browser, suggestion_id)["status"] == "open"

    answer = browser.post(
        f"/console/{WS}/suggestions/{suggestion_id}/accept", data={"csrf": csrf, "override.value": "xoxb-1"}
    )
    assert answer.status_code == 303, answer.text
    page = browser.get(answer.headers["location"])
    assert "/api/secrets/SLACK_TOKEN" in page.text
    assert "xoxb-1" not in page.text


def test_dismiss_and_snooze(browser: TestClient, aws: Aws) -> None:
    dismissed = suggest(aws, title="Not wanted")
    snoozed = suggest(aws, title="Later")
    csrf = csrf_of(browser.get(f"/console/{WS}/suggestions").text)
    assert (
        browser.post(f"/console/{WS}/suggestions/{dismissed}/dismiss", data={"reason": "no"}).status_code
        == 403
    )

    answer = browser.post(
        f"/console/{WS}/suggestions/{dismissed}/dismiss", data={"csrf": csrf, "reason": "we run it by hand"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/{WS}/suggestions"
    after = shown(browser, dismissed)
    assert (after["status"], after["dismissed_reason"]) == ("dismissed", "we run it by hand")

    bad = browser.post(f"/console/{WS}/suggestions/{snoozed}/snooze", data={"csrf": csrf, "for": "forever"})
    assert bad.status_code == 422
    assert "snooze for one of" in bad.text
    answer = browser.post(f"/console/{WS}/suggestions/{snoozed}/snooze", data={"csrf": csrf, "for": "7d"})
    assert answer.status_code == 303
    after = shown(browser, snoozed)
    assert after["status"] == "snoozed"
    until = after["snoozed_until"]
    assert (utcnow() + timedelta(days=6)).isoformat() < until.replace("Z", "+00:00")

    listed = browser.get(f"/console/{WS}/suggestions").text
    assert "Not wanted" not in listed
    assert "Later" not in listed
    assert "Snoozed until" in browser.get(f"/console/{WS}/suggestions?status=snoozed").text
    # Dismissed: it cannot be accepted any more; the API says so.
    conflict = browser.post(f"/console/{WS}/suggestions/{dismissed}/accept", data={"csrf": csrf})
    assert conflict.status_code == 409
    assert "dismissed" in conflict.text


def test_another_workspaces_suggestion_answers_404(browser: TestClient, aws: Aws) -> None:
    theirs = suggest(aws, workspace="ws-2", title="Their routine")
    assert "Their routine" not in browser.get(f"/console/{WS}/suggestions").text
    assert browser.get(f"/console/{WS}/suggestions/{theirs}").status_code == 404
    csrf = csrf_of(browser.get(f"/console/{WS}/suggestions").text)
    for action in ("accept", "dismiss"):
        answer = browser.post(f"/console/{WS}/suggestions/{theirs}/{action}", data={"csrf": csrf})
        assert answer.status_code == 404
    assert shown(browser, theirs)["status"] == "open"
    assert browser.get(f"/console/ws-2/suggestions/{theirs}").status_code == 200


def test_a_stored_suggestion_that_no_longer_reads_is_left_out(browser: TestClient, aws: Aws) -> None:
    suggest(aws, title="A good one")
    now = utcnow().isoformat()
    aws.store.suggestions.put({"id": "sug-broken", "workspace_id": WS, "created_at": now, "title": "Broken"})
    page = browser.get(f"/console/{WS}/suggestions")
    assert page.status_code == 200, page.text
    assert "A good one" in page.text
    assert "Broken" not in page.text


def test_looking_again_mines_the_history(browser: TestClient) -> None:
    csrf = csrf_of(browser.get(f"/console/{WS}/suggestions").text)
    assert browser.post(f"/console/{WS}/suggestions/refresh").status_code == 403
    answer = browser.post(f"/console/{WS}/suggestions/refresh", data={"csrf": csrf})
    assert answer.status_code == 303
    page = browser.get(answer.headers["location"])
    assert "Looked again: 0 patterns, 0 open." in page.text
    assert "last read" in page.text


def test_an_agent_the_suggestion_needs_is_chosen_from_the_workspaces_agents(
    browser: TestClient, aws: Aws
) -> None:
    agent_id = make_agent(aws.store, WS, name="ops")
    body = {
        "name": "queue_depth > 63",
        "workspace_id": WS,
        "agent_id": None,
        "source": {"type": "series", "metric_name": "queue_depth", "aggregation": "max"},
        "condition": "value > 63",
        "action": "queue_depth is {value}: find out why",
        "check_interval": 300,
    }
    needs = SuggestedRequest(method="POST", path="/api/proactive/monitors", body=body, needs=["agent_id"])
    suggestion_id = suggest(aws, kind="monitor", title="Watch queue_depth", request=needs)
    page = browser.get(f"/console/{WS}/suggestions")
    assert f'<select id="need-{suggestion_id}-agent_id" name="override.agent_id" required>' in page.text
    assert f'<option value="{agent_id}">ops</option>' in page.text
    answer = browser.post(
        f"/console/{WS}/suggestions/{suggestion_id}/accept",
        data={"csrf": csrf_of(page.text), "override.agent_id": agent_id},
    )
    assert answer.status_code == 303, answer.text
    made = shown(browser, suggestion_id)["resource"]
    assert made["agent_id"] == agent_id
    assert f'href="/console/{WS}/monitors/{made["id"]}"' in browser.get(answer.headers["location"]).text


def test_what_a_suggestion_made_links_to_its_console_page() -> None:
    from proactive.console.routes_suggestions import console_page
    from proactive.console.web import Viewer

    viewer = Viewer(session=None, workspace=WS)  # type: ignore[arg-type]
    assert console_page(viewer, "/api/proactive/schedules/sch-1") == f"/console/{WS}/schedules/sch-1"
    assert console_page(viewer, "/api/proactive/triggers/trg-1") == f"/console/{WS}/webhooks#trigger-trg-1"
    assert console_page(viewer, "/api/agents/agent-1") == f"/console/{WS}/agents/agent-1"
    assert console_page(viewer, "/api/secrets/SLACK_TOKEN") is None
    assert console_page(viewer, None) is None
