"""The shared loopback HTTP server behind every fake service: recording, scripted replies, streaming.

Each fake is a real HTTP/1.1 server on 127.0.0.1 (a free port) served from a background thread. Clients
talk to it exactly as they would to the real service, over keep-alive connections, with bodies framed by
Content-Length or chunked transfer encoding.

Scripting: a fake answers each request with the next scripted reply, or with its default reply once the
script is used up. A reply is one of

- a service reply (a model answer for the LLM fakes, an acceptance for the receivers),
- an :class:`HttpReply` (any status, body and headers: errors in the service's own shape are built by the
  helpers of each fake),
- a :class:`Delay` (wait, then answer with another reply),
- a :class:`Disconnect` (close the connection without answering),
- a callable ``respond(request) -> reply | None`` for answers that depend on the request (``None`` means
  the default reply).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, overload
from urllib.parse import parse_qsl, urlsplit

# How long a parked stream or a delay may keep a handler thread: a forgotten release must not hang a test run.
MAX_WAIT_SECONDS = 30.0


class FakeServerError(RuntimeError):
    """Raised when leaving a fake whose handler failed: a broken fake or a failing ``respond`` callable."""


@dataclass
class RecordedRequest:
    """One request as the fake received it.

    ``headers`` has lower-cased names (repeated headers joined with ", "), ``query`` maps each query
    parameter to its last value (``query_list`` keeps every value), ``body`` is the raw body after any
    transfer and content decoding, ``json`` is the parsed body when the request declared JSON (else None),
    ``params`` holds the path parameters the fake's routing found (a model id, a webhook token...) and
    ``status`` is the status the fake answered with, set just before the answer is sent (0 when it
    closed the connection instead).
    """

    method: str
    path: str
    query: dict[str, str]
    query_list: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)
    status: int | None = None

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


class RequestLog(Sequence[RecordedRequest]):
    """A thread-safe list of recorded requests that tests can also wait on."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._changed = threading.Condition()

    def append(self, request: RecordedRequest) -> None:
        """Record a request and wake any waiter."""
        with self._changed:
            self._items.append(request)
            self._changed.notify_all()

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._changed:
            self._items.clear()

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the requests recorded so far."""
        with self._changed:
            return list(self._items)

    @overload
    def __getitem__(self, index: int) -> RecordedRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordedRequest]: ...

    def __getitem__(self, index: int | slice) -> RecordedRequest | list[RecordedRequest]:
        with self._changed:
            return self._items[index]

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __repr__(self) -> str:
        return f"RequestLog({[f'{r.method} {r.path} -> {r.status}' for r in self.snapshot()]})"

    @property
    def last(self) -> RecordedRequest:
        """The most recent request; IndexError when none arrived."""
        with self._changed:
            return self._items[-1]

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[RecordedRequest], bool] | None = None,
    ) -> list[RecordedRequest]:
        """Block until ``count`` requests (matching ``where``) have been recorded and answered.

        Returns the matching requests; raises TimeoutError with what did arrive otherwise.
        """

        def matching() -> list[RecordedRequest]:
            return [r for r in self._items if r.status is not None and (where is None or where(r))]

        with self._changed:
            if self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                return matching()
            arrived = [f"{r.method} {r.path} -> {r.status}" for r in self._items]
        raise TimeoutError(f"expected {count} matching requests within {timeout}s; got {arrived}")

    def _answered(self) -> None:
        with self._changed:
            self._changed.notify_all()


@dataclass(frozen=True)
class HttpReply:
    """An exact HTTP answer. A dict or list body is sent as JSON, str as UTF-8 text."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encode(self) -> tuple[bytes, str | None]:
        """The body bytes and the content type to declare (None: no Content-Type header)."""
        if self.body is None:
            return b"", self.content_type
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), self.content_type or "application/json"


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before answering with ``then`` (the default reply when None)."""

    seconds: float
    then: Any = None


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without sending an answer, as a crashed or cut-off service would."""


