"""What a failed llm run tells the user, and whether another attempt could succeed: the
provider's error (HTTP status, its own words, a Retry-After in its header or body) turned into an
AgentError; a usage limit named with what was spent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proactive.agents.runtimes.llm_config import DEFAULT_MAX_REQUESTS, LlmConfig, Seen
from proactive.errors import AgentError

_DETAIL_CHARS = 300


def short(exc: Exception) -> str:
    """A failed model request in a line: the status and the provider's words where it gave them."""
    from pydantic_ai import exceptions as errors

    if isinstance(exc, errors.ModelHTTPError):
        said = _provider_message(exc.body)
        return f"{type(exc).__name__}: HTTP {exc.status_code}" + (f": {said}" if said else "")
    return describe(exc)


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: BaseException, config: LlmConfig, seen: Seen, timeout: float | None) -> AgentError:
    """What a failed run tells the user, and whether another attempt could succeed."""
    from pydantic_ai import exceptions as errors

    if isinstance(exc, AgentError):
        return exc
    where = f"{config.provider} model {config.model!r}"
    if isinstance(exc, errors.UsageLimitExceeded):
        return AgentError(_limit_message(str(exc), config, seen), retryable=False)
    timed_out = errors.ModelRequestTimeout | errors.RunTimedOut | errors.ModelTimeoutError | TimeoutError
    if isinstance(exc, timed_out):
        return AgentError(f"the {where} did not finish within {timeout or config.timeout_seconds:g} s")
    if isinstance(exc, errors.ModelConnectionError):
        return AgentError(f"could not reach the {where}: {describe(exc.__cause__ or exc)}")
    status = exc.status_code if isinstance(exc, errors.ModelHTTPError) else None
    said = _provider_message(exc.body).rstrip(".") if isinstance(exc, errors.ModelAPIError) else ""
    detail = f" (HTTP {status})" if status else ""
    detail += f": {said}" if said else ""
    if isinstance(exc, errors.ModelAuthenticationError):
        fix = (
            "check the function's permission to invoke this model"
            if config.provider == "bedrock"
            else f"check the key stored in the secret {config.api_key_secret!r}"
        )
        return AgentError(f"the {where} refused the credentials{detail}; {fix}", retryable=False)
    if isinstance(exc, errors.ModelNotFoundError):
        return AgentError(f"the {where} was not found{detail}; check the model name", retryable=False)
    if isinstance(exc, errors.ModelQuotaExceededError):
        return AgentError(f"the {where} account is out of quota or credit{detail}", retryable=False)
    transient = errors.ModelRateLimitError | errors.ModelUnavailableError | errors.ModelServerError
    if isinstance(exc, transient) or (status is not None and (status in (408, 429) or status >= 500)):
        retry_after = exc.retry_after if isinstance(exc, errors.ModelAPIError) else None
        if retry_after is None and isinstance(exc, errors.ModelAPIError):
            retry_after = _body_retry_after(exc.body)
        return AgentError(f"the {where} is unavailable or rate limited{detail}", retry_after=retry_after)
    if isinstance(exc, errors.ModelRequestRejectedError | errors.ContentFilterError) or status is not None:
        return AgentError(f"the {where} rejected the request{detail}", retryable=False)
    if isinstance(exc, errors.UnexpectedModelBehavior):
        return AgentError(f"the {where} answered unexpectedly: {exc.message}")
    return AgentError(f"the {where} failed: {describe(exc)}")


def _body_retry_after(body: Any) -> float | None:
    """A 429 body's own `retry_after` (seconds), at its top or under `error`, when the provider
    sent no Retry-After header."""
    for place in (body, body.get("error") if isinstance(body, dict) else None):
        if isinstance(place, dict):
            value = place.get("retry_after")
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 86_400:
                return float(value)
    return None


def _limit_message(text: str, config: LlmConfig, seen: Seen) -> str:
    if "request_limit" in text:
        limit = config.usage_limits.max_requests
        named = f"max_requests={limit}" if limit else f"max_requests={DEFAULT_MAX_REQUESTS}, the default"
        return f"usage limit reached: {seen.requests} requests ({named})"
    if "total_tokens_limit" in text:
        total = seen.input_tokens + seen.output_tokens
        limit = config.usage_limits.max_total_tokens
        return f"usage limit reached: {total} tokens (max_total_tokens={limit})"
    return f"usage limit reached: {text}"


def _provider_message(body: object) -> str:
    """The provider's own words from an error body (`message`, at the top or under `error`)."""
    if isinstance(body, str):
        return body[:_DETAIL_CHARS]
    if not isinstance(body, Mapping):
        return ""
    error = body.get("error")
    for found in (body.get("message"), error.get("message") if isinstance(error, Mapping) else error):
        if isinstance(found, str) and found:
            return found[:_DETAIL_CHARS]
    return ""
