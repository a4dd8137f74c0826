"""Provider organisations and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.enums import TokenScope
from app.models.base import Base, IdMixin, TimestampMixin, one_of

if TYPE_CHECKING:
    from app.models.schools import School


class CpdLeadProvider(IdMixin, TimestampMixin, Base):
    """The contracting organisation: owns tokens, declarations and statements."""

    __tablename__ = "cpd_lead_providers"

    name: Mapped[str] = mapped_column(String, unique=True)

    lead_provider: Mapped[LeadProvider | None] = relationship(
        back_populates="cpd_lead_provider", lazy="raise", uselist=False
    )
    npq_lead_provider: Mapped[NpqLeadProvider | None] = relationship(
        back_populates="cpd_lead_provider", lazy="raise", uselist=False
    )


class LeadProvider(IdMixin, TimestampMixin, Base):
    """The ECF role of a provider: owns partnerships, relationships and call-off contracts."""

    __tablename__ = "lead_providers"

    name: Mapped[str] = mapped_column(String)
    cpd_lead_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cpd_lead_providers.id"), unique=True
    )
    vat_chargeable: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    cpd_lead_provider: Mapped[CpdLeadProvider | None] = relationship(
        back_populates="lead_provider", lazy="raise"
    )


class NpqLeadProvider(IdMixin, TimestampMixin, Base):
    """The NPQ role of a provider: owns applications and NPQ contracts."""

    __tablename__ = "npq_lead_providers"

    name: Mapped[str] = mapped_column(String)
    cpd_lead_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cpd_lead_providers.id"), unique=True
    )
    vat_chargeable: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    cpd_lead_provider: Mapped[CpdLeadProvider | None] = relationship(
        back_populates="npq_lead_provider", lazy="raise"
    )


class ApiToken(IdMixin, TimestampMixin, Base):
    """A bearer token, stored as an HMAC-SHA256 digest only."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        one_of("scope", TokenScope),
        Index(
            "ix_api_tokens_lead_provider_scope",
            "cpd_lead_provider_id",
            postgresql_where=text("scope = 'lead_provider'"),
        ),
    )

    hashed_token: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String, default=TokenScope.LEAD_PROVIDER)
    cpd_lead_provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cpd_lead_providers.id"))
    # For `school` tokens: the one school an induction tutor acts for.
    school_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schools.id"))
    description: Mapped[str | None] = mapped_column(String)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    cpd_lead_provider: Mapped[CpdLeadProvider | None] = relationship(lazy="raise")
    school: Mapped[School | None] = relationship(lazy="raise")
