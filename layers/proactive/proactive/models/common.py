"""Shapes shared by every capability: names, ids, inputs and patches, pages and errors."""

from __future__ import annotations

from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

WorkspaceId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TaskText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ResourceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patch(Input):
    """A partial update: a field left out is unchanged; null is refused unless the field allows it."""

    _nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Patch:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self._nullable:
                raise ValueError(f"{name} cannot be null")
        return self


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page.")


class ErrorBody(BaseModel):
    error: str
    message: str
    field: str | None = None
