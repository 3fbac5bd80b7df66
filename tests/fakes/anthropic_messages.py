"""An Anthropic Messages service: ``POST /v1/messages`` (and ``/v1/messages/count_tokens``).

Answers a ``message`` object, or, for ``"stream": true``, the real event sequence: ``message_start``,
``content_block_start`` / ``content_block_delta`` (``text_delta``, ``input_json_delta``) /
``content_block_stop`` per block, a ``ping``, ``message_delta`` (stop reason and usage) and
``message_stop``. Errors use Anthropic's shape ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from tests.fakes.base import (
    Exchange,
    HttpReply,
    ModelFake,
    ModelReply,
    RecordedRequest,
    estimate_tokens,
    json_pieces,
    prompt_words,
    text_pieces,
)

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"

# The error type Anthropic sends with each status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def anthropic_error(
    status: int,
    message: str,
    *,
    type: str | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpReply:
    """An error answer in Anthropic's shape; ``type`` defaults to the one Anthropic uses for ``status``."""
    all_headers = {"request-id": "req_fake", **(headers or {})}
    if retry_after is not None:
        all_headers["retry-after"] = (
            str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        )
    error_type = type or ERROR_TYPES.get(status, "api_error")
    return HttpReply(
        status,
        {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake"},
        all_headers,
    )


def authentication_error() -> HttpReply:
    """401 ``authentication_error``."""
    return anthropic_error(401, "invalid x-api-key")


def model_not_found(model: str) -> HttpReply:
    """404 ``not_found_error`` naming the model."""
    return anthropic_error(404, f"model: {model}")


def rate_limited(retry_after: float | None = 1) -> HttpReply:
    """429 ``rate_limit_error`` with ``retry-after`` unless None."""
    return anthropic_error(
        429,
        "Number of request tokens has exceeded your per-minute rate limit.",
        retry_after=retry_after,
        headers={"anthropic-ratelimit-requests-remaining": "0"},
    )


def overloaded() -> HttpReply:
    """529 ``overloaded_error``."""
    return anthropic_error(529, "Overloaded")


def server_error() -> HttpReply:
    """500 ``api_error``."""
    return anthropic_error(500, "Internal server error")


class AnthropicMessagesServer(ModelFake):
    """A Messages API service.

    ``api_key``: when set, ``x-api-key`` (or ``Authorization: Bearer``) must match or the answer is 401
    ``authentication_error``. ``models``: when set, other models get 404 ``not_found_error``. Requests must
    carry ``anthropic-version`` and ``max_tokens``, as the real API demands. Script answers with
    :func:`~tests.fakes.base.say`, :func:`~tests.fakes.base.call_tool`, the error helpers of this module or
    any reply kind of the base; ``stream_error`` on a reply names the error type of an in-stream ``error``
    event. ``usage`` records the tokens reported per answer.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        default: Any = None,
    ) -> None:
        super().__init__(default=default)
        self.api_key = api_key
        self.models = list(models) if models is not None else None

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The ``POST /v1/messages`` requests received."""
        return [r for r in self.requests if r.path.rstrip("/").endswith("/v1/messages")]

    def check_auth(self, exchange: Exchange) -> bool:
        """Answer 401 when an API key is configured and the request carries another."""
        if self.api_key is None:
            return True
        headers = exchange.request.headers
        if (
            headers.get("x-api-key") == self.api_key
            or headers.get("authorization") == f"Bearer {self.api_key}"
        ):
            return True
        self.answer(exchange, authentication_error())
        return False

    def _validate(self, exchange: Exchange) -> dict[str, Any] | None:
        request = exchange.request
        if not self.check_auth(exchange):
            return None
        if "anthropic-version" not in request.headers:
            self.answer(exchange, anthropic_error(400, "anthropic-version: header is required"))
            return None
        body = request.json
        if not isinstance(body, dict):
            self.answer(exchange, anthropic_error(400, "There was an issue with your request body: not JSON"))
            return None
        for required in ("model", "messages"):
            if required not in body:
                self.answer(exchange, anthropic_error(400, f"{required}: Field required"))
                return None
        request.params["model"] = str(body["model"])
        if self.models is not None and body["model"] not in self.models:
            self.answer(exchange, model_not_found(str(body["model"])))
            return None
        return body

    def handle(self, exchange: Exchange) -> None:
        """Route one request."""
        request = exchange.request
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/v1/messages/count_tokens":
            if (body := self._validate(exchange)) is not None:
                prompt = [body.get("system"), body.get("messages")]
                exchange.send_json(200, {"input_tokens": max(1, prompt_words(prompt))})
            return
        if request.method != "POST" or path != "/v1/messages":
            self.answer(exchange, anthropic_error(404, "Not Found", type="not_found_error"))
            return
        body = self._validate(exchange)
        if body is None:
            return
        if "max_tokens" not in body:
            self.answer(exchange, anthropic_error(400, "max_tokens: Field required"))
            return
        self.answer(exchange, self.next_reply(request))

    def render(self, exchange: Exchange, reply: Any) -> None:
        """Send a model answer, streamed when the request asked for it."""
        if not isinstance(reply, ModelReply):
            super().render(exchange, reply)
            return
        body = exchange.request.json
        usage = estimate_tokens(reply, [body.get("system"), body.get("messages")])
        self.record_usage(usage)
        blocks: list[dict[str, Any]] = []
        if reply.text or not reply.tool_calls:
            blocks.append({"type": "text", "text": reply.text})
        for call in reply.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id or self.new_id("toolu_"),
                    "name": call.name,
                    "input": dict(call.arguments),
                }
            )
        stop_reason = "max_tokens" if reply.truncated else ("tool_use" if reply.tool_calls else "end_turn")
        message: dict[str, Any] = {
            "id": self.new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": blocks,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard",
            },
        }
        headers = {"request-id": "req_fake"}
        if not body.get("stream"):
            exchange.send_json(200, message, headers=headers)
            return
        stream = exchange.stream(content_type=SSE_CONTENT_TYPE, headers=headers)

        def event(name: str, data: dict[str, Any]) -> None:
            stream.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.sleep(reply.chunk_delay)

        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**message["usage"], "output_tokens": 1},
        }
        event("message_start", {"type": "message_start", "message": start})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                event(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                if index == 0:
                    event("ping", {"type": "ping"})
                for piece in text_pieces(block["text"]):
                    event(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                    )
            else:
                event(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}},
                )
                for piece in json_pieces(json.dumps(block["input"])):
                    event(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        if reply.cut:
            stream.cut()
            return
        self.wait_before_final()
        if reply.stream_error:
            error = {"type": reply.stream_error, "message": f"fake in-stream {reply.stream_error}"}
            event("error", {"type": "error", "error": error, "request_id": "req_fake"})
            stream.close()
            return
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": usage.output_tokens},
            },
        )
        stream.close(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
