"""The goal loop's state machine on moto: the ASL from `infra/`, executed by moto's interpreter,
with its Lambda invokes bridged to the goal loop's handler (`functions/goalloop/handler.py`).

moto runs the ASL for real (Choice, Map, Parallel, Wait, Retry, Catch, task tokens), but it
cannot run a Lambda function without Docker. The bridge answers its invokes of the goal loop
function by calling the same handler AWS calls, with the same event, and turns an exception
into a function error (`errorType` the exception's class) as Lambda does, so Retry and Catch see
what they would see in AWS.

- In-process (tests): `install(invoke)` with a callable; the execution's thread calls it.
- Server mode (`make dev`): moto runs in its own process, started through `serve()` below with
  `PROACTIVE_LAMBDA_BRIDGE` naming a loopback URL; the stack answers there (`BridgeServer`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from proactive.dev.local import ACCOUNT, REGION, REPO_ROOT

FUNCTION_NAME = "proactive-goal-loop"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"
STATE_MACHINE_NAME = "proactive-goal-loop"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/proactive-goal-loop"
ASL = REPO_ROOT / "infra" / "goal_loop.asl.json"
BRIDGE_VARIABLE = "PROACTIVE_LAMBDA_BRIDGE"
# moto's own setting: what it runs the ASL with.
CONFIG = {"stepfunctions": {"execute_state_machine": True}}

Invoke = Callable[[dict[str, Any]], Any]
_targets: dict[str, Invoke] = {}
_installed = threading.Lock()
_busy = threading.Condition()
_in_flight = 0


def definition() -> str:
    """The ASL with the function's ARN where the template substitutes it."""
    return ASL.read_text().replace("${GoalLoopFunctionArn}", FUNCTION_ARN)


def create(sfn_client: Any) -> str:
    """Create the state machine (once per emulator); its ARN."""
    for machine in sfn_client.list_state_machines()["stateMachines"]:
        if machine["name"] == STATE_MACHINE_NAME:
            return str(machine["stateMachineArn"])
    made = sfn_client.create_state_machine(name=STATE_MACHINE_NAME, definition=definition(), roleArn=ROLE_ARN)
    return str(made["stateMachineArn"])


def answer(invoke: Invoke, body: Any) -> tuple[bytes, bool]:
    """Run `invoke` on an invocation's body as Lambda would: (payload, whether it is an error)."""
    global _in_flight
    event = json.loads(body) if isinstance(body, (str, bytes)) and body else body
    with _busy:
        _in_flight += 1
    try:
        result = invoke(event if isinstance(event, dict) else {})
    except Exception as exc:  # a function error, as Lambda reports it
        error = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-3:],
        }
        return json.dumps(error).encode(), True
    finally:
        with _busy:
            _in_flight -= 1
            _busy.notify_all()
    return json.dumps(result, default=str).encode(), False


def stop_all(sfn_client: Any, *, timeout: float = 10.0) -> int:
    """Stop every running execution and wait for the invokes under way to end (so nothing runs
    on once the emulator is gone); how many were stopped."""
    stopped = 0
    for machine in sfn_client.list_state_machines()["stateMachines"]:
        running = sfn_client.list_executions(
            stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
        )
        for execution in running["executions"]:
            sfn_client.stop_execution(
                executionArn=execution["executionArn"], cause="the emulator is stopping"
            )
            stopped += 1
    with _busy:
        _busy.wait_for(lambda: _in_flight == 0, timeout)
    return stopped


def install(invoke: Invoke | None = None, *, name: str = FUNCTION_NAME) -> None:
    """Answer moto's invokes of function `name` with `invoke` (in this process), or, with none,
    by POSTing them to the bridge URL in `PROACTIVE_LAMBDA_BRIDGE`."""
    from moto.awslambda.models import LambdaBackend

    if invoke is not None:
        _targets[name] = invoke
    with _installed:
        if getattr(LambdaBackend.invoke, "_bridged", False):
            return
        original = LambdaBackend.invoke

        def bridged(
            self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> Any:
            short = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
            target = _targets.get(short)
            if target is None and os.environ.get(BRIDGE_VARIABLE) and short == FUNCTION_NAME:
                target = _remote
            if target is None:
                return original(self, function_name, qualifier, body, headers, response_headers)
            payload, failed = answer(target, body)
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            response_headers["Content-Length"] = str(len(payload))
            return payload

        bridged._bridged = True  # type: ignore[attr-defined]
        LambdaBackend.invoke = bridged  # type: ignore[method-assign]


class RemoteFunctionError(Exception):
    """The bridged function failed; its type and message are those the handler raised."""


def _remote(event: dict[str, Any]) -> Any:
    import httpx

    response = httpx.post(os.environ[BRIDGE_VARIABLE], json=event, timeout=900)
    data = response.json()
    if response.headers.get("x-amz-function-error"):
        error = type(str(data.get("errorType") or "Error"), (RemoteFunctionError,), {})
        raise error(data.get("errorMessage", ""))
    return data


class BridgeServer:
    """A loopback HTTP server that answers the moto process's invokes with `invoke`."""

    def __init__(self, invoke: Invoke) -> None:
        target = invoke

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload, failed = answer(target, self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if failed:
                    self.send_header("x-amz-function-error", "Unhandled")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/invoke"
        self.thread = threading.Thread(target=self.server.serve_forever, name="lambda-bridge", daemon=True)

    def start(self) -> BridgeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def batch_on_first_use() -> None:
    """moto's Step Functions imports its Batch integration, whose package imports all of moto's
    EC2 (a second and a half of CPU, in every moto server and test process that runs the goal
    loop). The goal loop runs no Batch task: the package is registered without running its
    `__init__`, which runs on the first look-up of a name it defines. Once per process."""
    import importlib.util

    name = "moto.batch"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def first_use(attribute: str) -> Any:
        del package.__getattr__
        loader.exec_module(package)
        return getattr(package, attribute)

    package.__getattr__ = first_use  # type: ignore[method-assign]
    sys.modules[name] = package
    import moto

    moto.batch = package


def serve(argv: list[str]) -> None:
    """moto's server, executing state machines, with the goal loop function bridged."""
    from moto.core.config import default_user_config
    from moto.server import main

    from proactive.dev import moto_dynamodb, serial

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    serial.in_server()
    moto_dynamodb.install()
    batch_on_first_use()
    install()
    main(argv)


if __name__ == "__main__":
    serve(sys.argv[1:])
