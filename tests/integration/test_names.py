"""Names and titles through the API: one line of text a person reads, never control characters or
Unicode's bidirectional formatting characters, which would hide or reorder what lists and
notifications show. A refusal says which character and where, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

Body = Callable[[TestClient, str], tuple[str, dict[str, Any]]]


def _agent(client: TestClient) -> str:
    resp = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "report-agent"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _trigger(client: TestClient) -> str:
    resp = client.post("/api/proactive/triggers", json=_bodies["trigger"](client, "Deploys")[1])
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _channel(client: TestClient) -> str:
    resp = client.post("/api/notifications/channels", json=_bodies["channel"](client, "ops")[1])
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


# For each kind of resource: where it is made, and a body that is valid but for the name given.
_bodies: dict[str, Body] = {
    "agent": lambda c, name: ("/api/agents", {"workspace_id": "ws-1", "name": name}),
    "schedule": lambda c, name: (
        "/api/proactive/schedules",
        {
            "name": name,
            "workspace_id": "ws-1",
            "agent_id": _agent(c),
            "task_description": "Generate daily metrics report",
            "cron_expression": "0 9 * * *",
        },
    ),
    "monitor": lambda c, name: (
        "/api/proactive/monitors",
        {
            "name": name,
            "workspace_id": "ws-1",
            "agent_id": _agent(c),
            "source": {"type": "metric"},
            "condition": "value > 80",
            "action": "CPU at {value}",
        },
    ),
    "trigger": lambda c, name: (
        "/api/proactive/triggers",
        {
            "name": name,
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": _agent(c),
            "task_template": "Handle {event}",
        },
    ),
    "webhook": lambda c, name: (
        "/api/proactive/webhooks",
        {"workspace_id": "ws-1", "name": name, "trigger_id": _trigger(c)},
    ),
    "channel": lambda c, name: (
        "/api/notifications/channels",
        {"workspace_id": "ws-1", "name": name, "type": "ntfy", "config": {"topic": "ops"}},
    ),
    "action": lambda c, name: (
        "/api/autonomous/actions",
        {
            "name": name,
            "goal_types": ["BOTTLENECK_PREVENTION"],
            "kind": "notify",
            "channels": [_channel(c)],
            "message_template": "{title}",
        },
    ),
    "conversation": lambda c, name: (
        "/conversations",
        {"pattern_type": "chatbot", "context_data": {}, "agent_id": _agent(c), "title": name},
    ),
    "task": lambda c, name: (
        "/tasks",
        {"task_type": "delegation", "prompt": "Summarise the day", "agent_id": _agent(c), "name": name},
    ),
}
_FIELD = {"conversation": "title"}

# (name given, what the refusal says is in it)
BAD_NAMES = [
    ("Da\x00ily", "control characters (U+0000 at position 3)"),
    ("Daily\nReport", "control characters (U+000A at position 6)"),
    ("Daily\x1b[31m", "control characters (U+001B at position 6)"),
    ("Daily\x7f", "control characters (U+007F at position 6)"),
    ("Daily \x85Report", "control characters (U+0085 at position 7)"),
    ("invoice\u202efdp.exe", "bidirectional formatting characters (U+202E at position 8)"),
    ("\u2066ops\u2069", "bidirectional formatting characters (U+2066 at position 1)"),
    ("ops\u200f", "bidirectional formatting characters (U+200F at position 4)"),
    ("ops\u061c", "bidirectional formatting characters (U+061C at position 4)"),
]


@pytest.mark.parametrize("kind", list(_bodies))
@pytest.mark.parametrize(("name", "problem"), BAD_NAMES[:1] + BAD_NAMES[5:6])
def test_a_name_with_a_control_or_bidi_character_is_refused_on_create(
    client: TestClient, kind: str, name: str, problem: str
) -> None:
    path, body = _bodies[kind](client, name)
    resp = client.post(path, json=body)
    field = _FIELD.get(kind, "name")
    assert resp.status_code == 422, resp.text
    assert (resp.json()["field"], resp.json()["message"]) == (field, f"{field}: must not contain {problem}")


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES)
def test_the_refusal_names_the_character_and_where_it_is(client: TestClient, name: str, problem: str) -> None:
    resp = client.post("/api/agents", json={"workspace_id": "ws-1", "name": name})
    assert resp.status_code == 422, resp.text
    assert resp.json()["message"] == f"name: must not contain {problem}"
    assert client.get("/api/agents").json()["items"] == []


@pytest.mark.parametrize("kind", list(_bodies))
def test_a_name_with_a_bidi_character_is_refused_on_change_and_nothing_changes(
    client: TestClient, kind: str
) -> None:
    path, body = _bodies[kind](client, "Daily")
    made = client.post(path, json=body)
    assert made.status_code == 201, made.text
    item = f"{path}/{made.json()['id']}"
    field = _FIELD.get(kind, "name")
    resp = client.patch(item, json={field: "Daily\u202e"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["message"] == (
        f"{field}: must not contain bidirectional formatting characters (U+202E at position 6)"
    )
    assert client.get(item).json()[field] == "Daily"


def test_names_in_any_script_and_with_emoji_are_taken(client: TestClient) -> None:
    for name in ("Rapport quotidien — été", "日次レポート", "تقرير يومي", "Deploys 🚀"):
        resp = client.post("/api/agents", json={"workspace_id": "ws-1", "name": name})
        assert (resp.status_code, resp.json()["name"]) == (201, name)


def test_a_tasks_name_made_from_its_prompt_shows_such_characters_escaped(client: TestClient) -> None:
    # The prompt is task text, not a name: it may hold them, and the name made from it is safe.
    resp = client.post(
        "/tasks",
        json={
            "task_type": "delegation",
            "prompt": "Pay invoice\u202efdp.exe now",
            "agent_id": _agent(client),
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == "Pay invoice\\u202efdp.exe now"
    assert resp.json()["prompt"] == "Pay invoice\u202efdp.exe now"
