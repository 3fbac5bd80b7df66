"""The console's agents pages: the list, an agent's page, the create and edit forms with the API's
refusals next to their fields, run now, delete; secrets shown by name only (an http agent's
signing secret once, on the page that answers its creation). Also the API routes the pages use:
`GET /api/agents/{id}/users` and `GET /api/runs?agent_id=`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive import secret_store
from tests.integration.conftest import Aws
from tests.integration.test_console_conversations import BASE, api_headers, csrf_of, sign_in

LLM_FORM = {
    "runtime": "llm",
    "name": "analyst",
    "description": "Reads the numbers",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "api_key_secret": "openai-key",
    "system_prompt": "You are terse.\nAnswer in one line.",
    "tools": ["recent_runs", "fetch_url"],
    "max_attempts": "2",
    "max_requests": "5",
}
SCHEDULE = {
    "workspace_id": "ws-1",
    "name": "daily",
    "task_description": "Daily report",
    "cron_expression": "0 9 * * *",
}


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        sign_in(c, "ws-1", "ws-2")
        yield c


def csrf(browser: TestClient) -> str:
    return csrf_of(browser.get("/console/ws-1/agents/new").text)


def create(browser: TestClient, form: dict[str, Any]) -> Any:
    return browser.post("/console/ws-1/agents/new", data={"csrf": csrf(browser), **form})


def api_agent(browser: TestClient, workspace: str = "ws-1", **body: Any) -> dict[str, Any]:
    answer = browser.post(
        "/api/agents",
        json={"workspace_id": workspace, "name": "worker", **body},
        headers=api_headers(workspace),
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def agent_id_of(location: str) -> str:
    found = re.fullmatch(r"/console/ws-1/agents/([^/?]+)", location)
    assert found, location
    return found.group(1)


def test_the_list_shows_each_agent_with_what_it_runs_on(browser: TestClient) -> None:
    api_agent(browser, name="summariser")
    api_agent(
        browser,
        name="model-one",
        runtime="llm",
        config={"provider": "anthropic", "model": "claude-x", "api_key_secret": "anthropic-key"},
    )
    api_agent(browser, name="service", runtime="http", config={"url": "https://agent.example.com/run"})
    page = browser.get("/console/ws-1/agents")
    assert page.status_code == 200
    for text in (
        "summariser",
        "model-one",
        "claude-x",
        "https://agent.example.com/run",
        "Builtin",
        "LLM",
        "HTTP",
    ):
        assert text in page.text
    assert 'href="/console/ws-1/agents/new?runtime=llm"' in page.text


def test_creating_an_llm_agent_through_the_form(browser: TestClient) -> None:
    answer = create(browser, LLM_FORM)
    assert answer.status_code == 303, answer.text
    agent_id = agent_id_of(answer.headers["location"])
    stored = browser.get(f"/api/agents/{agent_id}", headers=api_headers()).json()
    config = stored["config"]
    assert (stored["name"], stored["runtime"], stored["description"]) == (
        "analyst",
        "llm",
        "Reads the numbers",
    )
    assert (config["provider"], config["model"], config["api_key_secret"]) == (
        "openai",
        "gpt-4o-mini",
        "openai-key",
    )
    assert config["system_prompt"] == "You are terse.\nAnswer in one line."
    assert sorted(config["tools"]) == ["fetch_url", "recent_runs"]
    assert (config["max_attempts"], config["usage_limits"]["max_requests"]) == (2, 5)
    page = browser.get(answer.headers["location"])
    assert page.status_code == 200
    assert "gpt-4o-mini" in page.text
    assert "openai-key" in page.text
    assert "You are terse." in page.text
    # The edit form holds what is stored.
    edit = browser.get(f"/console/ws-1/agents/{agent_id}/edit").text
    assert 'value="gpt-4o-mini"' in edit
    assert 'value="recent_runs" checked' in edit
    assert 'value="fetch_url" checked' in edit
    assert 'value="notify" checked' not in edit


def test_an_http_agents_secret_is_shown_once_and_header_secrets_only_by_name(browser: TestClient) -> None:
    secret_store.put("ws-1", "svc-token", "tok-very-private-value")
    answer = create(
        browser,
        {
            "runtime": "http",
            "name": "my-service",
            "url": "https://agent.example.com/run",
            "mode": "callback",
            "headers": "X-Team: blue\nAuthorization: Bearer {{secret:svc-token}}",
        },
    )
    assert answer.status_code == 201, answer.text
    secret = re.search(r'value="(whsec_[^"]+)"', answer.text)
    assert secret, answer.text
    assert "only time the secret is shown" in answer.text
    agent_id = re.search(r'href="/console/ws-1/agents/([^"/]+)"', answer.text).group(1)  # type: ignore[union-attr]
    stored = browser.get(f"/api/agents/{agent_id}", headers=api_headers()).json()["config"]
    assert stored["headers"] == {
        "X-Team": "blue",
        "Authorization": {"secret": "svc-token", "prefix": "Bearer "},
    }
    assert stored["mode"] == "callback"
    pages = [
        browser.get(f"/console/ws-1/agents/{agent_id}").text,
        browser.get(f"/console/ws-1/agents/{agent_id}/edit").text,
        browser.get("/console/ws-1/agents").text,
    ]
    for page in pages:
        assert secret.group(1) not in page
        assert "tok-very-private-value" not in page
    assert "svc-token" in pages[0]
    assert "Authorization: Bearer {{secret:svc-token}}" in pages[1]
    # A new secret is shown once too; the page after it does not hold it.
    regenerated = browser.post(
        f"/console/ws-1/agents/{agent_id}/regenerate-secret", data={"csrf": csrf(browser)}
    )
    assert regenerated.status_code == 200
    fresh = re.search(r'value="(whsec_[^"]+)"', regenerated.text)
    assert fresh
    assert fresh.group(1) != secret.group(1)
    assert fresh.group(1) not in browser.get(f"/console/ws-1/agents/{agent_id}").text


def test_the_apis_refusals_are_shown_next_to_their_fields(browser: TestClient) -> None:
    key_itself = create(browser, {**LLM_FORM, "api_key_secret": "sk-" + "a" * 40})
    assert key_itself.status_code == 422
    assert 'id="f-api_key_secret-error"' in key_itself.text
    assert "looks like an API key itself" in key_itself.text
    assert (
        'aria-invalid="true" aria-describedby="f-api_key_secret-hint f-api_key_secret-error"'
        in key_itself.text
    )
    assert 'value="analyst"' in key_itself.text  # what was typed is kept
    bad_number = create(browser, {**LLM_FORM, "temperature": "7"})
    assert bad_number.status_code == 422
    assert 'id="f-temperature-error"' in bad_number.text
    no_name = create(browser, {**LLM_FORM, "name": ""})
    assert no_name.status_code == 422
    assert 'id="f-name-error"' in no_name.text
    plain_credential = create(
        browser,
        {"runtime": "http", "name": "svc", "url": "https://a.example.com", "headers": "Authorization: abc"},
    )
    assert plain_credential.status_code == 422
    assert 'id="f-headers-error"' in plain_credential.text
    assert "carries a credential" in plain_credential.text
    bad_line = create(
        browser, {"runtime": "http", "name": "svc", "url": "https://a.example.com", "headers": "nonsense"}
    )
    assert bad_line.status_code == 422
    assert "line 1" in bad_line.text
    assert browser.get("/console/ws-1/agents/new?runtime=robot").status_code == 422
    assert browser.get("/api/agents", headers=api_headers()).json()["items"] == []


def test_editing_an_agent_saves_its_settings_or_shows_why_not(browser: TestClient) -> None:
    agent_id = agent_id_of(create(browser, LLM_FORM).headers["location"])
    edit_page = browser.get(f"/console/ws-1/agents/{agent_id}/edit").text
    changed = {
        **LLM_FORM,
        "model": "gpt-4.1",
        "tools": ["notify"],
        "name": "analyst-2",
        "csrf": csrf_of(edit_page),
    }
    answer = browser.post(f"/console/ws-1/agents/{agent_id}/edit", data=changed)
    assert answer.status_code == 303, answer.text
    stored = browser.get(f"/api/agents/{agent_id}", headers=api_headers()).json()
    assert (stored["name"], stored["config"]["model"], stored["config"]["tools"]) == (
        "analyst-2",
        "gpt-4.1",
        ["notify"],
    )
    refused = browser.post(f"/console/ws-1/agents/{agent_id}/edit", data={**changed, "provider": "bedrock"})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert "api_key_secret" in refused.text
    assert (
        browser.get(f"/api/agents/{agent_id}", headers=api_headers()).json()["config"]["provider"] == "openai"
    )


def test_run_now_starts_a_run_and_the_page_links_to_it(browser: TestClient) -> None:
    agent = api_agent(browser)
    answer = browser.post(
        f"/console/ws-1/agents/{agent['id']}/run", data={"csrf": csrf(browser), "task": "Sum up"}
    )
    assert answer.status_code == 303
    run_id = answer.headers["location"].split("started=")[1]
    page = browser.get(answer.headers["location"]).text
    assert f'href="/console/ws-1/runs/{run_id}"' in page
    assert f'id="run-{run_id}"' in page  # in the recent runs
    run = browser.get(f"/api/runs/{run_id}", headers=api_headers()).json()
    assert (run["agent_id"], run["task"], run["source_type"]) == (agent["id"], "Sum up", "manual")
    empty = browser.post(f"/console/ws-1/agents/{agent['id']}/run", data={"csrf": csrf(browser), "task": " "})
    assert empty.status_code == 422
    assert 'id="task-error"' in empty.text


def test_the_agents_page_shows_what_starts_it_and_refuses_to_delete_it_then(browser: TestClient) -> None:
    agent = api_agent(browser)
    made = browser.post(
        "/api/proactive/schedules", json={**SCHEDULE, "agent_id": agent["id"]}, headers=api_headers()
    )
    assert made.status_code == 201, made.text
    schedule_id = made.json()["id"]
    page = browser.get(f"/console/ws-1/agents/{agent['id']}").text
    assert f'href="/console/ws-1/schedules/{schedule_id}"' in page
    assert 'data-confirm="Delete the agent worker?' in page
    refused = browser.post(f"/console/ws-1/agents/{agent['id']}/delete", data={"csrf": csrf(browser)})
    assert refused.status_code == 409
    assert "is in use by 1 schedules" in refused.text
    assert schedule_id in refused.text
    browser.delete(f"/api/proactive/schedules/{schedule_id}", headers=api_headers())
    deleted = browser.post(f"/console/ws-1/agents/{agent['id']}/delete", data={"csrf": csrf(browser)})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/console/ws-1/agents"
    assert browser.get(f"/api/agents/{agent['id']}", headers=api_headers()).status_code == 404


def test_changes_without_the_csrf_token_are_refused(browser: TestClient) -> None:
    agent = api_agent(browser)
    base = f"/console/ws-1/agents/{agent['id']}"
    for path, data in [
        ("/console/ws-1/agents/new", {"runtime": "builtin", "name": "x"}),
        (f"{base}/edit", {"name": "renamed"}),
        (f"{base}/run", {"task": "go"}),
        (f"{base}/delete", {}),
        (f"{base}/regenerate-secret", {}),
    ]:
        assert browser.post(path, data=data).status_code == 403, path
    assert browser.get(f"/api/agents/{agent['id']}", headers=api_headers()).json()["name"] == "worker"
    assert len(browser.get("/api/agents", headers=api_headers()).json()["items"]) == 1
    assert browser.get("/api/runs", headers=api_headers()).json()["items"] == []


def test_another_workspaces_agent_is_not_found(browser: TestClient) -> None:
    other = api_agent(browser, workspace="ws-2")
    base = f"/console/ws-1/agents/{other['id']}"
    assert browser.get(base).status_code == 404
    assert browser.get(f"{base}/edit").status_code == 404
    assert browser.post(f"{base}/delete", data={"csrf": csrf(browser)}).status_code == 404
    assert browser.post(f"{base}/run", data={"csrf": csrf(browser), "task": "x"}).status_code == 404
    assert browser.get(f"/api/agents/{other['id']}", headers=api_headers("ws-2")).status_code == 200
    assert browser.get(f"/console/ws-2/agents/{other['id']}").status_code == 200


def test_a_malformed_stored_agent_does_not_break_the_list(browser: TestClient, aws: Aws) -> None:
    api_agent(browser, name="fine-agent")
    aws.store.agents.put(
        {"id": "agent-broken", "workspace_id": "ws-1", "name": "broken", "created_at": "nope"}
    )
    page = browser.get("/console/ws-1/agents")
    assert page.status_code == 200
    assert "fine-agent" in page.text


# The API routes the agent's page reads.


def test_the_api_lists_what_starts_an_agent(browser: TestClient) -> None:
    agent = api_agent(browser)
    browser.put("/api/workspace/settings", json={"default_agent_id": agent["id"]}, headers=api_headers())
    made = browser.post(
        "/api/proactive/schedules",
        json={**SCHEDULE, "agent_id": agent["id"], "name": "morning"},
        headers=api_headers(),
    )
    users = browser.get(f"/api/agents/{agent['id']}/users", headers=api_headers())
    assert users.status_code == 200
    assert users.json() == {
        "schedules": [{"id": made.json()["id"], "name": made.json()["name"]}],
        "triggers": [],
        "monitors": [],
        "actions": [],
        "autonomy": False,
        "default_agent": True,
    }
    assert browser.get(f"/api/agents/{agent['id']}/users", headers=api_headers("ws-2")).status_code == 404
    assert "/api/agents/{agent_id}/users" in browser.get("/openapi.json").json()["paths"]


def test_the_api_lists_the_runs_of_one_agent(browser: TestClient) -> None:
    one, two = api_agent(browser, name="one"), api_agent(browser, name="two")
    for agent, task in [(one, "a"), (two, "b"), (one, "c")]:
        made = browser.post(
            "/api/runs",
            json={"workspace_id": "ws-1", "agent_id": agent["id"], "task": task},
            headers=api_headers(),
        )
        assert made.status_code == 202, made.text
    runs = browser.get("/api/runs", params={"agent_id": one["id"]}, headers=api_headers()).json()["items"]
    assert [r["task"] for r in runs] == ["c", "a"]
    first = browser.get("/api/runs", params={"agent_id": one["id"], "limit": 1}, headers=api_headers()).json()
    assert [r["task"] for r in first["items"]] == ["c"]
    assert first["next_cursor"]
