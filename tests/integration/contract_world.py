"""The workspace the contract test's generated requests act on, and how generation is steered
into it.

Generated data alone cannot reach most of the API's success paths: a path names a resource by
an id that must exist, a create names an agent or a channel that must exist in the token's
workspace, and some fields are languages the schema cannot describe (cron, conditions, zones).
So the test keeps one resource of each kind in the workspace (`World`, made through the API
itself and made again when a generated DELETE removed it), and the schema's hooks offer, beside
each generated value, the same value with these fields set to real ones (`steer_path`,
`steer_body`); Hypothesis picks between the two, so purely generated requests are sent too.

Every URL the product is steered to is a local receiver: the test lets no connection leave the
machine (`loopback_only`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from proactive.api import deps
from proactive.clock import iso, utcnow

WS = "ws-1"
# Values for fields whose validity the schema cannot express.
CRON = "*/30 * * * *"
ZONE = "Europe/Paris"
CONDITION = "value > 1"
GOAL_TYPE = "BOTTLENECK_PREVENTION"


def _loopback(host: object) -> bool:
    if host in ("localhost", "localhost.", "testserver"):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse every name look-up and connection that is not to this machine: generated requests
    carry URLs (monitor sources, webhooks, agent endpoints) that the product would call."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host.decode() if isinstance(host, bytes) else host):
            raise socket.gaierror(
                socket.EAI_NONAME, f"the contract test resolves no name but loopback: {host}"
            )
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise ConnectionRefusedError(f"the contract test connects nowhere but loopback: {address}")
        return real_connect(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo
        socket.socket.connect = real_connect  # type: ignore[method-assign]


class World:
    """One live resource of each kind in workspace `WS`, made through the API; `id(kind)` makes
    it again if a generated request deleted it."""

    def __init__(self, client: TestClient, receiver_url: str) -> None:
        self.client = client
        self.receiver_url = receiver_url  # a local endpoint that accepts any POST
        self._ids: dict[str, str] = {}
        self._made: dict[str, Callable[[], str]] = {
            "agent": self._agent,
            "http_agent": self._http_agent,
            "channel": self._channel,
            "schedule": self._schedule,
            "trigger": self._trigger,
            "webhook": self._webhook,
            "monitor": self._monitor,
            "conversation": self._conversation,
            "task": self._task,
            "action": self._action,
            "run": self._run,
            "suggestion": self._suggestion,
        }
        self._metrics_made = 0
        self._paths = {
            "agent": "/api/agents/{}",
            "http_agent": "/api/agents/{}",
            "channel": "/api/notifications/channels/{}",
            "schedule": "/api/proactive/schedules/{}",
            "trigger": "/api/proactive/triggers/{}",
            "webhook": "/api/proactive/webhooks/{}",
            "monitor": "/api/proactive/monitors/{}",
            "conversation": "/conversations/{}",
            "task": "/tasks/{}",
            "action": "/api/autonomous/actions/{}",
            "run": "/api/runs/{}",
            "suggestion": "/api/proactive/suggestions/{}",
        }

    def _post(self, path: str, body: dict[str, Any] | None = None, status: int = 201) -> dict[str, Any]:
        resp = self.client.post(path, json=body)
        assert resp.status_code == status, f"POST {path}: {resp.status_code} {resp.text}"
        return dict(resp.json())

    def id(self, kind: str) -> str:
        """The id of a live resource of this kind (made again if it is gone)."""
        known = self._ids.get(kind)
        if known is not None and (kind not in self._paths or self._live(kind, known)):
            return known
        self._ids[kind] = self._made[kind]()
        return self._ids[kind]

    def _live(self, kind: str, known: str) -> bool:
        resp = self.client.get(self._paths[kind].format(known))
        # A suggestion is live while it can still be accepted, dismissed or snoozed.
        return resp.status_code == 200 and (kind != "suggestion" or resp.json()["status"] == "open")

    # The resources, each as a person would make it.

    def _agent(self) -> str:
        return str(self._post("/api/agents", {"workspace_id": WS, "name": "contract agent"})["id"])

    def _http_agent(self) -> str:
        """An agent of the runtime that has a secret (to sign requests to it)."""
        body = {
            "workspace_id": WS,
            "name": "contract service",
            "runtime": "http",
            "config": {"url": self.receiver_url},
        }
        return str(self._post("/api/agents", body)["id"])

    def _suggestion(self) -> str:
        """A metric of its own with a spike every 40 hours over the last 200, which nothing
        watches: mining suggests a monitor for it."""
        self._metrics_made += 1
        name = f"contract_load_{self._metrics_made}"
        now = utcnow()
        points = [
            {
                "metric_name": name,
                "value": 95.0 if i % 40 == 20 else 50.0 + i % 7,
                "timestamp": iso(now - timedelta(hours=200 - i)),
            }
            for i in range(200)
        ]
        self.id("agent")
        self._post("/api/autonomous/metrics", {"workspace_id": WS, "metrics": points}, status=200)
        self._post(f"/api/proactive/suggestions/refresh?workspace_id={WS}", status=200)
        listed = self.client.get("/api/proactive/suggestions", params={"status": "open", "kind": "monitor"})
        [made] = [s for s in listed.json()["items"] if s["subject"] == f"metric:{name}"]
        return str(made["id"])

    def _channel(self) -> str:
        body = {"workspace_id": WS, "name": "ops", "type": "webhook", "config": {"url": self.receiver_url}}
        return str(self._post("/api/notifications/channels", body)["id"])

    def _schedule(self) -> str:
        body = {
            "workspace_id": WS,
            "name": "daily report",
            "agent_id": self.id("agent"),
            "task_description": "Write the daily report",
            "cron_expression": CRON,
            "timezone": ZONE,
        }
        return str(self._post("/api/proactive/schedules", body)["id"])

    def _trigger(self) -> str:
        body = {
            "workspace_id": WS,
            "name": "deploys",
            "trigger_type": "webhook",
            "agent_id": self.id("agent"),
            "task_template": "Check the latest deploy",
        }
        return str(self._post("/api/proactive/triggers", body)["id"])

    def _webhook(self) -> str:
        body = {"workspace_id": WS, "name": "deploy hook", "trigger_id": self.id("trigger")}
        return str(self._post("/api/proactive/webhooks", body)["id"])

    def _monitor(self) -> str:
        body = {
            "workspace_id": WS,
            "name": "queue depth",
            "agent_id": self.id("agent"),
            "source": {"type": "metric"},
            "condition": CONDITION,
            "action": "Drain the queue",
        }
        return str(self._post("/api/proactive/monitors", body)["id"])

    def _conversation(self) -> str:
        return str(self._post("/conversations", {"workspace_id": WS, "agent_id": self.id("agent")})["id"])

    def _task(self) -> str:
        # A scheduled task: a delegation runs once, and can be neither changed nor paused.
        body = {
            "workspace_id": WS,
            "task_type": "scheduled",
            "prompt": "Summarise",
            "agent_id": self.id("agent"),
            "schedule_expression": CRON,
            "timezone": ZONE,
        }
        return str(self._post("/tasks", body)["id"])

    def _action(self) -> str:
        body = {
            "workspace_id": WS,
            "name": "page ops",
            "goal_types": [GOAL_TYPE],
            "kind": "notify",
            "channels": [self.id("channel")],
            "message_template": "{title}",
        }
        return str(self._post("/api/autonomous/actions", body)["id"])

    def _run(self) -> str:
        body = {"workspace_id": WS, "agent_id": self.id("agent"), "task": "Summarise the week"}
        resp = self.client.post("/api/runs", json=body)
        assert resp.status_code in (201, 202), resp.text
        return str(resp.json()["id"])

    def set_up_goal_loop(self, timeout: float = 30) -> None:
        """Two metrics climbing to their limits, a rule on each and an action that needs approval;
        then an analysis, which sets a goal for each and plans the action for both. From then on
        the metric, the analysis, a goal and two goal actions awaiting approval exist: one for the
        API's decision, one for an approval link (each decides once)."""
        now = utcnow()
        points = [
            {
                "metric_name": name,
                "value": round(50 + 29 * i / 180 + (0.4 if i % 2 else -0.4), 2),
                "timestamp": iso(now - timedelta(minutes=180 - i)),
            }
            for name in ("cpu_usage", "memory_usage")
            for i in range(181)
        ]
        self._post("/api/autonomous/metrics", {"metrics": points}, status=200)
        settings = {
            "workspace_id": WS,
            "default_agent_id": self.id("agent"),
            "default_channels": [self.id("channel")],
        }
        assert self.client.put("/api/workspace/settings", json=settings).status_code == 200
        rules = {
            "workspace_id": WS,
            "rules": ["cpu_usage <= 80 horizon_hours=2", "memory_usage <= 80 horizon_hours=2"],
        }
        assert self.client.put("/api/autonomous/settings", json=rules).status_code == 200
        config = {"workspace_id": WS, "enabled": True, "agent_id": self.id("agent")}
        assert self.client.put("/api/autonomous/config", json=config).status_code == 200
        self._post(
            "/api/autonomous/actions",
            {
                "workspace_id": WS,
                "name": "scale out",
                "goal_types": [GOAL_TYPE],
                "kind": "agent",
                "agent_id": self.id("agent"),
                "task_template": "Add capacity for {resource}",
                "requires_approval": True,
            },
        )
        self._ids["metric"] = "cpu_usage"
        self._ids["analysis"] = str(self._post("/api/autonomous/analysis/trigger", status=202)["id"])
        deadline = time.monotonic() + timeout
        while len(awaiting := self.client.get("/api/autonomous/approvals").json()["items"]) < 2:
            assert time.monotonic() < deadline, f"the analysis planned {len(awaiting)} of 2 approvals"
            time.sleep(0.05)
        self._ids["goal_action"] = str(awaiting[0]["id"])
        self._ids["goal"] = str(awaiting[0]["goal_id"])
        # The links go out in a notification (sent later by the worker): read them where it is kept.
        [notice] = [n for n in deps.get_store().notifications.all_in(WS) if n.subject_id == awaiting[1]["id"]]
        approve = dict(notice.notice["actions"])["Approve"]
        self._ids["link"] = approve.rsplit("/", 1)[1]

    def known(self, kind: str) -> str | None:
        """The id of a resource made once (by `set_up_goal_loop`), if there is one."""
        return self._ids.get(kind)


