"""Time to the first streamed token of a conversation's answer, through the local stack.

A chatbot conversation with an llm agent on an OpenAI-compatible server on loopback, which
streams each answer in chunks 20 ms apart. Through the stack: from sending the message (with
`stream: true`) to the first `event: delta`; beside it, the model's own time to its first content
chunk when called directly. The difference is what the platform adds before the model starts
answering: taking the conversation's turn, storing the message and the run, reading the history,
building the agent.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.bench.common import percentile, quiet, spread
from tests.fakes import OpenAIChatServer, say
from tests.localstack import running_stack

TURNS = int(os.environ.get("BENCH_TURNS", "20"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WS = "ws-bench"
ANSWER = "The capital of France is Paris, which sits on the Seine and has about two million people."


def _direct_first_chunk(model: OpenAIChatServer) -> float:
    """The model's own time to its first content chunk, called directly."""
    model.script(say(ANSWER, chunk_delay=0.02))
    body = {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": "Capital?"}]}
    started = time.perf_counter()
    with httpx.stream("POST", f"{model.api_base}/chat/completions", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if '"content": "' in line and '"content": ""' not in line:
                return time.perf_counter() - started
    raise AssertionError("the model sent no content")


def _through_stack(client: httpx.Client, conversation_id: str, model: OpenAIChatServer) -> float:
    model.script(say(ANSWER, chunk_delay=0.02))
    started = time.perf_counter()
    first = None
    with client.stream(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"message": "What is the capital of France?", "stream": True},
        timeout=60,
    ) as response:
        for line in response.iter_lines():
            if first is None and line == "event: delta":
                first = time.perf_counter() - started
    if first is None:
        raise AssertionError("no delta was streamed")
    return first


def _one_run(model: OpenAIChatServer) -> tuple[list[float], list[float]]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp) / "stack.log") as stack,
        stack.client(WS) as client,
    ):
        agent = client.post(
            "/api/agents",
            json={
                "workspace_id": WS,
                "name": "bench-chat",
                "runtime": "llm",
                "config": {"provider": "openai", "model": "bench-model", "base_url": model.api_base},
            },
        )
        agent.raise_for_status()
        conversation = client.post(
            "/conversations", json={"workspace_id": WS, "agent_id": agent.json()["id"]}
        ).json()
        _through_stack(client, conversation["id"], model)  # warm: the llm libraries load once
        stack_times = [_through_stack(client, conversation["id"], model) for _ in range(TURNS)]
    direct_times = [_direct_first_chunk(model) for _ in range(TURNS)]
    return stack_times, direct_times


def main() -> None:
    quiet()
    with OpenAIChatServer() as model:
        results = [_one_run(model) for _ in range(RUNS)]
    medians = [statistics.median(s) for s, _ in results]
    p95s = [percentile(s, 0.95) for s, _ in results]
    direct = [statistics.median(d) for _, d in results]
    print("Conversations: time to the first streamed token (local stack, model on loopback)")
    print(f"  through the stack, median: {spread(medians, ' ms', 1000)}")
    print(f"  through the stack, p95:    {spread(p95s, ' ms', 1000)}")
    print(f"  the model's own first chunk, median: {spread(direct, ' ms', 1000, 1)}")
    print(f"  ({TURNS} turns per run; each turn's history grows by two messages)")
