"""`proactive loop metrics|events ...`: the goal loop's inputs, pushed from CSV in batches and
read back (`/api/autonomous/metrics`, `/api/autonomous/events`).

    metric,timestamp,value              event_type,timestamp,metadata
    cpu_usage,2026-03-01T09:00:00Z,75.5  deploy,2026-03-01T09:00:00Z,"{""service"": ""api""}"

A header line is optional; an empty timestamp means now. Rows go in batches of up to 1,000 (the
API's most); each batch is answered with what it stored and what it refused (by line here).
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from proactive.cli.commands.common import Cursor, Limit, given
from proactive.cli.exits import REFUSED, USAGE
from proactive.cli.state import CommandFailed, State, state

metrics_app = typer.Typer(no_args_is_help=True, help="The goal loop's metrics: push (CSV), list, show.")
events_app = typer.Typer(no_args_is_help=True, help="The goal loop's events: push (CSV), list.")
MAX_BATCH = 1000
HEADERS = frozenset({"metric", "metric_name", "event_type", "event", "type"})

Source = Annotated[str, typer.Argument(help="A CSV file, or - for stdin.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, max=MAX_BATCH, help="Rows a request.")]
Since = Annotated[str | None, typer.Option(help="From this instant (ISO-8601 with an offset).")]
Until = Annotated[str | None, typer.Option(help="Up to this instant (ISO-8601 with an offset).")]


def _rows(source: str) -> Iterator[tuple[int, list[str]]]:
    """Each row of the CSV with its line number: blank lines, `#` comments and a header skipped."""
    try:
        stream = sys.stdin if source == "-" else Path(source).expanduser().open(newline="")
    except OSError as exc:
        raise CommandFailed(USAGE, f"cannot read {source}: {exc.strerror}") from exc
    with stream:
        reader = csv.reader(stream)
        first = True
        for row in reader:
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if first and row[0].strip().lower() in HEADERS:
                first = False
                continue
            first = False
            yield reader.line_num, row


def _number(text: str) -> Any:
    """The value as a number; as written when it is none (the API then says what is wrong)."""
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _metric(row: list[str]) -> dict[str, Any]:
    cells = [cell.strip() for cell in row] + ["", "", ""]
    point: dict[str, Any] = {"metric_name": cells[0], "value": _number(cells[2])}
    if cells[1]:
        point["timestamp"] = cells[1]
    return point


def _event(row: list[str]) -> dict[str, Any]:
    cells = [cell.strip() for cell in row] + ["", "", ""]
    event: dict[str, Any] = {"event_type": cells[0]}
    if cells[1]:
        event["timestamp"] = cells[1]
    if cells[2]:
        try:
            event["metadata"] = json.loads(cells[2])
        except ValueError:
            event["metadata"] = cells[2]
    return event


def _batches(source: str, size: int, item: Any) -> Iterator[tuple[list[int], list[dict[str, Any]]]]:
    lines: list[int] = []
    items: list[dict[str, Any]] = []
    for line, row in _rows(source):
        lines.append(line)
        items.append(item(row))
        if len(items) == size:
            yield lines, items
            lines, items = [], []
    if items:
        yield lines, items


def _push(st: State, path: str, key: str, source: str, size: int, item: Any) -> None:
    """Send the rows in batches; print each batch's answer (json/jsonl/yaml) or a summary
    (table); exit 5 when any row was refused."""
    answers: list[Any] = []
    sent = accepted = 0
    refused: list[dict[str, Any]] = []
    for lines, items in _batches(source, size, item):
        try:
            answer = st.call("POST", path, json={key: items}, workspace_in="body")
        except CommandFailed as failed:
            st.output.note(f"{accepted} of {sent} rows accepted before lines {lines[0]}-{lines[-1]}")
            raise CommandFailed(failed.code, f"lines {lines[0]}-{lines[-1]}: {failed.message}") from failed
        answers.append(answer)
        sent += len(items)
        accepted += int(answer.get("accepted") or 0)
        refused += [{"line": lines[r["index"]], **r} for r in answer.get("refused") or []]
    if not sent:
        raise CommandFailed(USAGE, f"no rows in {source}")
    if st.output.format == "table":
        st.show({"accepted": accepted, "refused": len(refused), "rows": sent, "requests": len(answers)})
        if refused:
            st.show(
                {"items": refused, "next_cursor": None},
                [("line", "line"), ("field", "field"), ("why", "message")],
            )
    else:  # the API's answers, one a batch (jsonl: one a line)
        st.show(answers)
    if refused:
        raise CommandFailed(REFUSED, f"{len(refused)} of {sent} rows refused")


@metrics_app.command("push")
def metrics_push(ctx: typer.Context, source: Source, batch_size: BatchSize = MAX_BATCH) -> None:
    """Record points from CSV (metric,timestamp,value); each is scored against its history."""
    _push(state(ctx), "/api/autonomous/metrics", "metrics", source, batch_size, _metric)


@metrics_app.command("list")
def metrics_list(ctx: typer.Context, limit: Limit = 50, cursor: Cursor = None) -> None:
    """The workspace's metrics: how many points each has had, its first and last."""
    st = state(ctx)
    columns = [
        ("metric", "metric_name"),
        ("points", "count"),
        ("first", "first_timestamp"),
        ("last", "last_timestamp"),
        ("last value", "last_value"),
        ("last score", "last_anomaly_score"),
    ]
    st.show(st.call("GET", "/api/autonomous/metrics", params={"limit": limit, "cursor": cursor}), columns)


@metrics_app.command("show")
def metrics_show(
    ctx: typer.Context,
    name: str,
    since: Since = None,
    until: Until = None,
    newest: Annotated[bool, typer.Option("--newest", help="Newest first.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Points a page.")] = 500,
    cursor: Cursor = None,
) -> None:
    """A metric's points (default: the last 24 hours), each with its anomaly score."""
    st = state(ctx)
    params = given(since=since, until=until, order="newest" if newest else None, limit=limit, cursor=cursor)
    columns = [("timestamp", "timestamp"), ("value", "value"), ("anomaly score", "anomaly_score")]
    st.show(st.call("GET", f"/api/autonomous/metrics/{name}", params=params), columns)


@events_app.command("push")
def events_push(ctx: typer.Context, source: Source, batch_size: BatchSize = MAX_BATCH) -> None:
    """Record events from CSV (event_type,timestamp,metadata as a JSON object)."""
    _push(state(ctx), "/api/autonomous/events", "events", source, batch_size, _event)


@events_app.command("list")
def events_list(
    ctx: typer.Context,
    event_type: Annotated[str | None, typer.Option("--type", help="Only events of this type.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> None:
    """The workspace's events, newest first."""
    st = state(ctx)
    params = given(event_type=event_type, since=since, until=until, limit=limit, cursor=cursor)
    columns = [("id", "id"), ("type", "event_type"), ("timestamp", "timestamp"), ("metadata", "metadata")]
    st.show(st.call("GET", "/api/autonomous/events", params=params), columns)
