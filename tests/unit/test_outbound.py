"""The outbound guard: which addresses a user-supplied URL may reach, IPv6 forms that carry an IPv4
address included, whether given as a literal or resolved from a host name."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from proactive import outbound

LOCAL_STACK = outbound.parse_networks("127.0.0.0/8,::1/128")  # what the local stack and the tests allow


def _forms(ipv4: str) -> dict[str, str]:
    """Every IPv6 form that carries `ipv4`, by name."""
    n = int(ipaddress.IPv4Address(ipv4))
    high, low = f"{n >> 16:x}", f"{n & 0xFFFF:x}"
    hidden = n ^ 0xFFFFFFFF  # Teredo obfuscates its client's address
    return {
        "IPv4-mapped": f"::ffff:{ipv4}",
        "IPv4-compatible": f"::{ipv4}",
        "IPv4-translated": f"::ffff:0:{ipv4}",
        "NAT64": f"64:ff9b::{ipv4}",
        "6to4": f"2002:{high}:{low}::1",
        "Teredo server": f"2001:0:{high}:{low}:8000:0:f7f7:f7f7",  # client 8.8.8.8
        "Teredo client": f"2001:0:808:808:8000:0:{hidden >> 16:x}:{hidden & 0xFFFF:x}",  # server 8.8.8.8
        "ISATAP": f"2600:1f18:1:2:0:5efe:{high}:{low}",
        "ISATAP global": f"2600:1f18:1:2:200:5efe:{high}:{low}",
    }


REFUSED = [
    (form, address, ipv4, kind)
    for ipv4, kind in (("169.254.169.254", "link-local"), ("10.0.0.1", "private"), ("127.0.0.1", "loopback"))
    for form, address in _forms(ipv4).items()
]


def _refusal(address: str, allow: list[outbound.Network] | None = None) -> str:
    with pytest.raises(outbound.Refused) as caught:
        outbound.resolve_public(address, 80, allow or [])
    return str(caught.value)


@pytest.mark.parametrize(("form", "address", "ipv4", "kind"), REFUSED)
def test_an_ipv6_form_carrying_a_non_public_ipv4_address_is_refused(
    form: str, address: str, ipv4: str, kind: str
) -> None:
    message = _refusal(address)
    assert f"carrying {ipv4}, a {kind} address; requests there are refused" in message
    assert form.split()[0] in message


@pytest.mark.parametrize(("form", "address"), _forms("8.8.8.8").items())
def test_the_same_forms_carrying_a_public_ipv4_address_are_allowed(form: str, address: str) -> None:
    assert ipaddress.ip_address(outbound.resolve_public(address, 80, [])) == ipaddress.ip_address(address)


@pytest.mark.parametrize("ipv4", ["169.254.169.254", "10.0.0.1", "127.0.0.1", "8.8.8.8"])
def test_the_local_use_nat64_prefix_is_refused_whatever_it_carries(ipv4: str) -> None:
    # Where the IPv4 address sits in 64:ff9b:1::/48 is each network's choice: it cannot be read.
    assert "a local-use NAT64 address" in _refusal(f"64:ff9b:1::{ipv4}")


def test_an_isatap_address_must_itself_be_public_too() -> None:
    assert "a private address" in _refusal("fd00:1:2:3:200:5efe:808:808")  # unique local, public IPv4


def test_the_refusal_says_what_the_address_carries() -> None:
    assert _refusal("2002:a9fe:a9fe::1") == (
        "2002:a9fe:a9fe::1 resolves to 2002:a9fe:a9fe::1, a 6to4 address carrying 169.254.169.254, "
        "a link-local address; requests there are refused"
    )


@pytest.mark.parametrize("address", ["::1", "::", "fe80::1", "fd00::1", "ff02::1", "127.0.0.1", "10.1.2.3"])
def test_plain_non_public_addresses_stay_refused(address: str) -> None:
    _refusal(address)


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "2002:7f00:1::1", "64:ff9b::7f00:1", "2600:1f18:1:2:0:5efe:7f00:1", "::1"]
)
def test_an_allow_list_naming_the_carried_ipv4_network_lets_the_form_through(address: str) -> None:
    # The local stack allows loopback: a form carrying 127.0.0.1 reaches 127.0.0.1, which it allows.
    assert outbound.resolve_public(address, 80, LOCAL_STACK)


def test_an_allow_list_naming_the_ipv6_address_itself_lets_it_through() -> None:
    assert outbound.resolve_public("2002:a00:1::1", 80, outbound.parse_networks("2002:a00:1::/48"))
    # ...but covering another carried address is not enough.
    assert "169.254.169.254" in _refusal("2002:a9fe:a9fe::1", LOCAL_STACK)


@pytest.mark.parametrize(("form", "address", "ipv4", "kind"), REFUSED)
def test_a_host_name_resolving_to_such_a_form_is_refused(
    form: str, address: str, ipv4: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        assert host == "metadata.example"
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(outbound.Refused) as caught:
        # Refused before any connection (unit tests fail any attempt to connect).
        outbound.request("GET", "http://metadata.example/latest/meta-data/", timeout=1, max_bytes=1024)
    assert str(caught.value).startswith(f"metadata.example resolves to {address}, ")
    assert f"carrying {ipv4}, a {kind} address" in str(caught.value)


def test_one_refused_address_among_several_refuses_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:a9fe:a9fe", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert "169.254.169.254, a link-local address" in _refusal("mixed.example")
