"""The API's routers: in which module each is, the path prefix its routes are under, and the
order the app includes them in (which is the order of the paths in the OpenAPI document).

They are named, not imported, so that the API function can build an app of one prefix's routers
without loading the others (`proactive.api.app.create_lazy_app`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter


@dataclass(frozen=True)
class Router:
    # Every route of the router is at this path or under it (tests/integration/test_api_routers.py).
    prefix: str
    module: str  # in proactive.api, or a full module path
    name: str = "router"
    # Its routes document the error answers of authenticated routes (errors.RESPONSES).
    authenticated: bool = True

    def serves(self, path: str) -> bool:
        """Whether a request for `path` can only be answered by routers of this prefix."""
        return path == self.prefix or path.startswith(f"{self.prefix}/")

    def load(self) -> APIRouter:
        module = self.module if self.module.startswith("proactive.") else f"proactive.api.{self.module}"
        router: APIRouter = getattr(importlib.import_module(module), self.name)
        return router


# The console's page modules, in the order their routes are matched (sign-in and files first).
CONSOLE = (
    "routes_auth",
    "routes_overview",
    "routes_runs",
    "routes_schedules",
    "routes_webhooks",
    "routes_monitors",
    "routes_notifications",
    "routes_conversations",
    "routes_loop",
    "routes_agents",
    "routes_suggestions",
)

ROUTERS: tuple[Router, ...] = (
    Router("/health", "routes_health", authenticated=False),
    Router("/api/agents", "routes_agents"),
    Router("/api/runs", "routes_runs"),
    Router("/api/proactive/schedules", "routes_schedules"),
    Router("/api/proactive/triggers", "routes_triggers"),
    Router("/api/proactive/webhooks", "routes_webhooks"),
    Router("/api/proactive/monitors", "routes_monitors"),
    Router("/api/proactive/suggestions", "routes_suggestions"),
    Router("/api/proactive/patterns", "routes_suggestions", "patterns_router"),
    Router("/api/workspace", "routes_workspace"),
    Router("/api/secrets", "routes_secrets"),
    Router("/api/notifications", "routes_notifications"),
    Router("/api/autonomous", "routes_autonomy"),
    Router("/api/autonomous", "routes_series"),
    Router("/api/autonomous", "routes_loop"),
    Router("/conversations", "routes_conversations"),
    Router("/tasks", "routes_tasks"),
    Router("/api/autonomous", "routes_actions"),
    Router("/api/autonomous", "routes_approvals"),
    Router("/api/hooks", "routes_hooks", authenticated=False),
    Router("/api/callbacks", "routes_callbacks", authenticated=False),
    Router("/tasks", "routes_tasks", "public", authenticated=False),
    Router("/approvals", "routes_approvals", "public", authenticated=False),
    # The console: pages, not part of the API's OpenAPI document (proactive.console).
    Router("/", "proactive.console.routes_auth", "root", authenticated=False),
    *(Router("/console", f"proactive.console.{module}", authenticated=False) for module in CONSOLE),
    # Last: any other console address (sign in first, then a page saying it is not there).
    Router("/console", "proactive.console.routes_auth", "unknown", authenticated=False),
)
