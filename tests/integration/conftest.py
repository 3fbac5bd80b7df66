"""Integration tests: real boto3 calls against moto in-process, real handlers, real events."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

import boto3
import moto.sqs.models
import pytest
from fastapi.testclient import TestClient
from moto.core import DEFAULT_ACCOUNT_ID

from proactive import wiring
from proactive.auth import issue_local_token
from proactive.dev.local import LocalContext, http_api_event, load_handler, scheduled_event, sqs_event
from proactive.events import Bus
from proactive.queue import RunQueue
from proactive.store import Store
from tests.mockaws import mocked_aws


class QueueClock:
    """The time moto's SQS keeps, which a test can move on: a delayed message, or one backing off,
    is then due without the test waiting for it. Only the queue's time moves; the platform's own
    clock does not (what it records stays real time), so only tests whose outcome does not hang on
    real time move it. Installed by the `aws` fixture; until moved it is real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = moto.sqs.models.unix_time

        def unix_time(dt: datetime | None = None) -> float:
            return real(dt) if dt is not None else real() + self.offset

        monkeypatch.setattr(moto.sqs.models, "unix_time", unix_time)
        monkeypatch.setattr(moto.sqs.models, "unix_time_millis", lambda dt=None: unix_time(dt) * 1000.0)

    def now(self) -> float:
        return float(moto.sqs.models.unix_time())

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def advance_to_next(self, queue_url: str, within: float) -> bool:
        """Move on to the moment the queue's next delayed or invisible message is due; False if
        it holds none due `within` seconds."""
        queue = moto.sqs.models.sqs_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].get_queue(
            queue_url.rsplit("/", 1)[-1]
        )
        now_ms = self.now() * 1000
        due = [
            max(m.delayed_until, m.visible_at)
            for m in list(queue._messages)
            if max(m.delayed_until, m.visible_at) >= now_ms
        ]
        if not due or min(due) - now_ms > within * 1000:
            return False
        self.advance((min(due) - now_ms) / 1000 + 0.001)
        return True


@dataclass
class Aws:
    store: Store
    queue: RunQueue
    sqs: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    clock: QueueClock = field(default_factory=QueueClock)
    # The event bus the functions build their context with, for the product code a test calls.
    bus: Bus = field(default_factory=wiring.bus)

    def receive(self, wait: int = 0) -> list[dict[str, Any]]:
        """Every message visible now (delays included only once they have passed)."""
        out: list[dict[str, Any]] = []
        while True:
            resp = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
            )
            batch = resp.get("Messages", [])
            if not batch:
                return out
            out.extend(batch)

    def queued_run_ids(self) -> list[str]:
        return [json.loads(m["Body"])["run_id"] for m in self.receive()]


@pytest.fixture
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    # Tests of the goal loop (marked `goal_loop`) get its state machine, executed by moto.
    with mocked_aws("runs", goal_loop=request.node.get_closest_marker("goal_loop") is not None) as resources:
        clock = QueueClock()
        clock.install(monkeypatch)
        yield Aws(
            store=Store(),
            queue=RunQueue(),
            sqs=boto3.client("sqs"),
            queue_url=resources["queue_url"],
            queue_arn=resources["queue_arn"],
            dlq_url=resources["dlq_url"],
            clock=clock,
        )


