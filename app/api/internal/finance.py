"""Internal finance API (`/api/internal/finance`): statements, their calculation, payment
authorisation and contracts, for DfE finance users (and administrators).

Amounts are strings with two decimals (never floats); errors use the API's usual bodies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import ClockDep, JsonBodyDep, ListQueryDep, SessionDep
from app.api.internal.deps import FinanceCallerDep
from app.api.query import COHORT_PROPERTY, cohort_years, filter_parameter, page_parameter
from app.api.responses import JSONAPIResponse
from app.api.serialization import iso_date, rfc3339
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    Responses,
    jsonapi_request_body,
)
from app.domain.declaration_submission import request_attributes
from app.domain.finance.imports import ContractImporter, ContractImportResult
from app.domain.finance.money import money_text, optional_money_text
from app.domain.finance.rendering import calculation_csv, calculation_data
from app.domain.finance.statements import (
    FinanceStatementService,
    TransitionResult,
    contract_filters,
    statement_filters,
)
from app.repositories.finance import EcfContractRow, FinanceStatement, NpqContractRow

router = APIRouter(prefix="/finance", tags=["Internal: finance"])

PROVIDER_PROPERTY = {
    "type": "string",
    "description": "Only these lead providers' records (comma-separated CPD lead provider ids).",
}
PROGRAMME_PROPERTY = {"type": "string", "enum": ["ecf", "npq"], "description": "Programme."}
STATEMENT_FILTER = filter_parameter(
    {
        "provider": PROVIDER_PROPERTY,
        "cohort": COHORT_PROPERTY,
        "programme": PROGRAMME_PROPERTY,
        "state": {"type": "string", "enum": ["open", "payable", "paid"], "description": "Statement state."},
    },
    "Refine statements to return.",
    "filter[cohort]=2023&filter[programme]=ecf&filter[state]=payable",
)
CONTRACT_FILTER = filter_parameter(
    {"provider": PROVIDER_PROPERTY, "cohort": COHORT_PROPERTY, "programme": PROGRAMME_PROPERTY},
    "Refine contracts to return.",
    "filter[cohort]=2023&filter[programme]=npq",
)
READ: Responses = {**UNAUTHORISED, **FORBIDDEN}
MONEY = {"type": "string", "example": "995.00", "description": "Amount in pounds, two decimals."}
OPTIONAL_MONEY = {**MONEY, "nullable": True}
PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
CONTRACTS_BODY = jsonapi_request_body(
    "finance-contracts",
    {
        "type": "object",
        "description": "ECF call-off contracts and NPQ course contracts to create or replace.",
        "properties": {
            "ecf": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["lead_provider", "cohort", "recruitment_target", "bands"],
                    "properties": {
                        "lead_provider": {"type": "string", "description": "Name or CPD lead provider id."},
                        "cohort": {"type": "integer", "example": 2025},
                        "version": {"type": "string", "default": "0.0.1"},
                        "recruitment_target": {"type": "integer"},
                        "revised_target": {"type": "integer", "nullable": True},
                        "set_up_fee": MONEY,
                        "monthly_service_fee": {
                            **OPTIONAL_MONEY,
                            "description": "Absent or null: derived from the bands; 0: no service fee.",
                        },
                        "uplift_amount": OPTIONAL_MONEY,
                        "uplift_target": {"type": "string", "nullable": True, "example": "0.33"},
                        "bands": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 4,
                            "items": {
                                "type": "object",
                                "required": ["per_participant"],
                                "properties": {
                                    "min": {"type": "integer", "nullable": True},
                                    "max": {"type": "integer", "nullable": True},
                                    "per_participant": MONEY,
                                    "output_payment_percentage": {**PERCENT, "default": 60},
                                    "service_fee_percentage": {**PERCENT, "default": 40},
                                },
                            },
                        },
                    },
                },
            },
            "npq": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "lead_provider",
                        "cohort",
                        "course_identifier",
                        "recruitment_target",
                        "per_participant",
                    ],
                    "properties": {
                        "lead_provider": {"type": "string", "description": "Name or CPD lead provider id."},
                        "cohort": {"type": "integer"},
                        "course_identifier": {"type": "string", "example": "npq-headship"},
                        "version": {"type": "string", "default": "0.0.1"},
                        "recruitment_target": {"type": "integer"},
                        "per_participant": MONEY,
                        "service_fee_percentage": {**PERCENT, "default": 40},
                        "output_payment_percentage": {**PERCENT, "default": 60},
                        "service_fee_installments": {"type": "integer", "default": 0},
                        "number_of_payment_periods": {
                            "type": "integer",
                            "nullable": True,
                            "description": "Default: leadership 4, specialist 3, support offer and EHCO 4.",
                        },
                        "monthly_service_fee": {
                            **OPTIONAL_MONEY,
                            "description": "Absent or null: derived from the contract; 0: no service fee.",
                        },
                        "targeted_delivery_funding_per_participant": {**MONEY, "default": "100.00"},
                        "special_course": {"type": "boolean", "default": False},
                    },
                },
            },
        },
    },
)


# ---- serializers ----------------------------------------------------------------------------------


def statement(s: FinanceStatement) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "type": "statement",
        "attributes": {
            "name": s.name,
            "programme": s.programme,
            "cohort": str(s.cohort_year),
            "lead_provider_id": str(s.cpd_lead_provider_id),
            "lead_provider_name": s.provider_name,
            "state": s.state,
            "output_fee": s.output_fee,
            "cut_off_date": iso_date(s.deadline_date),
            "payment_date": iso_date(s.payment_date),
            "contract_version": s.contract_version,
            "reconcile_amount": money_text(s.reconcile_amount),
            "marked_as_paid_at": rfc3339(s.marked_as_paid_at),
            "created_at": rfc3339(s.created_at),
            "updated_at": rfc3339(s.updated_at),
        },
    }


def contract(c: EcfContractRow | NpqContractRow) -> dict[str, Any]:
    common = {
        "lead_provider_id": str(c.cpd_lead_provider_id) if c.cpd_lead_provider_id else None,
        "lead_provider_name": c.provider_name,
        "cohort": str(c.cohort_year),
        "version": c.version,
        "recruitment_target": c.recruitment_target,
        "monthly_service_fee": optional_money_text(c.monthly_service_fee),
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
    }
    if isinstance(c, EcfContractRow):
        attributes = {
            **common,
            "revised_target": c.revised_target,
            "set_up_fee": money_text(c.set_up_fee),
            "uplift_amount": optional_money_text(c.uplift_amount),
            "uplift_target": None if c.uplift_target is None else str(c.uplift_target),
            "bands": [
                {
                    "band": letter,
                    "min": b.min,
                    "max": b.max,
                    "per_participant": money_text(b.per_participant),
                    "output_payment_percentage": b.output_payment_percentage,
                    "service_fee_percentage": b.service_fee_percentage,
                }
                for letter, b in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", c.bands, strict=False)
            ],
        }
        return {"id": str(c.id), "type": "ecf-contract", "attributes": attributes}
    attributes = {
        **common,
        "course_identifier": c.course_identifier,
        "per_participant": money_text(c.per_participant),
        "service_fee_percentage": c.service_fee_percentage,
        "output_payment_percentage": c.output_payment_percentage,
        "service_fee_installments": c.service_fee_installments,
        "number_of_payment_periods": c.number_of_payment_periods,
        "targeted_delivery_funding_per_participant": money_text(c.targeted_delivery_funding_per_participant),
        "special_course": c.special_course,
    }
    return {"id": str(c.id), "type": "npq-contract", "attributes": attributes}


def transition(result: TransitionResult) -> dict[str, Any]:
    t = result.transition
    return {
        "data": statement(result.statement),
        "meta": {"to_state": t.to_state, "declarations": t.declarations, "clawed_back": t.clawbacks},
    }


def import_result(result: ContractImportResult) -> dict[str, Any]:
    return {
        "data": {
            "type": "finance-contracts-import",
            "attributes": {
                "ecf": {"created": result.ecf_created, "updated": result.ecf_updated},
                "npq": {"created": result.npq_created, "updated": result.npq_updated},
            },
        }
    }


# ---- routes ---------------------------------------------------------------------------------------


@router.get(
    "/statements",
    operation_id="internal_list_finance_statements",
    responses={**READ, **BAD_REQUEST},
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [STATEMENT_FILTER, page_parameter("statements")]},
)
async def list_statements(_: FinanceCallerDep, session: SessionDep, query: ListQueryDep) -> JSONAPIResponse:
    """List statements of every provider, earliest payment date first."""
    filters = statement_filters(
        query.filter("provider"), cohort_years(query), query.filter("programme"), query.filter("state")
    )
    rows = await FinanceStatementService(session).list_statements(filters, query.page)
    return JSONAPIResponse({"data": [statement(r) for r in rows]})


@router.get(
    "/statements/{id}",
    operation_id="internal_get_finance_statement",
    responses={**READ, **NOT_FOUND},
    response_class=JSONAPIResponse,
)
async def get_statement(id: str, _: FinanceCallerDep, session: SessionDep) -> JSONAPIResponse:
    """Get a statement."""
    return JSONAPIResponse({"data": statement(await FinanceStatementService(session).get(id))})


@router.get(
    "/statements/{id}/calculation",
    operation_id="internal_calculate_finance_statement",
    responses={**READ, **NOT_FOUND, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
)
async def calculate_statement(id: str, _: FinanceCallerDep, session: SessionDep) -> JSONAPIResponse:
    """Calculate what a statement pays: the ECF or NPQ breakdown and totals."""
    calculation = await FinanceStatementService(session).calculate(id)
    return JSONAPIResponse(
        {
            "data": {
                "id": str(calculation.statement.id),
                "type": f"{calculation.statement.programme}-statement-calculation",
                "attributes": calculation_data(calculation),
            }
        }
    )


@router.get(
    "/statements/{id}/calculation.csv",
    operation_id="internal_calculate_finance_statement_csv",
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The breakdown as CSV"},
        **READ,
        **NOT_FOUND,
        **UNPROCESSABLE,
    },
    response_class=Response,
)
async def calculate_statement_csv(id: str, _: FinanceCallerDep, session: SessionDep) -> Response:
    """Calculate what a statement pays, as CSV (one line per payment, then the totals)."""
    calculation = await FinanceStatementService(session).calculate(id)
    filename = f"statement-{calculation.statement.id}.csv"
    return Response(
        calculation_csv(calculation),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/statements/{id}/mark-payable",
    operation_id="internal_mark_finance_statement_payable",
    responses={**READ, **NOT_FOUND, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
)
async def mark_payable(id: str, _: FinanceCallerDep, session: SessionDep, clock: ClockDep) -> JSONAPIResponse:
    """Make an open statement past its cut-off date payable, with its eligible declarations."""
    return JSONAPIResponse(transition(await FinanceStatementService(session).mark_payable(id, clock.today())))


@router.post(
    "/statements/{id}/mark-paid",
    operation_id="internal_mark_finance_statement_paid",
    responses={**READ, **NOT_FOUND, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
)
async def mark_paid(id: str, _: FinanceCallerDep, session: SessionDep, clock: ClockDep) -> JSONAPIResponse:
    """Authorise payment of a payable statement: its declarations are paid or clawed back."""
    return JSONAPIResponse(transition(await FinanceStatementService(session).mark_paid(id, clock.now())))


@router.get(
    "/contracts",
    operation_id="internal_list_finance_contracts",
    responses={**READ, **BAD_REQUEST},
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [CONTRACT_FILTER, page_parameter("contracts")]},
)
async def list_contracts(_: FinanceCallerDep, session: SessionDep, query: ListQueryDep) -> JSONAPIResponse:
    """List ECF and NPQ contracts (ECF first), by cohort, provider, course and version."""
    filters = contract_filters(query.filter("provider"), cohort_years(query), query.filter("programme"))
    rows = await FinanceStatementService(session).contracts(filters, query.page)
    return JSONAPIResponse({"data": [contract(r) for r in rows]})


@router.post(
    "/contracts",
    operation_id="internal_load_finance_contracts",
    responses={**READ, **BAD_REQUEST, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": CONTRACTS_BODY},
)
async def load_contracts(_: FinanceCallerDep, session: SessionDep, body: JsonBodyDep) -> JSONAPIResponse:
    """Create or replace contracts; nothing is loaded unless every contract is valid."""
    result = await ContractImporter(session).load(request_attributes(body))
    return JSONAPIResponse(import_result(result))
