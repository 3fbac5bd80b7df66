"""Agent runtimes behind one interface, and the registry that names them.

A runtime turns (agent, task) into output. The worker does not care whether the agent runs
here, over HTTP or on an LLM: it hands the runtime a `RunContext` (the run, what started it, a
`StepLog` to record what happens, what tools may reach, a deadline) and gets back an
`AgentResult` (output, usage, or "waiting for a callback"), or an `AgentError` that says whether
trying again could help. A runtime is registered by name with the module that holds it, and that
module is imported only when an agent of that runtime is validated or executed, so functions
that never run agents never load what runtimes depend on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from proactive.clock import iso
from proactive.errors import AgentError, InvalidInput
from proactive.observability import logger

if TYPE_CHECKING:
    from proactive.models.runs import RunRecord
    from proactive.queue import RunQueue
    from proactive.store import Store

__all__ = [
    "AgentError",
    "AgentResult",
    "AgentRuntime",
    "RunContext",
    "StepLog",
    "StreamEvent",
    "ToolContext",
    "Usage",
    "prepare_context",
    "register_context_source",
    "register_runtime",
    "register_runtime_loader",
    "runtime_for",
]

# A run's timeline is bounded: at most this many steps, each detail at most this long, and all
# of them at most this many bytes as JSON (a run is one item, and an item holds 400 KB).
MAX_STEPS = 100
MAX_DETAIL_CHARS = 2000
MAX_STEPS_BYTES = 64 * 1024


class StepLog:
    """What happened inside a run, in order: each step has `at`, `type` and its details.

    Bounded in count and size, so a run item stays small: a detail value longer than
    MAX_DETAIL_CHARS is cut with a marker, and past MAX_STEPS steps (or MAX_STEPS_BYTES of
    them) the oldest steps after the first are dropped, leaving a `truncated` step that says how
    many. The newest step is always kept.
    """

    def __init__(
        self, steps: list[dict[str, Any]] | None = None, *, clock: Callable[[], datetime] | None = None
    ):
        self.steps: list[dict[str, Any]] = list(steps or [])
        self._clock = clock or (lambda: datetime.now(UTC))
        # Told of each step as it is added (a conversation shows a long run's progress this way);
        # a listener's failure never stops the run.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def add(self, type_: str, **details: Any) -> dict[str, Any]:
        step = {"at": iso(self._clock()), "type": type_, **{k: _bounded(v) for k, v in details.items()}}
        self.steps.append(step)
        while len(self.steps) > MAX_STEPS or self._oversized():
            self._drop_oldest()
        for listener in self.listeners:
            try:
                listener(step)
            except Exception:
                logger.exception("a step listener failed", extra={"step": type_})
        return step

    def _oversized(self) -> bool:
        droppable = len(self.steps) - (3 if self.steps[1:2] and self.steps[1]["type"] == "truncated" else 2)
        return droppable > 0 and len(json.dumps(self.steps, default=str)) > MAX_STEPS_BYTES

    def _drop_oldest(self) -> None:
        """Drop the oldest step after the first (never the newest), counting it in the marker."""
        first, rest = self.steps[0], self.steps[1:]
        dropped = 0
        if rest and rest[0].get("type") == "truncated":
            dropped = int(rest[0].get("dropped", 0))
            rest = rest[1:]
        gone = rest[0]
        self.steps = [first, {"at": gone["at"], "type": "truncated", "dropped": dropped + 1}, *rest[1:]]


def _bounded(value: Any) -> Any:
    """A detail as it is kept: text cut to MAX_DETAIL_CHARS with a marker; structures as JSON
    when they are larger than that."""
    if isinstance(value, str):
        return value if len(value) <= MAX_DETAIL_CHARS else value[:MAX_DETAIL_CHARS] + " … [truncated]"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return value if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS] + " … [truncated]"
    return value


@dataclass(frozen=True)
class Usage:
    """What a run consumed. `cost_usd` is None where the model has no known price."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = (
            None
            if self.cost_usd is None and other.cost_usd is None
            else (self.cost_usd or 0) + (other.cost_usd or 0)
        )
        return Usage(
            self.requests + other.requests,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.tool_calls + other.tool_calls,
            cost,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tool_calls": self.tool_calls,
            "cost_usd": self.cost_usd,
        }


