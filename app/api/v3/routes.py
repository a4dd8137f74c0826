"""Every v3 route."""

from fastapi import APIRouter

from app.api.v3 import declarations, ecf_participants, statements

router = APIRouter()
router.include_router(ecf_participants.router)
router.include_router(declarations.router)
router.include_router(statements.router)
