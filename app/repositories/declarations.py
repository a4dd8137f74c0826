"""Queries behind the participant declaration endpoints."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.paging import Page
from app.repositories.sql import MONTH_SKIP, batches_as, first_as, rows_as, text


@dataclass(frozen=True)
class DeclarationFilters:
    participant_ids: list[uuid.UUID] | None = None
    updated_since: datetime | None = None
    updated_since_inclusive: bool = True
    cohort_years: list[int] | None = None
    delivery_partner_ids: list[uuid.UUID] | None = None


class DeclarationRow(NamedTuple):
    id: uuid.UUID
    programme: str
    user_id: uuid.UUID
    declaration_type: str
    course_identifier: str
    declaration_date: datetime
    state: str
    state_reason: str | None
    evidence_held: str | None
    mentor_user_id: uuid.UUID | None
    delivery_partner_id: uuid.UUID | None
    sparsity_uplift: bool
    pupil_premium_uplift: bool
    created_at: datetime
    updated_at: datetime
    lead_provider_name: str
    statement_id: uuid.UUID | None
    clawback_statement_id: uuid.UUID | None
    latest_outcome: str | None
    targeted_delivery_funding: bool | None


_OWN = "d.cpd_lead_provider_id = :cpd_lead_provider_id"
# Declarations a provider can inherit: live ECF ones.
_LIVE_ECF = "d.programme = 'ecf' AND d.state IN ('submitted', 'eligible', 'payable', 'paid')"
# ECF: live declarations of participants now training with the caller (e.g. after a transfer).
_INHERITED = f"""
    (
        {_LIVE_ECF}
        AND EXISTS (
            SELECT 1 FROM induction_records ir
              JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
              JOIN partnerships p ON p.id = ip.partnership_id
             WHERE ir.participant_profile_id = d.participant_profile_id
               AND ir.induction_status = 'active'
               AND p.lead_provider_id = :lead_provider_id
        )
    )
