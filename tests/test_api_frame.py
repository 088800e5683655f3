"""The API's frame: health, OpenAPI, self-hosted docs, error shape, no stack traces."""

from __future__ import annotations

from shangliao.orders.listing import OrderQuery


def test_health_answers_without_credentials(anon):
    assert anon.get("/healthz").json() == {"status": "ok"}


def test_openapi_lists_the_domains(anon):
    spec = anon.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/orders", "/api/v1/orders/{order_id}/ship", "/api/v1/products", "/api/v1/customers"):
        assert path in paths, path


def test_docs_are_served_from_our_own_files(anon):
    page = anon.get("/api/v1/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert anon.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_unknown_route_and_method_use_the_error_shape(anon):
    r = anon.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "http.not_found"
    r = anon.delete("/healthz")
    assert r.status_code == 405 and r.json()["error"]["code"] == "http.method_not_allowed"


def test_malformed_json_is_a_clear_422(shop):
    r = shop.api.post("/api/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"


def test_openapi_declares_the_error_shape_for_refusals(anon):
    # given the published schema
    spec = anon.get("/api/v1/openapi.json").json()
    ship = spec["paths"]["/api/v1/orders/{order_id}/ship"]["post"]["responses"]
    # then refusals are declared with the shape the API really answers, not FastAPI's {"detail": …}
    for status in ("401", "403", "404", "409", "422"):
        assert ship[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_a_nul_character_in_any_query_parameter_is_a_clear_422(shop):
    # PostgreSQL cannot compare text holding NUL: it used to be a 500 there (and pass on SQLite)
    for url in ("/api/v1/products?q=a%00b", "/api/v1/orders?q=a%00b", "/api/v1/customers?tag=a%00b"):
        r = shop.api.get(url)
        assert r.status_code == 422, (url, r.text)
        error = r.json()["error"]
        assert error["code"] == "request.invalid"
        assert error["details"]["errors"][0]["loc"] == ["query", url.split("?")[1].split("=")[0]]


def test_a_query_model_is_documented_parameter_by_parameter(anon):
    spec = anon.get("/api/v1/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/orders"]["get"]["parameters"]}

    assert list(parameters) == list(OrderQuery.model_fields)
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    status = parameters["status"]["schema"]
    assert status["type"] == "array" and "pending" in status["items"]["enum"]  # the enum inlined
    assert "$ref" not in str(parameters)