# Path parameters that name a resource, by the kind of resource.
PATH_KINDS = {
    "agent_id": "agent",
    "run_id": "run",
    "schedule_id": "schedule",
    "trigger_id": "trigger",
    "webhook_id": "webhook",
    "monitor_id": "monitor",
    "channel_id": "channel",
    "conversation_id": "conversation",
    "task_id": "task",
    "action_id": "action",
    "metric_name": "metric",
    "analysis_id": "analysis",
    "goal_id": "goal",
    "goal_action_id": "goal_action",
    "suggestion_id": "suggestion",
}


# Operations that need a resource of another kind than their parameter's name says.
PATH_KINDS_BY_OPERATION = {"/api/agents/{agent_id}/regenerate-secret": {"agent_id": "http_agent"}}


def steer_path(world: World, path: str, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters with each resource id replaced by a live resource's."""
    steered = dict(path_parameters)
    kinds = {**PATH_KINDS, **PATH_KINDS_BY_OPERATION.get(path, {})}
    for name in path_parameters:
        kind = kinds.get(name)
        if kind is None:
            continue
        found = world.id(kind) if kind in world._made else world.known(kind)
        if found is not None:
            steered[name] = found
    if "link" in steered and world.known("link") is not None:
        steered["link"] = world.known("link")
    return steered


# Body fields that name a resource, or hold a language the schema cannot describe.
def _field_values(world: World) -> dict[str, Callable[[], Any]]:
    return {
        "agent_id": lambda: world.id("agent"),
        "default_agent_id": lambda: world.id("agent"),
        "trigger_id": lambda: world.id("trigger"),
        "channel_id": lambda: world.id("channel"),
        "channels": lambda: [world.id("channel")],
        "default_channels": lambda: [world.id("channel")],
        "cron_expression": lambda: CRON,
        "schedule_expression": lambda: CRON,
        "timezone": lambda: ZONE,
        "condition": lambda: CONDITION,
        "source": lambda: {"type": "metric"},
        "filter": lambda: None,
        "webhook_url": lambda: world.receiver_url,
        "url": lambda: world.receiver_url,
        "goal_types": lambda: [GOAL_TYPE],
    }


# Configurations that work, by the type of channel or trigger they belong to.
CHANNEL_CONFIGS: dict[str, Callable[[World], dict[str, Any]]] = {
    "webhook": lambda world: {"url": world.receiver_url},
    "ntfy": lambda world: {"topic": "contract", "server": world.receiver_url.rsplit("/", 1)[0]},
    "email": lambda world: {"to": ["ops@example.com"]},
}
TRIGGER_CONFIGS: dict[str, dict[str, Any]] = {
    "webhook": {},
    "manual": {},
    "event": {"event": "run.failed"},
    "github": {"repository": "owner/repo", "event": "pull_request"},
}


# What an action of each kind needs besides its name and goal types.
ACTION_FIELDS: dict[str, Callable[[World], dict[str, Any]]] = {
    "agent": lambda world: {"agent_id": world.id("agent"), "task_template": "Relieve {metric}"},
    "http": lambda world: {"url": world.receiver_url},
    "notify": lambda world: {"channels": [world.id("channel")], "message_template": "{title}"},
}
# What a task of each type needs, and may not have.
TASK_FIELDS = {
    "delegation": ({}, ("schedule_expression", "timezone", "trigger_config")),
    "scheduled": ({"schedule_expression": CRON, "timezone": ZONE}, ("trigger_config",)),
    "triggered": ({"trigger_config": {}}, ("schedule_expression", "timezone")),
}


def steer_body(world: World, body: Any) -> Any:
    """The body with the fields above (where it has them) set to values that work here, and the
    fields a channel, trigger, action or task of its type needs."""
    if not isinstance(body, dict):
        return body
    values = _field_values(world)
    steered = {key: values[key]() if key in values else value for key, value in body.items()}
    if body.get("type") in CHANNEL_CONFIGS and "name" in body:
        steered["config"] = CHANNEL_CONFIGS[body["type"]](world)
    if body.get("trigger_type") in TRIGGER_CONFIGS:
        steered["config"] = TRIGGER_CONFIGS[body["trigger_type"]]
    if body.get("kind") in ACTION_FIELDS and "goal_types" in body:
        steered.update(ACTION_FIELDS[body["kind"]](world))
    if body.get("task_type") in TASK_FIELDS:
        needed, refused = TASK_FIELDS[body["task_type"]]
        steered = {k: v for k, v in steered.items() if k not in refused} | needed
    return steered


def in_workspace(value: Any) -> Any:
    """`value` with every `workspace_id` in it set to the token's workspace."""
    if isinstance(value, dict):
        return {k: (WS if k == "workspace_id" else in_workspace(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [in_workspace(v) for v in value]
    return value
