"""Agents: nothing beyond what every entity has."""

from __future__ import annotations

from proactive.store.entities import Entities


class Agents(Entities):
    kind = "agent"
