"""Statements, their line items, adjustments and ECF call-off contracts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.enums import LineItemState, ProgrammeType, StatementState
from app.models.base import Base, IdMixin, TimestampMixin, one_of


class Statement(IdMixin, TimestampMixin, Base):
    __tablename__ = "statements"
    __table_args__ = (
        one_of("programme", ProgrammeType),
        one_of("state", StatementState),
        UniqueConstraint("cpd_lead_provider_id", "cohort_id", "programme", "name"),
        Index("ix_statements_provider_payment_date", "cpd_lead_provider_id", "payment_date"),
        Index("ix_statements_provider_updated", "cpd_lead_provider_id", "updated_at"),
        Index("ix_statements_cohort", "cohort_id"),
    )

    programme: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String, default=StatementState.OPEN)
    name: Mapped[str] = mapped_column(String)
    cpd_lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cpd_lead_providers.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"))
    deadline_date: Mapped[date]
    payment_date: Mapped[date]
    output_fee: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    contract_version: Mapped[str] = mapped_column(String, default="0.0.1")
    reconcile_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    marked_as_paid_at: Mapped[datetime | None]
    original_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class StatementLineItem(IdMixin, TimestampMixin, Base):
    __tablename__ = "statement_line_items"
    __table_args__ = (
        one_of("state", LineItemState),
        UniqueConstraint("participant_declaration_id", "statement_id", "state"),
        Index(
            "uq_statement_line_items_billable",
            "participant_declaration_id",
            unique=True,
            postgresql_where=text("state IN ('eligible', 'payable', 'paid')"),
        ),
        Index(
            "uq_statement_line_items_refundable",
            "participant_declaration_id",
            unique=True,
            postgresql_where=text("state IN ('awaiting_clawback', 'clawed_back')"),
        ),
        Index("ix_statement_line_items_statement_state", "statement_id", "state"),
    )

    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("statements.id"))
    participant_declaration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_declarations.id"))
    state: Mapped[str] = mapped_column(String)


class FinanceAdjustment(IdMixin, TimestampMixin, Base):
    __tablename__ = "finance_adjustments"

    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("statements.id"), index=True)
    payment_type: Mapped[str] = mapped_column(String)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class CallOffContract(IdMixin, TimestampMixin, Base):
    """An ECF provider's contract for a cohort."""

    __tablename__ = "call_off_contracts"
    __table_args__ = (UniqueConstraint("lead_provider_id", "cohort_id", "version"),)

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead_providers.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"))
    version: Mapped[str] = mapped_column(String, default="0.0.1")
    recruitment_target: Mapped[int] = mapped_column(Integer)
    revised_target: Mapped[int | None] = mapped_column(Integer)
    set_up_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    uplift_target: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    uplift_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    monthly_service_fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ParticipantBand(IdMixin, TimestampMixin, Base):
    """A per-participant price band (A-D) of a call-off contract."""

    __tablename__ = "participant_bands"

    call_off_contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call_off_contracts.id"), index=True)
    min: Mapped[int | None] = mapped_column(Integer)
    max: Mapped[int | None] = mapped_column(Integer)
    per_participant: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    output_payment_percentage: Mapped[int] = mapped_column(Integer, default=60)
    service_fee_percentage: Mapped[int] = mapped_column(Integer, default=40)
