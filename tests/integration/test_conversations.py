"""Conversations through the API: an llm agent on an OpenAI-compatible server on loopback that
streams and reports usage, runs in moto, the worker for deep research, Slack on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from proactive import secret_store
from tests.fakes import OpenAIChatServer, SlackWebhook, call_tool, openai_error, say
from tests.integration.conftest import Handlers, token


def set_model_key() -> None:
    """The key the llm agents below name (`model-key`), a secret of their workspace, ws-1."""
    secret_store.put("ws-1", "model-key", "test-key")


@pytest.fixture
def model() -> Iterator[OpenAIChatServer]:
    set_model_key()
    with OpenAIChatServer(api_key="test-key") as server:
        yield server


def llm_agent(client: TestClient, model: OpenAIChatServer, *, tools: list[str] | None = None) -> str:
    response = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "assistant",
            "runtime": "llm",
            "config": {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "base_url": model.api_base,
                "api_key_secret": "model-key",
                "system_prompt": "You are a helpful assistant.",
                "tools": tools or [],
            },
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def conversation(client: TestClient, agent_id: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"pattern_type": "chatbot", "context_data": {}, **fields}
    if agent_id:
        body["agent_id"] = agent_id
    response = client.post("/conversations", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def sent_messages(request: Any) -> list[tuple[str, str]]:
    """(role, text) of each message the model was sent."""
    out = []
    for m in request.json["messages"]:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        out.append((m["role"], content or ""))
    return out


def test_a_chatbot_of_three_turns_sends_the_whole_history_each_turn(
    client: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = llm_agent(client, model)
    client.put("/api/workspace/settings", json={"default_agent_id": agent_id})
    conv = conversation(client)  # the seed's body: the default agent answers
    assert conv["agent_id"] == agent_id
    model.script(say("Paris."), say("About 2.1 million."), say("The Seine."))
    answers = []
    for question in ("What is the capital of France?", "How many people live there?", "Which river?"):
        response = client.post(
            f"/conversations/{conv['id']}/messages", json={"message": question, "stream": False}
        )
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert [a["content"] for a in answers] == ["Paris.", "About 2.1 million.", "The Seine."]
    third = sent_messages(model.completion_requests[2])
    assert third == [
        ("system", "You are a helpful assistant."),
        ("user", "What is the capital of France?"),
        ("assistant", "Paris."),
        ("user", "How many people live there?"),
        ("assistant", "About 2.1 million."),
        ("user", "Which river?"),
    ]
    listed = client.get(f"/conversations/{conv['id']}/messages").json()["items"]
    assert [(m["role"], m["content"]) for m in listed][:2] == [
        ("user", "What is the capital of France?"),
        ("assistant", "Paris."),
    ]
    assert len(listed) == 6
    for answer in answers:
        assert answer["usage"]["input_tokens"] > 0
        assert answer["usage"]["requests"] == 1
        run = client.get(f"/api/runs/{answer['run_id']}").json()
        assert run["source_type"] == "conversation"
        assert run["source_id"] == conv["id"]
        assert run["status"] == "succeeded"
        assert run["usage"] == answer["usage"]
    runs = client.get(f"/api/runs?source_type=conversation&source_id={conv['id']}").json()["items"]
    assert len(runs) == 3
    shown = client.get(f"/conversations/{conv['id']}").json()
    assert shown["message_count"] == 6
    assert shown["active_run_id"] is None
    # Pages are oldest first and continue where they stopped.
    first = client.get(f"/conversations/{conv['id']}/messages?limit=4").json()
    rest = client.get(f"/conversations/{conv['id']}/messages?limit=4&cursor={first['next_cursor']}").json()
    assert [m["id"] for m in first["items"] + rest["items"]] == [m["id"] for m in listed]


def test_without_an_agent_or_a_default_the_error_names_agent_id(client: TestClient) -> None:
    response = client.post("/conversations", json={"pattern_type": "chatbot", "context_data": {}})
    assert response.status_code == 422
    assert response.json()["field"] == "agent_id"
    assert "default_agent_id" in response.json()["message"]
    unknown = client.post("/conversations", json={"pattern_type": "chatbot", "agent_id": "agent-nope"})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "agent_id"


def test_a_turn_with_a_deleted_agent_is_a_409_naming_it_and_makes_no_run(
    client: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = llm_agent(client, model)
    talk = conversation(client, agent_id)
    assert client.delete(f"/api/agents/{agent_id}").status_code == 204
    for path in (f"/conversations/{talk['id']}/messages", f"/conversations/{talk['id']}/continue"):
        answer = client.post(path, json={"message": "still there?"} if path.endswith("messages") else {})
        assert answer.status_code == 409, answer.text
        assert answer.json()["field"] == "agent_id"
        assert f"agent {agent_id} no longer exists" in answer.json()["message"]
    assert (
        client.get("/api/runs", params={"source_id": talk["id"], "source_type": "conversation"}).json()[
            "items"
        ]
        == []
    )
    assert len(model.requests) == 0  # the model was never asked


def test_a_sidekick_sees_its_application_state_and_a_patch_changes_it(
    client: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = llm_agent(client, model)
    conv = conversation(
        client, agent_id, pattern_type="sidekick", context_data={"page": "invoice", "invoice_id": "INV-42"}
    )
    model.script(say("That invoice is unpaid."), say("Now you are on settings."))
    client.post(f"/conversations/{conv['id']}/messages", json={"message": "What am I looking at?"})
    first = json.dumps(model.completion_requests[0].json["messages"])
    assert "INV-42" in first
    patched = client.patch(f"/conversations/{conv['id']}", json={"context_data": {"page": "settings"}})
    assert patched.status_code == 200
    assert patched.json()["context_data"] == {"page": "settings"}
    client.post(f"/conversations/{conv['id']}/messages", json={"message": "And now?"})
    second = json.dumps(model.completion_requests[1].json["messages"])
    assert '\\"page\\": \\"settings\\"' in second
    assert "INV-42" not in second
    too_big = client.patch(f"/conversations/{conv['id']}", json={"context_data": {"blob": "x" * 40_000}})
    assert too_big.status_code == 422
    assert too_big.json()["field"] == "context_data"
    assert client.get(f"/conversations/{conv['id']}").json()["context_data"] == {"page": "settings"}


def test_a_failed_answer_is_a_502_recorded_in_the_conversation_and_left_out_of_the_next_turn(
    client: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = llm_agent(client, model)
    conv = conversation(client, agent_id)
    model.script(openai_error(400, "This model's maximum context length is 8192 tokens."), say("Hello!"))
    failed = client.post(f"/conversations/{conv['id']}/messages", json={"message": "Hi"})
    assert failed.status_code == 502
    assert failed.json()["error"] == "agent_failed"
    assert "maximum context length" in failed.json()["message"]
    listed = client.get(f"/conversations/{conv['id']}/messages").json()["items"]
    assert [(m["role"], m["status"]) for m in listed] == [("user", "complete"), ("assistant", "failed")]
    assert "maximum context length" in listed[1]["error"]
    ok = client.post(f"/conversations/{conv['id']}/messages", json={"message": "Hi again"})
    assert ok.status_code == 200
    assert ok.json()["content"] == "Hello!"
    assert sent_messages(model.completion_requests[1])[1:] == [("user", "Hi"), ("user", "Hi again")]


def test_continue_carries_on_without_a_new_user_message(client: TestClient, model: OpenAIChatServer) -> None:
    agent_id = llm_agent(client, model)
    conv = conversation(client, agent_id)
    model.script(say("Step one done."), say("Step two done."))
    client.post(f"/conversations/{conv['id']}/messages", json={"message": "Do the steps"})
    response = client.post(f"/conversations/{conv['id']}/continue")
    assert response.status_code == 200
    assert response.json()["content"] == "Step two done."
    sent = sent_messages(model.completion_requests[1])
    assert sent[1:3] == [("user", "Do the steps"), ("assistant", "Step one done.")]
    assert sent[3][0] == "user"
    assert "Continue" in sent[3][1]
    listed = client.get(f"/conversations/{conv['id']}/messages").json()["items"]
    assert [m["role"] for m in listed] == ["user", "assistant", "assistant"]


def test_conversations_are_private_to_their_workspace_and_deleting_removes_the_messages(
    client: TestClient, model: OpenAIChatServer
) -> None:
    agent_id = llm_agent(client, model)
    conv = conversation(client, agent_id, title="Planning")
    model.script(say("Sure."))
    client.post(f"/conversations/{conv['id']}/messages", json={"message": "Plan my week"})
    other = {"Authorization": f"Bearer {token('ws-2')}"}
    assert client.get(f"/conversations/{conv['id']}", headers=other).status_code == 404
    assert client.get(f"/conversations/{conv['id']}/messages", headers=other).status_code == 404
    assert (
        client.post(
            f"/conversations/{conv['id']}/messages", json={"message": "hi"}, headers=other
        ).status_code
        == 404
    )
    assert [c["id"] for c in client.get("/conversations").json()["items"]] == [conv["id"]]
    assert client.delete(f"/conversations/{conv['id']}").status_code == 204
    assert client.get(f"/conversations/{conv['id']}").status_code == 404
    assert client.get(f"/conversations/{conv['id']}/messages").status_code == 404


@pytest.fixture
def served(client: TestClient) -> Iterator[str]:
    """The app on a real loopback port (uvicorn, as the local stack serves it), so a streamed
    answer reaches the client as it is written."""
    from tests.apps import api_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(api_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def sse(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    kind = None
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind:
            yield kind, json.loads(line.removeprefix("data: "))
            kind = None


def test_streaming_delivers_the_first_delta_before_the_model_has_finished(
    client: TestClient, model: OpenAIChatServer, served: str
) -> None:
    agent_id = llm_agent(client, model)
    conv = conversation(client, agent_id)
    model.script(say("The capital of France is Paris, on the Seine."))
    model.hold_streams()
    headers = {"Authorization": client.headers["Authorization"]}
    seen: list[tuple[str, Any]] = []
    with (
        httpx.Client(base_url=served, headers=headers, timeout=30) as http,
        http.stream(
            "POST", f"/conversations/{conv['id']}/messages", json={"message": "Capital?", "stream": True}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.iter_lines())
        first = next(events)
        # The model is still holding its last chunk: the answer is on its way, not done.
        assert first[0] == "delta"
        assert first[1]["text"]
        busy = http.post(f"/conversations/{conv['id']}/messages", json={"message": "again?"})
        assert busy.status_code == 409
        assert "still answering" in busy.json()["message"]
        model.release_streams()
        seen = [first, *events]
    kinds = [k for k, _ in seen]
    assert kinds[-1] == "message"
    assert set(kinds[:-1]) == {"delta"}
    assert len(kinds) > 2
    text = "".join(d["text"] for k, d in seen if k == "delta")
    final = seen[-1][1]
    assert text == final["content"] == "The capital of France is Paris, on the Seine."
    assert final["usage"]["output_tokens"] > 0
    assert final["role"] == "assistant"
    assert model.completion_requests[0].json["stream"] is True
    stored = client.get(f"/conversations/{conv['id']}/messages").json()["items"]
    assert stored[-1]["id"] == final["id"]


def test_streaming_passes_on_tool_calls(client: TestClient, model: OpenAIChatServer, served: str) -> None:
    agent_id = llm_agent(client, model, tools=["recent_runs"])
    conv = conversation(client, agent_id)
    model.script(call_tool("recent_runs", {"limit": 3}), say("No runs failed."))
    headers = {"Authorization": client.headers["Authorization"]}
    with (
        httpx.Client(base_url=served, headers=headers, timeout=30) as http,
        http.stream(
            "POST", f"/conversations/{conv['id']}/messages", json={"message": "Any failures?", "stream": True}
        ) as response,
    ):
        seen = list(sse(response.iter_lines()))
    calls = [d for k, d in seen if k == "tool_call"]
    assert [(c["tool"], c["arguments"]) for c in calls] == [("recent_runs", {"limit": 3})]
    assert seen[-1][0] == "message"
    assert seen[-1][1]["content"] == "No runs failed."
    assert seen[-1][1]["usage"]["tool_calls"] == 1


def test_deep_research_runs_in_the_worker_appends_progress_and_notifies_slack(
    client: TestClient, handlers: Handlers, model: OpenAIChatServer
) -> None:
    agent_id = llm_agent(client, model, tools=["recent_runs"])
    with SlackWebhook() as slack:
        conv = conversation(
            client,
            agent_id,
            pattern_type="deep_research",
            title="Reliability review",
            notification_config={"channels": ["slack"], "slack_webhook_url": slack.url},
        )
        assert "T000FAKE" in conv["notification_config"]["slack_webhook_url"]
        assert slack.path.rsplit("/", 1)[1] not in json.dumps(conv)  # the token is masked
        model.script(
            call_tool("recent_runs", {"limit": 10}),
            say("## Report\nNo failures in the last runs."),
        )
        response = client.post(
            f"/conversations/{conv['id']}/messages", json={"message": "Review reliability"}
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status"] == "queued"
        assert accepted["message"]["role"] == "user"
        assert not model.completion_requests  # nothing ran in the request
        handlers.drain_until(lambda: bool(slack.messages), timeout=30)
    listed = client.get(f"/conversations/{conv['id']}/messages").json()["items"]
    roles = [m["role"] for m in listed]
    assert roles[0] == "user"
    assert roles[-1] == "assistant"
    assert roles.count("progress") >= 3
    progress = [m["content"] for m in listed if m["role"] == "progress"]
    assert any("recent_runs" in p for p in progress)
    assert listed[-1]["content"] == "## Report\nNo failures in the last runs."
    assert listed[-1]["run_id"] == accepted["run_id"]
    instructions = json.dumps(model.completion_requests[0].json["messages"])
    assert "deep research" in instructions
    text = json.dumps(slack.messages[-1])
    assert "succeeded" in text
    assert "Reliability review" in text
