"""Schemathesis fuzzes every API route: bad input gets a clear error, never a 500 (rule 14 of docs/architecture.md).

The fuzzer signs in as the owner of a seeded shop, so requests get past authentication and reach
validation and the services. Generated ids are mostly 404s, which is fine; a third pass pins the
path ids to the seeded product, customer, order… so generated bodies also reach the services with
real rows (shipping, cancelling, re-pricing, deleting them as it goes).

Each operation runs as its own bounded, derandomized Hypothesis test over schemathesis' documented
strategies (``operation.as_strategy``), with valid and with invalid data: the same cases on every
run, well under a minute per backend. (``schemathesis.pytest.from_fixture`` would be the shorter
way, but it touches a pytest internal that pytest 9.2 removed.)
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from shangliao.catalog.models import ProductImage
from tests.support.access import (
    PNG,
    requested_aftersale,
    shipped_parcel,
    waiting_payment_proof,
    webhook_with_delivery,
)
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import make_order

# Enough to reach every route's validation and services on each run; set SHANGLIAO_FUZZ_EXAMPLES
# higher for a deeper local hunt (the cases stay derandomized: the same number, the same cases).
EXAMPLES_PER_MODE = int(os.environ.get("SHANGLIAO_FUZZ_EXAMPLES", "15"))

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# Signing out would revoke the fuzzer's own token and turn every later call into a 401; it takes no
# input, so there is nothing to fuzz.
SKIPPED = {("POST", "/api/v1/auth/logout")}


def error_body_has_our_shape(ctx, response, case) -> bool | None:
    """Every 4xx answers ``{"error": {"code", "message", "details"}}``: a client can act on it."""
    if 400 <= response.status_code < 500:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict), f"no 'error' object in {response.text[:300]}"
        assert set(error) == {"code", "message", "details"}, error
        assert isinstance(error["code"], str) and "." in error["code"], error
        assert isinstance(error["message"], str) and error["message"], error
        assert isinstance(error["details"], dict), error
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_body_has_our_shape,
]


@pytest.fixture
def seeded(runtime, shop) -> dict[str, int | str]:
    """One of each row in the owner's shop, by the name of the path parameter that addresses it."""
    product = make_product(runtime, shop, stock=50)
    customer_id, address_id = make_customer(runtime, shop)
    order = make_order(shop, [(product.variant_id, 1)])
    spare_token = shop.api.post("/api/v1/auth/tokens", json={"name": "fuzzer may revoke"}).json()
    photo = shop.api.post(
        f"/api/v1/products/{product.product_id}/images", files={"file": ("a.png", PNG)}
    ).json()
    with runtime.db.read() as session:
        photo_key = session.get(ProductImage, photo["id"]).thumb_key
    phone_id = shop.api.get(f"/api/v1/customers/{customer_id}").json()["phones"][0]["id"]
    conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()
    message = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "在吗"}
    ).json()
    return {
        "shop": shop.slug,
        "method": "wechat",  # a native QR's provider (storefront/pay_api.py)
        "conversation_id": conversation["id"],
        "message_id": message["id"],
        "kind": "details",
        "product_id": product.product_id,
        "token": shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"],
        "variant_id": product.variant_id,
        "customer_id": customer_id,
        "address_id": address_id,
        "phone_id": phone_id,
        "order_id": order["id"],
        "token_id": spare_token["id"],
        "attachment_id": shop.api.post(
            f"/api/v1/conversations/{conversation['id']}/attachments", files={"file": ("a.txt", b"x")}
        ).json()["data"]["attachment_id"],
        "template_id": shop.api.get("/api/v1/reply-templates").json()["items"][0]["id"],
        "image_id": photo["id"],
        "key": photo_key,
        # The owner was told of the order placed above.
        "notification_id": shop.api.get("/api/v1/notifications").json()["items"][0]["id"],
        # The team's rows: a member, one of the shop's own roles, an open invitation link.
        "staff_id": shop.api.post(
            "/api/v1/team/members",
            json={"username": f"fuzz_{shop.slug}", "password": "a long password", "role": "agent"},
        ).json()["id"],
        "role_id": shop.api.post("/api/v1/team/roles", json={"name": "fuzz", "permissions": []}).json()["id"],
        "invitation_id": shop.api.post("/api/v1/team/invitations", json={"role": "agent"}).json()["id"],
        "shipping_template_id": shop.api.post("/api/v1/shipping-templates", json={"name": "fuzz"}).json()[
            "id"
        ],
        "preset": "shipped_tracking",
        "rule_id": shop.api.post(
            "/api/v1/automation/rules",
            json={"name": "fuzz", "trigger": "order_paid", "actions": [{"kind": "tag", "tag": "fuzz"}]},
        ).json()["id"],
        **webhook_with_delivery(runtime, shop),
        "export_id": shop.api.post("/api/v1/exports/orders", json={}).json()["id"],
        "upload": shop.api.post(
            "/api/v1/shipping-sheets/preview",
            files={"file": ("s.csv", "订单编号,快递公司,物流单号\r\n1,顺丰,SF1234567890\r\n")},
        ).json()["upload"],
        "aftersale_id": requested_aftersale(runtime, shop, order["id"]),
        "proof_id": waiting_payment_proof(runtime, shop, order["id"], conversation["id"]),
        "parcel_id": shipped_parcel(shop, product.variant_id),  # of a second order: a 404 here
    }


