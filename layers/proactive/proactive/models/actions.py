"""Goal loop actions: what the API accepts and shows, and the executor's statistics and insights."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints

from proactive.models.common import (
    GoalType,
    Input,
    Name,
    Patch,
    ResourceId,
    SecretHeader,
    TaskText,
    WorkspaceId,
)
from proactive.models.notifications import CHANNEL_REMOVED

ActionKind = Literal["agent", "http", "notify"]

# Parameters are passed to the action as they are; this keeps one action's item well within
# DynamoDB's 400 KB.
MAX_PARAMETERS_BYTES = 16_384


def _goal_types(value: Any) -> Any:
    """Goal type names in any case, each once; the message lists the valid ones."""
    if not isinstance(value, list):
        return value
    types = []
    for raw in value:
        try:
            types.append(GoalType(str(raw).upper()))
        except ValueError:
            raise ValueError(f"{raw!r} is not a goal type; use {', '.join(GoalType)}") from None
    if len(set(types)) != len(types):
        raise ValueError("lists the same goal type more than once")
    return types


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("lists the same item more than once")
    return values


def _bounded(parameters: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(json.dumps(parameters, allow_nan=False, separators=(",", ":")).encode())
    except ValueError:
        raise ValueError("must be JSON: NaN and Infinity are not numbers JSON has") from None
    if size > MAX_PARAMETERS_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_PARAMETERS_BYTES} are allowed")
    return parameters


GoalTypes = Annotated[
    list[GoalType],
    BeforeValidator(_goal_types),
    Field(min_length=1, max_length=len(GoalType), description="The goal types it serves."),
]
Url = Annotated[str, StringConstraints(max_length=2000)]
Headers = Annotated[
    dict[str, str | SecretHeader],
    Field(
        max_length=20,
        description='Extra request headers; a credential names a secret: {"secret": "<name>", "prefix": ""}.',
    ),
]
Channels = Annotated[list[ResourceId], AfterValidator(_unique), Field(min_length=1, max_length=10)]
MessageTemplate = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Parameters = Annotated[
    dict[str, Any],
    AfterValidator(_bounded),
    Field(description=f"A JSON object passed to the action (at most {MAX_PARAMETERS_BYTES} bytes)."),
]
ApprovalTimeout = Annotated[int, Field(ge=1, le=7 * 24 * 60)]
TimeoutSeconds = Annotated[int, Field(ge=1, le=900)]


class ActionCreate(Input):
    """A new action. `kind` says which of the kind-specific fields apply: `agent_id` and
    `task_template` (agent), `url`, `method`, `headers` and `timeout_seconds` (http), `channels` and
    `message_template` (notify); a field of another kind is refused."""

    workspace_id: WorkspaceId | None = Field(
        default=None, description="Defaults to the token's only workspace."
    )
    name: Name
    description: str | None = Field(default=None, max_length=2000)
    goal_types: GoalTypes
    kind: ActionKind
    agent_id: ResourceId | None = Field(default=None, description="agent: the agent that is given the task.")
    task_template: TaskText | None = Field(
        default=None,
        description="agent: the task, with {field} placeholders filled from the goal.",
        examples=["Relieve {metric}: {description} (breach expected at {predicted_breach_at})"],
    )
    url: Url | None = Field(default=None, description="http: the endpoint the signed request is POSTed to.")
    method: Literal["POST"] | None = Field(default=None, description="http: always POST.")
    headers: Headers | None = None
    timeout_seconds: TimeoutSeconds | None = Field(default=None, description="http: default 30.")
    channels: Channels | None = Field(default=None, description="notify: channel ids of the workspace.")
    message_template: MessageTemplate | None = Field(
        default=None, description="notify: the message, with {field} placeholders filled from the goal."
    )
    requires_approval: bool = False
    approval_timeout_minutes: ApprovalTimeout = Field(
        default=60, description="How long an approval is waited for (at most 7 days)."
    )
    parameters: Parameters = Field(default_factory=dict)
    is_active: bool = True


class ActionUpdate(Patch):
    """A partial change; the kind cannot change, and fields of another kind are refused."""

    _nullable = frozenset({"description", "message_template"})

    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    goal_types: GoalTypes | None = None
    agent_id: ResourceId | None = None
    task_template: TaskText | None = None
    url: Url | None = None
    headers: Headers | None = None
    timeout_seconds: TimeoutSeconds | None = None
    channels: Channels | None = None
    message_template: MessageTemplate | None = None
    requires_approval: bool | None = None
    approval_timeout_minutes: ApprovalTimeout | None = None
    parameters: Parameters | None = None
    is_active: bool | None = None


class Posterior(BaseModel):
    """The Beta posterior of the action's success rate, from a uniform prior."""

    alpha: int = Field(description="1 + successes.")
    beta: int = Field(description="1 + failures.")
    mean: float = Field(description="alpha / (alpha + beta).")
    lower: float = Field(description="The credible interval's lower end.")
    upper: float = Field(description="The credible interval's upper end.")
    level: float = Field(description="The credible interval's probability (equal tails).")


