"""The webhook ingest function: cold import time beside `import boto3`, the first delivery after
a cold start, warm time per delivery, and AWS calls per delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import tests.conftest  # noqa: F401  (safe fake-AWS environment)
from tests.bench.common import CallCounter, percentile, quiet, spread

IMPORTS = 9
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DELIVERIES = 2000
SECRET = "bench-secret"
BODY = json.dumps(
    {"action": "opened", "pull_request": {"number": 1, "title": "t"}, "repository": {"full_name": "o/r"}}
).encode()


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return float(out.stdout.strip().splitlines()[-1])


def _headers(i: int, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    return {
        "x-hub-signature-256": f"sha256={digest}",
        "x-github-delivery": f"d-{i}",
        "x-github-event": "pull_request",
        "content-type": "application/json",
    }


class _Webhooks:
    webhook = {
        "id": "webhook-1",
        "workspace_id": "ws",
        "trigger_id": "trig-1",
        "url_path": "p",
        "is_active": True,
        "signature_scheme": "github",
        "secret": SECRET,
        "rate_limit_per_minute": 10**9,
    }

    def by_path(self, url_path: str) -> Any:
        from proactive.models.webhooks import HookRecord

        return HookRecord.model_validate(self.webhook)


class _Deliveries:
    def accept(self, delivery: Any, **_: Any) -> None:
        return None

    def log(self, delivery: Any) -> None:
        return None


class _NoIoStore:
    """The store's ingest methods without DynamoDB, to time the function's own work."""

    webhooks = _Webhooks()
    deliveries = _Deliveries()


class _NoIoQueue:
    def send(self, messages: Any) -> None:
        return None


def _imports() -> None:
    handler, boto3, ratios = [], [], []
    for _ in range(RUNS):
        h = statistics.median(
            _import_seconds("from proactive.dev.local import load_handler; load_handler('ingest')")
            for _ in range(IMPORTS)
        )
        b = statistics.median(_import_seconds("import boto3") for _ in range(IMPORTS))
        handler.append(h)
        boto3.append(b)
        ratios.append(h / b)
    print(
        f"[ingest] cold import of the handler: {spread(handler, ' ms', 1000)}; import boto3: "
        f"{spread(boto3, ' ms', 1000)}; ratio {spread(ratios, 'x', 1, 2)} (medians of {IMPORTS} imports each)"
    )


def _cold_first_delivery() -> None:
    """A fresh interpreter imports the handler and answers one signed delivery (making its AWS
    clients on the way) against a moto server; beside it, one that imports boto3 and makes the
    same two clients."""
    import boto3

    from proactive.dev.local import create_resources
    from proactive.dev.stack import free_port, start_moto

    port = free_port()
    moto = start_moto(port)
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    try:
        os.environ["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL"]
        res = create_resources(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table_name=os.environ["TABLE_NAME"],
            queue_name="cold",
        )
        env["RUN_QUEUE_URL"] = os.environ["RUN_QUEUE_URL"] = res["queue_url"]
        _webhook()
        code = (
            "import json, sys, time; t = time.perf_counter(); "
            "from proactive.dev.local import LocalContext, http_api_event, load_handler; "
            "ingest = load_handler('ingest'); "
            "event = http_api_event('POST', '/api/hooks/cold', json.loads(sys.argv[1]), "
            "sys.argv[2].encode(), path_parameters={'url_path': 'cold'}); "
            "assert ingest.handler(event, LocalContext('IngestFunction'))['statusCode'] == 202; "
            "print(time.perf_counter() - t)"
        )
        ours, base = [], []
        for i in range(IMPORTS):
            args = [sys.executable, "-c", code, json.dumps(_headers(i)), BODY.decode()]
            out = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
            ours.append(float(out.stdout.split()[-1]))
            base.append(_import_seconds("import boto3; boto3.client('dynamodb'); boto3.client('sqs')"))
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        moto.terminate()
        moto.wait(10)
    print(
        f"[ingest] cold start to the first answer (import, make clients, answer one signed delivery, "
        f"moto server): median {statistics.median(ours) * 1000:.0f} ms; import boto3 and make its two "
        f"clients: {statistics.median(base) * 1000:.0f} ms ({IMPORTS} runs each)"
    )


def _webhook() -> None:
    """A github webhook at /api/hooks/cold with the benchmark's secret, in the moto server."""
    from proactive.clock import iso, utcnow
    from proactive.settings import get_settings
    from proactive.store import Store

    get_settings.cache_clear()
    Store().webhooks.put(
        {**_Webhooks.webhook, "id": "webhook-cold", "url_path": "cold", "created_at": iso(utcnow())}
    )


def _warm() -> None:
    from proactive.settings import get_settings
    from proactive.webhooks.ingest import ingest

    settings = get_settings()
    medians, p99s = [], []
    for _ in range(RUNS):
        times = []
        for i in range(DELIVERIES):
            headers = _headers(i)
            t0 = time.perf_counter()
            response = ingest(
                _NoIoStore(),  # type: ignore[arg-type]
                _NoIoQueue(),  # type: ignore[arg-type]
                "p",
                headers,
                BODY,
                datetime.now(UTC),
                settings,
            )
            times.append(time.perf_counter() - t0)
            assert response.status == 202, response.body
        medians.append(statistics.median(times))
        p99s.append(percentile(times, 0.99))
    print(
        "[ingest] warm time per accepted delivery, AWS calls excluded: "
        f"median {spread(medians, ' us', 1e6)}, "
        f"p99 {spread(p99s, ' us', 1e6)} ({DELIVERIES} deliveries a run)"
    )


def _calls() -> None:
    from proactive import agents, triggers
    from proactive.dev.local import LocalContext, http_api_event, load_handler
    from proactive.models.agents import AgentCreate
    from proactive.models.triggers import TriggerCreate
    from proactive.models.webhooks import WebhookCreate
    from proactive.store import Store
    from proactive.webhooks import crud as webhooks
    from tests.mockaws import mocked_aws

    with mocked_aws("bench-runs"):
        store = Store()
        now = datetime.now(UTC)
        agent = agents.create_agent(store, AgentCreate(workspace_id="ws", name="a"), now)
        trig = triggers.create_trigger(
            store,
            TriggerCreate(
                name="t",
                workspace_id="ws",
                trigger_type="github",
                config={"repository": "o/r", "event": "pull_request"},
                agent_id=agent["id"],
                task_template="PR {pr_number}",
            ),
            now,
        )
        hook = webhooks.create_webhook(
            store,
            WebhookCreate(workspace_id="ws", name="w", trigger_id=trig["id"], rate_limit_per_minute=10_000),
            now,
        )
        ingest = load_handler("ingest", instance="_bench")
        counter = CallCounter(ingest.store.table.client, ingest.queue._sqs)
        accepted = 200
        for i in range(accepted):
            event = http_api_event(
                "POST",
                f"/api/hooks/{hook.url_path}",
                _headers(i, hook.secret),
                BODY,
                path_parameters={"url_path": hook.url_path},
            )
            assert ingest.handler(event, LocalContext("IngestFunction"))["statusCode"] == 202
        print(
            f"[ingest] AWS API calls per accepted delivery: {counter.total / accepted:.2f} "
            f"({', '.join(f'{op} {n / accepted:.0f}' for op, n in sorted(counter.calls.items()))})"
        )


def main() -> None:
    quiet()
    _imports()
    _cold_first_delivery()
    _warm()
    _calls()
