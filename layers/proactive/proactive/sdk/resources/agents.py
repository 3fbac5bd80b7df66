"""`/api/agents`: what runs do their tasks with."""

from __future__ import annotations

from proactive.models.agents import Agent, AgentWithSecret
from proactive.sdk.calls import Mode
from proactive.sdk.resources.base import DeletesInUse, Listed, Managed, Signed


class Agents(
    Managed[Agent, AgentWithSecret, Mode],
    Listed[Agent, Mode],
    DeletesInUse[Agent, Mode],
    Signed[Agent, AgentWithSecret, Mode],
):
    """`/api/agents`: what runs do their tasks with: `builtin` (a local summariser that needs no
    network), `http` (your own agent service, which signs with the agent's secret) or `llm` (a
    model, with tools). `create(workspace_id=..., name=..., runtime=..., config=...)`."""

    path, model, created = "/api/agents", Agent, AgentWithSecret
