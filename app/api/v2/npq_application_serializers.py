"""v2 NPQ application CSV exports: the applications export lacks v1's catchment columns, and v2
alone has the enrolments export. v2's JSON is v1's."""

from __future__ import annotations

from typing import Any

from app.api.v1.npq_application_serializers import NPQ_APPLICATION_CSV_HEADER, npq_application_csv_values
from app.repositories.npq_applications import ApplicationRow, EnrolmentCsvRow

_V1_ONLY = ("teacher_catchment", "teacher_catchment_country", "teacher_catchment_iso_country_code")
NPQ_APPLICATION_CSV_HEADER_V2 = tuple(name for name in NPQ_APPLICATION_CSV_HEADER if name not in _V1_ONLY)

NPQ_ENROLMENT_CSV_HEADER = (
    "participant_id",
    "course_identifier",
    "schedule_identifier",
    "cohort",
    "npq_application_id",
    "eligible_for_funding",
    "training_status",
    "school_urn",
)


def npq_application_csv_row(row: ApplicationRow) -> list[Any]:
    values = npq_application_csv_values(row)
    return [values[name] for name in NPQ_APPLICATION_CSV_HEADER_V2]


def npq_enrolment_csv_row(row: EnrolmentCsvRow) -> list[Any]:
    # eligible_for_funding is the application's own flag here (not adjusted for previous funding).
    return [
        str(row.user_id),
        row.course_identifier,
        row.schedule_identifier,
        str(row.cohort_year),
        str(row.application_id),
        row.eligible_for_funding,
        row.training_status,
        row.school_urn,
    ]
