"""The local stack as a subprocess on a free loopback port, driven over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from proactive.devstack import free_port

SECRET = "e2e-signing-key-0123456789abcdef0123456789"


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def token(self, *workspaces: str) -> str:
        args = [str(Path(sys.executable).parent / "proactive"), "token"]
        for ws in workspaces:
            args += ["--workspace", ws]
        out = subprocess.run(args, capture_output=True, text=True, check=True, env=stack_env())
        return out.stdout.strip()

    def client(self, *workspaces: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(*workspaces)}"} if workspaces else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)


def stack_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "POWERTOOLS_", "TABLE_NAME", "RUN_QUEUE"))
    }
    env.update({"LOCAL_JWT_SECRET": SECRET, "POWERTOOLS_LOG_LEVEL": "INFO"})
    return env


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    log = tmp_path_factory.mktemp("stack") / "stack.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "proactive"), "dev", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=stack_env(),
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"local stack did not start:\n{log.read_text()}")
        time.sleep(0.2)
    yield Stack(process, base, log)
    if process.poll() is None:
        process.kill()
        process.wait(10)
