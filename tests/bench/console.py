"""Console pages: the server's time for a page with 10,000 runs in the workspace, and Chromium's
first paint of it.

1. Server time. moto in-process holds one workspace of `STORED_RUNS` finished runs over the last
   seven days (five agents; 85% succeeded, 10% failed, 3% cancelled, 2% missed; a few seconds
   each, with steps and usage) and their run statistics (the counters each run adds as it
   finishes, `store.run_stats`). The overview (24 hours and 7 days), the runs page and one run's
   page are asked for `REQUESTS` times each (after `WARMUP`) through the ASGI app, with httpx's
   ASGITransport, by a person signed in to the console: the median and 95th percentile time
   against the goal (a median under 150 ms), the AWS calls and items one request reads, and how
   much of the time moto spent answering. moto is slower than DynamoDB, even reading only the
   partition a query names (`proactive.dev.moto_dynamodb`, as in the local stack): so the time
   left once moto's is taken out (the server's own work) is also shown, and an estimate for AWS,
   that work plus every call at `CALL_MS`, one after the other (an upper bound: the overview's
   parts are asked for at once).
2. First paint. The local stack (`proactive dev`), with the same workspace written into its
   moto; each page opened `PAINTS` times in Chromium (Playwright, the machine's browser), and the
   Paint Timing API's first-contentful-paint read from the page, with the response's first byte
   (Navigation Timing) to tell the server's share (moto's, again, for the most part).
   `BENCH_CONSOLE_PAINT=0` leaves it out; it is left out, saying why, where no Chromium is
   installed.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import CallCounter, percentile, quiet

STORED_RUNS = int(os.environ.get("BENCH_CONSOLE_RUNS", "10000"))
REQUESTS = int(os.environ.get("BENCH_CONSOLE_REQUESTS", "30"))
WARMUP = 3
PAINTS = int(os.environ.get("BENCH_CONSOLE_PAINTS", "5"))
GOAL_MS = 150.0
# DynamoDB's time for one small call (a GetItem, a Query of a page of keys, a BatchGetItem of
# 100 items at most) from inside the region: an assumption of the estimate, stated once.
CALL_MS = 8.0
WORKSPACE = "ws-bench"
BASE = "http://127.0.0.1:8000"
AGENTS = ("report-agent", "triage-agent", "digest-agent", "deploy-agent", "support-agent")
STATUSES = ("succeeded", "failed", "cancelled", "missed")
SHARES = (0.85, 0.10, 0.03, 0.02)


def _runs(agent_ids: Sequence[str], now: datetime, count: int) -> list[Any]:
    """`count` finished runs of the agents spread over the last seven days, oldest first."""
    from proactive.models.runs import RunRecord

    rng = np.random.default_rng(40_000)
    made = []
    for i, ago in enumerate(sorted(rng.uniform(60, 7 * 86_400 - 3600, count), reverse=True)):
        status = str(rng.choice(STATUSES, p=SHARES))
        finished = now - timedelta(seconds=float(ago))
        took = float(rng.lognormal(np.log(4.0), 0.9))
        started = None if status == "missed" else finished - timedelta(seconds=took)
        tokens = int(rng.integers(200, 4000))
        made.append(
            RunRecord.model_validate(
                {
                    "id": f"run_bench_{i:06d}",
                    "workspace_id": WORKSPACE,
                    "agent_id": agent_ids[i % len(agent_ids)],
                    "source_type": "manual",
                    "source_id": "bench",
                    "status": status,
                    "attempts": 0 if started is None else 1,
                    "created_at": started or finished,
                    "scheduled_for": started or finished,
                    "started_at": started,
                    "finished_at": finished,
                    "task": f"Summarise the overnight report {i}",
                    "output": "All green." if status == "succeeded" else None,
                    "error": "the model refused the request" if status == "failed" else None,
                    "steps": [
                        {"at": started or finished, "type": "attempt_started", "attempt": 1},
                        {"at": finished, "type": "model_request", "model": "bench", "tokens": tokens},
                    ],
                    "usage": None
                    if started is None
                    else {
                        "requests": 1,
                        "input_tokens": tokens,
                        "output_tokens": tokens // 5,
                        "tool_calls": 0,
                        "cost_usd": round(tokens * 2e-6, 6),
                    },
                }
            )
        )
    return made


def _load(store: Any, runs: Sequence[Any]) -> None:
    """The runs as `Runs.create` stores them (written in batches), and counted in the run
    statistics: the counters `record` adds as each run finishes, added up with one write an hour
    (`record_many`), as moto takes a tenth of a second for each write of a counter item."""
    from proactive.clock import iso
    from proactive.store import keys
    from proactive.store.runs import expires

    items = [
        store.runs.item(
            {k: v for k, v in run.as_stored().items() if k != "payload"},
            extra={
                keys.TTL_ATTRIBUTE: expires(run.created_at, store.runs.retention_days),
                **keys.source_listing(run.source_type, run.source_id, iso(run.created_at), run.id),
            },
        )
        for run in runs
    ]
    store.table.put_many(items)
    store.run_stats.record_many(runs)


def _token() -> str:
    from proactive.auth import issue_local_token

    return issue_local_token([WORKSPACE], secret=os.environ["LOCAL_JWT_SECRET"], subject="bench")


@dataclass
class _Timed:
    name: str
    times: list[float]
    moto: list[float]
    calls: int
    items: int

    def line(self) -> str:
        median, p95 = statistics.median(self.times) * 1000, percentile(self.times, 0.95) * 1000
        own = [t - m for t, m in zip(self.times, self.moto, strict=True)]
        own_median = statistics.median(own) * 1000
        aws = own_median + self.calls * CALL_MS
        return (
            f"[console] {self.name}: median {median:.0f} ms, p95 {p95:.0f} ms over {len(self.times)} "
            f"requests ({'within' if median < GOAL_MS else 'OVER'} the {GOAL_MS:.0f} ms goal); of "
            f"which moto answering {statistics.median(self.moto) * 1000:.0f} ms; {self.calls} AWS calls "
            f"reading {self.items} items a request; the server's own work {own_median:.0f} ms, so in "
            f"AWS about {aws:.0f} ms with every call waited for in turn at {CALL_MS:.0f} ms "
            f"({'within' if aws < GOAL_MS else 'OVER'} the goal)"
        )


class _MotoClock:
    """The time moto spends answering, from the spans of its requests (served one at a time,
    `dev.serial`: the union of the spans is the time it was busy, whatever waited for it)."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []

    @contextmanager
    def installed(self) -> Iterator[None]:
        from unittest.mock import patch

        from moto.core.botocore_stubber import BotocoreStubber

        answer = BotocoreStubber.process_request
        spans = self.spans

        def timed(stubber: Any, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return answer(stubber, request)
            finally:
                spans.append((started, time.perf_counter()))

        with patch.object(BotocoreStubber, "process_request", timed):
            yield

    def busy(self, since: float, until: float) -> float:
        total, reach = 0.0, since
        for start, end in sorted(s for s in self.spans if s[1] > since and s[0] < until):
            start, end = max(start, reach), min(end, until)
            if end > start:
                total += end - start
                reach = end
        return total


async def _server_times(store: Any, pages: dict[str, str]) -> list[_Timed]:
    import httpx

    from proactive.api import create_app

    counter = CallCounter(store.table.client)
    clock = _MotoClock()
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        login = await client.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert csrf, login.text
        signed = await client.post("/console/login", data={"csrf": csrf.group(1), "token": _token()})
        assert signed.status_code == 303, signed.text
        timed = []
        with clock.installed():
            for name, path in pages.items():
                for _ in range(WARMUP):
                    answer = await client.get(path)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
                times, moto = [], []
                counter.reset()
                for _ in range(REQUESTS):
                    started = time.perf_counter()
                    answer = await client.get(path)
                    ended = time.perf_counter()
                    assert answer.status_code == 200, (path, answer.status_code)
                    times.append(ended - started)
                    moto.append(clock.busy(started, ended))
                calls, items = counter.total // REQUESTS, counter.items_read // REQUESTS
                timed.append(_Timed(name, times, moto, calls, items))
    return timed


def _pages(run_id: str) -> dict[str, str]:
    return {
        "overview, last 24 hours": f"/console/{WORKSPACE}/",
        "overview, last 7 days": f"/console/{WORKSPACE}/?window=7d",
        "runs page": f"/console/{WORKSPACE}/runs",
        "a run's page": f"/console/{WORKSPACE}/runs/{run_id}",
    }


def _in_process() -> None:
    from proactive.agents import create_agent
    from proactive.api.deps import get_store
    from proactive.models.agents import AgentCreate
    from tests.mockaws import mocked_aws

    with mocked_aws("bench-console"):
        store = get_store()  # the app's own: its calls are counted
        now = datetime.now(UTC)
        agents = [
            str(create_agent(store, AgentCreate(workspace_id=WORKSPACE, name=name), now)["id"])
            for name in AGENTS
        ]
        runs = _runs(agents, now, STORED_RUNS)
        started = time.perf_counter()
        _load(store, runs)
        loaded = time.perf_counter() - started
        print(
            f"[console] a workspace of {len(runs):,} finished runs over 7 days and their run "
            f"statistics stored in moto in-process ({loaded:.0f} s); server time through the ASGI app:"
        )
        for timed in asyncio.run(_server_times(store, _pages(runs[len(runs) // 2].id))):
            print(timed.line())


# First paint in Chromium, against the local stack.

PAINT_SCRIPT = """() => new Promise(resolve => {
    const nav = performance.getEntriesByType('navigation')[0];
    const answer = entry => resolve({
        fcp: entry ? entry.startTime : null, ttfb: nav ? nav.responseStart : null});
    const seen = performance.getEntriesByName('first-contentful-paint')[0];
    if (seen) return answer(seen);
    new PerformanceObserver((list, observer) => {
        observer.disconnect();
        answer(list.getEntriesByName('first-contentful-paint')[0]);
    }).observe({type: 'paint', buffered: true});
    setTimeout(() => answer(null), 5000);
})"""


@contextmanager
def _stack_with_workspace() -> Iterator[tuple[Any, str, int]]:
    """The local stack with the workspace written into its moto: (stack, a run's id, runs)."""
    import tempfile
    from pathlib import Path

    import boto3

    from proactive.dev.stack import TABLE_NAME
    from proactive.store import Store
    from tests.localstack import running_stack

    with tempfile.TemporaryDirectory() as folder, running_stack(Path(folder) / "stack.log") as stack:
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{stack.moto_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        store = Store(TABLE_NAME, client=client)
        with stack.client(WORKSPACE) as api:
            agents = [
                api.post("/api/agents", json={"workspace_id": WORKSPACE, "name": name}).json()["id"]
                for name in AGENTS
            ]
        runs = _runs(agents, datetime.now(UTC), STORED_RUNS)
        _load(store, runs)
        yield stack, runs[len(runs) // 2].id, len(runs)


def _paints(measure: Callable[[str], dict[str, Any]], pages: dict[str, str]) -> None:
    for name, path in pages.items():
        measure(path)  # the static files cached, as a person's second visit
        seen = [measure(path) for _ in range(PAINTS)]
        fcp = [s["fcp"] for s in seen if s["fcp"] is not None]
        ttfb = [s["ttfb"] for s in seen if s["ttfb"] is not None]
        if not fcp:
            print(f"[console] first paint of the {name}: Chromium reported none")
            continue
        print(
            f"[console] first contentful paint of the {name}: median {statistics.median(fcp):.0f} ms, "
            f"p95 {percentile(fcp, 0.95):.0f} ms over {len(fcp)} loads (first byte at median "
            f"{statistics.median(ttfb):.0f} ms)"
        )


def _first_paint() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import launch, sign_in

    try:
        with _stack_with_workspace() as (stack, run_id, count), sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                console = sign_in(browser, stack.base_url, stack.token(WORKSPACE), WORKSPACE)

                def measure(path: str) -> dict[str, Any]:
                    console.page.goto("about:blank")  # each load a navigation of its own
                    answer = console.page.goto(f"{stack.base_url}{path}", wait_until="load")
                    if answer is None or answer.status != 200:
                        raise RuntimeError(f"{path} answered {answer and answer.status}")
                    return dict(console.page.evaluate(PAINT_SCRIPT))

                print(f"[console] Chromium against the local stack, a workspace of {count:,} runs:")
                _paints(measure, _pages(run_id))
                console.context.close()
                console.api.close()
            finally:
                browser.close()
    except Exception as exc:  # no browser on this machine, or the stack would not start
        print(f"[console] first paint not measured: {type(exc).__name__}: {exc}")


def main() -> None:
    quiet()
    _in_process()
    if os.environ.get("BENCH_CONSOLE_PAINT", "1") != "0":
        _first_paint()


if __name__ == "__main__":
    main()
