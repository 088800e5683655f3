"""Security headers (issue 10): every page carries a Content-Security-Policy that allows no inline
script, and no page needs one; every answer carries nosniff.

The pages are the real ones, rendered with data in them (an order, a customer with an address, a
conversation, a product's share page, a customer's order), and parsed as HTML: what the browser
would execute is what is checked, not the template source. The browser side (a framed console
is refused; no page reports a violation) is in test_browser_framing.py and the browser tests'
shared guard (tests/support/browser.py).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from shangliao.web.routes import iter_routes
from tests.support.catalog import make_product
from tests.support.chat import customer_says, open_conversation
from tests.support.customers import make_customer
from tests.support.orders import ADDRESS, make_order
from tests.support.shops import OWNER_PASSWORD

HTMX = {"HX-Request": "true"}

# What the policy must say for the page to be safe; the full value is in web/security_headers.py.
REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}

# Extra query strings some pages need to render their content rather than a refusal.
QUERIES = {
    "/customers/{customer_id}/merge/preview": "other_id={other_customer_id}",
}


class ScriptAudit(HTMLParser):
    """What in a page the policy would refuse: inline script, handlers, inline style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._open_script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>: an inline event handler")
            if name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"<{tag} {name}=…>: htmx evaluates it as script")
            if name == "style":
                self.problems.append(f"<{tag} style=…>: an inline style")
            if value and value.strip().lower().startswith(("javascript:", "js:")):
                self.problems.append(f"<{tag} {name}={value[:30]}…>: script in an attribute")
        if tag == "style":
            self.problems.append("<style>: an inline style sheet")
        if tag == "script":
            kind = (attributes.get("type") or "").lower()
            self._open_script = None if attributes.get("src") or kind == "application/json" else kind

    def handle_data(self, data: str) -> None:
        if self._open_script is not None and data.strip():
            self.problems.append(f"<script>{data.strip()[:40]}…</script>: an inline script")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open_script = None


def script_problems(html: str) -> list[str]:
    audit = ScriptAudit()
    audit.feed(html)
    audit.close()
    return audit.problems


def directives(policy: str) -> dict[str, str]:
    return {
        name: value.strip()
        for name, _, value in (part.strip().partition(" ") for part in policy.split(";") if part.strip())
    }


def assert_page_is_locked_down(response, where: str) -> None:
    assert response.headers["content-type"].startswith("text/html"), where
    policy = directives(response.headers.get("content-security-policy", ""))
    for name, value in REQUIRED_DIRECTIVES.items():
        assert policy.get(name) == value, f"{where}: {name} is {policy.get(name)!r}"
    assert "'unsafe-inline'" not in str(policy.values()) and "'unsafe-eval'" not in str(policy.values())
    assert response.headers["x-frame-options"] == "DENY", where
    assert response.headers["x-content-type-options"] == "nosniff", where
    assert response.headers["referrer-policy"] == "same-origin", where
    assert script_problems(response.text) == [], where


@pytest.fixture
def site(runtime, app, shop):
    """A shop with something on every page, and who looks at them: staff, a guest, nobody."""
    staff = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = staff.post("/login", data={"username": shop.owner_username, "password": OWNER_PASSWORD})
    assert r.status_code == 303, r.text
    tee = make_product(runtime, shop, name="纯棉T恤", options=["颜色"], stock=20, price=5900)
    order = make_order(shop, [(tee.variant_id, 1)])
    customer_id, address_id = make_customer(runtime, shop, name="张三", phone="13812345678")
    other_customer_id, _ = make_customer(runtime, shop, name="张三丰", phone="13912345678")
    conversation = open_conversation(runtime, shop, "小红", "13700001234")
    customer_says(runtime, shop, conversation, "<script>alert(1)</script> 有货吗？")
    token = shop.api.get(f"/api/v1/products/{tee.product_id}").json()["share_token"]
    guest = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = guest.post(f"/s/{shop.slug}/api/visitor", json={"name": "小明", "phone": "13600001234"})
    assert r.status_code == 200, r.text
    placed = guest.post(
        f"/s/{shop.slug}/api/orders",
        json={"token": token, "variant_id": tee.variant_id, "quantity": 1, "address": ADDRESS},
    )
    assert placed.status_code == 201, placed.text
    # A quote card sent to the guest: its page (/s/{shop}/quotes/{message_id}) is theirs to open.
    quote = shop.api.post(
        f"/api/v1/conversations/{placed.json()['conversation_id']}/messages",
        json={"kind": "quote_card", "items": [{"variant_id": tee.variant_id, "quantity": 2}]},
    )
    assert quote.status_code == 201, quote.text
    template = shop.api.get("/api/v1/reply-templates").json()["items"][0]
    # An open invitation link: its page (/join/{token}) is what a newcomer opens, signed out.
    invitation = shop.api.post("/api/v1/team/invitations", json={"role": "agent"})
    assert invitation.status_code == 201, invitation.text
    ids = {
        "shop": shop.slug,
        "order_id": order["id"],
        "product_id": tee.product_id,
        "customer_id": customer_id,
        "address_id": address_id,
        "other_customer_id": other_customer_id,
        "conversation_id": conversation["id"],
        "template_id": template["id"],
        "token": token,
        "invitation_token": invitation.json()["url"].rsplit("/join/", 1)[1],
        "export_id": shop.api.post("/api/v1/exports/orders", json={}).json()["id"],
        "message_id": quote.json()["id"],
    }
    return staff, guest, ids, placed.json()["order"]["id"]


