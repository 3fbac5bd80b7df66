"""A notice: what one notification says, before any channel gives it its shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# Sets each channel's colour, priority and tags.
Outcome = Literal["start", "success", "failure", "warning", "info"]


@dataclass(frozen=True)
class Notice:
    """One thing that happened, told the same way on every channel.

    `event` is the platform event (`run.succeeded`, `monitor.failing`, `test`...), `title` a
    headline such as "Run succeeded: Daily Report", `summary` one sentence, `fields` short
    name/value facts in the order shown, `body` the run's output or error (any length: each
    channel cuts it to fit), `link` the run's page in the console, `ref` the id the full text
    can be found under (named in truncation markers), `at` when it happened, and `actions`
    (label, URL) buttons such as approve and reject links.
    """

    event: str
    title: str
    outcome: Outcome
    summary: str
    fields: tuple[tuple[str, str], ...]
    body: str | None
    link: str | None
    ref: str | None
    at: datetime
    actions: tuple[tuple[str, str], ...] = ()
