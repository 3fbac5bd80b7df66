"""Every sample event in events/ invokes its function's handler (as `sam local invoke` would)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from proactive.api import deps
from proactive.local import REPO_ROOT, LocalContext, create_resources, load_handler
from proactive.settings import get_settings

pytestmark = pytest.mark.infra
EVENTS = sorted((REPO_ROOT / "events").glob("*.json"))
# What a user sees for each API event; anything else from the API must be a 2xx.
EXPECTED_STATUS = {"api_create_agent.json": 201, "api_no_claims.json": 401}


@pytest.fixture
def deployed_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in AWS: API Gateway verified the token, and the app trusts its claims."""
    with mock_aws():
        resources = create_resources(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table_name=os.environ["TABLE_NAME"],
            queue_name="proactive-runs",
        )
        monkeypatch.setenv("RUN_QUEUE_URL", resources["queue_url"])
        monkeypatch.setenv("AUTH_MODE", "apigw")
        get_settings.cache_clear()
        deps.get_store.cache_clear()
        deps.get_queue.cache_clear()
        yield
    get_settings.cache_clear()
    deps.get_store.cache_clear()
    deps.get_queue.cache_clear()


@pytest.mark.parametrize("path", EVENTS, ids=[p.name for p in EVENTS])
def test_sample_event_invokes_its_handler(path: Path, deployed_env: None) -> None:
    function = path.name.split("_")[0]
    handler = load_handler(function, instance="_events")
    event = json.loads(path.read_text())
    result: dict[str, Any] = handler.handler(event, LocalContext(f"{function.capitalize()}Function"))
    if function == "api":
        body = json.loads(result["body"])
        assert result["statusCode"] == EXPECTED_STATUS.get(path.name, 200), body
        if result["statusCode"] >= 400:
            assert {"error", "message"} <= body.keys()
    elif function == "dispatcher":
        assert result["now"].startswith("2026-11-21T09:00:00")
        assert result["errors"] == []
    elif function == "worker":
        assert result == {"batchItemFailures": []}
    else:
        pytest.fail(f"no expectation for {path.name}")
