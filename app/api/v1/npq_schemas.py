"""v1 NPQ response schemas (v2 shows the same NPQ applications and outcomes). Used to document the
API only: responses are built as dicts by the NPQ serializers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.v1.schemas import DATE_TIME, UUID, one_of
from app.domain.enums import NPQ_COURSE_IDENTIFIERS, OutcomeState
from app.domain.npq_courses import SUPPORT_OFFER_COURSES

# ---- NPQ applications -----------------------------------------------------------------------------

FundingChoice = Literal["school", "trust", "self", "another", "employer"]
HeadteacherStatus = Literal[
    "no",
    "yes_when_course_starts",
    "yes_in_first_two_years",
    "yes_over_two_years",
    "yes_in_first_five_years",
    "yes_over_five_years",
]


class NPQApplicationAttributes(BaseModel):
    course_identifier: str = Field(json_schema_extra=one_of(NPQ_COURSE_IDENTIFIERS))
    email: str
    email_validated: bool
    employer_name: str | None
    employment_role: str | None
    full_name: str
    funding_choice: FundingChoice | None
    headteacher_status: HeadteacherStatus | None
    ineligible_for_funding_reason: Literal["establishment-ineligible", "previously-funded"] | None
    participant_id: str = Field(json_schema_extra=UUID)
    private_childcare_provider_urn: str | None
    teacher_reference_number: str | None
    teacher_reference_number_validated: bool
    school_urn: str | None
    school_ukprn: str | None
    status: Literal["pending", "accepted", "rejected"]
    works_in_school: bool | None
    created_at: str = Field(json_schema_extra=DATE_TIME)
    updated_at: str = Field(json_schema_extra=DATE_TIME)
    cohort: str = Field(examples=["2022"])
    eligible_for_funding: bool
    targeted_delivery_funding_eligibility: bool
    teacher_catchment: bool
    teacher_catchment_iso_country_code: str | None
    teacher_catchment_country: str | None
    itt_provider: str | None
    lead_mentor: bool


class NPQApplication(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["npq_application"]
    attributes: NPQApplicationAttributes


class NPQApplicationResponse(BaseModel):
    data: NPQApplication


class MultipleNPQApplicationsResponse(BaseModel):
    data: list[NPQApplication]


# ---- NPQ outcomes ---------------------------------------------------------------------------------

# Only assessed courses have outcomes.
OUTCOME_COURSE_IDENTIFIERS = tuple(c for c in NPQ_COURSE_IDENTIFIERS if c not in SUPPORT_OFFER_COURSES)


class NPQOutcomeAttributes(BaseModel):
    participant_id: str = Field(json_schema_extra=UUID)
    course_identifier: str = Field(json_schema_extra=one_of(OUTCOME_COURSE_IDENTIFIERS))
    state: str = Field(
        json_schema_extra=one_of(s.value for s in OutcomeState),
        description="`voided` when the completed declaration was voided.",
    )
    completion_date: str = Field(
        json_schema_extra=DATE_TIME,
        examples=["2021-05-31T00:00:00+00:00"],
        description="The date the participant received the outcome (at midnight UTC).",
    )
    created_at: str = Field(json_schema_extra=DATE_TIME)


class NPQOutcome(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["participant-outcome"]
    attributes: NPQOutcomeAttributes


class NPQOutcomeResponse(BaseModel):
    data: NPQOutcome


class MultipleNPQOutcomesResponse(BaseModel):
    data: list[NPQOutcome]
