"""Services that receive notifications: a Discord webhook, a Slack incoming webhook, ntfy, and a generic
webhook endpoint that can check Standard Webhooks signatures.

Each records exactly what it got and validates it as the real service does, answering the service's own
error when the message is invalid, so the product has to respect the real limits. Scripted replies (the
error helpers here, :class:`~tests.fakes.base.HttpReply`, :class:`~tests.fakes.base.Delay`...) stand for
the service's transient failures; :data:`ACCEPT` (the default) means "validate and accept".
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from standardwebhooks import Webhook

from tests.fakes.base import Exchange, FakeServer, HttpReply, RecordedRequest, match_path


@dataclass(frozen=True)
class Accept:
    """Validate the request as the service would and accept it when valid."""


ACCEPT = Accept()


class Receiver(FakeServer):
    """A service that accepts deliveries; ``messages`` holds the JSON payloads it accepted."""

    def builtin_default(self, request: RecordedRequest) -> Any:
        """Accept (after validation) when nothing else is scripted."""
        return ACCEPT

    @property
    def messages(self) -> list[Any]:
        """The JSON bodies of the accepted requests, in arrival order."""
        return [r.json for r in self.accepted]

    def deliver(self, exchange: Exchange) -> None:
        """Answer with the next scripted reply; on :data:`ACCEPT`, validate and accept."""
        reply = self.next_reply(exchange.request)
        if isinstance(reply, Accept):
            self.accept(exchange)
        else:
            self.answer(exchange, reply)

    def accept(self, exchange: Exchange) -> None:
        """Validate and answer a delivery the script let through."""
        raise NotImplementedError


# -- Discord -----------------------------------------------------------------------------------------------

DISCORD_EMBED_TOTAL = 6000
DISCORD_TOKEN = "fake-webhook-token"


def discord_rate_limited(retry_after: float = 1.5, *, is_global: bool = False) -> HttpReply:
    """429 as Discord sends it: JSON with a float ``retry_after``, a whole-second ``retry-after`` header."""
    headers = {
        "retry-after": str(math.ceil(retry_after)),
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": f"{time.time() + retry_after:.3f}",
        "x-ratelimit-reset-after": f"{retry_after:.3f}",
        "x-ratelimit-bucket": "fakebucket",
        "x-ratelimit-scope": "global" if is_global else "user",
    }
    if is_global:
        headers["x-ratelimit-global"] = "true"
    return HttpReply(
        429,
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global},
        headers,
    )


def discord_unknown_webhook() -> HttpReply:
    """404 ``Unknown Webhook`` (code 10015): the webhook was deleted."""
    return HttpReply(404, {"message": "Unknown Webhook", "code": 10015})


def discord_invalid_token() -> HttpReply:
    """401 ``Invalid Webhook Token`` (code 50027)."""
    return HttpReply(401, {"message": "Invalid Webhook Token", "code": 50027})


def discord_server_error(status: int = 500) -> HttpReply:
    """A 5xx from Discord."""
    return HttpReply(status, {"message": f"{status}: Internal Server Error", "code": 0})


def _discord_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _too_long(limit: int) -> dict[str, Any]:
    return _discord_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def discord_errors(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``errors`` tree Discord answers a webhook payload with; empty when the payload is valid.

    Lengths are counted without leading and trailing whitespace, as Discord trims before counting.
    """
    errors: dict[str, Any] = {}

    def text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""

    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors["content"] = _discord_error("STRING_TYPE_CONVERT", "Could not interpret value as string.")
    elif len(text(content)) > 2000:
        errors["content"] = _too_long(2000)
    username = payload.get("username")
    if username is not None and not 1 <= len(text(username)) <= 80:
        errors["username"] = _discord_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
    embeds = payload.get("embeds")
    if embeds is None:
        return errors
    if not isinstance(embeds, list):
        errors["embeds"] = _discord_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return errors
    if len(embeds) > 10:
        errors["embeds"] = _too_long(10)
        return errors
    embed_errors: dict[str, Any] = {}
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, Mapping):
            embed_errors[str(index)] = _discord_error(
                "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
            )
            continue
        found: dict[str, Any] = {}
        for key, limit in (("title", 256), ("description", 4096)):
            size = len(text(embed.get(key)))
            total += size
            if size > limit:
                found[key] = _too_long(limit)
        for key in ("url",):
            value = embed.get(key)
            if value is not None and not re.match(r"^https?://\S+$", str(value)):
                found[key] = _discord_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
        color = embed.get("color")
        if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
            found["color"] = _discord_error(
                "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215."
            )
        for key, limit in (("footer", 2048), ("author", 256)):
            part = embed.get(key)
            if isinstance(part, Mapping):
                field_name = "text" if key == "footer" else "name"
                size = len(text(part.get(field_name)))
                total += size
                if size > limit:
                    found[key] = {field_name: _too_long(limit)}
        fields = embed.get("fields") or []
        if len(fields) > 25:
            found["fields"] = _too_long(25)
        else:
            field_errors: dict[str, Any] = {}
            for f_index, item in enumerate(fields):
                item_errors: dict[str, Any] = {}
                for key, limit in (("name", 256), ("value", 1024)):
                    value = text(item.get(key)) if isinstance(item, Mapping) else ""
                    total += len(value)
                    if not value:
                        item_errors[key] = _discord_error("BASE_TYPE_REQUIRED", "This field is required")
                    elif len(value) > limit:
                        item_errors[key] = _too_long(limit)
                if item_errors:
                    field_errors[str(f_index)] = item_errors
            if field_errors:
                found["fields"] = field_errors
        if found:
            embed_errors[str(index)] = found
    if total > DISCORD_EMBED_TOTAL:
        embed_errors.update(
            _discord_error(
                "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {DISCORD_EMBED_TOTAL}"
            )
        )
    if embed_errors:
        errors["embeds"] = embed_errors
    return errors


