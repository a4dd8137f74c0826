"""Queries behind the v3 statements endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import DEFAULT_MIN_COHORT_EXCLUSIVE, Page
from app.repositories.sql import first_as, rows_as, text


@dataclass(frozen=True)
class StatementFilters:
    cohort_years: list[int] | None = None
    programme: str | None = None
    updated_since: datetime | None = None


class StatementRow(NamedTuple):
    """Built positionally from its statement's columns (rows_as): a tuple costs a quarter of a
    frozen dataclass's construction, paid on every row of every page."""

    id: uuid.UUID
    name: str
    programme: str
    state: str
    cohort_year: int
    deadline_date: date
    payment_date: date
    created_at: datetime
    updated_at: datetime


_SELECT = """
    SELECT s.id, s.name, s.programme, s.state, c.start_year AS cohort_year, s.deadline_date, s.payment_date,
           s.created_at, s.updated_at
      FROM statements s
      JOIN cohorts c ON c.id = s.cohort_id
"""


class StatementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_output(
        self, cpd_lead_provider_id: uuid.UUID, filters: StatementFilters, page: Page
    ) -> list[StatementRow]:
        """The provider's output-fee statements, earliest payment first."""
        params: dict[str, Any] = {
            "cpd_lead_provider_id": cpd_lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        clauses = ["s.cpd_lead_provider_id = :cpd_lead_provider_id", "s.output_fee"]
        if filters.cohort_years is None:
            params["min_year"] = DEFAULT_MIN_COHORT_EXCLUSIVE
            clauses.append("c.start_year > :min_year")
        else:
            params["cohort_years"] = filters.cohort_years
            clauses.append("c.start_year = ANY(:cohort_years)")
        if filters.programme is not None:
            params["programme"] = filters.programme
            clauses.append("s.programme = :programme")
        if filters.updated_since is not None:
            params["updated_since"] = filters.updated_since
            clauses.append("s.updated_at >= :updated_since")
        sql = f"""{_SELECT} WHERE {" AND ".join(clauses)}
            ORDER BY s.payment_date, s.created_at, s.id LIMIT :limit OFFSET :offset"""
        return rows_as(StatementRow, await self.session.execute(text(sql), params))

    async def find(self, cpd_lead_provider_id: uuid.UUID, statement_id: uuid.UUID) -> StatementRow | None:
        """Any of the provider's statements, output-fee or not."""
        sql = f"{_SELECT} WHERE s.id = :id AND s.cpd_lead_provider_id = :cpd_lead_provider_id"
        params = {"id": statement_id, "cpd_lead_provider_id": cpd_lead_provider_id}
        return first_as(StatementRow, await self.session.execute(text(sql), params))
