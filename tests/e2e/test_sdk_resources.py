"""The SDK's resources beyond agents, runs, schedules, triggers, webhooks, monitors and channels,
against the local stack: conversations answered whole and streamed (an llm agent on a fake
OpenAI-compatible server on loopback), tasks, secrets, the workspace, metrics and events pushed
in batches, the goal loop with its approvals, suggestions; the sync client in a plain function
and inside a running event loop; lists followed page after page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from proactive import Delta, Proactive, ProactiveError, ProactiveSync, ToolCall, TurnFailed
from proactive.models.conversations import Message, TurnAccepted
from tests.fakes import OpenAIChatServer, call_tool, openai_error, say
from tests.localstack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def model() -> Iterator[OpenAIChatServer]:
    with OpenAIChatServer(api_key="test-key") as server:
        yield server


def connect(stack: Stack, workspace: str) -> Proactive:
    return Proactive(stack.base_url, stack.token(workspace))


def test_a_conversation_streams_its_answer_as_deltas_and_tool_calls(
    stack: Stack, model: OpenAIChatServer
) -> None:
    workspace = "ws-sdk-chat"
    token = stack.token(workspace)

    async def scenario() -> dict[str, Any]:
        async with Proactive(stack.base_url, token) as proactive:
            secret = await proactive.secrets.set("model-key", "test-key")
            agent = await proactive.agents.create(
                workspace_id=workspace,
                name="assistant",
                runtime="llm",
                config={
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "base_url": model.api_base,
                    "api_key_secret": "model-key",
                    "tools": ["recent_runs"],
                },
            )
            conversation = await proactive.conversations.create(agent_id=agent.id, title="Reliability")
            model.script(call_tool("recent_runs", {"limit": 3}), say("No runs failed in the last day."))
            streamed = [e async for e in proactive.conversations.stream(conversation.id, "Any failures?")]
            model.script(say("Paris."))
            sent = await proactive.conversations.send(conversation.id, "Capital of France?")
            model.script(say("Nothing else to add."))
            carried = await proactive.conversations.carry_on(conversation.id, instruction="Wrap up")
            first = await proactive.conversations.messages(conversation.id, limit=2)
            every = [m async for m in proactive.conversations.iterate_messages(conversation.id, limit=2)]
            with pytest.raises(ProactiveError) as in_use:
                await proactive.secrets.delete("model-key")
            return {
                "secret": secret,
                "listed": (await proactive.secrets.list()).items,
                "streamed": streamed,
                "sent": sent,
                "carried": carried,
                "first": first,
                "every": every,
                "in_use": in_use.value,
                "conversation": await proactive.conversations.get(conversation.id),
            }

    seen = asyncio.run(scenario())

    # The secret's value went in, and no answer holds it
    assert "test-key" not in seen["secret"].model_dump_json()
    [listed] = seen["listed"]
    assert (listed.name, [u.kind for u in listed.used_by]) == ("model-key", ["agent"])
    assert (seen["in_use"].status, seen["in_use"].code) == (409, "conflict")
    # Streamed: the tool call, then the text in pieces, then the stored message
    streamed = seen["streamed"]
    assert [(c.tool, c.arguments) for c in streamed if isinstance(c, ToolCall)] == [
        ("recent_runs", {"limit": 3})
    ]
    deltas = [e.text for e in streamed if isinstance(e, Delta)]
    assert len(deltas) > 1
    final = streamed[-1]
    assert isinstance(final, Message)
    assert "".join(deltas) == final.content == "No runs failed in the last day."
    assert final.usage is not None
    assert final.usage.tool_calls == 1
    assert isinstance(seen["sent"], Message)
    assert seen["sent"].content == "Paris."
    assert isinstance(seen["carried"], Message)
    assert seen["carried"].content == "Nothing else to add."
    # Pages of two, then all of them: the user's and the assistant's, oldest first
    assert len(seen["first"].items) == 2
    assert seen["first"].next_cursor
    every = seen["every"]
    assert [m.role for m in every] == ["user", "assistant", "user", "assistant", "assistant"]
    assert every[1].id == final.id
    assert seen["conversation"].message_count == len(every)

    # The sync client, in a plain function: the same stream as an iterator
    model.script(say("Still nothing failed."))
    with ProactiveSync(stack.base_url, token) as client:
        conversation_id = seen["conversation"].id
        events = list(client.conversations.stream(conversation_id, "And now?"))
        assert "".join(e.text for e in events if isinstance(e, Delta)) == "Still nothing failed."
        assert isinstance(events[-1], Message)
        assert client.conversations.get(conversation_id).message_count == len(every) + 2


def test_the_sync_client_works_inside_a_running_event_loop_and_lists_follow_their_pages(
    stack: Stack,
) -> None:
    workspace = "ws-sdk-pages-2"
    token = stack.token(workspace)

    async def scenario() -> dict[str, Any]:
        # A blocking client where a loop already runs (a notebook): its calls run on a loop of
        # their own, and the running one is never re-entered.
        client = ProactiveSync(stack.base_url, token)
        made = {client.agents.create(workspace_id=workspace, name=f"agent {i}").id for i in range(5)}
        first = client.agents.list(limit=2)
        every = [a.id for a in client.agents.iterate(limit=2)]
        for_break = client.agents.iterate(limit=2)
        one = next(for_break)
        for_break.close()  # leaving early closes the pages being read
        async with Proactive(stack.base_url, token) as proactive:
            awaited = await proactive.agents.list(limit=2)
            followed = [a.id async for a in proactive.agents.list(limit=2)]  # a list call, in async for
            iterated = [a.id async for a in proactive.agents.iterate(limit=3)]
            resumed = [a.id async for a in proactive.agents.iterate(limit=2, cursor=awaited.next_cursor)]
        return {
            "made": made,
            "first": first,
            "every": every,
            "one": one,
            "awaited": awaited,
            "followed": followed,
            "iterated": iterated,
            "resumed": resumed,
            "health": client.health(),
        }

    seen = asyncio.run(scenario())

    assert len(seen["first"].items) == 2
    assert seen["first"].next_cursor
    assert sorted(seen["every"]) == sorted(seen["made"])
    assert seen["one"].id == seen["every"][0]
    assert [a.id for a in seen["awaited"].items] == seen["every"][:2]
    assert seen["followed"] == seen["iterated"] == seen["every"]
    assert seen["resumed"] == seen["every"][2:]
    assert seen["health"]["status"] == "ok"


def test_tasks_are_delegated_scheduled_edited_run_and_deleted(stack: Stack) -> None:
    workspace = "ws-sdk-tasks"
    with ProactiveSync(stack.base_url, stack.token(workspace)) as client:
        agent = client.agents.create(workspace_id=workspace, name="writer")
        client.workspace.update_settings(default_agent_id=agent.id)
        delegated = client.tasks.create(task_type="delegation", prompt="Summarise the week")
        assert delegated.agent_id == agent.id
        assert delegated.run_id
        assert client.runs.wait(delegated.run_id, timeout=60, interval=0.2).status == "succeeded"

        daily = client.tasks.create(
            task_type="scheduled",
            prompt="Daily report",
            schedule_expression="0 9 * * *",
            timezone="Europe/Paris",
        )
        assert daily.next_run
        assert "T09:00:00+0" in daily.next_run
        assert client.tasks.disable(daily.id).status == "disabled"
        assert client.tasks.enable(daily.id).status == "active"
        assert client.tasks.update(daily.id, prompt="Daily report, short").prompt == "Daily report, short"
        run = client.tasks.execute(daily.id)
        assert client.runs.wait(run.id, timeout=60, interval=0.2).output
        assert [t.id for t in client.tasks.iterate(task_type="scheduled")] == [daily.id]
        assert {t.id for t in client.tasks.list().items} == {daily.id, delegated.id}

        client.tasks.delete(daily.id)
        with pytest.raises(ProactiveError) as gone:
            client.tasks.get(daily.id)
        assert gone.value.status == 404
        with pytest.raises(ProactiveError) as gone:
            client.schedules.get(str(daily.schedule_id))
        assert gone.value.status == 404


def test_metrics_and_events_are_sent_in_batches_and_refusals_name_their_place_in_the_list(
    stack: Stack,
) -> None:
    workspace = "ws-sdk-series"
    now = datetime.now(UTC).replace(microsecond=0)
    points: list[dict[str, Any]] = [
        {"metric_name": "queue_depth", "value": float(i), "timestamp": now - timedelta(minutes=10 - i)}
        for i in range(7)
    ]
    points[1]["value"] = "many"  # refused, in the first batch of three
    for i in (3, 4, 5):  # the whole second batch is refused
        points[i]["metric_name"] = "has space"

    with ProactiveSync(stack.base_url, stack.token(workspace)) as client:
        recorded = client.metrics.record(points, batch_size=3)
        assert recorded.accepted == 3
        assert [(r.index, r.field) for r in recorded.refused] == [
            (1, "metrics[1].value"),
            (3, "metrics[3].metric_name"),
            (4, "metrics[4].metric_name"),
            (5, "metrics[5].metric_name"),
        ]
        assert [p.index for p in recorded.points] == [0, 2, 6]
        with pytest.raises(ProactiveError) as none_stored:
            client.metrics.record([points[1], points[3]], batch_size=1)
        assert (none_stored.value.status, none_stored.value.field) == (422, "metrics[0].value")

        client.metrics.add("queue_depth", 42.0)
        [summary] = client.metrics.list().items
        assert (summary.metric_name, summary.count, summary.last_value) == ("queue_depth", 4, 42.0)
        stored = [
            p.value
            for p in client.metrics.iterate_points("queue_depth", since=now - timedelta(hours=1), limit=2)
        ]
        assert stored == [0.0, 2.0, 6.0, 42.0]

        events = [
            {
                "event_type": "deploy",
                "metadata": {"version": f"1.{i}"},
                "timestamp": now - timedelta(minutes=i),
            }
            for i in range(1, 4)
        ]
        assert client.events.record(events, batch_size=2).accepted == 3
        client.events.add("login", {"user": "ada"})
        deploys = [e.metadata["version"] for e in client.events.iterate(event_type="deploy", limit=2)]
        assert deploys == ["1.1", "1.2", "1.3"]
        assert [e.event_type for e in client.events.list(limit=1).items] == ["login"]


def _climb(metric: str, start: datetime, minutes: int) -> list[dict[str, Any]]:
    """Three hours climbing toward 80: on this course it passes 80 within minutes."""
    return [
        {
            "metric_name": metric,
            "value": round(55 + 24 * i / minutes + (0.3 if i % 2 else -0.3), 2),
            "timestamp": start + timedelta(minutes=i),
        }
        for i in range(minutes + 1)
    ]


@pytest.mark.goal_loop
def test_the_goal_loop_sets_goals_whose_planned_actions_are_approved_and_rejected(stack: Stack) -> None:
    workspace = "ws-sdk-loop"

    async def scenario() -> dict[str, Any]:
        async with connect(stack, workspace) as proactive:
            agent = await proactive.agents.create(workspace_id=workspace, name="scaler")
            action = await proactive.actions.create(
                name="scale out",
                goal_types=["BOTTLENECK_PREVENTION"],
                kind="agent",
                agent_id=agent.id,
                task_template="{title}",
                requires_approval=True,
            )
            renamed = await proactive.actions.update(action.id, description="Adds capacity")
            settings = await proactive.loop.update_settings(
                rules=[
                    "cpu_usage <= 80 horizon_hours=2 severity=high",
                    "memory_usage <= 80 horizon_hours=2 severity=high",
                ],
                forecasting={"goal_setter": {"max_active_goals": 5}},
            )
            start = datetime.now(UTC) - timedelta(minutes=180)
            await proactive.metrics.record(
                _climb("cpu_usage", start, 180) + _climb("memory_usage", start, 180)
            )
            forecast = await proactive.loop.predictions(horizon_hours=2, limit=1)
            forecasts = [
                p.metric_name async for p in proactive.loop.iterate_predictions(horizon_hours=2, limit=1)
            ]
            started = await proactive.loop.analyze()
            deadline = time.monotonic() + 90
            while len(waiting := (await proactive.approvals.list()).items) < 2:
                assert time.monotonic() < deadline, "no approvals asked for"
                await asyncio.sleep(0.3)
            approved = await proactive.approvals.approve(waiting[0].id)
            rejected = await proactive.approvals.reject(waiting[1].id)
            with pytest.raises(ProactiveError) as decided:
                await proactive.approvals.approve(waiting[1].id)
            mode = await proactive.loop.set_mode(True)
            off = await proactive.loop.set_mode(False)
            return {
                "renamed": renamed,
                "settings": settings,
                "forecast": forecast,
                "forecasts": forecasts,
                "started": started,
                "approved": approved,
                "rejected": rejected,
                "decided": decided.value,
                "mode": mode,
                "off": off,
                "goal": await proactive.loop.goal(approved.goal_id),
                "goals": [g.id async for g in proactive.loop.iterate_goals(status="active", limit=1)],
                "analyses": (await proactive.loop.analyses()).items,
                "analysis": await proactive.loop.analysis(started.id),
                "report": await proactive.loop.report(),
                "statistics": await proactive.actions.statistics(),
                "insights": await proactive.actions.insights(),
                "remaining": (await proactive.approvals.list()).items,
                "settings_now": await proactive.loop.settings(),
            }

    seen = asyncio.run(scenario())

    assert seen["renamed"].description == "Adds capacity"
    assert seen["settings"].forecasting.goal_setter.max_active_goals == 5
    assert len(seen["forecast"].predictions) == 1
    assert seen["forecast"].next_cursor
    assert sorted(seen["forecasts"]) == ["cpu_usage", "memory_usage"]
    assert (seen["approved"].status, seen["rejected"].status) == ("approved", "rejected")
    assert (seen["decided"].status, seen["decided"].code) == (409, "conflict")
    assert (seen["mode"].autonomous_mode, seen["off"].autonomous_mode) == (True, False)
    assert seen["goal"].goal_type == "BOTTLENECK_PREVENTION"
    assert [a.id for a in seen["goal"].actions] == [seen["approved"].id]
    assert sorted(seen["goals"]) == sorted([seen["approved"].goal_id, seen["rejected"].goal_id])
    assert seen["analysis"].id in [a.id for a in seen["analyses"]]
    assert seen["analysis"].steps
    assert sum(seen["report"].goals_by_status.values()) == 2
    assert seen["statistics"].totals.actions == 1
    assert [i.name for i in seen["insights"].actions] == ["scale out"]
    assert seen["remaining"] == []
    assert seen["settings_now"].version >= 1


def test_suggestions_are_mined_then_accepted_dismissed_and_snoozed(stack: Stack) -> None:
    workspace = "ws-sdk-suggest"
    now = datetime.now(UTC).replace(microsecond=0)
    spikes = {100, 260, 420, 600}
    points = [
        {
            "metric_name": metric,
            "value": 95.0 if i in spikes or i - 1 in spikes else 50.0 + (i * 7919 % 11) / 2,
            "timestamp": now - timedelta(hours=700 - i),
        }
        for metric in ("cpu", "disk_io")
        for i in range(700)
    ]
    with ProactiveSync(stack.base_url, stack.token(workspace)) as client:
        agent = client.agents.create(workspace_id=workspace, name="ops")
        client.workspace.update_settings(default_agent_id=agent.id)
        assert client.metrics.record(points, batch_size=500).accepted == len(points)
        mined = client.suggestions.refresh()
        assert mined.status == "mined"
        cpu, disk = sorted(client.suggestions.iterate(kind="monitor", limit=1), key=lambda s: s.subject)
        assert (cpu.subject, disk.subject) == ("metric:cpu", "metric:disk_io")
        assert {p.subject for p in client.suggestions.patterns().patterns} >= {"metric:cpu", "metric:disk_io"}

        accepted = client.suggestions.accept(cpu.id, overrides={"check_interval": 600})
        assert accepted.created
        assert accepted.resource
        assert client.monitors.get(accepted.resource["id"]).check_interval == 600
        assert client.suggestions.accept(cpu.id).created is False
        snoozed = client.suggestions.snooze(disk.id, now + timedelta(days=3))
        assert snoozed.status == "snoozed"
        dismissed = client.suggestions.dismiss(disk.id, reason="we watch it elsewhere")
        assert (dismissed.status, dismissed.dismissed_reason) == ("dismissed", "we watch it elsewhere")
        assert client.suggestions.get(cpu.id).status == "accepted"
        assert [s.id for s in client.suggestions.list(status="dismissed").items] == [disk.id]


def test_the_workspace_settings_login_links_and_secrets(stack: Stack) -> None:
    workspace = "ws-sdk-workspace"
    with ProactiveSync(stack.base_url, stack.token(workspace)) as client:
        agent = client.agents.create(workspace_id=workspace, name="default")
        channel = client.channels.create(
            workspace_id=workspace, name="ops", type="ntfy", config={"topic": "ops"}
        )
        settings = client.workspace.update_settings(default_agent_id=agent.id, default_channels=[channel.id])
        assert (settings.default_agent_id, settings.default_channels) == (agent.id, [channel.id])
        assert client.workspace.settings() == settings
        link = client.workspace.login_link()
        assert link.url.startswith(f"{stack.base_url}/console/login?code=")
        assert link.expires_at > datetime.now(UTC)

        first = client.secrets.set("quote-key", "first value")
        second = client.secrets.set("quote-key", "second value")
        assert second.created_at == first.created_at
        assert second.updated_at >= first.updated_at
        assert [s.name for s in client.secrets.iterate()] == ["quote-key"]
        client.secrets.delete("quote-key")
        assert client.secrets.list().items == []
        with pytest.raises(ProactiveError) as bad:
            client.secrets.set("no spaces allowed", "sk-never-shown")
        assert bad.value.status == 422
        assert "sk-never-shown" not in f"{bad.value} {bad.value.details}"


def test_a_streamed_turn_whose_agent_fails_raises_naming_its_run(
    stack: Stack, model: OpenAIChatServer
) -> None:
    workspace = "ws-sdk-chat-fail"
    with ProactiveSync(stack.base_url, stack.token(workspace)) as client:
        client.secrets.set("model-key", "test-key")
        agent = client.agents.create(
            workspace_id=workspace,
            name="assistant",
            runtime="llm",
            config={
                "provider": "openai",
                "model": "gpt-4o-mini",
                "base_url": model.api_base,
                "api_key_secret": "model-key",
            },
        )
        conversation = client.conversations.create(agent_id=agent.id)
        model.script(openai_error(400, "This model's maximum context length is exceeded."))
        with pytest.raises(TurnFailed) as failed:
            list(client.conversations.stream(conversation.id, "Hello?"))
        assert failed.value.run_id
        assert client.runs.get(failed.value.run_id).status == "failed"
        deep = client.conversations.create(agent_id=agent.id, pattern_type="deep_research")
        model.script(say("A report."))
        [accepted] = list(client.conversations.stream(deep.id, "Research the outages"))
        assert isinstance(accepted, TurnAccepted)
        assert accepted.conversation_id == deep.id
