"""A short check of a deployed stack: it answers, it accepts the token, and its worker runs agents.

    python -m proactive.dev.smoke --url https://abc123.execute-api.eu-west-1.amazonaws.com --token ...

It checks `GET /health`, creates a `builtin` agent with a unique name, starts a run of it, waits
(bounded) for the run to succeed, and deletes the agent, also when an earlier step failed. It
prints one line per step with its result and time, then a last line: exit status 0 when every
step passed, 1 with the reason when one did not, 2 when it was called wrongly.

The workspace is `--workspace` if given, else the one workspace the token's claim lists (read
from the token without verifying it: the API verifies it). The token may also come from
$PROACTIVE_TOKEN and the URL from $PROACTIVE_API_URL, as the SDK reads them, so that the token
need not appear in a command line.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

import httpx
import jwt

from proactive.auth import parse_workspaces

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 120.0
# One request may meet a cold start of the API function (its import, a few seconds at worst).
REQUEST_SECONDS = 15.0
FINAL_STATUSES = frozenset({"succeeded", "failed", "missed", "cancelled"})
# Answers that say "not now" rather than "no": worth asking again while the run is awaited.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
STEPS = ("health", "workspace", "create agent", "start run", "wait for run", "delete agent")


class StepFailed(Exception):
    """Why a step failed, in one line. `transient` when asking again later may succeed."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


def _message(response: httpx.Response) -> str:
    """What the answer says is wrong: the API's `message` (API Gateway's authorizer answers
    `{"message": "Unauthorized"}` too), else the start of its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    text = " ".join(response.text.split())
    return text[:200] or response.reason_phrase


class Api:
    """The few calls the check makes; each failure becomes a `StepFailed` with a one-line reason."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client = client
        self.url = url

    def call(self, method: str, path: str, *, expect: int, json: Any = None) -> Any:
        try:
            response = self.client.request(method, path, json=json)
        except httpx.TimeoutException as exc:
            raise StepFailed(
                f"the API at {self.url} did not answer {method} {path} within {REQUEST_SECONDS:g}s",
                transient=True,
            ) from exc
        except httpx.TransportError as exc:
            raise StepFailed(
                f"cannot reach the API at {self.url} ({exc or type(exc).__name__})", transient=True
            ) from exc
        status = response.status_code
        if status == 401:
            raise StepFailed(f"authentication failed: the API refused the token (401: {_message(response)})")
        if status == 403:
            raise StepFailed(f"forbidden: {_message(response)} (403)")
        if status != expect:
            raise StepFailed(
                f"{method} {path} answered {status}: {_message(response)}",
                transient=status in TRANSIENT_STATUSES,
            )
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise StepFailed(f"{method} {path} answered {status} with a body that is not JSON") from exc


def _field(body: Any, key: str, what: str) -> Any:
    """`body[key]`, or a failure saying the answer was not what this API answers."""
    if not isinstance(body, dict) or body.get(key) is None:
        raise StepFailed(f"{what} answered without {key!r}: {str(body)[:200]}")
    return body[key]


