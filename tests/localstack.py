"""Start the local stack (`proactive dev`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
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

    def token(self, *workspaces: str) -> str:
        args = [PROACTIVE, "token"]
        for ws in workspaces:
            args += ["--workspace", ws]
        return subprocess.run(
            args, capture_output=True, text=True, check=True, env=stack_env()
        ).stdout.strip()

    def client(self, *workspaces: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(*workspaces)}"} if workspaces else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@contextmanager
def running_stack(log: Path, *extra_args: str) -> Iterator[Stack]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PROACTIVE, "dev", "--port", str(port), *extra_args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=stack_env(),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"local stack did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield Stack(process, base, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
