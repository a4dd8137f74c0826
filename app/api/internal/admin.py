"""DfE operators' internal API (`/api/internal/admin`): reference data (lead providers, delivery
partners, cohorts, schedules, schools) and participant corrections (funding eligibility,
induction completion, merging duplicates). Administrator tokens only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import ClockDep, JsonBodyDep, SessionDep, SettingsDep
from app.api.internal.deps import AdminCallerDep
from app.api.responses import JSONAPIResponse
from app.api.serialization import iso_date, rfc3339, str_or_none
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    Responses,
    jsonapi_request_body,
)
from app.domain.admin import AdminService, CreatedLeadProvider, EligibilityChange, Merge
from app.domain.declaration_submission import request_attributes
from app.domain.enums import DeclarationType, EligibilityReason, EligibilityStatus, ScheduleType
from app.repositories.admin import CohortRow, DeliveryPartnerRow, ScheduleRow, SchoolRow, TrainingRecordRow

router = APIRouter(prefix="/admin", tags=["Internal: administration"])

WRITE: Responses = {**UNAUTHORISED, **FORBIDDEN, **BAD_REQUEST, **UNPROCESSABLE}
ID = {"type": "string", "format": "uuid"}
DATE = {"type": "string", "format": "date", "example": "2025-09-01"}
OPTIONAL_DATE = {**DATE, "nullable": True}
YEAR = {"type": "integer", "example": 2025}

LEAD_PROVIDER_BODY = jsonapi_request_body(
    "lead-provider",
    {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "description": "Unique."},
            "ecf": {"type": "boolean", "default": False, "description": "Give it an ECF role."},
            "npq": {"type": "boolean", "default": False, "description": "Give it an NPQ role."},
            "vat_chargeable": {"type": "boolean", "default": True},
            "issue_token": {
                "type": "boolean",
                "default": False,
                "description": "Issue its first API token; the raw token is in `meta.token`, this once only.",
            },
        },
    },
)
DELIVERY_PARTNER_BODY = jsonapi_request_body(
    "delivery-partner",
    {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "relationships": {
                "type": "array",
                "description": "The ECF lead providers it may work with, per cohort.",
                "items": {
                    "type": "object",
                    "required": ["lead_provider_id", "cohort"],
                    "properties": {
                        "lead_provider_id": {**ID, "description": "CPD lead provider id."},
                        "cohort": YEAR,
                    },
                },
            },
        },
    },
)
COHORT_BODY = jsonapi_request_body(
    "cohort",
    {
        "type": "object",
        "required": ["start_year"],
        "properties": {
            "start_year": YEAR,
            "registration_start_date": OPTIONAL_DATE,
            "academic_year_start_date": {
                **OPTIONAL_DATE,
                "description": "Default: 1 September of start_year.",
            },
            "npq_registration_start_date": OPTIONAL_DATE,
            "automatic_assignment_period_end_date": OPTIONAL_DATE,
            "mentor_funding": {"type": "boolean", "default": False},
        },
    },
)
SCHEDULE_BODY = jsonapi_request_body(
    "schedule",
    {
        "type": "object",
        "required": ["cohort", "schedule_identifier", "schedule_type", "milestones"],
        "properties": {
            "cohort": YEAR,
            "schedule_identifier": {"type": "string", "example": "ecf-standard-september"},
            "name": {"type": "string", "description": "Default: the identifier."},
            "schedule_type": {"type": "string", "enum": list(ScheduleType)},
            "identifier_alias": {"type": "string", "nullable": True},
            "milestones": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["declaration_type", "start_date", "payment_date"],
                    "properties": {
                        "declaration_type": {"type": "string", "enum": list(DeclarationType)},
                        "name": {"type": "string"},
                        "start_date": DATE,
                        "milestone_date": {**OPTIONAL_DATE, "description": "Null: open-ended."},
                        "payment_date": DATE,
                    },
                },
            },
        },
    },
)
SCHOOL_BODY = jsonapi_request_body(
    "school",
    {
        "type": "object",
        "required": ["urn", "name"],
        "properties": {
            "urn": {"type": "string", "example": "100001", "description": "Unique; 5 to 8 digits."},
            "name": {"type": "string"},
            "ukprn": {"type": "string", "example": "10012345", "nullable": True},
            "school_type_code": {"type": "integer", "nullable": True},
            "school_status_code": {"type": "integer", "nullable": True},
            "administrative_district_code": {"type": "string", "example": "E09000001", "nullable": True},
            "section_41_approved": {"type": "boolean", "default": False},
            "primary_contact_email": {"type": "string", "format": "email", "nullable": True},
            "secondary_contact_email": {"type": "string", "format": "email", "nullable": True},
            "address_line1": {"type": "string", "nullable": True},
            "postcode": {"type": "string", "nullable": True},
            "local_authority_code": {"type": "string", "nullable": True},
        },
    },
)
ELIGIBILITY_BODY = jsonapi_request_body(
    "ecf-participant-eligibility",
    {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": list(EligibilityStatus)},
            "reason": {
                "type": "string",
                "enum": list(EligibilityReason),
                "description": "Needed when ineligible; default `none` when eligible.",
            },
        },
    },
)
INDUCTION_BODY = jsonapi_request_body(
    "induction-completion",
    {
        "type": "object",
        "required": ["induction_completion_date"],
        "properties": {"induction_completion_date": {**OPTIONAL_DATE, "description": "Null clears it."}},
    },
)
MERGE_BODY = jsonapi_request_body(
    "participant-merge",
    {
        "type": "object",
        "required": ["from_participant_id", "to_participant_id"],
        "properties": {
            "from_participant_id": {**ID, "description": "The duplicate: retired by the merge."},
            "to_participant_id": {**ID, "description": "The participant who remains."},
        },
    },
)


# ---- serializers ----------------------------------------------------------------------------------


def _document(id: Any, type_: str, attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"data": {"id": str(id), "type": type_, "attributes": attributes}, **extra}


def lead_provider_document(created: CreatedLeadProvider) -> dict[str, Any]:
    p = created.provider
    attributes = {
        "name": p.name,
        "ecf": p.lead_provider_id is not None,
        "npq": p.npq_lead_provider_id is not None,
        "lead_provider_id": str_or_none(p.lead_provider_id),
        "npq_lead_provider_id": str_or_none(p.npq_lead_provider_id),
        "vat_chargeable": p.ecf_vat_chargeable if p.ecf_vat_chargeable is not None else p.npq_vat_chargeable,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
    }
    extra = {"meta": {"token": created.token}} if created.token else {}
    return _document(p.id, "lead-provider", attributes, **extra)


def delivery_partner_document(p: DeliveryPartnerRow) -> dict[str, Any]:
    return _document(
        p.id,
        "delivery-partner",
        {
            "name": p.name,
            "relationships": [
                {
                    "lead_provider_id": str_or_none(r.cpd_lead_provider_id),
                    "lead_provider_name": r.lead_provider_name,
                    "cohort": str(r.cohort_year),
                }
                for r in p.relationships
            ],
            "created_at": rfc3339(p.created_at),
            "updated_at": rfc3339(p.updated_at),
        },
    )


def cohort_document(c: CohortRow) -> dict[str, Any]:
    return _document(
        c.id,
        "cohort",
        {
            "start_year": c.start_year,
            "registration_start_date": iso_date(c.registration_start_date),
            "academic_year_start_date": iso_date(c.academic_year_start_date),
            "npq_registration_start_date": iso_date(c.npq_registration_start_date),
            "automatic_assignment_period_end_date": iso_date(c.automatic_assignment_period_end_date),
            "mentor_funding": c.mentor_funding,
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
        },
    )


def schedule_document(s: ScheduleRow) -> dict[str, Any]:
    return _document(
        s.id,
        "schedule",
        {
            "cohort": str(s.cohort_year),
            "schedule_identifier": s.schedule_identifier,
            "name": s.name,
            "schedule_type": s.schedule_type,
            "identifier_alias": s.identifier_alias,
            "milestones": [
                {
                    "declaration_type": m.declaration_type,
                    "name": m.name,
                    "start_date": iso_date(m.start_date),
                    "milestone_date": iso_date(m.milestone_date),
                    "payment_date": iso_date(m.payment_date),
                }
                for m in s.milestones
            ],
            "created_at": rfc3339(s.created_at),
            "updated_at": rfc3339(s.updated_at),
        },
    )


def school_document(s: SchoolRow) -> dict[str, Any]:
    fields = {k: v for k, v in s.fields.items() if k != "local_authority_id"}
    return _document(
        s.id,
        "school",
        {
            **fields,
            "local_authority_code": s.local_authority_code,
            "created_at": rfc3339(s.created_at),
            "updated_at": rfc3339(s.updated_at),
        },
    )


def training_record_document(r: TrainingRecordRow, **extra: Any) -> dict[str, Any]:
    return _document(
        r.id,
        "training-record",
        {
            "participant_id": str(r.user_id),
            "participant_type": r.profile_type,
            "eligibility_status": r.eligibility_status,
            "eligibility_reason": r.eligibility_reason,
            "induction_start_date": iso_date(r.induction_start_date),
            "induction_completion_date": iso_date(r.induction_completion_date),
            "updated_at": rfc3339(r.updated_at),
        },
        **extra,
    )


def eligibility_document(change: EligibilityChange) -> dict[str, Any]:
    moved = {state: [str(i) for i in ids] for state, ids in change.declarations.items()}
    return training_record_document(change.record, meta={"declarations_moved": moved})


def merge_document(m: Merge) -> dict[str, Any]:
    return _document(
        m.id,
        "participant-id-change",
        {
            "from_participant_id": str(m.from_participant_id),
            "to_participant_id": str(m.to_participant_id),
            "changed_at": rfc3339(m.changed_at),
        },
        meta={
            "moved": {
                "identities": m.moved.identities,
                "training_records": m.moved.training_records,
                "npq_applications": m.moved.npq_applications,
                "declarations": m.moved.declarations,
            }
        },
    )


# ---- routes ---------------------------------------------------------------------------------------


@router.post(
    "/lead-providers",
    operation_id="internal_admin_create_lead_provider",
    status_code=201,
    responses=WRITE,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": LEAD_PROVIDER_BODY},
)
async def create_lead_provider(
    _: AdminCallerDep, session: SessionDep, clock: ClockDep, settings: SettingsDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Create a lead provider with an ECF and/or NPQ role, optionally with its first API token."""
    created = await AdminService(session, clock).create_lead_provider(
        request_attributes(body), settings.token_hmac_key
    )
    return JSONAPIResponse(lead_provider_document(created), status_code=201)


