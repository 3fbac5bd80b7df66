"""The http runtime: the agent is the user's own HTTP service.

Each attempt is one POST of the run (`run_id`, `task`, `source_type`, `source_id`, `attempt`,
`payload`, and for a conversation's turn the `messages` so far and any `instructions`) as JSON,
signed with Standard Webhooks headers and the agent's secret, so the service can tell the
request came from this platform. The service answers at once (`sync`: a 2xx whose JSON
`output`, or whose text, is the run's output), or, in `callback` mode, with 202 and later POSTs
the result back, signed the same way with the same secret (`signatures.verify_callback`).

The request goes through the outbound guard: the URL is user-supplied, so it must resolve to a
public address (or one the allow-list names), redirects are not followed, and the answer is
bounded in time and size.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from proactive import outbound
from proactive.agents.runtimes import AgentResult, RunContext
from proactive.errors import AgentError, InvalidInput
from proactive.lib import signatures
from proactive.models.common import SecretHeader, without_credentials
from proactive.secret_store import SecretMissing, SecretUnreadable, resolve
from proactive.settings import get_settings

# Headers the runtime sets itself.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "transfer-encoding",
        "connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
# Headers whose value is a credential: stored config is shown to users, so these must name a secret.
_CREDENTIAL_HEADER = re.compile(r"^(authorization|proxy-authorization|cookie)$|key|token|secret|password")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_DETAIL_CHARS = 300


def invalid_config(exc: ValidationError) -> InvalidInput:
    """A config ValidationError as the API reports it: each problem named `config.<field>`."""
    problems = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a setting of this runtime"
        problems.append({"field": f"config.{loc}" if loc else "config", "message": message})
    return InvalidInput(
        "; ".join(f"{p['field']}: {p['message']}" for p in problems),
        field=problems[0]["field"],
        details=problems,
    )


# Validation context for a config read back from the store: the allow-list may have changed since
# it was accepted, and the outbound guard, which runs at each request, reports that better.
STORED = {"stored": True}


def check_url(url: str, info: ValidationInfo | None = None) -> str:
    """A user-supplied endpoint as config may hold it: http(s) with a host and no credentials, and,
    when the host is an address, one the outbound guard allows (not re-checked for a STORED config;
    a host name is checked each time it is resolved). ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL with a host")
    without_credentials(url)
    if info is not None and info.context == STORED:
        return url
    try:
        literal = ip_address(parts.hostname)
    except ValueError:
        return url
    try:
        outbound.resolve_public(str(literal), parts.port or 80, _allowed())
    except outbound.OutboundError as exc:
        raise ValueError(str(exc)) from None
    return url


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(max_length=2000)]
    timeout_seconds: int = Field(default=30, ge=1, le=900)
    headers: dict[str, str | SecretHeader] = Field(default_factory=dict, max_length=20)
    mode: Literal["sync", "callback"] = "sync"
    callback_timeout_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    max_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str, info: ValidationInfo) -> str:
        return check_url(url, info)

    @field_validator("headers", mode="before")
    @classmethod
    def _header_values(cls, headers: Any) -> Any:
        """Each value a string or a secret reference, with one message for either mistake."""
        if not isinstance(headers, dict):
            return headers
        checked: dict[str, Any] = {}
        for name, value in headers.items():
            if isinstance(value, dict):
                try:
                    value = SecretHeader.model_validate(value)
                except ValidationError as exc:
                    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                    raise ValueError(f"{name}: {problems}") from None
            elif not isinstance(value, str):
                raise ValueError(f'{name} must be a string or {{"secret": "<name>", "prefix": "<text>"}}')
            checked[name] = value
        return checked

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers: dict[str, str | SecretHeader]) -> dict[str, str | SecretHeader]:
        for name, value in headers.items():
            lowered = name.lower()
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if lowered in _RESERVED_HEADERS:
                raise ValueError(f"{name} is set by the runtime")
            if isinstance(value, str):
                if _CREDENTIAL_HEADER.search(lowered):
                    raise ValueError(
                        f"{name} carries a credential: store it as a secret and give "
                        '{"secret": "<name>", "prefix": ""} instead of the value'
                    )
                if len(value) > 2000 or any(c in value for c in "\r\n\0"):
                    raise ValueError(f"{name} must be one line of at most 2000 characters")
        return headers


