"""Every field a refusal can name has one label, in the reader's language: the API's 422 names
fields through ``core/field_labels.py`` and the console's product forms through the same map."""

from __future__ import annotations

import typing

from fastapi.testclient import TestClient
from pydantic import BaseModel

from shangliao.core.field_labels import FIELD_LABELS
from shangliao.web.routes import iter_routes
from tests.support.orders import ADDRESS


def _fields_of(annotation, seen: set) -> set[str]:
    """The field names of a request model, its nested models and the models in its lists."""
    if typing.get_origin(annotation) is not None:
        return set().union(*(_fields_of(a, seen) for a in typing.get_args(annotation)))
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or annotation in seen:
        return set()
    seen.add(annotation)
    names = set()
    for name, info in annotation.model_fields.items():
        names.add(info.alias or name)
        names |= _fields_of(info.annotation, seen)
    return names


def _request_fields(app) -> dict[str, str]:
    """Each field name a request can be refused on (body, query and path), with a route using it."""
    found: dict[str, str] = {}

    def walk(path: str, dependant) -> None:
        for param in [*dependant.body_params, *dependant.query_params, *dependant.path_params]:
            for name in {param.alias} | _fields_of(param.field_info.annotation, set()):
                found.setdefault(name, path)
        for sub in dependant.dependencies:
            walk(path, sub)

    for route in iter_routes(app):
        walk(route.path, route.dependant)
    return found


def test_every_field_a_request_can_be_refused_on_has_a_label(app):
    # given every request model, query and path parameter of every route
    fields = _request_fields(app)

    # then each one has a label for refusals to name it by
    missing = {name: path for name, path in fields.items() if name not in FIELD_LABELS}
    assert missing == {}


def test_a_refusal_names_a_product_link_and_a_sku_in_chinese(app, shop):
    # given a customer's phone and the shop's staff
    phone = TestClient(app, raise_server_exceptions=False)

    # when an order names a malformed product link, and a product is sent with an overlong SKU
    order = phone.post(
        f"/s/{shop.slug}/api/orders",
        json={"token": "not a token!", "variant_id": 1, "quantity": 1, "address": ADDRESS},
    ).json()["error"]
    product = shop.api.post(
        "/api/v1/products",
        json={"name": "纯棉T恤", "variants": [{"sku": "X" * 500, "price": 5900}]},
    ).json()["error"]

    # then each message names the field in Chinese, not by its machine name
    assert order["message"] == "以下信息缺失或有误：商品链接。"
    assert "SKU 编码" in product["message"] and "sku" not in product["message"]