@router.post(
    "/delivery-partners",
    operation_id="internal_admin_create_delivery_partner",
    status_code=201,
    responses=WRITE,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": DELIVERY_PARTNER_BODY},
)
async def create_delivery_partner(
    _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Create a delivery partner and the lead providers and cohorts it may work with."""
    created = await AdminService(session, clock).create_delivery_partner(request_attributes(body))
    return JSONAPIResponse(delivery_partner_document(created), status_code=201)


@router.post(
    "/cohorts",
    operation_id="internal_admin_create_cohort",
    status_code=201,
    responses=WRITE,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": COHORT_BODY},
)
async def create_cohort(
    _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Create a cohort."""
    created = await AdminService(session, clock).create_cohort(request_attributes(body))
    return JSONAPIResponse(cohort_document(created), status_code=201)


@router.post(
    "/schedules",
    operation_id="internal_admin_create_schedule",
    status_code=201,
    responses=WRITE,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": SCHEDULE_BODY},
)
async def create_schedule(
    _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Create a cohort's ECF or NPQ schedule with its milestones."""
    created = await AdminService(session, clock).create_schedule(request_attributes(body))
    return JSONAPIResponse(schedule_document(created), status_code=201)


@router.post(
    "/schools",
    operation_id="internal_admin_create_school",
    status_code=201,
    responses=WRITE,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": SCHOOL_BODY},
)
async def create_school(
    _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Create a school (its register entry)."""
    created = await AdminService(session, clock).create_school(request_attributes(body))
    return JSONAPIResponse(school_document(created), status_code=201)


@router.put(
    "/training-records/{id}/eligibility",
    operation_id="internal_admin_set_ecf_eligibility",
    responses={**WRITE, **NOT_FOUND},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": ELIGIBILITY_BODY},
)
async def set_eligibility(
    id: str, _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Confirm or change an ECF training record's funding eligibility; its submitted declarations follow."""
    change = await AdminService(session, clock).set_eligibility(id, request_attributes(body))
    return JSONAPIResponse(eligibility_document(change))


@router.put(
    "/training-records/{id}/induction-completion",
    operation_id="internal_admin_record_induction_completion",
    responses={**WRITE, **NOT_FOUND},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": INDUCTION_BODY},
)
async def record_induction_completion(
    id: str, _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Record (or clear) the date an ECT completed induction."""
    record = await AdminService(session, clock).record_induction_completion(id, request_attributes(body))
    return JSONAPIResponse(training_record_document(record))


@router.post(
    "/participant-merges",
    operation_id="internal_admin_merge_participants",
    status_code=201,
    responses={**WRITE, **NOT_FOUND},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": MERGE_BODY},
)
async def merge_participants(
    _: AdminCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Merge a duplicate participant into another; the duplicate's id is retired as an id change."""
    merged = await AdminService(session, clock).merge(request_attributes(body))
    return JSONAPIResponse(merge_document(merged), status_code=201)
