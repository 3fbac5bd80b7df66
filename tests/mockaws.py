"""moto in-process with the table and queues the template declares, and fresh settings."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from proactive import secret_store
from proactive.api import deps
from proactive.dev import moto_dynamodb, serial, state_machine
from proactive.dev.local import LocalContext, create_resources, load_handler
from proactive.loop import machine
from proactive.settings import get_settings

# Executions stopped as a test ends log their interruption as errors: that is expected there.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
# The API, the worker and a state machine's execution call moto from several threads at once.
serial.in_process()
# Queries read the partition they name, not every item of the table (moto's way).
moto_dynamodb.install()
state_machine.batch_on_first_use()


@functools.cache
def _session() -> boto3.Session:
    """One boto3 session for every mocked world of the process: a new session parses botocore's
    endpoint and service models again (a tenth of a second a world). moto answers whatever
    session calls it, and what a session keeps (models, credentials from the environment) is
    the same in every world.

    Its clients are kept too, one for each service, region, endpoint and credentials from the
    environment: a world's code makes half a dozen (the store's, the queue's, the secrets'), at
    about ten milliseconds each, and moto answers a client of an earlier world in the world of
    the moment. A client made with arguments is made anew."""
    session = boto3.Session()
    make = session.client
    made: dict[tuple[str, ...], Any] = {}
    making = threading.Lock()

    def client(service_name: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return make(service_name, *args, **kwargs)
        environment = tuple(
            f"{name}={value}"
            for name, value in sorted(os.environ.items())
            if name.startswith(("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID"))
        )
        key = (service_name, *environment)
        with making:
            if key not in made:
                made[key] = make(service_name)
            return made[key]

    session.client = client  # type: ignore[method-assign]
    return session


def _forget_settings() -> None:
    get_settings.cache_clear()
    deps.get_store.cache_clear()
    deps.get_queue.cache_clear()
    secret_store.forget()  # its Parameter Store client and what it read belong to the last world


@contextmanager
def mocked_aws(
    queue_name: str = "proactive-runs", *, goal_loop: bool = False, **env: str
) -> Iterator[dict[str, str]]:
    """Yields the queue URLs and ARNs; RUN_QUEUE_URL and `env` are set while it lasts. With
    `goal_loop`, the goal loop's state machine too (it costs a few tenths of a second)."""
    saved = {k: os.environ.get(k) for k in ("RUN_QUEUE_URL", machine.ARN_VARIABLE, *env)}
    with mock_aws(config=state_machine.CONFIG):
        boto3.DEFAULT_SESSION = _session()  # moto set it aside; restored as the mock ends
        resources = create_resources(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table_name=os.environ["TABLE_NAME"],
            queue_name=queue_name,
        )
        os.environ.update({"RUN_QUEUE_URL": resources["queue_url"], **env})
        _forget_settings()
        sfn = boto3.client("stepfunctions") if goal_loop else None
        if sfn is not None:
            # The goal loop's state machine, executed by moto, its Tasks run by the real handler.
            os.environ[machine.ARN_VARIABLE] = state_machine.create(sfn)
            handler = load_handler("goalloop")
            state_machine.install(
                lambda event: handler.handler(event, LocalContext(state_machine.FUNCTION_NAME, 900))
            )
            resources["state_machine_arn"] = os.environ[machine.ARN_VARIABLE]
        else:
            os.environ.pop(machine.ARN_VARIABLE, None)
        machine.reset_client()
        try:
            yield resources
        finally:
            if sfn is not None:
                state_machine.stop_all(sfn)
            machine.reset_client()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _forget_settings()
