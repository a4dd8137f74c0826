"""v3 unfunded mentors routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v3")
