"""People, identities, participant profiles (ECT, mentor, NPQ) and induction records."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.enums import (
    EligibilityReason,
    EligibilityStatus,
    InductionStatus,
    ProfileStatus,
    ProfileType,
    TrainingStatus,
)
from app.models.base import Base, IdMixin, TimestampMixin, one_of
from app.models.cohorts import Schedule
from app.models.schools import InductionProgramme, School, SchoolCohort


class User(IdMixin, TimestampMixin, Base):
    """A person; `users.id` is the API's participant id."""

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        Index("ix_users_created_at_id", "created_at", "id"),
        Index("ix_users_updated_at_id", "updated_at", "id"),
    )

    full_name: Mapped[str] = mapped_column(String)
    email: Mapped[str] = mapped_column(String)
    get_an_identity_id: Mapped[str | None] = mapped_column(String)
    archived_at: Mapped[datetime | None]
    discarded_at: Mapped[datetime | None]

    teacher_profile: Mapped[TeacherProfile | None] = relationship(
        back_populates="user", lazy="raise", uselist=False
    )
    identities: Mapped[list[ParticipantIdentity]] = relationship(back_populates="user", lazy="raise")


class TeacherProfile(IdMixin, TimestampMixin, Base):
    __tablename__ = "teacher_profiles"
    __table_args__ = (Index("ix_teacher_profiles_trn", "trn"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    trn: Mapped[str | None] = mapped_column(String)
    school_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schools.id"))

    user: Mapped[User] = relationship(back_populates="teacher_profile", lazy="raise")


class ParticipantIdentity(IdMixin, TimestampMixin, Base):
    """An email/identity of a user; the original one has external_identifier = user id.

    When two users are merged, identities move to the survivor and keep their old
    external_identifier, so actions can still resolve a retired participant id.
    """

    __tablename__ = "participant_identities"
    __table_args__ = (
        Index("uq_participant_identities_email_lower", func.lower(text("email")), unique=True),
        one_of("origin", ("ecf", "npq")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str] = mapped_column(String)
    external_identifier: Mapped[uuid.UUID] = mapped_column(unique=True)
    origin: Mapped[str] = mapped_column(String, default="ecf")

    user: Mapped[User] = relationship(back_populates="identities", lazy="raise")


class ParticipantIdChange(IdMixin, TimestampMixin, Base):
    __tablename__ = "participant_id_changes"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    from_participant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    to_participant_id: Mapped[uuid.UUID]


class ParticipantProfile(IdMixin, TimestampMixin, Base):
    """A training record: ECT, mentor or NPQ. `id` is the API's training_record_id.

    NPQ profiles share their id with the accepted application.
    """

    __tablename__ = "participant_profiles"
    __table_args__ = (
        one_of("profile_type", ProfileType),
        one_of("status", ProfileStatus),
        one_of("training_status", TrainingStatus),
        one_of("profile_duplicity", ("single", "primary", "secondary")),
        Index("ix_participant_profiles_identity_type", "participant_identity_id", "profile_type"),
        # An NPQ provider's participants are paged by aggregating all of its training records:
        # this narrow index serves that from the index alone (migration 0017).
        Index(
            "ix_participant_profiles_npq",
            "id",
            postgresql_include=["participant_identity_id", "created_at", "training_status"],
            postgresql_where=text("profile_type = 'npq'"),
        ),
    )

    profile_type: Mapped[str] = mapped_column(String)
    participant_identity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_identities.id"))
    teacher_profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teacher_profiles.id"), index=True
    )
    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id"), index=True)
    school_cohort_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("school_cohorts.id"), index=True)
    school_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schools.id"))
    cohort_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cohorts.id"))
    mentor_profile_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("participant_profiles.id"))
    sparsity_uplift: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    pupil_premium_uplift: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String, default=ProfileStatus.ACTIVE)
    training_status: Mapped[str] = mapped_column(String, default=TrainingStatus.ACTIVE)
    induction_start_date: Mapped[date | None]
    induction_completion_date: Mapped[date | None]
    mentor_completion_date: Mapped[date | None]
    mentor_completion_reason: Mapped[str | None] = mapped_column(String)
    profile_duplicity: Mapped[str] = mapped_column(String, default="single")
    cohort_changed_after_payments_frozen: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    # NPQ enrolment context
    npq_course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("npq_courses.id"))
    school_urn: Mapped[str | None] = mapped_column(String)
    school_ukprn: Mapped[str | None] = mapped_column(String)

    identity: Mapped[ParticipantIdentity] = relationship(lazy="raise")
    teacher_profile: Mapped[TeacherProfile | None] = relationship(lazy="raise")
    schedule: Mapped[Schedule] = relationship(lazy="raise")
    school_cohort: Mapped[SchoolCohort | None] = relationship(lazy="raise")
    eligibility: Mapped[EcfParticipantEligibility | None] = relationship(lazy="raise", uselist=False)
    validation_data: Mapped[EcfParticipantValidationData | None] = relationship(lazy="raise", uselist=False)


