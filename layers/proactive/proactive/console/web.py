"""What every console page is made with: who is looking, the API as they may use it, the templates.

A page module declares `router = console_router()` and its routes under `/console/{workspace}/…`
with `Looking` (the signed-in person and the workspace of the address; a workspace the session
does not hold answers 404, as the API does). It asks the API for what it shows with `api(...)`,
in-process and as that person, and answers `render(...)`. A route that changes something also
takes `Checked` (the CSRF token must come with the request, in the `X-CSRF-Token` header htmx
sends or in a form's `csrf` field).

An error a route raises (a `DomainError`, the API's own refusal included) is answered as a page
with its status and message, never as JSON; a request without a session is sent to sign in, and
comes back to the page it asked for afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from proactive.api.deps import get_store
from proactive.api.inprocess import call
from proactive.auth import Principal
from proactive.clock import utcnow
from proactive.console import session as sessions
from proactive.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from proactive.observability import logger

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"
# Scripts and styles of the console's own files only; no inline script, style or handler; data is
# fetched only from this origin; nothing may frame a page, and no address leaves as a referrer.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

# The parts of the console, in the order the navigation lists them: (path under the workspace, title).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("", "Overview"),
    ("runs", "Runs"),
    ("schedules", "Schedules"),
    ("webhooks", "Webhooks & triggers"),
    ("monitors", "Monitors"),
    ("notifications", "Notifications"),
    ("conversations", "Conversations"),
    ("loop", "Goal loop"),
    ("agents", "Agents"),
    ("suggestions", "Suggestions"),
)


class SignIn(Exception):
    """No session (or a lapsed one): the person is sent to sign in, then back to `next`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@cache
def _key_of(table_name: str) -> bytes:
    return get_store().platform_keys.get_or_create(sessions.KEY_NAME)


def signing_key() -> bytes:
    """The key sessions and CSRF tokens are signed with (made on first use, kept per process)."""
    return _key_of(get_store().table.name)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and at which of their workspaces."""

    session: sessions.Session
    workspace: str

    @property
    def csrf(self) -> str:
        return sessions.proof(signing_key(), self.session.sid)

    @property
    def workspaces(self) -> list[str]:
        return sorted(self.session.workspaces)

    def principal(self) -> Principal:
        """The person, holding only the workspace of the address: a page acts in that workspace
        alone, so an item of another workspace is not found there, as in the API."""
        return Principal(subject=self.session.subject, workspaces=frozenset({self.workspace}))

    def path(self, section: str = "") -> str:
        """The address of a part of the console in this workspace (`runs/run_1`)."""
        return f"{PREFIX}/{quote(self.workspace, safe='')}/{section}"


def current_session(request: Request) -> sessions.Session | None:
    return sessions.read_session(request.cookies.get(sessions.COOKIE), signing_key(), utcnow())


def looking(request: Request, workspace: str) -> Viewer:
    """The signed-in person and the workspace the address names (404 when not theirs)."""
    session = current_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignIn(target)
    if workspace not in session.workspaces:
        raise NotFound(f"workspace {workspace!r} not found")
    return Viewer(session, workspace)


Looking = Annotated[Viewer, Depends(looking)]


async def form_fields(request: Request) -> dict[str, list[str]]:
    """A form's fields (`application/x-www-form-urlencoded`, what the console's forms send)."""
    cached: dict[str, list[str]] | None = request.scope.get("proactive.form")
    if cached is None:
        body = (await request.body()).decode("utf-8", errors="replace")
        content_type = request.headers.get("content-type", "")
        cached = parse_qs(body, keep_blank_values=True) if "urlencoded" in content_type else {}
        request.scope["proactive.form"] = cached
    return cached


async def checked(request: Request, viewer: Looking) -> Viewer:
    """`viewer`, once the request proves it came from one of the console's pages (CSRF)."""
    sent = request.headers.get("x-csrf-token") or next(
        iter((await form_fields(request)).get("csrf", [])), None
    )
    if not sessions.proves(signing_key(), viewer.session.sid, sent):
        raise Refused("this form has expired or was not sent by the console; reload the page and try again")
    return viewer


Checked = Annotated[Viewer, Depends(checked)]


class Refused(DomainError):
    """A change refused because it did not come from one of the console's own pages."""

    status_code = 403
    code = "csrf_failed"


