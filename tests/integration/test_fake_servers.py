"""The fake services against the real client libraries: what the clients send and decode is the wire format.

The LLM fakes are driven by the openai, anthropic and boto3 SDKs and by pydantic-ai agents; the receivers
by httpx; signatures by the reference standardwebhooks library.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from standardwebhooks import Webhook

from tests.fakes import (
    Accepted,
    AgentService,
    AnthropicMessagesServer,
    BedrockConverseServer,
    Delay,
    Disconnect,
    DiscordWebhook,
    FakeServerError,
    HttpReply,
    ModelReply,
    NtfyServer,
    OpenAIChatServer,
    Output,
    PlainText,
    RecordedRequest,
    SlackWebhook,
    ToolCall,
    WebhookReceiver,
    call_tool,
    call_tools,
    receivers,
    say,
)
from tests.fakes import anthropic_messages as anthropic_fake
from tests.fakes import bedrock_converse as bedrock_fake
from tests.fakes import openai_chat as openai_fake
from tests.fakes.agent_service import rate_limited as agent_rate_limited
from tests.fakes.agent_service import unavailable
from tests.fakes.bedrock_converse import encode_stream_event

try:
    import anthropic
    import openai
    from pydantic_ai import Agent
    from pydantic_ai import exceptions as pydantic_ai_exceptions
    from pydantic_ai.exceptions import ModelConnectionError, ModelHTTPError, UsageLimitExceeded
    from pydantic_ai.messages import (
        FunctionToolCallEvent,
        FunctionToolResultEvent,
        ModelMessagesTypeAdapter,
        ModelRequest,
        ModelResponse,
        PartDeltaEvent,
        PartStartEvent,
        TextPart,
        TextPartDelta,
        UserPromptPart,
    )
    from pydantic_ai.models import Model
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.models.bedrock import BedrockConverseModel
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.anthropic import AnthropicProvider
    from pydantic_ai.providers.bedrock import BedrockProvider
    from pydantic_ai.providers.openai import OpenAIProvider
    from pydantic_ai.settings import ModelSettings
    from pydantic_ai.usage import UsageLimits

    HAVE_LLM_CLIENTS = True
except ImportError:  # pragma: no cover - the LLM client libraries are optional for the rest of the suite
    HAVE_LLM_CLIENTS = False

needs_llm_clients = pytest.mark.skipif(
    not HAVE_LLM_CLIENTS, reason="openai, anthropic and pydantic-ai-slim are not installed"
)

SECRET = "whsec_" + base64.b64encode(b"a test signing key of 32 bytes!!").decode()
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
BEDROCK_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def no_retry_bedrock(base_url: str) -> Any:
    """A bedrock-runtime client that makes one attempt: retrying is the caller's business."""
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=base_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )


# -- the shared server ---------------------------------------------------------------------------------


def test_keep_alive_delay_disconnect_and_chunked_bodies() -> None:
    with WebhookReceiver() as fake, httpx.Client(base_url=fake.base_url) as client:
        for i in range(3):
            assert client.post("/hook", json={"n": i}).status_code == 200
        # One connection served all three: keep-alive framing is right.
        assert fake.connections_opened == 1

        fake.script(Delay(0.3, HttpReply(503, {"busy": True}, {"Retry-After": "2"})), Disconnect())
        started = time.monotonic()
        slow = client.post("/hook", json={})
        assert time.monotonic() - started >= 0.3
        assert (slow.status_code, slow.headers["retry-after"], slow.json()) == (503, "2", {"busy": True})
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/hook", json={})

        def chunks() -> Iterator[bytes]:
            yield b'{"streamed": '
            yield b"true}"

        sent = client.post("/chunked?x=1&x=2", content=chunks(), headers={"content-type": "application/json"})
        assert sent.status_code == 200
        last = fake.requests.last
        assert last.headers["transfer-encoding"] == "chunked"
        assert (last.json, last.query, last.query_list) == (
            {"streamed": True},
            {"x": "2"},
            [("x", "1"), ("x", "2")],
        )
        assert [r.status for r in fake.requests] == [200, 200, 200, 503, 0, 200]
        assert fake.messages[-1] == {"streamed": True}

        # A delivery made from elsewhere (the product's worker thread) can be waited for.
        threading.Thread(
            target=httpx.post, args=(fake.url_for("/late"),), kwargs={"json": {}}, daemon=True
        ).start()
        (late,) = fake.requests.wait_for(1, where=lambda r: r.path == "/late")
        assert late.status == 200


