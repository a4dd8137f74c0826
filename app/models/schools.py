"""Schools, delivery partners, partnerships, school cohorts and induction programmes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.enums import ChallengeReason, InductionProgrammeChoice, TrainingProgramme
from app.models.base import Base, IdMixin, TimestampMixin, one_of
from app.models.cohorts import Cohort
from app.models.providers import LeadProvider


class LocalAuthority(IdMixin, TimestampMixin, Base):
    __tablename__ = "local_authorities"

    code: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)


class School(IdMixin, TimestampMixin, Base):
    """A copy of the school register (GIAS) entry."""

    __tablename__ = "schools"
    __table_args__ = (
        Index("ix_schools_created_at_id", "created_at", "id"),
        Index("ix_schools_updated_at", "updated_at"),
    )

    urn: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)
    ukprn: Mapped[str | None] = mapped_column(String)
    school_type_code: Mapped[int | None] = mapped_column(Integer)
    school_status_code: Mapped[int | None] = mapped_column(Integer)
    administrative_district_code: Mapped[str | None] = mapped_column(String)
    section_41_approved: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    primary_contact_email: Mapped[str | None] = mapped_column(String)
    secondary_contact_email: Mapped[str | None] = mapped_column(String)
    address_line1: Mapped[str | None] = mapped_column(String)
    postcode: Mapped[str | None] = mapped_column(String)
    local_authority_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("local_authorities.id"))


class PupilPremium(IdMixin, TimestampMixin, Base):
    """Uplift sources per school and cohort start year."""

    __tablename__ = "pupil_premiums"
    __table_args__ = (UniqueConstraint("school_id", "start_year"),)

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    start_year: Mapped[int] = mapped_column(Integer)
    pupil_premium_incentive: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    sparsity_incentive: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class DeliveryPartner(IdMixin, TimestampMixin, Base):
    __tablename__ = "delivery_partners"
    __table_args__ = (Index("ix_delivery_partners_created_at_id", "created_at", "id"),)

    name: Mapped[str] = mapped_column(String)
    discarded_at: Mapped[datetime | None]


class ProviderRelationship(IdMixin, TimestampMixin, Base):
    """A lead provider may work with a delivery partner in a cohort."""

    __tablename__ = "provider_relationships"
    __table_args__ = (
        Index("ix_provider_relationships_lp_cohort", "lead_provider_id", "cohort_id"),
        Index(
            "uq_provider_relationships_live",
            "lead_provider_id",
            "delivery_partner_id",
            "cohort_id",
            unique=True,
            postgresql_where=text("discarded_at IS NULL"),
        ),
    )

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead_providers.id"))
    delivery_partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery_partners.id"), index=True)
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"))
    discarded_at: Mapped[datetime | None]


class Partnership(IdMixin, TimestampMixin, Base):
    """A school training with a lead provider and delivery partner in a cohort."""

    __tablename__ = "partnerships"
    __table_args__ = (
        UniqueConstraint("school_id", "lead_provider_id", "delivery_partner_id", "cohort_id"),
        one_of("challenge_reason", ChallengeReason),
        Index("ix_partnerships_lp_cohort_created", "lead_provider_id", "cohort_id", "created_at"),
        Index("ix_partnerships_school_cohort", "school_id", "cohort_id"),
        Index("ix_partnerships_updated_at", "updated_at"),
        # One confirmed partnership per school and cohort, whichever provider holds it: concurrent
        # confirmations by different providers cannot both succeed even past the advisory lock.
        Index(
            "uq_partnerships_confirmed_school_cohort",
            "school_id",
            "cohort_id",
            unique=True,
            postgresql_where=text("NOT relationship AND challenged_at IS NULL AND challenge_reason IS NULL"),
        ),
    )

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    lead_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead_providers.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"))
    delivery_partner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("delivery_partners.id"), index=True
    )
    challenged_at: Mapped[datetime | None]
    challenge_reason: Mapped[str | None] = mapped_column(String)
    challenge_deadline: Mapped[datetime | None]
    pending: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Internal records letting a transferring participant stay with their provider; never listed.
    relationship_: Mapped[bool] = mapped_column("relationship", default=False, server_default=text("false"))
    report_id: Mapped[uuid.UUID | None]

    school: Mapped[School] = relationship(lazy="raise")
    lead_provider: Mapped[LeadProvider] = relationship(lazy="raise")
    cohort: Mapped[Cohort] = relationship(lazy="raise")
    delivery_partner: Mapped[DeliveryPartner | None] = relationship(lazy="raise")


class SchoolCohort(IdMixin, TimestampMixin, Base):
    """A school's induction programme choice for one cohort."""

    __tablename__ = "school_cohorts"
    __table_args__ = (
        UniqueConstraint("school_id", "cohort_id"),
        one_of("induction_programme_choice", InductionProgrammeChoice),
        Index("ix_school_cohorts_cohort_updated", "cohort_id", "updated_at"),
    )

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"))
    induction_programme_choice: Mapped[str] = mapped_column(
        String, default=InductionProgrammeChoice.NOT_YET_KNOWN
    )
    default_induction_programme_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("induction_programmes.id", use_alter=True)
    )
    opt_out_of_updates: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    school: Mapped[School] = relationship(lazy="raise")
    cohort: Mapped[Cohort] = relationship(lazy="raise")


class InductionProgramme(IdMixin, TimestampMixin, Base):
    """How a school cohort trains; only full induction programmes carry a partnership."""

    __tablename__ = "induction_programmes"
    __table_args__ = (one_of("training_programme", TrainingProgramme),)

    school_cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("school_cohorts.id"), index=True)
    partnership_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partnerships.id"), index=True)
    training_programme: Mapped[str] = mapped_column(String)
    delivery_partner_to_be_confirmed: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )

    school_cohort: Mapped[SchoolCohort] = relationship(lazy="raise", foreign_keys=[school_cohort_id])
    partnership: Mapped[Partnership | None] = relationship(lazy="raise")


class InductionCoordinatorProfile(IdMixin, TimestampMixin, Base):
    """A school induction tutor (named in partnership responses)."""

    __tablename__ = "induction_coordinator_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)


class InductionCoordinatorProfileSchool(IdMixin, TimestampMixin, Base):
    __tablename__ = "induction_coordinator_profile_schools"
    __table_args__ = (UniqueConstraint("induction_coordinator_profile_id", "school_id"),)

    induction_coordinator_profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("induction_coordinator_profiles.id")
    )
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)


class SchoolLocalAuthority(IdMixin, TimestampMixin, Base):
    __tablename__ = "school_local_authorities"

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    local_authority_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("local_authorities.id"))
    start_year: Mapped[int] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
