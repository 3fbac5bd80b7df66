"""Notification channels: the types, what each one's config holds, and what of it is secret.

- `discord`: `webhook_url` (Discord's `https://discord.com/api/webhooks/<id>/<token>`, also on
  discordapp.com and the ptb./canary. hosts), optional `username`.
- `slack`: `webhook_url` (`https://hooks.slack.com/services/...`).
- `ntfy`: `topic`, optional `server` (default https://ntfy.sh), `token_secret` (the name of a
  secret holding an access token) and `priority` (1-5, instead of the outcome's).
- `email`: `to` (1-50 addresses), optional `subject_prefix`.
- `webhook`: `url`; its messages are signed with the channel's own secret (`new_channel_secret`).

A Discord or Slack URL must be the service's own, except on a host the outbound allow-list
covers (`OUTBOUND_ALLOW_NETWORKS`; the local stack allows loopback), where any URL whose path
has the service's shape is taken, so receivers on the local stack can stand in for the service.
An ntfy server or a webhook URL may be anywhere the outbound guard lets requests go.

The token of a Discord or Slack webhook is in its URL, so the API shows the URL masked.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from proactive import outbound
from proactive.errors import InvalidInput
from proactive.lib.signatures import new_secret
from proactive.lib.text import unsafe_character
from proactive.models.common import without_credentials
from proactive.secret_store import NAME as SECRET_NAME
from proactive.settings import get_settings

CHANNEL_TYPES = ("discord", "slack", "ntfy", "email", "webhook")

DEFAULT_NTFY_SERVER = "https://ntfy.sh"
MASK = "••••"
MAX_URL_LENGTH = 2000
MAX_RECIPIENTS = 50

_DISCORD_HOSTS = frozenset(
    f"{sub}{domain}" for sub in ("", "ptb.", "canary.") for domain in ("discord.com", "discordapp.com")
)
_DISCORD_PREFIX = re.compile(r"^/api(?:/v[0-9]{1,2})?/webhooks/")
_DISCORD_PATH = re.compile(r"^(/api(?:/v[0-9]{1,2})?/webhooks/)([0-9]{1,25})/[A-Za-z0-9_-]{1,100}/?$")
# A webhook may post into a thread of its channel.
_DISCORD_QUERY = re.compile(r"^(thread_id=[0-9]{1,25})?$")
_SLACK_HOSTS = frozenset({"hooks.slack.com"})
# /services/<team>/<hook>/<token>, as Slack issues them (and the two-part form of older URLs).
_SLACK_PATH = re.compile(r"^(/services/[A-Za-z0-9_-]{1,40}/(?:[A-Za-z0-9_-]{1,40}/)?)[A-Za-z0-9_-]{1,100}/?$")
_NO_QUERY = re.compile(r"^$")
_URL_PART = re.compile(r"[A-Za-z0-9_-]+")
_NTFY_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

# Each type's settings: name -> required.
_KEYS: dict[str, dict[str, bool]] = {
    "discord": {"webhook_url": True, "username": False},
    "slack": {"webhook_url": True},
    "ntfy": {"topic": True, "server": False, "token_secret": False, "priority": False},
    "email": {"to": True, "subject_prefix": False},
    "webhook": {"url": True},
}


def new_channel_secret() -> str:
    """A fresh signing secret for a webhook channel (Standard Webhooks: `whsec_` and base64)."""
    return new_secret("standard")


def _invalid(key: str, problem: str) -> InvalidInput:
    field = f"config.{key}" if key else "config"
    return InvalidInput(f"{field}: {problem}", field=field, details=[{"field": field, "message": problem}])


def validate(type_: str, config: Any) -> dict[str, Any]:
    """The config of a channel of `type_`, checked and normalised (defaults filled in); raises
    InvalidInput naming `type` or `config.<key>` otherwise."""
    if type_ not in CHANNEL_TYPES:
        raise InvalidInput(f"type: must be one of {', '.join(CHANNEL_TYPES)}", field="type")
    if not isinstance(config, Mapping):
        raise _invalid("", "must be an object")
    keys = _KEYS[type_]
    for key in config:
        if key not in keys:
            raise _invalid(str(key), f"is not a setting of a {type_} channel (settings: {', '.join(keys)})")
    given = {key: value for key, value in config.items() if value is not None}
    for key, required in keys.items():
        if required and key not in given:
            raise _invalid(key, "is required")
    return _VALIDATORS[type_](given)


def _text(config: Mapping[str, Any], key: str, max_length: int) -> str:
    value = config[key]
    if not isinstance(value, str):
        raise _invalid(key, "must be a string")
    value = value.strip()
    if not value or len(value) > max_length:
        raise _invalid(key, f"must be 1 to {max_length} characters")
    if problem := unsafe_character(value):
        raise _invalid(key, f"must not contain {problem}")
    return value


def _url_parts(url: str, key: str) -> tuple[SplitResult, int]:
    """The parts of an http(s) URL and the port it reaches."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise _invalid(key, "has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(key, "must be an http or https URL with a host")
    try:
        without_credentials(url)
    except ValueError as exc:
        raise _invalid(key, str(exc)) from None
    if parts.fragment:
        raise _invalid(key, "must not have a #fragment")
    return parts, port or (443 if parts.scheme == "https" else 80)


