"""A user's own HTTP agent service, the endpoint the platform calls to run an agent.

It receives ``{"run_id", "task", "source_type", "source_id", "attempt", "payload"}`` on any path, signed
with Standard Webhooks headers, verifies the signature with the reference ``standardwebhooks`` library,
and answers from its script: a synchronous output, plain text, 202 for callback mode, errors with or
without ``Retry-After``, or a slow reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Exchange, FakeServer, HttpReply, RecordedRequest
from tests.fakes.receivers import Verification, verify_standard_webhook

RUN_FIELDS = ("run_id", "task", "source_type", "source_id", "attempt", "payload")


@dataclass(frozen=True)
class Output:
    """200 ``{"output": value}``: the agent finished synchronously."""

    value: Any


@dataclass(frozen=True)
class PlainText:
    """200 with a ``text/plain`` body: an agent that answers bare text."""

    text: str


@dataclass(frozen=True)
class Accepted:
    """202: the agent will report back through the callback, which the test then posts."""

    body: Any = None


def unavailable(retry_after: int | None = None) -> HttpReply:
    """503, with ``Retry-After`` seconds when given."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return HttpReply(503, {"error": "service unavailable"}, headers)


def server_error() -> HttpReply:
    """500."""
    return HttpReply(500, {"error": "internal error"})


def rate_limited(retry_after: int | None = None) -> HttpReply:
    """429, with ``Retry-After`` seconds when given."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return HttpReply(429, {"error": "too many requests"}, headers)


def bad_request(message: str = "invalid task") -> HttpReply:
    """400: the agent rejects the task itself."""
    return HttpReply(400, {"error": message})


class AgentService(FakeServer):
    """A user's agent service.

    ``secret`` (``whsec_...``): when set, every request's signature is verified and failures get 401
    ``{"error": "invalid signature"}``; ``verifications`` records each outcome. A verified body lacking one of
    :data:`RUN_FIELDS` gets 422 (``require_fields=False`` accepts any JSON). Script replies with
    :class:`Output`, :class:`PlainText`, :class:`Accepted`, the error helpers here, or the base kinds
    (``Delay`` for a slow agent, ``Disconnect``, ``HttpReply``, a ``respond(request)`` callable); by
    default it answers ``{"output": "done: <task>"}``. ``runs`` holds the bodies that passed verification.
    """

    def __init__(
        self, *, secret: str | None = None, require_fields: bool = True, default: Any = None
    ) -> None:
        super().__init__(default=default)
        self.secret = secret
        self.require_fields = require_fields
        self.verifications: list[Verification] = []
        self.runs: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        """The endpoint to register with the platform (the service answers on any path: see ``url_for``)."""
        return self.url_for("/agent")

    def builtin_default(self, request: RecordedRequest) -> Any:
        """Echo the task as the output."""
        task = request.json.get("task") if isinstance(request.json, dict) else None
        return Output(f"done: {task}")

    def handle(self, exchange: Exchange) -> None:
        """Verify, check the body, then answer from the script."""
        request = exchange.request
        if request.method != "POST":
            exchange.send_json(405, {"error": "method not allowed"})
            return
        if self.secret is not None:
            result = verify_standard_webhook(self.secret, request)
            with self._lock:
                self.verifications.append(result)
            if not result.ok:
                exchange.send_json(401, {"error": "invalid signature", "detail": result.error})
                return
        body = request.json
        if not isinstance(body, dict):
            exchange.send_json(400, {"error": "body must be a JSON object"})
            return
        if self.require_fields and (missing := [f for f in RUN_FIELDS if f not in body]):
            exchange.send_json(422, {"error": f"missing fields: {', '.join(missing)}"})
            return
        with self._lock:
            self.runs.append(body)
        self.answer(exchange, self.next_reply(request))

    def render(self, exchange: Exchange, reply: Any) -> None:
        """Send one of the agent's answers."""
        if isinstance(reply, Output):
            exchange.send_json(200, {"output": reply.value})
        elif isinstance(reply, PlainText):
            exchange.send_text(200, reply.text)
        elif isinstance(reply, Accepted):
            body = reply.body if reply.body is not None else {"status": "accepted"}
            exchange.send_json(202, body)
        else:
            super().render(exchange, reply)
