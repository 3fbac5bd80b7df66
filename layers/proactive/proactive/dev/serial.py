"""One request at a time through moto's backends, as each AWS service is to its callers.

moto's backends are not thread-safe: a DynamoDB query copies the items it found while another
thread's update changes one of them ("dictionary changed size during iteration"). The local
stack and the tests call moto from several threads at once (the API, the worker, a state
machine's execution), so every request is served under one lock.

Lambda invokes are the exception: moto answers them by running the goal loop's handler, which
calls DynamoDB in turn (from the same thread in-process, from another in server mode). Holding
the lock across an invoke would make those calls wait on themselves.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_patched = threading.Lock()


def _unlocked(service: str | None) -> bool:
    """Lambda's requests (moto names its backend `awslambda`; in-process, the host says `lambda`)."""
    return service in ("lambda", "awslambda")


def in_process() -> None:
    """Serialize moto's in-process requests (`mock_aws`); once per process."""
    from moto.core.botocore_stubber import BotocoreStubber

    with _patched:
        if getattr(BotocoreStubber.process_request, "_serial", False):
            return
        original = BotocoreStubber.process_request

        def process_request(self: Any, request: Any) -> Any:
            host = str(request.url).split("://", 1)[-1].split(".", 1)[0]
            if _unlocked(host):
                return original(self, request)
            with _lock:
                return original(self, request)

        process_request._serial = True  # type: ignore[attr-defined]
        BotocoreStubber.process_request = process_request  # type: ignore[method-assign]


def in_server() -> None:
    """Serialize the requests moto's server answers (`make dev`); once per process."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    with _patched:
        if getattr(DomainDispatcherApplication.__call__, "_serial", False):
            return

        def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
            app = self.get_application(environ)
            if _unlocked(getattr(app, "service", None)):
                return app(environ, start_response)
            with _lock:
                # The body is read inside the lock too: a streamed answer is built as it is read.
                return list(app(environ, start_response))

        call._serial = True  # type: ignore[attr-defined]
        DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]
