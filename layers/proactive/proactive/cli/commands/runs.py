"""`proactive runs ...`"""

from __future__ import annotations

import itertools
import time
from typing import Annotated, Any

import typer

from proactive.cli.commands.common import FINAL, RUN_COLUMNS, Cursor, Limit, Yes, step_line, wait_for_run
from proactive.cli.exits import FAILED, USAGE
from proactive.cli.state import CommandFailed, State, state

app = typer.Typer(no_args_is_help=True)
MAX_AT_ONCE = 100

Status = Annotated[str | None, typer.Option(help="queued, running, succeeded, failed, missed or cancelled.")]
Agent = Annotated[str | None, typer.Option("--agent", help="Only the runs of this agent.")]
Source = Annotated[
    str | None, typer.Option("--source-type", help="schedule, webhook, monitor, trigger, manual, ...")
]
Since = Annotated[str | None, typer.Option(help="Created at or after (ISO-8601 with an offset).")]
Until = Annotated[str | None, typer.Option(help="Created before (ISO-8601 with an offset).")]
Text = Annotated[str | None, typer.Option("--query", "-q", help="Text in the task or the error.")]


def _filters(
    status: str | None,
    agent: str | None,
    source_type: str | None,
    since: str | None,
    until: str | None,
    query: str | None,
) -> dict[str, Any]:
    return {
        "status": status,
        "agent_id": agent,
        "source_type": source_type,
        "since": since,
        "until": until,
        "q": query,
    }


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Status = None,
    agent: Agent = None,
    source_type: Source = None,
    since: Since = None,
    until: Until = None,
    query: Text = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every page (json: one list; jsonl: a line a run).")
    ] = False,
) -> None:
    """Runs, newest first, with the console's filters."""
    st = state(ctx)
    params = {**_filters(status, agent, source_type, since, until, query), "limit": limit, "cursor": cursor}
    if not all_:
        st.show(st.call("GET", "/api/runs", params=params), RUN_COLUMNS)
        return
    st.show({"items": list(_every(st, params)), "next_cursor": None}, RUN_COLUMNS)


def _every(st: State, params: dict[str, Any]) -> Any:
    while True:
        page = st.call("GET", "/api/runs", params=params)
        yield from page.get("items") or []
        if not page.get("next_cursor"):
            return
        params = {**params, "cursor": page["next_cursor"]}


@app.command()
def show(
    ctx: typer.Context,
    run_id: str,
    steps: Annotated[bool, typer.Option("--steps", help="Also its steps, one a line.")] = False,
) -> None:
    """One run: status, times, output or error (and its steps)."""
    st = state(ctx)
    run = st.call("GET", f"/api/runs/{run_id}", workspace_in=None)
    st.show(run)
    if steps and st.output.format == "table":
        for step in run.get("steps") or []:
            st.output.text(step_line(step))


@app.command()
def logs(
    ctx: typer.Context,
    run_id: str,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")] = False,
) -> None:
    """A run's steps, one a line (with --follow, as they happen)."""
    st = state(ctx)
    printed = 0
    while True:
        run = st.call("GET", f"/api/runs/{run_id}", workspace_in=None)
        for step in (run.get("steps") or [])[printed:]:
            st.output.text(step_line(step))
        printed = len(run.get("steps") or [])
        if not follow or run.get("status") in FINAL:
            if follow:
                st.output.note(f"{run_id}: {run.get('status')}")
            return
        time.sleep(1.0)


def _chosen(st: State, run_ids: list[str], filters: dict[str, Any], yes: bool, verb: str) -> list[str]:
    if run_ids and any(v is not None for v in filters.values()):
        raise CommandFailed(USAGE, "give run ids or filters, not both")
    if run_ids:
        return run_ids
    if not any(v is not None for v in filters.values()):
        raise CommandFailed(USAGE, "which runs? give run ids, or filters (--status, --agent, ...) with --yes")
    found = [run["id"] for run in itertools.islice(_every(st, {**filters, "limit": 100}), MAX_AT_ONCE + 1)]
    if len(found) > MAX_AT_ONCE:
        raise CommandFailed(USAGE, f"the filters match more than {MAX_AT_ONCE} runs; narrow them")
    if not yes:
        raise CommandFailed(USAGE, f"{len(found)} runs match: add --yes to {verb} them all")
    return found


def _each(ctx: typer.Context, run_ids: list[str], filters: dict[str, Any], yes: bool, verb: str) -> None:
    st = state(ctx)
    results: list[dict[str, Any]] = []
    refusals: list[int] = []
    for run_id in _chosen(st, run_ids, filters, yes, verb):
        try:
            results.append(st.call("POST", f"/api/runs/{run_id}/{verb}", workspace_in=None))
        except CommandFailed as refused:
            refusals.append(refused.code)
            st.output.note(f"{run_id}: {refused.message}")
    st.show({"items": results, "next_cursor": None}, RUN_COLUMNS)
    if refusals:
        # Every one refused alike: that refusal's code; some done and some not: 1.
        raise CommandFailed(refusals[0] if not results and len(set(refusals)) == 1 else FAILED)


@app.command()
def cancel(
    ctx: typer.Context,
    run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to cancel.")] = None,
    status: Status = None,
    agent: Agent = None,
    source_type: Source = None,
    since: Since = None,
    until: Until = None,
    query: Text = None,
    yes: Yes = False,
) -> None:
    """Cancel runs: by id, or every run the filters match (with --yes; at most 100)."""
    _each(ctx, run_ids or [], _filters(status, agent, source_type, since, until, query), yes, "cancel")


@app.command()
def replay(
    ctx: typer.Context,
    run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to replay.")] = None,
    status: Status = None,
    agent: Agent = None,
    source_type: Source = None,
    since: Since = None,
    until: Until = None,
    query: Text = None,
    yes: Yes = False,
    wait: Annotated[bool, typer.Option(help="With one run: wait for the replay to end.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most (exit 124).")] = 300.0,
) -> None:
    """Replay runs (each as a new run): by id, or every run the filters match (with --yes)."""
    if wait and len(run_ids or []) == 1:
        st = state(ctx)
        started = st.call("POST", f"/api/runs/{run_ids[0]}/replay", workspace_in=None)  # type: ignore[index]
        code = wait_for_run(st, started["id"], timeout=timeout, watch=False)
        if code:
            raise CommandFailed(code)
        return
    _each(ctx, run_ids or [], _filters(status, agent, source_type, since, until, query), yes, "replay")
