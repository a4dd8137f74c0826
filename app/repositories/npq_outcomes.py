"""Queries and writes behind the NPQ outcome endpoints.

Outcomes are an append-only history per `completed` NPQ declaration; a provider sees the outcomes of
the declarations it made. The participant an outcome belongs to is the user of the declaration's
training record identity (so a merged participant's outcomes follow the surviving user).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.sql import first_as, rows_as, text

# Declarations whose outcome may still be changed: anything not voided or clawed back.
OUTCOME_DECLARATION_STATES = ("submitted", "eligible", "payable", "paid", "ineligible")


class OutcomeRow(NamedTuple):
    """Built positionally (rows_as), like StatementRow."""

    id: uuid.UUID
    state: str
    completion_date: date
    course_identifier: str
    participant_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LatestOutcome:
    id: uuid.UUID
    state: str
    completion_date: date


_DETAILS = """
    SELECT o.id, o.state, o.completion_date, d.course_identifier, pi.user_id AS participant_id,
           o.created_at, o.updated_at
      FROM participant_outcomes o
      JOIN participant_declarations d ON d.id = o.participant_declaration_id
      JOIN participant_profiles pp ON pp.id = d.participant_profile_id
      JOIN participant_identities pi ON pi.id = pp.participant_identity_id
"""
_ORDER = "ORDER BY o.created_at, o.id"


class NpqOutcomeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[OutcomeRow]:
        return rows_as(OutcomeRow, await self.session.execute(text(sql), params))

    # --- reading --------------------------------------------------------------------------------

    async def listing(
        self, cpd_lead_provider_id: uuid.UUID, created_since: datetime | None, page: Page
    ) -> list[OutcomeRow]:
        """One page of the outcomes of the provider's declarations, oldest first.

        The page is chosen over outcome ids alone (filter, order, offset), then only those rows
        are joined to their declaration and participant.
        """
        params: dict[str, Any] = {"cpd": cpd_lead_provider_id, "limit": page.limit, "offset": page.offset}
        since = ""
        if created_since is not None:
            params["created_since"] = created_since
            since = "AND o.created_at >= :created_since"
        sql = f"""
            WITH page AS (
                SELECT o.id FROM participant_outcomes o
                 WHERE o.cpd_lead_provider_id = :cpd {since}
                 {_ORDER} LIMIT :limit OFFSET :offset
            )
            {_DETAILS} JOIN page ON page.id = o.id
            {_ORDER}
        """
        return await self._rows(sql, params)

    async def for_participant(self, cpd_lead_provider_id: uuid.UUID, user_id: uuid.UUID) -> list[OutcomeRow]:
        """Every outcome of the provider's declarations for one participant (user id), oldest first."""
        sql = f"""{_DETAILS}
            WHERE d.cpd_lead_provider_id = :cpd AND pi.user_id = :user_id
            {_ORDER}"""
        return await self._rows(sql, {"cpd": cpd_lead_provider_id, "user_id": user_id})

    async def find(self, outcome_id: uuid.UUID) -> OutcomeRow | None:
        result = await self.session.execute(text(f"{_DETAILS} WHERE o.id = :id"), {"id": outcome_id})
        return first_as(OutcomeRow, result)

    # --- recording an outcome -------------------------------------------------------------------

    async def completed_declaration_for_update(
        self, participant_profile_id: uuid.UUID, cpd_lead_provider_id: uuid.UUID, course_identifier: str
    ) -> uuid.UUID | None:
        """The newest `completed` NPQ declaration the provider made for this training record and
        course that still counts, locked until commit so concurrent outcome updates queue."""
        row = (
            (
                await self.session.execute(
                    text(
                        """SELECT d.id FROM participant_declarations d
                            WHERE d.participant_profile_id = :profile_id AND d.cpd_lead_provider_id = :cpd
                              AND d.programme = 'npq' AND d.declaration_type = 'completed'
                              AND d.course_identifier = :course AND d.state = ANY(:states)
                            ORDER BY d.created_at DESC, d.id DESC
                            LIMIT 1
                              FOR UPDATE"""
                    ),
                    {
                        "profile_id": participant_profile_id,
                        "cpd": cpd_lead_provider_id,
                        "course": course_identifier,
                        "states": list(OUTCOME_DECLARATION_STATES),
                    },
                )
            )
            .mappings()
            .first()
        )
        return uuid.UUID(str(row["id"])) if row else None

    async def latest(self, declaration_id: uuid.UUID) -> LatestOutcome | None:
        row = (
            (
                await self.session.execute(
                    text(
                        """SELECT id, state, completion_date FROM participant_outcomes
                            WHERE participant_declaration_id = :d
                            ORDER BY created_at DESC, id DESC LIMIT 1"""
                    ),
                    {"d": declaration_id},
                )
            )
            .mappings()
            .first()
        )
        return LatestOutcome(**row) if row else None

    async def add(self, declaration_id: uuid.UUID, state: str, completion_date: date) -> uuid.UUID:
        # clock_timestamp(), not now(): outcomes written in one transaction keep their order.
        row = (
            (
                await self.session.execute(
                    text(
                        """INSERT INTO participant_outcomes (id, participant_declaration_id, state,
                               completion_date, created_at, updated_at)
                           VALUES (gen_random_uuid(), :d, :state, :completion_date,
                                   clock_timestamp(), clock_timestamp())
                           RETURNING id"""
                    ),
                    {"d": declaration_id, "state": state, "completion_date": completion_date},
                )
            )
            .mappings()
            .one()
        )
        return uuid.UUID(str(row["id"]))
