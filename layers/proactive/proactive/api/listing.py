"""Showing stored items that may not be showable as stored: a list never fails for one item.

What is stored came in over years of rules: an item may hold text that is not valid Unicode (a
lone surrogate, stored before such text was refused) or, after a change of its model, a field in a
shape the answer's model no longer takes. Either would make the whole answer fail, so every page
of the list with it. Here each item is shown as well as it can be:

- text that is not valid Unicode is shown with U+FFFD (�) in place of each bad character, and the
  item says which fields (`unreadable`: `["payload.title"]`), so it is seen, not hidden;
- an item the answer's model still refuses, or that cannot be presented at all, is left out of
  its page, with a warning logged naming its id and why; the page's `next_cursor` goes on past
  it, so the items after it are listed.

Every list route answers with `page`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from proactive.api import cursors
from proactive.lib.surrogates import readable
from proactive.observability import logger


def _fields(item: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    return item.model_dump() if isinstance(item, BaseModel) else dict(item)


def shown(item: Mapping[str, Any] | BaseModel, model: type[BaseModel]) -> dict[str, Any] | None:
    """`item` (a stored item, a record or a presented answer) as `model` can show it (see the
    module's docstring); None if it cannot be shown."""
    fixed, unreadable = readable(_fields(item))
    if unreadable:
        fixed["unreadable"] = unreadable
    try:
        model.model_validate(fixed)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors()[:5])
        logger.warning(
            "an item cannot be shown and is left out",
            extra={"item_id": fixed.get("id"), "kind": model.__name__, "fields": fields},
        )
        return None
    return dict(fixed)


def shown_all(items: Iterable[Mapping[str, Any] | BaseModel], model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each item as `model` can show it, in order; those that cannot be shown left out (logged)."""
    return [s for s in (shown(item, model) for item in items) if s is not None]


def shown_one(item: Mapping[str, Any] | BaseModel, model: type[BaseModel]) -> dict[str, Any]:
    """One item as `model` can show it; one that cannot be shown at all is given as it is, so the
    answer fails as it would have (a single item has nothing else to show)."""
    return shown(item, model) or _fields(item)


def page(
    items: Iterable[Any],
    next_cursor: str | None,
    model: type[BaseModel],
    *,
    present: Callable[[Any], Mapping[str, Any] | BaseModel] | None = None,
) -> dict[str, Any]:
    """A page of a list as the API answers it: each item presented (`present`, when the answer
    shows an item otherwise than stored) and shown as `model` can show it, and the store's cursor
    sealed for the client. One item that cannot be presented or shown is left out (logged)."""
    presented: list[Mapping[str, Any] | BaseModel] = []
    for item in items:
        if present is None:
            presented.append(item)
            continue
        try:
            presented.append(present(item))
        except Exception as exc:  # one bad item never breaks a listing
            logger.warning(
                "an item cannot be presented and is left out",
                extra={
                    "item_id": _fields(item).get("id"),
                    "kind": model.__name__,
                    "error": type(exc).__name__,
                },
            )
    return {"items": shown_all(presented, model), "next_cursor": cursors.opaque(next_cursor)}
