"""NPQ courses, applications and contracts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.enums import ApplicationStatus
from app.models.base import Base, IdMixin, TimestampMixin, one_of
from app.models.cohorts import Cohort
from app.models.participants import ParticipantIdentity
from app.models.providers import NpqLeadProvider


class NpqCourse(IdMixin, TimestampMixin, Base):
    __tablename__ = "npq_courses"

    name: Mapped[str] = mapped_column(String)
    identifier: Mapped[str] = mapped_column(String, unique=True)


class NpqApplication(IdMixin, TimestampMixin, Base):
    """An application to an NPQ provider; on accept, the NPQ profile takes the same id."""

    __tablename__ = "npq_applications"
    __table_args__ = (
        one_of("lead_provider_approval_status", ApplicationStatus),
        # A provider's applications in either list order, with the cohort the default filter tests
        # (migration 0022): a page's id query reads the index alone.
        Index(
            "ix_npq_applications_provider_created",
            "npq_lead_provider_id",
            "created_at",
            "id",
            postgresql_include=["cohort_id", "updated_at"],
        ),
        Index(
            "ix_npq_applications_provider_updated",
            "npq_lead_provider_id",
            "updated_at",
            "id",
            postgresql_include=["cohort_id", "created_at"],
        ),
        Index("ix_npq_applications_identity_course", "participant_identity_id", "npq_course_id"),
        Index("ix_npq_applications_cohort", "cohort_id"),
        Index("ix_npq_applications_trn", "teacher_reference_number"),
    )

    participant_identity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_identities.id"))
    npq_lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("npq_lead_providers.id"))
    npq_course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("npq_courses.id"))
    cohort_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cohorts.id"))
    # Schedule chosen at acceptance (v3 may name it in the accept request).
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schedules.id"))
    lead_provider_approval_status: Mapped[str] = mapped_column(String, default=ApplicationStatus.PENDING)
    eligible_for_funding: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    funding_eligiblity_status_code: Mapped[str | None] = mapped_column(String)
    targeted_delivery_funding_eligibility: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    targeted_support_funding_eligibility: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    tsf_primary_eligibility: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    tsf_primary_plus_eligibility: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    funded_place: Mapped[bool | None]
    teacher_reference_number: Mapped[str | None] = mapped_column(String)
    teacher_reference_number_verified: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    date_of_birth: Mapped[date | None]
    nino: Mapped[str | None] = mapped_column(String)
    school_urn: Mapped[str | None] = mapped_column(String)
    school_ukprn: Mapped[str | None] = mapped_column(String)
    headteacher_status: Mapped[str | None] = mapped_column(String)
    funding_choice: Mapped[str | None] = mapped_column(String)
    works_in_school: Mapped[bool | None]
    works_in_nursery: Mapped[bool | None]
    works_in_childcare: Mapped[bool | None]
    kind_of_nursery: Mapped[str | None] = mapped_column(String)
    private_childcare_provider_urn: Mapped[str | None] = mapped_column(String)
    employer_name: Mapped[str | None] = mapped_column(String)
    employment_role: Mapped[str | None] = mapped_column(String)
    employment_type: Mapped[str | None] = mapped_column(String)
    teacher_catchment: Mapped[str | None] = mapped_column(String)
    teacher_catchment_country: Mapped[str | None] = mapped_column(String)
    teacher_catchment_iso_country_code: Mapped[str | None] = mapped_column(String(3))
    itt_provider: Mapped[str | None] = mapped_column(String)
    lead_mentor: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    primary_establishment: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    number_of_pupils: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(String)
    eligible_for_funding_updated_at: Mapped[datetime | None]

    identity: Mapped[ParticipantIdentity] = relationship(lazy="raise")
    npq_lead_provider: Mapped[NpqLeadProvider] = relationship(lazy="raise")
    npq_course: Mapped[NpqCourse] = relationship(lazy="raise")
    cohort: Mapped[Cohort | None] = relationship(lazy="raise")


class NpqContract(IdMixin, TimestampMixin, Base):
    __tablename__ = "npq_contracts"
    __table_args__ = (UniqueConstraint("npq_lead_provider_id", "cohort_id", "course_identifier", "version"),)

    npq_lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("npq_lead_providers.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"))
    course_identifier: Mapped[str] = mapped_column(String)
    version: Mapped[str] = mapped_column(String, default="0.0.1")
    recruitment_target: Mapped[int] = mapped_column(Integer)
    per_participant: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    service_fee_percentage: Mapped[int] = mapped_column(Integer, default=40)
    output_payment_percentage: Mapped[int] = mapped_column(Integer, default=60)
    service_fee_installments: Mapped[int] = mapped_column(Integer, default=0)
    number_of_payment_periods: Mapped[int | None] = mapped_column(Integer)
    # NULL: derived from the contract; 0: no service fee (the finance calculation tells them apart).
    monthly_service_fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    targeted_delivery_funding_per_participant: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), default=Decimal("100.0")
    )
    special_course: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class NpqParticipantUser(Base):
    """Derived, kept by database triggers (migration 0020): per NPQ lead provider, each user with an
    NPQ training record from the provider's applications, with the first such record's creation
    time (v3's list order) and the user's (v1/v2's). Never written by the app."""

    __tablename__ = "npq_participant_users"
    __table_args__ = (
        Index(
            "ix_npq_participant_users_first_enrolment",
            "npq_lead_provider_id",
            "first_enrolment_at",
            "user_id",
        ),
        Index("ix_npq_participant_users_user_created", "npq_lead_provider_id", "user_created_at", "user_id"),
        Index("ix_npq_participant_users_user", "user_id"),
    )

    npq_lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    first_enrolment_at: Mapped[datetime]
    user_created_at: Mapped[datetime]
