"""A request a route makes of the API itself, in-process, as its caller (with the caller's
credentials): accepting a suggestion makes the exact request the suggestion shows, so what is
created is checked, refused and answered as if the caller had sent it. The console asks the API
for what it shows, and makes what a page's form asks, the same way, as the person signed in
(`as_principal`): a session cookie is not a bearer token, so the principal is handed over in the
request's context, which only code of this process can set.

The API function's app hands every request the whole API under `ROOT_APP` (an app built for one
path prefix could not answer a request under another); the whole app answers for itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import Request

if TYPE_CHECKING:
    from proactive.auth import Principal

ROOT_APP = "proactive.root_app"
# Who an in-process request is made as, when the caller's request carries no token (the console's).
ACTING: ContextVar[Principal | None] = ContextVar("proactive.acting_principal", default=None)
# Headers of the caller's request the in-process one carries: who it is, and its correlation id.
_FORWARDED = ("authorization", "cookie", "x-correlation-id")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    location: str | None


async def call(
    request: Request,
    method: str,
    path: str,
    body: Any = None,
    *,
    params: Mapping[str, Any] | None = None,
    as_principal: Principal | None = None,
) -> Answer:
    """Make `method path` with `body` (JSON, when not None) of the whole API, as the caller of
    `request`, or as `as_principal` when given."""
    app = request.scope.get(ROOT_APP) or request.app
    headers = {name: value for name in _FORWARDED if (value := request.headers.get(name))}
    if as_principal is not None:
        headers.pop("authorization", None)
    transport = httpx.ASGITransport(app=app)
    query = {name: value for name, value in (params or {}).items() if value not in (None, "")}
    # Made while answering an in-process request (the console's), it is made as the same person.
    acting = ACTING.set(as_principal if as_principal is not None else ACTING.get())
    try:
        # At the caller's own address, so what the API derives from it (a webhook's URL) is theirs.
        origin = f"{request.url.scheme}://{request.url.netloc}"
        async with httpx.AsyncClient(transport=transport, base_url=origin) as client:
            answer = await client.request(
                method, path, json=body, params=query, headers=headers, timeout=None
            )
    finally:
        ACTING.reset(acting)
    try:
        payload = answer.json()
    except ValueError:
        payload = None
    return Answer(answer.status_code, payload, answer.headers.get("location"))
