"""The llm runtime's config: the provider and model, their settings, the tools and the usage
limits, checked without loading any LLM library (the API validates configs); and what a run has
consumed so far, against those limits (`Seen`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, SupportsFloat

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from proactive.agents import tools
from proactive.agents.runtimes import Usage
from proactive.agents.runtimes.http import STORED, check_url, invalid_config
from proactive.errors import InvalidInput
from proactive.models.common import SecretName

Provider = Literal["openai", "anthropic", "bedrock"]
# pydantic-ai's own default: a run stops after this many model requests unless told otherwise.
DEFAULT_MAX_REQUESTS = 50
# Config keys that would hold a credential itself rather than the name of a secret.
_KEY_LIKE_KEY = re.compile(r"(^|_)(api_?key|key|token|secret|password|credentials?)$|^aws_", re.IGNORECASE)
# Values that look like a provider key rather than a secret's name.
_KEY_LIKE_VALUE = re.compile(r"^(sk-|sk_|xai-|gsk_|AKIA|ASIA|AIza)|^[A-Za-z0-9+/_=-]{40,}$")


class LlmUsageLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_requests: int | None = Field(default=None, gt=0, le=1000)
    max_total_tokens: int | None = Field(default=None, gt=0, le=100_000_000)


class LlmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    system_prompt: str | None = Field(default=None, max_length=20_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    timeout_seconds: int = Field(default=120, ge=1, le=900)
    api_key_secret: SecretName | None = None
    base_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")] | None = None
    endpoint_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    tools: list[str] = Field(default_factory=list, max_length=len(tools.TOOLS))
    usage_limits: LlmUsageLimits = Field(default_factory=LlmUsageLimits)
    max_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("base_url", "endpoint_url")
    @classmethod
    def _urls(cls, url: str | None, info: ValidationInfo) -> str | None:
        return None if url is None else check_url(url, info)

    @field_validator("api_key_secret")
    @classmethod
    def _a_name_not_a_key(cls, name: str) -> str:
        if _KEY_LIKE_VALUE.search(name):
            raise ValueError("looks like an API key itself; store the key as a secret and give its name here")
        return name

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in tools.TOOLS]
        if unknown:
            raise ValueError(f"unknown tool(s) {unknown}; available: {', '.join(sorted(tools.TOOLS))}")
        if len(set(names)) != len(names):
            raise ValueError("lists a tool more than once")
        return names


def parse_config(config: Mapping[str, Any], *, stored: bool = False) -> LlmConfig:
    """The config checked: InvalidInput naming `config.<field>` when it cannot be used. `stored`:
    it was accepted before (its endpoint's address is left to the outbound guard)."""
    for key in config:
        if key != "api_key_secret" and _KEY_LIKE_KEY.search(key):
            raise InvalidInput(
                f"config.{key}: an llm agent's config must not carry a credential; store the API key "
                "as a secret and give its name in api_key_secret",
                field=f"config.{key}",
            )
    try:
        parsed = LlmConfig.model_validate(config, context=STORED if stored else None)
    except ValidationError as exc:
        raise invalid_config(exc) from None
    misplaced = ["region", "endpoint_url"] if parsed.provider != "bedrock" else ["base_url", "api_key_secret"]
    for name in misplaced:
        if getattr(parsed, name) is not None:
            raise InvalidInput(
                f"config.{name}: is not a setting of the {parsed.provider} provider", field=f"config.{name}"
            )
    if parsed.provider != "bedrock" and not parsed.base_url and not parsed.api_key_secret:
        raise InvalidInput(
            f"config.api_key_secret: the {parsed.provider} API needs a key; store it as a secret and "
            "give its name here",
            field="config.api_key_secret",
        )
    return parsed


@dataclass
class Seen:
    """What the run has consumed so far, kept as each model request finishes (also on failure)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    # None once a request has no known price.
    cost_usd: float | None = 0.0

    def usage(self) -> Usage | None:
        if not self.requests:
            return None
        cost = round(self.cost_usd, 6) if self.cost_usd is not None else None
        return Usage(self.requests, self.input_tokens, self.output_tokens, self.tool_calls, cost)

    def add_request(self, input_tokens: int, output_tokens: int, cost: SupportsFloat | None) -> None:
        """Count a finished model request; the cost is unknown from the first one without a price."""
        self.requests += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + float(cost)