class DiscordWebhook(Receiver):
    """A Discord channel webhook at ``/api/webhooks/{webhook_id}/{token}`` (``/api/v10/...`` too).

    A POST to another webhook id gets 404 ``Unknown Webhook``; the right id with another token gets 401
    ``Invalid Webhook Token``. Accepted messages get 204, or 200 with the message object when the query
    has ``wait=true``. Invalid payloads get Discord's 400 (50035 ``Invalid Form Body`` with the errors
    tree, 50006 for an empty message, 50109 for bad JSON).
    """

    def __init__(
        self,
        *,
        webhook_id: str = "1180000000000000001",
        token: str = DISCORD_TOKEN,
        channel_id: str = "1180000000000000002",
        default: Any = None,
    ) -> None:
        super().__init__(default=default)
        self.webhook_id = webhook_id
        self.token = token
        self.channel_id = channel_id
        self._next_id = 1180000000000001000

    @property
    def url(self) -> str:
        """The webhook URL to give the product."""
        return f"{self.base_url}/api/webhooks/{self.webhook_id}/{self.token}"

    def handle(self, exchange: Exchange) -> None:
        """Route one request."""
        request = exchange.request
        path = re.sub(r"^/api/v\d+/", "/api/", request.path)
        found = match_path("/api/webhooks/{webhook_id}/{token}", path)
        if found is None:
            exchange.send_json(404, {"message": "404: Not Found", "code": 0})
            return
        request.params.update(found)
        if found["webhook_id"] != self.webhook_id:
            self.answer(exchange, discord_unknown_webhook())
            return
        if found["token"] != self.token:
            self.answer(exchange, discord_invalid_token())
            return
        if request.method != "POST":
            exchange.send_json(405, {"message": "405: Method Not Allowed", "code": 0})
            return
        self.deliver(exchange)

    def accept(self, exchange: Exchange) -> None:
        """Validate as Discord does, then answer 204 (or 200 with the message when ``wait=true``)."""
        request = exchange.request
        if "json" not in request.headers.get("content-type", ""):
            exchange.send_json(400, {"code": 50035, "errors": {}, "message": "Invalid Form Body"})
            return
        payload = request.json
        if not isinstance(payload, dict):
            exchange.send_json(400, {"code": 50109, "message": "The request body contains invalid JSON."})
            return
        errors = discord_errors(payload)
        if errors:
            exchange.send_json(400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"})
            return
        content = payload.get("content")
        has_content = isinstance(content, str) and content.strip() != ""
        if not has_content and not any(
            payload.get(key) for key in ("embeds", "components", "poll", "attachments")
        ):
            exchange.send_json(400, {"message": "Cannot send an empty message", "code": 50006})
            return
        if request.query.get("wait", "").lower() != "true":
            exchange.send(204)
            return
        with self._lock:
            self._next_id += 1
            message_id = str(self._next_id)
        exchange.send_json(
            200,
            {
                "id": message_id,
                "type": 0,
                "content": content or "",
                "channel_id": request.query.get("thread_id", self.channel_id),
                "author": {
                    "id": self.webhook_id,
                    "username": payload.get("username") or "Proactive",
                    "avatar": None,
                    "discriminator": "0000",
                    "bot": True,
                },
                "attachments": [],
                "embeds": payload.get("embeds") or [],
                "mentions": [],
                "mention_roles": [],
                "pinned": False,
                "mention_everyone": False,
                "tts": bool(payload.get("tts", False)),
                "timestamp": datetime.now(UTC).isoformat(),
                "edited_timestamp": None,
                "flags": payload["flags"] if isinstance(payload.get("flags"), int) else 0,
                "components": [],
                "webhook_id": self.webhook_id,
            },
        )


# -- Slack -------------------------------------------------------------------------------------------------

SLACK_SECRET = "XXXXXXXXXXXXXXXXXXXXXXXX"
SLACK_BLOCK_TYPES = {
    "section",
    "header",
    "context",
    "divider",
    "image",
    "actions",
    "rich_text",
    "markdown",
    "input",
    "video",
    "file",
    "table",
}


def slack_error(status: int, error: str, *, headers: Mapping[str, str] | None = None) -> HttpReply:
    """An incoming-webhook error: the status and a plain-text error name (``no_service``...)."""
    return HttpReply(status, error, headers or {}, content_type="text/plain; charset=utf-8")


def slack_rate_limited(retry_after: int = 30) -> HttpReply:
    """429 with ``Retry-After`` in whole seconds."""
    return slack_error(429, "rate_limited", headers={"Retry-After": str(retry_after)})


def slack_no_service() -> HttpReply:
    """404 ``no_service``: the webhook was removed or its app uninstalled."""
    return slack_error(404, "no_service")


def slack_channel_is_archived() -> HttpReply:
    """410 ``channel_is_archived``."""
    return slack_error(410, "channel_is_archived")


def slack_invalid_token() -> HttpReply:
    """403 ``invalid_token``."""
    return slack_error(403, "invalid_token")


def _slack_text(value: Any) -> str | None:
    """The text of a text object, or None when it is not one."""
    if (
        isinstance(value, Mapping)
        and value.get("type") in ("plain_text", "mrkdwn")
        and isinstance(value.get("text"), str)
    ):
        return str(value["text"])
    return None


def slack_block_problem(blocks: Any) -> str | None:
    """The error Slack answers for ``blocks``: None when valid, else ``invalid_blocks_format`` or
    ``invalid_blocks``."""
    if not isinstance(blocks, list):
        return "invalid_blocks_format"
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, Mapping) or block.get("type") not in SLACK_BLOCK_TYPES:
            return "invalid_blocks"
        if len(str(block.get("block_id", ""))) > 255:
            return "invalid_blocks"
        kind = block["type"]
        if kind == "section":
            text = _slack_text(block.get("text")) if "text" in block else None
            fields = block.get("fields")
            if "text" in block and (text is None or not 1 <= len(text) <= 3000):
                return "invalid_blocks"
            if fields is not None:
                if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                    return "invalid_blocks"
                for item in fields:
                    field_text = _slack_text(item)
                    if field_text is None or len(field_text) > 2000:
                        return "invalid_blocks"
            if "text" not in block and fields is None:
                return "invalid_blocks"
        elif kind == "header":
            text_obj = block.get("text")
            text = _slack_text(text_obj)
            if text is None or text_obj.get("type") != "plain_text" or not 1 <= len(text) <= 150:
                return "invalid_blocks"
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                return "invalid_blocks"
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                return "invalid_blocks"
            if not isinstance(block.get("alt_text"), str) or len(block["alt_text"]) > 2000:
                return "invalid_blocks"
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                return "invalid_blocks"
        elif kind == "markdown" and (not isinstance(block.get("text"), str) or len(block["text"]) > 12000):
            return "invalid_blocks"
    return None


