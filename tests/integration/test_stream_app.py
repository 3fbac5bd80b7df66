"""The stream function's app: a conversation's message with `stream: true`, streamed as the
model writes it, with the API's own auth; every other request a 404 naming the API."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from uvicorn.importer import import_from_string

from proactive.api import create_stream_app
from proactive.dev.local import REPO_ROOT
from proactive.settings import get_settings
from tests.fakes import OpenAIChatServer, say
from tests.integration.conftest import Aws, token
from tests.integration.test_conversations import conversation, llm_agent, set_model_key, sse
from tests.integration.test_issuer_auth import _Issuer


@pytest.fixture
def model() -> Iterator[OpenAIChatServer]:
    set_model_key()
    with OpenAIChatServer(api_key="test-key") as server:
        yield server


@pytest.fixture
def stream_app(client: TestClient) -> Iterator[TestClient]:
    """The stream app in the same moto account as `client` (the whole API), without a token."""
    with TestClient(create_stream_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def streamed(client: TestClient) -> Iterator[str]:
    """The stream app on a real loopback port under uvicorn, as the stream function runs it, so
    the answer reaches the client as it is written."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_stream_app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stream app did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {token('ws-1')}"}


def test_the_stream_app_streams_the_answer_as_the_model_writes_it(
    client: TestClient, model: OpenAIChatServer, streamed: str
) -> None:
    conv = conversation(client, llm_agent(client, model))
    model.script(say("The capital of France is Paris, on the Seine."))
    model.hold_streams()
    with (
        httpx.Client(base_url=streamed, headers=_auth(), timeout=30) as http,
        http.stream(
            "POST", f"/conversations/{conv['id']}/messages", json={"message": "Capital?", "stream": True}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-correlation-id"]
        events = sse(response.iter_lines())
        first = next(events)
        # The model still holds its last chunk: the first delta came before the answer was done.
        assert first[0] == "delta"
        model.release_streams()
        seen = [first, *events]
    assert seen[-1][0] == "message"
    assert {kind for kind, _ in seen[:-1]} == {"delta"}
    text = "".join(data["text"] for kind, data in seen if kind == "delta")
    assert text == seen[-1][1]["content"] == "The capital of France is Paris, on the Seine."
    stored = client.get(f"/conversations/{conv['id']}/messages").json()["items"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[-1]["id"] == seen[-1][1]["id"]


def test_the_stream_route_needs_a_token_the_api_would_accept(
    client: TestClient, model: OpenAIChatServer, stream_app: TestClient
) -> None:
    conv = conversation(client, llm_agent(client, model))
    path = f"/conversations/{conv['id']}/messages"
    body = {"message": "hi", "stream": True}
    missing = stream_app.post(path, json=body)
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    forged = stream_app.post(path, json=body, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    # A token for another workspace sees no such conversation.
    other = stream_app.post(path, json=body, headers={"Authorization": f"Bearer {token('ws-2')}"})
    assert other.status_code == 404
    assert not model.completion_requests


@pytest.fixture
def issuer(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Issuer]:
    """As in AWS: no API Gateway in front, so the app checks the issuer's tokens (AUTH_MODE=jwks)."""
    found = _Issuer()
    monkeypatch.setenv("AUTH_MODE", "jwks")
    monkeypatch.setenv("JWT_ISSUER", found.url)
    monkeypatch.setenv("JWT_AUDIENCE", "app-client")
    get_settings.cache_clear()
    yield found
    found.server.shutdown()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_in_jwks_mode_the_stream_app_verifies_the_issuers_tokens_itself(aws: Aws, issuer: _Issuer) -> None:
    with TestClient(create_stream_app(), raise_server_exceptions=False) as stream_app:
        path, body = "/conversations/conv-none/messages", {"message": "hi", "stream": True}
        signed = stream_app.post(path, json=body, headers={"Authorization": f"Bearer {issuer.token()}"})
        # Past the token check: there is no such conversation in the token's workspace.
        assert signed.status_code == 404, signed.text
        assert "not served here" not in signed.json()["message"]
        local = stream_app.post(path, json=body, headers=_auth())
        assert local.status_code == 401
        assert local.json()["error"] == "unauthorized"


def test_a_message_without_stream_is_sent_to_the_api(
    client: TestClient, model: OpenAIChatServer, stream_app: TestClient
) -> None:
    conv = conversation(client, llm_agent(client, model))
    for body in ({"message": "hi"}, {"message": "hi", "stream": False}):
        answer = stream_app.post(f"/conversations/{conv['id']}/messages", json=body, headers=_auth())
        assert answer.status_code == 404
        error = answer.json()
        assert error["error"] == "not_found"
        assert error["field"] == "stream"
        assert "serves only streamed answers" in error["message"]
        assert "API" in error["message"]
    # Nothing was taken: no message stored, the model never asked.
    assert client.get(f"/conversations/{conv['id']}/messages").json()["items"] == []
    assert not model.completion_requests


@pytest.fixture
def api_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API's address set (PUBLIC_BASE_URL) for one test; the cached settings are dropped
    before and after."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/")
    get_settings.cache_clear()
    yield "https://api.example.com"
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_404_names_the_api_address_where_one_is_set(stream_app: TestClient, api_url: str) -> None:
    elsewhere = stream_app.get("/api/agents", headers=_auth())
    assert elsewhere.status_code == 404
    assert elsewhere.json()["message"].endswith(f"; use the API at {api_url}")
    whole = stream_app.post("/conversations/c1/messages", json={"message": "hi"}, headers=_auth())
    assert whole.json()["message"].endswith(f"send a message with `stream` false to the API at {api_url}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/agents"),
        ("POST", "/api/agents"),
        ("GET", "/health"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/conversations"),
        ("POST", "/conversations"),
        ("GET", "/conversations/c1/messages"),  # the streamed route's path, another method
        ("POST", "/conversations/c1/continue"),
        ("GET", "/"),
    ],
)
def test_everything_else_answers_404_with_the_error_body(
    stream_app: TestClient, method: str, path: str
) -> None:
    answer = stream_app.request(method, path, headers=_auth(), json={})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["error"] == "not_found"
    assert error["field"] is None
    assert error["message"].startswith(f"{method} {path} is not served here")
    assert "POST /conversations/{id}/messages with `stream: true`" in error["message"]


def test_the_stream_function_runs_this_app() -> None:
    run_sh = (REPO_ROOT / "functions" / "stream" / "run.sh").read_text()
    factory = re.search(r"--factory\s+(\S+)", run_sh)
    assert factory is not None
    assert import_from_string(factory[1]) is create_stream_app
