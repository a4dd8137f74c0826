"""Enumerations of the contract and the data model. Stored as plain strings."""

from __future__ import annotations

from enum import StrEnum


class ProfileType(StrEnum):
    ECT = "ect"
    MENTOR = "mentor"
    NPQ = "npq"


class InductionStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    CHANGED = "changed"
    LEAVING = "leaving"
    COMPLETED = "completed"


class TrainingStatus(StrEnum):
    ACTIVE = "active"
    DEFERRED = "deferred"
    WITHDRAWN = "withdrawn"


class ProfileStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class ChallengeReason(StrEnum):
    ANOTHER_PROVIDER = "another_provider"
    NOT_CONFIRMED = "not_confirmed"
    DO_NOT_RECOGNISE = "do_not_recognise"
    NO_ECTS = "no_ects"
    MISTAKE = "mistake"


class InductionProgrammeChoice(StrEnum):
    FULL_INDUCTION_PROGRAMME = "full_induction_programme"
    CORE_INDUCTION_PROGRAMME = "core_induction_programme"
    DESIGN_OUR_OWN = "design_our_own"
    SCHOOL_FUNDED_FIP = "school_funded_fip"
    NO_EARLY_CAREER_TEACHERS = "no_early_career_teachers"
    NOT_YET_KNOWN = "not_yet_known"


class TrainingProgramme(StrEnum):
    FULL_INDUCTION_PROGRAMME = "full_induction_programme"
    CORE_INDUCTION_PROGRAMME = "core_induction_programme"
    DESIGN_OUR_OWN = "design_our_own"
    SCHOOL_FUNDED_FIP = "school_funded_fip"


class EligibilityStatus(StrEnum):
    ELIGIBLE = "eligible"
    MATCHED = "matched"
    MANUAL_CHECK = "manual_check"
    INELIGIBLE = "ineligible"


class EligibilityReason(StrEnum):
    ACTIVE_FLAGS = "active_flags"
    PREVIOUS_PARTICIPATION = "previous_participation"
    PREVIOUS_INDUCTION = "previous_induction"
    NO_QTS = "no_qts"
    DIFFERENT_TRN = "different_trn"
    DUPLICATE_PROFILE = "duplicate_profile"
    NONE = "none"
    NO_INDUCTION = "no_induction"
    EXEMPT_FROM_INDUCTION = "exempt_from_induction"


class ScheduleType(StrEnum):
    """Schedule families; `mentor` is the ECF replacement schedule (mentors only)."""

    ECF = "ecf"
    MENTOR = "mentor"
    NPQ_LEADERSHIP = "npq_leadership"
    NPQ_SPECIALIST = "npq_specialist"
    NPQ_SUPPORT = "npq_support"
    NPQ_EHCO = "npq_ehco"


class DeclarationType(StrEnum):
    STARTED = "started"
    RETAINED_1 = "retained-1"
    RETAINED_2 = "retained-2"
    RETAINED_3 = "retained-3"
    RETAINED_4 = "retained-4"
    COMPLETED = "completed"
    EXTENDED_1 = "extended-1"
    EXTENDED_2 = "extended-2"
    EXTENDED_3 = "extended-3"


class DeclarationState(StrEnum):
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    PAYABLE = "payable"
    PAID = "paid"
    VOIDED = "voided"
    INELIGIBLE = "ineligible"
    AWAITING_CLAWBACK = "awaiting_clawback"
    CLAWED_BACK = "clawed_back"


BILLABLE_OR_SUBMITTED_STATES = (
    DeclarationState.SUBMITTED,
    DeclarationState.ELIGIBLE,
    DeclarationState.PAYABLE,
    DeclarationState.PAID,
)


class ProgrammeType(StrEnum):
    ECF = "ecf"
    NPQ = "npq"


class StatementState(StrEnum):
    OPEN = "open"
    PAYABLE = "payable"
    PAID = "paid"


class LineItemState(StrEnum):
    ELIGIBLE = "eligible"
    PAYABLE = "payable"
    PAID = "paid"
    VOIDED = "voided"
    INELIGIBLE = "ineligible"
    AWAITING_CLAWBACK = "awaiting_clawback"
    CLAWED_BACK = "clawed_back"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class OutcomeState(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    VOIDED = "voided"


class TokenScope(StrEnum):
    """Who a token belongs to: a lead provider, or an internal role (schools, NPQ intake, DfE)."""

    LEAD_PROVIDER = "lead_provider"
    SCHOOL = "school"
    NPQ_REGISTRATION = "npq_registration"
    ADMIN = "admin"
    FINANCE = "finance"


ECF_COURSE_IDENTIFIERS = ("ecf-induction", "ecf-mentor")
NPQ_COURSE_IDENTIFIERS = (
    "npq-leading-teaching",
    "npq-leading-behaviour-culture",
    "npq-leading-teaching-development",
    "npq-leading-literacy",
    "npq-senior-leadership",
    "npq-headship",
    "npq-executive-leadership",
    "npq-early-years-leadership",
    "npq-leading-primary-mathematics",
    "npq-additional-support-offer",
    "npq-early-headship-coaching-offer",
)

# The training-record kind behind each ECF course, and the courses each kind of record covers.
PROFILE_TYPE_BY_ECF_COURSE = {"ecf-induction": "ect", "ecf-mentor": "mentor"}
COURSES_BY_PROFILE_TYPE: dict[str, tuple[str, ...]] = {
    "ect": ("ecf-induction",),
    "mentor": ("ecf-mentor",),
    "npq": NPQ_COURSE_IDENTIFIERS,
}
