"""v1 wire shapes (v2 reuses them)."""

from __future__ import annotations

from typing import Any

from app.api.serialization import instant, str_or_none
from app.domain import declarations
from app.domain import ecf_participants as ecf
from app.repositories.declarations import DeclarationRow
from app.repositories.ecf_participants import EnrolmentRow

ECF_PARTICIPANT_CSV_HEADER = (
    "id",
    "email",
    "full_name",
    "mentor_id",
    "school_urn",
    "participant_type",
    "cohort",
    "status",
    "teacher_reference_number",
    "teacher_reference_number_validated",
    "eligible_for_funding",
    "pupil_premium_uplift",
    "sparsity_uplift",
    "training_status",
    "training_record_id",
    "schedule_identifier",
    "updated_at",
)


def ecf_participant_attributes(row: EnrolmentRow) -> dict[str, Any]:
    return {
        "email": ecf.email(row),
        "full_name": row.full_name,
        "mentor_id": str_or_none(row.mentor_user_id) if row.profile_type == "ect" else None,
        "school_urn": row.school_urn,
        "participant_type": "ect" if row.profile_type == "ect" else "mentor",
        "cohort": str(row.school_cohort_year),
        "status": ecf.v1_status(row.induction_status),
        "teacher_reference_number": ecf.v1_trn(row),
        "teacher_reference_number_validated": ecf.trn_validated(row),
        "eligible_for_funding": ecf.eligible_for_funding(row),
        "pupil_premium_uplift": row.pupil_premium_uplift,
        "sparsity_uplift": row.sparsity_uplift,
        "training_status": row.training_status,
        "training_record_id": str(row.participant_profile_id),
        "schedule_identifier": row.schedule_identifier,
        "updated_at": instant(ecf.v1_updated_at(row)),
    }


def ecf_participant(row: EnrolmentRow) -> dict[str, Any]:
    return {"id": str(row.user_id), "type": "participant", "attributes": ecf_participant_attributes(row)}


def ecf_participant_csv_row(row: EnrolmentRow) -> list[Any]:
    attributes = ecf_participant_attributes(row)
    return [str(row.user_id), *(attributes[name] for name in ECF_PARTICIPANT_CSV_HEADER[1:])]


def declaration_attributes(row: DeclarationRow) -> dict[str, Any]:
    return {
        "participant_id": str(row.user_id),
        "declaration_type": row.declaration_type,
        "course_identifier": row.course_identifier,
        "eligible_for_payment": declarations.eligible_for_payment(row),
        "declaration_date": instant(row.declaration_date),
        "updated_at": instant(row.updated_at),
        "voided": row.state == "voided",
        "state": declarations.api_state(row.state),
        "has_passed": declarations.has_passed(row),
    }


def declaration(row: DeclarationRow) -> dict[str, Any]:
    return {"id": str(row.id), "type": "participant-declaration", "attributes": declaration_attributes(row)}
