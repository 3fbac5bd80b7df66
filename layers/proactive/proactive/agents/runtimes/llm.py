"""The llm runtime: the agent is a model (OpenAI-compatible, Anthropic or Bedrock) with tools.

Validating a config needs only Pydantic (`llm_config`); the LLM libraries are imported when an
agent runs, and then only the chosen provider's (each costs about a second of cold start). The
model is built with the provider's retries off: a failed attempt becomes an AgentError at once,
and the platform retries it through its queue rather than by sleeping inside the function.

`build_agent` is the shared setup (model, tools, step recording, limits) for anything that runs
an llm agent; `LlmRuntime.execute` is one run of it on a task.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from proactive import outbound
from proactive.agents import tools
from proactive.agents.runtimes import AgentResult, RunContext, StepLog, ToolContext, Usage, conversing
from proactive.agents.runtimes.llm_config import DEFAULT_MAX_REQUESTS, LlmConfig, Seen, parse_config
from proactive.agents.runtimes.llm_errors import classify, describe, short
from proactive.errors import AgentError, InvalidInput
from proactive.secret_store import SecretMissing, SecretUnreadable, resolve
from proactive.settings import get_settings

if TYPE_CHECKING:
    import httpx2
    from botocore.client import BaseClient
    from pydantic_ai import Agent
    from pydantic_ai.capabilities import Hooks
    from pydantic_ai.models import Model
    from pydantic_ai.settings import ModelSettings
    from pydantic_ai.usage import UsageLimits

MAX_PAYLOAD_CHARS = 20_000


@dataclass
class LlmAgent:
    """A ready llm agent: `agent` to run (`await agent.run(prompt, **run_kwargs)`, or with
    `message_history=`, or streamed), with its steps recorded as it goes. Use it as an async
    context manager, or call `aclose()`: it owns the HTTP client it talks to the provider with.
    `error(exc)` turns whatever the run raised into the AgentError to report."""

    config: LlmConfig
    agent: Agent[None, str]
    run_kwargs: dict[str, Any]
    seen: Seen
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in self._closers:
            await close()
        self._closers.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def error(self, exc: BaseException) -> AgentError:
        error = classify(exc, self.config, self.seen, self.run_kwargs.get("timeout"))
        error.usage = self.seen.usage()
        return error


def build_agent(
    config: Mapping[str, Any] | LlmConfig,
    *,
    workspace_id: str,
    tool_context: ToolContext | None,
    steps: StepLog | None = None,
    timeout: float | None = None,
) -> LlmAgent:
    """Set up an llm agent of `workspace_id` from its config: the model (API key resolved from
    that workspace's secrets, and no other's; a custom base_url checked
    by the outbound guard, provider retries off), its tools, `model_request` and `tool_call` steps
    recorded in `steps`, and the run arguments (settings, usage limits, `timeout` in seconds,
    default the config's). Raises AgentError for a missing secret or a refused address (not
    retryable) or a custom host that does not resolve (retryable); blocks briefly to resolve it."""
    from pydantic_ai import Agent

    parsed = config if isinstance(config, LlmConfig) else parse_config(config, stored=True)
    timeout = float(parsed.timeout_seconds) if timeout is None else timeout
    steps = steps if steps is not None else StepLog()
    closers: list[Callable[[], Awaitable[None]]] = []
    model = _model(parsed, workspace_id, timeout, closers)
    seen = Seen()
    agent: Agent[None, str] = Agent(
        model,
        instructions=parsed.system_prompt,
        tools=[_tool(tools.TOOLS[name], tool_context, steps, seen) for name in parsed.tools],
        capabilities=[_request_hooks(steps, seen)],
    )
    run_kwargs: dict[str, Any] = {"usage_limits": _usage_limits(parsed), "timeout": timeout}
    return LlmAgent(parsed, agent, run_kwargs, seen, closers)


def _usage_limits(config: LlmConfig) -> UsageLimits:
    """The run's limits: the config's, else pydantic-ai's default number of requests."""
    from pydantic_ai.usage import UsageLimits

    return UsageLimits(
        request_limit=config.usage_limits.max_requests or DEFAULT_MAX_REQUESTS,
        total_tokens_limit=config.usage_limits.max_total_tokens,
    )


