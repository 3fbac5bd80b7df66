"""Every error leaves the API as JSON: {"error": code, "message": text, "field": name|null}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from proactive.errors import DomainError
from proactive.models.common import ErrorBody
from proactive.observability import logger

# The errors any authenticated route may answer, each with the one error body.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON."},
    401: {"model": ErrorBody, "description": "No token, or one that is expired or not valid."},
    403: {"model": ErrorBody, "description": "The token does not grant the workspace."},
    404: {"model": ErrorBody, "description": "No such item in the token's workspaces."},
    409: {"model": ErrorBody, "description": "The item is in use, or is being changed by another request."},
    422: {"model": ErrorBody, "description": "The input cannot be used; `field` names what is wrong."},
    503: {"model": ErrorBody, "description": "A service the request needs did not answer; try again."},
}


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    """The one error body: {"error": code, "message": text, "field": name|null} and any extra keys."""
    return {"error": code, "message": message, "field": field, **extra}


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
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(
            error_body("internal_error", "the server failed to handle this request"), status_code=500
        )
