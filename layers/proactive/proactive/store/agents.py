"""Agents: what every entity has, and an http agent's signing secrets sealed."""

from __future__ import annotations

from proactive.store.entities import SIGNING_SECRETS, Entities


class Agents(Entities):
    kind = "agent"
    sealed_fields = SIGNING_SECRETS
