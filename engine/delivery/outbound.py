"""Where Careloop may send HTTP: no loopback, private, link-local or metadata address unless
an operator allows the host by name (issue #22; ASVS 12.6.1, OWASP SSRF).

A webhook subscription is a URL anyone with an API token chooses: without this policy,
`http://169.254.169.254/…` would read the cloud's metadata and `http://127.0.0.1:6379/` would
talk to the local Redis. It is checked twice: when the URL is saved (a literal address, or a
name that already resolves inside), and when a message goes out, after resolving the name,
against every address it resolves to; the connection then goes to the address that was
checked (`pinned`), so a name that changes its answer in between (DNS rebinding) gains nothing.

`CARELOOP_OUTBOUND_ALLOW` names the hosts an operator trusts (`hooks.internal,127.0.0.1`):
those are exempt, by the name written in the URL.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# What is_global leaves out on its own, named so the refusal can say what it saw.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class OutboundRefused(InvalidInput):
    """A URL whose host is, or resolves to, an address Careloop does not send to."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"url {reason}; an operator can allow the host in CARELOOP_OUTBOUND_ALLOW",
            fields={"url": reason},
        )
        self.url = url


def refusal(address: Address) -> str | None:
    """Why Careloop does not send to `address`, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA:
        return "points at a cloud metadata address"
    if address.is_loopback:
        return "points at a loopback address"
    if address.is_link_local:
        return "points at a link-local address"
    if address.is_multicast:
        return "points at a multicast address"
    if address.is_unspecified:
        return "points at the unspecified address"
    if address.is_private or not address.is_global:
        return "points at a private or reserved address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as the system resolver answers."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True)
class Target:
    """A URL checked for sending: its host, port, and the address to connect to."""

    host: str
    port: int
    address: str


@dataclass(frozen=True)
class OutboundPolicy:
    """The allow-list, and the resolver (the system's; a test gives its own)."""

    allowed: frozenset[str] = frozenset()
    resolver: Resolver = system_resolver

    @classmethod
    def allowing(cls, hosts: Iterable[str], resolver: Resolver = system_resolver) -> OutboundPolicy:
        return cls(frozenset(h.strip().lower() for h in hosts if h.strip()), resolver)

    def check_saved(self, url: str) -> None:
        """At save: refuse a URL whose host is a refused address, or a name resolving to one.
        A name that does not resolve yet is kept: the check at sending decides then."""
        host, port = _host_port(url)
        if host in self.allowed:
            return
        try:
            self.resolve(url)
        except OSError:
            literal = _literal(host)
            if literal is not None and refusal(literal):
                raise OutboundRefused(url, str(refusal(literal))) from None

    def resolve(self, url: str) -> Target:
        """At sending: the host's addresses, every one checked; OutboundRefused if any is
        refused (a name answering a public and a private address is refused too)."""
        host, port = _host_port(url)
        if host in self.allowed:
            return Target(host, port, host)
        literal = _literal(host)
        addresses = [str(literal)] if literal is not None else self.resolver(host, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        for text in addresses:
            reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]))
            if reason is not None:
                raise OutboundRefused(url, reason)
        return Target(host, port, addresses[0])


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an http(s) URL", fields={"url": url})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput("url has an invalid port", fields={"url": url}) from None
    return parts.hostname.lower(), port


def _literal(host: str) -> Address | None:
    """The address written as the host (`127.0.0.1`, `[::1]`, also `0x7f.1` spellings that
    resolvers accept are caught by resolving), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
