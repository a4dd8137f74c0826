"""Reading the audit log (operators): filters validated here, rows from the repository."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import BadRequest
from app.domain.paging import Page
from app.repositories.audit import AuditFilters, AuditRepository, AuditRow


def audit_filters(
    *,
    target_type: str | None,
    target_id: str | None,
    action: str | None,
    actor_id: str | None,
    since: datetime | None,
    since_given: bool,
) -> AuditFilters:
    if since_given and since is None:
        raise BadRequest("The filter '#/since' must be an ISO 8601 date and time")
    actor: uuid.UUID | None = None
    if actor_id is not None:
        try:
            actor = uuid.UUID(actor_id)
        except ValueError:
            raise BadRequest("The filter '#/actor_id' must be an id") from None
    return AuditFilters(
        target_type=target_type, target_id=target_id, action=action, actor_id=actor, since=since
    )


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = AuditRepository(session)

    async def list(self, filters: AuditFilters, page: Page) -> list[AuditRow]:
        """Oldest first (the order things happened), paged."""
        return await self.repo.list(filters, page.offset, page.limit)
