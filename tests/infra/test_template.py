"""template.yaml against the code: the local stack builds what the template deploys."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from proactive.dev.local import REPO_ROOT
from proactive.queue import (
    BATCH_SIZE,
    DLQ_RETENTION_SECONDS,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_SECONDS,
    WORKER_TIMEOUT_SECONDS,
)
from proactive.settings import default
from proactive.store.keys import TTL_ATTRIBUTE, table_definition

pytestmark = pytest.mark.infra
TEMPLATE = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub...) as plain values."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        suffix: loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    },
)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(), Loader=_CfnLoader))  # noqa: S506 - a SafeLoader subclass


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def _sorted(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: i[key])


def test_table_matches_the_store(resources: dict[str, Any]) -> None:
    props = resources["Table"]["Properties"]
    code = table_definition("x")
    assert props["BillingMode"] == code["BillingMode"]
    assert props["KeySchema"] == code["KeySchema"]
    assert _sorted(props["AttributeDefinitions"], "AttributeName") == _sorted(
        code["AttributeDefinitions"], "AttributeName"
    )
    assert _sorted(props["GlobalSecondaryIndexes"], "IndexName") == _sorted(
        code["GlobalSecondaryIndexes"], "IndexName"
    )
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_queues_match_the_local_stack(resources: dict[str, Any]) -> None:
    queue = resources["RunQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == VISIBILITY_TIMEOUT_SECONDS
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"GetAtt": "RunDeadLetterQueue.Arn"}
    assert resources["RunDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS
    assert resources["WorkerFunction"]["Properties"]["Timeout"] == WORKER_TIMEOUT_SECONDS
    assert (
        resources["WorkerFunction"]["Properties"]["Events"]["Runs"]["Properties"]["BatchSize"] == BATCH_SIZE
    )


def test_worker_reports_partial_batch_failures(resources: dict[str, Any]) -> None:
    event = resources["WorkerFunction"]["Properties"]["Events"]["Runs"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Queue"] == {"GetAtt": "RunQueue.Arn"}


def test_dispatcher_rate_matches_the_tick_setting(resources: dict[str, Any]) -> None:
    tick = resources["DispatcherTick"]["Properties"]
    assert tick["ScheduleExpression"] == "rate(1 minute)"
    assert tick["Target"]["Arn"] == {"GetAtt": "DispatcherFunction.Arn"}
    globals_env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert int(globals_env["TICK_SECONDS"]) == 60 == default("tick_seconds")


def test_every_function_has_a_sample_event(resources: dict[str, Any]) -> None:
    # The streaming function is a web server behind the Lambda Web Adapter: it takes HTTP, not
    # events, and its app is the API's (tested through HTTP).
    functions = {
        p["Properties"]["CodeUri"].strip("/").split("/")[-1]
        for p in resources.values()
        if p["Type"] == "AWS::Serverless::Function" and p["Properties"]["Handler"] != "run.sh"
    }
    with_events = {p.name.split("_")[0] for p in (REPO_ROOT / "events").glob("*.json")}
    assert functions <= with_events, f"functions without a sample event: {functions - with_events}"


def _tool(name: str) -> str:
    path = os.environ.get(name) or shutil.which(name.lower().replace("_", "-"))
    if not path:
        pytest.skip(f"{name} is not installed here; `make test` installs it")
    return path


def test_cfn_lint_passes() -> None:
    result = subprocess.run([_tool("CFN_LINT"), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = subprocess.run(
        [_tool("SAM_CLI"), "validate", "--lint", "--region", "us-east-1", "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.long
def test_sam_build_makes_an_arm64_python313_package(tmp_path: Path) -> None:
    build = tmp_path / "build"
    result = subprocess.run(
        [_tool("SAM_CLI"), "build", "--template", str(TEMPLATE), "--build-dir", str(build)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    full, light = build / "FullLayer" / "python", build / "LightLayer" / "python"
    # Unzipped, a function and its layers must stay under 250 MB; each layer leaves room for the rest.
    for layer, most in ((full, 200 * 2**20), (light, 100 * 2**20)):
        layer_bytes = sum(path.stat().st_size for path in layer.rglob("*") if path.is_file())
        assert layer_bytes < most, f"{layer.parent.name} is {layer_bytes / 2**20:.0f} MiB unzipped"
        assert (layer / "proactive" / "schedules" / "__init__.py").exists()
        assert (layer / "proactive" / "store" / "keys.py").exists()
        shipped = {path.relative_to(layer).parts[1] for path in (layer / "proactive").rglob("*.py")}
        assert "dev" not in shipped, "the local stack and the command line must not ship"
        assert "sdk" not in shipped, "the client SDK must not ship in the functions' layers"
        assert "cli" not in shipped, "the command line must not ship in the functions' layers"
    # The console's pages are rendered by the API function: its templates and files ship with it.
    for part in ("templates/base.html", "static/htmx.min.js", "static/uPlot.min.js", "static/console.css"):
        assert (full / "proactive" / "console" / part).is_file(), part
        assert list(layer.glob("pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"))
        assert not (layer / "bin").exists(), "console scripts name the build machine's Python"
    assert (REPO_ROOT / "layers" / "proactive" / "proactive" / "dev" / "stack.py").exists()
    # The full layer brings its own boto3 (pydantic-ai's Bedrock provider needs a recent one); the
    # light one leaves it to the runtime, and has neither the web stack nor an LLM SDK.
    for present in ("boto3", "botocore", "pydantic_ai"):
        assert (full / present / "__init__.py").exists(), f"no {present} in the full layer"
    web_and_llm = ("fastapi", "starlette", "mangum", "uvicorn", "pydantic_ai", "openai", "anthropic")
    for absent in ("boto3", "botocore", *web_and_llm):
        assert not (light / absent).exists(), f"{absent} in the light layer"
    functions = [
        name for name, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    ]
    assert sorted(functions) == [
        "ApiFunction",
        "DeadLetterFunction",
        "DispatcherFunction",
        "GoalLoopFunction",
        "IngestFunction",
        "StreamFunction",
        "WorkerFunction",
    ]
    for fn in functions:
        assert (build / fn / ("run.sh" if fn == "StreamFunction" else "handler.py")).exists(), fn
    assert os.access(build / "StreamFunction" / "run.sh", os.X_OK)
    assert list(full.glob("uvicorn/__init__.py")), "the streaming function serves the app with uvicorn"
    built = load_template(build / "template.yaml")
    assert built["Resources"]["WorkerFunction"]["Properties"]["CodeUri"] == "WorkerFunction"


def test_functions_that_send_notifications_or_approval_links_know_the_apis_address(
    resources: dict[str, Any],
) -> None:
    # Their links point at the API: PublicBaseUrl when set, else the HTTP API's own domain. (The
    # API function cannot name the HTTP API that invokes it; it answers with the request's own.)
    for name in ("WorkerFunction", "DispatcherFunction", "DeadLetterFunction", "GoalLoopFunction"):
        base = resources[name]["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"]
        condition, given, own = base["If"]
        assert (condition, given) == ("HasPublicBaseUrl", {"Ref": "PublicBaseUrl"}), name
        assert own["Sub"].startswith("https://${HttpApi}.execute-api."), name
