"""Outbound HTTP for monitor sources: only to public addresses, bounded in time and size.

The host is resolved once; every address it resolves to must be public (not loopback, private,
link-local such as the instance metadata service, multicast or reserved) unless an allow-list
setting names its network. The request then goes to the checked address itself, with the host
name kept for the Host header and TLS, so DNS cannot swap in another address in between.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    """An address of `host` that may be contacted; OutboundError if any is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address)
        kind = _kind(ip)
        if kind and not any(ip in net for net in allow):
            raise OutboundError(f"{host} resolves to {address}, a {kind} address; requests there are refused")
    return addresses[0]


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
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError("url must be an http or https URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_public(parts.hostname, port, allow)
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    request_headers = {**(headers or {}), "Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    body = bytearray()
    try:
        with _shared_client().stream(
            method, target, headers=request_headers, extensions=extensions, timeout=timeout
        ) as response:
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise OutboundError(f"response is larger than {max_bytes} bytes")
            status = response.status_code
    except httpx.TimeoutException:
        raise OutboundError(f"timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise OutboundError(f"request failed: {type(exc).__name__}: {exc}") from None
    if not 200 <= status < 300:
        raise OutboundError(f"HTTP {status} from {parts.hostname}")
    try:
        return json.loads(bytes(body))
    except ValueError:
        raise OutboundError("response is not JSON") from None
