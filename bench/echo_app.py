"""The HTTP half of the order-create floor: a bare FastAPI app that validates the order JSON and echoes it.

Served exactly like Shangliao (uvicorn, one core) and loaded exactly the same way, it measures what
FastAPI, Pydantic and the socket cost per request before any business logic or database work. The
model mirrors ``shangliao.orders.schemas.OrderCreate`` field for field (unknown fields forbidden,
strings stripped) but does not import Shangliao, so nothing of the product leaks into the baseline;
the phone is checked by pattern rather than ``phonenumbers``.

Run: ``uvicorn echo_app:create_app --factory --app-dir bench``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Text32 = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Address(Strict):
    receiver: Text32
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^(\+?86)?1[3-9]\d{9}$")]
    province: Text32
    city: Text32
    district: Annotated[str, StringConstraints(max_length=32)] = ""
    detail: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Item(Strict):
    variant_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=9999)
    unit_price: int | None = Field(default=None, ge=0, le=100_000_000)


class Order(Strict):
    customer_id: int | None = Field(default=None, gt=0)
    address_id: int | None = Field(default=None, gt=0)
    address: Address | None = None
    items: list[Item] = Field(min_length=1, max_length=100)
    shipping_fee: int = Field(default=0, ge=0, le=100_000_000)
    discount: int = Field(default=0, ge=0, le=100_000_000)
    remark: str = Field(default="", max_length=500)
    channel: Literal["manual", "chat", "product_link", "quote"] = "manual"
    tags: list[str] = Field(default_factory=list, max_length=10)
    assignee_id: int | None = Field(default=None, gt=0)
    draft: bool = False

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in tags))


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # A `def` endpoint like Shangliao's, so it runs in the same threadpool.
    @app.post("/api/v1/orders", status_code=201)
    def echo(body: Order) -> JSONResponse:
        return JSONResponse(body.model_dump(mode="json"), status_code=201)

    return app
