"""Tools an llm agent may be given, by name.

Each tool is a plain function of validated arguments and the run's `ToolContext`, returning text
for the model; it raises ToolError with a message the model can read when it cannot help. Its
arguments are a Pydantic model, whose JSON schema is what the model sees. Nothing here imports
the LLM libraries: agent configs are checked against `TOOLS` by the API.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proactive import outbound
from proactive.agents.runtimes import ToolContext
from proactive.clock import iso, utcnow
from proactive.notifications.notice import Notice
from proactive.notifications.outbox import queue_notice
from proactive.notifications.wording import run_link
from proactive.settings import get_settings

# What a tool hands back to the model is cut to this, so one page cannot fill its context.
MAX_RESULT_CHARS = 20_000
SUMMARY_CHARS = 200


class ToolError(Exception):
    """The tool could not do what the model asked; the message is returned to the model."""


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[Arguments]
    run: Callable[[Any, ToolContext | None], str]

    def json_schema(self) -> dict[str, Any]:
        return self.arguments.model_json_schema()

    def call(self, arguments: Mapping[str, Any], context: ToolContext | None) -> str:
        """Validate the model's arguments and run the tool; ToolError when either fails."""
        try:
            parsed = self.arguments.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolError(f"invalid arguments: {problems}") from None
        return _cut(self.run(parsed, context))


def _cut(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + f"\n… [cut: {len(text) - MAX_RESULT_CHARS} more characters]"


class FetchUrlArguments(Arguments):
    url: str = Field(description="The http or https URL to read.", max_length=2000)


def fetch_url(arguments: FetchUrlArguments, context: ToolContext | None) -> str:
    settings = get_settings()
    try:
        response = outbound.request(
            "GET",
            arguments.url,
            headers={"Accept": "application/json, text/*;q=0.9, */*;q=0.5"},
            timeout=settings.outbound_timeout_seconds,
            max_bytes=settings.outbound_max_response_bytes,
            allow=outbound.parse_networks(settings.outbound_allow_networks),
        )
    except outbound.OutboundError as exc:
        raise ToolError(str(exc)) from None
    if not 200 <= response.status < 300:
        raise ToolError(f"HTTP {response.status} from {urlsplit(arguments.url).hostname}")
    content_type = response.headers.get("content-type", "")
    textual = content_type.startswith(("text/", "application/json")) or "+json" in content_type
    if not textual and b"\0" in response.body[:1024]:
        raise ToolError(f"the response is binary ({content_type or 'no content type'}), not text")
    return response.body.decode("utf-8", errors="replace")


class RecentRunsArguments(Arguments):
    limit: int = Field(default=10, ge=1, le=50, description="How many runs, newest first.")


def recent_runs(arguments: RecentRunsArguments, context: ToolContext | None) -> str:
    if context is None:
        raise ToolError("the run history is not available to this run")
    # One more than asked: the run calling the tool is among the newest and is left out.
    runs, _ = context.store.runs.page(context.workspace_id, limit=arguments.limit + 1, cursor=None)
    listed = [
        {
            "run_id": run.id,
            "created_at": iso(run.created_at),
            "source": f"{run.source_type}:{run.source_id}" if run.source_id else run.source_type,
            "status": run.status,
            "task": _summary(run.task),
            "result": _summary(run.error if run.status == "failed" else run.output),
        }
        for run in runs
        if run.id != context.run_id
    ][: arguments.limit]
    return json.dumps(listed, ensure_ascii=False, default=str)


def _summary(text: Any) -> str | None:
    if text is None:
        return None
    flat = " ".join(str(text).split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


class NotifyArguments(Arguments):
    channel_id: str = Field(
        description="The id of one of the workspace's notification channels.", max_length=100
    )
    message: str = Field(
        description="What to tell the people on that channel.", min_length=1, max_length=4000
    )
    title: str | None = Field(default=None, max_length=200, description="A short headline for the message.")


def notify(arguments: NotifyArguments, context: ToolContext | None) -> str:
    """Queue a message to one of the workspace's channels (the worker sends it, with retries, and
    it is in the notification log like any other). The same message twice in a run is sent once."""
    if context is None:
        raise ToolError("notifications are not available to this run")
    store = context.store
    channel = store.channels.get(arguments.channel_id)
    if channel is None or channel.workspace_id != context.workspace_id:
        known = [f"{c.id} ({c.name}, {c.type})" for c in store.channels.all_in(context.workspace_id)]
        raise ToolError(
            f"there is no channel {arguments.channel_id!r} in this workspace; its channels: "
            + (", ".join(known) or "none")
        )
    if not channel.is_active:
        raise ToolError(f"channel {channel.name} is off: {channel.disabled_reason or 'turned off'}")
    now = utcnow()
    notice = Notice(
        event="agent.notify",
        title=arguments.title or "A message from an agent",
        outcome="info",
        summary=arguments.message,
        fields=(("Run", context.run_id),),
        body=None,
        link=run_link(context.workspace_id, context.run_id),
        ref=context.run_id,
        at=now,
    )
    digest = hashlib.sha256(f"{arguments.title}\n{arguments.message}".encode()).hexdigest()[:16]
    queue_notice(
        store,
        context.queue,
        context.workspace_id,
        notice,
        [channel.id],
        event_type="agent.notify",
        key=f"{context.run_id}#{digest}",
        subject_id=context.run_id,
        run_id=context.run_id,
        now=now,
    )
    where = f"{channel.name} ({channel.type})"
    return f"queued for channel {where}; the notification log shows when it is sent"


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "fetch_url",
            "Read a public web page or JSON API with an HTTP GET and return its body as text.",
            FetchUrlArguments,
            fetch_url,
        ),
        Tool(
            "recent_runs",
            "List this workspace's most recent runs, newest first: what started each, its status, "
            "and a short summary of its task and of its output or error.",
            RecentRunsArguments,
            recent_runs,
        ),
        Tool(
            "notify",
            "Send a message to one of this workspace's notification channels (Discord, Slack, ntfy, "
            "email or a webhook), by the channel's id.",
            NotifyArguments,
            notify,
        ),
    )
}
