"""NPQ routes (npq participants), mounted by every API version. Filled in by the NPQ work."""

from __future__ import annotations

from fastapi import APIRouter


def build_router(version: str) -> APIRouter:
    """The routes of this area under /api/{version}."""
    return APIRouter(prefix=f"/api/{version}")
