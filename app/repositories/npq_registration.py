"""Queries and writes behind the NPQ registration service's internal API: finding or creating the
applicant, the application itself and later changes to its funding eligibility. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.npq_applications import APPLICATION_FIELDS
from app.repositories.participant_lookup import Identity
from app.repositories.sql import text


@dataclass(frozen=True)
class NpqRole:
    npq_lead_provider_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID | None


@dataclass(frozen=True)
class RegisteredApplication:
    """An application as the registration service sees it: who, where, what, and every field."""

    id: uuid.UUID
    user_id: uuid.UUID
    full_name: str
    email: str
    course_identifier: str
    cpd_lead_provider_id: uuid.UUID | None
    npq_lead_provider_id: uuid.UUID
    cohort_year: int | None
    status: str
    eligible_for_funding_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    fields: dict[str, Any]


class NpqRegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: dict[str, Any]) -> RowMapping | None:
        return (await self.session.execute(text(sql), params)).mappings().first()

    # ---- who applies ------------------------------------------------------------------------------

    async def lock_email(self, email: str) -> None:
        """Serialise registrations of one email, so two cannot both create its user."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"npq-registration:email:{email.lower()}"},
        )

    async def identity_by_email(self, email: str) -> Identity | None:
        row = await self._one(
            "SELECT id, user_id FROM participant_identities WHERE lower(email) = lower(:email)",
            {"email": email},
        )
        if row is not None:
            return Identity(**row)
        # A user whose email is not (or no longer) one of its identities: its first identity.
        row = await self._one(
            """SELECT pi.id, pi.user_id FROM users u JOIN participant_identities pi ON pi.user_id = u.id
                WHERE lower(u.email) = lower(:email)
                ORDER BY (pi.external_identifier = u.id) DESC, pi.created_at, pi.id LIMIT 1""",
            {"email": email},
        )
        return Identity(**row) if row else None

    async def email_taken_by_user_without_identity(self, email: str) -> bool:
        row = await self._one("SELECT 1 FROM users WHERE lower(email) = lower(:email)", {"email": email})
        return row is not None

    async def identity_of_participant(self, participant_id: uuid.UUID) -> Identity | None:
        """The user's original identity; a retired (merged) id resolves to the identity it left,
        which now belongs to the surviving user."""
        row = await self._one(
            "SELECT id, user_id FROM participant_identities WHERE external_identifier = :id",
            {"id": participant_id},
        )
        if row is None:
            row = await self._one(
                """SELECT id, user_id FROM participant_identities WHERE user_id = :id
                    ORDER BY created_at, id LIMIT 1""",
                {"id": participant_id},
            )
        return Identity(**row) if row else None

    async def create_person(self, full_name: str, email: str, now: datetime) -> Identity:
        """A new user with its original identity (external_identifier = user id, origin npq)."""
        user = await self._one(
            """INSERT INTO users (id, full_name, email, created_at, updated_at)
               VALUES (gen_random_uuid(), :full_name, :email, :now, :now) RETURNING id""",
            {"full_name": full_name, "email": email, "now": now},
        )
        assert user is not None
        identity = await self._one(
            """INSERT INTO participant_identities
                   (id, user_id, email, external_identifier, origin, created_at, updated_at)
               VALUES (gen_random_uuid(), :user_id, :email, :user_id, 'npq', :now, :now) RETURNING id""",
            {"user_id": user["id"], "email": email, "now": now},
        )
        assert identity is not None
        return Identity(id=identity["id"], user_id=user["id"])

    # ---- what they apply for ----------------------------------------------------------------------

    async def course_id(self, identifier: str) -> uuid.UUID | None:
        row = await self._one("SELECT id FROM npq_courses WHERE identifier = :i", {"i": identifier})
        return row["id"] if row else None

    async def npq_role(self, provider_id: uuid.UUID) -> NpqRole | None:
        """The NPQ role of a provider named by its CPD lead provider id (or the NPQ role's own id)."""
        row = await self._one(
            """SELECT id AS npq_lead_provider_id, cpd_lead_provider_id FROM npq_lead_providers
                WHERE cpd_lead_provider_id = :id OR id = :id
                ORDER BY (cpd_lead_provider_id = :id) DESC LIMIT 1""",
            {"id": provider_id},
        )
        return NpqRole(**row) if row else None

    async def cohort_id(self, start_year: int) -> uuid.UUID | None:
        row = await self._one("SELECT id FROM cohorts WHERE start_year = :y", {"y": start_year})
        return row["id"] if row else None

    # ---- the application --------------------------------------------------------------------------

    async def insert_application(
        self,
        identity_id: uuid.UUID,
        npq_lead_provider_id: uuid.UUID,
        course_id: uuid.UUID,
        cohort_id: uuid.UUID,
        fields: dict[str, Any],
        now: datetime,
    ) -> uuid.UUID:
        values = {k: v for k, v in fields.items() if k in APPLICATION_FIELDS}
        columns = "".join(f", {k}" for k in values)
        placeholders = "".join(f", :{k}" for k in values)
        row = await self._one(
            f"""INSERT INTO npq_applications
                    (id, participant_identity_id, npq_lead_provider_id, npq_course_id, cohort_id,
                     lead_provider_approval_status, eligible_for_funding_updated_at, created_at, updated_at
                     {columns})
                VALUES (gen_random_uuid(), :identity_id, :npq_lead_provider_id, :course_id, :cohort_id,
                        'pending', :now, :now, :now {placeholders})
                RETURNING id""",
            {
                "identity_id": identity_id,
                "npq_lead_provider_id": npq_lead_provider_id,
                "course_id": course_id,
                "cohort_id": cohort_id,
                "now": now,
                **values,
            },
        )
        assert row is not None
        application_id: uuid.UUID = row["id"]
        return application_id

    async def lock_application(self, application_id: uuid.UUID) -> bool:
        row = await self._one(
            "SELECT id FROM npq_applications WHERE id = :id FOR UPDATE", {"id": application_id}
        )
        return row is not None

    async def update_application(
        self, application_id: uuid.UUID, fields: dict[str, Any], now: datetime, *, eligibility_changed: bool
    ) -> None:
        """Set these columns; `updated_at` only moves forward (a trigger carries it to the NPQ
        training record, and from there to the user, for the providers' participant syncs)."""
        values = {k: v for k, v in fields.items() if k in APPLICATION_FIELDS}
        sets = "".join(f"{k} = :{k}, " for k in values)
        if eligibility_changed:
            sets += "eligible_for_funding_updated_at = :now, "
        await self.session.execute(
            text(
                f"""UPDATE npq_applications SET {sets}updated_at = GREATEST(updated_at, :now)
                     WHERE id = :id"""
            ),
            {"id": application_id, "now": now, **values},
        )

    async def application(self, application_id: uuid.UUID) -> RegisteredApplication | None:
        fields = ", ".join(f"a.{k}" for k in APPLICATION_FIELDS)
        row = await self._one(
            f"""SELECT a.id, pi.user_id, u.full_name, pi.email, co.identifier AS course_identifier,
                       nlp.cpd_lead_provider_id, a.npq_lead_provider_id, c.start_year AS cohort_year,
                       a.lead_provider_approval_status AS status, a.eligible_for_funding_updated_at,
                       a.created_at, a.updated_at, {fields}
                  FROM npq_applications a
                  JOIN participant_identities pi ON pi.id = a.participant_identity_id
                  JOIN users u ON u.id = pi.user_id
                  JOIN npq_courses co ON co.id = a.npq_course_id
                  JOIN npq_lead_providers nlp ON nlp.id = a.npq_lead_provider_id
                  LEFT JOIN cohorts c ON c.id = a.cohort_id
                 WHERE a.id = :id""",
            {"id": application_id},
        )
        if row is None:
            return None
        values = dict(row)
        return RegisteredApplication(
            **{k: values.pop(k) for k in RegisteredApplication.__dataclass_fields__ if k != "fields"},
            fields=values,
        )
