"""Tasks: views over the schedules, triggers, webhooks and runs they own (`proactive.tasks`)."""

from __future__ import annotations

from typing import Any

from proactive.store.entities import Entities


class Tasks(Entities[dict[str, Any]]):
    kind = "task"
