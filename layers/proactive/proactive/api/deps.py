"""Request-scoped dependencies: the caller, the store, the queue and the event bus."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from proactive.api import cursors
from proactive.api.inprocess import ACTING
from proactive.auth import (
    Principal,
    local_secret,
    principal_from_apigw_event,
    verify_issuer_token,
    verify_local_token,
)
from proactive.errors import Forbidden
from proactive.events import Bus
from proactive.queue import RunQueue
from proactive.settings import get_settings
from proactive.store import Store
from proactive.store.requests import IDEMPOTENCY_MAX_WAIT_SECONDS


@lru_cache(maxsize=1)
def get_store() -> Store:
    return Store()


@lru_cache(maxsize=1)
def get_queue() -> RunQueue:
    return RunQueue()


def get_bus() -> Bus:
    from proactive import wiring

    return wiring.bus()


@lru_cache(maxsize=1)
def _secret() -> str:
    return get_settings().local_jwt_secret or local_secret()


# Declares the bearer token in the OpenAPI document; the token itself is checked below.
_bearer = HTTPBearer(
    auto_error=False, bearerFormat="JWT", description="A JWT whose claim lists your workspaces."
)


def current_principal(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> Principal:
    acting = ACTING.get()
    if acting is not None:
        return acting
    settings = get_settings()
    if settings.auth_mode == "local":
        return verify_local_token(request.headers.get("authorization"), settings=settings, secret=_secret())
    if settings.auth_mode == "jwks":
        return verify_issuer_token(request.headers.get("authorization"), settings=settings)
    return principal_from_apigw_event(request.scope.get("aws.event"), settings)


def token_principal(token: str) -> Principal:
    """Who a token is for, checked here whatever stands in front of the app (the console's sign-in
    form has no authorizer before it): locally against the local secret, otherwise against the
    issuer's published keys, with the same issuer and audience as API Gateway's authorizer."""
    settings = get_settings()
    if settings.auth_mode == "local":
        return verify_local_token(f"Bearer {token}", settings=settings, secret=_secret())
    return verify_issuer_token(f"Bearer {token}", settings=settings)


def fingerprint(request: Request, body: BaseModel | None) -> str:
    """What an Idempotency-Key stands for: this route and this body."""
    content = body.model_dump_json() if body is not None else ""
    return hashlib.sha256(f"{request.method} {request.url.path}\n{content}".encode()).hexdigest()


def workspace_scope(
    principal: Annotated[Principal, Depends(current_principal)],
    workspace_id: Annotated[str | None, Query(description="Defaults to the token's only workspace.")] = None,
) -> str:
    """The workspace a list is for: the one asked for, or the token's only one."""
    if workspace_id is None:
        return principal.only_workspace()
    if workspace_id not in principal.workspaces:
        raise Forbidden(f"token does not grant access to workspace {workspace_id!r}", field="workspace_id")
    return workspace_id


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
WorkspaceScope = Annotated[str, Depends(workspace_scope)]
StoreDep = Annotated[Store, Depends(get_store)]
QueueDep = Annotated[RunQueue, Depends(get_queue)]
BusDep = Annotated[Bus, Depends(get_bus)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]


def _opened_cursor(
    cursor: Annotated[str | None, Query(description="`next_cursor` from the previous page.")] = None,
) -> str | None:
    return cursors.opened(cursor)


# The store's cursor inside the one the client sends back (clients only ever see sealed ones).
Cursor = Annotated[str | None, Depends(_opened_cursor)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Send the same key again within 24 hours to get the first call's run back "
        "instead of starting another (while the first call is still being handled: 409, or its "
        "answer with `Prefer: wait=<seconds>`).",
    ),
]


def prefer_wait(
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            max_length=255,
            description="`wait=<seconds>` (RFC 7240): with an Idempotency-Key whose first call is still "
            f"being handled, wait up to that long (at most {IDEMPOTENCY_MAX_WAIT_SECONDS} s) for its "
            "answer and answer it, instead of 409.",
        ),
    ] = None,
) -> float:
    """How long the caller asks to wait for the first call with its Idempotency-Key: `wait=N` in
    `Prefer`, bounded by `IDEMPOTENCY_MAX_WAIT_SECONDS`; 0 without one. A preference this API does
    not understand is ignored, as RFC 7240 asks."""
    for preference in (prefer or "").split(","):
        name, _, value = preference.partition("=")
        if name.strip().lower() == "wait" and value.strip().isdigit():
            return float(min(int(value.strip()), IDEMPOTENCY_MAX_WAIT_SECONDS))
    return 0.0


IdempotencyWait = Annotated[float, Depends(prefer_wait)]
Force = Annotated[bool, Query(description="Delete even while others use it, pausing each of them first.")]
