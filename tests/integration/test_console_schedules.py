"""The console's schedules pages, and the API's preview of a cron expression in a time zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import Aws, make_agent, token

BASE = "http://127.0.0.1:8000"
PREVIEW = "/api/proactive/schedules/preview"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """A browser signed in to the console with workspace ws-1; `browser.api` is the API as the
    same person (a bearer token)."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        page = c.get("/console/login")
        answer = c.post("/console/login", data={"csrf": csrf(page.text), "token": token("ws-1")})
        assert answer.status_code == 303, answer.text
        yield c


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def bearer(*workspaces: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*workspaces)}"}


def make_schedule(browser: TestClient, aws: Aws, workspace: str = "ws-1", **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Morning report",
        "workspace_id": workspace,
        "agent_id": make_agent(aws.store, workspace),
        "task_description": "Summarise yesterday's sales",
        "cron_expression": "0 9 * * 1-5",
        "timezone": "Europe/Paris",
        **overrides,
    }
    answer = browser.post("/api/proactive/schedules", json=body, headers=bearer(workspace))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# The preview route (the API's, which the CLI uses too).


def preview(browser: TestClient, **params: Any) -> Any:
    return browser.get(PREVIEW, params=params, headers=bearer("ws-1"))


def test_preview_gives_the_cron_in_words_and_its_next_fires(browser: TestClient) -> None:
    answer = preview(
        browser,
        cron_expression=" 0  9 * * 1-5 ",
        timezone="Europe/Paris",
        count=3,
        after="2026-03-26T12:00:00Z",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "cron_expression": "0 9 * * 1-5",
        "timezone": "Europe/Paris",
        "cron_description": "At 09:00, Monday through Friday",
        # Paris moves to summer time on Sunday 29 March 2026: the fires stay at 09:00 on its clock.
        "next_runs": ["2026-03-27T09:00:00+01:00", "2026-03-30T09:00:00+02:00", "2026-03-31T09:00:00+02:00"],
    }
    # A macro, in words; five fires unless asked otherwise; UTC unless a zone is named.
    daily = preview(browser, cron_expression="@daily", after="2026-01-01T00:00:00Z").json()
    assert daily["cron_description"] == "At 00:00"
    assert daily["next_runs"][0] == "2026-01-02T00:00:00+00:00"
    assert len(daily["next_runs"]) == 5


def test_preview_on_a_dst_day_follows_the_zones_clock(browser: TestClient) -> None:
    # New York springs forward at 02:00 on 8 March 2026: 02:30 does not exist that day, and fires
    # once, at the end of the gap (03:00 EDT); the next day it is 02:30 again.
    answer = preview(
        browser,
        cron_expression="30 2 * * *",
        timezone="America/New_York",
        count=3,
        after="2026-03-07T12:00:00Z",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_runs"] == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]
    # Falling back on 1 November 2026, 01:30 happens twice and fires once, at the first.
    answer = preview(
        browser,
        cron_expression="30 1 * * *",
        timezone="America/New_York",
        count=2,
        after="2026-10-31T12:00:00Z",
    )
    assert answer.json()["next_runs"] == ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]


