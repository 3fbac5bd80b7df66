"""Security headers: every HTML answer of the API is sent with a strict Content-Security-Policy and
the headers that keep a page from being framed, sniffed, cached or leaking its address.

`SecurityHeaders` (middleware, installed on every app) adds them to any answer whose type is
`text/html`, whatever route made it (the approval links' pages today): a route sets only what it
needs to differ, and the middleware never overrides a header the route set. So a page that
carries a link's token in its address (an approval link) is not cached (`no-store`) and its
address is never sent as a referrer, and no page of this API loads, runs or frames anything but
its own files. Every answer, HTML or not, says `nosniff`.

The docs page (`docs_page`) is Swagger UI, served from the package's own files: its policy allows
those files, its one inline script by hash (the script is made here, so the hash is of what we
wrote, not of anything a request put in the page), and requests to this API only.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# For pages of this API (no scripts, only its own styles and images, forms posting to itself).
STRICT_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": STRICT_POLICY,
    "X-Frame-Options": "DENY",
    # The approval link's path is a credential: never sent on to another site.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class SecurityHeaders:
    """ASGI middleware: `HTML_HEADERS` on every `text/html` answer (each unless the route set
    it), and `X-Content-Type-Options: nosniff` on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in HTML_HEADERS.items():
                        headers.setdefault(name, value)
                else:
                    headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, with_headers)


def script_hashes(page: str) -> list[str]:
    """The CSP sources (`'sha256-…'`) that allow each inline script of `page`, as written."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    ]


def docs_policy(page: str) -> str:
    """The docs page's policy: Swagger UI's script and styles from this API's own files, its
    inline start-up script by hash, its icons (data: URLs in its styles), and requests to this API
    only ("Try it out", the OpenAPI document). Its styles may be set inline by its script."""
    scripts = " ".join(["'self'", *script_hashes(page)])
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


def docs_page(app: FastAPI, path: str, static_url: str) -> None:
    """Serve Swagger UI at `path` from the files at `static_url`, with `docs_policy`."""

    @app.get(path, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{static_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{static_url}/swagger-ui.css",
            swagger_favicon_url=f"{root}{static_url}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        text = bytes(page.body).decode()
        # The docs are the same for everyone and change only with a deployment: cacheable.
        headers = {"Content-Security-Policy": docs_policy(text), "Cache-Control": "no-cache"}
        return HTMLResponse(text, headers=headers)
