"""What the fuzz targets share: the fixed clock, and how a broken contract is reported."""

from __future__ import annotations

from datetime import UTC, datetime

# Every target runs at this instant, so a crash input replays the same way on any day.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
NOW_SECONDS = int(NOW.timestamp())


class Violation(AssertionError):
    """An input broke the target's contract: a result that breaks an invariant, or an exception
    that the code does not document. The fuzzer records it as a crash, with its input."""


def expect(condition: object, message: str) -> None:
    """Raise Violation with `message` unless `condition` holds."""
    if not condition:
        raise Violation(message)


def text_lines(data: bytes) -> list[str]:
    """The input as lines of text. Undecodable bytes become U+FFFD: the product only ever gets
    text from JSON documents or HTTP headers, never lone surrogates."""
    return data.decode("utf-8", errors="replace").split("\n")