def test_a_finished_stream_leaves_the_connection_reusable() -> None:
    with OpenAIChatServer() as fake, httpx.Client(base_url=fake.base_url) as client:
        fake.script(say("one two three", chunk_delay=0.01))
        body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}
        arrivals: list[float] = []
        with client.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            lines = []
            for line in response.iter_lines():
                arrivals.append(time.monotonic())
                lines.append(line)
        events = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: {")]
        assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events) == "one two three"
        assert lines[-2:] == ["data: [DONE]", ""]
        # Each delta was flushed on its own: they arrived spread over the paced stream, not in one read.
        assert arrivals[-1] - arrivals[0] >= 0.03
        assert client.get("/v1/models").status_code == 200
        assert fake.connections_opened == 1


def test_respond_callables_defaults_and_failures_surface() -> None:
    def respond(request: RecordedRequest) -> Any:
        return HttpReply(201, {"echo": request.json}) if request.json.get("create") else None

    fake = WebhookReceiver(default=respond)
    with fake, httpx.Client(base_url=fake.base_url) as client:
        assert client.post("/", json={"create": 1}).status_code == 201
        # None from the callable falls back to the builtin acceptance.
        assert client.post("/", json={"create": 0}).json() == {"received": True}
        assert fake.pending == 0
        fake.script(lambda request: 1 / 0)
        assert client.post("/", json={}).status_code == 500
        fake.errors.clear()
    broken = WebhookReceiver().start()
    broken.script(lambda request: 1 / 0)
    assert httpx.post(broken.url, json={}).status_code == 500
    with pytest.raises(FakeServerError):
        broken.__exit__(None, None, None)


def test_servers_start_and_stop_fast() -> None:
    with httpx.Client() as client:
        started = time.monotonic()
        for _ in range(20):
            with OpenAIChatServer() as fake:
                # The client keeps an idle keep-alive connection open: stopping must not wait for it.
                assert client.get(fake.url_for("/v1/models")).status_code == 200
        assert time.monotonic() - started < 2


# -- OpenAI Chat Completions -------------------------------------------------------------------------------


def _openai_tool_round(request: RecordedRequest) -> ModelReply:
    """Call the weather tool until its result is in the conversation, then answer with it."""
    results = [m["content"] for m in request.json["messages"] if m["role"] == "tool"]
    if results:
        return say(f"The weather in Paris is {results[-1]}.")
    return call_tool("get_weather", {"city": "Paris"})


@needs_llm_clients
def test_openai_sdk_plain_streamed_and_tool_round() -> None:
    with OpenAIChatServer(api_key="sk-test", models=[OPENAI_MODEL]) as fake:
        client = openai.OpenAI(base_url=fake.api_base, api_key="sk-test", max_retries=0)
        fake.script(say("Hello there, how are you?"))
        plain = client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "Say hello to me"}]
        )
        assert plain.object == "chat.completion"
        assert plain.choices[0].message.content == "Hello there, how are you?"
        assert plain.choices[0].finish_reason == "stop"
        assert (plain.usage.prompt_tokens, plain.usage.completion_tokens, plain.usage.total_tokens) == (
            4,
            5,
            9,
        )
        assert fake.requests.last.headers["authorization"] == "Bearer sk-test"

        fake.script(say("one two three four"))
        chunks = list(
            client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=[{"role": "user", "content": "count"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(deltas) == 4
        assert "".join(deltas) == "one two three four"
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-2].choices[0].finish_reason == "stop"
        assert chunks[-1].choices == []
        assert chunks[-1].usage.completion_tokens == 4

        fake.script(_openai_tool_round, _openai_tool_round)
        tool_chunks = list(
            client.chat.completions.create(
                model=OPENAI_MODEL, messages=[{"role": "user", "content": "weather?"}], stream=True
            )
        )
        calls = [tc for c in tool_chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
        assert calls[0].id
        assert calls[0].function.name == "get_weather"
        assert calls[0].function.arguments == ""
        pieces = [tc.function.arguments for tc in calls[1:]]
        assert len(pieces) > 1
        assert json.loads("".join(pieces)) == {"city": "Paris"}
        assert all(tc.id is None for tc in calls[1:])
        assert tool_chunks[-1].choices[0].finish_reason == "tool_calls"
        answer = client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": calls[0].id,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "".join(pieces)},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
            ],
        )
        assert answer.choices[0].message.content == "The weather in Paris is sunny."
        assert [m.get("role") for m in fake.requests.last.json["messages"]] == ["user", "assistant", "tool"]

        assert [m.id for m in client.models.list()] == [OPENAI_MODEL]


@needs_llm_clients
def test_openai_stream_holds_final_chunk_until_released() -> None:
    with OpenAIChatServer() as fake:
        client = openai.OpenAI(base_url=fake.api_base, api_key="k", max_retries=0)
        gate = fake.hold_streams()
        fake.script(say("first then more"))
        stream = iter(
            client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=[{"role": "user", "content": "go"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert next(stream).choices[0].delta.role == "assistant"
        assert next(stream).choices[0].delta.content == "first "
        assert fake.stream_held.wait(5)
        assert not gate.is_set()
        gate.set()
        rest = list(stream)
        assert rest[-1].usage is not None
        assert rest[-2].choices[0].finish_reason == "stop"


@needs_llm_clients
def test_openai_sdk_errors() -> None:
    with OpenAIChatServer(api_key="sk-right", models=[OPENAI_MODEL]) as fake:
        wrong = openai.OpenAI(base_url=fake.api_base, api_key="sk-wrong-key", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as denied:
            wrong.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "x"}])
        assert denied.value.status_code == 401
        assert denied.value.code == "invalid_api_key"

        client = openai.OpenAI(base_url=fake.api_base, api_key="sk-right", max_retries=0)
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model="gpt-nope", messages=[{"role": "user", "content": "x"}])
        assert missing.value.code == "model_not_found"

        fake.script(openai_fake.rate_limited(retry_after=7), openai_fake.server_error(503))
        before = len(fake.requests)
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "x"}])
        assert limited.value.response.headers["retry-after"] == "7"
        assert limited.value.body == {
            "message": "Rate limit reached for requests. Please try again later.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
        with pytest.raises(openai.InternalServerError) as unavailable_error:
            client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "x"}])
        assert unavailable_error.value.status_code == 503
        # max_retries=0: one request per call, no sleeping retries inside the SDK.
        assert len(fake.requests) - before == 2