async def api(
    request: Request,
    viewer: Viewer,
    method: str,
    path: str,
    body: Any = None,
    *,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """The API's answer to `method path` made as the viewer, in the workspace of the address only;
    an error answer is raised as the same status and message (another workspace's item is the
    API's 404)."""
    query = {"workspace_id": viewer.workspace, **(params or {})}
    answer = await call(request, method, path, body, params=query, as_principal=viewer.principal())
    if answer.status >= 400:
        error = answer.body if isinstance(answer.body, dict) else {}
        raise _answered(answer.status, str(error.get("message") or "the request was refused"), error)
    return answer.body


_REFUSALS: dict[int, type[DomainError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
}


def _answered(status: int, message: str, error: Mapping[str, Any]) -> DomainError:
    """The API's error answer as the error it stands for (its field and per-field details kept)."""
    exc = _REFUSALS.get(status, DomainError)(message, field=error.get("field"), details=error.get("details"))
    exc.status_code = status
    return exc


def refusals(
    exc: DomainError, known: tuple[str, ...] | None = None, elsewhere: str = "form"
) -> dict[str, str]:
    """An API refusal as the messages a form shows beside each field (`details`, else `field`);
    several about one field are joined, and one about no field (or one not in `known`) is under
    `elsewhere`."""
    found: dict[str, str] = {}
    for detail in exc.details or [{"field": exc.field or "", "message": exc.message}]:
        field = str(detail.get("field") or "")
        if not field or (known is not None and field not in known):
            field = elsewhere
        message = str(detail.get("message") or exc.message)
        found[field] = f"{found[field]}; {message}" if field in found else message
    return found


def static_url(name: str) -> str:
    """A static file's address, which changes when the file does (so browsers may keep it)."""
    return f"{PREFIX}/static/{name}?v={static_file(name)[1]}"


@cache
def static_file(name: str) -> tuple[bytes, str]:
    """A static file's content and version (a hash of it); 404 for any other name."""
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file():
        raise NotFound(f"no static file {name!r}")
    content = path.read_bytes()
    return content, hashlib.sha256(content).hexdigest()[:12]


def _local_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value or "")


def _duration(seconds: Any) -> str:
    """`1.25` -> "1.25 s", `95` -> "1 min 35 s", `None` -> "—"."""
    if seconds is None or seconds == "":
        return "—"
    value = float(seconds)
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.2f} s"
    minutes, rest = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _usd(value: Any) -> str:
    """A cost in US dollars, to the cent, or to four places under a cent ("< $0.0001" below)."""
    if value is None or value == "":
        return "—"
    amount = float(value)
    if 0 < abs(amount) < 0.0001:
        return "< $0.0001"
    return f"${amount:,.4f}" if 0 < abs(amount) < 0.01 else f"${amount:,.2f}"


def _number(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{float(value):,.2f}"


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@cache
def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("proactive.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package and never change while it runs: no file is looked
        # at again once its template is compiled.
        auto_reload=False,
    )
    environment.globals.update(static=static_url, sections=SECTIONS)
    environment.filters.update(
        instant=_local_time, pretty_json=_pretty_json, duration=_duration, usd=_usd, number=_number
    )
    # The small pieces (`_ui.html`) are there in every template and every fragment of one, which
    # runs without the template's own imports.
    environment.globals["ui"] = environment.get_template("_ui.html").module
    return environment


def render(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """`template` rendered for `viewer`, with the console's security headers. An htmx request
    (`HX-Request`) for a page that declares a `fragment` block gets that block alone."""
    page = templates().get_template(template)
    values = {"request": request, "viewer": viewer, "path": request.url.path, **context}
    if (
        request.headers.get("hx-request")
        and "fragment" in page.blocks
        and not request.headers.get("hx-boosted")
    ):
        text = "".join(page.blocks["fragment"](page.new_context(values)))
    else:
        text = page.render(values)
    return HTMLResponse(text, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def redirect(request: Request, location: str, *, status_code: int = 303) -> Response:
    """Go to `location`: an htmx request is told to load it (`HX-Redirect`), any other redirected."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location, **PAGE_HEADERS})
    return RedirectResponse(location, status_code=status_code, headers=PAGE_HEADERS)


class ConsoleRoute(APIRoute):
    """A console route: its errors are pages, and a request without a session goes to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignIn as needed:
                return redirect(request, f"{PREFIX}/login?next={quote(needed.next_path, safe='')}")
            except RequestValidationError as invalid:
                first: dict[str, Any] = next(iter(invalid.errors()), {})
                where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
                message = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
                return _error_page(request, 422, f"{where}: {message}" if where else message)
            except DomainError as exc:
                return _error_page(request, exc.status_code, exc.message)
            except Exception:
                logger.exception("console page failed")
                return _error_page(request, 500, "the console failed to show this page")

        return answer


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    session = current_session(request)
    workspace = request.path_params.get("workspace")
    viewer = Viewer(session, workspace) if session and workspace in session.workspaces else None
    return render(request, "error.html", viewer, status_code=status, status=status, message=message)


def console_router() -> APIRouter:
    """A router of console pages (none of them in the API's OpenAPI document)."""
    return APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
