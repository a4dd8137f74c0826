"""Every v3 route."""

from app.api import npq_applications, npq_outcomes, npq_participants
from app.api.routing import PathPrefixRouter
from app.api.v3 import (
    declarations,
    delivery_partners,
    ecf_participants,
    partnerships,
    schools,
    statements,
    transfers,
    unfunded_mentors,
)

router = PathPrefixRouter("/api/v3")
# Transfers first: `/participants/ecf/transfers` must not be taken for a participant id.
router.include_router(transfers.router)
router.include_router(ecf_participants.router)
router.include_router(declarations.router)
router.include_router(statements.router)
router.include_router(unfunded_mentors.router)
router.include_router(schools.router)
router.include_router(partnerships.router)
router.include_router(delivery_partners.router)
router.include_router(npq_applications.build_router("v3"))
# Outcomes before participants: `/participants/npq/outcomes` must not be taken for a participant id.
router.include_router(npq_outcomes.build_router("v3"))
router.include_router(npq_participants.build_router("v3"))