# -- Anthropic Messages ------------------------------------------------------------------------------------


def _anthropic_tool_round(request: RecordedRequest) -> ModelReply:
    results = [
        block["content"]
        for message in request.json["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    if results:
        return say(f"The weather in Paris is {_result_text(results[-1])}.")
    return call_tool("get_weather", {"city": "Paris"})


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


@needs_llm_clients
def test_anthropic_sdk_create_stream_and_errors() -> None:
    with AnthropicMessagesServer(api_key="ak-test", models=[ANTHROPIC_MODEL]) as fake:
        client = anthropic.Anthropic(base_url=fake.base_url, api_key="ak-test", max_retries=0)
        fake.script(call_tool("get_weather", {"city": "Paris"}, text="Let me check."))
        created = client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=100, messages=[{"role": "user", "content": "weather in Paris?"}]
        )
        assert created.stop_reason == "tool_use"
        assert [b.type for b in created.content] == ["text", "tool_use"]
        assert created.content[1].input == {"city": "Paris"}
        # Words of the prompt; words of the text plus the tool name and its JSON arguments.
        assert (created.usage.input_tokens, created.usage.output_tokens) == (3, 6)
        sent = fake.requests.last.headers
        # Recent SDKs send the key as a bearer token, older ones as x-api-key; the service takes either.
        assert "ak-test" in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
        assert "anthropic-version" in fake.requests.last.headers

        fake.script(say("Sunny and warm today."))
        with client.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=100, messages=[{"role": "user", "content": "and now?"}]
        ) as stream:
            texts = list(stream.text_stream)
            final = stream.get_final_message()
        assert texts == ["Sunny ", "and ", "warm ", "today."]
        assert final.stop_reason == "end_turn"
        assert final.usage.output_tokens == 4

        fake.script(call_tool("get_weather", {"city": "Oslo"}))
        with client.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=100, messages=[{"role": "user", "content": "Oslo?"}]
        ) as stream:
            events = list(stream)
        partials = [e.partial_json for e in events if e.type == "input_json"]
        assert len(partials) > 1
        assert json.loads("".join(partials)) == {"city": "Oslo"}
        assert stream.get_final_message().content[0].input == {"city": "Oslo"}

        fake.script(
            anthropic_fake.overloaded(),
            anthropic_fake.rate_limited(retry_after=9),
            say("partial answer", stream_error="overloaded_error"),
        )
        with pytest.raises(anthropic.APIStatusError) as overloaded:
            client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        assert overloaded.value.status_code == 529
        assert overloaded.value.body["error"]["type"] == "overloaded_error"
        with pytest.raises(anthropic.RateLimitError) as limited:
            client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        assert limited.value.response.headers["retry-after"] == "9"
        with (
            pytest.raises(anthropic.APIStatusError) as in_stream,
            client.messages.stream(
                model=ANTHROPIC_MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
            ) as stream,
        ):
            list(stream.text_stream)
        assert "overloaded_error" in str(in_stream.value)

        denied_client = anthropic.Anthropic(base_url=fake.base_url, api_key="wrong", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            denied_client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(anthropic.NotFoundError):
            client.messages.create(
                model="claude-nope", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        assert (
            client.messages.count_tokens(
                model=ANTHROPIC_MODEL, messages=[{"role": "user", "content": "three words here"}]
            ).input_tokens
            == 3
        )


# -- Bedrock Converse --------------------------------------------------------------------------------------


def _bedrock_tool_round(request: RecordedRequest) -> ModelReply:
    results = [
        block["toolResult"]
        for message in request.json["messages"]
        for block in message["content"]
        if "toolResult" in block
    ]
    if results:
        texts = [part.get("text") or json.dumps(part.get("json")) for part in results[-1]["content"]]
        return say(f"The weather in Paris is {''.join(texts)}.")
    return call_tool("get_weather", {"city": "Paris"})


def test_bedrock_converse_and_event_stream_decode_in_botocore() -> None:
    with BedrockConverseServer(models=[BEDROCK_MODEL]) as fake:
        client = no_retry_bedrock(fake.base_url)
        fake.script(call_tool("get_weather", {"city": "Paris"}, text="Checking."))
        response = client.converse(
            modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": "weather in Paris"}]}]
        )
        assert response["stopReason"] == "tool_use"
        content = response["output"]["message"]["content"]
        assert content[0] == {"text": "Checking."}
        assert content[1]["toolUse"]["input"] == {"city": "Paris"}
        assert response["usage"] == {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}
        recorded = fake.requests.last
        assert recorded.params["model_id"] == BEDROCK_MODEL
        assert recorded.headers["authorization"].startswith("AWS4-HMAC-SHA256")

        fake.script(call_tools(ToolCall("a", {"x": 1}), ToolCall("b", {"y": "two"}), text="Two tools now"))
        events = list(
            client.converse_stream(
                modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": "go"}]}]
            )["stream"]
        )
        kinds = [next(iter(e)) for e in events]
        assert kinds[0] == "messageStart"
        assert kinds[-2:] == ["messageStop", "metadata"]
        text = "".join(
            e["contentBlockDelta"]["delta"]["text"]
            for e in events
            if "contentBlockDelta" in e and "text" in e["contentBlockDelta"]["delta"]
        )
        assert text == "Two tools now"
        starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
        assert [(s["contentBlockIndex"], s["start"]["toolUse"]["name"]) for s in starts] == [
            (1, "a"),
            (2, "b"),
        ]
        tool_input = "".join(
            e["contentBlockDelta"]["delta"]["toolUse"]["input"]
            for e in events
            if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == 2
        )
        assert json.loads(tool_input) == {"y": "two"}
        assert events[-1]["metadata"]["usage"]["totalTokens"] == fake.usage[-1].total_tokens

        fake.script(
            bedrock_fake.throttled(),
            bedrock_fake.access_denied(),
            say("cut short", stream_error="throttlingException"),
        )
        with pytest.raises(ClientError) as throttled:
            client.converse(modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}])
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert type(throttled.value).__name__ == "ThrottlingException"
        with pytest.raises(ClientError) as denied:
            client.converse(modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}])
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
        stream = client.converse_stream(
            modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}]
        )
        with pytest.raises(EventStreamError) as in_stream:
            list(stream["stream"])
        assert in_stream.value.response["Error"]["Code"] == "throttlingException"
        with pytest.raises(ClientError) as invalid:
            client.converse(modelId="no-such-model", messages=[{"role": "user", "content": [{"text": "x"}]}])
        assert invalid.value.response["Error"] == {
            "Code": "ValidationException",
            "Message": "The provided model identifier is invalid.",
        }
        # total_max_attempts=1: the throttled call was sent once.
        assert len(fake.requests) == 6


