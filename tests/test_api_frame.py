"""The API's frame: health, OpenAPI, self-hosted docs, error shape, no stack traces."""

from __future__ import annotations


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
