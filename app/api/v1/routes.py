"""Every v1 route."""

from fastapi import APIRouter

from app.api.v1 import declarations, ecf_participants

router = APIRouter()
router.include_router(ecf_participants.router)
router.include_router(declarations.router)
