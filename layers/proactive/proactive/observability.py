"""Logger, Tracer and Metrics, and the one decorator every handler wears.

Powertools reads its service name, namespace and log level from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL). The tracer is
made on first use: creating it loads the X-Ray SDK, which the webhook ingest function (whose
cold start matters most, and whose calls Lambda's own trace segment already shows) does without.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()
# Stacks of several stages share an account's metrics: each figure names the stage it comes from
# (Powertools keeps default dimensions across flushes).
if stage := os.environ.get("STAGE"):
    metrics.set_default_dimensions(stage=stage)

Handler = TypeVar("Handler", bound=Callable[..., Any])


@cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer()


def instrumented(
    *, correlation_id_path: str | None = None, traced: bool = True
) -> Callable[[Handler], Handler]:
    """Structured logs with a correlation id, metrics flushed per invocation and, unless
    `traced` is False, X-Ray tracing of the handler and its AWS calls."""

    def wrap(handler: Handler) -> Handler:
        inner: Callable[..., Any] = tracer().capture_lambda_handler(handler) if traced else handler
        measured = metrics.log_metrics(inner)
        logged = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(
            measured
        )
        return cast(Handler, logged)

    return wrap
