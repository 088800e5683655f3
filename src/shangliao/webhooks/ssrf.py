"""Where a webhook may be sent: never to the server's own network unless the operator allows it.

A shop's URL is untrusted: pointed at 127.0.0.1, 10.x, 169.254.169.254 (a cloud's metadata
service) or [::ffff:127.0.0.1], a webhook would make this server send requests into the network it
runs in. So the host is resolved and every address it resolves to must be global (loopback,
private, link-local, CGNAT, unique-local and IPv4-mapped forms of them are not), checked when the
URL is saved **and again before every send**; the send then connects to the address that was
checked (keeping the host name for ``Host`` and TLS), so a name that resolves elsewhere a moment
later (DNS rebinding) changes nothing. Redirects are never followed.

``SHANGLIAO_WEBHOOK_ALLOW_PRIVATE=true`` lifts the address rule (and allows plain http) for an
operator whose receivers live on their own network, and for the tests' local receiver.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_

Resolve = Callable[..., list]


@dataclass(frozen=True)
class Target:
    """A URL whose host was resolved and vetted: send to ``address``, naming ``host``."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"

    @property
    def connect_url(self) -> str:
        """The URL with the vetted address in place of the name."""
        ip = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{ip}:{self.port}{self.path}"


def _refused(code: str, message: str, **params: object) -> Invalid:
    return Invalid(code, message, details={"field": "url"}, **params)


def parse(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path)`` of a URL fit to be a webhook's, or a 422 saying why not. The
    host comes back in its ASCII (IDNA) form, the one resolved and sent as ``Host``."""
    url = url.strip()
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):  # spaces and control characters
        raise _refused("webhook.bad_url", N_("This is not a web address."))
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii") if parts.hostname else ""
    except (ValueError, UnicodeError) as exc:
        raise _refused("webhook.bad_url", N_("This is not a web address.")) from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise _refused("webhook.https_only", N_("Webhooks are sent over https only."))
    if not host:
        raise _refused("webhook.bad_url", N_("This is not a web address."))
    if parts.username is not None or parts.password is not None:
        raise _refused("webhook.userinfo", N_("A webhook address may not hold a user name or password."))
    if parts.fragment:
        raise _refused("webhook.bad_url", N_("This is not a web address."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


# IPv6 prefixes that carry an IPv4 address a gateway may translate to: NAT64's well-known prefix
# (its IPv4 in the last 32 bits) is judged by that address; the local-use NAT64 prefix, IPv4-
# compatible addresses and Teredo are refused outright.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REFUSED_V6 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b:1::/48", "::/96", "2001::/32"))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not global anyway
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def check_target(url: str, *, allow_private: bool, resolve: Resolve = socket.getaddrinfo) -> Target:
    """Parse and resolve ``url``; a 422 when it is not a URL, not https, does not resolve, or any
    address it resolves to is not public (unless private targets are allowed)."""
    scheme, host, port, path = parse(url, allow_private=allow_private)
    try:
        found = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _refused("webhook.unresolvable", N_("The host {host} could not be found."), host=host) from exc
    addresses = [info[4][0] for info in found]
    if not addresses:
        raise _refused("webhook.unresolvable", N_("The host {host} could not be found."), host=host)
    if not allow_private and not all(is_public(a) for a in addresses):
        raise _refused(
            "webhook.private_target",
            N_("Webhooks may not be sent to private or local addresses."),
        )
    return Target(scheme, host, port, path, addresses[0])
