"""The command groups, in the order `proactive --help` lists them: (name, module, help)."""

from __future__ import annotations

from types import ModuleType

from proactive.cli.commands import (
    agents,
    channels,
    conversations,
    loop,
    monitors,
    runs,
    schedules,
    secrets,
    suggestions,
    tasks,
    triggers,
    webhooks,
)

COMMANDS: list[tuple[str, ModuleType, str]] = [
    ("agents", agents, "Agents: list, show, create, update, delete, run."),
    ("runs", runs, "Runs: list with filters, show, logs, cancel, replay."),
    ("schedules", schedules, "Schedules: list, show, create, update, pause, resume, run, next, delete."),
    ("triggers", triggers, "Triggers: list, show, create, update, fire, delete."),
    ("webhooks", webhooks, "Webhooks: list, show, create, deliveries, rotate-secret, send-test, delete."),
    ("monitors", monitors, "Monitors: list, show, create, check, pause, resume, history, delete."),
    ("channels", channels, "Notification channels: list, show, create, test, log, delete."),
    ("conversations", conversations, "Conversations: list, show, create, send, chat (streamed)."),
    ("tasks", tasks, "Tasks: list, show, create, execute, enable, disable, delete."),
    ("loop", loop, "The goal loop: metrics, events, goals, approvals, actions, status, report."),
    ("suggestions", suggestions, "Suggestions: list, show, accept, dismiss, snooze, refresh."),
    ("secrets", secrets, "Workspace secrets: set (value from stdin), list, delete."),
]
