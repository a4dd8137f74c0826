"""Financial statements as a provider reads them (v3)."""

from __future__ import annotations

import re
from functools import lru_cache

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


@lru_cache(maxsize=1024)
def _name_parts(name: str) -> tuple[str, str | None]:
    """(month, year) of a statement's name; names repeat across every provider's statements, so
    each distinct one is parsed once (a regular expression search per row cost more than the rest
    of the row's serialisation)."""
    words = name.split()
    found = _DIGITS.search(name)
    return (words[0] if words else "", found.group(0) if found else None)


_DIGITS = re.compile(r"\d+")


def month(row: StatementRow) -> str:
    """The first word of the statement's name (`"May"` for `"May 2024"`)."""
    return _name_parts(row.name)[0]


def year(row: StatementRow) -> str | None:
    """The first run of digits in the statement's name."""
    return _name_parts(row.name)[1]


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
