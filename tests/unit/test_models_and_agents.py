from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from proactive.agents import RunContext, runtime_for
from proactive.agents.runtimes.builtin import BuiltinRuntime
from proactive.errors import InvalidInput
from proactive.models.agents import AgentUpdate
from proactive.models.schedules import ScheduleCreate, ScheduleUpdate
from proactive.store.values import decode_cursor, encode_cursor


def test_builtin_agent_summarises_its_task_deterministically() -> None:
    agent = {"name": "report-agent"}
    ctx = RunContext(run_id="run-1", source_type="schedule", source_id="sched-1", attempt=1)
    task = "Generate daily metrics report. Include signups and churn."
    first = BuiltinRuntime().execute(agent, task, ctx)
    assert first == BuiltinRuntime().execute(agent, task, ctx)
    assert first.output == (
        "Builtin agent 'report-agent' summary of the schedule task (8 words): Generate daily metrics report."
    )


def test_builtin_agent_refuses_config() -> None:
    with pytest.raises(InvalidInput) as err:
        BuiltinRuntime().validate_config({"url": "x"})
    assert err.value.field == "config"


def test_unknown_runtime_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="unknown runtime 'gpt'") as err:
        runtime_for("gpt")
    assert err.value.field == "runtime"


def test_schedule_defaults_match_the_documented_policy() -> None:
    body = ScheduleCreate(
        name="Daily Report",
        workspace_id="ws-456",
        agent_id="a",
        task_description="t",
        cron_expression="0 9 * * *",
    )
    assert (body.timezone, body.catch_up, body.overlap, body.is_active) == ("UTC", "latest", "skip", True)


def test_schedule_rejects_unknown_fields_and_bad_policies() -> None:
    with pytest.raises(ValidationError, match="catch_up"):
        ScheduleCreate.model_validate(
            {
                "name": "n",
                "workspace_id": "w",
                "agent_id": "a",
                "task_description": "t",
                "cron_expression": "* * * * *",
                "catch_up": "sometimes",
            }
        )
    with pytest.raises(ValidationError, match="Extra inputs"):
        ScheduleUpdate.model_validate({"cron": "* * * * *"})


def test_patch_refuses_null_for_required_fields() -> None:
    with pytest.raises(ValidationError, match="name cannot be null"):
        AgentUpdate.model_validate({"name": None})
    assert AgentUpdate.model_validate({"description": None}).model_fields_set == {"description"}


def test_cursor_round_trip_and_tampering() -> None:
    key = {"PK": "RUN#1", "SK": "RUN", "GSI1PK": "WS#w#RUN", "GSI1SK": "2026#1"}
    assert decode_cursor(encode_cursor(key), index="GSI1", partition="WS#w#RUN") == key
    hand_made = [
        base64.urlsafe_b64encode(json.dumps(k).encode()).decode()
        for k in ({"a": "b"}, {"PK": "AGENT#x"}, {**key, "GSI1PK": "WS#other#RUN"}, {**key, "SK": 7})
    ]
    for bad in ("%%%", "bm90LWpzb24", "WzEsMl0", *hand_made):
        with pytest.raises(InvalidInput, match="cursor is not one this API returned") as err:
            decode_cursor(bad, index="GSI1", partition="WS#w#RUN")
        assert err.value.field == "cursor"