def _on_allowed_host(host: str, port: int) -> bool:
    """Whether `host` (an address, or a name) resolves only to addresses the outbound allow-list
    names: where loopback receivers may stand in for Discord and Slack."""
    allow = outbound.parse_networks(get_settings().outbound_allow_networks)
    if not allow:
        return False
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    # An IPv6 address may come with its zone (fe80::1%eth0), which is no part of the address.
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return bool(addresses) and all(any(ip in net for net in allow) for ip in addresses)


@dataclass(frozen=True)
class _Service:
    """A service whose webhook URLs carry their token: which hosts are its own, the shape of its
    URLs, and what to tell someone whose URL does not have that shape."""

    name: str
    hosts: frozenset[str]
    shape: str
    path: re.Pattern[str]
    query: re.Pattern[str]
    path_problem: Callable[[str], str]
    query_problem: str


def _part_problem(label: str, part: str, most: int, *, secret: bool = False) -> str | None:
    """What is wrong with one part of a webhook URL's path, or None. A secret part (the token) is
    never repeated, only its first wrong character."""
    shown = "" if secret else f" {part[:40]!r}"
    if not part:
        return f"the {label} is missing"
    if len(part) > most:
        return f"the {label}{shown} is longer than {most} characters"
    if not _URL_PART.fullmatch(part):
        bad = _URL_PART.sub("", part)[0]
        return f"the {label}{shown} may hold only letters, digits, '-' and '_', not {bad!r}"
    return None


def _discord_path_problem(path: str) -> str:
    prefix = _DISCORD_PREFIX.match(path)
    if prefix is None:
        return "the path must start with /api/webhooks/"
    parts = path[prefix.end() :].removesuffix("/").split("/")
    if not parts[0]:
        return "the numeric id after /api/webhooks/ is missing"
    if not re.fullmatch(r"[0-9]{1,25}", parts[0]):
        return f"the id {parts[0][:40]!r} is not a number of at most 25 digits"
    if len(parts) == 1:
        return "the token after the id is missing"
    if len(parts) > 2:
        return "nothing may follow the token"
    return _part_problem("token", parts[1], 100, secret=True) or "the path does not have that shape"


def _slack_path_problem(path: str) -> str:
    if not path.startswith("/services/"):
        return "the path must start with /services/"
    parts = path.removeprefix("/services/").removesuffix("/").split("/")
    if len(parts) < 2:
        return "it needs the team id, the webhook id and the token after /services/"
    if len(parts) > 3:
        return "nothing may follow the token"
    # Older URLs have no team id.
    labels = ("team id", "webhook id", "token")[-len(parts) :]
    for label, part in zip(labels, parts, strict=True):
        secret = label == "token"
        problem = _part_problem(label, part, 100 if secret else 40, secret=secret)
        if problem:
            return problem
    return "the path does not have that shape"


_DISCORD = _Service(
    "Discord",
    _DISCORD_HOSTS,
    "https://discord.com/api/webhooks/<numeric id>/<token>",
    _DISCORD_PATH,
    _DISCORD_QUERY,
    _discord_path_problem,
    "its only query may be thread_id=<numeric id>",
)
_SLACK = _Service(
    "Slack",
    _SLACK_HOSTS,
    "https://hooks.slack.com/services/<team id>/<webhook id>/<token>",
    _SLACK_PATH,
    _NO_QUERY,
    _slack_path_problem,
    "it has no query",
)


