"""Shapes shared by every capability: names, ids, inputs and patches, pages and errors, and the
few types that more than one capability's models name (goal types, secret-valued headers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from proactive.clock import iso
from proactive.lib.text import unsafe_character
from proactive.secret_store import NAME as SECRET_NAME

# A workspace id, wherever one is taken (the API, tokens issued by `proactive token`).
WORKSPACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
WORKSPACE_ID_RULE = "1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"


def _plain_name(value: Any) -> Any:
    # Checked as given, before surrounding spaces are trimmed, so the position is the caller's.
    if isinstance(value, str) and (problem := unsafe_character(value)):
        raise ValueError(f"must not contain {problem}")
    return value


def without_credentials(url: str) -> str:
    """`url` as it is if nothing stands before its host (`user:password@` or `user@`); ValueError
    otherwise. A URL is stored and shown as given, so a credential in it would be shown to
    everyone who can read the resource."""
    if "@" in urlsplit(url).netloc:
        raise ValueError(
            "must not carry credentials before the host (user:password@); keep a credential in a secret"
        )
    return url


WorkspaceId = Annotated[str, StringConstraints(pattern=WORKSPACE_ID.pattern)]
# A name or title a person gives: one line of 1 to 200 characters (spaces around it trimmed), with
# no control or bidirectional formatting characters, which would hide or reorder what it shows
# wherever it appears (lists, notifications); the refusal names the character and its position.
Name = Annotated[
    str,
    BeforeValidator(_plain_name),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
]
TaskText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ResourceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# The name of a workspace secret, where a config refers to one.
SecretName = Annotated[str, StringConstraints(pattern=SECRET_NAME.pattern)]

# How far ahead of the server's clock a measurement may say it was taken (clocks drift a little).
FUTURE_TOLERANCE = timedelta(minutes=5)


def _storable_number(value: float) -> float:
    # DynamoDB holds magnitudes from 1e-130 to just under 1e126 (and zero).
    if value != 0 and not 1e-130 <= abs(value) < 1e126:
        raise ValueError("must be 0 or have a magnitude between 1e-130 and 1e126")
    return value


def _measured_at(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset (e.g. 2026-11-21T09:00:00Z)")
    if value.year < 1970:
        raise ValueError("must be in 1970 or later")
    if value > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise ValueError("must not be more than 5 minutes in the future")
    return value


# A measured number: finite, and one DynamoDB can hold.
Measure = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_storable_number)]
# When something was measured: an aware time, not before 1970, not in the future.
MeasuredAt = Annotated[datetime, AfterValidator(_measured_at)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretHeader(BaseModel):
    """A header value read from a named secret when the request is sent."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretName
    prefix: str = Field(default="", max_length=100, description="Text before the secret, e.g. 'Bearer '.")


class GoalType(StrEnum):
    """What a goal of the goal loop sets out to do (its rules say which finding sets which)."""

    RESOURCE_OPTIMIZATION = "RESOURCE_OPTIMIZATION"
    PERFORMANCE_TARGET = "PERFORMANCE_TARGET"
    CAPACITY_PLANNING = "CAPACITY_PLANNING"
    BOTTLENECK_PREVENTION = "BOTTLENECK_PREVENTION"
    COST_REDUCTION = "COST_REDUCTION"
    SLA_MAINTENANCE = "SLA_MAINTENANCE"
    PATTERN_ADAPTATION = "PATTERN_ADAPTATION"


class Patch(Input):
    """A partial update: a field left out is unchanged; null is refused unless the field allows it."""

    _nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Patch:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self._nullable:
                raise ValueError(f"{name} cannot be null")
        return self


class Record(BaseModel):
    """An entity as the table holds it, for the code that works with it: the fields it is known
    to have, typed (times as aware datetimes), and whatever else the item holds kept as it is
    (`extra="allow"`), so that writing a record back never drops an attribute and one written by
    a newer version reads back. The store gives a capability's entities as its record
    (`store.entities.Records`); the API's response model for them derives from it (`Shown`)."""

    model_config = ConfigDict(extra="allow")

    id: str
    # Kept by the store (every write adds one); a write conditional on it is `expect_version=`.
    version: int = Field(default=0, exclude=True)

    def as_stored(self) -> dict[str, Any]:
        """The record's fields as the table holds them (times as fixed-width UTC text), e.g. for
        an event's subject, which is read as a stored item is."""
        return _stored(self.model_dump())  # type: ignore[no-any-return]


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    return value


class Shown(BaseModel):
    """Mixed into a response model derived from a record: it shows the record's declared fields,
    not what else the item holds, and a field the record declares that people must not see (a
    secret, a lock) is declared again in the response as `hidden()`."""

    model_config = ConfigDict(extra="ignore")


def hidden() -> Any:
    """A record's field left out of the response model that derives from it, and of its schema:
    `secret: SkipJsonSchema[str] = hidden()`."""
    return Field(default=None, exclude=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page.")


class Problem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer, from the API and from webhook ingest."""

    error: str = Field(
        description="A stable code: bad_request, unauthorized, forbidden, not_found, conflict, "
        "validation_error, payload_too_large, rate_limited, agent_failed, service_unavailable."
    )
    message: str = Field(description="What is wrong, for a person.")
    field: str | None = Field(default=None, description="The field at fault, where there is one.")
    details: list[Problem] | None = Field(default=None, description="Each problem, when there are several.")
