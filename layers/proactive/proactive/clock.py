"""Time helpers. Stored instants are fixed-width UTC strings, so they sort as text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(instant: datetime) -> str:
    """`instant` as a fixed-width UTC string (microseconds always present)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return instant.astimezone(UTC).strftime(_FORMAT)


@overload
def epoch_iso(seconds: float) -> str: ...
@overload
def epoch_iso(seconds: float | None) -> str | None: ...
def epoch_iso(seconds: float | None) -> str | None:
    """Epoch seconds as a stored instant; None stays None."""
    return None if seconds is None else iso(datetime.fromtimestamp(seconds, UTC))


def parse_iso(text: str) -> datetime:
    """Parse any ISO-8601 instant with an offset (or Z) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"instant {text!r} has no UTC offset")
    return parsed.astimezone(UTC)