def test_event_stream_framing_matches_botocore_decoder() -> None:
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    frame = encode_stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hé"}})
    buffer.add_data(frame[:7])
    buffer.add_data(frame[7:] + encode_stream_event("messageStop", {"stopReason": "end_turn"}))
    first, second = list(buffer)
    assert first.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(first.payload) == {"contentBlockIndex": 0, "delta": {"text": "hé"}}
    assert second.headers[":event-type"] == "messageStop"


# -- pydantic-ai agents end to end -------------------------------------------------------------------------


@dataclass
class Backend:
    """One provider: its fake, a model speaking to it, and its tool-round responder."""

    name: str
    fake: Any
    model: Any
    tool_round: Callable[[RecordedRequest], ModelReply]


def _backend(name: str) -> AbstractContextManager[Backend]:
    from contextlib import contextmanager

    @contextmanager
    def running() -> Iterator[Backend]:
        no_retries = ModelSettings(max_retries=0)
        if name == "openai":
            with OpenAIChatServer(api_key="sk-test") as fake:
                model = OpenAIChatModel(
                    OPENAI_MODEL,
                    provider=OpenAIProvider(base_url=fake.api_base, api_key="sk-test"),
                    settings=no_retries,
                )
                yield Backend(name, fake, model, _openai_tool_round)
        elif name == "anthropic":
            with AnthropicMessagesServer(api_key="ak-test") as fake:
                model = AnthropicModel(
                    ANTHROPIC_MODEL,
                    provider=AnthropicProvider(base_url=fake.base_url, api_key="ak-test"),
                    settings=no_retries,
                )
                yield Backend(name, fake, model, _anthropic_tool_round)
        else:
            with BedrockConverseServer() as fake:
                model = BedrockConverseModel(
                    BEDROCK_MODEL, provider=BedrockProvider(bedrock_client=no_retry_bedrock(fake.base_url))
                )
                yield Backend(name, fake, model, _bedrock_tool_round)

    return running()


