"""ORM tables shared by every API version. Import this package to register them all."""

from app.models.audit import AuditEvent
from app.models.base import Base
from app.models.cohorts import Cohort, Milestone, Schedule
from app.models.declarations import (
    DeclarationStateChange,
    ParticipantDeclaration,
    ParticipantDeclarationAttempt,
    ParticipantOutcome,
)
from app.models.finance import (
    CallOffContract,
    FinanceAdjustment,
    ParticipantBand,
    Statement,
    StatementLineItem,
)
from app.models.npq import NpqApplication, NpqContract, NpqCourse
from app.models.participants import (
    EcfIneligibleParticipant,
    EcfLatestInductionRecord,
    EcfParticipantEligibility,
    EcfParticipantValidationData,
    InductionRecord,
    ParticipantIdChange,
    ParticipantIdentity,
    ParticipantProfile,
    ParticipantProfileSchedule,
    ParticipantProfileState,
    SchoolMentor,
    TeacherProfile,
    User,
)
from app.models.providers import ApiToken, CpdLeadProvider, LeadProvider, NpqLeadProvider
from app.models.rate_limits import RateLimitCounter
from app.models.schools import (
    DeliveryPartner,
    InductionCoordinatorProfile,
    InductionCoordinatorProfileSchool,
    InductionProgramme,
    LocalAuthority,
    Partnership,
    ProviderRelationship,
    PupilPremium,
    School,
    SchoolCohort,
    SchoolLocalAuthority,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CallOffContract",
    "Cohort",
    "CpdLeadProvider",
    "DeclarationStateChange",
    "DeliveryPartner",
    "EcfIneligibleParticipant",
    "EcfLatestInductionRecord",
    "EcfParticipantEligibility",
    "EcfParticipantValidationData",
    "FinanceAdjustment",
    "InductionCoordinatorProfile",
    "InductionCoordinatorProfileSchool",
    "InductionProgramme",
    "InductionRecord",
    "LeadProvider",
    "LocalAuthority",
    "Milestone",
    "NpqApplication",
    "NpqContract",
    "NpqCourse",
    "NpqLeadProvider",
    "ParticipantBand",
    "ParticipantDeclaration",
    "ParticipantDeclarationAttempt",
    "ParticipantIdChange",
    "ParticipantIdentity",
    "ParticipantOutcome",
    "ParticipantProfile",
    "ParticipantProfileSchedule",
    "ParticipantProfileState",
    "Partnership",
    "ProviderRelationship",
    "PupilPremium",
    "RateLimitCounter",
    "Schedule",
    "School",
    "SchoolCohort",
    "SchoolLocalAuthority",
    "SchoolMentor",
    "Statement",
    "StatementLineItem",
    "TeacherProfile",
    "User",
]
