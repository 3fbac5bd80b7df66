"""The console's runs pages, and the runs list's filters in the API: the list and its filters in
the address, the rows that follow new runs (stream and polling), bulk cancel and replay, and the
run page (its waterfall, links, masking, another workspace's run)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.clock import iso
from proactive.models.runs import RunStatus, SourceType
from proactive.runs import new_run
from tests.integration.conftest import Aws, make_agent, token

BASE = "http://127.0.0.1:8000"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    """A console session holding ws-1 and ws-2 (pages are of ws-1)."""
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        page = c.get("/console/login")
        answer = c.post("/console/login", data={"csrf": _csrf(page.text), "token": token("ws-1", "ws-2")})
        assert answer.status_code == 303, answer.text
        c.headers["X-Test"] = "console"
        yield c


@pytest.fixture
def api(aws: Aws) -> Iterator[TestClient]:
    from tests.apps import api_app

    with TestClient(api_app(), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token('ws-1')}"
        yield c


def _run(
    aws: Aws,
    agent_id: str,
    *,
    at: datetime,
    workspace: str = "ws-1",
    status: RunStatus = RunStatus.SUCCEEDED,
    task: str = "Summarise the day",
    source: SourceType = SourceType.MANUAL,
    source_id: str | None = "tester",
    **extra: Any,
) -> str:
    run = new_run(
        workspace_id=workspace,
        agent_id=agent_id,
        task=task,
        source_type=source,
        source_id=source_id,
        now=at,
        status=status,
        **extra,
    )
    assert aws.store.runs.create(run)
    return run.id


@pytest.fixture
def world(aws: Aws) -> dict[str, str]:
    """Two agents in ws-1 with runs of every kind, and one run in ws-2."""
    alpha = make_agent(aws.store, name="alpha-agent")
    beta = make_agent(aws.store, name="beta-agent")
    other = make_agent(aws.store, "ws-2", name="other-agent")
    return {
        "alpha": alpha,
        "beta": beta,
        "old": _run(aws, alpha, at=T0, task="Old report on Sales"),
        "failed": _run(
            aws,
            beta,
            at=T0 + timedelta(hours=1),
            status=RunStatus.FAILED,
            task="Check the invoices",
            error="Upstream TIMEOUT while fetching",
        ),
        "queued": _run(aws, alpha, at=T0 + timedelta(hours=2), status=RunStatus.QUEUED, task="Queued work"),
        "scheduled": _run(
            aws,
            beta,
            at=T0 + timedelta(hours=3),
            source=SourceType.SCHEDULE,
            source_id="sched_abc",
            task="Daily digest",
        ),
        "foreign": _run(aws, other, at=T0 + timedelta(hours=4), workspace="ws-2", status=RunStatus.QUEUED),
    }


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["items"]]


# The API's filters


def test_the_api_filters_by_agent_time_range_and_text(api: TestClient, world: dict[str, str]) -> None:
    assert _ids(api.get("/api/runs")) == [world[k] for k in ("scheduled", "queued", "failed", "old")]
    assert _ids(api.get("/api/runs", params={"agent_id": world["alpha"]})) == [world["queued"], world["old"]]
    since, until = iso(T0 + timedelta(hours=1)), iso(T0 + timedelta(hours=3))
    # `since` is included, `until` is not.
    assert _ids(api.get("/api/runs", params={"since": since, "until": until})) == [
        world["queued"],
        world["failed"],
    ]
    assert _ids(api.get("/api/runs", params={"since": since})) == [
        world["scheduled"],
        world["queued"],
        world["failed"],
    ]
    assert _ids(api.get("/api/runs", params={"until": "2026-03-01T13:30:00+01:00"})) == [world["old"]]
    # Text in the task or in the error, in any case.
    assert _ids(api.get("/api/runs", params={"q": "sales"})) == [world["old"]]
    assert _ids(api.get("/api/runs", params={"q": "timeout"})) == [world["failed"]]
    assert _ids(
        api.get("/api/runs", params={"q": "d", "agent_id": world["beta"], "status": "succeeded"})
    ) == [world["scheduled"]]
    # With a source type and id, the range is read from that source's listing.
    assert (
        _ids(
            api.get(
                "/api/runs",
                params={"source_type": "schedule", "source_id": "sched_abc", "since": since, "until": until},
            )
        )
        == []
    )
    assert _ids(api.get("/api/runs", params={"source_type": "schedule", "source_id": "sched_abc"})) == [
        world["scheduled"]
    ]


def test_a_time_range_pages_through_every_shard(aws: Aws, api: TestClient) -> None:
    agent = make_agent(aws.store)
    made = [_run(aws, agent, at=T0 + timedelta(minutes=i)) for i in range(12)]
    params: dict[str, Any] = {
        "since": iso(T0 + timedelta(minutes=2)),
        "until": iso(T0 + timedelta(minutes=10)),
        "limit": 3,
    }
    seen: list[str] = []
    while True:
        answer = api.get("/api/runs", params=params)
        seen.extend(_ids(answer))
        if not answer.json()["next_cursor"]:
            break
        params["cursor"] = answer.json()["next_cursor"]
    assert seen == list(reversed(made[2:10]))


def test_a_filtered_page_reads_a_bounded_number_of_runs(
    aws: Aws, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proactive.api import routes_runs

    monkeypatch.setattr(routes_runs, "MAX_READ", 4)
    agent = make_agent(aws.store)
    wanted = _run(aws, agent, at=T0, task="the needle")
    for i in range(1, 11):
        _run(aws, agent, at=T0 + timedelta(minutes=i), task=f"hay {i}")
    answer = api.get("/api/runs", params={"q": "needle", "limit": 5})
    assert answer.status_code == 200
    assert answer.json()["items"] == []
    assert answer.json()["next_cursor"]
    found: list[str] = []
    cursor = answer.json()["next_cursor"]
    for _ in range(5):
        page = api.get("/api/runs", params={"q": "needle", "limit": 5, "cursor": cursor}).json()
        found.extend(r["id"] for r in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert found == [wanted]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-03-01T12:00:00"}, "until"),  # no offset
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"q": "x" * 201}, "q"),
        ({"q": ""}, "q"),
        ({"agent_id": "a" * 129}, "agent_id"),
        ({"status": "sleeping"}, "status"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    api: TestClient, params: dict[str, str], field: str
) -> None:
    answer = api.get("/api/runs", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_the_filters_are_documented(api: TestClient) -> None:
    listed = api.get("/openapi.json").json()["paths"]["/api/runs"]["get"]
    described = {p["name"]: p.get("description", "") for p in listed["parameters"]}
    for name in ("status", "source_type", "source_id", "agent_id", "since", "until", "q"):
        assert described[name], name
    assert "fewer than `limit`" in listed["description"]


# The runs page


def test_the_runs_page_lists_runs_with_agent_names_and_filters_in_the_address(
    browser: TestClient, world: dict[str, str]
) -> None:
    page = browser.get("/console/ws-1/runs")
    assert page.status_code == 200
    for key in ("old", "failed", "queued", "scheduled"):
        assert f'id="run-{world[key]}"' in page.text
    assert world["foreign"] not in page.text
    assert "alpha-agent" in page.text
    assert "beta-agent" in page.text
    assert "Upstream TIMEOUT while fetching" in page.text
    assert 'href="/console/ws-1/schedules?id=sched_abc"' in page.text
    assert "data-live=" in page.text
    assert "data-poll=" in page.text
    assert " style=" not in page.text
    assert "<script>" not in page.text

    page = browser.get(
        "/console/ws-1/runs",
        params={"status": "failed", "agent_id": world["beta"], "q": "invoices", "since": "2026-03-01T12:30"},
    )
    assert page.status_code == 200
    assert f'id="run-{world["failed"]}"' in page.text
    assert f'id="run-{world["old"]}"' not in page.text
    # The form shows the filters, and the live rows follow the same ones.
    assert '<option value="failed" selected>' in page.text
    assert 'value="2026-03-01T12:30"' in page.text
    assert 'value="invoices"' in page.text
    live = re.search(r'data-live="([^"]+)"', page.text)
    assert live
    assert "status=failed" in live.group(1)
    assert "q=invoices" in live.group(1)

    page = browser.get("/console/ws-1/runs", params={"until": "2026-03-01T12:30:00Z"})
    assert f'id="run-{world["old"]}"' in page.text
    assert world["failed"] not in page.text


def test_the_runs_page_says_which_filter_is_wrong(browser: TestClient, world: dict[str, str]) -> None:
    page = browser.get("/console/ws-1/runs", params={"since": "last tuesday"})
    assert page.status_code == 422
    assert "<strong>since</strong>" in page.text
    assert 'id="f-since"' in page.text  # the form is still there to fix it
    page = browser.get("/console/ws-1/runs", params={"status": "sleeping"})
    assert page.status_code == 422
    assert "<strong>status</strong>" in page.text


def test_pages_of_runs_follow_the_cursor(
    aws: Aws, browser: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proactive.console import routes_runs

    monkeypatch.setattr(routes_runs, "PAGE_SIZE", 2)
    agent = make_agent(aws.store)
    made = [_run(aws, agent, at=T0 + timedelta(minutes=i), task=f"job {i}") for i in range(3)]
    page = browser.get("/console/ws-1/runs", params={"agent_id": agent})
    more = re.search(r'<p class="more"><a href="([^"]+)"', page.text)
    assert more
    assert f"agent_id={agent}" in more.group(1)
    older = browser.get(more.group(1).replace("&amp;", "&"))
    assert f'id="run-{made[0]}"' in older.text
    assert f'id="run-{made[2]}"' not in older.text
    assert "data-live=" not in older.text  # an older page does not follow new runs


def test_rows_for_polling_and_the_live_stream(
    aws: Aws, browser: TestClient, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from proactive.console import routes_runs

    rows = browser.get("/console/ws-1/runs/rows", params={"status": "queued"}, headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert f'<tr id="run-{world["queued"]}">' in rows.text
    assert world["old"] not in rows.text
    assert "<html" not in rows.text

    # One look, then the stream ends (as it does after a few minutes).
    monkeypatch.setattr(routes_runs, "STREAM_SECONDS", 0.0)
    monkeypatch.setattr(routes_runs, "LOOK_EVERY", 0.01)
    answer = browser.get("/console/ws-1/runs/live", params={"agent_id": world["alpha"]})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-store"
    events = [e for e in answer.text.split("\n\n") if e.startswith("data:")]
    assert len(events) == 1
    data = "\n".join(line.removeprefix("data: ") for line in events[0].splitlines())
    assert f'<tr id="run-{world["queued"]}">' in data
    assert f'<tr id="run-{world["old"]}">' in data
    assert world["failed"] not in data


def test_the_stream_sends_only_what_changed(aws: Aws, world: dict[str, str]) -> None:
    """Two looks: the second sends the run whose status changed and the new one, nothing else."""
    import asyncio

    from proactive.console import routes_runs
    from proactive.console.routes_runs import Filters

    pages = [
        {"items": [{"id": "run_a", "status": "queued"}, {"id": "run_b", "status": "succeeded"}]},
        {
            "items": [
                {"id": "run_c", "status": "queued"},
                {"id": "run_a", "status": "running"},
                {"id": "run_b", "status": "succeeded"},
            ]
        },
    ]

    class Client:
        looks = 0

        async def is_disconnected(self) -> bool:
            return self.looks >= 2

    client = Client()

    async def page(request: Any, viewer: Any, filters: Any, cursor: Any = None) -> dict[str, Any]:
        client.looks += 1
        return pages[client.looks - 1]

    async def collect() -> list[str]:
        original = routes_runs._page
        routes_runs._page = page  # type: ignore[assignment]
        try:
            from proactive.console.session import Session
            from proactive.console.web import Viewer

            viewer = Viewer(Session("tester", frozenset({"ws-1"}), "sid", 0), "ws-1")
            return [m async for m in routes_runs._changes(client, viewer, Filters({}), {})]  # type: ignore[arg-type]
        finally:
            routes_runs._page = original  # type: ignore[assignment]

    messages = [m for m in asyncio.run(collect()) if m.startswith("data:")]
    assert len(messages) == 2
    assert "run-run_a" in messages[0]
    assert "run-run_b" in messages[0]
    assert "run-run_c" in messages[1]
    assert "run-run_a" in messages[1]
    assert "run-run_b" not in messages[1]
    assert messages[1].index("run-run_c") < messages[1].index("run-run_a")


def test_inside_lambda_the_page_polls_instead_of_streaming(
    browser: TestClient, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "proactive-api")
    page = browser.get("/console/ws-1/runs")
    assert "data-live=" not in page.text
    assert 'data-poll="/console/ws-1/runs/rows?' in page.text
    assert browser.get("/console/ws-1/runs/live").status_code == 404


# Bulk cancel and replay


def test_bulk_needs_the_page_token_and_at_most_100_runs(
    aws: Aws, browser: TestClient, world: dict[str, str]
) -> None:
    refused = browser.post("/console/ws-1/runs/bulk", data={"action": "cancel", "ids": [world["queued"]]})
    assert refused.status_code == 403
    assert aws.store.runs.get(world["queued"]).status == "queued"  # type: ignore[union-attr]

    csrf = _csrf(browser.get("/console/ws-1/runs").text)
    many = browser.post(
        "/console/ws-1/runs/bulk",
        data={"csrf": csrf, "action": "cancel", "ids": [f"run_{i}" for i in range(101)]},
    )
    assert many.status_code == 422
    assert "at most 100 runs" in many.text
    nothing = browser.post("/console/ws-1/runs/bulk", data={"csrf": csrf, "action": "cancel"})
    assert nothing.status_code == 422
    assert "select at least one run" in nothing.text
    odd = browser.post(
        "/console/ws-1/runs/bulk", data={"csrf": csrf, "action": "delete", "ids": [world["queued"]]}
    )
    assert odd.status_code == 422


def test_bulk_cancel_says_what_happened_to_each_run(
    aws: Aws, browser: TestClient, world: dict[str, str]
) -> None:
    csrf = _csrf(browser.get("/console/ws-1/runs").text)
    ids = [world["queued"], world["old"], world["foreign"], "../agents", "run_missing"]
    answer = browser.post(
        "/console/ws-1/runs/bulk",
        data={"csrf": csrf, "action": "cancel", "ids": ids, "back": "/console/ws-1/runs?status=queued"},
    )
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert "1 of 5 runs cancelled; 4 could not be." in text
    assert aws.store.runs.get(world["queued"]).status == "cancelled"  # type: ignore[union-attr]
    assert "has already finished (succeeded)" in text
    # Another workspace's run (one the person holds too) is not found here, and left alone.
    assert re.search(
        rf'{world["foreign"]}</span></td>\s*<td>\s*<span class="status status-failed">not found', text
    )
    assert aws.store.runs.get(world["foreign"]).status == "queued"  # type: ignore[union-attr]
    assert "this is not a run id" in text
    assert 'href="/console/ws-1/runs?status=queued"' in text


def test_bulk_replay_links_the_new_runs(aws: Aws, browser: TestClient, world: dict[str, str]) -> None:
    csrf = _csrf(browser.get("/console/ws-1/runs").text)
    answer = browser.post(
        "/console/ws-1/runs/bulk",
        data={"csrf": csrf, "action": "replay", "ids": [world["failed"], world["old"], world["foreign"]]},
    )
    assert answer.status_code == 200
    assert "2 of 3 runs replayed; 1 could not be." in answer.text
    replays = aws.store.runs.get(world["failed"]).replays  # type: ignore[union-attr]
    assert len(replays) == 1
    assert f'href="/console/ws-1/runs/{replays[0]}"' in answer.text
    assert aws.store.runs.get(world["foreign"]).replays == []  # type: ignore[union-attr]


# The run page


def test_another_workspace_s_run_is_not_found(browser: TestClient, world: dict[str, str]) -> None:
    answer = browser.get(f"/console/ws-1/runs/{world['foreign']}")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert browser.get("/console/ws-1/runs/no%20such%20run").status_code == 404
    assert browser.get("/console/ws-3/runs").status_code == 404


def test_the_run_page_shows_a_waterfall_links_and_masked_input(aws: Aws, browser: TestClient) -> None:
    agent = make_agent(aws.store, name="researcher")
    at = T0 + timedelta(seconds=1)

    def step(seconds: float, kind: str, **details: Any) -> dict[str, Any]:
        return {"at": iso(at + timedelta(seconds=seconds)), "type": kind, **details}

    steps = [
        step(0, "attempt_started", attempt=1),
        step(1.5, "model_request", input_tokens=1200, output_tokens=80, duration_ms=1400),
        step(
            2.0,
            "tool_call",
            tool="search",
            arguments={"q": "x"},
            ok=False,
            duration_ms=300,
            error="tool broke",
        ),
        step(2.2, "http_request", url="agent.example", status=503, duration_ms=150),
        step(2.3, "attempt_failed", error="503 from agent", retry_at=iso(at + timedelta(seconds=4))),
        step(4.1, "attempt_started", attempt=2),
        step(4.5, "waiting_for_callback", until=iso(at + timedelta(hours=1))),
        step(7.0, "callback_received", ok=True, webhook_id="cb-1"),
    ]
    run_id = _run(
        aws,
        agent,
        at=T0,
        source=SourceType.WEBHOOK,
        source_id="wh_1",
        delivery_id="dlv_1",
        payload={"order": 7, "api_key": "sk-live-123", "nested": {"password": "hunter2"}},
        steps=steps,
        started_at=at,
        finished_at=at + timedelta(seconds=7),
        attempts=2,
        output='{"answer": 42, "token": "tok-999"}',
        usage={"requests": 1, "input_tokens": 1200, "output_tokens": 80, "tool_calls": 1, "cost_usd": 0.0123},
    )
    page = browser.get(f"/console/ws-1/runs/{run_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<svg" in text
    assert 'role="img"' in text
    for kind in (
        "wf-queued",
        "wf-attempt",
        "wf-model",
        "wf-tool wf-failed",
        "wf-http wf-failed",
        "wf-retry",
        "wf-wait",
        "wf-callback",
        "wf-error",
    ):
        assert f'class="wf-bar {kind}' in text, kind
    assert "1,200 in / 80 out tokens" in text
    assert "tool broke" in text
    assert "$0.01" in text
    assert "1,280" in text
    assert 'href="/console/ws-1/webhooks?id=wh_1"' in text
    assert "dlv_1" in text
    assert 'href="/console/ws-1/runs?source_type=webhook&amp;source_id=wh_1"' in text
    assert 'href="/console/ws-1/agents?id=' in text
    assert "researcher" in text
    # Secrets never shown, the rest is.
    assert "sk-live-123" not in text
    assert "hunter2" not in text
    assert "tok-999" not in text
    assert "&#34;order&#34;: 7" in text or '"order": 7' in text
    assert 'data-copy="#run-input"' in text
    assert 'data-copy="#run-output"' in text
    assert " style=" not in text
    assert "<script>" not in text
    # A finished run offers replay, not cancel.
    assert f'action="/console/ws-1/runs/{run_id}/replay"' in text
    assert "/cancel" not in text


def test_a_run_with_odd_stored_data_still_shows(aws: Aws, browser: TestClient) -> None:
    agent = make_agent(aws.store)
    created = iso(T0)
    aws.store.runs.put(
        {
            "id": "run_odd",
            "workspace_id": "ws-1",
            "agent_id": agent,
            "source_type": "manual",
            "status": "running",
            "created_at": created,
            "task": "bare",
            "steps": [{"at": created, "type": "attempt_started"}, {"at": created, "type": "mystery"}],
            "usage": {"input_tokens": 5},
        },
        extra={"GSI1PK": "WS#ws-1#RUN#0", "GSI1SK": f"{created}#run_odd"},
    )
    page = browser.get("/console/ws-1/runs/run_odd")
    assert page.status_code == 200, page.text
    assert "No output yet" in page.text
    assert "Cancel run" in page.text
    listed = browser.get("/console/ws-1/runs")
    assert listed.status_code == 200
    assert 'id="run-run_odd"' in listed.text


def test_replay_and_cancel_from_the_run_page(aws: Aws, browser: TestClient, world: dict[str, str]) -> None:
    page = browser.get(f"/console/ws-1/runs/{world['failed']}")
    csrf = _csrf(page.text)
    assert browser.post(f"/console/ws-1/runs/{world['failed']}/replay").status_code == 403
    answer = browser.post(f"/console/ws-1/runs/{world['failed']}/replay", data={"csrf": csrf})
    assert answer.status_code == 303
    new_page = answer.headers["location"]
    new_id = new_page.rsplit("/", 1)[1]
    assert aws.store.runs.get(new_id).replay_of == world["failed"]  # type: ignore[union-attr]
    shown = browser.get(new_page).text
    assert f'href="/console/ws-1/runs/{world["failed"]}"' in shown
    assert "Replay of" in shown
    original = browser.get(f"/console/ws-1/runs/{world['failed']}").text
    assert f'href="/console/ws-1/runs/{new_id}"' in original

    answer = browser.post(f"/console/ws-1/runs/{new_id}/cancel", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/ws-1/runs/{new_id}"
    assert "status-cancelled" in browser.get(new_page).text
    again = browser.post(f"/console/ws-1/runs/{new_id}/cancel", data={"csrf": csrf})
    assert again.status_code == 409
    assert "already finished" in again.text
    foreign = browser.post(f"/console/ws-1/runs/{world['foreign']}/cancel", data={"csrf": csrf})
    assert foreign.status_code == 404
    assert aws.store.runs.get(world["foreign"]).status == "queued"  # type: ignore[union-attr]


def test_a_run_chained_from_another_links_both_ways(aws: Aws, browser: TestClient) -> None:
    from proactive.console.runs_view import chained_run_id

    agent = make_agent(aws.store)
    parent = _run(aws, agent, at=T0)
    made = browser.post(
        "/api/proactive/triggers",
        headers={"Authorization": f"Bearer {token('ws-1')}"},
        json={
            "workspace_id": "ws-1",
            "name": "after-runs",
            "agent_id": agent,
            "trigger_type": "event",
            "config": {"event": "run.succeeded"},
            "task_template": "Follow up",
        },
    )
    assert made.status_code == 201, made.text
    child = chained_run_id(made.json()["id"], parent)
    _run(
        aws,
        agent,
        at=T0 + timedelta(minutes=1),
        run_id=child,
        source=SourceType.TRIGGER,
        source_id=made.json()["id"],
        payload={"run_id": parent, "status": "succeeded"},
    )
    assert f'href="/console/ws-1/runs/{child}"' in browser.get(f"/console/ws-1/runs/{parent}").text
    shown = browser.get(f"/console/ws-1/runs/{child}").text
    assert "Chained from" in shown
    assert f'href="/console/ws-1/runs/{parent}"' in shown
