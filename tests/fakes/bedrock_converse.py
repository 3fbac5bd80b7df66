"""Amazon Bedrock Runtime's Converse API, for boto3's ``bedrock-runtime`` client given ``endpoint_url``.

``POST /model/{modelId}/converse`` answers the JSON ``ConverseResponse``; ``POST
/model/{modelId}/converse-stream`` answers an ``application/vnd.amazon.eventstream`` body in AWS's binary
event-stream framing (prelude with lengths and CRC32, typed headers ``:event-type``, ``:content-type``,
``:message-type``, JSON payload, message CRC32) carrying ``messageStart``, ``contentBlockStart`` (tool
use), ``contentBlockDelta``, ``contentBlockStop``, ``messageStop`` and ``metadata``. Errors are rest-json
errors named by the ``x-amzn-errortype`` header, as botocore reads them.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

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

EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"

# The status Bedrock answers each modelled error with.
ERROR_STATUS = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelNotReadyException": 429,
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 400,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "UnrecognizedClientException": 403,
}


def bedrock_error(error_type: str, message: str, *, status: int | None = None) -> HttpReply:
    """An error answer as Bedrock sends it: ``x-amzn-errortype`` header and ``{"message"}`` body."""
    return HttpReply(
        status or ERROR_STATUS.get(error_type, 400),
        {"message": message},
        {"x-amzn-errortype": f"{error_type}:{_ERROR_NAMESPACE}", "x-amzn-requestid": "fake-request-id"},
    )


def throttled() -> HttpReply:
    """429 ``ThrottlingException``."""
    return bedrock_error("ThrottlingException", "Too many requests, please wait before trying again.")


def access_denied() -> HttpReply:
    """403 ``AccessDeniedException``."""
    return bedrock_error(
        "AccessDeniedException", "You don't have access to the model with the specified model ID."
    )


def validation_error(message: str = "The provided model identifier is invalid.") -> HttpReply:
    """400 ``ValidationException``."""
    return bedrock_error("ValidationException", message)


def service_unavailable() -> HttpReply:
    """503 ``ServiceUnavailableException``."""
    return bedrock_error("ServiceUnavailableException", "Bedrock is unable to process your request.")


def encode_event(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total and header lengths, CRC32), string headers, payload, CRC32."""
    encoded_headers = b""
    for name, value in headers.items():
        name_bytes, value_bytes = name.encode(), value.encode()
        # Header value type 7 is a UTF-8 string with a two-byte length.
        encoded_headers += (
            struct.pack(">B", len(name_bytes)) + name_bytes + b"\x07" + struct.pack(">H", len(value_bytes))
        ) + value_bytes
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded_headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


def encode_stream_event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """A ``:message-type: event`` message with a JSON payload."""
    return encode_event(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(payload).encode(),
    )


def encode_stream_exception(exception_type: str, message: str) -> bytes:
    """A ``:message-type: exception`` message, as Bedrock reports an error inside an open stream."""
    return encode_event(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )


class BedrockConverseServer(ModelFake):
    """Bedrock Runtime's Converse and ConverseStream.

    ``models``: when set, other model ids get 400 ``ValidationException``, as Bedrock answers an unknown
    identifier. Script answers with :func:`~tests.fakes.base.say`, :func:`~tests.fakes.base.call_tool`, the
    error helpers of this module or any reply kind of the base; ``stream_error`` on a reply names the
    exception event to end a stream with (``throttlingException``, ``modelStreamErrorException``...).
    ``usage`` records the tokens reported per answer; ``params["model_id"]`` on each request is the decoded
    model id.
    """

    def __init__(self, *, models: Iterable[str] | None = None, default: Any = None) -> None:
        super().__init__(default=default)
        self.models = list(models) if models is not None else None

    @property
    def converse_requests(self) -> list[RecordedRequest]:
        """The Converse and ConverseStream requests received."""
        return [r for r in self.requests if "model_id" in r.params]

    def handle(self, exchange: Exchange) -> None:
        """Route one request."""
        request = exchange.request
        found = None
        streaming = False
        if request.method == "POST":
            found = match_path("/model/{model_id}/converse", request.path)
            if found is None:
                found = match_path("/model/{model_id}/converse-stream", request.path)
                streaming = found is not None
        if found is None:
            self.answer(exchange, bedrock_error("UnknownOperationException", "Unknown operation", status=404))
            return
        model_id = unquote(found["model_id"])
        request.params.update(model_id=model_id, operation="ConverseStream" if streaming else "Converse")
        if not isinstance(request.json, dict) or "messages" not in request.json:
            self.answer(exchange, validation_error("A conversation must start with a user message."))
            return
        if self.models is not None and model_id not in self.models:
            self.answer(exchange, validation_error())
            return
        self.answer(exchange, self.next_reply(request))

    def render(self, exchange: Exchange, reply: Any) -> None:
        """Send a model answer as JSON or as an event stream."""
        if not isinstance(reply, ModelReply):
            super().render(exchange, reply)
            return
        request = exchange.request
        body = request.json
        usage = estimate_tokens(reply, [body.get("system"), body.get("messages")])
        self.record_usage(usage)
        usage_obj = {
            "inputTokens": usage.input_tokens,
            "outputTokens": usage.output_tokens,
            "totalTokens": usage.total_tokens,
        }
        content: list[dict[str, Any]] = []
        if reply.text or not reply.tool_calls:
            content.append({"text": reply.text})
        for call in reply.tool_calls:
            content.append(
                {
                    "toolUse": {
                        "toolUseId": call.id or self.new_id("tooluse_"),
                        "name": call.name,
                        "input": dict(call.arguments),
                    }
                }
            )
        stop_reason = "max_tokens" if reply.truncated else ("tool_use" if reply.tool_calls else "end_turn")
        headers = {"x-amzn-requestid": self.new_id("fake-request-")}
        if request.params["operation"] == "Converse":
            exchange.send_json(
                200,
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": stop_reason,
                    "usage": usage_obj,
                    "metrics": {"latencyMs": 1},
                },
                headers=headers,
            )
            return
        stream = exchange.stream(content_type=EVENT_STREAM_CONTENT_TYPE, headers=headers)

        def event(event_type: str, payload: Mapping[str, Any]) -> None:
            stream.write(encode_stream_event(event_type, payload))
            self.sleep(reply.chunk_delay)

        event("messageStart", {"role": "assistant"})
        for index, block in enumerate(content):
            if "text" in block:
                # Bedrock opens text blocks with their first delta; only tool use gets a start event.
                for piece in text_pieces(block["text"]):
                    event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
            else:
                tool = block["toolUse"]
                event(
                    "contentBlockStart",
                    {
                        "contentBlockIndex": index,
                        "start": {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}},
                    },
                )
                for piece in json_pieces(json.dumps(tool["input"])):
                    event(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}},
                    )
            event("contentBlockStop", {"contentBlockIndex": index})
        if reply.cut:
            stream.cut()
            return
        self.wait_before_final()
        if reply.stream_error:
            stream.write(encode_stream_exception(reply.stream_error, f"fake in-stream {reply.stream_error}"))
            stream.close()
            return
        event("messageStop", {"stopReason": stop_reason})
        stream.close(encode_stream_event("metadata", {"usage": usage_obj, "metrics": {"latencyMs": 1}}))