def _allowed() -> list[outbound.Network]:
    return outbound.parse_networks(get_settings().outbound_allow_networks)


def new_secret() -> str:
    """A fresh signing secret for an http agent: `whsec_` and the base64 of 32 random bytes."""
    return signatures.new_secret("standard")


def resolved_headers(
    workspace_id: str, headers: Mapping[str, str | SecretHeader | Mapping[str, str]]
) -> dict[str, str]:
    """Configured header values, each one naming a secret read now from `workspace_id`, the
    workspace of the resource they configure, and from no other (stored configs hold a secret
    header as its mapping). SecretMissing, naming the secret, when it is not set there."""
    out = {}
    for name, value in headers.items():
        if isinstance(value, str):
            out[name] = value
        else:
            secret = value if isinstance(value, SecretHeader) else SecretHeader.model_validate(value)
            out[name] = secret.prefix + resolve(workspace_id, secret.secret)
    return out


class HttpRuntime:
    """Runs the task on the user's own HTTP agent service."""

    name = "http"

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return HttpConfig.model_validate(config).model_dump()
        except ValidationError as exc:
            raise invalid_config(exc) from None

    def execute(self, agent: Mapping[str, Any], task: str, context: RunContext) -> AgentResult:
        config = _stored_config(agent)
        secret = agent.get("secret")
        if not secret:
            raise AgentError("agent has no signing secret; generate one for it", retryable=False)
        headers = _configured_headers(agent, config)
        timeout = _timeout(config, context)
        body = _request_body(task, context)
        headers.update({"Content-Type": "application/json", **_signed_headers(agent, secret, context, body)})
        step = _step_recorder(context, config.url)
        try:
            response = _post(config.url, headers, body, timeout)
        except outbound.OutboundError as exc:
            error = _request_error(exc, timeout)
            step(None, error.message)
            raise error from None
        outcome = _outcome(config, response)
        if isinstance(outcome, AgentError):
            step(response.status, outcome.message)
            raise outcome
        step(response.status, None)
        return outcome


def _stored_config(agent: Mapping[str, Any]) -> HttpConfig:
    """The agent's config as stored; AgentError (not retryable) when it no longer validates."""
    try:
        return HttpConfig.model_validate(agent.get("config") or {}, context=STORED)
    except ValidationError as exc:
        raise AgentError(f"agent config is invalid: {invalid_config(exc).message}", retryable=False) from None


def _configured_headers(agent: Mapping[str, Any], config: HttpConfig) -> dict[str, str]:
    """The config's headers, secret ones read from the agent's workspace; AgentError when a secret
    is missing (retryable only when the store did not answer)."""
    try:
        return resolved_headers(str(agent.get("workspace_id") or ""), config.headers)
    except SecretMissing as exc:
        raise AgentError(str(exc), retryable=isinstance(exc, SecretUnreadable)) from None


def _timeout(config: HttpConfig, context: RunContext) -> float:
    """The config's timeout, cut to the time left in this attempt; AgentError when none is left."""
    timeout = float(config.timeout_seconds)
    left = context.seconds_left()
    if left is not None:
        if left <= 0:
            raise AgentError("no time was left in this attempt to call the agent")
        timeout = min(timeout, left)
    return timeout


