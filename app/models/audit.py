"""The audit log: one row per successful write, whoever made it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin


class AuditEvent(IdMixin, Base):
    """Who (the token and its owner), did what (action), to what (target), when, and from which
    request. Rows are only ever inserted; nothing in the service updates or deletes them."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_target", "target_type", "target_id", "occurred_at"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_actor", "actor_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=func.now())
    # The token's role (lead_provider, school, admin, ...) or "cli" for operator commands.
    actor_type: Mapped[str] = mapped_column(String)
    actor_token_id: Mapped[uuid.UUID | None]
    # The organisation acting: the CPD lead provider or the school; None for DfE roles.
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String)
    target_type: Mapped[str] = mapped_column(String)
    target_id: Mapped[str] = mapped_column(String)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"), default=dict)
    request_id: Mapped[str | None] = mapped_column(String)
