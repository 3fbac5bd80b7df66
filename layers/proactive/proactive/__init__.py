"""Proactive: a serverless platform that makes AI agents proactive.

The Python SDK's names are importable from here (`from proactive import Scheduler`); they load
only when asked for, so the platform's own functions never import them.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_SDK = frozenset(
    {
        "Agents",
        "Autonomous",
        "Channels",
        "Proactive",
        "ProactiveError",
        "ProactiveMonitor",
        "Runs",
        "Scheduler",
        "TriggerManager",
        "WebhookManager",
    }
)


def __getattr__(name: str) -> Any:
    if name in _SDK:
        from proactive import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'proactive' has no attribute {name!r}")
