"""A workspace's secrets: what the API takes (a value, once) and shows (never the value)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from proactive.models.common import Input, WorkspaceId
from proactive.secret_store import MAX_VALUE_BYTES, value_problem


def _value(value: str) -> str:
    # The message says what is wrong with the value, never what it is.
    problem = value_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class SecretSet(Input):
    workspace_id: WorkspaceId | None = Field(
        default=None, description="Defaults to the token's only workspace."
    )
    value: Annotated[str, AfterValidator(_value)] = Field(
        repr=False,
        description=f"The secret itself: 1 to {MAX_VALUE_BYTES} bytes of text, no NUL. Stored encrypted; no "
        "answer ever holds it again.",
        json_schema_extra={"writeOnly": True},
    )


class SecretUser(BaseModel):
    kind: Literal["agent", "monitor", "channel", "action"]
    id: str
    name: str
    field: str = Field(description="Where the resource names the secret, e.g. source.headers.Authorization.")


class Secret(BaseModel):
    workspace_id: str
    name: str
    created_at: datetime
    updated_at: datetime = Field(description="When its value was last set.")


class SecretListed(Secret):
    used_by: list[SecretUser] = Field(description="The workspace's resources that name it.")
