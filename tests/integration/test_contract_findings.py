"""What the contract test found once its requests reached the success paths, each kept as a
plain request, so that it fails the same way every run until it is fixed."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_null_default_channels_is_refused_or_kept_not_a_server_error(client: TestClient) -> None:
    # The document lets default_channels be null; the route stored the null, and then its own
    # answer (a list) failed validation: 500, and every later GET of the settings too.
    resp = client.put("/api/workspace/settings", json={"workspace_id": "ws-1", "default_channels": None})
    assert resp.status_code in (200, 422), resp.text
    shown = client.get("/api/workspace/settings")
    assert shown.status_code == 200, shown.text
    assert isinstance(shown.json()["default_channels"], list)


def test_streamed_answers_are_documented_as_events(client: TestClient) -> None:
    # Before Open API 3.2 (this document is 3.1), a text/event-stream `schema` describes each event
    # ({event, data, id, retry}), and schemathesis checks every event against it: `{"type":
    # "string"}` refuses every event the route sends.
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                stream = response.get("content", {}).get("text/event-stream")
                if stream is None:
                    continue
                schema = stream.get("itemSchema") or stream.get("schema") or {}
                assert schema.get("type") in (None, "object"), (
                    f"{method.upper()} {path} {status}: an event is an object, not {schema}"
                )
