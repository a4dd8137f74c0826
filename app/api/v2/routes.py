"""Every v2 route. v2's ECF participant contract equals v1's, so it reuses v1's handlers."""

from app.api import npq_applications, npq_outcomes, npq_participants
from app.api.routing import PathPrefixRouter
from app.api.v1 import declarations, ecf_participants
from app.api.v2 import serializers

router = PathPrefixRouter("/api/v2")
router.include_router(ecf_participants.build_router("v2"))
router.include_router(
    declarations.build_router("v2", serializers.declaration, serializers.declaration_attributes)
)
router.include_router(npq_applications.build_router("v2"))
# Outcomes before participants: `/participants/npq/outcomes` must not be taken for a participant id.
router.include_router(npq_outcomes.build_router("v2"))
router.include_router(npq_participants.build_router("v2"))