class EcfParticipantEligibility(IdMixin, TimestampMixin, Base):
    __tablename__ = "ecf_participant_eligibilities"
    __table_args__ = (one_of("status", EligibilityStatus), one_of("reason", EligibilityReason))

    participant_profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participant_profiles.id"), unique=True
    )
    status: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(String)
    qts: Mapped[bool | None]
    active_flags: Mapped[bool | None]
    previous_participation: Mapped[bool | None]
    previous_induction: Mapped[bool | None]
    different_trn: Mapped[bool | None]
    no_induction: Mapped[bool | None]
    exempt_from_induction: Mapped[bool | None]
    manually_validated: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class EcfParticipantValidationData(IdMixin, TimestampMixin, Base):
    """What a school entered when registering; a fallback TRN for unvalidated participants."""

    __tablename__ = "ecf_participant_validation_data"

    participant_profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participant_profiles.id"), unique=True
    )
    full_name: Mapped[str | None] = mapped_column(String)
    date_of_birth: Mapped[date | None]
    trn: Mapped[str | None] = mapped_column(String)
    nino: Mapped[str | None] = mapped_column(String)
    api_failure: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class ParticipantProfileState(IdMixin, TimestampMixin, Base):
    """History of provider-driven training status changes (defer, resume, withdraw)."""

    __tablename__ = "participant_profile_states"
    __table_args__ = (
        one_of("state", TrainingStatus),
        Index("ix_participant_profile_states_profile_created", "participant_profile_id", "created_at"),
    )

    participant_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_profiles.id"))
    cpd_lead_provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cpd_lead_providers.id"))
    state: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(String)


class ParticipantProfileSchedule(IdMixin, TimestampMixin, Base):
    """History of a profile's schedules: a row per change-schedule."""

    __tablename__ = "participant_profile_schedules"
    __table_args__ = (
        Index("ix_participant_profile_schedules_profile", "participant_profile_id", "created_at"),
    )

    participant_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_profiles.id"))
    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id"))


class InductionRecord(IdMixin, TimestampMixin, Base):
    """One placement of an ECF profile: school programme, schedule, dates and statuses."""

    __tablename__ = "induction_records"
    __table_args__ = (
        one_of("induction_status", InductionStatus),
        one_of("training_status", TrainingStatus),
        Index("ix_induction_records_profile_latest", "participant_profile_id", "start_date", "created_at"),
        Index("ix_induction_records_programme", "induction_programme_id"),
        Index("ix_induction_records_schedule", "schedule_id"),
        Index("ix_induction_records_mentor", "mentor_profile_id"),
        Index("ix_induction_records_created_at", "created_at"),
        Index("ix_induction_records_end_date", "end_date"),
        # Records that prefer an identity (the participant documents' version triggers).
        Index(
            "ix_induction_records_preferred_identity",
            "preferred_identity_id",
            postgresql_where=text("preferred_identity_id IS NOT NULL"),
        ),
        # The records the transfers endpoint pairs up: few of them, looked up per training record.
        Index(
            "ix_induction_records_transfer_candidates",
            "participant_profile_id",
            postgresql_where=text("induction_status = 'leaving' OR school_transfer"),
        ),
        # A provider's active training records (declarations inherited after a transfer), read
        # from the index alone.
        Index(
            "ix_induction_records_programme_active",
            "induction_programme_id",
            postgresql_include=["participant_profile_id"],
            postgresql_where=text("induction_status = 'active'"),
        ),
    )

    participant_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_profiles.id"))
    induction_programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("induction_programmes.id"))
    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id"))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    induction_status: Mapped[str] = mapped_column(String, default=InductionStatus.ACTIVE)
    training_status: Mapped[str] = mapped_column(String, default=TrainingStatus.ACTIVE)
    school_transfer: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    mentor_profile_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("participant_profiles.id"))
    preferred_identity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("participant_identities.id"))

    participant_profile: Mapped[ParticipantProfile] = relationship(
        lazy="raise", foreign_keys=[participant_profile_id]
    )
    induction_programme: Mapped[InductionProgramme] = relationship(lazy="raise")
    schedule: Mapped[Schedule] = relationship(lazy="raise")


class SchoolMentor(IdMixin, TimestampMixin, Base):
    """A school's pool of mentors."""

    __tablename__ = "school_mentors"
    __table_args__ = (UniqueConstraint("participant_profile_id", "school_id"),)

    participant_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant_profiles.id"))
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    preferred_identity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("participant_identities.id"))
    remove_from_school_on: Mapped[date | None]

    school: Mapped[School] = relationship(lazy="raise")


class EcfIneligibleParticipant(IdMixin, TimestampMixin, Base):
    """TRNs known to be ineligible (early roll-out mentors, previous participation)."""

    __tablename__ = "ecf_ineligible_participants"

    trn: Mapped[str] = mapped_column(String, unique=True)
    reason: Mapped[str] = mapped_column(String)


