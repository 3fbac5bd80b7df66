"""The goal loop's state machine, as the rest of the platform talks to it: start an execution
(one per analysis), and end a wait one of its tasks is in (an approval, an agent's run).

An execution's name is the analysis id, so starting one twice starts it once: AWS answers a
repeated start of a standard workflow with the same name and input with the running execution,
and an `ExecutionAlreadyExists` (same name, other input, or an emulator) is taken as that too.
The machine's ARN comes from `GOAL_LOOP_STATE_MACHINE_ARN`; the ASL is `infra/goal_loop.asl.json`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from proactive import aws
from proactive.errors import ServiceUnavailable
from proactive.observability import logger

ARN_VARIABLE = "GOAL_LOOP_STATE_MACHINE_ARN"
# Errors a task can end with; the ASL's Catch names them.
REJECTED = "Rejected"
ACTION_FAILED = "ActionFailed"

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _client() -> Any:
    with _lock:
        if "sfn" not in _clients:
            _clients["sfn"] = aws.client("stepfunctions")
        return _clients["sfn"]


def reset_client() -> None:
    """Forget the client (tests point the platform at a new emulator)."""
    with _lock:
        _clients.clear()


def state_machine_arn() -> str:
    arn = os.environ.get(ARN_VARIABLE)
    if not arn:
        raise ServiceUnavailable(
            f"the goal loop's state machine is not configured ({ARN_VARIABLE} is not set)"
        )
    return arn


def execution_name(analysis_id: str) -> str:
    """Step Functions names allow 80 characters of letters, digits, `-` and `_`."""
    return analysis_id[:80]


def start(analysis_id: str, workspace_id: str, trigger: str, analysed_at: str) -> str:
    """Start the execution that runs analysis `analysis_id`; its ARN (also when it had started)."""
    arn = state_machine_arn()
    name = execution_name(analysis_id)
    document = {
        "workspace_id": workspace_id,
        "analysis_id": analysis_id,
        "trigger": trigger,
        "analysed_at": analysed_at,
    }
    try:
        started = _client().start_execution(stateMachineArn=arn, name=name, input=json.dumps(document))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
            execution = arn.replace(":stateMachine:", ":execution:") + f":{name}"
            logger.info("goal loop analysis already started", extra={"analysis_id": analysis_id})
            return execution
        raise ServiceUnavailable(f"the goal loop's state machine could not be started: {exc}") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(f"the goal loop's state machine could not be reached: {exc}") from exc
    logger.info("goal loop analysis started", extra={"analysis_id": analysis_id, "trigger": trigger})
    return str(started["executionArn"])


def succeed(token: str, output: Mapping[str, Any]) -> bool:
    """End the wait of the task holding `token` with `output`; False if it no longer waits (it
    timed out, or its execution ended)."""
    return _end(lambda c: c.send_task_success(taskToken=token, output=json.dumps(output, default=str)))


def fail(token: str, error: str, cause: str) -> bool:
    """End the wait of the task holding `token` with `error` (a name the ASL catches)."""
    return _end(lambda c: c.send_task_failure(taskToken=token, error=error, cause=cause[:32_000]))


def _end(call: Any) -> bool:
    try:
        call(_client())
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            logger.info("a goal loop task no longer waits", extra={"error": code})
            return False
        raise
    return True
