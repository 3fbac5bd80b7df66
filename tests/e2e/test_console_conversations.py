"""Conversations in a real browser: starting a sidekick from the list's form, then a message whose
answer streams into the page while the model (an OpenAI-compatible fake on loopback) is still
writing it; tool calls shown with their arguments and results; the pages pass the accessibility
check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fakes import OpenAIChatServer, call_tool, say

pytestmark = pytest.mark.e2e
ANSWER = "The numbers look healthy this week: every run finished, and none of them failed."


@pytest.fixture
def model() -> Iterator[OpenAIChatServer]:
    with OpenAIChatServer() as server:
        yield server


def test_a_chat_answer_streams_in_while_the_model_is_still_writing_it(
    console: Any, model: OpenAIChatServer
) -> None:
    agent = console.api.post(
        "/api/agents",
        json={
            "workspace_id": console.workspace,
            "name": "numbers-bot",
            "runtime": "llm",
            "config": {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "base_url": model.api_base,
                "tools": ["recent_runs"],
            },
        },
    )
    assert agent.status_code == 201, agent.text

    # Start a sidekick from the list's form.
    page = console.open("conversations")
    expect(page.get_by_role("heading", name="Conversations", level=1)).to_be_visible()
    page.get_by_label("Kind").select_option("sidekick")
    page.get_by_label("Title").fill("Weekly numbers")
    page.get_by_text("Application state (sidekick)").click()
    page.get_by_label("Application state as JSON").fill('{"screen": "dashboard", "range": "7d"}')
    page.get_by_role("button", name="Start conversation").click()
    page.wait_for_url("**/conversations/conv*")
    expect(page.get_by_role("heading", name="Weekly numbers", level=1)).to_be_visible()
    expect(page.locator("#context-data")).to_contain_text('"range": "7d"')
    conversation_id = page.url.rsplit("/", 1)[1]

    # A first turn through the API, which calls a tool: the page shows the call and its result.
    model.script(call_tool("recent_runs", {"limit": 5}), say("There are no runs yet."))
    first = console.api.post(f"/conversations/{conversation_id}/messages", json={"message": "Any runs?"})
    assert first.status_code == 200, first.text
    page.reload()
    tool = page.locator(".tool-call").first
    expect(tool).to_contain_text("recent_runs")
    tool.locator("summary").click()
    expect(tool).to_contain_text('"limit": 5')
    expect(tool.locator("pre").last).to_be_visible()

    # The next answer streams: part of it is on the page while the model holds back its end.
    model.script(say(ANSWER, chunk_delay=0.01))
    release = model.hold_streams()
    try:
        page.get_by_label("Message").fill("How are the numbers?")
        page.get_by_role("button", name="Send").click()
        bubble = page.locator(".msg-assistant .bubble").last
        expect(bubble).to_contain_text("The numbers look healthy")
        assert model.stream_held.wait(10)
        # The model has not finished (it waits for the test), yet the text is there.
        assert not release.is_set()
        expect(bubble).to_have_attribute("aria-busy", "true")
        expect(page.locator(".msg-user .bubble").last).to_have_text("How are the numbers?")
    finally:
        model.release_streams()
    # Then the whole answer, as stored (with its usage).
    last = page.locator(".msg-assistant").last
    expect(last.locator(".usage")).to_be_visible()
    expect(last.locator(".bubble")).to_have_text(ANSWER)
    expect(page.locator("#chat-error")).to_be_hidden()
    stored = console.api.get(f"/conversations/{conversation_id}/messages").json()["items"]
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[-1]["content"] == ANSWER

    assert console.accessibility_violations() == []
    console.screenshot("conversation")
    page = console.open("conversations")
    expect(page.get_by_role("link", name="Weekly numbers")).to_be_visible()
    assert console.accessibility_violations() == []
    console.screenshot("conversations")


def test_a_refused_message_shows_the_apis_message_and_keeps_the_text(
    console: Any, model: OpenAIChatServer
) -> None:
    agent = console.api.post(
        "/api/agents",
        json={
            "workspace_id": console.workspace,
            "name": "slow-bot",
            "runtime": "llm",
            "config": {"provider": "openai", "model": "gpt-4o-mini", "base_url": model.api_base},
        },
    ).json()
    conversation = console.api.post(
        "/conversations", json={"workspace_id": console.workspace, "agent_id": agent["id"]}
    ).json()
    page = console.open(f"conversations/{conversation['id']}")
    # Another turn is being answered meanwhile: the API refuses the second message (409).
    model.script(say("Still thinking about it."))
    release = model.hold_streams()
    try:
        with console.api.stream(
            "POST",
            f"/conversations/{conversation['id']}/messages",
            json={"message": "first", "stream": True},
        ) as streaming:
            assert streaming.status_code == 200
            # The first answer of the stack's process loads the model's client: give it time.
            assert model.stream_held.wait(30)
            page.get_by_label("Message").fill("second")
            page.get_by_role("button", name="Send").click()
            error = page.locator("#chat-error")
            expect(error).to_be_visible()
            expect(error).to_contain_text("still answering")
            expect(page.get_by_label("Message")).to_have_value("second")
            model.release_streams()
            streaming.read()
    finally:
        if not release.is_set():
            model.release_streams()