class Exchange:
    """One request in flight: the recorded request and the ways to answer it."""

    def __init__(self, handler: _Handler, request: RecordedRequest, fake: FakeServer) -> None:
        self._handler = handler
        self.request = request
        self.fake = fake
        self.answered = False

    def _mark(self, status: int) -> None:
        self.answered = True
        self.request.status = status

    def send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer with a complete body framed by Content-Length."""
        self._mark(status)
        h = self._handler
        h.send_response(status)
        if content_type is not None:
            h.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        # 1xx, 204 and 304 answers carry no body, so no length either.
        if status >= 200 and status not in (204, 304):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body and h.command != "HEAD":
            h.wfile.write(body)
        h.wfile.flush()
        self.fake.requests._answered()

    def send_json(self, status: int, payload: Any, *, headers: Mapping[str, str] | None = None) -> None:
        """Answer with a JSON body."""
        self.send(status, json.dumps(payload).encode(), content_type="application/json", headers=headers)

    def send_text(
        self,
        status: int,
        text: str,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer with a text body."""
        self.send(
            status, text.encode(), content_type=content_type or "text/plain; charset=utf-8", headers=headers
        )

    def send_reply(self, reply: HttpReply) -> None:
        """Answer with an :class:`HttpReply`."""
        body, content_type = reply.encode()
        self.send(reply.status, body, content_type=content_type, headers=reply.headers)

    def stream(
        self, status: int = 200, *, content_type: str, headers: Mapping[str, str] | None = None
    ) -> ChunkedWriter:
        """Start an answer whose body is sent in chunks as it is produced (chunked transfer encoding)."""
        self._mark(status)
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Cache-Control", "no-cache")
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        self.fake.requests._answered()
        return ChunkedWriter(h)

    def disconnect(self) -> None:
        """Close the connection without an answer."""
        self._mark(0)
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)
        self.fake.requests._answered()