def _service_url(config: Mapping[str, Any], service: _Service) -> str:
    """A webhook URL of `service`: on one of its hosts (https, port 443), or on a host the allow
    list covers; refused, saying which part is wrong, when it does not have the service's shape."""
    url = _text(config, "webhook_url", MAX_URL_LENGTH)
    parts, port = _url_parts(url, "webhook_url")
    host = parts.hostname or ""
    official = parts.scheme == "https" and host in service.hosts and port == 443
    reachable = official or _on_allowed_host(host, port)
    path_ok, query_ok = service.path.match(parts.path), service.query.match(parts.query)
    if path_ok and query_ok and reachable:
        return url
    if not reachable and host in service.hosts:
        problem = "it must be https on the default port"
    elif not reachable:
        problem = f"the host {host!r} is not {service.name}'s ({', '.join(sorted(service.hosts))})"
    elif not path_ok:
        problem = service.path_problem(parts.path)
    else:
        problem = service.query_problem
    raise _invalid("webhook_url", f"a {service.name} webhook URL is {service.shape}; {problem}")


def _guarded_url(config: Mapping[str, Any], key: str) -> str:
    """A URL the outbound guard lets requests go to (its host resolves to public addresses, or to
    ones the allow-list names)."""
    url = _text(config, key, MAX_URL_LENGTH)
    parts, port = _url_parts(url, key)
    allow = outbound.parse_networks(get_settings().outbound_allow_networks)
    try:
        outbound.resolve_public(parts.hostname or "", port, allow)
    except outbound.OutboundError as exc:
        raise _invalid(key, str(exc)) from None
    return url


def _discord(config: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {"webhook_url": _service_url(config, _DISCORD)}
    if "username" in config:
        username = _text(config, "username", 80)
        # Discord refuses webhook names containing these words.
        if any(word in username.lower() for word in ("discord", "clyde")):
            raise _invalid("username", "must not contain 'discord' or 'clyde' (Discord refuses them)")
        checked["username"] = username
    return checked


def _slack(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"webhook_url": _service_url(config, _SLACK)}


def _ntfy(config: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    if "server" in config:
        server = _text(config, "server", MAX_URL_LENGTH).rstrip("/")
        if _url_parts(server, "server")[0].query:
            raise _invalid("server", "must not have a query")
        # The public server is known to be public: no look-up needed.
        if server != DEFAULT_NTFY_SERVER:
            _guarded_url({"server": server}, "server")
        checked["server"] = server
    else:
        checked["server"] = DEFAULT_NTFY_SERVER
    topic = config["topic"]
    if not isinstance(topic, str) or not _NTFY_TOPIC.match(topic):
        raise _invalid("topic", "must be 1 to 64 letters, digits, '-' or '_'")
    checked["topic"] = topic
    if "token_secret" in config:
        name = config["token_secret"]
        if not isinstance(name, str) or not SECRET_NAME.match(name):
            raise _invalid("token_secret", "must be a secret name: 1 to 128 letters, digits, '_', '.' or '-'")
        checked["token_secret"] = name
    if "priority" in config:
        priority = config["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5:
            raise _invalid("priority", "must be a whole number from 1 (min) to 5 (max)")
        checked["priority"] = priority
    return checked


def _email(config: Mapping[str, Any]) -> dict[str, Any]:
    recipients = config["to"]
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise _invalid("to", f"must be a list of 1 to {MAX_RECIPIENTS} email addresses")
    seen: set[str] = set()
    for address in recipients:
        if not isinstance(address, str) or len(address) > 254 or not _EMAIL.match(address):
            raise _invalid("to", f"{str(address)[:100]!r} is not an email address")
        if address.lower() in seen:
            raise _invalid("to", f"lists {address!r} more than once")
        seen.add(address.lower())
    checked: dict[str, Any] = {"to": list(recipients)}
    if "subject_prefix" in config:
        checked["subject_prefix"] = _text(config, "subject_prefix", 100)
    return checked


def _webhook(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"url": _guarded_url(config, "url")}


_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "discord": _discord,
    "slack": _slack,
    "ntfy": _ntfy,
    "email": _email,
    "webhook": _webhook,
}


def masked_url(url: str, type_: str) -> str:
    """A Discord or Slack webhook URL as it may be shown: its host and enough of its path to tell
    it from another, never the token."""
    parts = urlsplit(url)
    found = (_DISCORD_PATH if type_ == "discord" else _SLACK_PATH).match(parts.path)
    if found is None or parts.hostname is None:
        return MASK
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    if type_ == "discord":
        shown = f"{found.group(1)}{found.group(2)[:4]}…/{MASK}"
    else:
        shown = f"{found.group(1)}{MASK}"
    return f"{parts.scheme}://{host}{shown}"


def mask(type_: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's config as the API shows it: webhook URLs' tokens masked, secrets left out."""
    shown = {key: value for key, value in config.items() if key != "secret"}
    if isinstance(shown.get("webhook_url"), str):
        shown["webhook_url"] = masked_url(shown["webhook_url"], type_)
    return shown