def test_no_route_answers_bad_input_with_a_server_error(app, shop, seeded):
    # Given the app's own OpenAPI schema and the owner's credentials
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {shop.token}"}
    own_token_id = next(t["id"] for t in shop.api.get("/api/v1/auth/tokens").json() if t["name"] == "tests")

    def fuzz(operation, mode: GenerationMode, path_ids: dict[str, int | str] | None = None) -> None:
        @FUZZ_SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_ids))
        def run(case):
            if case.method == "DELETE" and case.path_parameters == {"token_id": own_token_id}:
                return  # revoking our own credentials would end the run, not find a bug
            case.call_and_validate(headers=auth, checks=CHECKS)

        run()

    # When every operation gets valid and invalid data, then valid data aimed at the seeded rows
    failures = []
    for result in api.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        path_names = [p.name for p in operation.path_parameters]
        passes = [("positive", GenerationMode.POSITIVE, None), ("negative", GenerationMode.NEGATIVE, None)]
        if path_names:
            passes.append(("seeded", GenerationMode.POSITIVE, {n: seeded[n] for n in path_names}))
        for name, mode, path_ids in passes:
            try:
                fuzz(operation, mode, path_ids)
            except Unsatisfiable:
                pass  # an operation without parameters or body has no invalid input to send
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports a FailureGroup
                failures.append(f"{operation.label} ({name}): {exc}")

    # Then every answer is a declared, well-formed answer, and no input crashes the server
    assert not failures, "\n\n".join(failures)


# Hand-picked samples the generator rarely reaches: an id one past what the database's integers hold
# would overflow the query's parameter (a 500) unless the schema or the form reader refuses it first.
BEYOND_MAX_ID = 2**63


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/api/v1/team/members",
            {"username": "huge_id", "password": "a long password", "role_id": BEYOND_MAX_ID},
        ),
        ("PUT", "/api/v1/team/members/{staff_id}/role", {"role_id": BEYOND_MAX_ID}),
        ("POST", "/api/v1/team/invitations", {"role_id": BEYOND_MAX_ID}),
    ],
)
def test_a_team_body_with_an_id_beyond_the_database_is_refused_as_invalid(shop, seeded, method, path, body):
    # Given the owner, when a team body names a role id beyond the database's range
    r = shop.api.request(method, path.format(**seeded), json=body)

    # Then it is a clear 422 naming the field, not a server error
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["error"]["details"]["errors"]] == [["body", "role_id"]]


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (
            "/team/members",
            {"username": "huge_id", "password": "a long password", "role": f"custom:{BEYOND_MAX_ID}"},
        ),
        ("/team/members/{staff_id}/role", {"role": f"custom:{BEYOND_MAX_ID}"}),
        ("/team/invitations", {"role": f"custom:{BEYOND_MAX_ID}", "days": str(BEYOND_MAX_ID)}),
    ],
)
def test_a_console_role_picker_beyond_the_database_is_a_role_not_found(console, seeded, path, form):
    # Given the owner's console, when a crafted role picker names a custom role beyond the database
    r = console.post(path.format(**seeded), data=form)

    # Then the page answers that there is no such role
    assert r.status_code == 404, r.text[:500]
    assert "没有这个角色" in r.text


@pytest.mark.parametrize(
    "body",
    [
        {"name": "\t" + "张" * 64},  # 65 characters as sent; 64 once the tab is stripped
        {"name": "张三", "tags": ["VIP" + "x" * 29 + " "]},
    ],
)
def test_text_longer_than_its_limit_is_refused_even_when_whitespace_pads_it(shop, body):
    # Given the published limit of a customer's name (64) and of a tag (32)
    before = shop.api.get("/api/v1/customers").json()["items"]

    # When a body sends one character more, the extra one being whitespace that would be stripped
    r = shop.api.post("/api/v1/customers", json=body)

    # Then it is the 422 the schema promises (the fuzzer's negative check), and no customer is made
    assert r.status_code == 422, r.text
    assert {e["type"] for e in r.json()["error"]["details"]["errors"]} == {"string_too_long"}
    assert shop.api.get("/api/v1/customers").json()["items"] == before


@pytest.mark.parametrize("shop_slug", ["%0A", "%09", "%0D"])
def test_the_shop_pages_api_answers_json_whatever_the_slug_holds(anon, shop_slug):
    # Given a slug the URL parser would strip (a newline, a tab, a carriage return: found by the fuzz)
    r = anon.post(f"/s/{shop_slug}/api/orders/1/pay/wechat")

    # Then the answer is still the API's JSON refusal, not the console's HTML page
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json"), r.text[:200]
    assert r.json()["error"]["code"]
