"""Signing in to the console in a real browser: a one-time link, the workspace switcher, signing
out, and a page of another workspace."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.browser import sign_in
from tests.localstack import Stack


def test_sign_in_by_link_switch_workspace_and_sign_out(browser: Any, stack: Stack) -> None:
    first, second = f"ws-{uuid.uuid4().hex[:8]}", f"ws-{uuid.uuid4().hex[:8]}"
    # Given a one-time link for a token granting two workspaces (sign_in opens it and continues)
    console = sign_in(browser, stack.base_url, stack.token(first, second), min(first, second))
    page = console.page
    try:
        # Then the console opens on the overview of the first workspace, with a switcher
        expect(page.get_by_role("navigation", name="Console")).to_be_visible()
        page.locator("details.switcher summary").click()
        other = max(first, second)
        page.get_by_role("link", name=other, exact=True).click()
        page.wait_for_url(f"{stack.base_url}/console/{other}/")

        # A workspace the session does not hold answers 404, as the API does
        answer = page.goto(f"{stack.base_url}/console/ws-not-mine/runs")
        assert answer is not None
        assert answer.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()

        # The login page itself passes the accessibility check
        assert console.accessibility_violations() == []

        # Signing out ends the session: pages send to sign in again
        page.goto(f"{stack.base_url}/console/{other}/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{stack.base_url}/console/login")
        assert console.accessibility_violations() == []
        page.goto(f"{stack.base_url}/console/{other}/")
        page.wait_for_url(f"{stack.base_url}/console/login?next=*")
        expect(page.get_by_label("API token")).to_be_visible()

        # Nothing came from outside the stack
        assert console.outside == []
    finally:
        console.context.close()
        console.api.close()


def test_a_used_link_is_refused(browser: Any, stack: Stack) -> None:
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    with stack.client(workspace) as api:
        url = api.post("/api/workspace/login-links").json()["url"]
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{stack.base_url}/console/{workspace}/")
        other = browser.new_context()
        try:
            again = other.new_page()
            again.goto(url)
            again.get_by_role("button", name="Continue").click()
            expect(again.get_by_role("alert")).to_contain_text("already used or has expired")
        finally:
            other.close()
    finally:
        context.close()
