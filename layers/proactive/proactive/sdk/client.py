"""The HTTP side of the SDK: where the API is, the token, errors as exceptions, and safe retries.

A call is retried (with full-jitter back-off, or after the `Retry-After` the API gave) only when
doing it twice cannot do anything twice: a connection that never opened, a `429` (refused before
any work), and, for reads, updates and calls carrying an `Idempotency-Key`, a dropped connection
or a `502`, `503` or `504`. The calls that start runs send an `Idempotency-Key` of their own when
you give none, so a retried start never starts a second run. A streamed answer is retried only
before it has begun: when its connection never opened, or on a `429`.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic_core import to_jsonable_python

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 60.0
# A streamed answer may pause while the agent works (a tool call, a slow model): it may go this long
# between two events before the stream is given up as lost. The API ends a stream within 14 minutes.
STREAM_READ_SECONDS = 900.0
_TRANSIENT = frozenset({502, 503, 504})
_SAFE_METHODS = frozenset({"GET", "PUT", "PATCH"})


class ProactiveError(Exception):
    """An answer from the API that is not a success, or an API that could not be reached.

    `status` is the HTTP status (0 when there was no answer); `error`, `message`, `field` and
    `details` are the API's error body, as it sent them. `error` is a stable code (`not_found`,
    `conflict`, `validation_error`, ...); `code` is the same value under the usual name."""

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

    @property
    def code(self) -> str:
        """The API's error code (the same as `error`)."""
        return self.error


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


def _query(params: dict[str, Any] | None) -> dict[str, Any]:
    """The query string's values as the API reads them: None left out, times in ISO 8601."""
    query: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        query[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return query


def segment(value: str, *, safe: str = "") -> str:
    """`value` as one segment of a path (an id with `/` or `?` in it cannot point elsewhere)."""
    return quote(value, safe=safe)


class Transport:
    """Requests to one Proactive API with one token.

    `base_url` and `token` default to `PROACTIVE_API_URL` (else `http://127.0.0.1:8000`) and
    `PROACTIVE_TOKEN`; `stream_url` (default `PROACTIVE_STREAM_URL`, else `base_url`) is where
    streamed conversation answers are asked for (in AWS: the stack's `StreamUrl` output).

    Used as `async with`, it keeps one connection pool until the block ends; otherwise each call
    opens and closes its own connection, so nothing needs closing."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        stream_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        base_url = base_url or os.environ.get("PROACTIVE_API_URL") or DEFAULT_BASE_URL
        stream_url = stream_url or os.environ.get("PROACTIVE_STREAM_URL") or base_url
        token = token or os.environ.get("PROACTIVE_TOKEN")
        if not token:
            raise ValueError(
                "no API token: pass token=... or set PROACTIVE_TOKEN (for the local stack: "
                "proactive token --workspace <workspace id>)"
            )
        for name, url in (("base_url", base_url), ("stream_url", stream_url)):
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{name} must be an http or https URL, not {url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.stream_url = stream_url.rstrip("/")
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
        decoded JSON answer (None for `204`); raise ProactiveError for any other answer. `json`
        may hold pydantic models and datetimes."""
        _, answer = await self.exchange(
            method, path, json=json, params=params, idempotency_key=idempotency_key
        )
        return answer

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, Any]:
        """As `request`, and the answer's status too (`202` where a route may answer otherwise)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = None if json is None else to_jsonable_python(json)
        repeatable = method in _SAFE_METHODS or idempotency_key is not None
        if self._pool is not None:
            return await self._send(self._pool, method, path, body, _query(params), headers, repeatable)
        async with self._http() as http:
            return await self._send(http, method, path, body, _query(params), headers, repeatable)

    async def _send(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        body: Any,
        query: dict[str, Any],
        headers: dict[str, str],
        repeatable: bool,
    ) -> tuple[int, Any]:
        attempt = 0
        while True:
            try:
                response = await http.request(method, path, json=body, params=query, headers=headers)
            except httpx.TransportError as exc:
                # A connection that never opened sent nothing, so any call may be tried again.
                again = isinstance(exc, httpx.ConnectError) or repeatable
                if not again or attempt >= self.max_retries:
                    raise self._unreachable(method, path, exc) from exc
                delay = None
            else:
                if response.is_success:
                    return response.status_code, response.json() if response.content else None
                again = response.status_code == 429 or (repeatable and response.status_code in _TRANSIENT)
                if not again or attempt >= self.max_retries:
                    raise _error(response)
                delay = _retry_after(response)
            attempt += 1
            await self._pause(attempt - 1, delay)

    def _unreachable(self, method: str, path: str, exc: Exception, base: str | None = None) -> ProactiveError:
        where = f"{base or self.base_url}{path}"
        return ProactiveError(0, "unreachable", f"{method} {where}: {type(exc).__name__}: {exc}")

    async def _pause(self, attempt: int, delay: float | None) -> None:
        if delay is None:
            delay = random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**attempt))  # noqa: S311
        await asyncio.sleep(delay)

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, *, json: Any = None, at_api: bool = False
    ) -> AsyncIterator[httpx.Response]:
        """A call whose answer is read as it arrives, at `stream_url` (at `base_url` with
        `at_api`): the open response once its status is a success (the body not read yet);
        ProactiveError otherwise."""
        base = self.base_url if at_api else self.stream_url
        url = f"{base}{path}"
        body = None if json is None else to_jsonable_python(json)
        timeout = httpx.Timeout(self._timeout, read=STREAM_READ_SECONDS)
        http = self._pool or self._http()
        try:
            attempt = 0
            while True:
                request = http.build_request(method, url, json=body, timeout=timeout)
                try:
                    response = await http.send(request, stream=True)
                except httpx.TransportError as exc:
                    if not isinstance(exc, httpx.ConnectError) or attempt >= self.max_retries:
                        raise self._unreachable(method, path, exc, base) from exc
                    delay = None
                else:
                    if response.is_success:
                        break
                    await response.aread()
                    await response.aclose()
                    if response.status_code != 429 or attempt >= self.max_retries:
                        raise _error(response)
                    delay = _retry_after(response)
                attempt += 1
                await self._pause(attempt - 1, delay)
            try:
                yield response
            except httpx.TransportError as exc:
                raise self._unreachable(method, path, exc, base) from exc
            finally:
                await response.aclose()
        finally:
            if http is not self._pool:
                await http.aclose()
