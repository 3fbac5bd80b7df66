"""An OpenAI-compatible Chat Completions service: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Answers in the real wire format: a ``chat.completion`` object, or, for ``"stream": true``, Server-Sent
Events carrying ``chat.completion.chunk`` objects (the role first, content in several deltas, tool calls
with id and name first and their arguments in pieces, the finish reason, a usage-only chunk when
``stream_options.include_usage`` is set) ended by ``data: [DONE]``. Errors use OpenAI's error shape.
"""

from __future__ import annotations

import json
import time
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
    match_path,
    text_pieces,
)

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"


def openai_error(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpReply:
    """An error answer in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    all_headers = {"x-request-id": "req_fake", **(headers or {})}
    if retry_after is not None:
        all_headers["retry-after"] = _seconds(retry_after)
    return HttpReply(
        status, {"error": {"message": message, "type": type, "param": param, "code": code}}, all_headers
    )


def invalid_api_key(key: str = "sk-wrong") -> HttpReply:
    """401 ``invalid_api_key``, as for a wrong or revoked key."""
    shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else key
    return openai_error(
        401,
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def model_not_found(model: str) -> HttpReply:
    """404 ``model_not_found``."""
    return openai_error(
        404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
    )


def rate_limited(retry_after: float | None = 1, *, message: str | None = None) -> HttpReply:
    """429 ``rate_limit_exceeded``, with a ``retry-after`` header unless ``retry_after`` is None."""
    return openai_error(
        429,
        message or "Rate limit reached for requests. Please try again later.",
        type="requests",
        code="rate_limit_exceeded",
        retry_after=retry_after,
        headers={"x-ratelimit-remaining-requests": "0"},
    )


def insufficient_quota() -> HttpReply:
    """429 ``insufficient_quota``: billing, not pacing; waiting does not help."""
    return openai_error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def server_error(status: int = 500) -> HttpReply:
    """500 (or 502/503) ``server_error``."""
    message = (
        "The server is overloaded or not ready yet."
        if status == 503
        else "The server had an error while processing your request. Sorry about that!"
    )
    return openai_error(status, message, type="server_error")


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class OpenAIChatServer(ModelFake):
    """A Chat Completions service.

    ``api_key``: when set, requests must carry ``Authorization: Bearer <api_key>`` or get 401
    ``invalid_api_key``. ``models``: when set, other model names get 404 ``model_not_found`` (and
    ``GET /v1/models`` lists them). Script answers with :func:`~tests.fakes.base.say`,
    :func:`~tests.fakes.base.call_tool`, the error helpers of this module, or any reply kind of the base.
    ``usage`` records the tokens reported per answer.
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
    def api_base(self) -> str:
        """The ``base_url`` to give OpenAI clients: the server's URL with ``/v1``, as OpenAI's own."""
        return self.base_url + "/v1"

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """The chat completion requests received."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def check_auth(self, exchange: Exchange) -> bool:
        """Answer 401 when an API key is configured and the request's bearer token differs."""
        if self.api_key is None:
            return True
        given = exchange.request.headers.get("authorization", "")
        if given == f"Bearer {self.api_key}":
            return True
        self.answer(exchange, invalid_api_key(given.removeprefix("Bearer ")))
        return False

    def handle(self, exchange: Exchange) -> None:
        """Route one request."""
        request = exchange.request
        path = request.path.removeprefix("/v1")
        if request.method == "GET" and path == "/models":
            if self.check_auth(exchange):
                names = self.models if self.models is not None else ["gpt-4o-mini"]
                exchange.send_json(200, {"object": "list", "data": [_model_object(n) for n in names]})
            return
        if request.method == "GET" and (found := match_path("/models/{model}", path)):
            request.params.update(found)
            if self.check_auth(exchange):
                if self.models is not None and found["model"] not in self.models:
                    self.answer(exchange, model_not_found(found["model"]))
                else:
                    exchange.send_json(200, _model_object(found["model"]))
            return
        if request.method != "POST" or path != "/chat/completions":
            self.answer(
                exchange,
                openai_error(404, f"Invalid URL ({request.method} {request.path})", code="unknown_url"),
            )
            return
        if not self.check_auth(exchange):
            return
        body = request.json
        if not isinstance(body, dict):
            self.answer(exchange, openai_error(400, "We could not parse the JSON body of your request."))
            return
        for required in ("model", "messages"):
            if required not in body:
                self.answer(
                    exchange, openai_error(400, f"Missing required parameter: '{required}'.", param=required)
                )
                return
        request.params["model"] = str(body["model"])
        if self.models is not None and body["model"] not in self.models:
            self.answer(exchange, model_not_found(str(body["model"])))
            return
        self.answer(exchange, self.next_reply(request))

    def render(self, exchange: Exchange, reply: Any) -> None:
        """Send a model answer, streamed when the request asked for it."""
        if not isinstance(reply, ModelReply):
            super().render(exchange, reply)
            return
        body = exchange.request.json
        usage = estimate_tokens(reply, body.get("messages"))
        self.record_usage(usage)
        usage_obj = {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        tool_calls = [
            {
                "id": call.id or self.new_id("call_"),
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
            }
            for call in reply.tool_calls
        ]
        finish = "length" if reply.truncated else ("tool_calls" if tool_calls else "stop")
        head = {
            "id": self.new_id("chatcmpl-"),
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
        }
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": reply.text if reply.text or not tool_calls else None,
                "refusal": None,
                "annotations": [],
            }
            if tool_calls:
                message["tool_calls"] = tool_calls
            exchange.send_json(
                200,
                {
                    **head,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                    "usage": usage_obj,
                },
                headers={"x-request-id": "req_fake", "openai-processing-ms": "1"},
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream = exchange.stream(
            content_type=SSE_CONTENT_TYPE, headers={"x-request-id": "req_fake", "openai-processing-ms": "1"}
        )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> None:
            data: dict[str, Any] = {
                **head,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                data["usage"] = None
            stream.write(f"data: {json.dumps(data)}\n\n".encode())
            self.sleep(reply.chunk_delay)

        chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in text_pieces(reply.text):
            chunk({"content": piece})
        for index, call in enumerate(tool_calls):
            function = call["function"]
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": function["name"], "arguments": ""},
                        }
                    ]
                }
            )
            for piece in json_pieces(function["arguments"]):
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        if reply.cut:
            stream.cut()
            return
        self.wait_before_final()
        if reply.stream_error:
            error = {"message": f"fake in-stream error: {reply.stream_error}", "type": "server_error"}
            error |= {"param": None, "code": reply.stream_error}
            stream.write(f"data: {json.dumps({'error': error})}\n\n".encode())
            stream.close()
            return
        chunk({}, finish)
        if include_usage:
            final = {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage_obj}
            stream.write(f"data: {json.dumps(final)}\n\n".encode())
        stream.close(b"data: [DONE]\n\n")


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
