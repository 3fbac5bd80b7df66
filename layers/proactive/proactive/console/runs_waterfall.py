"""A run's timeline as a waterfall: one bar per thing that happened, placed by when it happened.

Made from what the run records (`steps`, each with `at` and `type`, and the run's own times), so it
shows exactly what is there: the time queued, each attempt, the model requests, tool calls and
HTTP requests inside it (a step is recorded when it ends, with its `duration_ms`), waits for a
callback and for a retry, and markers for what has no duration (a failure, a callback received, a
cancel, steps dropped to keep the run small). A step whose time cannot be read is left off the
chart; the steps table beside it still lists it.

Positions are SVG attributes (the console's policy allows no inline style), in a fixed view box
the browser scales to the page's width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# The view box: labels on the left, the time track on the right.
WIDTH = 1000
LABEL_WIDTH = 300
TRACK = WIDTH - LABEL_WIDTH - 10
ROW = 26
BAR = 16
TOP = 24
MIN_BAR = 2.0
# About how wide one character of a bar's text is, in the view box's units.
CHAR = 7.4


@dataclass
class Bar:
    """One row of the waterfall: what it stands for, when, and how it is drawn."""

    label: str
    kind: str
    start: datetime
    end: datetime
    detail: str = ""
    error: str | None = None
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    # What the bar's text says (duration, details, error) and where it goes.
    text: str = ""
    text_x: float = 0.0
    text_anchor: str = "start"

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def marker(self) -> bool:
        return self.end <= self.start


@dataclass
class Waterfall:
    bars: list[Bar] = field(default_factory=list)
    start: datetime | None = None
    span: float = 0.0
    height: int = 0
    ticks: list[tuple[float, float]] = field(default_factory=list)
    label_width: int = LABEL_WIDTH
    width: int = WIDTH

    @property
    def label_text_x(self) -> int:
        return self.label_width - 8


def when(value: Any) -> datetime | None:
    """An instant the API gave (ISO-8601 text), or None when it is missing or unreadable."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _ms(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _tokens(step: Mapping[str, Any]) -> str:
    given = [step.get("input_tokens"), step.get("output_tokens")]
    if not any(isinstance(t, int) for t in given):
        return ""
    return f"{given[0] or 0:,} in / {given[1] or 0:,} out tokens"


def _timed(step: Mapping[str, Any], at: datetime, label: str, kind: str) -> Bar:
    """A step recorded when it ended, with how long it took."""
    took = _ms(step.get("duration_ms"))
    start = at - timedelta(milliseconds=took) if took is not None else at
    error = step.get("error")
    failed = step.get("ok") is False or bool(error)
    details = [d for d in (_tokens(step),) if d]
    return Bar(label, kind, start, at, " · ".join(details), str(error) if failed and error else None)


def _step_bar(step: Mapping[str, Any], at: datetime) -> Bar | None:
    """The bar of a step that stands on its own (one with a duration, or a marker)."""
    kind = str(step.get("type") or "step")
    if kind == "model_request":
        return _timed(step, at, "Model request", "model")
    if kind == "tool_call":
        bar = _timed(step, at, f"Tool {step.get('tool') or ''}".strip(), "tool")
        if step.get("ok") is False and bar.error is None:
            bar.error = "failed"
        return bar
    if kind == "http_request":
        status = step.get("status")
        bar = _timed(step, at, f"HTTP {step.get('url') or 'request'}", "http")
        bar.detail = f"status {status}" if status is not None else "no answer"
        if bar.error is None and isinstance(status, int) and status >= 400:
            bar.error = f"status {status}"
        return bar
    if kind == "attempt_failed":
        return Bar("Attempt failed", "error", at, at, error=str(step.get("error") or "failed"))
    if kind == "callback_received":
        ok = step.get("ok") is not False
        return Bar(
            "Callback received", "callback", at, at, error=None if ok else "the agent reported a failure"
        )
    if kind == "cancelled":
        return Bar("Cancelled", "cancel", at, at, f"by {step.get('by')}" if step.get("by") else "")
    if kind == "truncated":
        return Bar("Steps dropped", "marker", at, at, f"{step.get('dropped', '?')} earlier steps not kept")
    if kind in ("attempt_started", "waiting_for_callback"):
        return None
    return Bar(kind.replace("_", " ").capitalize(), "marker", at, at)


