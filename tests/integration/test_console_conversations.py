"""The console's conversations pages: the list, starting one, a conversation's messages with the
tools each answer called, and sending a message, answered as the API's own event stream."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes import OpenAIChatServer, call_tool, say
from tests.integration.conftest import Aws, token
from tests.integration.test_conversations import set_model_key, sse

BASE = "http://127.0.0.1:8000"


def api_headers(*workspaces: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*(workspaces or ('ws-1',)))}"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(browser: TestClient, *workspaces: str) -> None:
    page = browser.get("/console/login")
    answer = browser.post(
        "/console/login", data={"csrf": csrf_of(page.text), "token": token(*(workspaces or ("ws-1",)))}
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """The app as a browser signed in to ws-1 and ws-2 uses it (the API is asked with a token)."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        sign_in(c, "ws-1", "ws-2")
        yield c


@pytest.fixture
def model() -> Iterator[OpenAIChatServer]:
    set_model_key()
    with OpenAIChatServer(api_key="test-key") as server:
        yield server


def make_agent(browser: TestClient, model: OpenAIChatServer, workspace: str = "ws-1", **config: Any) -> str:
    body = {
        "workspace_id": workspace,
        "name": "helper-bot",
        "runtime": "llm",
        "config": {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "base_url": model.api_base,
            "api_key_secret": "model-key",
            **config,
        },
    }
    answer = browser.post("/api/agents", json=body, headers=api_headers(workspace))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def make_conversation(
    browser: TestClient, agent_id: str, workspace: str = "ws-1", **fields: Any
) -> dict[str, Any]:
    body = {"workspace_id": workspace, "agent_id": agent_id, **fields}
    answer = browser.post("/conversations", json=body, headers=api_headers(workspace))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def csrf(browser: TestClient) -> str:
    return csrf_of(browser.get("/console/ws-1/conversations").text)


def send(browser: TestClient, conversation_id: str, message: str, **headers: str) -> Any:
    return browser.post(
        f"/console/ws-1/conversations/{conversation_id}/messages",
        data={"message": message},
        headers={"Accept": "text/event-stream", "X-CSRF-Token": csrf(browser), **headers},
    )


