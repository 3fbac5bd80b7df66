"""Correlation ids: each request's id is in every log line it causes and in its answer's
`x-correlation-id` header: the caller's `x-correlation-id`, else API Gateway's request id, else a
new one."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from proactive.observability import logger


def add_correlation_ids(app: FastAPI) -> None:
    @app.middleware("http")
    async def correlation_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        event = request.scope.get("aws.event") or {}
        cid = request.headers.get("x-correlation-id") or (event.get("requestContext") or {}).get("requestId")
        cid = cid or str(uuid.uuid4())
        logger.set_correlation_id(cid)
        response = await call_next(request)
        response.headers["x-correlation-id"] = cid
        return response
