"""Logger, Tracer and Metrics, and the one decorator every handler wears.

Powertools reads its service name, namespace and log level from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def instrumented(*, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Structured logs with a correlation id, X-Ray tracing and metrics flushed per invocation."""

    def wrap(handler: Handler) -> Handler:
        traced = tracer.capture_lambda_handler(handler)
        measured = metrics.log_metrics(traced)
        logged = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(
            measured
        )
        return cast(Handler, logged)

    return wrap