class ChunkedWriter:
    """Writes one chunk per call and flushes it at once, so the client sees each piece as it is made."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler
        self.closed = False

    def write(self, data: bytes) -> None:
        """Send one chunk (empty data is skipped: an empty chunk would end the body)."""
        if not data:
            return
        # Size line, data and terminator in one write: one segment on the wire, no partial chunk waiting.
        self._handler.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self._handler.wfile.flush()

    def close(self, last: bytes = b"") -> None:
        """End the body with the zero-length chunk; the connection stays open for the next request.

        ``last`` goes out in the same write as the terminator, as servers flush their final event together
        with the end of the body.
        """
        if not self.closed:
            self.closed = True
            framed = f"{len(last):X}\r\n".encode() + last + b"\r\n" if last else b""
            self._handler.wfile.write(framed + b"0\r\n\r\n")
            self._handler.wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-body, as a service that crashed while streaming would."""
        self.closed = True
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Tests open many connections at once (parallel tool calls, concurrent deliveries).
    request_queue_size = 128

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client dropping an idle keep-alive connection is normal; anything else is a broken fake.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError) and error is not None:
            self.fake.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small writes (an SSE event, a chunk) must leave at once rather than wait for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers end with an empty line.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            body = b"".join(parts)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        return body

    def _dispatch(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        query_list = parse_qsl(split.query, keep_blank_values=True)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        body = self._read_body()
        parsed: Any = None
        if body and "json" in headers.get("content-type", ""):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=dict(query_list),
            query_list=query_list,
            headers=headers,
            body=body,
            json=parsed,
        )
        fake.requests.append(request)
        exchange = Exchange(self, request, fake)
        try:
            fake.handle(exchange)
            if not exchange.answered:
                raise RuntimeError(f"{type(fake).__name__} did not answer {self.command} {split.path}")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # The client went away mid-answer (a cancelled stream): nothing left to tell it.
            self.close_connection = True
        except Exception as exc:
            fake.errors.append(exc)
            self.close_connection = True
            if not exchange.answered:
                with contextlib.suppress(OSError):
                    exchange.send_text(500, f"fake {type(fake).__name__} failed:\n{traceback.format_exc()}")
        finally:
            if request.status is None:
                request.status = 0
                fake.requests._answered()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class FakeServer:
    """A loopback HTTP server that records requests and answers from a script.

    Use it as a context manager (or call :meth:`start` and :meth:`stop`). Subclasses implement
    :meth:`handle` and :meth:`builtin_default`, and render their own reply types in :meth:`render`.
    """

    def __init__(self, *, default: Any = None) -> None:
        self.requests = RequestLog()
        self.errors: list[BaseException] = []
        self.default: Any = default
        self._script: deque[Any] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._release = threading.Event()
        self._release.set()
        self.stream_held = threading.Event()
        self._connections: set[socket.socket] = set()
        self.connections_opened = 0
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free loopback port and serve from a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _HTTPServer(self)
        # A short poll keeps stop() fast; tests start and stop many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake parked streams and delays, and close open connections."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        self._release.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc_type is None and self.errors:
            raise FakeServerError(f"{type(self).__name__} failed while answering: {self.errors[0]!r}") from (
                self.errors[0]
            )

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
            self.connections_opened += 1

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    @property
    def port(self) -> int:
        """The bound port (the server must be started)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str = "/") -> str:
        """An absolute URL on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- scripting -------------------------------------------------------------------------------------

    def script(self, *replies: Any) -> Self:
        """Queue replies; each answers one request, in order. Returns the fake for chaining."""
        with self._lock:
            self._script.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """How many scripted replies are still unused."""
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget the script, the default reply, the recorded requests and the errors."""
        with self._lock:
            self._script.clear()
        self.default = None
        self.requests.clear()
        self.errors.clear()

    def hold_streams(self) -> threading.Event:
        """Park every stream before its final piece until the returned event is set.

        ``stream_held`` is set once a stream has reached that point, so a test can assert that the client
        already received the first deltas while the answer is still open. Stopping the fake releases it.
        """
        self.stream_held.clear()
        self._release = threading.Event()
        return self._release

    def release_streams(self) -> None:
        """Let held streams finish."""
        self._release.set()

    def wait_before_final(self) -> None:
        """Called by streaming fakes just before the final piece of a stream."""
        if not self._release.is_set():
            self.stream_held.set()
            self._release.wait(MAX_WAIT_SECONDS)

    def sleep(self, seconds: float) -> None:
        """Sleep that stopping the fake interrupts."""
        if seconds > 0:
            self._stopping.wait(min(seconds, MAX_WAIT_SECONDS))

    def next_reply(self, request: RecordedRequest) -> Any:
        """The reply for this request: scripted or default, callables applied and delays served.

        The result is never a callable nor a :class:`Delay`.
        """
        with self._lock:
            reply = self._script.popleft() if self._script else _USE_DEFAULT
        used_default = False
        for _ in range(100):
            if reply is _USE_DEFAULT or reply is None:
                if used_default or self.default is None:
                    return self.builtin_default(request)
                used_default = True
                reply = self.default
            if isinstance(reply, Delay):
                self.sleep(reply.seconds)
                reply = reply.then if reply.then is not None else _USE_DEFAULT
                continue
            if callable(reply) and not isinstance(reply, type):
                reply = reply(request)
                if reply is None:
                    reply = _USE_DEFAULT
                continue
            return reply
        raise RuntimeError("scripted replies keep producing one another; is a respond() returning itself?")

    def answer(self, exchange: Exchange, reply: Any) -> None:
        """Send a resolved reply: the generic kinds here, the service's own kinds through :meth:`render`."""
        if isinstance(reply, HttpReply):
            exchange.send_reply(reply)
        elif isinstance(reply, Disconnect):
            exchange.disconnect()
        else:
            self.render(exchange, reply)

    @property
    def accepted(self) -> list[RecordedRequest]:
        """The requests answered with a 2xx status."""
        return [r for r in self.requests if r.status is not None and 200 <= r.status < 300]

    # -- for subclasses --------------------------------------------------------------------------------

    def handle(self, exchange: Exchange) -> None:
        """Route and answer one request."""
        raise NotImplementedError

    def builtin_default(self, request: RecordedRequest) -> Any:
        """The reply when the script is empty and no ``default`` is set."""
        raise NotImplementedError

    def render(self, exchange: Exchange, reply: Any) -> None:
        """Send one of this fake's own reply kinds."""
        raise TypeError(f"{type(self).__name__} cannot answer with {reply!r}")


_USE_DEFAULT = object()


def match_path(pattern: str, path: str) -> dict[str, str] | None:
    """Match ``/model/{model_id}/converse`` style patterns; returns the named parts or None."""
    regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "/?$"
    found = re.match(regex, path)
    return found.groupdict() if found else None


