"""Every query of the finance area: statements, their line-item counts, contracts and imports.

The calculation needs a handful of grouped queries per statement (never one per line item):
the statement with its provider roles, the contract (and bands), the line items counted by
declaration type and kind, and the finance adjustments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.sql import text

BILLABLE = ("eligible", "payable", "paid")
REFUNDABLE = ("awaiting_clawback", "clawed_back")


@dataclass(frozen=True)
class FinanceStatement:
    id: uuid.UUID
    name: str
    programme: str
    state: str
    cpd_lead_provider_id: uuid.UUID
    provider_name: str
    cohort_id: uuid.UUID
    cohort_year: int
    deadline_date: date
    payment_date: date
    output_fee: bool
    contract_version: str
    reconcile_amount: Decimal
    marked_as_paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lead_provider_id: uuid.UUID | None
    ecf_vat_chargeable: bool | None
    npq_lead_provider_id: uuid.UUID | None
    npq_vat_chargeable: bool | None


@dataclass(frozen=True)
class StatementListFilters:
    provider_ids: list[uuid.UUID] | None = None
    cohort_years: list[int] | None = None
    programme: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class BandRow:
    min: int | None
    max: int | None
    per_participant: Decimal
    output_payment_percentage: int
    service_fee_percentage: int


@dataclass(frozen=True)
class EcfContractRow:
    id: uuid.UUID
    lead_provider_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID | None
    provider_name: str
    cohort_year: int
    version: str
    recruitment_target: int
    revised_target: int | None
    set_up_fee: Decimal
    uplift_target: Decimal | None
    uplift_amount: Decimal | None
    monthly_service_fee: Decimal | None
    created_at: datetime
    updated_at: datetime
    bands: tuple[BandRow, ...] = ()


@dataclass(frozen=True)
class NpqContractRow:
    id: uuid.UUID
    npq_lead_provider_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID | None
    provider_name: str
    cohort_year: int
    course_identifier: str
    version: str
    recruitment_target: int
    per_participant: Decimal
    service_fee_percentage: int
    output_payment_percentage: int
    service_fee_installments: int
    number_of_payment_periods: int | None
    monthly_service_fee: Decimal | None
    targeted_delivery_funding_per_participant: Decimal
    special_course: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EcfCount:
    """Line items of the provider's cohort statements, grouped."""

    current: bool
    declaration_type: str
    billable: bool
    uplift: bool
    count: int


@dataclass(frozen=True)
class NpqCount:
    """Distinct (participant, declaration type) of one course on a statement, grouped."""

    course_identifier: str
    declaration_type: str
    billable: bool
    participants: int
    tdf_participants: int


@dataclass(frozen=True)
class AdjustmentRow:
    payment_type: str
    amount: Decimal


@dataclass(frozen=True)
class ProviderRoles:
    cpd_lead_provider_id: uuid.UUID
    name: str
    lead_provider_id: uuid.UUID | None
    npq_lead_provider_id: uuid.UUID | None


@dataclass(frozen=True)
class ContractHolder:
    programme: str
    cohort_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID
    provider_name: str


@dataclass(frozen=True)
class NewStatement:
    programme: str
    name: str
    cpd_lead_provider_id: uuid.UUID
    cohort_id: uuid.UUID
    deadline_date: date
    payment_date: date
    output_fee: bool
    contract_version: str
    state: str


@dataclass(frozen=True)
class ContractListFilters:
    provider_ids: list[uuid.UUID] | None = None
    cohort_years: list[int] | None = None
    programme: str | None = None


_STATEMENT_SELECT = """
    SELECT s.id, s.name, s.programme, s.state, s.cpd_lead_provider_id, cpd.name AS provider_name,
           s.cohort_id, c.start_year AS cohort_year, s.deadline_date, s.payment_date, s.output_fee,
           s.contract_version, s.reconcile_amount, s.marked_as_paid_at, s.created_at, s.updated_at,
           lp.id AS lead_provider_id, lp.vat_chargeable AS ecf_vat_chargeable,
           nlp.id AS npq_lead_provider_id, nlp.vat_chargeable AS npq_vat_chargeable
      FROM statements s
      JOIN cohorts c ON c.id = s.cohort_id
      JOIN cpd_lead_providers cpd ON cpd.id = s.cpd_lead_provider_id
      LEFT JOIN lead_providers lp ON lp.cpd_lead_provider_id = cpd.id
      LEFT JOIN npq_lead_providers nlp ON nlp.cpd_lead_provider_id = cpd.id
"""

