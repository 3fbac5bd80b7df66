"""Page cursors as the API hands them out: sealed (proactive.sealing), so a client can neither read
the table's key layout from one nor make one up. The store's own cursors never leave the API."""

from __future__ import annotations

from proactive import sealing
from proactive.errors import InvalidInput

# Every cursor is sealed for the same context: what it points into is checked by the store, which
# refuses a cursor of another list.
CONTEXT = {"kind": "cursor", "id": "page", "attribute": "cursor"}


def opaque(cursor: str | None) -> str | None:
    """The cursor a client gets for the store's `cursor` (None at the last page)."""
    return None if cursor is None else sealing.seal(cursor, CONTEXT)


def opened(cursor: str | None) -> str | None:
    """The store's cursor inside one `opaque` made; 400 naming `cursor` for anything else."""
    if not cursor:
        return None
    refused = InvalidInput("cursor is not one this API returned", field="cursor")
    if not sealing.is_sealed(cursor):
        raise refused
    try:
        return sealing.unseal(cursor, CONTEXT)
    except (sealing.SealError, ValueError):
        raise refused from None
