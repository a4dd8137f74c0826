"""Audit log writes and reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy import text as sa_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent


@dataclass(frozen=True)
class AuditRow:
    id: uuid.UUID
    occurred_at: datetime
    actor_type: str
    actor_token_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    request_id: str | None


@dataclass(frozen=True)
class AuditFilters:
    target_type: str | None = None
    target_id: str | None = None
    action: str | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None


# Every write request adds an event: one statement built at import, not an ORM insert with its values
# built per request.
_INSERT = sa_text(
    """
    INSERT INTO audit_events (id, occurred_at, actor_type, actor_token_id, actor_id, action,
                              target_type, target_id, details, request_id)
    VALUES (gen_random_uuid(), now(), :actor_type, :actor_token_id, :actor_id, :action,
            :target_type, :target_id, :details, :request_id)
    """
).bindparams(bindparam("details", type_=JSONB))


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        actor_type: str,
        actor_token_id: uuid.UUID | None,
        actor_id: uuid.UUID | None,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any],
        request_id: str | None,
    ) -> None:
        # occurred_at is the transaction's now(): the same instant as the write it records.
        await self.session.execute(
            _INSERT,
            {
                "actor_type": actor_type,
                "actor_token_id": actor_token_id,
                "actor_id": actor_id,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "details": details,
                "request_id": request_id,
            },
        )

    async def list(self, filters: AuditFilters, offset: int, limit: int) -> list[AuditRow]:
        stmt = select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.actor_type,
            AuditEvent.actor_token_id,
            AuditEvent.actor_id,
            AuditEvent.action,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.details,
            AuditEvent.request_id,
        )
        if filters.target_type is not None:
            stmt = stmt.where(AuditEvent.target_type == filters.target_type)
        if filters.target_id is not None:
            stmt = stmt.where(AuditEvent.target_id == filters.target_id)
        if filters.action is not None:
            stmt = stmt.where(AuditEvent.action == filters.action)
        if filters.actor_id is not None:
            stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
        if filters.since is not None:
            stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
        stmt = stmt.order_by(AuditEvent.occurred_at, AuditEvent.id).offset(offset).limit(limit)
        return [AuditRow(*row) for row in (await self.session.execute(stmt)).all()]