class EcfLatestInductionRecord(Base):
    """Derived, kept by database triggers (migration 0013): per lead provider, training record and
    schedule cohort, the provider's latest induction record among that cohort's records under its
    unchallenged partnerships; `rank` 1 is the provider's latest overall. Never written by the app."""

    __tablename__ = "ecf_latest_induction_records"
    __table_args__ = (
        Index(
            "ix_ecf_latest_induction_records_list_order",
            "lead_provider_id",
            "user_created_at",
            "user_id",
            "profile_created_at",
            "participant_profile_id",
            postgresql_include=["cohort_start_year", "rank", "induction_record_id", "training_status"],
        ),
        Index(
            "ix_ecf_latest_induction_records_mentors",
            "lead_provider_id",
            "mentor_profile_id",
            postgresql_where=text("rank = 1 AND mentor_profile_id IS NOT NULL"),
        ),
        Index("ix_ecf_latest_induction_records_user", "user_id", "lead_provider_id"),
        Index("ix_ecf_latest_induction_records_profile", "participant_profile_id"),
    )

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_profile_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cohort_start_year: Mapped[int] = mapped_column(primary_key=True)
    induction_record_id: Mapped[uuid.UUID]
    rank: Mapped[int]
    schedule_id: Mapped[uuid.UUID]
    training_status: Mapped[str] = mapped_column(String)
    mentor_profile_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID]
    user_created_at: Mapped[datetime]
    profile_created_at: Mapped[datetime]


class EcfTransferParticipant(Base):
    """Derived, kept by database triggers (migration 0019): per lead provider, the training records
    with a transfer the provider is involved in (a leaving or school-transfer induction record under
    one of its partnerships, and a leaving record), with the user the transfers list pages on.
    Never written by the app."""

    __tablename__ = "ecf_transfer_participants"
    __table_args__ = (
        Index("ix_ecf_transfer_participants_list_order", "lead_provider_id", "user_created_at", "user_id"),
        Index("ix_ecf_transfer_participants_profile", "participant_profile_id"),
    )

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_profile_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    user_created_at: Mapped[datetime]


class EcfInheritedDeclarationProfile(Base):
    """Derived, kept by database triggers (migration 0021): the (lead provider, training record)
    pairs where the record is active under one of the provider's partnerships and has a live ECF
    declaration by another provider, so the provider's declaration list includes it. Never
    written by the app."""

    __tablename__ = "ecf_inherited_declaration_profiles"
    __table_args__ = (Index("ix_ecf_inherited_declaration_profiles_profile", "participant_profile_id"),)

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_profile_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class EcfInheritedDeclaration(Base):
    """Derived, kept with the pairs above (migration 0028): the live ECF declarations by other
    providers of those training records, in each provider's list order. Never written by the app."""

    __tablename__ = "ecf_inherited_declarations"
    __table_args__ = (
        Index(
            "ix_ecf_inherited_declarations_list_order",
            "lead_provider_id",
            "created_at",
            "participant_declaration_id",
        ),
        Index("ix_ecf_inherited_declarations_profile", "participant_profile_id"),
    )

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_declaration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_profile_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]


class EcfUnfundedMentor(Base):
    """Derived, kept by the latest induction records' refresh (migration 0024): per lead provider,
    the training records its latest records name as mentor that have no latest record with it.
    Never written by the app."""

    __tablename__ = "ecf_unfunded_mentors"

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    mentor_profile_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class EcfParticipantVersion(Base):
    """Per user, a counter database triggers move forward whenever anything an ECF participant
    document shows changes (migration 0025). Never written by the app."""

    __tablename__ = "ecf_participant_versions"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class EcfParticipantDocument(Base):
    """A rendered ECF participant (one wire shape, one provider), usable while `version` is the
    user's current version and the clock is inside [valid_from, valid_until). Written by the
    list endpoints as they serve pages (migration 0025)."""

    __tablename__ = "ecf_participant_documents"

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    shape: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    version: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    body: Mapped[bytes] = mapped_column(LargeBinary)


class EcfParticipantUser(Base):
    """Derived, kept by a trigger on the latest induction records (migration 0026): per lead
    provider, each user with a latest record with it, and those records' cohorts, in list order.
    Never written by the app."""

    __tablename__ = "ecf_participant_users"
    __table_args__ = (
        Index(
            "ix_ecf_participant_users_list_order",
            "lead_provider_id",
            "user_created_at",
            "user_id",
            postgresql_include=["latest_cohort", "cohort_years"],
        ),
    )

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_created_at: Mapped[datetime]
    cohort_years: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    latest_cohort: Mapped[int]


class EcfParticipantUserMonthCount(Base):
    """Derived, kept by triggers on `ecf_participant_users` (migration 0029): per provider, month
    (UTC) of the user's creation and latest cohort, how many users the v3 list shows, so a deep
    page skips whole months. One row per writing backend's shard; only the sum per key means
    anything. Never written by the app."""

    __tablename__ = "ecf_participant_user_month_counts"

    lead_provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[datetime] = mapped_column(primary_key=True)
    latest_cohort: Mapped[int] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    users: Mapped[int] = mapped_column(BigInteger)