# -- model answers shared by the LLM fakes ---------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model makes; ``id`` is generated when None."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class ModelReply:
    """A model's answer: text, tool calls, or both.

    Token counts default to the estimate in :func:`estimate_tokens`. ``truncated`` ends the answer as if it
    hit the output-token limit. For streams, ``chunk_delay`` paces the deltas, ``cut`` drops the connection
    after the content instead of finishing, and ``stream_error`` sends the service's in-stream error event
    after the content (its meaning is the fake's: an error code, type or exception name).
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    truncated: bool = False
    chunk_delay: float = 0.0
    cut: bool = False
    stream_error: str | None = None


def say(text: str, **options: Any) -> ModelReply:
    """A text answer."""
    return ModelReply(text=text, **options)


def call_tool(
    name: str, arguments: Mapping[str, Any] | None = None, *, id: str | None = None, **options: Any
) -> ModelReply:
    """An answer that calls one tool (``options`` as in :class:`ModelReply`, e.g. ``text=``)."""
    return ModelReply(tool_calls=(ToolCall(name, dict(arguments or {}), id),), **options)


def call_tools(*calls: ToolCall, **options: Any) -> ModelReply:
    """An answer that calls several tools at once."""
    return ModelReply(tool_calls=calls, **options)


@dataclass(frozen=True)
class Usage:
    """Tokens a fake reported for one answer."""

    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        """Input plus output."""
        return self.input_tokens + self.output_tokens


def count_words(text: str) -> int:
    """Whitespace-separated words: the fakes' stand-in for a tokenizer."""
    return len(text.split())


_PROMPT_TEXT_KEYS = frozenset({"content", "text"})


def prompt_words(value: Any, counted: bool = True) -> int:
    """Words of the prompt text in a request's JSON: strings held under ``content`` or ``text`` keys
    (directly or in a list), so roles, ids and block types do not count. A bare string counts whole."""
    if isinstance(value, str):
        return count_words(value) if counted else 0
    if isinstance(value, Mapping):
        return sum(prompt_words(item, key in _PROMPT_TEXT_KEYS) for key, item in value.items())
    if isinstance(value, list | tuple):
        return sum(prompt_words(item, counted) for item in value)
    return 0


def estimate_tokens(reply: ModelReply, prompt: Any) -> Usage:
    """Deterministic token counts for an answer.

    Input: the words of the prompt text (:func:`prompt_words`) of ``prompt``, the request's messages and
    system prompt (not the tool definitions), at least 1. Output: the words of the text plus, per tool
    call, one for its name and the words of its JSON arguments, at least 1. An explicit count on the
    reply wins.
    """
    input_tokens = reply.input_tokens
    if input_tokens is None:
        input_tokens = max(1, prompt_words(prompt))
    output_tokens = reply.output_tokens
    if output_tokens is None:
        output_tokens = count_words(reply.text) + sum(
            1 + count_words(json.dumps(dict(call.arguments))) for call in reply.tool_calls
        )
        output_tokens = max(1, output_tokens)
    return Usage(input_tokens, output_tokens)


def text_pieces(text: str) -> list[str]:
    """Split text into word-sized deltas that join back to the exact text."""
    return re.findall(r"\s*\S+\s*|\s+", text) or ([text] if text else [])


def json_pieces(encoded: str, pieces: int = 3) -> list[str]:
    """Split a JSON string into a few fragments, as streamed tool arguments arrive."""
    if len(encoded) < pieces:
        return [encoded]
    size = -(-len(encoded) // pieces)
    return [encoded[i : i + size] for i in range(0, len(encoded), size)]


class ModelFake(FakeServer):
    """Shared bookkeeping of the LLM fakes: the usage each answer reported and generated ids."""

    def __init__(self, *, default: Any = None) -> None:
        super().__init__(default=default)
        self.usage: list[Usage] = []
        self._counter = 0

    def builtin_default(self, request: RecordedRequest) -> Any:
        """Answers "ok" when nothing else is scripted."""
        return say("ok")

    def reset(self) -> None:
        """Also forget the recorded usage."""
        super().reset()
        self.usage.clear()

    def total_usage(self) -> Usage:
        """The sum of the usage reported by every answer so far."""
        usages = list(self.usage)
        return Usage(sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages))

    def record_usage(self, usage: Usage) -> None:
        """Remember the usage reported for one answer."""
        with self._lock:
            self.usage.append(usage)

    def new_id(self, prefix: str) -> str:
        """A unique, readable id such as ``call_0003``."""
        with self._lock:
            self._counter += 1
            return f"{prefix}{self._counter:04d}"
