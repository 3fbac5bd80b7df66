"""Agents: the worker's cold import with the LLM runtime (beside `import boto3`), the runs per
second one worker sustains with the builtin agent and with an http agent on loopback, and the
size of the built Lambda layer."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import quiet, spread

IMPORTS = 7
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RUNS_PER_MEASURE = 200
REPO = Path(__file__).resolve().parents[2]


def _seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return float(out.stdout.split()[-1])


def _imports() -> None:
    load = "from proactive.dev.local import load_handler; load_handler('worker')"
    statements = {
        "import boto3": "import boto3",
        "the worker": load,
        "the worker and the llm runtime": f"{load}; import proactive.agents.runtimes.llm",
        "... and the openai provider (a first llm run)": f"{load}; import proactive.agents.runtimes.llm; "
        "import pydantic_ai.models.openai, pydantic_ai.providers.openai",
    }
    figures = []
    for label, statement in statements.items():
        medians = [statistics.median(_seconds(statement) for _ in range(IMPORTS)) for _ in range(RUNS)]
        figures.append(f"{label} {spread(medians, ' ms', 1000)}")
    print("[agents] cold import: " + "; ".join(figures))


def _throughput(runtime: str) -> list[float]:
    from proactive.agents import create_agent
    from proactive.dev.local import LocalContext, load_handler, sqs_event
    from proactive.models.agents import AgentCreate
    from proactive.models.runs import SourceType
    from proactive.runs import new_run
    from proactive.store import Store
    from tests.fakes import AgentService
    from tests.mockaws import mocked_aws

    rates = []
    for attempt in range(RUNS):
        with mocked_aws(f"bench-agents-{runtime}-{attempt}") as res, AgentService() as service:
            store = Store()
            now = datetime.now(UTC)
            config: dict[str, Any] = {"url": service.url} if runtime == "http" else {}
            agent = create_agent(
                store, AgentCreate(workspace_id="ws", name="a", runtime=runtime, config=config), now
            )
            service.secret = agent.get("secret")
            ids = []
            for i in range(RUNS_PER_MEASURE):
                run = new_run(
                    workspace_id="ws",
                    agent_id=agent["id"],
                    task=f"task {i}",
                    source_type=SourceType.MANUAL,
                    source_id="bench",
                    now=now,
                )
                store.runs.create(run)
                ids.append(run.id)
            worker = load_handler("worker", instance=f"_bench_{runtime}_{attempt}")
            records = [
                {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": f'{{"run_id": "{rid}"}}'}
                for i, rid in enumerate(ids)
            ]
            t0 = time.perf_counter()
            for start in range(0, len(records), 10):
                result = worker.handler(
                    sqs_event(records[start : start + 10], res["queue_arn"]),
                    LocalContext("WorkerFunction", 300),
                )
                assert result["batchItemFailures"] == [], result
            elapsed = time.perf_counter() - t0
            assert all(getattr(store.runs.get(r), "status", None) == "succeeded" for r in ids)
            if runtime == "http":
                assert len(service.runs) == RUNS_PER_MEASURE
            rates.append(RUNS_PER_MEASURE / elapsed)
    return rates


def _layer() -> None:
    for name in ("full", "light"):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                [
                    "make",
                    "-s",
                    "-C",
                    str(REPO / "layers" / name),
                    f"build-{name.title()}Layer",
                    f"ARTIFACTS_DIR={out}",
                    f"PYTHON={sys.executable}",
                ],
                check=True,
                capture_output=True,
            )
            files = [p for p in Path(out).rglob("*") if p.is_file()]
            unzipped = sum(p.stat().st_size for p in files)
            archive = Path(out) / "layer.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
                for p in files:
                    z.write(p, p.relative_to(out))
            print(
                f"[agents] built {name} layer: {unzipped / 2**20:.0f} MiB unzipped (a function and its "
                f"layers may have 250 MiB), {archive.stat().st_size / 2**20:.0f} MiB zipped"
            )


def main() -> None:
    quiet()
    _imports()
    builtin = _throughput("builtin")
    http = _throughput("http")
    print(
        f"[agents] one worker, {RUNS_PER_MEASURE} runs in batches of 10 (moto in-process): builtin agent "
        f"{spread(builtin, ' runs/s')}; http agent on loopback {spread(http, ' runs/s')}"
    )
    _layer()
