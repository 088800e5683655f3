"""The console's origin check behind a reverse proxy (nginx, Caddy; docs/operations.md).

The server runs as `shangliao serve` runs it, with 127.0.0.1 listed in SHANGLIAO_TRUSTED_PROXIES;
the test plays the proxy: it connects from 127.0.0.1 and passes the browser's Host on, with
X-Forwarded-Proto and X-Forwarded-For, as the documented nginx and Caddy configurations do.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shangliao.app import create_app
from shangliao.web.client_address import SERVER_OPTIONS
from tests.support.live import serve
from tests.support.shops import OWNER_PASSWORD

SITE = "shop.example.com"
FORWARDED = {"Host": SITE, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def behind_proxy(runtime, monkeypatch) -> Iterator[str]:
    """The app trusting a proxy on this machine, served on a free port; yields its base URL."""
    monkeypatch.setattr(runtime.settings, "trusted_proxies", "127.0.0.1")
    with serve(create_app(runtime=runtime), **SERVER_OPTIONS) as url:
        yield url


def signed_in(url: str, shop) -> tuple[httpx.Client, str]:
    """A browser that signed in through the proxy; answers its client and the session cookie."""
    client = httpx.Client(base_url=url, headers=FORWARDED, follow_redirects=False, timeout=10)
    r = client.post(
        "/login",
        data={"username": shop.owner_username, "password": OWNER_PASSWORD},
        headers={"Origin": f"https://{SITE}"},
    )
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    # The proxy said https: the session cookie is Secure (a browser never sends it over http).
    assert "secure" in cookie.lower()
    return client, cookie.split(";", 1)[0]


def create_customer(client: httpx.Client, cookie: str, origin: str | None, **headers: str) -> httpx.Response:
    sent = {"Cookie": cookie, **({"Origin": origin} if origin else {}), **headers}
    return client.post("/api/v1/customers", json={"name": "代理后的客户"}, headers=sent)


def test_same_origin_post_through_the_proxy_passes(behind_proxy, shop):
    # given the owner signed in at https://shop.example.com, through the proxy
    client, cookie = signed_in(behind_proxy, shop)
    # when the console posts from its own origin
    r = create_customer(client, cookie, f"https://{SITE}")
    # then it is accepted, and the answer pins the browser to https
    assert r.status_code == 201, r.text
    assert r.headers["strict-transport-security"] == "max-age=31536000"


def test_cross_origin_post_through_the_proxy_is_refused(behind_proxy, shop):
    # given the owner signed in through the proxy
    client, cookie = signed_in(behind_proxy, shop)
    # when another site makes their browser post with the session cookie
    r = create_customer(client, cookie, "https://evil.example.net")
    # then it is refused and nothing is created
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.cross_origin"


def test_a_proxy_that_drops_the_host_header_breaks_the_origin_check(behind_proxy, shop):
    # given the owner signed in through the proxy
    client, cookie = signed_in(behind_proxy, shop)
    # when a misconfigured proxy sends its upstream's address as Host instead of the browser's
    r = create_customer(client, cookie, f"https://{SITE}", Host=behind_proxy.removeprefix("http://"))
    # then even the shop's own page is refused: why the proxy must pass Host (docs/operations.md)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.cross_origin"