def _request_body(task: str, context: RunContext) -> bytes:
    """The JSON the agent is POSTed: the run, its task and payload, and a conversation's messages
    and instructions where there are any."""
    return json.dumps(
        {
            "run_id": context.run_id,
            "task": task,
            "source_type": context.source_type,
            "source_id": context.source_id,
            "attempt": context.attempt,
            "payload": context.payload,
            **({"messages": context.history} if context.history else {}),
            **({"instructions": context.instructions} if context.instructions else {}),
        },
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    ).encode()


def _signed_headers(
    agent: Mapping[str, Any], secret: str, context: RunContext, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers of this attempt's request. While a regenerated secret's
    predecessor is in its grace period, the request carries a signature with each, so a service
    that still holds the old one keeps working until it is updated."""
    previous = signatures.current_secrets(agent, datetime.now(UTC))[1:]
    msg_id = f"{context.run_id}-{context.attempt}"
    return signatures.signed_headers(secret, msg_id, int(time.time()), body, previous=previous)


def _step_recorder(context: RunContext, url: str) -> Callable[[int | None, str | None], None]:
    """Records the request, when called with its answer's status and any error, as an
    `http_request` step: its host (never the rest of the url), status and duration from now."""
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    started = time.monotonic()

    def step(status: int | None, error: str | None) -> None:
        details: dict[str, Any] = {
            "url": host,
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        if error:
            details["error"] = error
        context.steps.add("http_request", **details)

    return step


def _post(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> outbound.Response:
    return outbound.request(
        "POST",
        url,
        headers=headers,
        body=body,
        timeout=timeout,
        max_bytes=get_settings().outbound_max_response_bytes,
        allow=_allowed(),
    )


def _outcome(config: HttpConfig, response: outbound.Response) -> AgentResult | AgentError:
    """What the agent's answer means: its output, a wait for its callback, or the error to report."""
    if 200 <= response.status < 300:
        if config.mode == "callback" and response.status == 202:
            return AgentResult(waiting_for_callback=True)
        return AgentResult(_output(response.body))
    return _status_error(response)


def _request_error(exc: outbound.OutboundError, timeout: float) -> AgentError:
    if isinstance(exc, outbound.Refused):
        return AgentError(f"agent url refused: {exc}", retryable=False)
    if isinstance(exc, outbound.TimedOut):
        return AgentError(f"agent did not answer within {timeout:g} s")
    if isinstance(exc, outbound.TooLarge):
        return AgentError(f"agent's answer is too large: {exc}", retryable=False)
    return AgentError(f"could not reach the agent: {exc}")


def _output(body: bytes) -> str:
    """The run's output from a 2xx body: its JSON `output` (as text), else the body as text."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and "output" in data:
        output = data["output"]
        return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return text


def _json_body(response: outbound.Response) -> Any:
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def _detail(response: outbound.Response) -> str:
    """What the agent said about its error: a JSON `error`/`message`/`detail`, else the text."""
    data = _json_body(response)
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])[:_DETAIL_CHARS]
    text = response.body.decode("utf-8", errors="replace").strip()
    return text[:_DETAIL_CHARS] + (" …" if len(text) > _DETAIL_CHARS else "")


def _status_error(response: outbound.Response) -> AgentError:
    status = response.status
    detail = _detail(response)
    said = f": {detail}" if detail else ""
    if status == 429 or status == 408 or status >= 500:
        return AgentError(f"agent answered HTTP {status}{said}", retry_after=outbound.retry_after(response))
    if 300 <= status < 400:
        location = response.headers.get("location", "elsewhere")
        return AgentError(
            f"agent answered HTTP {status} (redirect to {location}); redirects are not followed: "
            "set the agent's url to the final address",
            retryable=False,
        )
    hint = {
        401: " (check its headers, and that it verifies signatures with this agent's current secret)",
        403: " (check its headers, and that it verifies signatures with this agent's current secret)",
        404: " (check the agent's url)",
        405: " (the url must accept POST)",
        410: " (check the agent's url)",
    }.get(status, "")
    return AgentError(f"agent answered HTTP {status}{hint}{said}", retryable=False)
