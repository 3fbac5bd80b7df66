"""Every sample event in events/ invokes its function's handler (as `sam local invoke` would)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proactive.dev.local import REPO_ROOT, LocalContext, load_handler
from tests.mockaws import mocked_aws

pytestmark = pytest.mark.infra
EVENTS = sorted((REPO_ROOT / "events").glob("*.json"))
# What a user sees for each API event; anything else from the API must be a 2xx.
EXPECTED_STATUS = {
    "api_create_agent.json": 201,
    "api_no_claims.json": 401,
    "ingest_github_pull_request.json": 404,  # no webhook at that URL in an empty table
}


@pytest.fixture
def deployed_env() -> Iterator[None]:
    """As in AWS: API Gateway verified the token, and the app trusts its claims."""
    with mocked_aws(AUTH_MODE="apigw"):
        yield


@pytest.mark.parametrize("path", EVENTS, ids=[p.name for p in EVENTS])
def test_sample_event_invokes_its_handler(path: Path, deployed_env: None) -> None:
    function = path.name.split("_")[0]
    handler = load_handler(function, instance="_events")
    event = json.loads(path.read_text())
    result: dict[str, Any] = handler.handler(event, LocalContext(f"{function.capitalize()}Function"))
    if function in ("api", "ingest"):
        body = json.loads(result["body"])
        assert result["statusCode"] == EXPECTED_STATUS.get(path.name, 200), body
        if result["statusCode"] >= 400:
            assert {"error", "message"} <= body.keys()
    elif function == "dispatcher":
        assert result["now"].startswith("2026-11-21T09:00:00")
        assert result["errors"] == []
    elif function == "goalloop":
        # The state machine's first step: the analysis recorded, what the later steps read.
        assert result["analysis_id"] == "analysis-sample"
        assert result["max_concurrent_goals"] == 3
    elif function in ("worker", "deadletters"):
        assert result == {"batchItemFailures": []}
    else:
        pytest.fail(f"no expectation for {path.name}")


def test_ingest_function_imports_no_web_framework() -> None:
    # The public endpoint's cold start stays small: no web framework, no validation library, no
    # X-Ray SDK, no HTTP client, and not even the AWS clients until the first delivery.
    code = (
        "import sys; from proactive.dev.local import load_handler; load_handler('ingest'); "
        "frameworks = {'fastapi', 'starlette', 'mangum', 'uvicorn', 'pydantic', 'aws_xray_sdk', 'httpx', "
        "'pydantic_ai', 'numpy'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & frameworks))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dispatcher_function_never_loads_the_llm_runtime() -> None:
    # The LLM runtime (Pydantic AI and the providers' SDKs) loads only where a run executes.
    code = (
        "import sys; from proactive.dev.local import load_handler; load_handler('dispatcher'); "
        "heavy = {'pydantic_ai', 'openai', 'anthropic', 'genai_prices', 'proactive.agents.runtimes.llm'}; "
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("function", ["api", "ingest", "dispatcher", "worker", "deadletters", "goalloop"])
def test_no_function_loads_the_client_sdk(function: str) -> None:
    # The SDK is for the API's clients; the layer leaves it out, so a function that imported it
    # would fail in AWS.
    code = (
        f"import sys; from proactive.dev.local import load_handler; load_handler({function!r}); "
        "print(sorted(m for m in sys.modules if m.startswith('proactive.sdk')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