def page_paths(app) -> list[str]:
    """Every GET route that answers a browser (the JSON API and the shop page API are not pages)."""
    return sorted(
        {
            route.path
            for route in iter_routes(app)
            if "GET" in route.methods and "/api/" not in route.path and route.path != "/healthz"
        }
        | {"/api/v1/docs"}
    )


def test_every_page_and_fragment_carries_the_policy_and_needs_no_inline_script(app, site):
    staff, guest, ids, guest_order_id = site
    seen = 0
    for path in page_paths(app):
        values = {**ids, "order_id": guest_order_id} if path.startswith("/s/") else ids
        if path.startswith("/join/"):  # its {token} is an invitation's, not a product link's
            values = {**ids, "token": ids["invitation_token"]}
        # A new route with a new parameter fails here until it gets a value above.
        url = path.format(**values) + ("?" + QUERIES[path].format(**values) if path in QUERIES else "")
        client = guest if path.startswith(("/s/", "/join/")) else staff
        for headers in ({}, HTMX):
            r = client.get(url, headers=headers)
            assert r.status_code in (200, 303), f"{url} {headers}: {r.status_code} {r.text[:200]}"
            if r.status_code == 200 and r.headers["content-type"].startswith("text/html"):
                assert_page_is_locked_down(r, f"{url} {headers}")
                seen += 1
    assert seen >= 40  # the walk really rendered the console, the shop pages and the docs


def test_the_sign_in_page_and_refusals_are_locked_down_too(app, anon, site):
    staff, _guest, _ids, _ = site
    assert_page_is_locked_down(anon.get("/login"), "/login")
    missing = staff.get("/orders/999999999")
    assert missing.status_code == 404
    assert_page_is_locked_down(missing, "the console's 404 page")
    # An htmx request that is refused gets the message as a toast, which closes without onclick=.
    toast = staff.get("/orders/999999999", headers=HTMX)
    assert toast.status_code == 404
    assert_page_is_locked_down(toast, "the error toast")
    assert "data-dismiss" in toast.text  # console.js closes it
    gone = anon.get("/s/no-such-shop")
    assert gone.status_code == 404
    assert_page_is_locked_down(gone, "the shop's 404 page")


def test_the_audit_sees_what_the_policy_would_refuse():
    page = (
        '<script type="application/json">{"a": 1}</script><script src="/static/x.js"></script>'
        '<script>alert(1)</script><button onclick="go()" hx-on:click="x()">go</button>'
        '<a href="javascript:void(0)" style="color:red">x</a><style>p{}</style>'
    )

    problems = script_problems(page)

    assert len(problems) == 6 and not any("application/json" in p for p in problems)


def test_json_files_and_redirects_are_not_sniffed(anon, shop):
    answers = {
        "health": anon.get("/healthz"),
        "an API answer": shop.api.get("/api/v1/orders"),
        "an API refusal": anon.get("/api/v1/orders"),
        "a static file": anon.get("/static/console/console.js"),
        "a redirect": TestClient(anon.app, follow_redirects=False).get("/orders"),
    }

    for what, r in answers.items():
        assert r.headers["x-content-type-options"] == "nosniff", what
        assert r.headers["referrer-policy"] == "same-origin", what
    assert answers["an API answer"].status_code == 200 and answers["an API refusal"].status_code == 401
    assert "content-security-policy" not in answers["an API answer"].headers  # only pages need one
