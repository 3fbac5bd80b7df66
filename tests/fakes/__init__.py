"""Fake outside services for tests: real HTTP servers on loopback speaking each service's wire format.

Every fake is a context manager yielding a started server with ``base_url``, ``requests`` (what it
received) and a script of replies; see :mod:`tests.fakes.base`.
"""

from tests.fakes.agent_service import Accepted, AgentService, Output, PlainText
from tests.fakes.anthropic_messages import AnthropicMessagesServer, anthropic_error
from tests.fakes.base import (
    Delay,
    Disconnect,
    FakeServer,
    FakeServerError,
    HttpReply,
    ModelReply,
    RecordedRequest,
    RequestLog,
    ToolCall,
    Usage,
    call_tool,
    call_tools,
    say,
)
from tests.fakes.bedrock_converse import BedrockConverseServer, bedrock_error
from tests.fakes.openai_chat import OpenAIChatServer, openai_error
from tests.fakes.receivers import (
    ACCEPT,
    DiscordWebhook,
    NtfyServer,
    SlackWebhook,
    Verification,
    WebhookReceiver,
)

__all__ = [
    "ACCEPT",
    "Accepted",
    "AgentService",
    "AnthropicMessagesServer",
    "BedrockConverseServer",
    "Delay",
    "Disconnect",
    "DiscordWebhook",
    "FakeServer",
    "FakeServerError",
    "HttpReply",
    "ModelReply",
    "NtfyServer",
    "OpenAIChatServer",
    "Output",
    "PlainText",
    "RecordedRequest",
    "RequestLog",
    "SlackWebhook",
    "ToolCall",
    "Usage",
    "Verification",
    "WebhookReceiver",
    "anthropic_error",
    "bedrock_error",
    "call_tool",
    "call_tools",
    "openai_error",
    "say",
]
