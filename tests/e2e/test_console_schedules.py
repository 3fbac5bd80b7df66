"""The schedules pages in a real browser: the form checks the cron as it is typed and previews
its next fires, creates the schedule, and the list pauses, resumes and runs it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect


def test_make_a_schedule_then_pause_resume_and_run_it(console: Any) -> None:
    agent = console.api.post("/api/agents", json={"workspace_id": console.workspace, "name": "report-agent"})
    assert agent.status_code == 201, agent.text
    page = console.open("schedules/new")
    page.get_by_label("Name").fill("Morning report")
    page.get_by_label("Agent").select_option(agent.json()["id"])
    page.get_by_label("Task").fill("Summarise yesterday's sales")

    # A cron the API refuses is said beside the field as it is typed
    cron = page.get_by_label("Cron expression")
    cron.fill("0 9 * *")
    expect(page.locator("#cron_expression-error")).to_contain_text("has 4 fields; expected 5")
    expect(cron).to_have_attribute("aria-invalid", "true")

    # A good one is put in words, with its next five fires in its zone and in the viewer's
    cron.fill("0 9 * * 1-5")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("At 09:00, Monday through Friday")
    expect(preview.locator("tbody tr")).to_have_count(5)
    expect(page.locator("#cron_expression-error")).to_be_hidden()
    page.get_by_label("Time zone").fill("Mars/Olympus")
    expect(page.locator("#timezone-error")).to_contain_text("unknown time zone")
    page.get_by_label("Time zone").fill("Europe/Paris")
    expect(preview).to_contain_text("in Europe/Paris")
    expect(preview.locator("tbody tr").first).to_contain_text("CE")  # CET or CEST
    assert console.accessibility_violations() == []
    console.screenshot("schedule-form")

    # Created, it is listed with its next fires
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_text("Schedule created.")).to_be_visible()
    made = console.api.get("/api/proactive/schedules", params={"workspace_id": console.workspace}).json()
    schedule = made["items"][0]
    row = page.locator(f"#schedule-{schedule['id']}")
    expect(row).to_contain_text("At 09:00, Monday through Friday")
    expect(row.locator("ol.fires li")).to_have_count(5)
    expect(row.locator("time").first).to_have_attribute("data-local", "1")
    assert console.accessibility_violations() == []
    console.screenshot("schedules")

    # Paused, then resumed
    row.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Schedule paused.")).to_be_visible()
    expect(row.locator(".status")).to_have_text("paused")
    row.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("Schedule resumed")).to_be_visible()
    expect(row.locator(".status")).to_have_text("active")

    # Run now links to the new run; the schedule's page shows it among its runs
    row.get_by_role("button", name="Run now").click()
    started = page.get_by_role("status").filter(has_text="Run started")
    expect(started).to_be_visible()
    run_link = started.get_by_role("link")
    run_id = run_link.inner_text()
    assert run_id.startswith("run")
    page.get_by_role("link", name="Morning report").click()
    expect(page.get_by_role("heading", name="Morning report")).to_be_visible()
    expect(page.get_by_role("link", name=run_id)).to_be_visible()
    assert console.accessibility_violations() == []
