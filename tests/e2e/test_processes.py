"""The local stack as a process: however it is stopped, it stops in order and leaves nothing
behind; and what it stored is there again after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook as Signer

from proactive.dev.stack import free_port
from tests.localstack import PROACTIVE, running_stack, servers_on, stack_env

pytestmark = pytest.mark.e2e
WS = "ws-proc"


def _gone(port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while servers_on(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_stopping_goes_in_order_one_line_a_step_and_leaves_no_server(tmp_path: Path, how: str) -> None:
    log = tmp_path / "stack.log"
    with running_stack(log) as stack:
        moto = stack.moto_port
        assert servers_on(moto)
        with stack.client(WS) as c:
            c.post("/api/agents", json={"workspace_id": WS, "name": "a"}).raise_for_status()
        if how == "SIGTERM":
            stack.process.send_signal(signal.SIGTERM)
        else:
            # A terminal sends Ctrl-C's SIGINT to the whole foreground process group.
            os.killpg(stack.process.pid, signal.SIGINT)
        assert stack.process.wait(30) == 0
    text = log.read_text()
    steps = [
        "dispatcher and workers stopped",
        "API stopped",
        "moto stopped",
        "Proactive local stack stopped.",
    ]
    assert [text.index(s) for s in steps] == sorted(text.index(s) for s in steps)
    assert "Traceback" not in text
    assert len(text[text.index("Stopping the local stack") :].splitlines()) <= 6
    assert _gone(moto)


def test_a_killed_stack_takes_its_moto_server_with_it(tmp_path: Path) -> None:
    with running_stack(tmp_path / "stack.log") as stack:
        moto = stack.moto_port
        stack.process.kill()
        stack.process.wait(10)
    assert _gone(moto)


def test_when_the_parent_goes_the_stack_stops_cleanly(tmp_path: Path) -> None:
    # As when `kill <make pid>` (what `timeout`, IDEs and service managers do) ends `make dev`.
    log = tmp_path / "stack.log"
    port = free_port()
    parent = subprocess.Popen(
        ["/bin/sh", "-c", f"'{PROACTIVE}' dev --no-data --port {port} >> '{log}' 2>&1; true"],
        env=stack_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "Proactive local stack is running" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, log.read_text() if log.exists() else "no log"
            time.sleep(0.2)
        moto = int(log.read_text().split("Moto:")[1].split(":")[2].split()[0])
        parent.send_signal(signal.SIGTERM)
        parent.wait(10)
        deadline = time.monotonic() + 30
        while "Proactive local stack stopped." not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert _gone(moto)
        assert "Traceback" not in log.read_text()
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)


def test_data_survives_a_restart_and_reset_starts_empty(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "stack.log"
    # Given an agent, a trigger and a webhook made in one run of the stack
    with running_stack(log, data_dir=data) as stack, stack.client(WS) as c:
        agent = c.post("/api/agents", json={"workspace_id": WS, "name": "kept"}).json()
        trigger = c.post(
            "/api/proactive/triggers",
            json={
                "name": "t",
                "workspace_id": WS,
                "trigger_type": "webhook",
                "agent_id": agent["id"],
                "task_template": "Deploy {version}",
            },
        ).json()
        hook = c.post(
            "/api/proactive/webhooks", json={"workspace_id": WS, "name": "w", "trigger_id": trigger["id"]}
        ).json()
        autonomous = c.put(
            "/api/autonomous/config", json={"enabled": True, "frequency": "6hours", "agent_id": agent["id"]}
        ).json()
        assert stack.stop() == 0
    assert (data / "table.jsonl").exists()

    # When the stack starts again, the agent is there and the webhook's secret still signs deliveries
    with running_stack(log, data_dir=data) as stack, stack.client(WS) as c:
        assert c.get(f"/api/agents/{agent['id']}").json()["name"] == "kept"
        # Autonomous mode is still on, and its next execution has not moved
        kept = c.get("/api/autonomous/config").json()
        assert (kept["enabled"], kept["frequency"], kept["agent_id"]) == (True, "6hours", agent["id"])
        assert kept["next_execution"] == autonomous["next_execution"]
        body = '{"version": "1.2.3"}'
        sent = datetime.now(UTC)
        signed = {
            "webhook-id": "msg-1",
            "webhook-timestamp": str(int(sent.timestamp())),
            "webhook-signature": Signer(hook["secret"]).sign("msg-1", sent, body),
            "content-type": "application/json",
        }
        resp = c.post(f"/api/hooks/{hook['url_path']}", content=body, headers=signed)
        assert resp.status_code == 202, resp.text
        assert stack.stop() == 0

    # And with --reset (make dev RESET=1) it starts empty
    with running_stack(log, "--reset", data_dir=data) as stack, stack.client(WS) as c:
        assert c.get(f"/api/agents/{agent['id']}").status_code == 404


def _moto_servers(mark: str) -> set[int]:
    """Pids of moto servers started by a stack whose environment holds `mark` (other tests' stacks,
    on other workers, come and go meanwhile)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if (
                proc.name.isdigit()
                and b"proactive.dev.state_machine" in (proc / "cmdline").read_bytes()
                and f"PROACTIVE_TEST_MARK={mark}".encode() in (proc / "environ").read_bytes().split(b"\0")
            ):
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def test_invalid_settings_stop_the_stack_with_one_line_naming_each(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    result = subprocess.run(
        [PROACTIVE, "dev", "--no-data", "--port", str(free_port())],
        env={
            **stack_env(),
            "OUTBOUND_ALLOW_NETWORKS": "banana",
            "TICK_SECONDS": "1",
            "PROACTIVE_TEST_MARK": mark,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("proactive dev:")]
    assert "OUTBOUND_ALLOW_NETWORKS='banana'" in line
    assert "TICK_SECONDS" in line
    # Nothing left running (a server told to stop may take a moment to go).
    deadline = time.monotonic() + 10
    while _moto_servers(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _moto_servers(mark) == set()