@dataclass
class Handlers:
    api: ModuleType
    dispatcher: ModuleType
    worker: ModuleType
    ingest: ModuleType
    aws: Aws
    in_flight: list[dict[str, Any]] = field(default_factory=list)

    def tick(self, now: datetime) -> dict[str, Any]:
        result: dict[str, Any] = self.dispatcher.handler(
            scheduled_event(now), LocalContext("DispatcherFunction")
        )
        return result

    def deliver(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Hand messages to the worker as the SQS event source mapping would."""
        result: dict[str, Any] = self.worker.handler(
            sqs_event(messages, self.aws.queue_arn), LocalContext("WorkerFunction")
        )
        return result

    def post_hook(
        self, url_path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """POST to a public webhook URL as API Gateway would hand it to the ingest function."""
        event = http_api_event(
            "POST", f"/api/hooks/{url_path}", headers, body, path_parameters={"url_path": url_path}
        )
        result = self.ingest.handler(event, LocalContext("IngestFunction"))
        return result["statusCode"], json.loads(result["body"]), result["headers"]

    def drain(self) -> int:
        """Deliver every visible message, deleting the ones the worker completed. Failed ones
        stay in flight (their back-off applies) and are kept in `in_flight`."""
        count = 0
        while messages := self.aws.receive():
            result = self.deliver(messages)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for m in messages:
                if m["MessageId"] in failed:
                    self.in_flight.append(m)
                else:
                    self.aws.sqs.delete_message(QueueUrl=self.aws.queue_url, ReceiptHandle=m["ReceiptHandle"])
            count += len(messages)
        return count

    def drain_until(self, done: Any, timeout: float = 15, *, fast_forward: bool = False) -> None:
        """Deliver messages as they become visible (retries are delayed) until `done()`. With
        `fast_forward`, when none is visible the queue's clock moves on to the next one's time
        rather than the test waiting for it (see `QueueClock`)."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("timed out draining the queue")
            if not self.drain() and not (
                fast_forward and self.aws.clock.advance_to_next(self.aws.queue_url, within=timeout)
            ):
                time.sleep(0.2)

    def retry_now(self) -> None:
        """End the back-off of every failed message, as if its delay had passed."""
        for m in self.in_flight:
            self.aws.sqs.change_message_visibility(
                QueueUrl=self.aws.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        self.in_flight.clear()


@pytest.fixture
def handlers(aws: Aws) -> Iterator[Handlers]:
    loaded = Handlers(
        api=load_handler("api", instance="_t"),
        dispatcher=load_handler("dispatcher", instance="_t"),
        worker=load_handler("worker", instance="_t"),
        ingest=load_handler("ingest", instance="_t"),
        aws=aws,
    )
    yield loaded
    # Each test loads the worker afresh, and each load has a thread pool of its own: end its
    # threads with the test rather than keeping them idle until the session ends.
    loaded.worker.threads.shutdown(wait=True, cancel_futures=True)


def token(*workspaces: str, subject: str = "tester") -> str:
    return issue_local_token(workspaces, secret=os.environ["LOCAL_JWT_SECRET"], subject=subject)


@pytest.fixture
def client(aws: Aws) -> Iterator[TestClient]:
    from tests.apps import api_app

    with TestClient(api_app(), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token('ws-1')}"
        yield c


def make_agent(
    store: Store, workspace: str = "ws-1", name: str = "report-agent", runtime: str = "builtin"
) -> str:
    from proactive.agents import create_agent
    from proactive.clock import utcnow
    from proactive.models.agents import AgentCreate

    return str(
        create_agent(store, AgentCreate(workspace_id=workspace, name=name, runtime=runtime), utcnow())["id"]
    )


def run_analysis(client: TestClient, *, timeout: float = 30, **body: Any) -> dict[str, Any]:
    """Trigger an analysis and wait for its execution to end; the analysis as the API shows it."""
    resp = client.post("/api/autonomous/analysis/trigger", json=body or None)
    assert resp.status_code == 202, resp.text
    return wait_for_analysis(client, resp.json()["id"], timeout=timeout)


def wait_for_analysis(
    client: TestClient, analysis_id: str, *, timeout: float = 30, until: str = "finished"
) -> dict[str, Any]:
    """Poll the analysis until it finished (or, with `until="set_goals"`, until that step did)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = client.get(f"/api/autonomous/analyses/{analysis_id}").json()
        if (until == "finished" and shown["status"] != "running") or until in shown.get("steps", {}):
            return dict(shown)
        assert time.monotonic() < deadline, f"analysis still {shown}"
        time.sleep(0.05)
