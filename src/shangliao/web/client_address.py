"""Which address a request comes from, for the per-address rate limits (sign-in, the shop page).

Behind a reverse proxy every request arrives from the proxy, and the client's address is in
``X-Forwarded-For``. That header is whatever the sender wrote, so it is believed only when the
connection comes from an address listed in ``SHANGLIAO_TRUSTED_PROXIES``; the client is then the
nearest address in the header that is not one of those proxies. With nothing listed, the header is
ignored and the connecting address counts. (Uvicorn's own handling believed any local client's
header, which let anyone on the machine, or behind a careless proxy, pick a fresh address per try:
``shangliao serve`` turns it off.)
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI, Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

# What `shangliao serve` passes to Uvicorn: forwarded headers are this app's business.
SERVER_OPTIONS = {"proxy_headers": False}


def client_address(request: Request) -> str:
    """The client's address, as the proxy middleware (:func:`install`) left it."""
    return request.client.host if request.client else "-"


def trusted_proxies(value: str) -> list[str]:
    """The addresses and networks of ``value`` ("127.0.0.1, 10.0.0.0/8"); a typo is an error at
    start-up, not a silently ignored proxy."""
    entries = [e.strip() for e in value.split(",") if e.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(
                f"SHANGLIAO_TRUSTED_PROXIES: {entry!r} is not an IP address or network ({exc})"
            ) from None
    return entries


def install(app: FastAPI, value: str) -> None:
    """Believe forwarded headers (client address, scheme) from the proxies listed in ``value``."""
    trusted = trusted_proxies(value)
    if trusted:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
