"""The stream function's app: streamed conversation answers, and nothing else.

The stream function answers at a function URL with no API Gateway in front: no authorizer, no
throttling, no access logs. So its app serves one request, a conversation's message with
`stream: true` (`POST /conversations/{id}/messages`), verifying the bearer token itself as the
API does (`AUTH_MODE=jwks` there: the issuer's published keys). Everything else answers 404 with
the one error body, naming the API's address, which serves all of it behind the HTTP API: every
other path or method (`/health`, `/docs` and `/openapi.json` too, which it has none of), and a
message with `stream` false, which the API answers whole.

The app loads only what that request needs: no other route, no docs page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from proactive import __version__
from proactive.api.answers import take_turn
from proactive.api.bodies import readable_body
from proactive.api.correlation import add_correlation_ids
from proactive.api.deps import BusDep, CurrentPrincipal, QueueDep, StoreDep
from proactive.api.errors import error_body, install_error_handlers
from proactive.errors import NotFound
from proactive.models.conversations import MessageCreate
from proactive.settings import get_settings

SERVED = "this address serves only streamed answers: POST /conversations/{id}/messages with `stream: true`"

router = APIRouter()


def create_stream_app() -> FastAPI:
    """The app uvicorn runs in the stream function (functions/stream/run.sh). Invalid settings
    fail here, at start-up, as a handler module's import fails, never halfway through a request."""
    get_settings()
    app = FastAPI(
        title="Proactive streamed answers",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    add_correlation_ids(app)
    # A path it does not serve (404), or a method it does not serve there (405): either way the
    # request belongs at the API.
    app.add_exception_handler(404, _elsewhere)
    app.add_exception_handler(405, _elsewhere)
    app.include_router(router, dependencies=[Depends(readable_body)])
    return app


@router.post("/conversations/{conversation_id}/messages", response_model=None)
async def send_streamed(
    conversation_id: str,
    body: MessageCreate,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    bus: BusDep,
) -> Any:
    """The message's answer as Server-Sent Events (or 202 in a deep research conversation), as
    the API's `POST /conversations/{id}/messages` answers it with `stream: true`."""
    if not body.stream:
        raise NotFound(f"{SERVED}; send a message with `stream` false to {_api()}", field="stream")
    return await take_turn(
        store, queue, bus, conversation_id, principal.workspaces, body.message, stream=True
    )


async def _elsewhere(request: Request, _: Exception) -> JSONResponse:
    message = f"{request.method} {request.url.path} is not served here: {SERVED}; use {_api()}"
    return JSONResponse(error_body("not_found", message), status_code=404)


def _api() -> str:
    base = get_settings().public_base_url
    return f"the API at {base.rstrip('/')}" if base else "the API's address (the HTTP API)"
