"""Outbound HTTP to user-supplied URLs (monitor sources, agent endpoints, agent tools): only to
public addresses, bounded in time and size.

The host is resolved once; every address it resolves to must be public (not loopback, private,
link-local such as the instance metadata service, multicast or reserved) unless an allow-list
setting names its network. The request then goes to the checked address itself, with the host
name kept for the Host header and TLS, so DNS cannot swap in another address in between.
Redirects are not followed: the next hop would not have been checked.

An IPv6 address that carries an IPv4 address is judged by the IPv4 address it leads to, since
a host or a network on the way may deliver it there: IPv4-mapped (::ffff:0:0/96),
IPv4-compatible (::/96), IPv4-translated (::ffff:0:0:0/96), NAT64 (64:ff9b::/96), 6to4
(2002::/16), Teredo (2001::/32: its server and its client, both) and ISATAP (an interface id of
0000:5efe or 0200:5efe, whatever the prefix; the IPv6 address must then be public as well). The
local-use NAT64 prefix (64:ff9b:1::/48) is refused whatever it carries: where the IPv4 address sits
in it is each network's choice, so it cannot be read. The allow-list lets such an address through
when it names the IPv6 address itself, or every IPv4 address it carries that is not public (so
127.0.0.0/8, as the local stack allows, covers ::ffff:127.0.0.1 too).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
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
        # Imported on the first request, not with this module: the API only checks addresses
        # here, and httpx is a large part of a cold start.
        import httpx

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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# ISATAP's interface ids, 0000:5efe and 0200:5efe, with the universal/local and group bits masked
# off, so that their variants (0100:5efe, 0300:5efe) are read the same way.
_ISATAP_MASK, _ISATAP_ID = 0xFCFFFFFF, 0x00005EFE


def _kind(ip: IPAddress) -> str | None:
    """Why an address is not public, or None if it is (its own ranges only: see `_refusal`)."""
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


def _last_32_bits(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def _translated(ip: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """For an address of a prefix that exists to carry IPv4 (its own range says nothing of where
    it leads): the form's name, with its article, and the IPv4 addresses it carries (none when
    they cannot be read). None for any other address."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped", [ip.ipv4_mapped]
    if ip in _IPV4_TRANSLATED:
        return "an IPv4-translated", [_last_32_bits(ip)]
    # :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones.
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible", [_last_32_bits(ip)]
    if ip in _NAT64:
        return "a NAT64", [_last_32_bits(ip)]
    if ip in _NAT64_LOCAL:
        return "a local-use NAT64", []
    if ip.sixtofour is not None:
        return "a 6to4", [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo  # the client's address already un-obfuscated
        return "a Teredo", [server, client]
    return None


def _isatap(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address in an ISATAP interface id, or None."""
    if (int(ip) >> 32) & 0xFFFFFFFF & _ISATAP_MASK == _ISATAP_ID:
        return _last_32_bits(ip)
    return None


def _refusal(ip: IPAddress, allow: Sequence[Network]) -> str | None:
    """Why requests to `ip` are refused ("a loopback address", "a 6to4 address carrying
    169.254.169.254, a link-local address"), or None if they may go there: the address is public
    (and so is every IPv4 address it carries), or the allow-list covers it."""
    if any(ip in net for net in allow):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        # Any prefix may have an ISATAP interface id (6to4 and Teredo ones included).
        isatap = _isatap(ip)
        why = _refusal(isatap, allow) if isatap is not None else None
        if why:
            return f"an ISATAP address carrying {isatap}, {why}"
        translated = _translated(ip)
        if translated is not None:
            form, carried = translated
            if not carried:
                return f"{form} address (the IPv4 address it carries cannot be read)"
            for ipv4 in carried:
                why = _refusal(ipv4, allow)
                if why:
                    return f"{form} address carrying {ipv4}, {why}"
            return None
    kind = _kind(ip)
    return f"a {kind} address" if kind else None


def resolve_public(host: str, port: int, allow: Sequence[Network]) -> str:
    """An address of `host` that may be contacted; Refused if any is refused, OutboundError if it
    does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        why = _refusal(ipaddress.ip_address(address), allow)
        if why:
            raise Refused(f"{host} resolves to {address}, {why}; requests there are refused")
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
    import httpx

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


def retry_after(response: Response) -> float | None:
    """Seconds the receiver asked to wait: `Retry-After` (seconds or an HTTP date), else a JSON
    body's `retry_after`; None when it did not say."""
    header = response.headers.get("retry-after", "").strip()
    if header:
        try:
            seconds = float(header)
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
        else:
            if math.isfinite(seconds):
                return max(0.0, seconds)
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    if isinstance(data, dict):
        value = data.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return max(0.0, float(value))
    return None
