"""v3 wire shapes: a participant nests its ECF enrolments."""

from __future__ import annotations

from typing import Any

from app.api.serialization import day, instant, iso_date, str_or_none
from app.domain import declarations, statements
from app.domain import ecf_participants as ecf
from app.domain.ecf_participants import StatusChange, V3Enrolment, V3Participant
from app.repositories.declarations import DeclarationRow
from app.repositories.statements import StatementRow


def _change(change: StatusChange | None) -> dict[str, Any] | None:
    return None if change is None else {"reason": change.reason, "date": instant(change.date)}


def ecf_enrolment(enrolment: V3Enrolment, *, include_mentor_funding_end_date: bool) -> dict[str, Any]:
    row = enrolment.record
    out: dict[str, Any] = {
        "training_record_id": str(row.participant_profile_id),
        "email": ecf.email(row),
        "mentor_id": str_or_none(row.mentor_user_id) if row.profile_type == "ect" else None,
        "school_urn": row.school_urn,
        "participant_type": "ect" if row.profile_type == "ect" else "mentor",
        "cohort": str(row.school_cohort_year),
        "training_status": row.training_status,
        "participant_status": enrolment.participant_status,
        "teacher_reference_number_validated": ecf.trn_validated(row),
        "eligible_for_funding": ecf.eligible_for_funding(row),
        "pupil_premium_uplift": row.pupil_premium_uplift,
        "sparsity_uplift": row.sparsity_uplift,
        "schedule_identifier": row.schedule_identifier,
        "delivery_partner_id": str_or_none(row.delivery_partner_id),
        "withdrawal": _change(enrolment.withdrawal),
        "deferral": _change(enrolment.deferral),
        "created_at": instant(row.profile_created_at),
        "induction_end_date": iso_date(row.induction_completion_date),
    }
    if include_mentor_funding_end_date:
        out["mentor_funding_end_date"] = iso_date(row.mentor_completion_date)
    return out


def ecf_participant(participant: V3Participant, *, include_mentor_funding_end_date: bool) -> dict[str, Any]:
    return {
        "id": str(participant.user_id),
        "type": "participant",
        "attributes": {
            "full_name": participant.full_name,
            "teacher_reference_number": participant.teacher_reference_number,
            "updated_at": instant(participant.updated_at),
            "ecf_enrolments": [
                ecf_enrolment(e, include_mentor_funding_end_date=include_mentor_funding_end_date)
                for e in participant.enrolments
            ],
            "participant_id_changes": [
                {
                    "from_participant_id": str(c.from_participant_id),
                    "to_participant_id": str(c.to_participant_id),
                    "changed_at": instant(c.created_at),
                }
                for c in participant.id_changes
            ],
        },
    }


def declaration(row: DeclarationRow) -> dict[str, Any]:
    ecf_only = row.programme == "ecf"
    return {
        "id": str(row.id),
        "type": "participant-declaration",
        "attributes": {
            "participant_id": str(row.user_id),
            "declaration_type": row.declaration_type,
            "course_identifier": row.course_identifier,
            "declaration_date": instant(row.declaration_date),
            "mentor_id": str_or_none(row.mentor_user_id),
            "state": declarations.api_state(row.state),
            "updated_at": instant(row.updated_at),
            "created_at": instant(row.created_at),
            "delivery_partner_id": str_or_none(row.delivery_partner_id) if ecf_only else None,
            "statement_id": str_or_none(row.statement_id),
            "clawback_statement_id": str_or_none(row.clawback_statement_id),
            "ineligible_for_funding_reason": declarations.ineligible_for_funding_reason(row),
            "uplift_paid": declarations.uplift_paid(row),
            "evidence_held": row.evidence_held if ecf_only else None,
            "has_passed": declarations.has_passed(row),
            "lead_provider_name": row.lead_provider_name,
        },
    }


def statement(row: StatementRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": "statement",
        "attributes": {
            "month": statements.month(row),
            "year": statements.year(row),
            "type": row.programme,
            "cohort": str(row.cohort_year),
            "cut_off_date": day(row.deadline_date),
            "payment_date": day(row.payment_date),
            "paid": statements.paid(row),
            "created_at": instant(row.created_at),
            "updated_at": instant(row.updated_at),
        },
    }
