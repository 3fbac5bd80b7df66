"""The console's notifications pages, what tells a channel (the API's subscriptions), and the
console links notifications carry to the runs they are about."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.models.notifications import NotificationRecord
from proactive.settings import get_settings
from tests.fakes import DiscordWebhook, WebhookReceiver
from tests.fakes.receivers import DISCORD_TOKEN
from tests.integration.conftest import Aws, token
from tests.integration.test_console_webhooks import BASE, csrf, sign_in

WHEN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """The console as a browser signed in to ws-1 (and ws-2) sees it."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        sign_in(c, token("ws-1", "ws-2"))
        yield c


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def channel(
    client: TestClient, type_: str, config: dict[str, Any], name: str, ws: str = "ws-1"
) -> dict[str, Any]:
    resp = client.post(
        "/api/notifications/channels",
        json={"workspace_id": ws, "name": name, "type": type_, "config": config},
        headers={"Authorization": f"Bearer {token(ws)}"},
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def sent(aws: Aws, chan: dict[str, Any], n: int, **fields: Any) -> str:
    """A notification in the log, as the outbox records one."""
    record = NotificationRecord.model_validate(
        {
            "id": f"ntf-{n}",
            "workspace_id": "ws-1",
            "channel_id": chan["id"],
            "channel_type": chan["type"],
            "event": "run.failed",
            "title": "Run failed: nightly",
            "run_id": f"run-{n}",
            "subject_id": f"run-{n}",
            "status": "sent",
            "attempts": 1,
            "http_status": 204,
            "answer": "",
            "created_at": WHEN + timedelta(minutes=n),
            **fields,
        }
    )
    assert aws.store.notifications.create(record)
    return record.id


def test_the_page_shows_channels_masked_and_what_was_sent(
    client: TestClient, browser: TestClient, aws: Aws, receiver: WebhookReceiver
) -> None:
    with DiscordWebhook() as discord:
        ops = channel(client, "discord", {"webhook_url": discord.url}, "ops (discord)")
    hook = channel(client, "webhook", {"url": receiver.url}, "audit hook")
    client.put("/api/workspace/settings", json={"default_channels": [ops["id"]]})
    sent(aws, ops, 1)
    sent(
        aws,
        hook,
        2,
        event="monitor.failing",
        run_id=None,
        subject_id="mon-7",
        status="failed",
        attempts=3,
        http_status=500,
        answer="upstream broke",
        reason="the receiver kept failing",
    )
    sent(aws, hook, 3, event="test", run_id=None, subject_id=None, status="retrying")

    page = browser.get("/console/ws-1/notifications")
    assert page.status_code == 200, page.text
    text = page.text
    assert "ops (discord)" in text
    assert "audit hook" in text
    assert DISCORD_TOKEN not in text
    assert "••••" in text
    assert hook["secret"] not in text
    assert "A default channel" in text
    rows = dict(re.findall(r'<tr id="ntf-ntf-([^"]+)">(.*?)</tr>', text, re.S))
    assert 'href="/console/ws-1/runs/run-1"' in rows["1"]
    assert "status-sent" in rows["1"]
    assert 'href="/console/ws-1/monitors/mon-7"' in rows["2"]
    assert "HTTP 500" in rows["2"]
    assert "upstream broke" in rows["2"]
    assert "the receiver kept failing" in rows["2"]
    assert ">3</td>" in rows["2"]
    assert "/runs/" not in rows["3"]
    assert "/monitors/" not in rows["3"]
    assert list(rows) == ["3", "2", "1"]  # newest first
    assert f'action="/console/ws-1/notifications/channels/{hook["id"]}/test"' in text


def test_the_log_is_filtered_and_paged_by_the_url(
    client: TestClient, browser: TestClient, aws: Aws, receiver: WebhookReceiver
) -> None:
    one = channel(client, "webhook", {"url": receiver.url}, "one")
    two = channel(client, "webhook", {"url": receiver.url_for("/two")}, "two")
    for n in range(3):
        sent(aws, one, n)
    sent(aws, two, 7)

    only_two = browser.get(f"/console/ws-1/notifications?channel_id={two['id']}").text
    assert re.findall(r'<tr id="ntf-ntf-([^"]+)">', only_two) == ["7"]
    assert f'<option value="{two["id"]}" selected>' in only_two
    one_run = browser.get("/console/ws-1/notifications?run_id=run-1").text
    assert re.findall(r'<tr id="ntf-ntf-([^"]+)">', one_run) == ["1"]
    assert 'value="run-1"' in one_run
    none = browser.get("/console/ws-1/notifications?run_id=run-none").text
    assert "Nothing was sent that matches." in none

    from proactive.console import routes_notifications

    page_size, routes_notifications.PAGE = routes_notifications.PAGE, 2
    try:
        first = browser.get(f"/console/ws-1/notifications?channel_id={one['id']}")
        older = re.search(r'<a href="([^"]+)">Older notifications</a>', first.text)
        assert older, first.text
        second = browser.get(older.group(1).replace("&amp;", "&"))
    finally:
        routes_notifications.PAGE = page_size
    assert re.findall(r'<tr id="ntf-ntf-([^"]+)">', first.text) == ["2", "1"]
    assert re.findall(r'<tr id="ntf-ntf-([^"]+)">', second.text) == ["0"]
    garbage = browser.get("/console/ws-1/notifications?cursor=garbage")
    assert garbage.status_code == 422
    assert "cursor" in garbage.text
    assert garbage.headers["content-type"].startswith("text/html")


def test_the_test_button_shows_what_the_receiver_answered(
    client: TestClient, browser: TestClient, receiver: WebhookReceiver
) -> None:
    hook = channel(client, "webhook", {"url": receiver.url}, "audit hook")
    page = browser.get("/console/ws-1/notifications")
    test = f"/console/ws-1/notifications/channels/{hook['id']}/test"

    assert browser.post(test).status_code == 403
    assert browser.post(test, data={"csrf": "forged"}).status_code == 403
    assert receiver.messages == []

    answer = browser.post(test, data={"csrf": csrf(page.text)})
    assert answer.status_code == 200, answer.text
    assert "status-sent" in answer.text
    assert "HTTP 200" in answer.text
    assert "received" in answer.text
    assert "<h1>Test message to audit hook</h1>" in answer.text
    [message] = receiver.messages
    assert (message["type"], message["title"]) == ("test", "Test Notification")
    # From the page (htmx), the answer is the outcome alone, shown in place.
    inline = browser.post(test, headers={"HX-Request": "true", "X-CSRF-Token": csrf(page.text)})
    assert inline.status_code == 200
    assert "<html" not in inline.text
    assert "status-sent" in inline.text
    assert hook["secret"] not in answer.text + inline.text


def test_a_test_the_receiver_refuses_shows_its_answer(client: TestClient, browser: TestClient) -> None:
    with WebhookReceiver(secret="whsec_" + "A" * 40) as strict:  # checks a signature it cannot match
        hook = channel(client, "webhook", {"url": strict.url}, "strict")
        page = browser.get(f"/console/ws-1/notifications/channels/{hook['id']}")
        answer = browser.post(
            f"/console/ws-1/notifications/channels/{hook['id']}/test", data={"csrf": csrf(page.text)}
        )
    assert answer.status_code == 200, answer.text
    assert "HTTP 401" in answer.text
    assert "invalid signature" in answer.text
    assert "status-sent" not in answer.text


def test_the_channel_page_shows_what_tells_it(
    client: TestClient, browser: TestClient, aws: Aws, receiver: WebhookReceiver
) -> None:
    hook = channel(client, "webhook", {"url": receiver.url}, "audit hook")
    agent = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "reporter",
            "notify": {"channels": [hook["id"]], "on": ["start", "failure"]},
        },
    ).json()
    schedule = client.post(
        "/api/proactive/schedules",
        json={
            "workspace_id": "ws-1",
            "name": "Daily Report",
            "agent_id": agent["id"],
            "task_description": "Report",
            "cron_expression": "0 9 * * *",
            "notify": {"channels": [hook["id"]], "on": ["success", "failure"]},
        },
    )
    assert schedule.status_code == 201, schedule.text
    client.put("/api/workspace/settings", json={"default_channels": [hook["id"]]})
    sent(aws, hook, 1)

    told = client.get(f"/api/notifications/channels/{hook['id']}/subscriptions")
    assert told.status_code == 200, told.text
    found = {(s["kind"], s["name"]): s["events"] for s in told.json()["items"]}
    assert found == {
        ("schedules", "Daily Report"): ["run.succeeded", "run.failed", "occurrence.missed"],
        ("agents", "reporter"): ["run.started", "run.failed"],
        ("workspace_settings", "default_channels"): [
            "run.failed",
            "monitor.failing",
            "monitor.recovered",
            "occurrence.missed",
            "goal.analysis",
            "goal.approval_requested",
        ],
    }
    other = client.get(
        f"/api/notifications/channels/{hook['id']}/subscriptions",
        headers={"Authorization": f"Bearer {token('ws-2')}"},
    )
    assert other.status_code == 404

    page = browser.get(f"/console/ws-1/notifications/channels/{hook['id']}")
    assert page.status_code == 200, page.text
    assert "Daily Report" in page.text
    assert "occurrence.missed" in page.text
    assert "run.started" in page.text
    assert 'href="/console/ws-1/runs/run-1"' in page.text
    assert hook["secret"] not in page.text


