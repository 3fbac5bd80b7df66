"""Start the local stack (`proactive dev`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from proactive.dev.stack import free_port

SECRET = "local-stack-test-signing-key-0123456789abcdef"
PROACTIVE = str(Path(sys.executable).parent / "proactive")
# The stack answers on loopback over plain HTTP: every client shares one TLS context, made once,
# rather than each loading the certificate authorities again (some 30 ms of CPU each).
LOOPBACK_TLS = httpx.create_ssl_context()


def stack_env() -> dict[str, str]:
    """The user's environment, minus the test suite's fake AWS settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "POWERTOOLS_", "TABLE_NAME", "RUN_QUEUE"))
    }
    env.update({"LOCAL_JWT_SECRET": SECRET, "POWERTOOLS_LOG_LEVEL": "INFO"})
    return env


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @property
    def moto_port(self) -> int:
        """The port of the stack's moto server, from the lines it printed at start."""
        match = re.search(r"Moto:\s+http://127\.0\.0\.1:(\d+)", self.log.read_text())
        if match is None:
            raise AssertionError(f"the stack did not say where moto is:\n{self.log.read_text()}")
        return int(match.group(1))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Ask the stack to stop; kill its whole process group only if it does not."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(10)

    def token(self, *workspaces: str) -> str:
        """A token for the stack, made as `proactive token` makes one (whose own process the
        CLI's tests run) with the stack's signing secret."""
        from proactive.auth import issue_local_token

        return issue_local_token(workspaces, secret=SECRET)

    def client(self, *workspaces: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(*workspaces)}"} if workspaces else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, verify=LOOPBACK_TLS)


def servers_on(port: int) -> list[int]:
    """Pids of moto servers listening on `port` (none, once a stack has stopped cleanly)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # moto runs through the launcher that bridges the goal loop's function to the stack.
        if b"proactive.dev.state_machine" in args and str(port).encode() in args:
            pids.append(int(proc.name))
    return pids


@contextmanager
def running_stack(log: Path, *extra_args: str, data_dir: Path | None = None) -> Iterator[Stack]:
    """The stack in a session of its own (a terminal's Ctrl-C goes to its group); its data in
    `data_dir` (default: nothing kept), never in the repository's own data folder."""
    port = free_port()
    data = ["--data-dir", str(data_dir)] if data_dir is not None else ["--no-data"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [PROACTIVE, "dev", "--port", str(port), *data, *extra_args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=stack_env(),
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=1, verify=LOOPBACK_TLS) as health:
            while True:
                try:
                    if health.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"local stack did not start:\n{log.read_text()}")
                time.sleep(0.2)
        stack = Stack(process, base, log)
        yield stack
    finally:
        Stack(process, base, log).stop()