def test_the_list_shows_each_conversation_with_its_agent_kind_and_last_message(
    browser: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = make_agent(browser, model)
    make_conversation(browser, agent_id, title="Weekly numbers")
    make_conversation(browser, agent_id, pattern_type="deep_research")
    page = browser.get("/console/ws-1/conversations")
    assert page.status_code == 200
    assert "Weekly numbers" in page.text
    assert "Deep research" in page.text
    assert "Chatbot" in page.text
    assert f'href="/console/ws-1/agents/{agent_id}">helper-bot</a>' in page.text
    # The form offers the workspace's agents and the three kinds.
    assert f'<option value="{agent_id}"' in page.text
    assert 'value="sidekick"' in page.text
    assert "content-security-policy" in page.headers


def test_starting_a_sidekick_from_the_form_opens_it_with_its_application_state(
    browser: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = make_agent(browser, model)
    answer = browser.post(
        "/console/ws-1/conversations",
        data={
            "csrf": csrf(browser),
            "agent_id": agent_id,
            "pattern_type": "sidekick",
            "title": "Editing invoice 42",
            "context_data": json.dumps({"screen": "invoice", "invoice_id": 42}),
        },
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/console/ws-1/conversations/conv")
    page = browser.get(location)
    assert page.status_code == 200
    assert "Editing invoice 42" in page.text
    assert "Application state" in page.text
    assert "&#34;invoice_id&#34;: 42" in page.text or '"invoice_id": 42' in page.text
    assert 'id="chat-form"' in page.text
    assert "chat.js" in page.text
    stored = browser.get("/conversations", headers=api_headers()).json()["items"]
    assert [(c["pattern_type"], c["context_data"]) for c in stored] == [
        ("sidekick", {"screen": "invoice", "invoice_id": 42})
    ]


def test_bad_input_to_the_start_form_is_shown_next_to_its_field(
    browser: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = make_agent(browser, model)
    bad_json = browser.post(
        "/console/ws-1/conversations",
        data={
            "csrf": csrf(browser),
            "agent_id": agent_id,
            "pattern_type": "sidekick",
            "context_data": "{oops",
        },
    )
    assert bad_json.status_code == 422
    assert 'id="context_data-error"' in bad_json.text
    assert "is not valid JSON" in bad_json.text
    assert "{oops" in bad_json.text  # what was typed is kept
    # An agent of another workspace is the API's refusal, shown on the form.
    other = make_agent(browser, model, workspace="ws-2")
    refused = browser.post(
        "/console/ws-1/conversations",
        data={"csrf": csrf(browser), "agent_id": other, "pattern_type": "chatbot"},
    )
    assert refused.status_code == 422
    assert "agent_id" in refused.text
    assert 'role="alert"' in refused.text
    assert browser.get("/conversations", headers=api_headers()).json()["items"] == []


def test_a_message_is_answered_as_the_apis_event_stream_and_the_page_shows_the_tool_calls(
    browser: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = make_agent(browser, model, tools=["recent_runs"])
    conv = make_conversation(browser, agent_id)
    model.script(call_tool("recent_runs", {"limit": 3}), say("No run failed this week."))
    answer = send(browser, conv["id"], "Did anything fail?")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["content-security-policy"]
    events = list(sse(answer.text.splitlines()))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "tool_call"
    assert kinds[-1] == "message"
    assert events[0][1]["tool"] == "recent_runs"
    assert events[0][1]["arguments"] == {"limit": 3}
    assert "".join(d["text"] for k, d in events if k == "delta") == "No run failed this week."
    assert model.completion_requests[0].json["stream"] is True

    page = browser.get(f"/console/ws-1/conversations/{conv['id']}")
    assert "Did anything fail?" in page.text
    assert "No run failed this week." in page.text
    # The tool call: collapsible, with its arguments and its result.
    assert '<details class="tool-call">' in page.text
    assert "<code>recent_runs</code>" in page.text
    assert "&#34;limit&#34;: 3" in page.text or '"limit": 3' in page.text
    assert "Result" in page.text
    run_id = events[-1][1]["run_id"]
    assert f'href="/console/ws-1/runs/{run_id}"' in page.text
    # The messages alone, as the script refreshes them.
    fragment = browser.get(f"/console/ws-1/conversations/{conv['id']}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="transcript"')
    assert "No run failed this week." in fragment.text


def test_a_plain_form_waits_for_the_answer_and_shows_the_page_again(
    browser: TestClient, model: OpenAIChatServer
) -> None:
    conv = make_conversation(browser, make_agent(browser, model))
    model.script(say("Hello there."))
    page = browser.get(f"/console/ws-1/conversations/{conv['id']}")
    answer = browser.post(
        f"/console/ws-1/conversations/{conv['id']}/messages",
        data={"csrf": csrf_of(page.text), "message": "Hi"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/ws-1/conversations/{conv['id']}"
    assert "Hello there." in browser.get(answer.headers["location"]).text
    assert model.completion_requests[0].json.get("stream") is not True


def test_refusals_come_back_as_the_apis_error_body(browser: TestClient, model: OpenAIChatServer) -> None:
    conv = make_conversation(browser, make_agent(browser, model))
    empty = send(browser, conv["id"], "   ")
    assert empty.status_code == 422
    assert empty.json()["field"] == "message"
    missing = send(browser, "conv-none", "hello")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    # A conversation of another workspace of the same person is not one of this workspace's.
    other = make_conversation(browser, make_agent(browser, model, workspace="ws-2"), workspace="ws-2")
    assert send(browser, other["id"], "hello").status_code == 404
    assert not model.completion_requests
    assert (
        browser.get(f"/conversations/{other['id']}/messages", headers=api_headers("ws-2")).json()["items"]
        == []
    )


def test_a_message_without_the_csrf_token_is_refused(browser: TestClient, model: OpenAIChatServer) -> None:
    conv = make_conversation(browser, make_agent(browser, model))
    path = f"/console/ws-1/conversations/{conv['id']}/messages"
    refused = browser.post(path, data={"message": "hi"}, headers={"Accept": "text/event-stream"})
    assert refused.status_code == 403
    forged = browser.post(
        path, data={"message": "hi"}, headers={"Accept": "text/event-stream", "X-CSRF-Token": "forged"}
    )
    assert forged.status_code == 403
    start = browser.post("/console/ws-1/conversations", data={"agent_id": conv["agent_id"]})
    assert start.status_code == 403
    assert not model.completion_requests
    assert browser.get(f"/conversations/{conv['id']}/messages", headers=api_headers()).json()["items"] == []
    assert len(browser.get("/conversations", headers=api_headers()).json()["items"]) == 1


def test_a_deep_research_answers_at_once_and_its_page_says_it_is_running(
    browser: TestClient, model: OpenAIChatServer
) -> None:
    conv = make_conversation(browser, make_agent(browser, model), pattern_type="deep_research")
    answer = send(browser, conv["id"], "Review reliability")
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["run_id"]
    assert accepted["message"]["content"] == "Review reliability"
    page = browser.get(f"/console/ws-1/conversations/{conv['id']}")
    assert f'data-active="{accepted["run_id"]}"' in page.text
    assert "The research is running" in page.text


def test_another_workspaces_conversation_is_not_found(browser: TestClient, model: OpenAIChatServer) -> None:
    other = make_conversation(browser, make_agent(browser, model, workspace="ws-2"), workspace="ws-2")
    # The person may see ws-2, but not under ws-1's address.
    page = browser.get(f"/console/ws-1/conversations/{other['id']}")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert browser.get(f"/console/ws-2/conversations/{other['id']}").status_code == 200
    # A workspace the session does not hold at all.
    assert browser.get("/console/ws-3/conversations").status_code == 404


def test_a_malformed_stored_conversation_does_not_break_the_list(
    browser: TestClient, aws: Aws, model: OpenAIChatServer
) -> None:
    make_conversation(browser, make_agent(browser, model), title="Readable one")
    aws.store.conversations.put(
        {
            "id": "conv-broken",
            "workspace_id": "ws-1",
            "pattern_type": "no-such-kind",
            "agent_id": "agent-gone",
            "created_at": "not a time",
            "updated_at": "2024-01-01T00:00:00Z",
        }
    )
    page = browser.get("/console/ws-1/conversations")
    assert page.status_code == 200
    assert "Readable one" in page.text