# What `attempts` counts, wherever it is shown.
ATTEMPTS = (
    "Executions, each counted when it starts; `successes` and `failures` count the outcomes learnt "
    "(after the impact window, while learning is on), so the rest await their outcome."
)


class ActionStatistics(BaseModel):
    """What the action's outcomes have been."""

    attempts: int = Field(default=0, description=ATTEMPTS)
    successes: int = 0
    failures: int = 0
    impact_sum: float = Field(default=0.0, description="Sum of the measured gains (0.1: 10% better).")
    impact_count: int = Field(default=0, description="How many outcomes had their impact measured.")
    alpha: int = 1
    beta: int = 1
    last_outcome_at: datetime | None = None


class Action(BaseModel):
    id: str
    workspace_id: str
    name: str
    description: str | None = None
    goal_types: list[GoalType]
    kind: ActionKind
    agent_id: str | None = None
    task_template: str | None = None
    url: str | None = None
    method: Literal["POST"] | None = None
    headers: dict[str, str | SecretHeader] | None = None
    timeout_seconds: int | None = None
    channels: list[str] | None = None
    message_template: str | None = None
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)
    requires_approval: bool
    approval_timeout_minutes: int
    parameters: dict[str, Any] = Field(default_factory=dict)
    is_active: bool
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    statistics: ActionStatistics
    created_at: datetime
    updated_at: datetime


class ActionWithSecret(Action):
    secret: str | None = Field(
        default=None,
        description="Shown only now: the secret an http action's requests are signed with (Standard "
        "Webhooks, whsec_...), for the endpoint to check them. None for other kinds.",
    )


class Outcomes(BaseModel):
    """Outcomes of a set of actions: counts and the share that succeeded (None before any)."""

    actions: int
    active_actions: int
    attempts: int = Field(description=ATTEMPTS)
    successes: int
    failures: int
    awaiting_outcome: int = Field(description="Attempts whose outcome is not learnt (yet).")
    success_rate: float | None = Field(description="Successes over the outcomes learnt; None before any.")


class ExecutorStatistics(BaseModel):
    workspace_id: str
    totals: Outcomes
    by_goal_type: dict[GoalType, Outcomes] = Field(
        description="Every goal type, with the actions serving it and their outcomes; an action serving "
        "several types counts towards each."
    )


class ActionInsight(BaseModel):
    action_id: str
    name: str
    kind: ActionKind
    goal_types: list[GoalType]
    is_active: bool
    attempts: int = Field(description=ATTEMPTS)
    successes: int
    failures: int
    awaiting_outcome: int = Field(description="Attempts whose outcome is not learnt (yet).")
    success_rate: float | None = Field(description="Successes over the outcomes learnt; None before any.")
    mean_impact: float | None = Field(description="Mean measured gain; None before any was measured.")
    impact_count: int
    last_outcome_at: datetime | None = None
    posterior: Posterior


class SuccessRate(BaseModel):
    rate: float = Field(description="Successes over the outcomes learnt.")
    attempts: int = Field(description=ATTEMPTS)


class CommonFailure(BaseModel):
    action: str
    count: int


class ExecutorInsights(BaseModel):
    workspace_id: str
    actions: list[ActionInsight] = Field(description="Every action, the best posterior mean first.")
    action_success_rates: dict[str, SuccessRate] = Field(description="By action name, for actions tried.")
    common_failures: list[CommonFailure] = Field(description="Actions that failed, the most failures first.")