def test_another_workspaces_channel_answers_404(
    client: TestClient, browser: TestClient, receiver: WebhookReceiver
) -> None:
    theirs = channel(client, "webhook", {"url": receiver.url}, "theirs", ws="ws-2")
    assert browser.get(f"/console/ws-1/notifications/channels/{theirs['id']}").status_code == 404
    page = browser.get(f"/console/ws-2/notifications/channels/{theirs['id']}")
    assert page.status_code == 200
    tested = browser.post(
        f"/console/ws-1/notifications/channels/{theirs['id']}/test", data={"csrf": csrf(page.text)}
    )
    assert tested.status_code == 404
    assert receiver.messages == []


def test_a_malformed_stored_notification_does_not_break_the_log(
    client: TestClient, browser: TestClient, aws: Aws, receiver: WebhookReceiver
) -> None:
    hook = channel(client, "webhook", {"url": receiver.url}, "audit hook")
    sent(aws, hook, 1)
    sent(aws, hook, 2, title="Run failed: <b>nightly</b>")
    broken = aws.store.notifications.item(aws.store.notifications.get("ntf-1"))  # type: ignore[arg-type]
    aws.store.table.put({**broken, "status": "no-such-status", "attempts": "many"})

    page = browser.get("/console/ws-1/notifications")
    assert page.status_code == 200, page.text
    assert re.findall(r'<tr id="ntf-ntf-([^"]+)">', page.text) == ["2"]
    assert "Run failed: &lt;b&gt;nightly&lt;/b&gt;" in page.text


def test_notifications_link_to_the_runs_console_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from proactive.notifications import wording

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    assert wording.run_link("ws-1", "run_1") is None
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://proactive.example/")
    get_settings.cache_clear()
    try:
        assert wording.run_link("ws 1", "run_1") == "https://proactive.example/console/ws%201/runs/run_1"
        run = {
            "id": "run_9",
            "workspace_id": "ws-1",
            "source_type": "manual",
            "source_id": "alice",
            "status": "failed",
            "task": "t",
            "reason": "boom",
        }
        notice = wording.for_run(run, "failed", WHEN, agent_name="reporter")
        assert notice.link == "https://proactive.example/console/ws-1/runs/run_9"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
