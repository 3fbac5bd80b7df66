"""The local stack's saved table: loaded back whole, and the work that was waiting is queued again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from fastapi.testclient import TestClient

from proactive import runs, schedules, wiring
from proactive.clock import iso
from proactive.dev import persistence
from proactive.loop import runs_view
from proactive.models.notifications import NotificationRecord
from proactive.models.runs import RunCreate
from proactive.models.schedules import ScheduleCreate
from proactive.queue import RunQueue
from proactive.store import Store
from tests.apps import api_app
from tests.integration.conftest import make_agent, token
from tests.mockaws import mocked_aws


def test_saved_table_loads_back_and_waiting_work_is_queued_again(tmp_path: Path) -> None:
    # A fixed clock: the schedule saved 30 s before its fire hands over exactly one occurrence.
    now = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
    with mocked_aws("before"):
        # Given a run queued for the next minute, a finished run, and an odd payload value
        store, queue = Store(), RunQueue()
        agent = make_agent(store)
        schedule = schedules.create_schedule(
            store,
            queue,
            wiring.bus(),
            ScheduleCreate(
                name="s",
                workspace_id="ws-1",
                agent_id=agent,
                task_description="t",
                cron_expression="* * * * *",
            ),
            now,
        )
        done = runs.delegate(
            store,
            queue,
            wiring.bus(),
            RunCreate(workspace_id="ws-1", agent_id=agent, task="x"),
            requested_by="u",
            now=now,
        )
        store.runs.update(done.id, {"status": "succeeded", "big": 10**37})
        # When the stack saves its table and stops
        saved = persistence.save(boto3.client("dynamodb"), store.table.name, tmp_path)

    with mocked_aws("after") as res:
        # And starts again with an empty moto
        store, queue = Store(), RunQueue()
        client = boto3.client("dynamodb")
        assert persistence.load(client, store.table.name, tmp_path) == saved
        # (a minute later, so the waiting run's time has come)
        requeued = persistence.requeue_unfinished(client, store.table.name, queue, now + timedelta(minutes=1))

        # Then everything is back as it was, and only the waiting run is queued again
        assert store.schedules.get(schedule.id) is not None
        assert store.runs.get(done.id).big == 10**37
        waiting = [r for r in store.runs.all_in("ws-1") if r.status == "queued"]
        assert len(waiting) == requeued == 1
        messages = boto3.client("sqs").receive_message(
            QueueUrl=res["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        )["Messages"]
        assert [json.loads(m["Body"]) for m in messages] == [{"run_id": waiting[0].id, "attempt": 1}]


def test_notifications_waiting_when_the_stack_stopped_are_sent_after_it_starts(tmp_path: Path) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with mocked_aws("before"):
        # Given one notification not yet tried, one waiting 30 s for its second try, one sent
        store = Store()
        store.channels.put(
            {
                "id": "chan-1",
                "workspace_id": "ws-1",
                "type": "webhook",
                "is_active": True,
                "created_at": "2026-06-01T11:00:00Z",
            }
        )
        base = {
            "workspace_id": "ws-1",
            "channel_id": "chan-1",
            "channel_type": "webhook",
            "event": "run.succeeded",
            "title": "Run succeeded",
            "notice": {},
        }
        for item in (
            {"id": "notif-new", "status": "queued", "attempts": 0},
            {
                "id": "notif-retry",
                "status": "retrying",
                "attempts": 1,
                "next_attempt_at": "2026-06-01T12:00:30Z",
            },
            {"id": "notif-sent", "status": "sent", "attempts": 1},
        ):
            notification = NotificationRecord.model_validate(
                {**base, **item, "created_at": "2026-06-01T11:59:00Z"}
            )
            assert store.notifications.create(notification)
        # When the stack saves its table, stops, and starts again 10 s later with an empty queue
        persistence.save(boto3.client("dynamodb"), store.table.name, tmp_path)

    with mocked_aws("after") as res:
        store, queue = Store(), RunQueue()
        client = boto3.client("dynamodb")
        persistence.load(client, store.table.name, tmp_path)
        requeued = persistence.requeue_unfinished(
            client, store.table.name, queue, now + timedelta(seconds=10)
        )

        # Then the two unsent ones are queued again, each for the attempt it was waiting for and
        # the retry when it was due (20 s on); the sent one is not sent twice
        sqs = boto3.client("sqs")
        sqs_messages = sqs.receive_message(
            QueueUrl=res["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        assert requeued == 2
        assert [json.loads(m["Body"]) for m in sqs_messages] == [
            {"notification_id": "notif-new", "attempt": 1}
        ]
        delayed = int(
            sqs.get_queue_attributes(
                QueueUrl=res["queue_url"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
            )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
        )
        assert delayed == 1


def test_an_analysis_under_way_when_the_stack_stopped_is_recorded_as_ended_with_its_action(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with mocked_aws("before"):
        # Given an analysis whose execution is acting on a goal, and one that had finished
        store = Store()
        runs_view.begin(store, "ws-1", "analysis-1", now, trigger="manual")
        runs_view.begin(store, "ws-1", "analysis-0", now - timedelta(hours=1), trigger="manual")
        store.analyses.update("analysis-0", {"status": "succeeded", "finished_at": iso(now)})
        store.goal_actions.create(
            {
                "id": "goalaction-1",
                "workspace_id": "ws-1",
                "goal_id": "goal-1",
                "analysis_id": "analysis-1",
                "action_id": "act-1",
                "status": "executing",
                "created_at": iso(now),
                "timeline": [],
            }
        )
        # When the stack saves its table and stops (its executions are in moto's memory)
        persistence.save(boto3.client("dynamodb"), store.table.name, tmp_path)

    with mocked_aws("after"):
        # And starts again, settling what was under way as it does at start-up
        store, client = Store(), boto3.client("dynamodb")
        persistence.load(client, store.table.name, tmp_path)
        later = now + timedelta(minutes=5)
        assert persistence.settle_goal_actions(client, store.table.name, later) == 1
        assert persistence.settle_analyses(client, store.table.name, later) == 1

        # Then the analysis shows it ended, and why, as its goal action does; the finished one is as it was
        with TestClient(api_app(), raise_server_exceptions=False) as api:
            api.headers["Authorization"] = f"Bearer {token('ws-1')}"
            shown = api.get("/api/autonomous/analyses/analysis-1").json()
            assert shown["status"] == "failed"
            assert "the local stack stopped" in shown["error"]
            assert shown["finished_at"] is not None
            assert api.get("/api/autonomous/analyses/analysis-0").json()["status"] == "succeeded"
            listed = {a["id"]: a["status"] for a in api.get("/api/autonomous/analyses").json()["items"]}
            assert listed == {"analysis-1": "failed", "analysis-0": "succeeded"}
        assert (store.goal_actions.get("goalaction-1") or {})["status"] == "error"
        # A second start finds nothing more to settle
        assert persistence.settle_analyses(client, store.table.name, later) == 0