class SlackWebhook(Receiver):
    """A Slack incoming webhook at ``/services/{T}/{B}/{X}``.

    Another path gets 404 ``no_service``. Accepts a JSON body (or the form-encoded ``payload=`` field) with
    ``text`` and/or ``blocks`` and answers ``ok``; no text and no blocks is 400 ``no_text``, bad JSON 400
    ``invalid_payload``, invalid blocks 400 ``invalid_blocks`` (over 50 blocks, section text over 3000
    characters, header text over 150...). ``messages`` holds the accepted payloads.
    """

    def __init__(
        self,
        *,
        team: str = "T000FAKE",
        bot: str = "B000FAKE",
        secret: str = SLACK_SECRET,
        default: Any = None,
    ) -> None:
        super().__init__(default=default)
        self.path = f"/services/{team}/{bot}/{secret}"

    @property
    def url(self) -> str:
        """The webhook URL to give the product."""
        return self.base_url + self.path

    @property
    def messages(self) -> list[Any]:
        """The payloads accepted (decoded from the form field when sent form-encoded)."""
        return [_slack_payload(r) for r in self.accepted]

    def handle(self, exchange: Exchange) -> None:
        """Route one request."""
        request = exchange.request
        if request.path.rstrip("/") != self.path:
            self.answer(exchange, slack_no_service())
            return
        if request.method != "POST":
            self.answer(exchange, slack_error(405, "invalid_method"))
            return
        self.deliver(exchange)

    def accept(self, exchange: Exchange) -> None:
        """Validate as Slack does and answer ``ok``."""
        payload = _slack_payload(exchange.request)
        if not isinstance(payload, dict):
            self.answer(exchange, slack_error(400, "invalid_payload"))
            return
        text = payload.get("text")
        has_text = isinstance(text, str) and text.strip() != ""
        if not has_text and not payload.get("blocks") and not payload.get("attachments"):
            self.answer(exchange, slack_error(400, "no_text"))
            return
        if "blocks" in payload and (problem := slack_block_problem(payload["blocks"])):
            self.answer(exchange, slack_error(400, problem))
            return
        exchange.send_text(200, "ok")


