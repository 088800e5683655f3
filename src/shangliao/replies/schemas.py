"""API shapes for quick-reply templates and their preview."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from shangliao.core.schemas import RowRef, StrictModel

Category = Literal["order_confirmation", "shipping_notice", "after_sales", "custom"]
# A template is short; an edited preview may be as long as a chat message.
MAX_BODY = 1000
MAX_PREVIEW = 2000

Shortcode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=17,
        description="1-16 letters, digits, underscores or Chinese characters, looked up as `/shortcode` "
        "(any case); a leading `/` is dropped.",
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=40)]
Body = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_BODY,
        description="Text with variables in braces: {客户名} {订单号} {金额} {商品} {快递公司} {物流单号} "
        "(or {customer} {order_number} {amount} {items} {carrier} {tracking_number}).",
    ),
]
Position = Annotated[int, Field(ge=0, le=100_000, description="Order within the category (smallest first).")]


class ReplyTemplateIn(StrictModel):
    category: Category = "custom"
    shortcode: Shortcode
    title: Title
    body: Body
    position: Position | None = Field(None, description="Default: last of its category.")


class ReplyTemplatePatch(StrictModel):
    """Fields left out stay as they are."""

    category: Category | None = None
    shortcode: Shortcode | None = None
    title: Title | None = None
    body: Body | None = None
    position: Position | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> ReplyTemplatePatch:
        nulls = sorted(n for n in self.model_fields_set if getattr(self, n) is None)
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
        return self


class ReplyTemplateOut(BaseModel):
    id: int
    category: Category
    shortcode: str
    title: str
    body: str
    position: int


class ReplyTemplateList(BaseModel):
    items: list[ReplyTemplateOut]


class PreviewIn(StrictModel):
    """Either a saved template or a body being edited; the order defaults to the customer's current one."""

    template_id: RowRef | None = None
    body: str | None = Field(None, min_length=1, max_length=MAX_PREVIEW)
    order_id: RowRef | None = Field(
        None, description="One of this conversation's customer's orders; default: their current order."
    )

    @model_validator(mode="after")
    def _one_source(self) -> PreviewIn:
        if (self.template_id is None) == (self.body is None):
            raise ValueError("give either template_id or body")
        return self


class PreviewOut(BaseModel):
    text: str
    variables: dict[str, str | None] = Field(description="Every variable and its value (null: none).")
    missing: list[str] = Field(description="Variables the text uses that have no value; left as typed.")
    order_id: int | None = Field(description="The order the values came from.")
    order_number: str | None = Field(description="That order's number, to tell staff which one it was.")