@dataclass(frozen=True)
class ToolContext:
    """What an agent's tools may reach: the run's workspace, through the store and the queue."""

    store: Store
    queue: RunQueue
    workspace_id: str
    run_id: str


# (event, data): `delta` {"text"} as the model writes, `tool_call` {"tool", "arguments", "id"}.
StreamEvent = Callable[[str, dict[str, Any]], None]


@dataclass
class RunContext:
    """What an agent knows about the run it is executing. A conversation's turn also carries the
    conversation so far (`history`: `{"role": "user" | "assistant", "content"}`, oldest first),
    `instructions` to add to the agent's own (a sidekick's application state), and `on_event`,
    to which a runtime that can stream hands what the model produces as it produces it."""

    run_id: str
    source_type: str
    source_id: str | None
    attempt: int
    workspace_id: str = ""
    payload: Any = None  # the webhook, trigger or monitor data that started the run, if any
    steps: StepLog = field(default_factory=StepLog)
    tools: ToolContext | None = None
    deadline: float | None = None  # time.monotonic() by which the attempt must return
    history: list[dict[str, str]] = field(default_factory=list)
    instructions: str | None = None
    on_event: StreamEvent | None = None

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


@dataclass(frozen=True)
class AgentResult:
    """A runtime's answer: the output, what it consumed, or that the agent will call back."""

    output: str = ""
    usage: Usage | None = None
    waiting_for_callback: bool = False


class AgentRuntime(Protocol):
    name: str

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return the config to store, or raise InvalidInput naming the problem."""

    def execute(self, agent: Mapping[str, Any], task: str, context: RunContext) -> AgentResult:
        """Do the task. Raise AgentError (retryable or not) when the agent cannot."""


# What an agent must know about the source of its run, beyond the task (a conversation's
# history): source type -> the function that adds it to the run's context before each attempt.
# Registered by the platform's wiring (`proactive.wiring.agents`); runs know none of the sources.
ContextSource = Callable[["Store", "RunRecord", RunContext], None]
_CONTEXT_SOURCES: dict[str, ContextSource] = {}


def register_context_source(source_type: str, prepare: ContextSource) -> None:
    """Let runs from `source_type` have their context prepared by `prepare` before each attempt."""
    _CONTEXT_SOURCES[source_type] = prepare


def prepare_context(store: Store, run: RunRecord, context: RunContext) -> None:
    """Add what the run's source tells the agent (nothing, for most sources) to `context`."""
    prepare = _CONTEXT_SOURCES.get(run.source_type)
    if prepare is not None:
        prepare(store, run, context)


# name -> the runtime; and name -> the function that makes it when first used (registered by the
# platform's wiring, `proactive.wiring`: a runtime's SDKs load only when an agent needs them).
_RUNTIMES: dict[str, AgentRuntime] = {}
_LOADERS: dict[str, Callable[[], AgentRuntime]] = {}


def register_runtime(runtime: AgentRuntime) -> None:
    """Make a runtime available to agents by its name."""
    _RUNTIMES[runtime.name] = runtime


def register_runtime_loader(name: str, load: Callable[[], AgentRuntime]) -> None:
    """Make the runtime `load()` returns available by `name`, loaded when an agent first uses it."""
    _LOADERS[name] = load


def runtime_for(name: str) -> AgentRuntime:
    runtime = _RUNTIMES.get(name)
    if runtime is None:
        load = _LOADERS.get(name)
        if load is None:
            if not _RUNTIMES and not _LOADERS:
                raise RuntimeError("no agent runtime is registered: call wiring.agents.install() first")
            available = ", ".join(sorted({*_RUNTIMES, *_LOADERS}))
            raise InvalidInput(f"unknown runtime {name!r}; available: {available}", field="runtime")
        runtime = _RUNTIMES[name] = load()
    return runtime
