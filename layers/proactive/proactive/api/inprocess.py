"""A request a route makes of the API itself, in-process, as its caller (with the caller's
credentials): accepting a suggestion makes the exact request the suggestion shows, so what is
created is checked, refused and answered as if the caller had sent it.

The API function's app hands every request the whole API under `ROOT_APP` (an app built for one
path prefix could not answer a request under another); the whole app answers for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

ROOT_APP = "proactive.root_app"
# Headers of the caller's request the in-process one carries: who it is, and its correlation id.
_FORWARDED = ("authorization", "cookie", "x-correlation-id")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    location: str | None


async def call(request: Request, method: str, path: str, body: Any) -> Answer:
    """Make `method path` with `body` (JSON) of the whole API, as the caller of `request`."""
    app = request.scope.get(ROOT_APP) or request.app
    headers = {name: value for name in _FORWARDED if (value := request.headers.get(name))}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.internal") as client:
        answer = await client.request(method, path, json=body, headers=headers)
    try:
        payload = answer.json()
    except ValueError:
        payload = None
    return Answer(answer.status_code, payload, answer.headers.get("location"))