def _weather_agent(model: Model) -> Agent[None, str]:
    agent = Agent(model, instructions="Answer weather questions with the tool.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return "sunny" if city == "Paris" else "unknown"

    return agent


PROVIDERS = ["openai", "anthropic", "bedrock"]


def _streamed(request: RecordedRequest) -> bool:
    if "operation" in request.params:
        return request.params["operation"] == "ConverseStream"
    return request.json.get("stream") is True


@needs_llm_clients
@pytest.mark.parametrize("provider", PROVIDERS)
def test_pydantic_ai_agent_tool_round(provider: str) -> None:
    with _backend(provider) as backend:
        backend.fake.default = backend.tool_round
        result = _weather_agent(backend.model).run_sync("What is the weather in Paris?")
        assert result.output == "The weather in Paris is sunny."
        usage = result.usage
        total = backend.fake.total_usage()
        assert (usage.requests, usage.tool_calls) == (2, 1)
        assert (usage.input_tokens, usage.output_tokens) == (total.input_tokens, total.output_tokens)
        assert len(backend.fake.requests) == 2


@needs_llm_clients
@pytest.mark.parametrize("provider", PROVIDERS)
def test_pydantic_ai_streamed_run_sees_tool_calls_then_text_deltas(provider: str) -> None:
    with _backend(provider) as backend:
        backend.fake.default = backend.tool_round
        agent = _weather_agent(backend.model)

        async def collect() -> tuple[list[str], Any]:
            seen: list[str] = []
            async with agent.run_stream_events("What is the weather in Paris?") as events:
                async for event in events:
                    if isinstance(event, FunctionToolCallEvent):
                        seen.append(f"call:{event.part.tool_name}:{event.part.args_as_dict()}")
                    elif isinstance(event, FunctionToolResultEvent):
                        seen.append(f"result:{event.part.content}")
                    elif isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                        seen.append(f"text:{event.part.content}")
                    elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                        seen.append(f"text:{event.delta.content_delta}")
            return seen, events.result

        seen, result = asyncio.run(collect())
        assert seen[:2] == ["call:get_weather:{'city': 'Paris'}", "result:sunny"]
        texts = [s.removeprefix("text:") for s in seen[2:]]
        assert len(texts) > 1
        assert "".join(texts) == "The weather in Paris is sunny."
        assert result.output == "The weather in Paris is sunny."
        assert result.usage.output_tokens == backend.fake.total_usage().output_tokens
        assert all(_streamed(r) for r in backend.fake.requests)


@needs_llm_clients
@pytest.mark.parametrize("provider", PROVIDERS)
def test_pydantic_ai_receives_first_delta_while_the_model_is_still_answering(provider: str) -> None:
    with _backend(provider) as backend:
        gate = backend.fake.hold_streams()
        backend.fake.script(say("early words then the rest"))
        agent = Agent(backend.model)

        async def first_delta_then_release() -> str:
            async with agent.run_stream("hi") as run:
                async for text in run.stream_text(delta=True, debounce_by=None):
                    if not gate.is_set():
                        # The first words are here and the server is parked before its final piece.
                        assert await asyncio.to_thread(backend.fake.stream_held.wait, 5)
                        assert text == "early "
                        gate.set()
            return await run.get_output()

        assert asyncio.run(first_delta_then_release()) == "early words then the rest"


@needs_llm_clients
@pytest.mark.parametrize("provider", PROVIDERS)
def test_pydantic_ai_message_history_reaches_the_wire(provider: str) -> None:
    with _backend(provider) as backend:
        history = [
            ModelRequest(parts=[UserPromptPart(content="My name is Ada.")]),
            ModelResponse(parts=[TextPart(content="Nice to meet you, Ada.")]),
        ]
        backend.fake.script(say("Your name is Ada."))
        result = Agent(backend.model).run_sync("What is my name?", message_history=history)
        assert result.output == "Your name is Ada."
        sent = backend.fake.requests.last.json["messages"]
        wire = json.dumps(sent)
        assert (
            wire.index("My name is Ada.")
            < wire.index("Nice to meet you, Ada.")
            < wire.index("What is my name?")
        )
        assert [m["role"] for m in sent][-3:] == ["user", "assistant", "user"]
        assert len(result.new_messages()) == 2
        assert len(result.all_messages()) == 4

        # A conversation stored as JSON continues where it stopped.
        stored = result.all_messages_json()
        backend.fake.script(say("You asked my name."))
        Agent(backend.model).run_sync(
            "What did I ask?", message_history=ModelMessagesTypeAdapter.validate_json(stored)
        )
        wire = json.dumps(backend.fake.requests.last.json["messages"])
        assert (
            wire.index("What is my name?") < wire.index("Your name is Ada.") < wire.index("What did I ask?")
        )


@needs_llm_clients
@pytest.mark.parametrize(
    ("provider", "error", "status"),
    [
        ("openai", "server_error", 500),
        ("anthropic", "overloaded_error", 529),
        ("bedrock", "throttlingException", 429),
    ],
)
def test_pydantic_ai_reports_errors_inside_an_open_stream(provider: str, error: str, status: int) -> None:
    with _backend(provider) as backend:
        backend.fake.script(say("half an answer", stream_error=error), say("half an answer", cut=True))
        agent = Agent(backend.model)

        async def stream_all() -> str:
            async with agent.run_stream("hi") as run:
                return await run.get_output()

        with pytest.raises(ModelHTTPError) as raised:
            asyncio.run(stream_all())
        assert (raised.value.status_code, raised.value.in_stream) == (status, True)
        with pytest.raises(ModelConnectionError):
            asyncio.run(stream_all())


@needs_llm_clients
def test_pydantic_ai_usage_limits_stop_a_tool_loop() -> None:
    with _backend("openai") as backend:
        backend.fake.default = call_tool("get_weather", {"city": "Paris"})
        with pytest.raises(UsageLimitExceeded, match="request_limit of 2"):
            _weather_agent(backend.model).run_sync("loop", usage_limits=UsageLimits(request_limit=2))
        assert len(backend.fake.requests) == 2


@needs_llm_clients
@pytest.mark.parametrize(
    ("provider", "reply", "category", "status", "retry_after"),
    [
        ("openai", openai_fake.rate_limited(retry_after=3), "ModelRateLimitError", 429, 3.0),
        ("openai", openai_fake.invalid_api_key(), "ModelAuthenticationError", 401, None),
        ("openai", openai_fake.model_not_found(OPENAI_MODEL), "ModelNotFoundError", 404, None),
        ("openai", openai_fake.server_error(500), "ModelServerError", 500, None),
        ("anthropic", anthropic_fake.rate_limited(retry_after=4), "ModelRateLimitError", 429, 4.0),
        ("anthropic", anthropic_fake.overloaded(), "ModelOverloadedError", 529, None),
        ("anthropic", anthropic_fake.authentication_error(), "ModelAuthenticationError", 401, None),
        ("bedrock", bedrock_fake.throttled(), "ModelRateLimitError", 429, None),
        ("bedrock", bedrock_fake.access_denied(), "ModelAuthenticationError", 403, None),
        ("bedrock", bedrock_fake.validation_error(), "ModelNotFoundError", 400, None),
        ("bedrock", bedrock_fake.service_unavailable(), "ModelUnavailableError", 503, None),
    ],
)
def test_pydantic_ai_maps_provider_errors_without_retrying(
    provider: str, reply: HttpReply, category: str, status: int, retry_after: float | None
) -> None:
    with _backend(provider) as backend:
        backend.fake.script(reply)
        with pytest.raises(ModelHTTPError) as raised:
            Agent(backend.model).run_sync("hi")
        error = raised.value
        assert isinstance(error, getattr(pydantic_ai_exceptions, category))
        assert (error.status_code, error.retry_after) == (status, retry_after)
        assert len(backend.fake.requests) == 1


# -- receivers ---------------------------------------------------------------------------------------------


def test_discord_webhook_accepts_and_rejects_as_discord() -> None:
    with DiscordWebhook() as discord, httpx.Client() as client:
        assert client.post(discord.url, json={"content": "hello"}).status_code == 204
        posted = client.post(
            discord.url + "?wait=true", json={"embeds": [{"title": "Alert", "description": "x"}]}
        )
        assert posted.status_code == 200
        assert posted.json()["webhook_id"] == discord.webhook_id
        assert posted.json()["embeds"][0]["title"] == "Alert"
        assert discord.messages == [
            {"content": "hello"},
            {"embeds": [{"title": "Alert", "description": "x"}]},
        ]

        def rejected(payload: dict[str, Any]) -> dict[str, Any]:
            answer = client.post(discord.url, json=payload)
            assert answer.status_code == 400
            return answer.json()

        too_long = rejected({"content": "x" * 2001})
        assert too_long["code"] == 50035
        assert too_long["message"] == "Invalid Form Body"
        assert too_long["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        assert rejected({"embeds": [{"title": "t"}] * 11})["errors"]["embeds"]["_errors"][0]["message"] == (
            "Must be 10 or fewer in length."
        )
        assert "title" in rejected({"embeds": [{"title": "t" * 257}]})["errors"]["embeds"]["0"]
        assert "description" in rejected({"embeds": [{"description": "d" * 4097}]})["errors"]["embeds"]["0"]
        assert "footer" in rejected({"embeds": [{"footer": {"text": "f" * 2049}}]})["errors"]["embeds"]["0"]
        field_errors = rejected({"embeds": [{"fields": [{"name": "n" * 257, "value": "v" * 1025}]}]})
        assert set(field_errors["errors"]["embeds"]["0"]["fields"]["0"]) == {"name", "value"}
        total = rejected({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]})
        assert total["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
        assert rejected({"content": "   "}) == {"message": "Cannot send an empty message", "code": 50006}
        # Surrounding whitespace does not count towards the limits.
        assert client.post(discord.url, json={"content": " " * 50 + "x" * 2000}).status_code == 204

        wrong_token = client.post(discord.url.replace(discord.token, "nope"), json={"content": "x"})
        assert (wrong_token.status_code, wrong_token.json()["code"]) == (401, 50027)
        wrong_id = client.post(discord.url.replace(discord.webhook_id, "42"), json={"content": "x"})
        assert (wrong_id.status_code, wrong_id.json()) == (404, {"message": "Unknown Webhook", "code": 10015})

        discord.script(receivers.discord_rate_limited(0.25), receivers.discord_unknown_webhook())
        limited = client.post(discord.url, json={"content": "x"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json() == {
            "message": "You are being rate limited.",
            "retry_after": 0.25,
            "global": False,
        }
        assert client.post(discord.url, json={"content": "x"}).json()["code"] == 10015


def test_slack_webhook_accepts_and_rejects_as_slack() -> None:
    with SlackWebhook() as slack, httpx.Client() as client:
        ok = client.post(
            slack.url,
            json={"text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]},
        )
        assert (ok.status_code, ok.text, ok.headers["content-type"]) == (
            200,
            "ok",
            "text/plain; charset=utf-8",
        )

        def answer(payload: Any) -> tuple[int, str]:
            response = client.post(slack.url, json=payload)
            return response.status_code, response.text

        section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
        assert answer({"text": "t", "blocks": [section] * 51}) == (400, "invalid_blocks")
        long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
        assert answer({"text": "t", "blocks": [long_section]}) == (400, "invalid_blocks")
        header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
        assert answer({"text": "t", "blocks": [header]}) == (400, "invalid_blocks")
        assert answer({"text": "t", "blocks": [{"type": "mystery"}]}) == (400, "invalid_blocks")
        assert answer({"text": ""}) == (400, "no_text")
        assert answer({"text": "t", "blocks": [section] * 50})[0] == 200
        form = client.post(slack.url, data={"payload": json.dumps({"text": "from a form"})})
        assert form.text == "ok"
        assert slack.messages[-1] == {"text": "from a form"}
        assert client.post(slack.base_url + "/services/T/B/wrong", json={"text": "x"}).text == "no_service"

        slack.script(
            receivers.slack_no_service(),
            receivers.slack_channel_is_archived(),
            receivers.slack_invalid_token(),
            receivers.slack_rate_limited(12),
        )
        assert answer({"text": "x"}) == (404, "no_service")
        assert answer({"text": "x"}) == (410, "channel_is_archived")
        assert answer({"text": "x"}) == (403, "invalid_token")
        limited = client.post(slack.url, json={"text": "x"})
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "12")


def test_ntfy_publishes_json_and_refuses_oversized_messages() -> None:
    with NtfyServer(token="tk_test") as ntfy, httpx.Client(base_url=ntfy.base_url) as client:
        auth = {"Authorization": "Bearer tk_test"}

        def publish(payload: dict[str, Any], headers: dict[str, str] = auth) -> httpx.Response:
            return client.post("/", json=payload, headers=headers)

        notice = {
            "topic": "alerts",
            "message": "Disk full",
            "title": "Server",
            "priority": 4,
            "tags": ["warning"],
            "click": "https://example.com/run/1",
        }
        published = publish(notice)
        assert published.status_code == 200
        body = published.json()
        assert body == {
            **notice,
            "id": body["id"],
            "time": body["time"],
            "expires": body["expires"],
            "event": "message",
        }
        by_path = client.post(
            "/alerts", content="plain body", headers={**auth, "X-Title": "T", "X-Priority": "high"}
        )
        assert (by_path.json()["priority"], by_path.json()["title"]) == (4, "T")

        # The limit is in bytes: 2048 two-byte characters fit, one more byte does not.
        assert publish({"topic": "alerts", "message": "é" * 2048}).status_code == 200
        too_big = publish({"topic": "alerts", "message": "x" * 4097})
        assert (too_big.status_code, too_big.json()["code"], too_big.json()["http"]) == (413, 41303, 413)

        assert publish({"topic": "alerts", "message": "m", "priority": 6}).json()["code"] == 40007
        assert publish({"topic": "alerts", "message": "m", "priority": "4"}).json()["code"] == 40024
        assert publish({"topic": "bad topic!", "message": "m"}).json()["code"] == 40009
        assert publish({"topic": "alerts", "message": "m"}, headers={}).status_code == 403
        assert publish({"topic": "alerts"}, headers={"Authorization": "Bearer no"}).status_code == 401

        ntfy.script(receivers.ntfy_rate_limited())
        limited = publish({"topic": "alerts", "message": "m"})
        assert (limited.status_code, limited.json()["code"]) == (429, 42901)
        assert "retry-after" not in limited.headers
        assert [m["message"] for m in ntfy.messages] == ["Disk full", "plain body", "é" * 2048]


def _signed(
    secret: str, body: bytes, *, msg_id: str = "msg_1", when: datetime | None = None
) -> dict[str, str]:
    when = when or datetime.now(tz=UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode()),
    }


def test_webhook_receiver_verifies_standard_webhooks_signatures() -> None:
    body = json.dumps({"event": "run.finished"}).encode()
    with WebhookReceiver(secret=SECRET) as receiver, httpx.Client(base_url=receiver.base_url) as client:
        assert client.post("/hooks/x", content=body, headers=_signed(SECRET, body)).status_code == 200
        other = "whsec_" + base64.b64encode(b"another key, another signature!").decode()
        assert client.post("/hooks/x", content=body, headers=_signed(other, body)).status_code == 401
        assert (
            client.post("/hooks/x", content=body, headers={"webhook-signature": "garbage"}).status_code == 401
        )
        assert [v.ok for v in receiver.verifications] == [True, False, False]
        assert receiver.messages == [{"event": "run.finished"}]


def test_agent_service_verifies_and_answers_from_its_script() -> None:
    run = {
        "run_id": "r1",
        "task": "summarise",
        "source_type": "schedule",
        "source_id": "s1",
        "attempt": 1,
        "payload": {"k": "v"},
    }
    body = json.dumps(run).encode()
    with AgentService(secret=SECRET) as agent, httpx.Client() as client:

        def post(payload: bytes = body, headers: dict[str, str] | None = None) -> httpx.Response:
            return client.post(agent.url, content=payload, headers=headers or _signed(SECRET, payload))

        assert post().json() == {"output": "done: summarise"}
        agent.script(
            Output({"summary": "ok"}),
            PlainText("just text"),
            Accepted(),
            unavailable(retry_after=5),
            agent_rate_limited(),
            HttpReply(500, {"error": "boom"}),
            Delay(0.2, Output("slow")),
        )
        assert post().json() == {"output": {"summary": "ok"}}
        text = post()
        assert (text.text, text.headers["content-type"]) == ("just text", "text/plain; charset=utf-8")
        assert post().status_code == 202
        busy = post()
        assert (busy.status_code, busy.headers["retry-after"]) == (503, "5")
        limited = post()
        assert limited.status_code == 429
        assert "retry-after" not in limited.headers
        assert post().status_code == 500
        started = time.monotonic()
        assert post().json() == {"output": "slow"}
        assert time.monotonic() - started >= 0.2

        stale = post(headers=_signed(SECRET, body, when=datetime.fromtimestamp(time.time() - 3600, tz=UTC)))
        assert stale.status_code == 401
        tampered = post(body.replace(b"summarise", b"delete all"), headers=_signed(SECRET, body))
        assert tampered.status_code == 401
        partial = json.dumps({"run_id": "r2"}).encode()
        assert post(partial).status_code == 422
        assert [v.ok for v in agent.verifications].count(False) == 2
        assert len(agent.runs) == 8
        assert agent.runs[0] == run
