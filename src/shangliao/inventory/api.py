"""HTTP routes of the inventory domain (thin: validate, open the unit of work, call the service)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["inventory"])
