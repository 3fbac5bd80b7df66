"""Domain errors. The API maps each to one HTTP status in one place, and every error answer,
the API's and webhook ingest's alike, has the one body `error_body` builds."""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    """The one error body: {"error": code, "message": text, "field": name|null} and any extra keys."""
    return {"error": code, "message": message, "field": field, **extra}


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class InvalidInput(DomainError):
    """Input that parses but cannot be used; names the field where there is one."""

    status_code = 422
    code = "validation_error"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class AgentFailed(DomainError):
    """The agent could not answer a request that waited for it (a conversation's turn); the run
    that records why is named in the message."""

    status_code = 502
    code = "agent_failed"


class ServiceUnavailable(DomainError):
    """A service the request depends on (the run queue) did not answer; retry later."""

    status_code = 503
    code = "service_unavailable"


class AgentError(Exception):
    """An agent could not do its task; the run records the message.

    `retryable`: trying again later may succeed (a timeout, a connection error, a 429 or 5xx,
    an overloaded model); otherwise the run fails at once (a 4xx from the agent, a bad key, an
    unknown model, a missing secret). `retry_after`: how long the agent or provider asked us to
    wait, in seconds, if it said. `usage`: what the attempt consumed before it failed."""

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None, usage: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        # What the attempt consumed before it failed (a runtimes.Usage), where the agent knows.
        self.usage = usage