def _request_hooks(steps: StepLog, seen: Seen) -> Hooks[None]:
    """Hooks that record each model request as a `model_request` step (its tokens and duration,
    or why it failed) and count what it consumed in `seen`."""
    from pydantic_ai.capabilities import Hooks

    hooks: Hooks[None] = Hooks()

    @hooks.on.model_request
    async def record_request(ctx: Any, /, *, request_context: Any, handler: Any) -> Any:
        started = time.monotonic()
        try:
            response = await handler(request_context)
        except asyncio.CancelledError:
            steps.add(
                "model_request",
                duration_ms=_ms(started),
                error="cancelled (the run timed out or was stopped)",
            )
            raise
        except Exception as exc:
            steps.add("model_request", duration_ms=_ms(started), error=short(exc))
            raise
        usage = response.usage
        seen.add_request(usage.input_tokens, usage.output_tokens, getattr(usage, "cost", None))
        steps.add(
            "model_request",
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            duration_ms=_ms(started),
        )
        return response

    return hooks


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _model(
    config: LlmConfig, workspace_id: str, timeout: float, closers: list[Callable[[], Awaitable[None]]]
) -> Model:
    """The provider's model, importing only that provider's modules."""
    settings: ModelSettings = {}
    if config.temperature is not None:
        settings["temperature"] = config.temperature
    if config.max_tokens is not None:
        settings["max_tokens"] = config.max_tokens
    if config.provider == "bedrock":
        from pydantic_ai.models.bedrock import BedrockConverseModel
        from pydantic_ai.providers.bedrock import BedrockProvider

        if config.endpoint_url:
            _guard(config.endpoint_url)
        client = _bedrock_client(config.region, config.endpoint_url, config.timeout_seconds)
        return BedrockConverseModel(
            config.model, provider=BedrockProvider(bedrock_client=client), settings=settings
        )
    # Bedrock's client is configured above; these are the HTTP SDKs' own knobs.
    settings.update({"max_retries": 0, "timeout": timeout})
    api_key = _secret(workspace_id, config.api_key_secret) if config.api_key_secret else "unused"
    http_client = _pinned_client(config.base_url, timeout) if config.base_url else None
    if config.provider == "openai":
        from openai import AsyncOpenAI
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        openai_client = AsyncOpenAI(
            api_key=api_key, base_url=config.base_url, max_retries=0, timeout=timeout, http_client=http_client
        )
        closers.append(openai_client.close)
        return OpenAIChatModel(
            config.model, provider=OpenAIProvider(openai_client=openai_client), settings=settings
        )
    from anthropic import AsyncAnthropic
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    anthropic_client = AsyncAnthropic(
        api_key=api_key, base_url=config.base_url, max_retries=0, timeout=timeout, http_client=http_client
    )
    closers.append(anthropic_client.close)
    return AnthropicModel(
        config.model, provider=AnthropicProvider(anthropic_client=anthropic_client), settings=settings
    )


def _secret(workspace_id: str, name: str) -> str:
    try:
        return resolve(workspace_id, name)
    except SecretMissing as exc:
        raise AgentError(
            f"{exc}; the agent's api_key_secret must name a secret of its workspace",
            retryable=isinstance(exc, SecretUnreadable),
        ) from None


