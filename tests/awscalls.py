"""Which AWS API calls each Lambda function's code makes, and the IAM requests they amount to.

`Recorder` sees every call any botocore client makes (whichever session made the client, and
however long ago) and attributes it to the function whose code made it:

- the innermost `functions/<name>/handler.py` frame on the calling thread's stack;
- else, inside a request to an app (through Mangum or a TestClient, whose sync routes run in
  anyio's threads), the function serving it: `api`, or the one named with `serve_as` (the stream
  function's app); the request's method and path are noted;
- else the function whose thread submitted the work to a thread pool (the dispatcher's and the
  worker's pools run code whose stack no longer shows the handler).

A call attributed to none of them was made by a test itself (a `tests/` frame on the stack: set
up, assertions) or by an emulator (moto's Step Functions interpreter invoking the goal loop).

`iam_requests` turns a call into the (action, resource ARN) pairs IAM authorizes it as: a
TransactWriteItems as each item's PutItem/UpdateItem/DeleteItem/ConditionCheckItem, a
SendMessageBatch as sqs:SendMessage, a Converse as bedrock:InvokeModel, a Query on an index
against the index's ARN, and so on.

Used by tests/infra/test_iam.py, and as a pytest plugin (`-p tests.awscalls`) that records a
whole session and writes the calls to the JSON file named by `AWSCALLS_REPORT`.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import os
import re
import sys
import threading
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HANDLER_FILE = re.compile(re.escape(os.path.join(REPO_ROOT, "functions")) + r"/([^/]+)/handler\.py$")
_TESTS_DIR = os.path.join(REPO_ROOT, "tests") + os.sep
_THIS_FILE = os.path.abspath(__file__)

# The request to an app being handled (the function serving it, method, path), and the function
# a thread pool's work was submitted by: both follow the work into the threads it runs in.
_REQUEST: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "_REQUEST", default=None
)
_SUBMITTER: contextvars.ContextVar[str | None] = contextvars.ContextVar("_SUBMITTER", default=None)
# Apps served by a function other than the API (weakly: an app gone is forgotten).
_SERVED_BY: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def serve_as(app: Any, function: str) -> None:
    """Attribute the calls made in `app`'s requests to `function` (the stream function's app)."""
    _SERVED_BY[app] = function


@dataclass(frozen=True)
class Call:
    """One AWS API call as the code made it."""

    function: str | None  # functions/<name>, or the function serving the request; None: none
    service: str  # botocore's service name: dynamodb, sqs, stepfunctions, bedrock-runtime...
    operation: str  # the API operation: Query, SendMessageBatch, Converse...
    params: dict[str, Any] = field(hash=False, compare=False)
    region: str = ""
    route: str | None = None  # "POST /conversations/{id}/messages" for calls made by the app
    by_test: bool = False  # unattributed, and a tests/ frame was on the stack (set up, checks)
    where: str = ""  # the innermost product frame, for explaining a call

    def requests(self) -> list[tuple[str, str]]:
        return iam_requests(self.service, self.operation, self.params, self.region)


def _owner() -> tuple[str | None, bool, str]:
    """The function the current code runs for, whether a test frame is on the stack, and the
    innermost frame outside botocore/boto3/this module (for reports)."""
    frame = sys._getframe(1)
    by_test = False
    where = ""
    found: str | None = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if (
            not where
            and filename != _THIS_FILE
            and "/botocore/" not in filename
            and "/boto3/" not in filename
        ):
            where = f"{os.path.relpath(filename, REPO_ROOT)}:{frame.f_lineno} {frame.f_code.co_name}"
        if found is None:
            match = _HANDLER_FILE.search(filename)
            if match:
                found = match.group(1)
        if filename.startswith(_TESTS_DIR) and filename != _THIS_FILE:
            by_test = True
        frame = frame.f_back
    request = _REQUEST.get()
    if found is None and request is not None:
        found = request[0]
    if found is None:
        found = _SUBMITTER.get()
    return found, by_test, where


# The recorders listening now; the patches below are in place while there is any.
_listeners: list[Recorder] = []
_patch_lock = threading.Lock()
_originals: dict[str, Any] = {}


def _route() -> str | None:
    request = _REQUEST.get()
    return f"{request[1]} {request[2]}" if request else None


def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    function, by_test, where = _owner()
    call = Call(
        function=function,
        service=self.meta.service_model.service_name,
        operation=operation_name,
        params=dict(api_params),
        region=self.meta.region_name or "",
        route=_route(),
        by_test=by_test and function is None,
        where=where,
    )
    for recorder in list(_listeners):
        recorder.add(call)
    return _originals["make_api_call"](self, operation_name, api_params)


async def _app_call(self: Any, scope: Any, receive: Any, send: Any) -> None:
    if scope.get("type") != "http":
        await _originals["app_call"](self, scope, receive, send)
        return
    served_by = _SERVED_BY.get(self, "api")
    token = _REQUEST.set((served_by, scope.get("method", ""), scope.get("path", "")))
    try:
        await _originals["app_call"](self, scope, receive, send)
    finally:
        _REQUEST.reset(token)


def _submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    submitter, _, _ = _owner()
    request = _REQUEST.get()

    def run(*a: Any, **k: Any) -> Any:
        tokens = (_SUBMITTER.set(submitter), _REQUEST.set(request))
        try:
            return fn(*a, **k)
        finally:
            _REQUEST.reset(tokens[1])
            _SUBMITTER.reset(tokens[0])

    return _originals["submit"](self, run, *args, **kwargs)


def _install() -> None:
    """Wrap botocore's one method every API call goes through (so clients made before recording
    began are seen too), the app's entry point and thread pools' submit."""
    import botocore.client
    from starlette.applications import Starlette

    _originals["make_api_call"] = botocore.client.BaseClient._make_api_call
    _originals["app_call"] = Starlette.__call__
    _originals["submit"] = concurrent.futures.ThreadPoolExecutor.submit
    botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    Starlette.__call__ = _app_call  # type: ignore[method-assign]
    concurrent.futures.ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign]


def _uninstall() -> None:
    import botocore.client
    from starlette.applications import Starlette

    botocore.client.BaseClient._make_api_call = _originals.pop("make_api_call")  # type: ignore[method-assign]
    Starlette.__call__ = _originals.pop("app_call")  # type: ignore[method-assign]
    concurrent.futures.ThreadPoolExecutor.submit = _originals.pop("submit")  # type: ignore[method-assign]


class Recorder:
    """Records calls while entered (several may listen at once, e.g. a test under the plugin)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def __enter__(self) -> Recorder:
        with _patch_lock:
            if not _listeners:
                _install()
            _listeners.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _patch_lock:
            _listeners.remove(self)
            if not _listeners:
                _uninstall()

    def by_function(self) -> dict[str, set[tuple[str, str]]]:
        """Each function's IAM requests (action, resource ARN)."""
        out: dict[str, set[tuple[str, str]]] = {}
        for call in self.calls:
            if call.function is not None:
                out.setdefault(call.function, set()).update(call.requests())
        return out


