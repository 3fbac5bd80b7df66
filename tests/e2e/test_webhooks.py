"""A GitHub repository's webhook pointed at the local stack: signed deliveries over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.localstack import Stack

pytestmark = pytest.mark.e2e
WS = "ws-hooks"
PR_EVENT = {
    "action": "opened",
    "number": 7,
    "pull_request": {"number": 7, "title": "Speed up the build", "user": {"login": "octocat"}},
    "repository": {"full_name": "owner/repo"},
}


@pytest.fixture(scope="module")
def hook(stack: Stack) -> dict[str, Any]:
    with stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "code-review-agent"}).json()
        trigger = c.post(
            "/api/proactive/triggers",
            json={
                "name": "GitHub PR Trigger",
                "workspace_id": WS,
                "trigger_type": "github",
                "config": {"repository": "owner/repo", "event": "pull_request"},
                "agent_id": agent["id"],
                "task_template": "Review PR #{pr_number}: {pr_title}",
            },
        ).json()
        resp = c.post(
            "/api/proactive/webhooks",
            json={"workspace_id": WS, "name": "GitHub", "trigger_id": trigger["id"]},
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())


def deliver(hook: dict[str, Any], delivery: str, *, secret: str | None = None) -> httpx.Response:
    body = json.dumps(PR_EVENT).encode()
    digest = hmac.new((secret or hook["secret"]).encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(
        hook["webhook_url"],
        content=body,
        timeout=30,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": f"sha256={digest}",
        },
    )


def runs_of(stack: Stack, hook: dict[str, Any]) -> list[dict[str, Any]]:
    with stack.client(WS) as c:
        return list(
            c.get("/api/runs", params={"source_type": "webhook", "source_id": hook["id"]}).json()["items"]
        )


def wait_for_runs(stack: Stack, hook: dict[str, Any], count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        found = runs_of(stack, hook)
        done = [r for r in found if r["status"] == "succeeded"]
        if len(done) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def test_webhook_url_points_at_the_local_stack(stack: Stack, hook: dict[str, Any]) -> None:
    assert hook["webhook_url"] == f"{stack.base_url}/api/hooks/{hook['url_path']}"


def test_signed_pull_request_runs_the_agent_once_even_if_sent_twice(
    stack: Stack, hook: dict[str, Any]
) -> None:
    delivery = str(uuid.uuid4())
    first = deliver(hook, delivery)
    assert first.status_code == 202, first.text
    again = deliver(hook, delivery)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    [run] = wait_for_runs(stack, hook, 1)
    assert run["task"] == "Review PR #7: Speed up the build"
    assert run["delivery_id"] == first.json()["delivery_id"]
    time.sleep(1)
    assert len(runs_of(stack, hook)) == 1


def test_twenty_concurrent_copies_run_once(stack: Stack, hook: dict[str, Any]) -> None:
    before = len(runs_of(stack, hook))
    delivery = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: deliver(hook, delivery).status_code, range(20)))
    assert set(codes) <= {200, 202}
    assert codes.count(202) >= 1
    found = wait_for_runs(stack, hook, before + 1)
    time.sleep(2)  # give any second run the chance to appear
    assert len(runs_of(stack, hook)) == len(found) == before + 1


def test_bad_signature_runs_nothing(stack: Stack, hook: dict[str, Any]) -> None:
    before = len(runs_of(stack, hook))
    resp = deliver(hook, str(uuid.uuid4()), secret="not the secret")
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"
    time.sleep(1)
    assert len(runs_of(stack, hook)) == before


def readme_block(language: str, starts_with: str) -> str:
    """The README's first fenced `language` block whose text starts with `starts_with`, as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for block in re.findall(rf"```{language}\n(.*?)```", readme, flags=re.S):
        if block.startswith(starts_with):
            return str(block)
    raise AssertionError(f"README has no {language} block starting {starts_with!r}")


def test_the_readmes_github_example_runs_as_written(stack: Stack) -> None:
    """The trigger and the hand-signed curl delivery from the README's Triggers and Webhooks
    sections: the delivery passes the trigger's filter and runs the agent with the rendered task."""
    request = readme_block("json", "POST /api/proactive/triggers\n")
    trigger_body = json.loads(request.split("\n", 1)[1])
    with stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "readme-reviewer"}).json()
        trigger_body.update(workspace_id=WS, agent_id=agent["id"])
        trigger = c.post("/api/proactive/triggers", json=trigger_body)
        assert trigger.status_code == 201, trigger.text
        created = c.post(
            "/api/proactive/webhooks",
            json={"workspace_id": WS, "name": "README", "trigger_id": trigger.json()["id"]},
        )
        assert created.status_code == 201, created.text
    webhook = created.json()

    script = readme_block("bash", "BODY=")
    for tool in ("uuidgen", "openssl"):  # not installed everywhere; the README needs only Python 3 and curl
        assert tool not in script
    env = {"PATH": os.environ["PATH"], "SECRET": webhook["secret"], "WEBHOOK_URL": webhook["webhook_url"]}
    sent = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(sent.stdout)["status"] == "accepted", sent.stdout

    [run] = wait_for_runs(stack, webhook, 1)
    assert run["status"] == "succeeded"
    assert run["task"] == "Review PR #42: Add retries"
