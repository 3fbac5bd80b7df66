"""Every error leaves the API as JSON: {"error": code, "message": text, "field": name|null}, the
body `proactive.errors.error_body` builds (webhook ingest answers with the same)."""

from __future__ import annotations

import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from proactive.errors import DomainError, error_body
from proactive.models.common import ErrorBody
from proactive.observability import logger

__all__ = ["RESPONSES", "error_body", "install_error_handlers"]

# The errors any authenticated route may answer, each with the one error body.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "The body cannot be read as JSON (malformed, not UTF-8, a number too long, nested "
        "too deeply); `field` is `body`.",
    },
    401: {"model": ErrorBody, "description": "No token, or one that is expired or not valid."},
    403: {"model": ErrorBody, "description": "The token does not grant the workspace."},
    404: {"model": ErrorBody, "description": "No such item in the token's workspaces."},
    409: {"model": ErrorBody, "description": "The item is in use, or is being changed by another request."},
    422: {"model": ErrorBody, "description": "The input cannot be used; `field` names what is wrong."},
    503: {"model": ErrorBody, "description": "A service the request needs did not answer; try again."},
}


# The code of each status the framework itself may answer (a route's errors are DomainErrors),
# as the same status has from a route.
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def _unreadable_body(cause: BaseException | None) -> tuple[str, str] | None:
    """Why a request body could not be read as JSON, from what reading it raised (bytes that are
    not UTF-8, a number too long to convert, nesting too deep), and the field it concerns; None
    when nothing was raised (the 400 is not about the body)."""
    if cause is None:
        return None
    why = f"it could not be read ({type(cause).__name__})"
    if isinstance(cause, UnicodeDecodeError):
        bad = cause.object[cause.start : cause.start + 1].hex()
        why = f"it is not UTF-8 text (byte 0x{bad} at position {cause.start + 1})"
    elif isinstance(cause, RecursionError):
        why = "it nests too deeply to be read"
    elif isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        why = f"it holds a number of more than {sys.get_int_max_str_digits()} digits"
    return f"request body is not valid JSON: {why}", "body"


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        extra = {"details": exc.details} if exc.details else {}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field, **extra),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                detail = (err.get("ctx") or {}).get("error", "")
                message = f"request body is not valid JSON{f' ({detail})' if detail else ''}"
                return JSONResponse(error_body("bad_request", message, "body"), status_code=400)
            name = _field(tuple(err.get("loc", ())))
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append({"field": name, "message": msg})
        first = problems[0] if problems else {"field": "body", "message": "invalid request"}
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(
            error_body("validation_error", message, first["field"], details=problems), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "http_error")
        message, field = str(exc.detail), None
        if exc.status_code == 400:
            # The framework's own 400: a body it could not read, for the reason it kept.
            message, field = _unreadable_body(exc.__cause__) or (message, None)
        return JSONResponse(
            error_body(code, message, field), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(
            error_body("internal_error", "the server failed to handle this request"), status_code=500
        )
