"""Signing in and out of the console, its start page and its static files.

Sign in with a token (pasted: the console checks it as the API would) or with a one-time link
(`POST /api/workspace/login-links`, which the local stack prints at start and the CLI makes). Either
opens a session with the same subject and workspaces (`session`). The session cookie is HttpOnly and
SameSite=Lax, and Secure unless the console is served on loopback, where browsers send no cookie
marked Secure over plain http.
"""

from __future__ import annotations

import gzip
import secrets
from functools import cache
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from proactive.api.deps import get_store, token_principal
from proactive.auth import Principal
from proactive.clock import utcnow
from proactive.console import cognito
from proactive.console import session as sessions
from proactive.console.web import (
    PREFIX,
    Looking,
    console_router,
    current_session,
    form_fields,
    redirect,
    render,
    signing_key,
    static_file,
)
from proactive.errors import DomainError, NotFound, Unauthorized
from proactive.settings import get_settings

router = console_router()
# The API's root is the console's start page.
root = console_router()
root.prefix = ""
# Matched after every page: an address the console does not have.
unknown = console_router()

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".txt": "text/plain"}


@root.get("/")
async def start(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=303)


@router.get("/")
async def home(request: Request) -> Response:
    """The overview of the session's first workspace, or the sign-in page."""
    session = current_session(request)
    if session is None:
        return redirect(request, f"{PREFIX}/login")
    return redirect(request, f"{PREFIX}/{quote(sorted(session.workspaces)[0], safe='')}/")


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a page of the console, never another site."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{PREFIX}/"


def _login_page(request: Request, *, status: int = 200, error: str | None = None, code: str = "") -> Response:
    nonce = secrets.token_urlsafe(16)
    values = dict(request.query_params)
    response = render(
        request,
        "login.html",
        status_code=status,
        csrf=sessions.proof(signing_key(), nonce),
        next=_safe_next(values.get("next")),
        code=code or values.get("code", ""),
        error=error,
        cognito=_cognito() is not None,
    )
    response.set_cookie(
        sessions.LOGIN_COOKIE,
        nonce,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=f"{PREFIX}/login",
    )
    return response


def _secure(request: Request) -> bool:
    return (request.url.hostname or "") not in _LOOPBACK


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Open a session from a pasted token or a one-time link's code."""
    fields = {name: values[0] for name, values in (await form_fields(request)).items() if values}
    nonce = request.cookies.get(sessions.LOGIN_COOKIE, "")
    if not nonce or not sessions.proves(signing_key(), nonce, fields.get("csrf")):
        return _login_page(request, status=403, error="The sign-in form expired. Try again.")
    try:
        principal = _signed_in(request, fields)
    except DomainError as exc:
        return _login_page(request, status=exc.status_code, error=exc.message, code=fields.get("code", ""))
    response = _opened(request, principal, _safe_next(fields.get("next")))
    response.delete_cookie(sessions.LOGIN_COOKIE, path=f"{PREFIX}/login")
    return response


def _opened(request: Request, principal: Principal, next_path: str) -> Response:
    """Go to `next_path` with a new session for `principal`."""
    cookie, _ = sessions.open_session(principal, signing_key(), utcnow())
    response = redirect(request, next_path)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        max_age=int(sessions.TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    return response


def _cognito() -> tuple[str, str] | None:
    """The hosted UI's domain and app client, when the console is set up to use it."""
    settings = get_settings()
    if settings.console_cognito_domain and settings.console_cognito_client_id:
        return settings.console_cognito_domain, settings.console_cognito_client_id
    return None


def _callback_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}/login/callback"


@router.get("/login/cognito")
async def cognito_start(request: Request) -> Response:
    """Send the browser to the hosted UI, with a PKCE challenge and a state kept in a cookie."""
    configured = _cognito()
    if configured is None:
        raise NotFound("signing in through Cognito is not set up for this console")
    domain, client_id = configured
    flow = cognito.start(_safe_next(request.query_params.get("next")))
    response = RedirectResponse(
        cognito.authorize_url(domain, client_id, _callback_url(request), flow), status_code=303
    )
    response.set_cookie(
        cognito.FLOW_COOKIE,
        cognito.seal(flow, signing_key(), utcnow()),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=f"{PREFIX}/login",
    )
    return response


@router.get("/login/callback")
async def cognito_callback(request: Request) -> Response:
    """Back from the hosted UI: check the state, trade the code for the ID token, sign in."""
    configured = _cognito()
    if configured is None:
        raise NotFound("signing in through Cognito is not set up for this console")
    domain, client_id = configured
    flow = cognito.unseal(request.cookies.get(cognito.FLOW_COOKIE), signing_key())
    query = request.query_params
    if query.get("error"):
        return _login_page(request, status=401, error=f"Sign-in was not completed: {query['error']}.")
    if flow is None or not query.get("state") or query["state"] != flow.state or not query.get("code"):
        return _login_page(
            request, status=401, error="That sign-in expired or did not start here. Try again."
        )
    try:
        id_token = await run_in_threadpool(
            cognito.exchange, domain, client_id, _callback_url(request), query["code"], flow
        )
        principal = cognito.principal_of(id_token)
    except DomainError as exc:
        return _login_page(request, status=exc.status_code, error=exc.message)
    response = _opened(request, principal, flow.next_path)
    response.delete_cookie(cognito.FLOW_COOKIE, path=f"{PREFIX}/login")
    return response


def _signed_in(request: Request, fields: dict[str, str]) -> Principal:
    """Who the form signs in: the link's person, or the token's, checked as the API checks it."""
    if fields.get("code"):
        found = get_store().login_links.use(fields["code"].strip(), utcnow())
        if found is None:
            raise Unauthorized("This sign-in link was already used or has expired. Ask for a new one.")
        return Principal(subject=found[0], workspaces=found[1])
    token = fields.get("token", "").strip()
    if not token:
        raise Unauthorized("Paste a token, or open a sign-in link.")
    return token_principal(token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Close the session. Sent from the console's own pages only (CSRF), like every change."""
    session = current_session(request)
    sent = (await form_fields(request)).get("csrf", [None])[0] or request.headers.get("x-csrf-token")
    if session is not None and not sessions.proves(signing_key(), session.sid, sent):
        return render(
            request, "error.html", status_code=403, status=403, message="Reload the page to sign out."
        )
    response = redirect(request, f"{PREFIX}/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@cache
def _compressed(name: str) -> bytes:
    return gzip.compress(static_file(name)[0], compresslevel=9, mtime=0)


@router.get("/static/{name}")
async def static(request: Request, name: str) -> Response:
    """A file of the console. Asked for by its versioned address, it is kept by the browser."""
    content, version = static_file(name)
    suffix = name[name.rfind(".") :] if "." in name else ""
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable"
        if request.query_params.get("v") == version
        else "no-cache",
        "ETag": f'"{version}"',
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == f'"{version}"':
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        content = _compressed(name)
        headers["Content-Encoding"] = "gzip"
    return Response(content, media_type=_TYPES.get(suffix, "application/octet-stream"), headers=headers)


@unknown.get("/{workspace}/{rest:path}")
async def not_a_page(viewer: Looking, rest: str) -> Response:
    raise NotFound(f"the console has no page {rest!r}")
