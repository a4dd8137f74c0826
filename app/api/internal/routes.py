"""Every internal route, authenticated with internal role tokens."""

from fastapi import APIRouter

from app.api.internal.finance import router as finance_router

router = APIRouter(prefix="/api/internal")
router.include_router(finance_router)
