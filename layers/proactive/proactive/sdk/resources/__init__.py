"""One class per kind of resource, each a thin map of the API's routes to methods that take
keyword arguments (the fields of the request body, as the API names them) and give back the
API's own response models, so attributes and types match what the API sends.

Each can be made on its own, as in `Scheduler()` (async; the API's address and token then come
from `PROACTIVE_API_URL` and `PROACTIVE_TOKEN`), or reached from a `Proactive` or `ProactiveSync`
client, whose connections they then share.
"""

from __future__ import annotations

from proactive.models.workspace import LoginLink
from proactive.sdk.resources.actions import Actions, Approvals
from proactive.sdk.resources.agents import Agents
from proactive.sdk.resources.autonomy import Autonomous
from proactive.sdk.resources.conversations import Conversations, Delta, StreamEvent, ToolCall, TurnFailed
from proactive.sdk.resources.loop import GoalLoop
from proactive.sdk.resources.monitors import ProactiveMonitor
from proactive.sdk.resources.notifications import Channels
from proactive.sdk.resources.runs import Runs
from proactive.sdk.resources.schedules import Scheduler
from proactive.sdk.resources.secrets import Secrets
from proactive.sdk.resources.series import Events, Metrics
from proactive.sdk.resources.suggestions import Suggestions
from proactive.sdk.resources.tasks import Tasks
from proactive.sdk.resources.triggers import TriggerManager
from proactive.sdk.resources.webhooks import WebhookManager
from proactive.sdk.resources.workspace import Workspace

__all__ = [
    "Actions",
    "Agents",
    "Approvals",
    "Autonomous",
    "Channels",
    "Conversations",
    "Delta",
    "Events",
    "GoalLoop",
    "LoginLink",
    "Metrics",
    "ProactiveMonitor",
    "Runs",
    "Scheduler",
    "Secrets",
    "StreamEvent",
    "Suggestions",
    "Tasks",
    "ToolCall",
    "TriggerManager",
    "TurnFailed",
    "WebhookManager",
    "Workspace",
]