def workspace_from_token(token: str, claim: str) -> str:
    """The token's one workspace. The signature is not checked here: the API checks it, and a
    token it refuses fails the next step with the API's own reason."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise StepFailed(
            f"authentication failed: the token is not a JWT whose claims can be read ({exc})"
        ) from exc
    found = sorted(parse_workspaces(claims.get(claim)))
    if not found:
        raise StepFailed(f"the token's {claim!r} claim lists no workspace; name one with --workspace")
    if len(found) > 1:
        raise StepFailed(
            f"the token grants several workspaces ({', '.join(found)}); pick one with --workspace"
        )
    return found[0]


@dataclass
class Report:
    """One line per step, as it ends: its name, ok / FAIL / skip, how long it took, what it found."""

    out: TextIO
    started: float = field(default_factory=time.monotonic)
    done: list[str] = field(default_factory=list)

    def line(self, name: str, result: str, seconds: float, detail: str) -> None:
        self.done.append(name)
        print(f"{name:<13} {result:<4} {seconds:7.2f}s  {detail}", file=self.out, flush=True)

    def step(self, name: str, action: Callable[[], tuple[T, str]]) -> T:
        """Run one step and report it; a failure is reported, then raised on."""
        start = time.monotonic()
        try:
            value, detail = action()
        except StepFailed as exc:
            self.line(name, "FAIL", time.monotonic() - start, str(exc))
            raise
        self.line(name, "ok", time.monotonic() - start, detail)
        return value

    def skip(self, names: Iterable[str], why: str) -> None:
        for name in names:
            if name not in self.done:
                self.line(name, "skip", 0.0, why)


@dataclass
class Smoke:
    """The check itself, against one API with one token."""

    api: Api
    token: str
    workspace: str | None
    claim: str
    timeout: float
    report: Report
    sleep: Callable[[float], None] = time.sleep

    def health(self) -> tuple[None, str]:
        try:
            body = self.api.call("GET", "/health", expect=200)
        except StepFailed as exc:
            if exc.transient:
                raise
            # Something answered, but not this API: most often a URL other than the stack's output.
            raise StepFailed(f"{exc}; is {self.api.url} the stack's ApiUrl?") from exc
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise StepFailed(f"GET /health answered {body!r}, not status ok; is the URL the stack's ApiUrl?")
        return None, f"status ok, version {body.get('version', '?')}"

    def choose_workspace(self) -> tuple[str, str]:
        if self.workspace:
            return self.workspace, f"{self.workspace} (as given)"
        found = workspace_from_token(self.token, self.claim)
        return found, f"{found} (the token's {self.claim!r} claim)"

    def create_agent(self, workspace: str) -> tuple[str, str]:
        # Unique, and recognisable should a failed delete ever leave one behind.
        name = f"smoke-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        agent = self.api.call(
            "POST",
            "/api/agents",
            expect=201,
            json={
                "workspace_id": workspace,
                "name": name,
                "runtime": "builtin",
                "description": "Created by the smoke check, which deletes it when it ends.",
            },
        )
        agent_id = str(_field(agent, "id", "POST /api/agents"))
        return agent_id, f"{agent_id} ({name}) in {workspace}"

    def start_run(self, workspace: str, agent_id: str) -> tuple[str, str]:
        run = self.api.call(
            "POST",
            "/api/runs",
            expect=202,
            json={
                "workspace_id": workspace,
                "agent_id": agent_id,
                "task": "Smoke check: confirm that runs run",
            },
        )
        run_id = str(_field(run, "id", "POST /api/runs"))
        return run_id, f"{run_id} {run.get('status', '?')}"

    def wait_for_run(self, run_id: str) -> tuple[None, str]:
        """Poll the run until it ends or the time is up. A poll that fails for a while (a cold
        start, a throttle) is asked again; a refusal is not."""
        deadline = time.monotonic() + self.timeout
        interval = 0.25
        status, last_problem = "unknown", ""
        while True:
            try:
                run = self.api.call("GET", f"/api/runs/{run_id}", expect=200)
                status, last_problem = str(_field(run, "status", f"GET /api/runs/{run_id}")), ""
                if status == "succeeded":
                    attempts = run.get("attempts", 1)
                    return None, f"succeeded after {attempts} attempt{'s' if attempts != 1 else ''}"
                if status in FINAL_STATUSES:
                    why = run.get("error") or run.get("reason") or "no reason recorded"
                    raise StepFailed(f"run {run_id} {status}: {why}")
            except StepFailed as exc:
                if not exc.transient:
                    raise
                last_problem = str(exc)
            left = deadline - time.monotonic()
            if left <= 0:
                since = f"; last poll: {last_problem}" if last_problem else ""
                raise StepFailed(
                    f"run {run_id} was still {status} after {self.timeout:g}s "
                    f"(is the worker taking runs from the queue?){since}"
                )
            self.sleep(min(interval, left))
            interval = min(interval * 2, 3.0)

    def delete_agent(self, agent_id: str) -> tuple[None, str]:
        self.api.call("DELETE", f"/api/agents/{agent_id}", expect=204)
        return None, f"{agent_id} deleted"

    def run(self) -> str | None:
        """Every step in order; the agent is deleted whatever happened after it was created.
        Answers the first failure's reason, or None when all passed."""
        failure: str | None = None
        agent_id: str | None = None
        report = self.report
        try:
            report.step("health", self.health)
            workspace = report.step("workspace", self.choose_workspace)
            agent_id = report.step("create agent", lambda: self.create_agent(workspace))
            created = agent_id
            run_id = report.step("start run", lambda: self.start_run(workspace, created))
            report.step("wait for run", lambda: self.wait_for_run(run_id))
        except StepFailed as exc:
            failure = str(exc)
        finally:
            # Also on Ctrl-C: an interrupted check leaves nothing behind.
            if agent_id is not None:
                doomed = agent_id
                report.skip(STEPS[:-1], "an earlier step failed")
                try:
                    report.step("delete agent", lambda: self.delete_agent(doomed))
                except StepFailed as exc:
                    failure = failure or f"could not delete agent {doomed}: {exc}"
            else:
                report.skip(STEPS[:-1], "an earlier step failed")
                report.skip(STEPS[-1:], "no agent was created")
        return failure


def check(
    url: str,
    token: str,
    *,
    workspace: str | None = None,
    claim: str = "workspaces",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Run the check against `url` and print its report: 0 when every step passed, else 1."""
    url = url.rstrip("/")
    token = token.strip().removeprefix("Bearer ").strip()
    report = Report(out)
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "proactive-smoke"}
    with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_SECONDS) as client:
        failure = Smoke(Api(client, url), token, workspace, claim, timeout, report).run()
    total = time.monotonic() - report.started
    if failure is not None:
        print(f"smoke check failed: {failure}", file=err, flush=True)
        return 1
    print(f"smoke check passed: {len(STEPS)} steps in {total:.2f}s against {url}", file=out, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proactive.dev.smoke",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--url", default=os.environ.get("PROACTIVE_API_URL"), help="the API's base URL (the stack's ApiUrl)"
    )
    parser.add_argument(
        "--token", default=os.environ.get("PROACTIVE_TOKEN"), help="a bearer token (default $PROACTIVE_TOKEN)"
    )
    parser.add_argument("--workspace", help="the workspace to use (default: the token's only workspace)")
    parser.add_argument(
        "--workspaces-claim",
        default=os.environ.get("WORKSPACES_CLAIM") or "workspaces",
        help="the claim that lists the token's workspaces (default $WORKSPACES_CLAIM or 'workspaces')",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for the run to end (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    args = parser.parse_args(argv)
    if not args.url or not args.token:
        parser.error("--url and --token (or $PROACTIVE_API_URL and $PROACTIVE_TOKEN) are required")
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url must start with http:// or https://, not {args.url!r}")
    if args.timeout <= 0:
        parser.error("--timeout must be more than 0 seconds")
    return check(
        args.url, args.token, workspace=args.workspace, claim=args.workspaces_claim, timeout=args.timeout
    )


if __name__ == "__main__":
    sys.exit(main())
