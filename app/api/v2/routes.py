"""Every v2 route. v2's ECF participant contract equals v1's, so it reuses v1's handlers."""

from fastapi import APIRouter

from app.api.v1 import ecf_participants

router = APIRouter()
router.include_router(ecf_participants.build_router("v2"))
