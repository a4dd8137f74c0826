"""v1 NPQ application wire shapes (v2 shows the same JSON; v3 adds one attribute)."""

from __future__ import annotations

from typing import Any

from app.api.serialization import instant
from app.domain import npq_applications as rules
from app.repositories.npq_applications import ApplicationRow

NPQ_APPLICATION_TYPE = "npq_application"

NPQ_APPLICATION_CSV_HEADER = (
    "id",
    "participant_id",
    "full_name",
    "email",
    "email_validated",
    "teacher_reference_number",
    "teacher_reference_number_validated",
    "school_urn",
    "school_ukprn",
    "private_childcare_provider_urn",
    "headteacher_status",
    "eligible_for_funding",
    "funding_choice",
    "course_identifier",
    "status",
    "works_in_school",
    "employer_name",
    "employment_role",
    "created_at",
    "updated_at",
    "cohort",
    "ineligible_for_funding_reason",
    "targeted_delivery_funding_eligibility",
    "teacher_catchment",
    "teacher_catchment_country",
    "teacher_catchment_iso_country_code",
    "itt_provider",
    "lead_mentor",
)


def npq_application_attributes(row: ApplicationRow) -> dict[str, Any]:
    """The attributes in the order the reference emits them."""
    return {
        "course_identifier": row.course_identifier,
        "email": row.email,
        "email_validated": True,
        "employer_name": row.employer_name,
        "employment_role": row.employment_role,
        "full_name": row.full_name,
        "funding_choice": row.funding_choice,
        "headteacher_status": row.headteacher_status,
        "ineligible_for_funding_reason": rules.ineligible_for_funding_reason(row),
        "participant_id": str(row.user_id),
        "private_childcare_provider_urn": row.private_childcare_provider_urn,
        "teacher_reference_number": row.teacher_reference_number,
        "teacher_reference_number_validated": row.teacher_reference_number_verified,
        "school_urn": row.school_urn,
        "school_ukprn": row.school_ukprn,
        "status": row.status,
        "works_in_school": row.works_in_school,
        "created_at": instant(row.created_at),
        "updated_at": instant(row.updated_at),
        "cohort": rules.cohort(row),
        "eligible_for_funding": rules.eligible_for_funding(row),
        "targeted_delivery_funding_eligibility": row.targeted_delivery_funding_eligibility,
        "teacher_catchment": rules.in_uk_catchment(row),
        "teacher_catchment_iso_country_code": row.teacher_catchment_iso_country_code,
        "teacher_catchment_country": row.teacher_catchment_country,
        "itt_provider": row.itt_provider,
        "lead_mentor": row.lead_mentor,
    }


def npq_application(row: ApplicationRow) -> dict[str, Any]:
    return {"id": str(row.id), "type": NPQ_APPLICATION_TYPE, "attributes": npq_application_attributes(row)}


def npq_application_csv_values(row: ApplicationRow) -> dict[str, Any]:
    """Every CSV column by name (each version picks its columns)."""
    return {"id": str(row.id), **npq_application_attributes(row)}


def npq_application_csv_row(row: ApplicationRow) -> list[Any]:
    values = npq_application_csv_values(row)
    return [values[name] for name in NPQ_APPLICATION_CSV_HEADER]
