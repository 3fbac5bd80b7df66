"""moto in-process with the table and queues the template declares, and fresh settings."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

from proactive.api import deps
from proactive.dev import state_machine
from proactive.dev.local import LocalContext, create_resources, load_handler
from proactive.loop import machine
from proactive.settings import get_settings

# Executions stopped as a test ends log their interruption as errors: that is expected there.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


def _forget_settings() -> None:
    get_settings.cache_clear()
    deps.get_store.cache_clear()
    deps.get_queue.cache_clear()


@contextmanager
def mocked_aws(queue_name: str = "proactive-runs", **env: str) -> Iterator[dict[str, str]]:
    """Yields the queue URLs and ARNs; RUN_QUEUE_URL and `env` are set while it lasts."""
    saved = {k: os.environ.get(k) for k in ("RUN_QUEUE_URL", machine.ARN_VARIABLE, *env)}
    with mock_aws(config=state_machine.CONFIG):
        resources = create_resources(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table_name=os.environ["TABLE_NAME"],
            queue_name=queue_name,
        )
        os.environ.update({"RUN_QUEUE_URL": resources["queue_url"], **env})
        _forget_settings()
        # The goal loop's state machine, executed by moto, its Tasks run by the real handler.
        sfn = boto3.client("stepfunctions")
        os.environ[machine.ARN_VARIABLE] = state_machine.create(sfn)
        machine.reset_client()
        goal_loop = load_handler("goalloop")
        state_machine.install(
            lambda event: goal_loop.handler(event, LocalContext(state_machine.FUNCTION_NAME, 900))
        )
        resources["state_machine_arn"] = os.environ[machine.ARN_VARIABLE]
        try:
            yield resources
        finally:
            state_machine.stop_all(sfn)
            machine.reset_client()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _forget_settings()
