"""The HTTP side of the SDK: where the API is, the token, errors as exceptions, and safe retries.

A call is retried (with full-jitter back-off, or after the `Retry-After` the API gave) only when
doing it twice cannot do anything twice: a connection that never opened, a `429` (refused before
any work), and, for reads, updates and calls carrying an `Idempotency-Key`, a dropped connection
or a `502`, `503` or `504`. The calls that start runs send an `Idempotency-Key` of their own when
you give none, so a retried start never starts a second run.
"""

from __future__ import annotations

import asyncio
import os
import random
from types import TracebackType
from typing import Any, Self

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 60.0
_TRANSIENT = frozenset({502, 503, 504})
_SAFE_METHODS = frozenset({"GET", "PUT", "PATCH"})


class ProactiveError(Exception):
    """An answer from the API that is not a success, or an API that could not be reached.

    `status` is the HTTP status (0 when there was no answer); `error`, `message`, `field` and
    `details` are the API's error body, as it sent them."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {message}" if status else f"{error}: {message}")
        self.status = status
        self.error = error
        self.message = message
        self.field = field
        self.details = details or []
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(MAX_RETRY_AFTER_SECONDS, max(0.0, float(value))) if value else None
    except ValueError:
        return None


def _error(response: httpx.Response) -> ProactiveError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:500] or response.reason_phrase
        return ProactiveError(response.status_code, "http_error", text, retry_after=_retry_after(response))
    return ProactiveError(
        response.status_code,
        str(body.get("error") or "http_error"),
        str(body.get("message") or body.get("detail") or response.reason_phrase),
        field=body.get("field"),
        details=body.get("details") if isinstance(body.get("details"), list) else None,
        retry_after=_retry_after(response),
    )


class Transport:
    """Requests to one Proactive API with one token.

    Used as `async with`, it keeps one connection pool until the block ends; otherwise each call
    opens and closes its own connection, so nothing needs closing."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        base_url = base_url or os.environ.get("PROACTIVE_API_URL") or DEFAULT_BASE_URL
        token = token or os.environ.get("PROACTIVE_TOKEN")
        if not token:
            raise ValueError(
                "no API token: pass token=... or set PROACTIVE_TOKEN (for the local stack: "
                "proactive token --workspace <workspace id>)"
            )
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http or https URL, not {base_url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._token = token
        self._timeout = timeout
        self._pool: httpx.AsyncClient | None = None
        self._entered = 0

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self._timeout,
            headers={"Authorization": f"Bearer {self._token}", "User-Agent": "proactive-sdk"},
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        if self._pool is None:
            self._pool = self._http()
        self._entered += 1
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._entered -= 1
        if self._entered == 0:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (a no-op when none is open)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one call (retried only where that is safe, as the module says) and give back the
        decoded JSON answer (None for `204`); raise ProactiveError for any other answer."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        repeatable = method in _SAFE_METHODS or idempotency_key is not None
        if self._pool is not None:
            return await self._send(self._pool, method, path, json, query, headers, repeatable)
        async with self._http() as http:
            return await self._send(http, method, path, json, query, headers, repeatable)

    async def _send(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        body: Any,
        query: dict[str, Any],
        headers: dict[str, str],
        repeatable: bool,
    ) -> Any:
        attempt = 0
        while True:
            try:
                response = await http.request(method, path, json=body, params=query, headers=headers)
            except httpx.TransportError as exc:
                # A connection that never opened sent nothing, so any call may be tried again.
                again = isinstance(exc, httpx.ConnectError) or repeatable
                if not again or attempt >= self.max_retries:
                    raise ProactiveError(
                        0, "unreachable", f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}"
                    ) from exc
                delay = None
            else:
                if response.is_success:
                    return response.json() if response.content else None
                again = response.status_code == 429 or (repeatable and response.status_code in _TRANSIENT)
                if not again or attempt >= self.max_retries:
                    raise _error(response)
                delay = _retry_after(response)
            if delay is None:
                delay = random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**attempt))  # noqa: S311
            attempt += 1
            await asyncio.sleep(delay)
