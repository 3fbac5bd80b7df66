"""`proactive webhooks ...`: signed public URLs that deliver events to a trigger
(`/api/proactive/webhooks`), and a test delivery signed here as a sender signs one."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Annotated, Any

import typer

from proactive.cli.commands.common import (
    Cursor,
    Limit,
    Timeout,
    Wait,
    changes,
    given,
    item_commands,
    json_object,
    run_started,
)
from proactive.cli.exits import FAILED, NOT_ALLOWED, NOT_FOUND, REFUSED, USAGE
from proactive.cli.state import CommandFailed, State, state

app = typer.Typer(no_args_is_help=True)
PATH = "/api/proactive/webhooks"
SECRET_ENV = "PROACTIVE_WEBHOOK_SECRET"  # noqa: S105  (a variable's name)
# How long send-test looks in the delivery log for the run its delivery started.
FIND_RUN_SECONDS = 10.0

COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("trigger", "trigger_id"),
    ("scheme", "signature_scheme"),
    ("active", "is_active"),
    ("per minute", "rate_limit_per_minute"),
    ("url", "webhook_url"),
]

item_commands(
    app,
    PATH,
    "webhook",
    COLUMNS,
    listed="Webhooks of the workspace, with the URL senders deliver to.",
    shown="One webhook (never its secret).",
    deleted="Delete a webhook: its URL answers 404 from now on.",
)
DELIVERY_COLUMNS = [
    ("id", "id"),
    ("received", "received_at"),
    ("status", "status"),
    ("event", "event"),
    ("run", "run_id"),
    ("reason", "reason"),
    ("delivery key", "delivery_key"),
]


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Its name.")],
    trigger: Annotated[str, typer.Option("--trigger", help="The trigger its deliveries fire.")],
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme", help="standard, github or hmac-sha256 (default: github for a github trigger)."
        ),
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Deliveries a minute at most.")
    ] = None,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = False,
) -> None:
    """Create a webhook. Its signing secret is printed once, here."""
    st = state(ctx)
    body = given(
        name=name,
        trigger_id=trigger,
        signature_scheme=scheme,
        rate_limit_per_minute=rate_limit,
        is_active=False if paused else None,
    )
    st.show(st.call("POST", PATH, json=body, workspace_in="body"))
    st.output.note("its secret is shown only now: store it with the sender")


@app.command()
def update(
    ctx: typer.Context,
    webhook_id: str,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    trigger: Annotated[str | None, typer.Option("--trigger", help="Another trigger.")] = None,
    rate_limit: Annotated[int | None, typer.Option("--rate-limit", help="Deliveries a minute.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--paused", help="Turn it on or off.")] = None,
) -> None:
    """Rename, retarget, pause or resume a webhook, or change its rate limit."""
    st = state(ctx)
    body = changes(name=name, trigger_id=trigger, rate_limit_per_minute=rate_limit, is_active=active)
    st.show(st.call("PATCH", f"{PATH}/{webhook_id}", json=body, workspace_in=None))


@app.command()
def deliveries(ctx: typer.Context, webhook_id: str, limit: Limit = 50, cursor: Cursor = None) -> None:
    """Its delivery log, newest first: accepted, duplicate, filtered, rejected, unauthorized or
    rate limited, with the reason and the run each started."""
    st = state(ctx)
    answer = st.call(
        "GET", f"{PATH}/{webhook_id}/deliveries", params={"limit": limit, "cursor": cursor}, workspace_in=None
    )
    st.show(answer, DELIVERY_COLUMNS)


@app.command("rotate-secret")
def rotate_secret(
    ctx: typer.Context,
    webhook_id: str,
    grace: Annotated[
        int | None,
        typer.Option("--grace-seconds", help="How long the old secret stays valid (default 24 h; 0: not)."),
    ] = None,
) -> None:
    """A new signing secret, printed once; the old one stays valid for the grace period."""
    st = state(ctx)
    body = given(grace_period_seconds=grace)
    answer = st.call("POST", f"{PATH}/{webhook_id}/regenerate-secret", json=body, workspace_in=None)
    if st.output.format != "table":
        st.show(answer)
        return
    st.output.text(answer["secret"])
    until = answer.get("previous_secret_expires_at")
    st.output.note(
        "the new secret is shown only now"
        + (f"; the old one stays valid until {until}" if until else "; the old one is no longer valid")
    )


def _secret(from_stdin: bool) -> str:
    secret = sys.stdin.readline().strip() if from_stdin else os.environ.get(SECRET_ENV, "").strip()
    if not secret:
        raise CommandFailed(
            USAGE,
            f"the webhook's secret is needed to sign: pipe it with --secret-stdin, or set {SECRET_ENV} "
            "(or let the platform sign with --via-api)",
        )
    return secret


def _signed(scheme: str, secret: str, body: bytes, delivery_id: str, event: str | None) -> dict[str, str]:
    """The headers a sender puts on `body` for a webhook of `scheme` (`proactive.lib.signatures`)."""
    from proactive.lib.signatures import body_signature, signed_headers

    headers = {"content-type": "application/json"}
    if scheme == "standard":
        headers |= signed_headers(secret, delivery_id, int(time.time()), body)
        named = "webhook-event"
    elif scheme == "github":
        headers |= {"x-hub-signature-256": body_signature(secret, body), "x-github-delivery": delivery_id}
        named = "x-github-event"
    else:
        headers["x-signature"] = body_signature(secret, body)
        named = "x-event-type"
    if event:
        headers[named] = event
    return headers


def _ingest_code(status: int) -> int:
    if status < 300:
        return 0
    if status in (401, 403):
        return NOT_ALLOWED
    if status == 404:
        return NOT_FOUND
    if status in (400, 409, 413, 422):
        return REFUSED
    return FAILED


def _deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    import httpx

    try:
        response = httpx.post(url, content=body, headers=headers, timeout=30.0)
    except httpx.HTTPError as exc:
        raise CommandFailed(FAILED, f"{url} could not be reached: {type(exc).__name__}: {exc}") from exc
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"body": response.text}


def _run_of(st: State, webhook_id: str, delivery_id: str) -> dict[str, Any] | None:
    """The delivery as its log holds it once its trigger has taken it (its `run_id`) or turned it
    down; None when that takes longer than FIND_RUN_SECONDS."""
    deadline = time.monotonic() + FIND_RUN_SECONDS
    while time.monotonic() < deadline:
        page = st.call("GET", f"{PATH}/{webhook_id}/deliveries", params={"limit": 20}, workspace_in=None)
        for delivery in page.get("items") or []:
            if delivery.get("id") == delivery_id and (
                delivery.get("run_id") or delivery["status"] != "accepted"
            ):
                return dict(delivery)
        time.sleep(0.25)
    return None


@app.command("send-test")
def send_test(
    ctx: typer.Context,
    webhook_id: str,
    payload: Annotated[str | None, typer.Option(help="The event payload: JSON, @file or -.")] = None,
    event: Annotated[str | None, typer.Option(help="The event name the delivery carries.")] = None,
    secret_stdin: Annotated[
        bool,
        typer.Option("--secret-stdin", help=f"Read the webhook's secret from stdin (else {SECRET_ENV})."),
    ] = False,
    via_api: Annotated[
        bool, typer.Option("--via-api", help="Let the platform sign it with the webhook's current secret.")
    ] = False,
    wait: Wait = False,
    timeout: Timeout = 300.0,
) -> None:
    """Deliver a test event to the webhook's public URL, signed with its secret as a sender signs
    it, and print what the URL answered (and the run the delivery started)."""
    st = state(ctx)
    if via_api:
        _via_api(st, webhook_id, payload, event, wait, timeout)
        return
    if secret_stdin and payload == "-":
        raise CommandFailed(USAGE, "stdin cannot hold both the secret and the payload")
    secret = _secret(secret_stdin)
    hook = st.call("GET", f"{PATH}/{webhook_id}", workspace_in=None)
    delivery_key = f"test-{uuid.uuid4()}"  # as the log marks a test delivery
    content = json_object(payload, what="--payload")
    if content is None:
        content = {
            "test": True,
            "message": f"A test delivery to webhook {hook['name']}.",
            "webhook_id": hook["id"],
        }
    body = json.dumps(content).encode()
    status, answer = _deliver(
        hook["webhook_url"], body, _signed(hook["signature_scheme"], secret, body, delivery_key, event)
    )
    code = _ingest_code(status)
    if code:
        message = answer.get("message") if isinstance(answer, dict) else None
        raise CommandFailed(code, f"{hook['webhook_url']} answered {status}: {message or answer}")
    found = _run_of(st, webhook_id, answer["delivery_id"]) if status == 202 else None
    run_id = found.get("run_id") if found else None
    if wait and run_id:
        st.output.note(f"{status}: delivery {answer['delivery_id']} accepted")
        run_started(st, st.call("GET", f"/api/runs/{run_id}", workspace_in=None), wait=True, timeout=timeout)
        return
    st.show(answer)
    _say_run(st, found, status)


def _say_run(st: State, found: dict[str, Any] | None, status: int) -> None:
    if status != 202:
        st.output.note(f"{status}: a delivery seen before; nothing more is run")
    elif found is None:
        st.output.note("the delivery is queued: `proactive webhooks deliveries` shows the run it starts")
    elif found is not None and found.get("run_id"):
        st.output.note(f"started run {found['run_id']}")
    elif found is not None:
        st.output.note(f"no run: the delivery was {found['status']} ({found.get('reason')})")


def _via_api(
    st: State, webhook_id: str, payload: str | None, event: str | None, wait: bool, timeout: float
) -> None:
    body = given(payload=json_object(payload, what="--payload"), event=event)
    answer = st.call("POST", f"{PATH}/{webhook_id}/test", json=body, workspace_in=None)
    code = _ingest_code(int(answer.get("status_code") or 0))
    if wait and answer.get("run"):
        run_started(st, answer["run"], wait=True, timeout=timeout)
        return
    st.show(answer)
    if code:
        raise CommandFailed(code, f"the webhook's URL answered {answer.get('status_code')}")