_ECF_CONTRACT_SELECT = """
    SELECT coc.id, coc.lead_provider_id, lp.cpd_lead_provider_id, lp.name AS provider_name,
           c.start_year AS cohort_year, coc.version, coc.recruitment_target, coc.revised_target,
           coc.set_up_fee, coc.uplift_target, coc.uplift_amount, coc.monthly_service_fee,
           coc.created_at, coc.updated_at
      FROM call_off_contracts coc
      JOIN lead_providers lp ON lp.id = coc.lead_provider_id
      JOIN cohorts c ON c.id = coc.cohort_id
"""

_NPQ_CONTRACT_SELECT = """
    SELECT nc.id, nc.npq_lead_provider_id, nlp.cpd_lead_provider_id, nlp.name AS provider_name,
           c.start_year AS cohort_year, nc.course_identifier, nc.version, nc.recruitment_target,
           nc.per_participant, nc.service_fee_percentage, nc.output_payment_percentage,
           nc.service_fee_installments, nc.number_of_payment_periods, nc.monthly_service_fee,
           nc.targeted_delivery_funding_per_participant, nc.special_course, nc.created_at, nc.updated_at
      FROM npq_contracts nc
      JOIN npq_lead_providers nlp ON nlp.id = nc.npq_lead_provider_id
      JOIN cohorts c ON c.id = nc.cohort_id
"""

# Bands in letter order: a missing min first, then by max.
_BAND_ORDER = "b.min ASC NULLS FIRST, b.max ASC NULLS LAST, b.id"


def _statement(mapping: RowMapping) -> FinanceStatement:
    return FinanceStatement(**mapping)


class FinanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[RowMapping]:
        return list((await self.session.execute(text(sql), params)).mappings())

    # ---- statements --------------------------------------------------------------------------

    async def statement(self, statement_id: uuid.UUID) -> FinanceStatement | None:
        rows = await self._rows(f"{_STATEMENT_SELECT} WHERE s.id = :id", {"id": statement_id})
        return _statement(rows[0]) if rows else None

    async def list_statements(self, filters: StatementListFilters, page: Page) -> list[FinanceStatement]:
        """A page of statements, earliest payment first; ids are paged before the rows are joined."""
        clauses = ["TRUE"]
        params: dict[str, Any] = {"limit": page.limit, "offset": page.offset}
        if filters.provider_ids is not None:
            clauses.append("s.cpd_lead_provider_id = ANY(:provider_ids)")
            params["provider_ids"] = filters.provider_ids
        if filters.cohort_years is not None:
            clauses.append("s.cohort_id IN (SELECT id FROM cohorts WHERE start_year = ANY(:years))")
            params["years"] = filters.cohort_years
        if filters.programme is not None:
            clauses.append("s.programme = :programme")
            params["programme"] = filters.programme
        if filters.state is not None:
            clauses.append("s.state = :state")
            params["state"] = filters.state
        sql = f"""
            WITH page AS (
                SELECT s.id, row_number() OVER (ORDER BY s.payment_date, s.id) AS position
                  FROM statements s
                 WHERE {" AND ".join(clauses)}
                 ORDER BY s.payment_date, s.id
                 LIMIT :limit OFFSET :offset
            )
            {_STATEMENT_SELECT}
            JOIN page ON page.id = s.id
            ORDER BY page.position"""
        return [_statement(r) for r in await self._rows(sql, params)]

    async def finance_adjustments(self, statement_id: uuid.UUID) -> list[AdjustmentRow]:
        rows = await self._rows(
            """SELECT payment_type, amount FROM finance_adjustments
                WHERE statement_id = :id ORDER BY created_at, id""",
            {"id": statement_id},
        )
        return [AdjustmentRow(**r) for r in rows]

    # ---- ECF ---------------------------------------------------------------------------------

    async def ecf_contract(
        self, lead_provider_id: uuid.UUID, cohort_id: uuid.UUID, version: str
    ) -> EcfContractRow | None:
        rows = await self._rows(
            f"""{_ECF_CONTRACT_SELECT}
                WHERE coc.lead_provider_id = :lp AND coc.cohort_id = :cohort AND coc.version = :version""",
            {"lp": lead_provider_id, "cohort": cohort_id, "version": version},
        )
        if not rows:
            return None
        bands = await self._bands([rows[0]["id"]])
        return EcfContractRow(**rows[0], bands=tuple(bands.get(rows[0]["id"], [])))

    async def _bands(self, contract_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[BandRow]]:
        rows = await self._rows(
            f"""SELECT b.call_off_contract_id, b.min, b.max, b.per_participant,
                       b.output_payment_percentage, b.service_fee_percentage
                  FROM participant_bands b
                 WHERE b.call_off_contract_id = ANY(:ids)
                 ORDER BY b.call_off_contract_id, {_BAND_ORDER}""",
            {"ids": contract_ids},
        )
        bands: dict[uuid.UUID, list[BandRow]] = {}
        for r in rows:
            values = dict(r)
            bands.setdefault(values.pop("call_off_contract_id"), []).append(BandRow(**values))
        return bands

    async def ecf_counts(self, statement: FinanceStatement) -> list[EcfCount]:
        """Line items of this statement and of the provider's earlier ECF statements of the cohort
        (earlier payment date), by declaration type, billable or refundable, and uplift flag."""
        rows = await self._rows(
            """SELECT li.statement_id = :id AS current,
                      d.declaration_type,
                      li.state IN ('eligible', 'payable', 'paid') AS billable,
                      (d.sparsity_uplift OR d.pupil_premium_uplift) AS uplift,
                      count(*) AS count
                 FROM statement_line_items li
                 JOIN statements s ON s.id = li.statement_id
                 JOIN participant_declarations d ON d.id = li.participant_declaration_id
                WHERE s.cpd_lead_provider_id = :cpd
                  AND s.cohort_id = :cohort
                  AND s.programme = 'ecf'
                  AND (s.id = :id OR s.payment_date < :payment_date)
                  AND li.state IN ('eligible', 'payable', 'paid', 'awaiting_clawback', 'clawed_back')
                GROUP BY 1, 2, 3, 4""",
            {
                "id": statement.id,
                "cpd": statement.cpd_lead_provider_id,
                "cohort": statement.cohort_id,
                "payment_date": statement.payment_date,
            },
        )
        return [EcfCount(**r) for r in rows]

    # ---- NPQ ---------------------------------------------------------------------------------

    async def npq_contracts(
        self, npq_lead_provider_id: uuid.UUID, cohort_id: uuid.UUID, version: str
    ) -> list[NpqContractRow]:
        rows = await self._rows(
            f"""{_NPQ_CONTRACT_SELECT}
                WHERE nc.npq_lead_provider_id = :lp AND nc.cohort_id = :cohort AND nc.version = :version
                ORDER BY nc.course_identifier""",
            {"lp": npq_lead_provider_id, "cohort": cohort_id, "version": version},
        )
        return [NpqContractRow(**r) for r in rows]

    async def npq_counts(self, statement_id: uuid.UUID) -> list[NpqCount]:
        """Distinct participants per course, declaration type and kind on the statement; with
        those whose application is eligible for targeted delivery funding and for funding."""
        rows = await self._rows(
            """SELECT d.course_identifier,
                      d.declaration_type,
                      li.state IN ('eligible', 'payable', 'paid') AS billable,
                      count(DISTINCT d.user_id) AS participants,
                      count(DISTINCT d.user_id) FILTER (
                          WHERE a.targeted_delivery_funding_eligibility AND a.eligible_for_funding
                      ) AS tdf_participants
                 FROM statement_line_items li
                 JOIN participant_declarations d ON d.id = li.participant_declaration_id
                 LEFT JOIN npq_applications a ON a.id = d.participant_profile_id
                WHERE li.statement_id = :id
                  AND li.state IN ('eligible', 'payable', 'paid', 'awaiting_clawback', 'clawed_back')
                GROUP BY 1, 2, 3""",
            {"id": statement_id},
        )
        return [NpqCount(**r) for r in rows]

    # ---- statement imports -------------------------------------------------------------------

    async def cohort_ids(self, years: list[int]) -> dict[int, uuid.UUID]:
        rows = await self._rows("SELECT start_year, id FROM cohorts WHERE start_year = ANY(:y)", {"y": years})
        return {r["start_year"]: r["id"] for r in rows}

    async def providers_with_contracts(self, cohort_ids: list[uuid.UUID]) -> list[ContractHolder]:
        """Per programme and cohort, the CPD lead providers holding a contract (any version)."""
        rows = await self._rows(
            """SELECT 'ecf' AS programme, coc.cohort_id, cpd.id AS cpd_lead_provider_id,
                      cpd.name AS provider_name
                 FROM call_off_contracts coc
                 JOIN lead_providers lp ON lp.id = coc.lead_provider_id
                 JOIN cpd_lead_providers cpd ON cpd.id = lp.cpd_lead_provider_id
                WHERE coc.cohort_id = ANY(:cohorts)
               UNION
               SELECT 'npq', nc.cohort_id, cpd.id, cpd.name
                 FROM npq_contracts nc
                 JOIN npq_lead_providers nlp ON nlp.id = nc.npq_lead_provider_id
                 JOIN cpd_lead_providers cpd ON cpd.id = nlp.cpd_lead_provider_id
                WHERE nc.cohort_id = ANY(:cohorts)
                ORDER BY provider_name, programme""",
            {"cohorts": cohort_ids},
        )
        return [ContractHolder(**r) for r in rows]

    async def existing_statements(
        self, cohort_ids: list[uuid.UUID]
    ) -> tuple[set[tuple[str, uuid.UUID, uuid.UUID, str]], dict[tuple[str, uuid.UUID, uuid.UUID], str]]:
        """(programme, provider, cohort, name) of the cohorts' statements, and the contract version
        of each provider's latest statement (by payment date) per programme and cohort."""
        rows = await self._rows(
            """SELECT programme, cpd_lead_provider_id, cohort_id, name, contract_version
                 FROM statements WHERE cohort_id = ANY(:cohorts)
                ORDER BY payment_date, id""",
            {"cohorts": cohort_ids},
        )
        names = set()
        versions: dict[tuple[str, uuid.UUID, uuid.UUID], str] = {}
        for r in rows:
            key = (r["programme"], r["cpd_lead_provider_id"], r["cohort_id"])
            names.add((*key, r["name"]))
            versions[key] = r["contract_version"]
        return names, versions

    async def insert_statements(
        self, statements: list[NewStatement]
    ) -> set[tuple[str, uuid.UUID, uuid.UUID, str]]:
        """Insert the statements in one statement; one that exists meanwhile (same provider, cohort,
        programme and name) is left as it is. Returns the keys of those inserted."""
        if not statements:
            return set()
        columns = {
            "programme": "text",
            "state": "text",
            "name": "text",
            "cpd_lead_provider_id": "uuid",
            "cohort_id": "uuid",
            "deadline_date": "date",
            "payment_date": "date",
            "output_fee": "boolean",
            "contract_version": "text",
        }
        arrays = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in columns.items())
        names = ", ".join(columns)
        rows = await self._rows(
            f"""INSERT INTO statements (id, {names}, reconcile_amount)
                SELECT gen_random_uuid(), {names}, 0 FROM unnest({arrays}) AS new({names})
                ON CONFLICT (cpd_lead_provider_id, cohort_id, programme, name) DO NOTHING
                RETURNING programme, cpd_lead_provider_id, cohort_id, name""",
            {c: [getattr(s, c) for s in statements] for c in columns},
        )
        return {(r["programme"], r["cpd_lead_provider_id"], r["cohort_id"], r["name"]) for r in rows}

    # ---- contracts ---------------------------------------------------------------------------

    async def providers(self, names_or_ids: list[str]) -> dict[str, ProviderRoles]:
        """CPD lead providers by id or (case-insensitive) name, with their ECF and NPQ roles."""
        ids: list[uuid.UUID] = []
        for value in names_or_ids:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        rows = await self._rows(
            """SELECT cpd.id AS cpd_lead_provider_id, cpd.name, lp.id AS lead_provider_id,
                      nlp.id AS npq_lead_provider_id
                 FROM cpd_lead_providers cpd
                 LEFT JOIN lead_providers lp ON lp.cpd_lead_provider_id = cpd.id
                 LEFT JOIN npq_lead_providers nlp ON nlp.cpd_lead_provider_id = cpd.id
                WHERE cpd.id = ANY(:ids) OR lower(cpd.name) = ANY(:names)""",
            {"ids": ids, "names": [v.lower() for v in names_or_ids]},
        )
        found: dict[str, ProviderRoles] = {}
        for r in rows:
            roles = ProviderRoles(**r)
            found[str(roles.cpd_lead_provider_id)] = roles
            found[roles.name.lower()] = roles
        return found

    async def save_ecf_contract(self, values: dict[str, Any], bands: list[dict[str, Any]]) -> bool:
        """Create or replace the contract (provider, cohort, version) and its bands; True if created."""
        row = (
            await self.session.execute(
                text(
                    """INSERT INTO call_off_contracts (id, lead_provider_id, cohort_id, version,
                           recruitment_target, revised_target, set_up_fee, uplift_target, uplift_amount,
                           monthly_service_fee, raw)
                       VALUES (gen_random_uuid(), :lead_provider_id, :cohort_id, :version,
                               :recruitment_target, :revised_target, :set_up_fee, :uplift_target,
                               :uplift_amount, :monthly_service_fee, CAST(:raw AS jsonb))
                       ON CONFLICT (lead_provider_id, cohort_id, version) DO UPDATE SET
                           recruitment_target = EXCLUDED.recruitment_target,
                           revised_target = EXCLUDED.revised_target,
                           set_up_fee = EXCLUDED.set_up_fee,
                           uplift_target = EXCLUDED.uplift_target,
                           uplift_amount = EXCLUDED.uplift_amount,
                           monthly_service_fee = EXCLUDED.monthly_service_fee,
                           raw = EXCLUDED.raw,
                           updated_at = now()
                       RETURNING id, xmax = 0 AS created"""
                ),
                values,
            )
        ).one()
        contract_id, created = row
        await self.session.execute(
            text("DELETE FROM participant_bands WHERE call_off_contract_id = :id"), {"id": contract_id}
        )
        await self.session.execute(
            text(
                """INSERT INTO participant_bands (id, call_off_contract_id, min, max, per_participant,
                                                 output_payment_percentage, service_fee_percentage)
                   VALUES (gen_random_uuid(), :contract_id, :min, :max, :per_participant,
                           :output_payment_percentage, :service_fee_percentage)"""
            ),
            [{**b, "contract_id": contract_id} for b in bands],
        )
        return bool(created)

    async def save_npq_contract(self, values: dict[str, Any]) -> bool:
        """Create or replace the contract (provider, cohort, course, version); True if created."""
        row = (
            await self.session.execute(
                text(
                    """INSERT INTO npq_contracts (id, npq_lead_provider_id, cohort_id, course_identifier,
                           version, recruitment_target, per_participant, service_fee_percentage,
                           output_payment_percentage, service_fee_installments, number_of_payment_periods,
                           monthly_service_fee, targeted_delivery_funding_per_participant, special_course)
                       VALUES (gen_random_uuid(), :npq_lead_provider_id, :cohort_id, :course_identifier,
                               :version, :recruitment_target, :per_participant, :service_fee_percentage,
                               :output_payment_percentage, :service_fee_installments,
                               :number_of_payment_periods, :monthly_service_fee,
                               :targeted_delivery_funding_per_participant, :special_course)
                       ON CONFLICT (npq_lead_provider_id, cohort_id, course_identifier, version) DO UPDATE SET
                           recruitment_target = EXCLUDED.recruitment_target,
                           per_participant = EXCLUDED.per_participant,
                           service_fee_percentage = EXCLUDED.service_fee_percentage,
                           output_payment_percentage = EXCLUDED.output_payment_percentage,
                           service_fee_installments = EXCLUDED.service_fee_installments,
                           number_of_payment_periods = EXCLUDED.number_of_payment_periods,
                           monthly_service_fee = EXCLUDED.monthly_service_fee,
                           targeted_delivery_funding_per_participant =
                               EXCLUDED.targeted_delivery_funding_per_participant,
                           special_course = EXCLUDED.special_course,
                           updated_at = now()
                       RETURNING xmax = 0 AS created"""
                ),
                values,
            )
        ).scalar_one()
        return bool(row)

    async def list_contracts(
        self, filters: ContractListFilters, page: Page
    ) -> list[EcfContractRow | NpqContractRow]:
        """A page of contracts of both programmes (ECF first), by cohort, provider, course and version."""
        params: dict[str, Any] = {"limit": page.limit, "offset": page.offset}
        ecf_clauses = ["TRUE"]
        npq_clauses = ["TRUE"]
        if filters.provider_ids is not None:
            params["provider_ids"] = filters.provider_ids
            ecf_clauses.append("lp.cpd_lead_provider_id = ANY(:provider_ids)")
            npq_clauses.append("nlp.cpd_lead_provider_id = ANY(:provider_ids)")
        if filters.cohort_years is not None:
            params["years"] = filters.cohort_years
            ecf_clauses.append("c.start_year = ANY(:years)")
            npq_clauses.append("c.start_year = ANY(:years)")
        if filters.programme == "ecf":
            npq_clauses.append("FALSE")
        elif filters.programme == "npq":
            ecf_clauses.append("FALSE")
        sql = f"""
            SELECT programme, id FROM (
                SELECT 'ecf' AS programme, coc.id, c.start_year, lp.name, '' AS course, coc.version
                  FROM call_off_contracts coc
                  JOIN lead_providers lp ON lp.id = coc.lead_provider_id
                  JOIN cohorts c ON c.id = coc.cohort_id
                 WHERE {" AND ".join(ecf_clauses)}
                UNION ALL
                SELECT 'npq', nc.id, c.start_year, nlp.name, nc.course_identifier, nc.version
                  FROM npq_contracts nc
                  JOIN npq_lead_providers nlp ON nlp.id = nc.npq_lead_provider_id
                  JOIN cohorts c ON c.id = nc.cohort_id
                 WHERE {" AND ".join(npq_clauses)}
            ) contracts
            ORDER BY programme, start_year, name, course, version, id
            LIMIT :limit OFFSET :offset"""
        page_rows = await self._rows(sql, params)
        ecf_ids = [r["id"] for r in page_rows if r["programme"] == "ecf"]
        npq_ids = [r["id"] for r in page_rows if r["programme"] == "npq"]
        loaded: dict[uuid.UUID, EcfContractRow | NpqContractRow] = {}
        if ecf_ids:
            bands = await self._bands(ecf_ids)
            for r in await self._rows(f"{_ECF_CONTRACT_SELECT} WHERE coc.id = ANY(:ids)", {"ids": ecf_ids}):
                loaded[r["id"]] = EcfContractRow(**r, bands=tuple(bands.get(r["id"], [])))
        if npq_ids:
            for r in await self._rows(f"{_NPQ_CONTRACT_SELECT} WHERE nc.id = ANY(:ids)", {"ids": npq_ids}):
                loaded[r["id"]] = NpqContractRow(**r)
        return [loaded[r["id"]] for r in page_rows]
