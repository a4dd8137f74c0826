"""Every internal route, authenticated with internal role tokens."""

from app.api.internal.admin import router as admin_router
from app.api.internal.audit import router as audit_router
from app.api.internal.finance import router as finance_router
from app.api.internal.npq_registration import router as npq_registration_router
from app.api.internal.schools import router as schools_router
from app.api.routing import PathPrefixRouter

router = PathPrefixRouter("/api/internal", prefix="/api/internal")
router.include_router(finance_router)
router.include_router(schools_router)
router.include_router(npq_registration_router)
router.include_router(admin_router)
router.include_router(audit_router)
