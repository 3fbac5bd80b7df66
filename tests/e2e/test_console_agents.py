"""Agents in a real browser: create an llm agent through the form (a refused field first), edit
it, run it now and open the run's link, delete it after confirming; the pages pass the
accessibility check."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fakes import OpenAIChatServer, say

pytestmark = pytest.mark.e2e


def test_create_edit_run_and_delete_an_agent_through_the_forms(console: Any) -> None:
    with OpenAIChatServer(default=say("All quiet.")) as model:
        page = console.open("agents")
        expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()
        page.get_by_role("link", name="New LLM agent").click()
        page.wait_for_url("**/agents/new?runtime=llm")
        page.get_by_label("Name", exact=True).fill("night-watch")
        page.get_by_label("Model", exact=True).fill("gpt-4o-mini")
        page.get_by_label("Base URL").fill(model.api_base)
        # A key where the secret's name belongs: the API refuses it, next to the field.
        page.get_by_label("API key secret").fill("sk-" + "x" * 40)
        page.get_by_label("System prompt").fill("Report anything unusual.")
        page.get_by_label("recent_runs").check()
        page.get_by_role("button", name="Create agent").click()
        field_error = page.locator("#f-api_key_secret-error")
        expect(field_error).to_contain_text("looks like an API key itself")
        expect(page.get_by_label("API key secret")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Name", exact=True)).to_have_value("night-watch")
        assert console.accessibility_violations() == []
        console.screenshot("agent-form")

        page.get_by_label("API key secret").fill("")
        page.get_by_role("button", name="Create agent").click()
        expect(page.get_by_role("heading", name="night-watch", level=1)).to_be_visible()
        expect(page.locator("pre.prompt")).to_have_text("Report anything unusual.")

        # Edit: another model.
        page.get_by_role("link", name="Edit").click()
        expect(page.get_by_label("Model", exact=True)).to_have_value("gpt-4o-mini")
        expect(page.get_by_label("recent_runs")).to_be_checked()
        page.get_by_label("Model", exact=True).fill("gpt-4.1-mini")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_role("heading", name="night-watch", level=1)).to_be_visible()
        expect(page.locator("dl.facts")).to_contain_text("gpt-4.1-mini")

        # Run now: the page links to the new run, which shows in its recent runs.
        page.get_by_label("Task").fill("Check the night's runs")
        page.get_by_role("button", name="Run now").click()
        link = page.get_by_role("link", name="Open the run")
        expect(link).to_be_visible()
        run_id = (link.get_attribute("href") or "").rsplit("/", 1)[1]
        assert run_id.startswith("run")
        expect(page.locator(f"#run-{run_id}")).to_contain_text("Check the night's runs")
        assert console.api.get(f"/api/runs/{run_id}").json()["agent_id"]
        assert console.accessibility_violations() == []
        console.screenshot("agent")

        page = console.open("agents")
        expect(page.get_by_role("link", name="night-watch")).to_be_visible()
        assert console.accessibility_violations() == []
        console.screenshot("agents")

        # Delete, after confirming.
        page.get_by_role("link", name="night-watch").click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete agent").click()
        page.wait_for_url("**/agents")
        expect(page.get_by_role("link", name="night-watch")).to_have_count(0)
