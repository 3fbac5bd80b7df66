"""Sending a rendered notice to its channel, and what the receiver's answer means.

A delivery ends one of four ways:

- `sent`: the receiver took it.
- `retry`: it may take it later (a rate limit, a 5xx, a timeout, a connection error), after
  `retry_after` seconds when the receiver said.
- `gone`: the receiver says the channel is no more (a deleted webhook, an archived Slack channel,
  a revoked token): no message will get through until the user changes the channel.
- `failed`: this message cannot be sent as it is (refused as invalid, a missing secret...).

Discord, Slack, ntfy and webhook channels are HTTP POSTs through the outbound guard (no
redirects, bounded in time and size). Email goes through SMTP when `SMTP_HOST` is set, else
Amazon SES. What is recorded of an answer is bounded and never holds a webhook URL or token.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from proactive import aws, outbound
from proactive.lib.signatures import signed_headers
from proactive.models.notifications import ChannelRecord
from proactive.notifications.channels import DEFAULT_NTFY_SERVER, MASK
from proactive.notifications.render import Rendered
from proactive.secret_store import SecretMissing, resolve, resolve_platform
from proactive.settings import get_settings

Status = Literal["sent", "retry", "gone", "failed"]
ANSWER_CHARS = 1000
NTFY_MIN_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Delivery:
    """How one attempt to deliver went. `answer` is what the receiver said (bounded, without
    secrets); `reason`, for gone and failed, a sentence the user can act on."""

    status: Status
    http_status: int | None
    answer: str
    retry_after: float | None = None
    reason: str | None = None


def deliver(channel: ChannelRecord, rendered: Rendered, *, message_id: str, now: datetime) -> Delivery:
    """Send `rendered` to `channel` (its `type`, `config`, and `secret` for a webhook channel) once.

    `message_id` identifies the message across retries (the webhook channel's `webhook-id`, the
    email's Message-ID); `now` dates it."""
    type_, config = channel.type, channel.config
    if type_ == "email":
        return _email(config, rendered.payload, message_id, now)
    if type_ in ("discord", "slack"):
        url = config["webhook_url"]
        path = urlsplit(url).path
        # Their URL holds the token: neither it, nor its path, nor the token may be repeated.
        hide = [url, path, path.rstrip("/").rsplit("/", 1)[-1]]
        return _post(url, rendered.body, {}, _discord if type_ == "discord" else _slack, hide)
    if type_ == "ntfy":
        return _ntfy(channel.workspace_id, config, rendered)
    if type_ == "webhook":
        return _webhook(channel, rendered, message_id, now)
    raise ValueError(f"no channel type {type_!r}")


def bounded(text: str, hide: Sequence[str] = ()) -> str:
    """Text as an answer may hold it: each of `hide` masked, at most ANSWER_CHARS characters."""
    for secret in sorted(hide, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 1] + "…"


def _json(response: outbound.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _wait(response: outbound.Response) -> float | None:
    """Seconds the receiver asked to wait: a JSON `retry_after` first (Discord's float is more
    precise than its whole-second header), else `Retry-After`."""
    wait = _json(response).get("retry_after")
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait < 86400:
        return float(wait)
    return outbound.retry_after(response)


Classify = Callable[[outbound.Response, str], Delivery]


def _post(
    url: str, body: bytes, headers: Mapping[str, str], classify: Classify, hide: Sequence[str] = ()
) -> Delivery:
    """POST the JSON body; 2xx is sent, 408, 429 and 5xx are retried, a redirect failed, and the
    rest as `classify(response, answer)` says."""
    settings = get_settings()
    try:
        response = outbound.request(
            "POST",
            url,
            headers={"Content-Type": "application/json", **headers},
            body=body,
            timeout=settings.outbound_timeout_seconds,
            max_bytes=settings.outbound_max_response_bytes,
            allow=outbound.parse_networks(settings.outbound_allow_networks),
        )
    except (outbound.Refused, outbound.TooLarge) as exc:
        said = bounded(str(exc), hide)
        return Delivery("failed", None, said, reason=f"Not delivered: {said}.")
    except outbound.OutboundError as exc:  # timed out, could not connect or resolve
        return Delivery("retry", None, bounded(str(exc), hide))
    status = response.status
    said = bounded(response.body.decode("utf-8", errors="replace").strip(), hide)
    said = said or f"{status} {http.client.responses.get(status, '')}".strip()
    if 200 <= status < 300:
        return Delivery("sent", status, said)
    if status in (408, 429) or status >= 500:
        return Delivery("retry", status, said, retry_after=_wait(response))
    if 300 <= status < 400:
        reason = f"The receiver answered HTTP {status}, a redirect, which is not followed: set the final URL."
        return Delivery("failed", status, said, reason=reason)
    return classify(response, said)


def _discord_errors(tree: Any, path: str = "") -> list[str]:
    """Discord's nested `errors` as "embeds.0.description: Must be 4096 or fewer in length."."""
    if not isinstance(tree, Mapping):
        return []
    found = [
        f"{path}: {item.get('message')}" for item in tree.get("_errors", []) if isinstance(item, Mapping)
    ]
    for key, child in tree.items():
        if key != "_errors":
            found += _discord_errors(child, f"{path}.{key}" if path else str(key))
    return found


def _discord(response: outbound.Response, said: str) -> Delivery:
    status, data = response.status, _json(response)
    if status == 401 or data.get("code") == 50027:
        gone = "Discord refused the webhook's token (Invalid Webhook Token)"
    elif status == 404 or data.get("code") == 10015:
        gone = "Discord says the webhook no longer exists (Unknown Webhook)"
    else:
        # 400 50035 (Invalid Form Body) lists what Discord found wrong with the message.
        details = "".join(f"; {e}" for e in _discord_errors(data.get("errors"))[:5])
        reason = f"Discord refused the message (HTTP {status}: {data.get('message') or said}{details})."
        return Delivery("failed", status, said, reason=bounded(reason))
    fix = "copy a webhook URL from the Discord channel's settings (Integrations, Webhooks) into this channel"
    return Delivery("gone", status, said, reason=f"{gone}: {fix}.")


_SLACK_GONE = {
    "no_service": "Slack says the webhook no longer exists (no_service): it was revoked or its app removed",
    "channel_is_archived": "The Slack channel the webhook posts to is archived (channel_is_archived)",
    "channel_not_found": "The Slack channel the webhook posts to no longer exists (channel_not_found)",
    "invalid_token": "Slack refused the webhook's token (invalid_token)",
    "team_disabled": "The Slack workspace of the webhook is disabled (team_disabled)",
    "no_team": "The Slack workspace of the webhook no longer exists (no_team)",
}


def _slack(response: outbound.Response, said: str) -> Delivery:
    status = response.status
    word = next((w for w in _SLACK_GONE if re.search(rf"\b{w}\b", said)), None)
    if word is None and status not in (404, 410):
        reason = f"Slack refused the message (HTTP {status}: {said})."
        return Delivery("failed", status, said, reason=bounded(reason))
    gone = _SLACK_GONE[word] if word else f"Slack says the webhook is gone (HTTP {status})"
    return Delivery(
        "gone", status, said, reason=f"{gone}: add an incoming webhook and put its URL in this channel."
    )


def _ntfy(workspace_id: str, config: Mapping[str, Any], rendered: Rendered) -> Delivery:
    name, topic = config.get("token_secret"), config["topic"]
    token = ""
    if name:
        try:
            # The channel's own workspace's secret, never another's nor the platform's.
            token = resolve(workspace_id, name)
        except SecretMissing as exc:
            reason = f"The ntfy access token could not be read: {exc}. Set it, or remove token_secret."
            return Delivery("failed", None, str(exc), reason=reason)

    def classify(response: outbound.Response, said: str) -> Delivery:
        status, error = response.status, str(_json(response).get("error") or said)
        if status == 401:
            fix = "check the secret token_secret names" if name else "set token_secret"
            return Delivery("gone", status, said, reason=f"ntfy refused the access token ({error}): {fix}.")
        if status == 403:
            why = "the topic is reserved, or the token may not write to it"
            return Delivery(
                "gone", status, said, reason=f"ntfy refused to publish to {topic} ({error}): {why}."
            )
        return Delivery("failed", status, said, reason=bounded(f"ntfy refused the message ({error})."))

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # JSON messages are published to the server's root, the topic being in the body.
    server = str(config.get("server") or DEFAULT_NTFY_SERVER).rstrip("/")
    delivery = _post(server + "/", rendered.body, headers, classify, [token])
    if delivery.http_status == 429:
        # ntfy says nothing of when to come back.
        wait = max(NTFY_MIN_RETRY_SECONDS, delivery.retry_after or 0.0)
        return Delivery("retry", 429, delivery.answer, retry_after=wait)
    return delivery


def _webhook(channel: ChannelRecord, rendered: Rendered, message_id: str, now: datetime) -> Delivery:
    secret = channel.secret
    if not secret:
        return Delivery("failed", None, "not sent", reason="This webhook channel has no signing secret.")
    body, timestamp = rendered.body, int(now.timestamp())
    headers = signed_headers(secret, message_id, timestamp, body)

    def classify(response: outbound.Response, said: str) -> Delivery:
        status = response.status
        if status == 410:
            reason = "The endpoint answered 410 Gone: it takes no more messages. Update this channel's url."
            return Delivery("gone", status, said, reason=reason)
        hint = (
            " (does it check signatures with this channel's current secret?)" if status in (401, 403) else ""
        )
        reason = f"The endpoint refused the message with HTTP {status}{hint}: {said}"
        return Delivery("failed", status, said, reason=bounded(reason))

    return _post(channel.config["url"], body, headers, classify, [secret])


# -- email ------------------------------------------------------------------------------------------------

DEFAULT_EMAIL_FROM = "notifications@proactive.local"
# SES errors that pass: its sending rate, or the service itself.
_SES_TRANSIENT = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable", "InternalFailure"}
)


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class EmailSettings:
    """How email is sent, read from the environment at each send: SMTP when `SMTP_HOST` is set
    (`SMTP_PORT`, default 587; `SMTP_USERNAME`; `SMTP_PASSWORD_SECRET`, the name of the secret
    holding the password; `SMTP_FROM_EMAIL`, default `EMAIL_FROM`; `SMTP_STARTTLS`, default true
    except on loopback), else Amazon SES from `EMAIL_FROM` (default notifications@proactive.local)."""

    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password_secret: str | None
    smtp_from_email: str
    smtp_starttls: bool
    email_from: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmailSettings:
        """The settings in `environ` (default: the process environment); ValueError says which
        one is wrong."""
        env = os.environ if environ is None else environ
        host = env.get("SMTP_HOST") or None
        port = env.get("SMTP_PORT") or "587"
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"SMTP_PORT={port[:20]!r} is not a port number")
        starttls = (env.get("SMTP_STARTTLS") or "").strip().lower()
        if starttls not in ("", "true", "1", "yes", "false", "0", "no"):
            raise ValueError(f"SMTP_STARTTLS={starttls[:20]!r} must be true or false")
        email_from = env.get("EMAIL_FROM") or DEFAULT_EMAIL_FROM
        return cls(
            smtp_host=host,
            smtp_port=int(port),
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password_secret=env.get("SMTP_PASSWORD_SECRET") or None,
            smtp_from_email=env.get("SMTP_FROM_EMAIL") or email_from,
            smtp_starttls=starttls in ("true", "1", "yes") if starttls else not _loopback(host),
            email_from=email_from,
        )


