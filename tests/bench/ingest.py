"""The webhook ingest function: cold import time, warm time per delivery, AWS calls per delivery."""

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

IMPORTS = 7
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


class _NoIoStore:
    """The store's ingest methods without DynamoDB, to time the function's own work."""

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

    def webhook_by_path(self, url_path: str) -> dict[str, Any]:
        return self.webhook

    def accept_delivery(self, delivery: Any, **_: Any) -> None:
        return None

    def log_delivery(self, delivery: Any, **_: Any) -> None:
        return None


class _NoIoQueue:
    def send_deliveries(self, ids: Any) -> None:
        return None


def _count_calls(client: Any, counter: list[int]) -> None:
    client.meta.events.register("after-call.*", lambda **_: counter.__setitem__(0, counter[0] + 1))


def main() -> None:
    handler_import = statistics.median(
        _import_seconds("from proactive.dev.local import load_handler; load_handler('ingest')")
        for _ in range(IMPORTS)
    )
    boto3_import = statistics.median(_import_seconds("import boto3") for _ in range(IMPORTS))
    print(
        f"[ingest] cold import of the handler module: median {handler_import * 1000:.0f} ms "
        f"over {IMPORTS} runs; "
        f"import boto3: {boto3_import * 1000:.0f} ms; ratio {handler_import / boto3_import:.2f}x"
    )

    from proactive import webhooks
    from proactive.settings import get_settings

    settings = get_settings()
    times = []
    for i in range(DELIVERIES):
        headers = _headers(i)
        t0 = time.perf_counter()
        response = webhooks.ingest(
            _NoIoStore(),
            _NoIoQueue(),
            "p",
            headers,
            BODY,
            datetime.now(UTC),  # type: ignore[arg-type]
            settings,
        )
        times.append(time.perf_counter() - t0)
        assert response.status == 202, response.body
    print(
        "[ingest] warm time per accepted delivery, AWS calls excluded: "
        f"median {statistics.median(times) * 1e6:.0f} us, "
        f"p99 {sorted(times)[int(len(times) * 0.99)] * 1e6:.0f} us over {DELIVERIES}"
    )

    from proactive.dev.local import LocalContext, http_api_event, load_handler
    from proactive.models.agents import AgentCreate
    from proactive.models.triggers import TriggerCreate
    from proactive.models.webhooks import WebhookCreate
    from proactive.store import Store
    from tests.mockaws import mocked_aws

    with mocked_aws("bench-runs"):
        from proactive import agents, triggers

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
        counter = [0]
        _count_calls(ingest.store.table.meta.client, counter)
        _count_calls(ingest.queue._sqs, counter)
        accepted = 200
        for i in range(accepted):
            event = http_api_event(
                "POST",
                f"/api/hooks/{hook['url_path']}",
                _headers(i, hook["secret"]),
                BODY,
                path_parameters={"url_path": hook["url_path"]},
            )
            assert ingest.handler(event, LocalContext("IngestFunction"))["statusCode"] == 202
        print(
            f"[ingest] AWS API calls per accepted delivery: {counter[0] / accepted:.2f} "
            f"(over {accepted}; the aim is at most 3)"
        )
