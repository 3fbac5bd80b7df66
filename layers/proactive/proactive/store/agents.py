"""Agents: what every entity has, and an http agent's signing secrets sealed."""

from __future__ import annotations

from typing import Any

from proactive.store.entities import SIGNING_SECRETS, Entities


class Agents(Entities[dict[str, Any]]):
    kind = "agent"
    sealed_fields = SIGNING_SECRETS
