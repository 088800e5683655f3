"""Shared request/response building blocks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, field_validator
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from shangliao.core import clock

NUL_MESSAGE = "Text cannot contain NUL (\\0) characters"


def check_storable(value: Any) -> Any:
    """Refuse what a database cannot take, the same way on both: NUL characters in text (PostgreSQL
    refuses them, SQLite would quietly keep them) and dates so far out that converting them to UTC
    overflows. Walks lists and dicts (keys too); nested models check their own fields."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("string_nul", NUL_MESSAGE)
    elif isinstance(value, date):  # a datetime is a date too
        if not clock.in_range(value):
            raise PydanticCustomError(
                "moment_out_of_range",
                "Dates must lie between {earliest} and {latest}",
                {"earliest": clock.EARLIEST.isoformat(), "latest": clock.LATEST.isoformat()},
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key)
            check_storable(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_storable(item)
    return value


def _refuse(kinds: tuple[type, ...], message: str, *, unless: tuple[type, ...] = ()):
    def refuse(value: Any) -> Any:
        if isinstance(value, kinds) and not isinstance(value, unless):
            raise PydanticCustomError("lax_type", message)
        return value

    return refuse


# Pydantic's lax mode reads some JSON types as others that mean something else: ``false`` as the
# number 0, ``0.0`` as false, ``852360`` as a date in January 1970. Those are mistakes, not
# spellings; numbers in strings stay accepted (query strings and JSON object keys are text).
_REFUSED_LAX_INPUT = {
    "int": _refuse((bool,), "Input should be a valid integer, not true or false"),
    "bool": _refuse((int, float), "Input should be true or false, not a number", unless=(bool,)),
    "date": _refuse((int, float), "Input should be a date written as text, e.g. 2026-01-05"),
    "datetime": _refuse(
        (int, float), "Input should be a time written as text, e.g. 2026-01-05T14:30:00+08:00"
    ),
}


def _refuse_too_long(limit: int):
    """Refuse text longer than ``limit`` as sent. Bodies strip whitespace before the length check
    (``str_strip_whitespace``), so without this a ``maxLength: 64`` field took 65 characters with a
    leading tab: a request the published schema calls invalid was accepted (tests/test_fuzz.py)."""

    def refuse(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise PydanticCustomError(
                "string_too_long", "String should have at most {max_length} characters", {"max_length": limit}
            )
        return value

    return refuse


def _refuse_lax_input(schema: Any) -> Any:
    """Put the matching refusal in front of every int, date and datetime of a core schema, and the
    length limit in front of every bounded text (checked before whitespace is stripped)."""
    if isinstance(schema, dict):
        kind = schema.get("type")  # a model's field named "type" puts a dict here, not a kind
        if kind == "str" and isinstance(schema.get("max_length"), int):
            return core_schema.no_info_before_validator_function(
                _refuse_too_long(schema["max_length"]), schema
            )
        refuse = _REFUSED_LAX_INPUT.get(kind) if isinstance(kind, str) else None
        if refuse is not None:
            return core_schema.no_info_before_validator_function(refuse, schema)
        return {key: _refuse_lax_input(item) for key, item in schema.items()}
    if isinstance(schema, list):
        return [_refuse_lax_input(item) for item in schema]
    return schema


class StrictModel(BaseModel):
    """Request bodies refuse unknown fields (rule 14 of docs/architecture.md): a typo must not be silently ignored.

    Every field is also checked by ``check_storable``, so bad text or dates get a 422 here instead of
    a database error (a 500) later. And ``true`` is not a number nor ``852360`` a date: see
    ``_REFUSED_LAX_INPUT``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[Any], handler: GetCoreSchemaHandler) -> CoreSchema:
        return _refuse_lax_input(handler(source))

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return check_storable(value)


# Ids are 64-bit: a larger number in a path or body is refused up front (422) instead of
# overflowing the database driver.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
RowRef = Annotated[int, Field(ge=1, le=MAX_ID)]
