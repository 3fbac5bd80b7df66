"""The builtin runtime: a deterministic local agent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from proactive.agents.runtimes import AgentResult, RunContext
from proactive.errors import InvalidInput


class BuiltinRuntime:
    """Answers with a summary of the task it was given.

    It needs no network or credentials, so a new deployment can prove the whole path
    (schedule -> queue -> worker -> run) before any real agent is connected.
    """

    name = "builtin"
    _max_summary = 280

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        if config:
            raise InvalidInput(
                f"the builtin runtime takes no config; got keys {sorted(config)}", field="config"
            )
        return {}

    def execute(self, agent: Mapping[str, Any], task: str, context: RunContext) -> AgentResult:
        if isinstance(context.payload, Mapping) and isinstance(context.payload.get("digest"), str):
            return AgentResult(self._review(agent, context.payload["digest"]))
        text = " ".join(task.split())
        words = len(text.split(" ")) if text else 0
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        if len(first) > self._max_summary:
            first = first[: self._max_summary - 1].rstrip() + "…"
        kind = context.source_type
        return AgentResult(
            f"Builtin agent '{agent['name']}' summary of the {kind} task ({words} words): {first}"
        )

    @staticmethod
    def _review(agent: Mapping[str, Any], digest: str) -> str:
        """Autonomous mode: what the digest of the workspace says, line by line, the failures first."""
        lines = [line.lstrip("- ").strip() for line in digest.splitlines()[1:] if line.strip()]
        urgent = [line for line in lines if line.startswith(("Failed", "Failing", "Missed"))]
        rest = [line for line in lines if line not in urgent]
        verdict = (
            f"{len(urgent)} item needs attention"
            if len(urgent) == 1
            else f"{len(urgent)} items need attention"
            if urgent
            else "nothing needs attention"
        )
        return f"Builtin agent '{agent['name']}' reviewed the workspace: {verdict}.\n" + "\n".join(
            f"- {line}" for line in urgent + rest
        )
