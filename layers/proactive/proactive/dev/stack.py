"""The whole platform on loopback: moto (server mode) for DynamoDB and SQS, the API under
uvicorn, the dispatcher every tick and a queue poller feeding a pool of worker instances.

Every piece is the Lambda handler that runs in AWS, invoked with the event shape AWS sends. The
table is kept in `.proactive/data/` across restarts. Ctrl-C or SIGTERM stops the stack in order:
the dispatcher and workers, then the API, then moto, one line per step.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

TABLE_NAME = "proactive-local"
QUEUE_NAME = "proactive-runs"
# Kept across restarts (and ignored by git); `make dev RESET=1` starts empty.
DEFAULT_DATA_DIR = Path(".proactive") / "data"


def _sign_in_link(base: str, workspaces: tuple[str, ...] = ("ws-456",)) -> str:
    """A one-time console sign-in link for the local user, made in the stack's own table."""
    from proactive.store import Store

    code, _ = Store().login_links.create(
        "local-user", workspaces, datetime.now(UTC), lifetime=timedelta(hours=12)
    )
    return f"{base}/console/login?code={code}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(moto_port: int) -> None:
    from proactive.auth import local_secret

    defaults = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "proactive",
        "POWERTOOLS_METRICS_NAMESPACE": "Proactive",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AUTH_MODE": "local",
        # Locally, workspaces' secrets are in a file (SECRETS_FILE, below) and the platform's in
        # PROACTIVE_SECRET_<NAME>; monitors may read loopback.
        "SECRETS_BACKEND": "file",
        "OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
        "TABLE_NAME": TABLE_NAME,
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{moto_port}"
    os.environ.setdefault("LOCAL_JWT_SECRET", local_secret())


class _CompactFormatter(LambdaPowertoolsFormatter):
    """One readable line per event: time, level, message and the event's own fields.

    In AWS each function is its own process and logs JSON; here every handler shares one
    process, so the per-invocation Lambda fields would only mislead."""

    _standard = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
    _powertools = frozenset(
        {
            "location",
            "service",
            "cold_start",
            "function_name",
            "function_memory_size",
            "function_arn",
            "function_request_id",
            "correlation_id",
            "xray_trace_id",
            "timestamp",
        }
    )

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            k: v
            for k, v in vars(record).items()
            if k not in self._standard
            and k not in self._powertools
            and not k.startswith("_")
            and v is not None
        }
        time = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        text = f"{time} {record.levelname:<7} {record.getMessage()}"
        if fields:
            text += "  " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _readable_logs() -> None:
    from proactive.observability import logger

    for handler in logger.handlers:
        handler.setFormatter(_CompactFormatter())


def _die_with_parent() -> None:
    """In a child, before it runs: ask Linux to end it when its parent ends, however that
    happens (even SIGKILL), so no server outlives the stack."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def start_moto(port: int, bridge_url: str | None = None) -> subprocess.Popen[bytes]:
    """moto in server mode, in its own process (as AWS is to a Lambda function: another
    machine), so the platform's threads and moto's do not share one interpreter lock. It runs in
    a session of its own, so a Ctrl-C at the terminal reaches the stack, which stops moto last,
    rather than moto first. It executes the goal loop's state machine, and invokes the goal
    loop's function through the bridge at `bridge_url` (this process), when there is one."""
    from proactive.dev import state_machine

    env = {**os.environ, "MOTO_PORT": str(port)}
    if bridge_url:
        env[state_machine.BRIDGE_VARIABLE] = bridge_url
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "proactive.dev.state_machine", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # only prctl, before exec
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start within 30 s")


_HOOK_PREFIXES = ("/api/hooks/", "/tasks/webhooks/")


def _with_ingest(app: Any, ingest: Any) -> Any:
    """Route POST /api/hooks/{url_path} (and a triggered task's /tasks/webhooks/{url_path}) to the
    ingest handler as API Gateway would (its own function, no authorizer); everything else goes to
    the management API."""
    import anyio
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    from proactive.dev.local import LocalContext, http_api_event

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        prefix = next((p for p in _HOOK_PREFIXES if scope.get("path", "").startswith(p)), None)
        if scope["type"] != "http" or prefix is None:
            await app(scope, receive, send)
            return
        request = Request(scope, receive)
        url_path = scope["path"].removeprefix(prefix)
        if request.method != "POST" or not url_path or "/" in url_path:
            response: Response = JSONResponse(
                {
                    "error": "not_found",
                    "message": f"webhooks accept POST {prefix}{{url_path}}",
                    "field": None,
                },
                status_code=404,
            )
        else:
            event = http_api_event(
                "POST",
                scope["path"],
                dict(request.headers),
                await request.body(),
                path_parameters={"url_path": url_path},
            )
            result = await anyio.to_thread.run_sync(ingest.handler, event, LocalContext("IngestFunction"))
            response = Response(result["body"], status_code=result["statusCode"], headers=result["headers"])
        await response(scope, receive, send)

    return asgi


