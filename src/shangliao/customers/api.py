"""HTTP routes of the customers domain (thin: validate, open the unit of work, call the service)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["customers"])
