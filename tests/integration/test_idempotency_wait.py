"""Concurrent calls with one Idempotency-Key: with `Prefer: wait=<seconds>`, each waits for the
first call's answer and gets it, and one run is made; without it, one still being handled is 409."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from proactive import runs
from proactive.api.deps import prefer_wait
from proactive.clock import utcnow
from proactive.models.runs import RunCreate
from tests.integration.conftest import Aws, make_agent


def concurrently(client: TestClient, calls: int, headers: dict[str, str], body: dict[str, Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(lambda _: client.post("/api/runs", json=body, headers=headers), range(calls)))


def test_ten_concurrent_calls_that_wait_get_the_first_calls_answer_and_make_one_run(
    client: TestClient, aws: Aws
) -> None:
    body = {"workspace_id": "ws-1", "agent_id": make_agent(aws.store), "task": "deploy 42"}
    headers = {"Idempotency-Key": "deploy-42", "Prefer": "wait=10"}
    answers = concurrently(client, 10, headers, body)
    assert [a.status_code for a in answers] == [202] * 10, [a.text for a in answers if a.status_code != 202]
    assert len({a.text for a in answers}) == 1
    runs = client.get("/api/runs").json()["items"]
    assert [r["id"] for r in runs] == [answers[0].json()["id"]]


def test_a_call_waits_for_the_first_call_still_being_handled_or_is_told_how_to(
    client: TestClient, aws: Aws
) -> None:
    # Given a first call that took the key and is still making its run
    body = RunCreate(workspace_id="ws-1", agent_id=make_agent(aws.store), task="deploy 43")
    content = body.model_dump_json()
    same = hashlib.sha256(f"POST /api/runs\n{content}".encode()).hexdigest()
    assert aws.store.requests.claim("ws-1", "deploy-43", same, "run-first", utcnow()) is None
    headers = {"Idempotency-Key": "deploy-43", "Content-Type": "application/json"}

    # A call that does not wait is told the first is still being handled, and how to wait
    busy = client.post("/api/runs", content=content, headers=headers)
    assert busy.status_code == 409
    assert "still being handled" in busy.json()["message"]
    assert "Prefer: wait=<seconds>" in busy.json()["message"]
    # One that waits less than it takes is told the same, after waiting
    started = time.monotonic()
    assert (
        client.post("/api/runs", content=content, headers={**headers, "Prefer": "wait=1"}).status_code == 409
    )
    assert time.monotonic() - started >= 0.9

    # One that waits long enough gets the first call's run once it is stored
    def first_call_ends() -> None:
        time.sleep(0.5)
        runs.delegate(
            aws.store, aws.queue, aws.bus, body, requested_by="tester", now=utcnow(), run_id="run-first"
        )

    finishing = threading.Thread(target=first_call_ends)
    finishing.start()
    waited = client.post("/api/runs", content=content, headers={**headers, "Prefer": "wait=5"})
    finishing.join()
    assert waited.status_code == 202, waited.text
    assert waited.json()["id"] == "run-first"
    assert [r["id"] for r in client.get("/api/runs").json()["items"]] == ["run-first"]


def test_the_wait_preference_is_read_as_rfc_7240_says_and_bounded() -> None:
    assert prefer_wait(None) == 0
    assert prefer_wait("wait=3") == 3
    assert prefer_wait("respond-async, wait=5") == 5
    assert prefer_wait("wait=3600") == 10
    assert prefer_wait("wait=soon") == 0
    assert prefer_wait("return=minimal") == 0
