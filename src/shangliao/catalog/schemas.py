"""API shapes of the catalog: products with their variants (SKUs).

Request bodies check shape and bounds here; rules that span fields (spec keys against the product's
options, SKUs unique in the shop) live in ``service.py`` so they also hold for imports and the CLI.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from shangliao.core.schemas import RowRef, StrictModel

MAX_IMAGES = 20
MAX_PHOTOS = 9  # uploaded photos a product holds (a grid of 3 × 3 on a phone)
MAX_OPTIONS = 5
MAX_VARIANTS = 200
MAX_ALIASES = 20
MAX_ALIAS_CHARS = 20

# A SKU is typed into spreadsheets and courier systems: no whitespace, no control characters.
SKU_PATTERN = r"^[^\s\x00-\x1f\x7f]{1,64}$"
# Absolute http(s) URLs, or a path on this server (uploads); "//host" would be protocol-relative.
_IMAGE_URL = re.compile(r"^(https?://[^\s/]+[^\s]*|/(?!/)[^\s]*)$", re.IGNORECASE)


def _check_image(url: str) -> str:
    if not _IMAGE_URL.match(url):
        raise ValueError("an image is an http(s) URL or a path on this server")
    return url


Sku = Annotated[str, StringConstraints(strip_whitespace=True, pattern=SKU_PATTERN)]
ImageUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_check_image)
]
OptionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
OptionValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Spec = Annotated[dict[OptionName, OptionValue], Field(max_length=MAX_OPTIONS)]
Price = Annotated[int, Field(ge=0, le=100_000_000, description="Price in fen (1/100 yuan).")]
Quantity = Annotated[int, Field(ge=0, le=10_000_000)]
Weight = Annotated[
    int, Field(ge=0, le=1_000_000, description="Grams, for weight-based shipping; 0 = not weighed.")
]
# PATCH fields where null means something: no shipping template of its own (the shop's default).
NULLABLE = frozenset({"shipping_template_id"})


def _no_nulls(model: BaseModel) -> BaseModel:
    """A PATCH may leave a field out, but ``null`` for a field that cannot be empty is a mistake."""
    nulls = sorted(n for n in model.model_fields_set if getattr(model, n) is None and n not in NULLABLE)
    if nulls:
        raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
    return model


def clean_aliases(aliases: list[str]) -> list[str]:
    """Trimmed, each 1-20 characters with no control character (they are stored one per line),
    duplicates dropped, whatever their case (the first spelling kept: AirPods and airpods are one)."""
    seen: dict[str, str] = {}
    for alias in aliases:
        alias = alias.strip()
        if not alias or len(alias) > MAX_ALIAS_CHARS:
            raise ValueError(f"an alias is 1-{MAX_ALIAS_CHARS} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in alias):
            raise ValueError("an alias has no control characters")
        seen.setdefault(alias.casefold(), alias)
    return list(seen.values())


Aliases = Annotated[
    list[str],
    Field(
        max_length=MAX_ALIASES,
        description='Other names customers use for the product, e.g. ["纸巾", "卷纸"]: the chat '
        "order recogniser and the product search find the product by them.",
    ),
    AfterValidator(clean_aliases),
]


def _unique_options(options: list[str]) -> list[str]:
    if len(set(options)) != len(options):
        raise ValueError("option names must be different from each other")
    return options


class VariantIn(StrictModel):
    sku: Sku
    spec: Spec = Field(default_factory=dict, description='Option values, e.g. {"颜色": "红色", "尺码": "M"}.')
    price: Price
    on_hand: Quantity = Field(default=0, description="Initial stock, written to the ledger.")
    active: bool = True
    weight_g: Weight = 0


class ProductIn(StrictModel):
    name: str = Field(min_length=1, max_length=120)
    aliases: Aliases = Field(default_factory=list)
    description: str = Field(default="", max_length=5000)
    images: list[ImageUrl] = Field(default_factory=list, max_length=MAX_IMAGES)
    options: Annotated[list[OptionName], AfterValidator(_unique_options)] = Field(
        default_factory=list, max_length=MAX_OPTIONS, description='Option names, e.g. ["颜色", "尺码"].'
    )
    presale: bool = False
    low_stock_threshold: Quantity = Field(default=0, description="0 turns low-stock alerts off.")
    active: bool = True
    shipping_template_id: RowRef | None = Field(
        default=None, description="运费模板; null = the shop's default."
    )
    variants: list[VariantIn] = Field(min_length=1, max_length=MAX_VARIANTS)


class ProductPatch(StrictModel):
    """Product fields only: options are fixed once variants exist; stock moves only by adjustment."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    aliases: Aliases | None = None
    description: str | None = Field(default=None, max_length=5000)
    images: list[ImageUrl] | None = Field(default=None, max_length=MAX_IMAGES)
    presale: bool | None = None
    low_stock_threshold: Quantity | None = None
    active: bool | None = None
    shipping_template_id: RowRef | None = Field(default=None, description="null = the shop's default.")

    @model_validator(mode="after")
    def refuse_nulls(self):
        return _no_nulls(self)


class VariantPatch(StrictModel):
    """Price, spec and active flag. Stock is not here on purpose: it changes through adjustments."""

    price: Price | None = None
    spec: Spec | None = None
    active: bool | None = None
    weight_g: Weight | None = None

    @model_validator(mode="after")
    def refuse_nulls(self):
        return _no_nulls(self)


class VariantOut(BaseModel):
    id: int
    product_id: int
    sku: str
    spec: dict[str, str]
    spec_label: str
    price: int
    on_hand: int
    reserved: int
    available: int
    backorder: int
    active: bool
    low_stock: bool = Field(description="Available stock is at or below the product's threshold.")
    weight_g: int = 0


class PhotoOut(BaseModel):
    id: int
    variant_id: int | None = Field(description="The variant the photo shows; null for the whole product.")
    position: int
    cover: bool = Field(description="The first photo is the product's cover.")
    width: int
    height: int
    size: int = Field(description="Bytes of the stored photo (re-encoded, metadata removed).")
    url: str
    thumbnail_url: str
    thumb_width: int
    thumb_height: int


class PhotoOrderIn(StrictModel):
    image_ids: list[RowRef] = Field(
        min_length=1,
        max_length=MAX_PHOTOS,
        description="Every photo of the product once; the first is the cover.",
    )


class PhotoPatch(StrictModel):
    variant_id: RowRef | None = Field(description="The variant this photo shows; null for the whole product.")


class ProductOut(BaseModel):
    id: int
    name: str
    aliases: list[str]
    description: str
    images: list[str] = Field(
        description="Image URLs given through the API (uploaded photos are in `photos`)."
    )
    photos: list[PhotoOut] = Field(description="Uploaded photos in order; the first is the cover.")
    options: list[str]
    presale: bool
    low_stock_threshold: int
    active: bool
    shipping_template_id: int | None = None
    share_token: str
    price_min: int | None = Field(description="Lowest price of the active variants, in fen.")
    price_max: int | None
    created_at: datetime
    updated_at: datetime
    variants: list[VariantOut]


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
