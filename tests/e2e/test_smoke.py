"""`make smoke` (python -m proactive.dev.smoke) against the local stack: it passes and leaves no
agent behind, and it fails with a one-line reason when the token is wrong or nothing listens."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from proactive.auth import issue_local_token
from proactive.dev.local import REPO_ROOT
from proactive.dev.smoke import STEPS, Api, Report, Smoke
from proactive.dev.stack import free_port
from tests.localstack import Stack, stack_env

pytestmark = pytest.mark.e2e
WORKSPACE = "ws-smoke"
# The interpreter running the tests: make uses it in place of the repository's own venv.
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    """The stack's environment, without an ambient API address or token the check would read."""
    env = stack_env()
    for name in ("PROACTIVE_API_URL", "PROACTIVE_TOKEN", "TOKEN", "URL", "WORKSPACE"):
        env.pop(name, None)
    return env


def make_smoke(*variables: str) -> subprocess.CompletedProcess[str]:
    """`make smoke` as a person types it; `-o` keeps make from reinstalling the venv under test."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", f"{BIN}/.installed", "smoke", f"BIN={BIN}", *variables],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(),
        check=False,
    )


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proactive.dev.smoke", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(),
        check=False,
    )


def results(stdout: str) -> dict[str, str]:
    """Each step's result (ok, FAIL, skip), from its line of the report."""
    found = {}
    for line in stdout.splitlines():
        for step in STEPS:
            if line.startswith(f"{step} "):
                found[step] = line[len(step) :].split()[0]
    return found


def test_make_smoke_passes_against_the_local_stack_and_deletes_its_agent(stack: Stack) -> None:
    token = stack.token(WORKSPACE)
    result = make_smoke(f"URL={stack.base_url}", f"TOKEN={token}")

    assert result.returncode == 0, result.stdout + result.stderr
    assert results(result.stdout) == dict.fromkeys(STEPS, "ok")
    assert re.search(r"^wait for run\s+ok\s+\d+\.\d\ds\s+succeeded", result.stdout, re.M)
    assert f"{WORKSPACE} (the token's 'workspaces' claim)" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("smoke check passed: 6 steps in ")
    # make echoes the command, never the token in it
    assert token not in result.stdout + result.stderr

    created = re.search(r"^create agent\s+ok\s+\S+\s+(agent-\S+) \((smoke-\S+)\)", result.stdout, re.M)
    assert created is not None, result.stdout
    with stack.client(WORKSPACE) as client:
        assert client.get(f"/api/agents/{created.group(1)}").status_code == 404
        assert client.get("/api/agents").json()["items"] == []
        runs = client.get("/api/runs").json()["items"]
    assert [(r["agent_id"], r["status"]) for r in runs] == [(created.group(1), "succeeded")]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            issue_local_token([WORKSPACE], secret="not-the-stacks-signing-key-0123456789"), id="foreign"
        ),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
def test_a_wrong_token_fails_saying_authentication_failed(stack: Stack, token: str) -> None:
    result = smoke("--url", stack.base_url, "--token", token)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("smoke check failed: authentication failed"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    steps = results(result.stdout)
    assert steps["health"] == "ok"
    assert "FAIL" in steps.values()
    assert steps["delete agent"] == "skip"
    with stack.client(WORKSPACE) as client:
        assert client.get("/api/agents").json()["items"] == []


def test_a_token_for_another_workspace_is_refused_by_the_api(stack: Stack) -> None:
    result = smoke("--url", stack.base_url, "--token", stack.token(WORKSPACE), "--workspace", "ws-other")

    assert result.returncode == 1
    assert results(result.stdout)["create agent"] == "FAIL"
    assert "forbidden" in result.stderr
    assert "ws-other" in result.stderr


def test_a_closed_port_fails_saying_the_api_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = smoke("--url", url, "--token", "anything")

    assert result.returncode == 1
    assert result.stderr.startswith(f"smoke check failed: cannot reach the API at {url} ("), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert results(result.stdout) == {
        "health": "FAIL",
        **dict.fromkeys(STEPS[1:], "skip"),
    }
    assert time.monotonic() - started < 30


def test_make_smoke_without_url_or_token_prints_its_usage() -> None:
    for variables in ([], ["URL=http://127.0.0.1:1"], ["TOKEN=t"]):
        result = make_smoke(*variables)
        assert result.returncode == 2
        assert "usage: make smoke URL=" in result.stderr
        # refused before anything runs
        assert "proactive.dev.smoke" not in result.stdout


# The waits and the clean-up, against a scripted API: a run that never ends or fails is not
# something the local stack can be made to do on demand.


class ScriptedApi:
    """An API whose runs answer whatever `run_status` says; it records every call."""

    def __init__(self, run_status: Callable[[int], httpx.Response]) -> None:
        self.run_status = run_status
        self.calls: list[str] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        match (request.method, request.url.path):
            case ("GET", "/health"):
                return httpx.Response(200, json={"status": "ok", "version": "test"})
            case ("POST", "/api/agents"):
                assert json.loads(request.content)["runtime"] == "builtin"
                return httpx.Response(201, json={"id": "agent-1"})
            case ("POST", "/api/runs"):
                return httpx.Response(202, json={"id": "run-1", "status": "queued"})
            case ("GET", "/api/runs/run-1"):
                self.polls += 1
                return self.run_status(self.polls)
            case ("DELETE", "/api/agents/agent-1"):
                return httpx.Response(204)
        return httpx.Response(404, json={"message": "no such route"})


def scripted(api: ScriptedApi, timeout: float) -> tuple[str | None, str]:
    out = io.StringIO()
    with httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(api)) as client:
        check = Smoke(Api(client, "http://api.test"), "t", "ws-1", "workspaces", timeout, Report(out))
        return check.run(), out.getvalue()


def test_a_run_that_never_ends_times_out_and_the_agent_is_still_deleted() -> None:
    api = ScriptedApi(lambda _: httpx.Response(200, json={"status": "queued"}))
    failure, report = scripted(api, timeout=0.6)

    assert failure is not None
    assert failure.startswith("run run-1 was still queued after 0.6s")
    assert results(report)["wait for run"] == "FAIL"
    assert results(report)["delete agent"] == "ok"
    assert api.calls[-1] == "DELETE /api/agents/agent-1"


def test_a_failed_run_fails_the_check_with_its_error() -> None:
    api = ScriptedApi(lambda _: httpx.Response(200, json={"status": "failed", "error": "boom"}))
    failure, report = scripted(api, timeout=10)

    assert failure == "run run-1 failed: boom"
    assert results(report)["wait for run"] == "FAIL"
    assert api.calls[-1] == "DELETE /api/agents/agent-1"


def test_a_poll_answered_503_is_asked_again() -> None:
    api = ScriptedApi(
        lambda n: (
            httpx.Response(503, json={"message": "try again"})
            if n == 1
            else httpx.Response(200, json={"status": "succeeded", "attempts": 1})
        )
    )
    failure, report = scripted(api, timeout=10)

    assert failure is None, report
    assert api.polls == 2
    assert results(report) == dict.fromkeys(STEPS, "ok")