def _email(config: Mapping[str, Any], mail: Mapping[str, str], message_id: str, now: datetime) -> Delivery:
    try:
        settings = EmailSettings.from_env()
    except ValueError as exc:
        return Delivery("failed", None, str(exc), reason=f"Email is not set up right: {exc}.")
    if settings.smtp_host:
        return _smtp(settings, config["to"], mail, message_id, now)
    return _ses(settings.email_from, config["to"], mail)


def _smtp(
    settings: EmailSettings, to: Sequence[str], mail: Mapping[str, str], message_id: str, now: datetime
) -> Delivery:
    host = str(settings.smtp_host)
    message = EmailMessage()
    message["Subject"] = mail["subject"]
    message["From"] = settings.smtp_from_email
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(now)
    domain = parseaddr(settings.smtp_from_email)[1].rpartition("@")[2] or "proactive.local"
    message["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9._-]', '', message_id)}@{domain}>"
    message.set_content(mail["text"])
    message.add_alternative(mail["html"], subtype="html")
    try:
        # The operator's setting names a platform secret: no workspace configuration reaches it.
        password = resolve_platform(settings.smtp_password_secret) if settings.smtp_password_secret else ""
    except SecretMissing as exc:
        return Delivery("failed", None, str(exc), reason=f"The SMTP password could not be read: {exc}.")
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=get_settings().outbound_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, password)
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        said = bounded(_refusals(exc.recipients))
        if any(400 <= code < 500 for code, _ in exc.recipients.values()):
            return Delivery("retry", None, said)
        return Delivery("failed", None, said, reason=f"The SMTP server refused every recipient: {said}")
    except smtplib.SMTPResponseException as exc:
        said = bounded(f"{exc.smtp_code} {_text(exc.smtp_error)}")
        if not 500 <= exc.smtp_code < 600:
            return Delivery("retry", None, said)
        check = " (check SMTP_USERNAME and SMTP_PASSWORD_SECRET)" if exc.smtp_code == 535 else ""
        return Delivery("failed", None, said, reason=f"The SMTP server refused{check}: {said}")
    except (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as exc:
        # No STARTTLS or AUTH where the settings ask for it, or an untrusted certificate.
        said = bounded(str(exc))
        return Delivery("failed", None, said, reason=f"The SMTP server cannot be used as set up: {said}")
    except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out
        return Delivery("retry", None, bounded(f"could not send through {host}: {exc}"))
    said = f"accepted by {host} for {len(to) - len(refused)} of {len(to)} recipients"
    return Delivery("sent", None, bounded(said + (f"; refused {_refusals(refused)}" if refused else "")))


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply


def _refusals(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    return "; ".join(f"{who}: {code} {_text(reply)}" for who, (code, reply) in refused.items())


@cache
def _ses_client() -> Any:
    # Made on first use and kept: warm invocations reuse it.
    return aws.client("ses")


def _ses(source: str, to: Sequence[str], mail: Mapping[str, str]) -> Delivery:
    content = {
        "Subject": {"Data": mail["subject"], "Charset": "UTF-8"},
        "Body": {
            "Text": {"Data": mail["text"], "Charset": "UTF-8"},
            "Html": {"Data": mail["html"], "Charset": "UTF-8"},
        },
    }
    try:
        sent = _ses_client().send_email(Source=source, Destination={"ToAddresses": list(to)}, Message=content)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code")), str(error.get("Message") or "")
        said = bounded(f"{code}: {message}")
        if code in _SES_TRANSIENT or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            return Delivery("retry", None, said)
        # SES refuses senders (and, in its sandbox, recipients) not verified in the account.
        hint = " Verify the addresses in Amazon SES." if "not verified" in message else ""
        reason = bounded(f"Amazon SES refused the message ({said}).{hint}")
        return Delivery("failed", None, said, reason=reason)
    except BotoCoreError as exc:
        return Delivery("retry", None, bounded(f"could not reach Amazon SES: {exc}"))
    return Delivery("sent", None, f"accepted by Amazon SES as message {sent['MessageId']}")
