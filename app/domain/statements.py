"""Financial statements as a provider reads them (v3)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import LeadProviderCaller
from app.domain.enums import StatementState
from app.domain.errors import NotFound, record_id
from app.domain.paging import Page
from app.repositories.statements import StatementFilters, StatementRepository, StatementRow


def programme_filter(value: str | None) -> str | None:
    """`filter[type]`: blank means every programme; any other value than `ecf`/`npq` matches nothing."""
    if value is None or not value.strip():
        return None
    return value.strip()


def month(row: StatementRow) -> str:
    """The first word of the statement's name (`"May"` for `"May 2024"`)."""
    words = row.name.split()
    return words[0] if words else ""


def year(row: StatementRow) -> str | None:
    """The first run of digits in the statement's name."""
    found = re.search(r"\d+", row.name)
    return found.group(0) if found else None


def paid(row: StatementRow) -> bool:
    return row.state == StatementState.PAID


class StatementService:
    def __init__(self, session: AsyncSession, caller: LeadProviderCaller) -> None:
        self.repo = StatementRepository(session)
        self.caller = caller

    async def list(self, filters: StatementFilters, page: Page) -> list[StatementRow]:
        return await self.repo.list_output(self.caller.cpd_lead_provider_id, filters, page)

    async def get(self, statement_id: str) -> StatementRow:
        ident = record_id(statement_id)
        row = await self.repo.find(self.caller.cpd_lead_provider_id, ident)
        if row is None:
            raise NotFound()
        return row
