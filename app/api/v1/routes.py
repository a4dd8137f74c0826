"""Every v1 route."""

from app.api import npq_applications, npq_outcomes, npq_participants
from app.api.routing import PathPrefixRouter
from app.api.v1 import declarations, ecf_participants

router = PathPrefixRouter("/api/v1")
router.include_router(ecf_participants.router)
router.include_router(declarations.router)
router.include_router(npq_applications.build_router("v1"))
# Outcomes before participants: `/participants/npq/outcomes` must not be taken for a participant id.
router.include_router(npq_outcomes.build_router("v1"))
router.include_router(npq_participants.build_router("v1"))
