"""No personal data in logs (rule 12 of docs/architecture.md): a journey with a known phone, street
and name runs against a real server, and every line any logger wrote is searched for them.

The server is Uvicorn serving the app as `shangliao serve` does, with every logger at DEBUG
(access log included). Only SQLAlchemy's statement echo is left at WARNING: it prints statement
parameters by design, and is a debugging switch an operator never turns on in production
(docs/operations.md "Logs").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import httpx
import pytest

from shangliao.app import create_app
from shangliao.web.client_address import SERVER_OPTIONS
from tests.support.live import serve
from tests.support.shops import OWNER_PASSWORD

PHONE = "13912345678"
STREET = "测试路88号"


# The test's own HTTP client logs its requests too; those lines are not the server's.
CLIENT_LOGGERS = ("httpx", "httpcore")


class Captured(logging.Handler):
    """Every record the server wrote, formatted with its traceback, as a log file would get it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", "sqlalchemy")}
    # Uvicorn's own logging config (applied by any server started earlier in this process) stops
    # its loggers at their own handlers: let them reach the root here as well.
    uvicorn = {name: logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    propagate = {name: logger.propagate for name, logger in uvicorn.items()}
    for logger in uvicorn.values():
        logger.propagate = True
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)  # statement echo: see the docstring
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        for name, logger in uvicorn.items():
            logger.propagate = propagate[name]


@pytest.fixture
def server(runtime, captured) -> Iterator[str]:
    # log_config=None: Uvicorn's loggers propagate to the capturing root instead of its own stream
    with serve(create_app(runtime=runtime), log_level="debug", log_config=None, **SERVER_OPTIONS) as url:
        yield url


def journey(url: str, shop, tee, name: str) -> None:
    """What a merchant's day does with a customer's phone and street, good requests and bad."""
    address = {
        "receiver": name,
        "phone": PHONE,
        "province": "上海市",
        "city": "上海市",
        "district": "徐汇区",
        "detail": STREET,
    }
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {shop.token}"}, timeout=10)
    browser = httpx.Client(base_url=url, headers={"Origin": url}, follow_redirects=False, timeout=10)
    # signing in, once with the phone typed as the username by mistake
    browser.post("/login", data={"username": PHONE, "password": "wrong password"})
    assert (
        browser.post("/login", data={"username": shop.owner_username, "password": OWNER_PASSWORD}).status_code
        == 303
    )
    # the customer, their order, searches by phone (in a body, and wrongly in a URL)
    r = api.post("/api/v1/customers", json={"name": name, "phones": [PHONE], "addresses": [address]})
    assert r.status_code == 201, r.text
    customer_id = r.json()["id"]
    r = api.post(
        "/api/v1/orders",
        json={
            "customer_id": customer_id,
            "items": [{"variant_id": tee.variant_id, "quantity": 1}],
            "address": address,
        },
    )
    assert r.status_code == 201, r.text
    found = api.post("/api/v1/customers/search", json={"q": PHONE}).json()["items"]
    assert [c["id"] for c in found] == [customer_id]
    assert api.post("/api/v1/orders/search", json={"q": PHONE[-4:]}).status_code == 200
    assert api.get("/api/v1/orders", params={"q": PHONE}).status_code == 422  # refused, yet logged
    api.get("/api/v1/customers", params={"q": name})
    assert browser.get("/orders", params={"q": PHONE}).status_code == 200
    assert browser.get("/customers", params={"q": f"{name} {STREET}"}).status_code == 200
    # the chat, with the street and phone in a message, and smart paste of the same text
    conversation = api.post(f"/api/v1/customers/{customer_id}/conversation").json()
    said = {"body": f"{name} {PHONE} {STREET}"}
    assert api.post(f"/api/v1/conversations/{conversation['id']}/messages", json=said).status_code == 201
    pasted = api.post("/api/v1/addresses/parse", json={"text": f"{name} {PHONE} 上海市徐汇区{STREET}"})
    assert pasted.status_code == 200 and pasted.json()["phone"] == PHONE
    # the shop page: a device introducing itself with the same phone
    device = httpx.Client(base_url=url, headers={"Origin": url}, timeout=10)
    assert device.post(f"/s/{shop.slug}/api/visitor", json={"name": name, "phone": PHONE}).status_code == 200
    assert device.post(f"/s/{shop.slug}/api/messages", json={"body": f"寄到{STREET}"}).status_code == 201
    # bad input carrying the values: refused, and each refusal may be logged
    refused = [
        api.post("/api/v1/customers", json={"name": name, "phones": [PHONE + "9"], "unknown": STREET}),
        api.post("/api/v1/customers", json={"name": name * 20, "phones": [PHONE]}),
        api.post("/api/v1/customers", json={"name": name, "phones": [PHONE]}),  # the phone is taken
        api.post("/api/v1/orders", json={"items": [], "address": {**address, "phone": PHONE[:-1]}}),
        api.post("/api/v1/addresses/parse", json={"text": STREET * 500}),
        api.put(
            f"/api/v1/customers/{customer_id}/addresses/999999999", json={**address, "phone": "1" + PHONE}
        ),
        api.post("/api/v1/customers", content=f'{{"name": "{name}", "phones": ["{PHONE}"'.encode()),  # cut
    ]
    assert all(400 <= r.status_code < 500 for r in refused), " ".join(str(r.status_code) for r in refused)
    # the console's form shows the refusal on the page it redraws
    form = browser.post("/customers", data={"name": name, "phone": PHONE + "0", "detail": STREET})
    assert form.status_code == 200 and "手机号" in form.text


def test_no_log_line_holds_the_phone_street_or_name(server, captured, shop, tee):
    # given a customer name only this test uses
    name = f"隐私{uuid.uuid4().hex[:6]}"
    # when the journey runs against the server with every logger at DEBUG
    journey(server, shop, tee, name)
    # then the server logged (the capture works: the access log at least) ...
    assert any(line.startswith("uvicorn.access") for line in captured.lines)
    # ... and no line holds the phone, its last 8 digits, the street or the name
    secrets = {"phone": PHONE, "last8": PHONE[-8:], "street": STREET, "name": name}
    forms = {key: {value, quote(value), quote_plus(value)} for key, value in secrets.items()}  # as in a URL
    leaks = {key: [line for line in captured.lines if any(f in line for f in forms[key])] for key in secrets}
    assert {key: lines for key, lines in leaks.items() if lines} == {}


def test_no_log_line_holds_an_invitation_links_secret(server, captured, shop):
    # given an invitation link (its secret joins the shop: a credential)
    secret = shop.api.post("/api/v1/team/invitations", json={"role": "agent"}).json()["url"].rsplit("/", 1)[1]
    invitee = httpx.Client(base_url=server, headers={"Origin": server}, follow_redirects=False, timeout=10)

    # when the invitee opens the page, joins through the form, and opens the spent link again
    assert invitee.get(f"/join/{secret}").status_code == 200
    username = f"joiner_{uuid.uuid4().hex[:8]}"
    joined = invitee.post(f"/join/{secret}", data={"username": username, "password": OWNER_PASSWORD})
    assert joined.status_code == 303, joined.text[:300]
    assert invitee.get(f"/join/{secret}", params={"from": "wechat"}).status_code == 404

    # then the access log has those requests, with the secret in none of its lines
    assert any("/join/[redacted]" in line for line in captured.lines if line.startswith("uvicorn.access"))
    assert [line for line in captured.lines if secret in line] == []