"""

_DETAILS = """
    SELECT d.id, d.programme, d.user_id, d.declaration_type, d.course_identifier, d.declaration_date, d.state,
           d.state_reason, d.evidence_held, d.mentor_user_id, d.delivery_partner_id, d.sparsity_uplift,
           d.pupil_premium_uplift, d.created_at, d.updated_at, cpd.name AS lead_provider_name,
           (SELECT li.statement_id FROM statement_line_items li WHERE li.participant_declaration_id = d.id
              AND li.state IN ('eligible', 'payable', 'paid') LIMIT 1) AS statement_id,
           (SELECT li.statement_id FROM statement_line_items li WHERE li.participant_declaration_id = d.id
              AND li.state IN ('awaiting_clawback', 'clawed_back') LIMIT 1) AS clawback_statement_id,
           (SELECT o.state FROM participant_outcomes o WHERE o.participant_declaration_id = d.id
             ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_outcome,
           (SELECT a.targeted_delivery_funding_eligibility FROM npq_applications a
             WHERE a.id = d.participant_profile_id) AS targeted_delivery_funding
      FROM participant_declarations d
      JOIN cpd_lead_providers cpd ON cpd.id = d.cpd_lead_provider_id
"""


def _filter_clauses(filters: DeclarationFilters, params: dict[str, Any]) -> list[str]:
    clauses: list[str] = []
    if filters.participant_ids is not None:
        params["participant_ids"] = filters.participant_ids
        clauses.append("d.user_id = ANY(:participant_ids)")
    if filters.updated_since is not None:
        params["updated_since"] = filters.updated_since
        clauses.append(f"d.updated_at {'>=' if filters.updated_since_inclusive else '>'} :updated_since")
    if filters.delivery_partner_ids is not None:
        params["delivery_partner_ids"] = filters.delivery_partner_ids
        clauses.append("d.delivery_partner_id = ANY(:delivery_partner_ids)")
    if filters.cohort_years is not None:
        params["cohort_years"] = filters.cohort_years
        clauses.append(
            """(
            (d.programme = 'ecf' AND EXISTS (
                SELECT 1 FROM induction_records ir
                  JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
                  JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
                  JOIN cohorts c ON c.id = sc.cohort_id
                 WHERE ir.participant_profile_id = d.participant_profile_id
                   AND c.start_year = ANY(:cohort_years)))
            OR (d.programme = 'npq' AND EXISTS (
                SELECT 1 FROM participant_profiles pp
                  JOIN schedules s ON s.id = pp.schedule_id
                  JOIN cohorts c ON c.id = s.cohort_id
                 WHERE pp.id = d.participant_profile_id AND c.start_year = ANY(:cohort_years))))"""
        )
    return clauses


def _where(filters: DeclarationFilters, params: dict[str, Any]) -> str:
    visible = _OWN if params.get("lead_provider_id") is None else f"{_OWN} OR {_INHERITED}"
    return " AND ".join([f"({visible})", *_filter_clauses(filters, params)])


# Inherited declarations from the caller's side: the live ECF declarations by other providers of
# training records active under one of its partnerships (few, against every live declaration of
# every provider); same rows as `_INHERITED` minus the caller's own. Database triggers keep both the
# records (`ecf_inherited_declaration_profiles`, migration 0021) and the declarations in list order
# (`ecf_inherited_declarations`, 0028). Unfiltered, a page reads the first rows of the latter. A
# filter on the declarations (`extra` clauses on `d`) probes the records' live declarations instead:
# that index carries what the filters read, where a join from the kept rows would fetch every
# declaration (updated_since: 1.8 against 7.5 ms).
def _inherited_in_order(extra: str = "", *, since_month: bool = False) -> str:
    if extra:
        return f"""
            SELECT d.id, d.created_at FROM participant_declarations d
             WHERE d.participant_profile_id IN (
                       SELECT x.participant_profile_id FROM ecf_inherited_declaration_profiles x
                        WHERE x.lead_provider_id = :lead_provider_id)
               AND {_LIVE_ECF}
               AND d.cpd_lead_provider_id <> :cpd_lead_provider_id{extra}
             ORDER BY d.created_at, d.id"""
    from_month = " AND x.created_at >= (SELECT month FROM skip)" if since_month else ""
    return (
        "SELECT x.participant_declaration_id AS id, x.created_at FROM ecf_inherited_declarations x"
        f" WHERE x.lead_provider_id = :lead_provider_id{from_month}"
        " ORDER BY x.created_at, x.participant_declaration_id"
    )


# Up to this many of the caller's declarations updated since the filter's time are sorted into
# page order; more than that and walking the caller's declarations in page order is cheaper.
UPDATED_FEW = 20_000
_UPDATED_COUNT = """
    SELECT count(*) FROM (
        SELECT 1 FROM participant_declarations d
         WHERE d.cpd_lead_provider_id = :cpd_lead_provider_id AND d.updated_at >= :updated_since
         LIMIT :cap) capped
"""


# The unfiltered list's deep pages skip whole months: each provider's declarations are counted per
# month of creation (UTC) by triggers (`participant_declaration_month_counts`, migration 0027), so
# the page's month is the last one starting at or before its offset, and only that month is walked.
# Counting the inherited declarations per month (~1 ms for 3,600 of them) and walking within a
# busy month cost as much as walking 20,000 index entries, so shallower pages walk from the start.
SKIP_FROM = 20_000
_OWN_MONTHS = """
    SELECT month, declarations AS n FROM participant_declaration_month_counts
     WHERE cpd_lead_provider_id = :cpd_lead_provider_id
"""
_OWN_FROM_MONTH = f"""
    SELECT d.id, d.created_at FROM participant_declarations d
     WHERE {_OWN} AND d.created_at >= (SELECT month FROM skip)
     ORDER BY d.created_at, d.id
"""


def _skipping_page_sql(params: dict[str, Any]) -> str:
    """Ids of one page of the unfiltered list, in (created_at, id) order, walking from the start of
    the month the page begins in. With a lead provider the live ECF declarations it inherits join
    the list: they are few, so they are counted per month here."""
    params["page_end"] = params["limit"] + params["offset"]
    rest = "LIMIT :limit OFFSET :offset - (SELECT before FROM skip)"
    if params.get("lead_provider_id") is None:
        return f"WITH months AS ({_OWN_MONTHS}), {MONTH_SKIP} {_OWN_FROM_MONTH} {rest}"
    inherited_months = """
        SELECT date_trunc('month', created_at, 'UTC'), count(*) FROM ecf_inherited_declarations
         WHERE lead_provider_id = :lead_provider_id GROUP BY 1"""
    return f"""
        WITH months AS ({_OWN_MONTHS} UNION ALL {inherited_months}),
        {MONTH_SKIP}
        SELECT id, created_at FROM (
            ({_OWN_FROM_MONTH} LIMIT :page_end - (SELECT before FROM skip))
            UNION ALL
            ({_inherited_in_order(since_month=True)} LIMIT :page_end - (SELECT before FROM skip))) both_parts
         ORDER BY created_at, id {rest}"""


def _page_sql(filters: DeclarationFilters, params: dict[str, Any], *, few_updated: bool = False) -> str:
    """Ids of one page in (created_at, id) order.

    The caller's own declarations and the inherited ones are taken apart, each in page order and
    cut at offset + limit, so the own part walks the (provider, created_at, id) index instead of
    testing the inherited condition against every declaration of every provider. With
    `few_updated` (an updated_since filter that matches few of the caller's declarations) the own
    part reads just those through the (provider, updated_at) index and sorts them: walking in page
    order would pass every older declaration first, since recent updates sit at the end of it.
    """
    params["page_end"] = params["limit"] + params["offset"]
    extra = "".join(f" AND {c}" for c in _filter_clauses(filters, params))
    # OFFSET 0 keeps the planner from reading the subquery in the outer query's order.
    source = (
        f"(SELECT d.id, d.created_at FROM participant_declarations d WHERE {_OWN}{extra} OFFSET 0) d"
        if few_updated
        else f"participant_declarations d WHERE {_OWN}{extra}"
    )
    in_order = f"SELECT d.id, d.created_at FROM {source} ORDER BY d.created_at, d.id"
    if params.get("lead_provider_id") is None:
        return f"{in_order} LIMIT :limit OFFSET :offset"
    own = f"({in_order} LIMIT :page_end)"
    inherited = f"({_inherited_in_order(extra)} LIMIT :page_end)"
    return f"""
        SELECT id, created_at FROM ({own} UNION ALL {inherited}) both_parts
         ORDER BY created_at, id LIMIT :limit OFFSET :offset"""


class DeclarationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _params(cpd_lead_provider_id: uuid.UUID, lead_provider_id: uuid.UUID | None) -> dict[str, Any]:
        return {
            "cpd_lead_provider_id": cpd_lead_provider_id,
            "lead_provider_id": lead_provider_id,
        }

    async def list(
        self,
        cpd_lead_provider_id: uuid.UUID,
        lead_provider_id: uuid.UUID | None,
        filters: DeclarationFilters,
        page: Page,
    ) -> list[DeclarationRow]:
        params = self._params(cpd_lead_provider_id, lead_provider_id) | {
            "limit": page.limit,
            "offset": page.offset,
        }
        few_updated = False
        if filters.updated_since is not None:
            updated = await self.session.execute(
                text(_UPDATED_COUNT),
                {
                    "cpd_lead_provider_id": cpd_lead_provider_id,
                    "updated_since": filters.updated_since,
                    "cap": UPDATED_FEW + 1,
                },
            )
            few_updated = updated.scalar_one() <= UPDATED_FEW
        page_sql = (
            _page_sql(filters, params, few_updated=few_updated)
            # Any filter clause (whatever it reads) leaves the monthly counts behind.
            if _filter_clauses(filters, {}) or page.offset < SKIP_FROM
            else _skipping_page_sql(params)
        )
        sql = f"""
            WITH page AS ({page_sql})
            {_DETAILS} JOIN page ON page.id = d.id
            ORDER BY d.created_at, d.id
        """
        return rows_as(DeclarationRow, await self.session.execute(text(sql), params))

    async def find(
        self, cpd_lead_provider_id: uuid.UUID, lead_provider_id: uuid.UUID | None, declaration_id: uuid.UUID
    ) -> DeclarationRow | None:
        params = self._params(cpd_lead_provider_id, lead_provider_id) | {"id": declaration_id}
        sql = f"{_DETAILS} WHERE d.id = :id AND {_where(DeclarationFilters(), params)}"
        return first_as(DeclarationRow, await self.session.execute(text(sql), params))

    @staticmethod
    async def stream(
        maker: async_sessionmaker[AsyncSession],
        cpd_lead_provider_id: uuid.UUID,
        lead_provider_id: uuid.UUID | None,
        filters: DeclarationFilters,
        batch_size: int = 1000,
    ) -> AsyncIterator[Sequence[DeclarationRow]]:
        params = DeclarationRepository._params(cpd_lead_provider_id, lead_provider_id)
        sql = f"{_DETAILS} WHERE {_where(filters, params)} ORDER BY d.created_at, d.id"
        async with maker() as session:
            result = await session.stream(text(sql).execution_options(yield_per=batch_size), params)
            async for batch in batches_as(DeclarationRow, result, batch_size):
                yield batch