# IAM requests of API calls ---------------------------------------------------------------------

ACCOUNT = "123456789012"  # moto's, and the account ARNs here are built with when none is known

# API operations whose IAM action has another name.
_ACTION_NAMES = {
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("lambda", "InvokeAsync"): "lambda:InvokeFunction",
    ("bedrock-runtime", "Converse"): "bedrock:InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
    ("bedrock-runtime", "InvokeModel"): "bedrock:InvokeModel",
    ("bedrock-runtime", "InvokeModelWithResponseStream"): "bedrock:InvokeModelWithResponseStream",
}
_PREFIXES = {"stepfunctions": "states", "bedrock-runtime": "bedrock", "sesv2": "ses"}
# A transaction's items are authorized as the single-item operations they are.
_TRANSACT_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
# Inference profile ids start with their geography (us.anthropic..., eu..., global...).
_PROFILE = re.compile(r"^(us|us-gov|eu|apac|ca|jp|au|global)\.")


def _table(region: str, name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _queue(url: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name> (moto's form too)
    parts = url.rstrip("/").split("/")
    host = parts[2].split(".")
    region = host[1] if len(host) > 2 and host[0] == "sqs" else "us-east-1"
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


def _address(source: str) -> str:
    match = re.search(r"<([^>]+)>", source)
    return match.group(1) if match else source.strip()


def iam_requests(service: str, operation: str, params: dict[str, Any], region: str) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs IAM authorizes the call as."""
    prefix = _PREFIXES.get(service, service)
    action = _ACTION_NAMES.get((service, operation), f"{prefix}:{operation}")
    if service == "dynamodb":
        if operation == "TransactWriteItems" or operation == "TransactGetItems":
            out = []
            for item in params.get("TransactItems", []):
                ((kind, request),) = item.items()
                out.append((_TRANSACT_ITEMS[kind], _table(region, request["TableName"])))
            return out
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(action, _table(region, name)) for name in params.get("RequestItems", {})]
        if "TableName" not in params:
            return [(action, "*")]
        return [(action, _table(region, params["TableName"], params.get("IndexName")))]
    if service == "sqs":
        return [(action, _queue(params["QueueUrl"]) if "QueueUrl" in params else "*")]
    if service == "stepfunctions":
        if operation == "StartExecution":
            return [(action, params["stateMachineArn"])]
        if "executionArn" in params:
            return [(action, params["executionArn"])]
        # SendTaskSuccess/Failure/Heartbeat name a task token, not a resource.
        return [(action, "*")]
    if service == "lambda":
        name = params["FunctionName"]
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
        return [(action, arn)]
    if service == "ssm":
        names = params.get("Names") or [params["Name"]]
        return [(action, f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{n.lstrip('/')}") for n in names]
    if service in ("ses", "sesv2"):
        source = params.get("Source") or params.get("FromEmailAddress") or ""
        return [(action, f"arn:aws:ses:{region}:{ACCOUNT}:identity/{_address(source)}")]
    if service == "bedrock-runtime":
        model = params["modelId"]
        if model.startswith("arn:"):
            return [(action, model)]
        if _PROFILE.match(model):
            return [(action, f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{model}")]
        return [(action, f"arn:aws:bedrock:{region}::foundation-model/{model}")]
    return [(action, "*")]


# The pytest plugin ----------------------------------------------------------------------------

_session: Recorder | None = None
_tests: dict[int, str] = {}


def pytest_configure(config: Any) -> None:
    """Record from the start of the session."""
    global _session
    _session = Recorder().__enter__()


def pytest_runtest_setup(item: Any) -> None:
    """Note where each test's calls begin, to name the test in the report."""
    _tests[len(_session.calls) if _session else 0] = item.nodeid


def _summary(calls: list[Call]) -> Iterator[dict[str, Any]]:
    """Each call as a JSON record: who made it, in which test, the names it used, its IAM requests."""
    marks = sorted(_tests.items())
    for i, call in enumerate(calls):
        test = None
        for start, nodeid in marks:
            if start > i:
                break
            test = nodeid
        record = asdict(call)
        record["params"] = {
            k: v
            for k, v in call.params.items()
            if k
            in ("TableName", "IndexName", "QueueUrl", "FunctionName", "stateMachineArn", "modelId", "Name")
        }
        try:
            record["requests"] = sorted(call.requests())
        except (KeyError, ValueError):
            record["requests"] = []
        record["test"] = test
        yield record


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Stop recording; write the calls to AWSCALLS_REPORT if it names a file."""
    if _session is None:
        return
    _session.__exit__(None, None, None)
    path = os.environ.get("AWSCALLS_REPORT")
    if path:
        with open(path, "w") as out:
            json.dump(list(_summary(_session.calls)), out, indent=1, default=str)