def _guard(url: str) -> str:
    """The address a user-supplied endpoint may be reached at; AgentError if it may not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allow = outbound.parse_networks(get_settings().outbound_allow_networks)
    try:
        return outbound.resolve_public(host, port, allow)
    except outbound.Refused as exc:
        raise AgentError(f"model endpoint refused: {exc}", retryable=False) from None
    except outbound.OutboundError as exc:
        raise AgentError(f"could not reach the model endpoint: {exc}") from None


def _pinned_client(base_url: str, timeout: float) -> httpx2.AsyncClient:
    """An HTTP client that sends every request to the one address the guard checked for the
    base_url's host (keeping its name for the Host header and TLS), so DNS cannot swap in
    another address later, and refuses any other host."""
    import httpx2

    address = _guard(base_url)
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    tls = parts.scheme == "https"

    class PinnedTransport(httpx2.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if request.url.host != host:
                raise httpx2.ConnectError(f"{request.url.host} is not the configured base_url host")
            request.url = request.url.copy_with(host=address)
            if tls:
                request.extensions = {**request.extensions, "sni_hostname": host}
            return await super().handle_async_request(request)

    return httpx2.AsyncClient(transport=PinnedTransport(), timeout=timeout, follow_redirects=False)


@lru_cache(maxsize=8)
def _bedrock_client(region: str | None, endpoint_url: str | None, read_timeout: int) -> BaseClient:
    """A bedrock-runtime client making one attempt per call (kept: building one costs ~100 ms)."""
    import boto3
    from botocore.config import Config

    client: BaseClient = boto3.session.Session().client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"total_max_attempts": 1},
            connect_timeout=min(10, read_timeout),
            read_timeout=read_timeout,
        ),
    )
    return client


def _tool(tool: tools.Tool, context: ToolContext | None, steps: StepLog, seen: Seen) -> Any:
    """A pydantic-ai tool running `tool`: a failure goes back to the model as text, and each call
    is recorded as a `tool_call` step."""
    from pydantic_ai import Tool

    def call(**arguments: Any) -> str:
        started = time.monotonic()
        seen.tool_calls += 1
        try:
            result = tool.call(arguments, context)
        except Exception as exc:
            error = str(exc) if isinstance(exc, tools.ToolError) else describe(exc)
            steps.add(
                "tool_call",
                tool=tool.name,
                arguments=arguments,
                ok=False,
                duration_ms=_ms(started),
                error=error,
            )
            return f"error: {error}"
        steps.add(
            "tool_call", tool=tool.name, arguments=arguments, ok=True, duration_ms=_ms(started), result=result
        )
        return result

    return Tool.from_schema(call, tool.name, tool.description, tool.json_schema())


def prompt_for(task: str, context: RunContext) -> str:
    """The user prompt of a run: the task, then the data that started the run, if any."""
    if context.payload is None:
        return task
    data = json.dumps(context.payload, ensure_ascii=False, indent=1, default=str)
    if len(data) > MAX_PAYLOAD_CHARS:
        data = data[:MAX_PAYLOAD_CHARS] + " … [cut]"
    return f"{task}\n\nThe {context.source_type} that started this run sent this data:\n{data}"


class LlmRuntime:
    """Runs the task on a model, with the tools the config names."""

    name = "llm"

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return parse_config(config).model_dump(exclude_none=True)

    def execute(self, agent: Mapping[str, Any], task: str, context: RunContext) -> AgentResult:
        try:
            config = parse_config(agent.get("config") or {}, stored=True)
        except InvalidInput as exc:
            raise AgentError(f"agent config is invalid: {exc.message}", retryable=False) from None
        timeout = float(config.timeout_seconds)
        left = context.seconds_left()
        if left is not None:
            if left <= 0:
                raise AgentError("no time was left in this attempt to call the model")
            timeout = min(timeout, left)
        # The agent's own workspace: its key is read from that workspace's secrets alone.
        workspace_id = str(agent.get("workspace_id") or "")
        return asyncio.run(self._run(config, workspace_id, prompt_for(task, context), context, timeout))

    async def _run(
        self, config: LlmConfig, workspace_id: str, prompt: str, context: RunContext, timeout: float
    ) -> AgentResult:
        extra: dict[str, Any] = {}
        if context.history:
            extra["message_history"] = conversing.model_messages(context.history)
        if context.instructions:
            extra["instructions"] = context.instructions
        if context.on_event is not None:
            extra["event_stream_handler"] = conversing.streamer(context.on_event)
        async with build_agent(
            config,
            workspace_id=workspace_id,
            tool_context=context.tools,
            steps=context.steps,
            timeout=timeout,
        ) as llm:
            try:
                result = await llm.agent.run(prompt, **llm.run_kwargs, **extra)
            except Exception as exc:
                raise llm.error(exc) from exc
        usage = result.usage
        return AgentResult(
            result.output,
            Usage(
                requests=usage.requests,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                tool_calls=usage.tool_calls,
                cost_usd=float(usage.cost) if usage.cost is not None else None,
            ),
        )
