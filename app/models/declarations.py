"""Declarations (the payment trigger), their state history, attempts log and NPQ outcomes."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.enums import DeclarationState, DeclarationType, OutcomeState, ProgrammeType
from app.models.base import Base, IdMixin, TimestampMixin, one_of
from app.models.participants import ParticipantProfile, User
from app.models.providers import CpdLeadProvider

_LIVE_STATES = "state IN ('submitted', 'eligible', 'payable', 'paid')"


class ParticipantDeclaration(IdMixin, TimestampMixin, Base):
    __tablename__ = "participant_declarations"
    __table_args__ = (
        one_of("programme", ProgrammeType),
        one_of("declaration_type", DeclarationType),
        one_of("state", DeclarationState),
        # At most one live declaration per training record, course and type: concurrent
        # duplicate submissions cannot both be stored, whatever the application does.
        Index(
            "uq_participant_declarations_live",
            "participant_profile_id",
            "course_identifier",
            "declaration_type",
            unique=True,
            postgresql_where=text(_LIVE_STATES),
        ),
        # The list paths read these alone, updated_since filters included (migration 0016).
        Index(
            "ix_participant_declarations_provider_created",
            "cpd_lead_provider_id",
            "created_at",
            "id",
            postgresql_include=["updated_at"],
        ),
        # Live ECF declarations by training record, with what a list page needs (inherited
        # declarations after a transfer are found from the index alone, by a hash join).
        Index(
            "ix_participant_declarations_live_ecf_profile",
            "participant_profile_id",
            postgresql_include=["cpd_lead_provider_id", "created_at", "id", "updated_at"],
            postgresql_where=text(f"programme = 'ecf' AND {_LIVE_STATES}"),
        ),
        # A provider's recently updated declarations, in page order after a small sort.
        Index(
            "ix_participant_declarations_provider_updated",
            "cpd_lead_provider_id",
            "updated_at",
            postgresql_include=["created_at", "id"],
        ),
        Index("ix_participant_declarations_user", "user_id"),
        Index("ix_participant_declarations_profile", "participant_profile_id"),
        # The self-reference's referencing side, for the check a deletion makes (migration 0031);
        # only duplicates carry it.
        Index(
            "ix_participant_declarations_superseded_by",
            "superseded_by_id",
            postgresql_where=text("superseded_by_id IS NOT NULL"),
        ),
    )

    programme: Mapped[str] = mapped_column(String)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    participant_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_profiles.id"))
    cpd_lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cpd_lead_providers.id"))
    cohort_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cohorts.id"))
    declaration_type: Mapped[str] = mapped_column(String)
    declaration_date: Mapped[datetime]
    course_identifier: Mapped[str] = mapped_column(String)
    evidence_held: Mapped[str | None] = mapped_column(String)
    state: Mapped[str] = mapped_column(String, default=DeclarationState.SUBMITTED)
    state_reason: Mapped[str | None] = mapped_column(String)
    sparsity_uplift: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    pupil_premium_uplift: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    delivery_partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("delivery_partners.id"))
    mentor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("participant_declarations.id"))
    voided_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="raise", foreign_keys=[user_id])
    participant_profile: Mapped[ParticipantProfile] = relationship(lazy="raise")
    cpd_lead_provider: Mapped[CpdLeadProvider] = relationship(lazy="raise")


class ParticipantDeclarationMonthCount(Base):
    """Derived, kept by triggers on the declarations (migration 0027): how many declarations each
    provider created per calendar month (UTC), so a deep list page skips whole months. One row per
    writing backend's shard; only the sum per (provider, month) means anything. Never written by
    the app."""

    __tablename__ = "participant_declaration_month_counts"

    cpd_lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[datetime] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    declarations: Mapped[int] = mapped_column(BigInteger)


class DeclarationStateChange(IdMixin, TimestampMixin, Base):
    """Every state a declaration has been in (written on creation and each transition)."""

    __tablename__ = "declaration_states"
    __table_args__ = (one_of("state", DeclarationState),)

    participant_declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participant_declarations.id"), index=True
    )
    state: Mapped[str] = mapped_column(String)
    state_reason: Mapped[str | None] = mapped_column(String)


class ParticipantDeclarationAttempt(IdMixin, TimestampMixin, Base):
    """A log of every declaration submission, successful or not. Never exposed."""

    __tablename__ = "participant_declaration_attempts"

    cpd_lead_provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cpd_lead_providers.id"))
    user_id: Mapped[uuid.UUID | None]
    declaration_type: Mapped[str | None] = mapped_column(String)
    declaration_date: Mapped[str | None] = mapped_column(String)
    course_identifier: Mapped[str | None] = mapped_column(String)
    evidence_held: Mapped[str | None] = mapped_column(String)
    participant_declaration_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("participant_declarations.id")
    )


class ParticipantOutcome(IdMixin, TimestampMixin, Base):
    """NPQ outcome history: append-only, the latest one is the current result."""

    __tablename__ = "participant_outcomes"
    __table_args__ = (
        one_of("state", OutcomeState),
        Index("ix_participant_outcomes_declaration_created", "participant_declaration_id", "created_at"),
        Index("ix_participant_outcomes_created_at", "created_at"),
        Index("ix_participant_outcomes_provider_created", "cpd_lead_provider_id", "created_at", "id"),
    )

    participant_declaration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_declarations.id"))
    # The declaration's provider, always set by a trigger from participant_declaration_id
    # (migration 0018): a provider's outcome pages read one index range.
    cpd_lead_provider_id: Mapped[uuid.UUID]
    state: Mapped[str] = mapped_column(String)
    completion_date: Mapped[date]
    qualified_teachers_api_request_successful: Mapped[bool | None]
    sent_to_qualified_teachers_api_at: Mapped[datetime | None]