def _slack_payload(request: RecordedRequest) -> Any:
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        form = dict(parse_qsl(request.text))
        try:
            return json.loads(form.get("payload", ""))
        except ValueError:
            return None
    if request.json is not None:
        return request.json
    try:
        return json.loads(request.body)
    except ValueError:
        return None


# -- ntfy --------------------------------------------------------------------------------------------------

NTFY_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")


def ntfy_error(code: int, http: int, error: str) -> HttpReply:
    """An ntfy error body ``{"code", "http", "error"}``."""
    return HttpReply(http, {"code": code, "http": http, "error": error})


def ntfy_rate_limited() -> HttpReply:
    """429 (code 42901): ntfy sends no Retry-After."""
    return ntfy_error(42901, 429, "limit reached: too many requests, please be nice")


class NtfyServer(Receiver):
    """An ntfy server.

    JSON publishing: ``POST /`` with ``{"topic", "message", "title", "priority" (1-5), "tags", "click"...}``;
    also ``POST /{topic}`` with the message as the body and ``X-Title``/``X-Priority``/``X-Tags``/``X-Click``
    headers. Answers the stored message object. ``token``: when set, requests need ``Authorization: Bearer
    <token>`` (none: 403, wrong: 401). A message over ``message_limit`` bytes (4096, as ntfy's default) is
    refused with 413, where ntfy would turn it into an attachment: the product must truncate instead.
    ``messages`` holds the message objects answered.
    """

    def __init__(self, *, token: str | None = None, message_limit: int = 4096, default: Any = None) -> None:
        super().__init__(default=default)
        self.token = token
        self.message_limit = message_limit
        self.published: list[dict[str, Any]] = []
        self._seq = 0

    @property
    def url(self) -> str:
        """The server URL to give the product: JSON messages are published to its root."""
        return self.url_for("/")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The message objects the server answered, in order."""
        with self._lock:
            return list(self.published)

    def handle(self, exchange: Exchange) -> None:
        """Route one request."""
        request = exchange.request
        if request.method not in ("POST", "PUT"):
            self.answer(exchange, ntfy_error(40401, 404, "page not found"))
            return
        if self.token is not None:
            given = request.headers.get("authorization")
            if given is None:
                self.answer(exchange, ntfy_error(40301, 403, "forbidden"))
                return
            if given != f"Bearer {self.token}":
                self.answer(exchange, ntfy_error(40101, 401, "unauthorized"))
                return
        self.deliver(exchange)

    def accept(self, exchange: Exchange) -> None:
        """Validate as ntfy does and answer the stored message."""
        request = exchange.request
        invalid_json = ntfy_error(40024, 400, "invalid request: request body must be valid JSON")
        topic_path = request.path.strip("/")
        if topic_path:
            fields = _ntfy_header_fields(request)
            fields["topic"] = topic_path
            fields["message"] = request.text
        else:
            try:
                fields = json.loads(request.body)
            except ValueError:
                fields = None
            # ntfy decodes into typed fields: a value of the wrong JSON type fails the whole body.
            if not isinstance(fields, dict) or not _ntfy_json_types_ok(fields):
                self.answer(exchange, invalid_json)
                return
        topic = fields.get("topic")
        if not isinstance(topic, str) or not NTFY_TOPIC.match(topic):
            self.answer(exchange, ntfy_error(40009, 400, "invalid request: topic invalid"))
            return
        priority = fields.get("priority", 0)
        if isinstance(priority, str) and priority.isdigit():
            priority = int(priority)
        if not isinstance(priority, int) or not 0 <= priority <= 5:
            self.answer(exchange, ntfy_error(40007, 400, "invalid priority parameter"))
            return
        tags = fields.get("tags") or []
        message = fields.get("message") or "triggered"
        if len(message.encode()) > self.message_limit:
            self.answer(exchange, ntfy_error(41303, 413, "JSON body too large"))
            return
        now = int(time.time())
        with self._lock:
            self._seq += 1
            stored: dict[str, Any] = {
                "id": f"fake{self._seq:08d}",
                "time": now,
                "expires": now + 43200,
                "event": "message",
                "topic": topic,
            }
            for key in ("title", "click", "icon"):
                if fields.get(key):
                    stored[key] = fields[key]
            stored["message"] = message
            if priority:
                stored["priority"] = priority
            if tags:
                stored["tags"] = tags
            if fields.get("markdown"):
                stored["content_type"] = "text/markdown"
            self.published.append(stored)
        exchange.send(200, (json.dumps(stored) + "\n").encode(), content_type="application/json")


_NTFY_STRING_FIELDS = ("topic", "message", "title", "click", "icon", "attach", "filename", "email", "delay")


def _ntfy_json_types_ok(fields: Mapping[str, Any]) -> bool:
    """Whether each known field of a JSON publish has the type ntfy's decoder expects."""
    if any(key in fields and not isinstance(fields[key], str) for key in _NTFY_STRING_FIELDS):
        return False
    priority = fields.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        return False
    tags = fields.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return False
    return isinstance(fields.get("markdown", False), bool)