REFUSED = [
    ({"cron_expression": "0 9 * *"}, "cron_expression", "has 4 fields; expected 5"),
    ({"cron_expression": "61 9 * * *"}, "cron_expression", "invalid cron expression"),
    ({"cron_expression": "@sometimes"}, "cron_expression", "unknown cron macro"),
    ({"cron_expression": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ({"cron_expression": "0 9 * * *", "after": "2026-01-01T00:00:00"}, "after", "timezone"),
    ({"cron_expression": "0 9 * * *", "count": 0}, "count", "greater than or equal to 1"),
]


def test_preview_refuses_what_a_schedule_could_not_use(browser: TestClient) -> None:
    for params, field, words in REFUSED:
        answer = preview(browser, **params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["field"] == field, params
        assert words in answer.json()["message"], (params, answer.json())


def test_preview_names_both_fields_when_both_are_wrong_and_needs_a_token(browser: TestClient) -> None:
    answer = preview(browser, cron_expression="every day", timezone="Nowhere/Land")
    assert answer.status_code == 422
    assert [d["field"] for d in answer.json()["details"]] == ["timezone", "cron_expression"]
    assert browser.get(PREVIEW, params={"cron_expression": "0 9 * * *"}).status_code == 401


def test_a_schedule_shows_its_cron_in_words_and_next_fires(browser: TestClient, aws: Aws) -> None:
    made = make_schedule(browser, aws)
    assert made["cron_description"] == "At 09:00, Monday through Friday"
    assert len(made["upcoming"]) == 5
    assert made["upcoming"][0] == made["next_run"]
    shown = browser.get(f"/api/proactive/schedules/{made['id']}", headers=bearer("ws-1")).json()
    assert shown["upcoming"] == made["upcoming"]
    paused = browser.post(f"/api/proactive/schedules/{made['id']}/pause", headers=bearer("ws-1")).json()
    assert paused["upcoming"] == []
    assert paused["cron_description"] == made["cron_description"]


# The pages.


def test_the_list_shows_each_schedule_with_its_timing_and_last_run(browser: TestClient, aws: Aws) -> None:
    made = make_schedule(browser, aws)
    run = browser.post(f"/api/proactive/schedules/{made['id']}/run", headers=bearer("ws-1")).json()
    aws.store.schedules.update(made["id"], {"last_run_id": run["id"]})
    other = make_schedule(browser, aws, name="Nightly sync", cron_expression="@daily", timezone="UTC")
    browser.post(f"/api/proactive/schedules/{other['id']}/pause", headers=bearer("ws-1"))

    page = browser.get("/console/ws-1/schedules")
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    text = page.text
    assert "Morning report" in text
    assert "At 09:00, Monday through Friday" in text
    assert "Europe/Paris" in text
    for fire in made["upcoming"]:
        assert f'datetime="{fire}"' in text
    assert f'href="/console/ws-1/runs/{run["id"]}"' in text
    assert "status-queued" in text
    assert "Nightly sync" in text
    assert "status-paused" in text
    assert "At 00:00" in text
    assert f'action="/console/ws-1/schedules/{other["id"]}/resume"' in text
    assert f'action="/console/ws-1/schedules/{made["id"]}/pause"' in text


def test_the_detail_page_shows_the_schedule_and_its_runs(browser: TestClient, aws: Aws) -> None:
    made = make_schedule(browser, aws, catch_up="all", overlap="allow")
    run = browser.post(f"/api/proactive/schedules/{made['id']}/run", headers=bearer("ws-1")).json()
    page = browser.get(f"/console/ws-1/schedules/{made['id']}")
    assert page.status_code == 200, page.text
    assert "<h1>Morning report</h1>" in page.text
    assert "runs every missed occurrence" in page.text
    assert "runs may overlap" in page.text
    assert "Summarise yesterday&#39;s sales" in page.text
    assert f"/console/ws-1/runs/{run['id']}" in page.text
    assert page.text.count('<time datetime="2') >= 5 + 1


def test_a_malformed_stored_schedule_does_not_break_the_list(browser: TestClient, aws: Aws) -> None:
    made = make_schedule(browser, aws)
    broken = make_schedule(browser, aws, name="Broken")
    aws.store.schedules.update(broken["id"], {"cron_expression": "not a cron"})
    page = browser.get("/console/ws-1/schedules")
    assert page.status_code == 200
    assert made["id"] in page.text
    assert broken["id"] not in page.text


def test_another_workspaces_schedule_is_not_found(browser: TestClient, aws: Aws) -> None:
    theirs = make_schedule(browser, aws, workspace="ws-2")
    page = browser.get(f"/console/ws-1/schedules/{theirs['id']}")
    assert page.status_code == 404
    assert "Not found" in page.text
    form = csrf(browser.get("/console/ws-1/schedules").text)
    answer = browser.post(f"/console/ws-1/schedules/{theirs['id']}/pause", data={"csrf": form})
    assert answer.status_code == 404
    # Nor is a workspace the session does not hold.
    assert browser.get("/console/ws-2/schedules").status_code == 404
    shown = browser.get(f"/api/proactive/schedules/{theirs['id']}", headers=bearer("ws-2")).json()
    assert shown["is_active"] is True


# The form and its live preview.


def test_the_preview_fragment_puts_each_message_beside_its_field(browser: TestClient) -> None:
    fragment = browser.get(
        "/console/ws-1/schedules/preview",
        params={"cron_expression": "0 9 * *", "timezone": "Mars/Olympus"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    cron_error = re.search(r'<p id="cron_expression-error"[^>]*hx-swap-oob="true">([^<]*)</p>', fragment.text)
    zone_error = re.search(r'<p id="timezone-error"[^>]*hx-swap-oob="true">([^<]*)</p>', fragment.text)
    assert cron_error
    assert zone_error
    assert "has 4 fields" in cron_error.group(1)
    assert "unknown time zone" in zone_error.group(1)

    fragment = browser.get(
        "/console/ws-1/schedules/preview",
        params={"cron_expression": "*/15 * * * *", "timezone": "Asia/Tokyo"},
        headers={"HX-Request": "true"},
    )
    assert "Every 15 minutes" in fragment.text
    assert "in Asia/Tokyo" in fragment.text
    assert fragment.text.count("+09:00") >= 5
    assert "JST" in fragment.text
    assert re.search(r'<p id="cron_expression-error"[^>]*></p>', fragment.text)
    # Nothing typed yet: nothing asked, nothing refused.
    empty = browser.get("/console/ws-1/schedules/preview", params={"cron_expression": " "})
    assert "Type a cron expression" in empty.text


def test_the_form_creates_a_schedule(browser: TestClient, aws: Aws) -> None:
    agent = make_agent(aws.store, "ws-1", name="sales-agent")
    form = browser.get("/console/ws-1/schedules/new")
    assert form.status_code == 200
    assert f'<option value="{agent}">sales-agent ({agent})</option>' in form.text
    assert '<option value="Europe/Paris">' in form.text
    answer = browser.post(
        "/console/ws-1/schedules/new",
        data={
            "csrf": csrf(form.text),
            "name": "Weekly digest",
            "agent_id": agent,
            "task_description": "Write the weekly digest",
            "cron_expression": "0 8 * * 1",
            "timezone": "Europe/Berlin",
            "catch_up": "skip",
            "overlap": "skip",
            "is_active": "on",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/console/ws-1/schedules?done=created&created=sched")
    items = browser.get("/api/proactive/schedules", headers=bearer("ws-1")).json()["items"]
    assert [(s["name"], s["timezone"], s["catch_up"], s["is_active"]) for s in items] == [
        ("Weekly digest", "Europe/Berlin", "skip", True)
    ]
    listing = browser.get(answer.headers["location"])
    assert "Schedule created." in listing.text
    assert 'class="created"' in listing.text
    assert "At 08:00, only on Monday" in listing.text


def test_the_form_shows_the_apis_refusals_beside_their_fields(browser: TestClient, aws: Aws) -> None:
    agent = make_agent(aws.store, "ws-1")
    form = browser.get("/console/ws-1/schedules/new")
    fields = {
        "csrf": csrf(form.text),
        "name": "Bad one",
        "agent_id": agent,
        "task_description": "Do it",
        "cron_expression": "0 25 * * *",
        "timezone": "UTC",
        "catch_up": "latest",
        "overlap": "skip",
    }
    answer = browser.post("/console/ws-1/schedules/new", data=fields)
    assert answer.status_code == 422
    error = re.search(r'<p id="cron_expression-error"[^>]*>([^<]+)</p>', answer.text)
    assert error
    assert "invalid cron expression" in error.group(1)
    assert 'value="Bad one"' in answer.text
    assert 'aria-invalid="true"' in answer.text

    answer = browser.post(
        "/console/ws-1/schedules/new", data={**fields, "cron_expression": "0 9 * * *", "name": ""}
    )
    assert answer.status_code == 422
    error = re.search(r'<p id="name-error"[^>]*>([^<]+)</p>', answer.text)
    assert error, answer.text
    answer = browser.post(
        "/console/ws-1/schedules/new",
        data={**fields, "cron_expression": "0 9 * * *", "agent_id": "agent-gone"},
    )
    assert answer.status_code == 422
    assert re.search(r'<p id="agent_id-error"[^>]*>[^<]+</p>', answer.text), answer.text
    assert browser.get("/api/proactive/schedules", headers=bearer("ws-1")).json()["items"] == []


def test_pause_resume_run_now_and_delete(browser: TestClient, aws: Aws) -> None:
    made = make_schedule(browser, aws)
    base = f"/console/ws-1/schedules/{made['id']}"
    token_field = csrf(browser.get("/console/ws-1/schedules").text)

    answer = browser.post(f"{base}/pause", data={"csrf": token_field, "back": "/console/ws-1/schedules"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/ws-1/schedules?done=paused"
    assert "Schedule paused." in browser.get(answer.headers["location"]).text
    shown = browser.get(f"/api/proactive/schedules/{made['id']}", headers=bearer("ws-1")).json()
    assert shown["is_active"] is False

    # htmx sends the token as a header, and is told where to go.
    answer = browser.post(f"{base}/resume", headers={"X-CSRF-Token": token_field, "HX-Request": "true"})
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == f"{base}?done=resumed"
    assert browser.get(f"/api/proactive/schedules/{made['id']}", headers=bearer("ws-1")).json()["is_active"]

    # Back to somewhere else than the schedules: to the schedule's page instead.
    answer = browser.post(f"{base}/run", data={"csrf": token_field, "back": "https://elsewhere.example/"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{base}?started=")
    run_id = answer.headers["location"].split("started=")[1]
    page = browser.get(answer.headers["location"]).text
    assert f'Run started: <a href="/console/ws-1/runs/{run_id}">' in page

    answer = browser.post(f"{base}/delete", data={"csrf": token_field})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/ws-1/schedules?done=deleted"
    assert browser.get(f"/api/proactive/schedules/{made['id']}", headers=bearer("ws-1")).status_code == 404


def test_changes_need_the_pages_csrf_token(browser: TestClient, aws: Aws) -> None:
    made = make_schedule(browser, aws)
    base = f"/console/ws-1/schedules/{made['id']}"
    for action in ("pause", "run", "delete"):
        answer = browser.post(f"{base}/{action}", data={"csrf": "forged"})
        assert answer.status_code == 403, action
    answer = browser.post("/console/ws-1/schedules/new", data={"name": "x", "cron_expression": "0 9 * * *"})
    assert answer.status_code == 403
    shown = browser.get(f"/api/proactive/schedules/{made['id']}", headers=bearer("ws-1")).json()
    assert shown["is_active"] is True
    runs = browser.get(f"/api/proactive/schedules/{made['id']}/runs", headers=bearer("ws-1")).json()["items"]
    assert runs == []
