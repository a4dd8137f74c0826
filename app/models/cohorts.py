"""Cohorts, schedules and their milestones."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.enums import DeclarationType, ScheduleType
from app.models.base import Base, IdMixin, TimestampMixin, one_of


class Cohort(IdMixin, TimestampMixin, Base):
    __tablename__ = "cohorts"

    start_year: Mapped[int] = mapped_column(SmallInteger, unique=True)
    registration_start_date: Mapped[date | None]
    academic_year_start_date: Mapped[date | None]
    npq_registration_start_date: Mapped[date | None]
    automatic_assignment_period_end_date: Mapped[date | None]
    payments_frozen_at: Mapped[datetime | None]
    mentor_funding: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class Schedule(IdMixin, TimestampMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("cohort_id", "schedule_identifier"),
        one_of("schedule_type", ScheduleType),
    )

    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"), index=True)
    schedule_identifier: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    schedule_type: Mapped[str] = mapped_column(String)
    identifier_alias: Mapped[str | None] = mapped_column(String)

    cohort: Mapped[Cohort] = relationship(lazy="raise")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="schedule", lazy="raise", order_by="Milestone.start_date"
    )


class Milestone(IdMixin, TimestampMixin, Base):
    """One declaration type allowed on a schedule, with its window and payment date."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("schedule_id", "declaration_type"),
        one_of("declaration_type", DeclarationType),
    )

    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id"))
    name: Mapped[str] = mapped_column(String)
    declaration_type: Mapped[str] = mapped_column(String)
    start_date: Mapped[date]
    # NULL means open-ended (non-standard ECF and NPQ schedules).
    milestone_date: Mapped[date | None]
    payment_date: Mapped[date]

    schedule: Mapped[Schedule] = relationship(back_populates="milestones", lazy="raise")