class _Loop(threading.Thread):
    def __init__(self, name: str, stop: threading.Event, body: Any) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_event = stop
        self._body = body

    def run(self) -> None:
        from proactive.observability import logger

        while not self._stop_event.is_set():
            try:
                self._body()
            except Exception:
                if self._stop_event.is_set():
                    return
                logger.exception(f"{self.name} iteration failed")
                self._stop_event.wait(1)


def _step(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _migrate_secrets(dynamodb: Any, now: datetime) -> None:
    """Secrets resources name, set as PROACTIVE_SECRET_<NAME> when every workspace read them from
    there, copied to each naming workspace that lacks them (names only are printed)."""
    from proactive.dev.migrate_secrets import from_environment
    from proactive.store.table import Table

    for outcome in from_environment(Table(TABLE_NAME, dynamodb), now):
        if outcome.status in ("copied", "platform secret"):
            _step(f"secrets: {outcome.line()}")


def main(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers_at_once: int = 32,
    data_dir: Path | None = DEFAULT_DATA_DIR,
    reset: bool = False,
) -> int:
    # Under `make`, or any other parent, the stack stops (in order) when that parent goes.
    _die_with_parent()
    from proactive.dev.state_machine import BridgeServer

    moto_port = free_port()
    # The goal loop's function, as moto's executions invoke it: answered here, once loaded.
    goal_loop: dict[str, Any] = {}
    bridge = BridgeServer(lambda event: goal_loop["invoke"](event)).start()
    moto = start_moto(moto_port, bridge.url)
    try:
        return _run(moto_port, host, port, workers_at_once, data_dir, reset, goal_loop)
    finally:
        bridge.stop()
        moto.terminate()
        try:
            moto.wait(10)
        except subprocess.TimeoutExpired:
            moto.kill()
        _step("moto stopped")
        print("Proactive local stack stopped.", file=sys.stderr, flush=True)


def _run(
    moto_port: int,
    host: str,
    port: int,
    workers_at_once: int,
    data_dir: Path | None,
    reset: bool,
    goal_loop: dict[str, Any],
) -> int:
    _environment(moto_port)
    # Secrets in the table are sealed with a key kept beside the data (made on first use): the two
    # go together, as the data's secrets cannot be read without it.
    os.environ.setdefault("TABLE_KEY_BACKEND", "local")
    os.environ.setdefault("TABLE_KEY_FILE", str((data_dir or DEFAULT_DATA_DIR) / "table.key"))

    import boto3
    import uvicorn

    from proactive.clock import utcnow
    from proactive.dev import persistence
    from proactive.dev.local import (
        EventSourceMapping,
        LocalContext,
        create_resources,
        load_handler,
        scheduled_event,
    )
    from proactive.dev.queue_activity import QueueActivity
    from proactive.queue import RunQueue
    from proactive.settings import get_settings

    # Every client is made from the default session, after it is watched: the queue pollers look
    # when this process has sent a message, not every few milliseconds.
    boto3.setup_default_session()
    activity = QueueActivity()
    activity.watch(boto3.DEFAULT_SESSION)
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    resources = create_resources(dynamodb, sqs, table_name=TABLE_NAME, queue_name=QUEUE_NAME)
    os.environ["RUN_QUEUE_URL"] = resources["queue_url"]
    # Notifications link to runs in this API, and email goes to moto's SES from a verified sender.
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    email_from = os.environ.setdefault("EMAIL_FROM", "notifications@proactive.local")
    boto3.client("ses").verify_email_identity(EmailAddress=email_from)
    # Workspaces' secrets are kept beside the table (RESET=1 forgets both); with no data folder,
    # for this run only.
    secrets_file = (data_dir or Path(tempfile.mkdtemp(prefix="proactive-"))) / "secrets.json"
    if reset:
        secrets_file.unlink(missing_ok=True)
    os.environ.setdefault("SECRETS_FILE", str(secrets_file))
    get_settings.cache_clear()
    settings = get_settings()
    restored = requeued = 0
    if data_dir is not None:
        if reset and (data_dir / persistence.DATA_FILE).exists():
            (data_dir / persistence.DATA_FILE).unlink()
        restored = persistence.load(dynamodb, TABLE_NAME, data_dir)
        requeued = persistence.requeue_unfinished(dynamodb, TABLE_NAME, RunQueue(), utcnow())
        _migrate_secrets(dynamodb, utcnow())

    from proactive.dev import state_machine
    from proactive.loop import machine

    os.environ[machine.ARN_VARIABLE] = state_machine.create(boto3.client("stepfunctions"))
    if data_dir is not None:
        # Executions live in moto's memory: those under way when the stack stopped are gone.
        persistence.settle_goal_actions(dynamodb, TABLE_NAME, utcnow())
        persistence.settle_analyses(dynamodb, TABLE_NAME, utcnow())

    _readable_logs()
    handler = load_handler("goalloop")
    goal_loop["invoke"] = lambda event: handler.handler(event, LocalContext(state_machine.FUNCTION_NAME, 900))
    api = load_handler("api")
    ingest = load_handler("ingest")
    dispatcher = load_handler("dispatcher")
    stop = threading.Event()

    def dispatch_on_ticks() -> None:
        # Ticks fall half-way between minutes: cron fires on the minute, so a tick then would
        # compete with the very runs it handed over a minute earlier (as a rate(1 minute) schedule
        # in AWS ticks at whatever second it was created).
        now = datetime.now(UTC)
        period = settings.tick_seconds
        offset = period / 2
        tick = datetime.fromtimestamp(((now.timestamp() - offset) // period + 1) * period + offset, UTC)
        if stop.wait(max(0.0, (tick - now).total_seconds())):
            return
        dispatcher.handler(scheduled_event(tick), LocalContext("DispatcherFunction"))

    def save_every_minute(folder: Path) -> None:
        if not stop.wait(60):
            persistence.save(dynamodb, TABLE_NAME, folder)

    # One tick at start-up catches up on anything due, as the first EventBridge tick would.
    dispatcher.handler(
        scheduled_event(datetime.now(UTC) - timedelta(microseconds=1)), LocalContext("DispatcherFunction")
    )
    workers = EventSourceMapping(
        boto3.client("sqs"),
        resources["queue_url"],
        resources["queue_arn"],
        lambda n: load_handler("worker", instance=f"_{n}"),
        concurrency=workers_at_once,
        idle_seconds=1.0,
        activity=activity,
    )
    dead_letters = EventSourceMapping(
        boto3.client("sqs"),
        resources["dlq_url"],
        resources["dlq_arn"],
        lambda n: load_handler("deadletters", instance=f"_{n}"),
        concurrency=1,
        function_name="DeadLetterFunction",
        idle_seconds=1.0,
    )
    threads = [
        _Loop("dispatcher", stop, dispatch_on_ticks),
        _Loop("workers", stop, lambda: workers.poll(stop)),
        _Loop("dead letters", stop, lambda: dead_letters.poll(stop)),
    ]
    if data_dir is not None:
        threads.append(_Loop("saver", stop, lambda: save_every_minute(data_dir)))
    for thread in threads:
        thread.start()

    base = f"http://{host}:{port}"
    data = (
        f"{data_dir}  ({restored} items restored, {requeued} waiting items queued again; "
        "RESET=1 starts empty)"
        if data_dir is not None
        else "not kept (--no-data)"
    )
    email = (
        f"SMTP {os.environ['SMTP_HOST']}:{os.environ.get('SMTP_PORT') or 587}"
        if os.environ.get("SMTP_HOST")
        else f"moto SES from {email_from}; what was sent: "
        f"http://127.0.0.1:{moto_port}/moto-api/data.json (ses.Message)"
    )
    print(
        "\nProactive local stack is running\n"
        f"  Console:    {base}/   sign in: {_sign_in_link(base)}\n"
        "              (once, within 12 hours; another: .venv/bin/proactive login-link --for ws-456,\n"
        "              or paste a token at /console/login)\n"
        f"  API:        {base}   (OpenAPI docs: {base}/docs, health: {base}/health)\n"
        f"  Webhooks:   {base}/api/hooks/<url_path>, {base}/tasks/webhooks/<task id>   (signed; no token)\n"
        f"  Talk:       {base}/conversations, {base}/tasks   (streamed answers too)\n"
        f"  Moto:       http://127.0.0.1:{moto_port}   "
        f"(DynamoDB table {TABLE_NAME}, SQS queue {QUEUE_NAME})\n"
        f"  Data:       {data}\n"
        f"  Email:      {email}\n"
        f"  Dispatcher: every {settings.tick_seconds} s;  worker: up to {workers_at_once} at once\n"
        "  Token:      .venv/bin/proactive token --workspace ws-456\n"
        f'  Try:        curl -H "Authorization: Bearer $(.venv/bin/proactive token --workspace ws-456)" '
        f"{base}/api/agents\n"
        "  Stop:       Ctrl-C\n",
        flush=True,
    )

    def stopping() -> None:
        # The dispatcher and the workers take no more work; a waiting poller looks now, and ends.
        stop.set()
        activity.wake()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # Ctrl-C or SIGTERM: the dispatcher and the workers stop taking work first.
            stopping()
            super().handle_exit(sig, frame)

    server = Server(uvicorn.Config(_with_ingest(api.app, ingest), host=host, port=port, log_level="warning"))

    def on_signal(sig: int, frame: Any) -> None:
        # uvicorn handles SIGINT and SIGTERM while it serves, then hands the signal back here:
        # by then the stack is already stopping, so it is not a reason to die on the spot.
        stopping()
        if not server.should_exit:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.run()
    finally:
        print("\nStopping the local stack:", file=sys.stderr, flush=True)
        stopping()
        for thread in threads:
            thread.join(timeout=30)
        _step("dispatcher and workers stopped")
        _step("API stopped")
        if data_dir is not None:
            count = persistence.save(dynamodb, TABLE_NAME, data_dir)
            _step(f"data saved: {count} items in {data_dir}")
    return 0
