"""Proactive: a serverless platform that makes AI agents proactive.

The Python SDK's names (`proactive.sdk.__all__`) are importable from here (`from proactive import
Scheduler`); they load only when asked for, so the platform's own functions never import them.
Type checkers see them as the SDK's own classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proactive.sdk import Actions as Actions
    from proactive.sdk import Agents as Agents
    from proactive.sdk import Approvals as Approvals
    from proactive.sdk import Autonomous as Autonomous
    from proactive.sdk import Channels as Channels
    from proactive.sdk import Conversations as Conversations
    from proactive.sdk import Delta as Delta
    from proactive.sdk import Events as Events
    from proactive.sdk import GoalLoop as GoalLoop
    from proactive.sdk import LoginLink as LoginLink
    from proactive.sdk import Metrics as Metrics
    from proactive.sdk import PageCall as PageCall
    from proactive.sdk import Proactive as Proactive
    from proactive.sdk import ProactiveError as ProactiveError
    from proactive.sdk import ProactiveMonitor as ProactiveMonitor
    from proactive.sdk import ProactiveSync as ProactiveSync
    from proactive.sdk import Runs as Runs
    from proactive.sdk import Scheduler as Scheduler
    from proactive.sdk import Secrets as Secrets
    from proactive.sdk import StreamEvent as StreamEvent
    from proactive.sdk import Suggestions as Suggestions
    from proactive.sdk import Tasks as Tasks
    from proactive.sdk import ToolCall as ToolCall
    from proactive.sdk import TriggerManager as TriggerManager
    from proactive.sdk import TurnFailed as TurnFailed
    from proactive.sdk import WebhookManager as WebhookManager
    from proactive.sdk import Workspace as Workspace

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Only a capitalised name can be one of the SDK's (all classes): `from proactive import aws`
    # asks here for `aws` before importing the submodule, and that must not load the SDK.
    if name[:1].isupper():
        try:
            sdk = importlib.import_module("proactive.sdk")
        except ModuleNotFoundError as exc:
            if exc.name != "proactive.sdk":
                raise
            sdk = None  # the Lambda layer ships without the SDK
        if sdk is not None and name in sdk.__all__:
            return getattr(sdk, name)
    raise AttributeError(f"module 'proactive' has no attribute {name!r}")