def _next(later: Sequence[tuple[datetime, Mapping[str, Any]]], *types: str) -> datetime | None:
    """When the first of the later steps of one of `types` happened."""
    return next((at for at, step in later if step.get("type") in types), None)


def _spans(steps: Sequence[tuple[datetime, Mapping[str, Any]]], end: datetime) -> list[Bar]:
    """Bars of what lasts from one step to a later one: attempts, waits for a callback or a retry."""
    bars: list[Bar] = []
    for index, (at, step) in enumerate(steps):
        kind = step.get("type")
        later = steps[index + 1 :]
        if kind == "attempt_started":
            ended = _next(later, "attempt_started", "attempt_failed", "waiting_for_callback", "cancelled")
            label = f"Attempt {step.get('attempt') or ''}".strip()
            bars.append(Bar(label, "attempt", at, max(at, ended or end)))
        elif kind == "waiting_for_callback":
            until = when(step.get("until"))
            ended = _next(later, "callback_received", "cancelled") or (min(until, end) if until else end)
            bars.append(Bar("Waiting for callback", "wait", at, max(at, ended)))
        elif kind == "attempt_failed" and step.get("retry_at"):
            retry_at = when(step.get("retry_at"))
            ended = _next(later, "attempt_started") or (min(retry_at, end) if retry_at else end)
            bars.append(Bar("Retry wait", "retry", at, max(at, ended)))
    return bars


def build(run: Mapping[str, Any], now: datetime) -> Waterfall:
    """The waterfall of a run as the API shows it (`steps`, `created_at`, `started_at`,
    `finished_at`); empty when it has nothing to place."""
    steps = [
        (at, step)
        for step in run.get("steps") or []
        if isinstance(step, Mapping) and (at := when(step.get("at"))) is not None
    ]
    created, started, finished = (when(run.get(k)) for k in ("created_at", "started_at", "finished_at"))
    times = [t for t in (created, started, finished, *(at for at, _ in steps)) if t is not None]
    if not times:
        return Waterfall()
    end = finished or (now if run.get("status") in ("queued", "running") else max(times))
    bars: list[Bar] = []
    first_start = started or next((at for at, s in steps if s.get("type") == "attempt_started"), None)
    if created and first_start and first_start > created:
        bars.append(Bar("Queued", "queued", created, first_start))
    bars.extend(_spans(steps, end))
    bars.extend(b for at, step in steps if (b := _step_bar(step, at)) is not None)
    bars.sort(key=lambda b: (b.start, 0 if not b.marker else 1))
    return _placed(bars, min([*times, *(b.start for b in bars)]), max([end, *(b.end for b in bars)]))


def _placed(bars: list[Bar], start: datetime, end: datetime) -> Waterfall:
    """The bars placed on the track: x and width from their time, one row each, and their text
    after the bar (before it, when the bar ends near the right edge)."""
    span = max((end - start).total_seconds(), 0.001)
    for row, bar in enumerate(bars):
        offset = (bar.start - start).total_seconds() / span * TRACK
        bar.width = round(max(MIN_BAR, bar.seconds / span * TRACK), 2)
        bar.x = round(min(LABEL_WIDTH + offset, LABEL_WIDTH + TRACK - bar.width), 2)
        bar.y = TOP + row * ROW
        error = bar.error if bar.error is None or len(bar.error) <= 60 else bar.error[:59] + "…"
        timing = "" if bar.marker else _seconds_text(bar.seconds)
        bar.text = " · ".join(t for t in (timing, bar.detail, error) if t)
        right, left = WIDTH - (bar.x + bar.width) - 6, bar.x - LABEL_WIDTH - 6
        if right >= len(bar.text) * CHAR or right >= left:
            bar.text_x, bar.text_anchor = round(bar.x + bar.width + 6, 2), "start"
        else:
            bar.text_x, bar.text_anchor = round(bar.x - 6, 2), "end"
        fits = int(max(right, left) / CHAR)
        if len(bar.text) > fits:
            bar.text = bar.text[: max(0, fits - 1)].rstrip() + "…"
    ticks = [(round(LABEL_WIDTH + TRACK * f, 2), span * f) for f in (0, 0.25, 0.5, 0.75, 1)]
    return Waterfall(bars, start, span, TOP + len(bars) * ROW + 8, ticks)


def seconds_text(seconds: float) -> str:
    """A duration as the waterfall's labels show it."""
    return _seconds_text(seconds)
