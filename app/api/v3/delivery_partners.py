"""v3 delivery partners routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v3")
