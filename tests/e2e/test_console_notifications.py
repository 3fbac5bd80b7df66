"""The notifications page in a real browser: a webhook channel pointing at a receiver on loopback,
what was sent to it (with the run it was about, linked in the message too), and its test button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import Console
from tests.e2e.waiting import eventually
from tests.fakes import WebhookReceiver
from tests.localstack import Stack

pytestmark = pytest.mark.e2e


def test_a_channel_what_was_sent_to_it_and_its_test(console: Console, stack: Stack) -> None:
    ws, api = console.workspace, console.api
    with WebhookReceiver() as receiver:
        channel = api.post(
            "/api/notifications/channels",
            json={
                "workspace_id": ws,
                "name": "audit hook",
                "type": "webhook",
                "config": {"url": receiver.url},
            },
        )
        assert channel.status_code == 201, channel.text
        chan = channel.json()
        agent = api.post(
            "/api/agents",
            json={
                "workspace_id": ws,
                "name": "reporter",
                "notify": {"channels": [chan["id"]], "on": ["success"]},
            },
        ).json()
        run = api.post(
            "/api/runs", json={"workspace_id": ws, "agent_id": agent["id"], "task": "Say hello"}
        ).json()
        [told] = eventually(
            lambda: [n for n in api.get("/api/notifications/log").json()["items"] if n["status"] == "sent"],
            "the run's notification",
        )
        # The message links to the run's page in the console
        [message] = receiver.messages
        assert message["link"] == f"{stack.base_url}/console/{ws}/runs/{run['id']}"

        page = console.open("notifications")
        row = page.locator(f"#ntf-{told['id']}")
        expect(row).to_contain_text("run.succeeded")
        expect(row.get_by_role("link", name=f"run {run['id']}")).to_have_attribute(
            "href", f"/console/{ws}/runs/{run['id']}"
        )
        expect(page.locator(f"#channel-{chan['id']}")).to_contain_text(receiver.url)

        # The test button shows what the receiver answered, in place
        page.get_by_role("button", name="Send test message").click()
        result = page.locator(f"#test-result-{chan['id']}")
        expect(result).to_contain_text("HTTP 200")
        expect(result).to_contain_text("received")
        assert [m["type"] for m in receiver.messages] == ["run.succeeded", "test"]
        assert chan["secret"] not in page.content()
        assert console.accessibility_violations() == []
        console.screenshot("notifications")

        # The channel's own page: what tells it, and what was sent to it
        page.get_by_role("link", name="audit hook", exact=True).first.click()
        expect(page.get_by_role("heading", name="Channel audit hook", level=1)).to_be_visible()
        told_by = page.locator("section", has=page.get_by_role("heading", name="What tells it"))
        expect(told_by).to_contain_text("reporter")
        expect(told_by).to_contain_text("run.succeeded")
        assert console.accessibility_violations() == []