def _ntfy_header_fields(request: RecordedRequest) -> dict[str, Any]:
    """Publishing options from headers (X-Title, Title, t...) or query parameters, as ntfy reads them."""

    def option(*names: str) -> str | None:
        for name in names:
            if (value := request.headers.get(name.lower())) is not None:
                return value
            if (value := request.query.get(name.lower())) is not None:
                return value
        return None

    fields: dict[str, Any] = {}
    if (title := option("X-Title", "Title", "ti", "t")) is not None:
        fields["title"] = title
    if (priority := option("X-Priority", "Priority", "prio", "p")) is not None:
        names = {"min": 1, "low": 2, "default": 3, "high": 4, "max": 5, "urgent": 5}
        fields["priority"] = names.get(priority.lower(), priority)
    if (tags := option("X-Tags", "Tags", "tag", "ta")) is not None:
        fields["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    if (click := option("X-Click", "Click")) is not None:
        fields["click"] = click
    if option("X-Markdown", "Markdown", "md") in ("yes", "1", "true"):
        fields["markdown"] = True
    return fields


# -- a generic webhook endpoint ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one request's Standard Webhooks signature."""

    request: RecordedRequest
    ok: bool
    error: str | None = None


def verify_standard_webhook(secret: str, request: RecordedRequest) -> Verification:
    """Check the ``webhook-id``/``webhook-timestamp``/``webhook-signature`` headers with the reference
    ``standardwebhooks`` library."""
    try:
        Webhook(secret).verify(request.body, dict(request.headers), json_parse=False)
    except Exception as exc:
        # Malformed headers make the library raise plain ValueErrors too; all of them are a failed check.
        return Verification(request, False, f"{type(exc).__name__}: {exc}")
    return Verification(request, True)


class WebhookReceiver(Receiver):
    """Any HTTP endpoint a user points webhooks at: records every request on any path.

    ``secret`` (``whsec_...``): when set, each request's Standard Webhooks signature is verified and a
    failure is answered with 401; ``verifications`` records every outcome. Accepted requests get 200
    ``{"received": true}`` unless scripted otherwise.
    """

    def __init__(self, *, secret: str | None = None, default: Any = None) -> None:
        super().__init__(default=default)
        self.secret = secret
        self.verifications: list[Verification] = []

    @property
    def url(self) -> str:
        """An endpoint to give the product (any other path works too: see ``url_for``)."""
        return self.url_for("/webhook")

    def handle(self, exchange: Exchange) -> None:
        """Verify the signature when a secret is set, then answer from the script."""
        if self.secret is not None:
            result = verify_standard_webhook(self.secret, exchange.request)
            with self._lock:
                self.verifications.append(result)
            if not result.ok:
                exchange.send_json(401, {"error": "invalid signature", "detail": result.error})
                return
        self.deliver(exchange)

    def accept(self, exchange: Exchange) -> None:
        """Answer 200."""
        exchange.send_json(200, {"received": True})
