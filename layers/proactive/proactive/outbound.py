"""Outbound HTTP to user-supplied URLs (monitor sources, agent endpoints, agent tools): only to
public addresses, bounded in time and size.

The host is resolved once; every address it resolves to must be public (not loopback, private,
link-local such as the instance metadata service, multicast or reserved) unless an allow-list
setting names its network. The request then goes to the checked address itself, with the host
name kept for the Host header and TLS, so DNS cannot swap in another address in between.
Redirects are not followed: the next hop would not have been checked.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# httpx logs every request's whole URL at INFO, and a URL can be a secret (Discord's and Slack's
# webhook URLs hold their tokens; users put API keys in query strings): a function whose log level
# is INFO (Lambda's advanced logging controls) must not print them.
logging.getLogger("httpx").setLevel(logging.WARNING)


_client: httpx.Client | None = None


def _shared_client() -> httpx.Client:
    """One client per process: building one (and its TLS context) per request costs more than
    the request itself on a warm function."""
    global _client
    if _client is None:
        _client = httpx.Client(follow_redirects=False)
    return _client


class OutboundError(Exception):
    """The request was refused or failed; the message says why, for the check's history."""


class Refused(OutboundError):
    """The URL may not be requested (not http(s), or its host resolves to a refused address):
    trying again will not help until the URL or the allow-list changes."""


class TimedOut(OutboundError):
    """No complete answer within the time allowed."""


class TooLarge(OutboundError):
    """The response body is larger than allowed."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers  # case-insensitive
    body: bytes


def parse_networks(text: str | None) -> list[Network]:
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in (text or "").split(",") if part.strip()
    ]


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not public, or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return _kind(ip.ipv4_mapped)
    for attribute, name in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(ip, attribute):
            return name
    return None if ip.is_global else "non-public"


def resolve_public(host: str, port: int, allow: Sequence[Network]) -> str:
    """An address of `host` that may be contacted; Refused if any is refused, OutboundError if it
    does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address)
        kind = _kind(ip)
        if kind and not any(ip in net for net in allow):
            raise Refused(f"{host} resolves to {address}, a {kind} address; requests there are refused")
    return addresses[0]


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float,
    max_bytes: int,
    allow: Sequence[Network] = (),
) -> Response:
    """Send one request to a public address (or an allowed network) and return the answer, whatever
    its status. Raises Refused, TimedOut, TooLarge or OutboundError saying what failed.

    `timeout` bounds each wait (to connect, for the next bytes), and the answer must be complete
    `timeout` seconds after the call began: a body still arriving then is cut off."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("url must be an http or https URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_public(parts.hostname, port, allow)
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    # Only encodings whose output can be bounded while it is read (a few bytes of brotli can
    # expand to megabytes in one step).
    request_headers = {
        "Accept-Encoding": "gzip, identity",
        **(headers or {}),
        "Host": parts.netloc.rsplit("@", 1)[-1],
    }
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    received = bytearray()
    try:
        with _shared_client().stream(
            method,
            target,
            headers=request_headers,
            content=body,
            extensions=extensions,
            timeout=max(deadline - time.monotonic(), 0.001),
        ) as response:
            for chunk in response.iter_bytes():
                received.extend(chunk)
                if len(received) > max_bytes:
                    raise TooLarge(f"response is larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise TimedOut(f"timed out after {timeout:g} s")
            return Response(response.status_code, response.headers, bytes(received))
    except httpx.TimeoutException:
        raise TimedOut(f"timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise OutboundError(f"request failed: {type(exc).__name__}: {exc}") from None


def fetch_json(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
    allow: Sequence[Network] = (),
) -> Any:
    """GET (or POST) a URL and return its JSON body, or raise OutboundError saying what failed."""
    response = request(method, url, headers=headers, timeout=timeout, max_bytes=max_bytes, allow=allow)
    if not 200 <= response.status < 300:
        raise OutboundError(f"HTTP {response.status} from {urlsplit(url).hostname}")
    try:
        return json.loads(response.body)
    except ValueError:
        raise OutboundError("response is not JSON") from None
