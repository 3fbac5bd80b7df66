"""Tasks: views over the schedules, triggers, webhooks and runs they own (`proactive.tasks`)."""

from __future__ import annotations

from proactive.store.entities import Entities


class Tasks(Entities):
    kind = "task"
