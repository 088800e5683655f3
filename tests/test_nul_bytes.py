"""A NUL character anywhere a request carries text (path, query, form field) is refused at the
edge with a 422, on every route and both databases, and reaches no query (PostgreSQL would fail
on it with a 500 and a trace)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, FastAPI, Form
from fastapi.testclient import TestClient

from shangliao.web.nul_bytes import refuse_nul


def assert_refused_quietly(answer, caplog) -> None:
    assert answer.status_code == 422, answer.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_shop_page_path_with_a_nul_is_refused(anon, shop, caplog):
    page = anon.get(f"/s/{shop.slug}%00/")
    api = anon.post(f"/s/{shop.slug}%00x/api/visitor", json={"name": "小红", "phone": "13700001234"})

    assert_refused_quietly(page, caplog)
    assert_refused_quietly(api, caplog)
    assert api.json()["error"]["code"] == "request.invalid"
    assert api.json()["error"]["details"]["errors"][0]["loc"] == ["path"]


def test_a_sign_in_form_with_a_nul_is_refused(anon, shop, caplog):
    answer = anon.post("/login", data={"username": shop.owner_username + "\x00", "password": "whatever"})

    assert_refused_quietly(answer, caplog)


def test_console_forms_and_queries_with_a_nul_are_refused(console, shop, caplog):
    search = console.post("/customers", data={"q": "张\x00三"})
    named = console.post("/orders", data={"q\x00": "x"})
    query = console.get("/orders", params={"q": "13800\x001111"})

    for answer in (search, named, query):
        assert_refused_quietly(answer, caplog)


def test_an_api_query_with_a_nul_is_still_refused(shop, caplog):
    answer = shop.api.get("/api/v1/orders", params={"q": "a\x00b"})

    assert_refused_quietly(answer, caplog)
    assert answer.json()["error"]["details"]["errors"][0]["loc"] == ["query", "q"]


def test_a_form_parsed_by_fastapi_is_checked_before_the_route_runs():
    """Pins what ``refuse_nul`` relies on: FastAPI parses ``Form(...)`` fields before app-wide
    dependencies run, and Starlette keeps that parse in ``request._form`` (a private name). A
    Starlette or FastAPI upgrade that changes either makes this fail instead of letting NULs
    through to PostgreSQL unnoticed."""
    reached: list[str] = []
    app = FastAPI(dependencies=[Depends(refuse_nul)])

    @app.post("/echo")
    def echo(name: Annotated[str, Form()]):
        reached.append(name)
        return {"name": name}

    client = TestClient(app)
    # given a route that reads a field with Form(...)
    # when a form with a NUL in it is posted, and then a clean one
    refused = client.post("/echo", data={"name": "张\x00三"})
    accepted = client.post("/echo", data={"name": "张三"})
    # then the first is refused as the field's error, before the route ran; the second gets through
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "name"]
    assert accepted.status_code == 200
    assert reached == ["张三"]
