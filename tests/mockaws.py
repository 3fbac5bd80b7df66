"""moto in-process with the table and queues the template declares, and fresh settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

from proactive.api import deps
from proactive.dev.local import create_resources
from proactive.settings import get_settings


def _forget_settings() -> None:
    get_settings.cache_clear()
    deps.get_store.cache_clear()
    deps.get_queue.cache_clear()


@contextmanager
def mocked_aws(queue_name: str = "proactive-runs", **env: str) -> Iterator[dict[str, str]]:
    """Yields the queue URLs and ARNs; RUN_QUEUE_URL and `env` are set while it lasts."""
    saved = {k: os.environ.get(k) for k in ("RUN_QUEUE_URL", *env)}
    with mock_aws():
        resources = create_resources(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table_name=os.environ["TABLE_NAME"],
            queue_name=queue_name,
        )
        os.environ.update({"RUN_QUEUE_URL": resources["queue_url"], **env})
        _forget_settings()
        try:
            yield resources
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _forget_settings()
