"""The runs pages in a real browser against the local stack: a schedule's run appears without a
reload and its page shows the waterfall; a failed run is replayed from its page and the two link
to each other; runs waiting for their agent are cancelled together."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fakes import Accepted, AgentService
from tests.fakes.agent_service import bad_request, unavailable

pytestmark = pytest.mark.e2e


@pytest.fixture
def service() -> Iterator[AgentService]:
    with AgentService() as s:
        yield s


def _until(
    console: Any, run_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    """The run as the API shows it once `done(run)`."""
    deadline = time.monotonic() + timeout
    while True:
        run = console.api.get(f"/api/runs/{run_id}").json()
        if done(run):
            return dict(run)
        assert time.monotonic() < deadline, f"the run did not get there: {run}"
        time.sleep(0.2)


def _agent(console: Any, name: str, runtime: str = "builtin", **config: Any) -> str:
    made = console.api.post(
        "/api/agents",
        json={"workspace_id": console.workspace, "name": name, "runtime": runtime, "config": config},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _no_violations(console: Any) -> None:
    assert console.accessibility_violations() == []


def test_a_schedule_s_run_appears_without_a_reload_and_shows_its_waterfall(console: Any) -> None:
    agent = _agent(console, "digest-agent")
    page = console.open("runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(page.locator("#runs-rows[data-live-mode=stream]")).to_have_count(1)
    address = page.url
    # A mark a reload would wipe out.
    page.evaluate("() => { window.stillTheSamePage = true; }")

    schedule = console.api.post(
        "/api/proactive/schedules",
        json={
            "workspace_id": console.workspace,
            "name": "morning-digest",
            "agent_id": agent,
            "task_description": "Summarise what happened overnight.",
            "cron_expression": "0 6 * * *",
        },
    )
    assert schedule.status_code == 201, schedule.text
    # Due now rather than at its next cron time, so the test does not wait for a minute to turn.
    run = console.api.post(f"/api/proactive/schedules/{schedule.json()['id']}/run")
    assert run.status_code == 202, run.text
    run_id = run.json()["id"]

    row = page.locator(f"#run-{run_id}")
    expect(row).to_be_visible()
    expect(row.locator(".status")).to_have_text("succeeded")
    expect(row).to_contain_text("digest-agent")
    expect(row.get_by_role("link", name=schedule.json()["id"])).to_be_visible()
    assert page.url == address
    assert page.evaluate("() => window.stillTheSamePage === true")
    _no_violations(console)

    row.get_by_role("link", name=run_id).click()
    page.wait_for_url(f"**/runs/{run_id}")
    expect(page.locator("figure.waterfall svg")).to_be_visible()
    expect(page.locator("figure.waterfall .wf-attempt")).to_have_count(1)
    expect(page.get_by_role("link", name=schedule.json()["id"])).to_have_attribute(
        "href", f"/console/{console.workspace}/schedules?id={schedule.json()['id']}"
    )
    _no_violations(console)


def test_a_failed_run_is_replayed_and_waiting_runs_are_cancelled_together(
    console: Any, service: AgentService
) -> None:
    page = console.page
    # A run that fails after a retry: several steps for its waterfall.
    flaky = _agent(console, "billing-agent", "http", url=service.url)
    service.script(unavailable(retry_after=1), bad_request("the invoice number is missing"))
    failed = console.api.post(
        "/api/runs", json={"workspace_id": console.workspace, "agent_id": flaky, "task": "Reconcile invoices"}
    ).json()["id"]
    _until(console, failed, lambda r: r["status"] == "failed")

    console.open(f"runs/{failed}")
    expect(page.locator(".run-error-box")).to_contain_text("the invoice number is missing")
    expect(page.locator("figure.waterfall .wf-attempt")).to_have_count(2)
    expect(page.locator("figure.waterfall .wf-retry")).to_have_count(1)
    _no_violations(console)
    console.screenshot("run")

    # Replay it (the agent answers this time): the new run's page links back, and back again.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Replay").click()
    page.wait_for_url(lambda url: "/runs/" in url and failed not in url)
    replay = page.url.rsplit("/", 1)[1]
    original = page.locator("#replay-of").get_by_role("link", name=failed)
    expect(original).to_be_visible()
    _until(console, replay, lambda r: r["status"] == "succeeded")
    original.click()
    page.wait_for_url(f"**/runs/{failed}")
    expect(page.locator("#replays").get_by_role("link", name=replay)).to_be_visible()

    # Three runs whose agent will call back later: cancelled together from the list.
    waiting_agent = _agent(console, "research-agent", "http", url=service.url, mode="callback")
    service.script(Accepted(), Accepted(), Accepted())
    waiting = [
        console.api.post(
            "/api/runs",
            json={
                "workspace_id": console.workspace,
                "agent_id": waiting_agent,
                "task": f"Research topic {n}",
            },
        ).json()["id"]
        for n in range(3)
    ]
    for run_id in waiting:
        _until(console, run_id, lambda r: r.get("waiting_for") == "callback")

    console.open("runs")
    for run_id in waiting:
        expect(page.locator(f"#run-{run_id} .status")).to_have_text("running")
        page.get_by_label(f"Select run {run_id}").check()
    expect(page.locator("[data-selection-count]")).to_have_text("3 selected")
    _no_violations(console)
    console.screenshot("runs")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel selected").click()
    expect(page.locator(".bulk-summary")).to_have_text("3 of 3 runs cancelled.")
    _no_violations(console)
    for run_id in waiting:
        assert console.api.get(f"/api/runs/{run_id}").json()["status"] == "cancelled"

    page.get_by_role("link", name="Back to the runs").click()
    for run_id in waiting:
        expect(page.locator(f"#run-{run_id} .status")).to_have_text("cancelled")
