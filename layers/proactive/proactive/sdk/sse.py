"""Server-Sent Events, read as the HTML standard says: `event`, `data` (several lines joined with
a newline), `id` and `retry` fields, comments (`:`) ignored, an event dispatched at each blank line
and only if it has data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its type (`message` unless the server named one) and its data as sent."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """The data read as JSON."""
        return json.loads(self.data)


class Decoder:
    """Reads an event stream one line at a time (without its line ending)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """The event this line completes (a blank line), or None."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._event, self._data = "", []
        return event


async def events(lines: AsyncIterable[str]) -> AsyncIterator[ServerSentEvent]:
    """Each event of a stream, read from its lines (as `httpx.Response.aiter_lines` gives them)."""
    decoder = Decoder()
    async for line in lines:
        event = decoder.feed(line.rstrip("\r\n"))
        if event is not None:
            yield event
    # A stream that ends without a blank line after its last event: the event is incomplete, and
    # the standard drops it.
