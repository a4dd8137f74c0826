"""Queries behind the ECF participant endpoints (v1, v2, v3).

Visibility core: for each ECF training record (participant profile), the provider's
"latest" induction record is the first after ordering the records that sit under one of
the provider's unchallenged partnerships by: open-ended first, start_date desc,
created_at desc (id as a final tie-breaker so results are deterministic). The database keeps
that choice in `ecf_latest_induction_records` (triggers, migration 0013), per schedule cohort
for v1/v2's filter-then-choose rule, with the user and creation times the lists sort on.

Lists page over that table first (one index range in list order), then load the page's details
in one query, so the cost of a page does not grow with the number of joins.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Result
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.paging import DEFAULT_MIN_COHORT_EXCLUSIVE, Page
from app.repositories.sql import MONTH_SKIP, batches_as, rows_as, text

# From this offset on, the unfiltered v3 list (default cohorts, oldest first) starts its walk at
# the month its page begins in (migration 0029's counts); shallower pages walk from the start.
SKIP_FROM = 20_000

# Ids of one page of a provider's users in list order, walking from the start of the month (UTC,
# by the user's creation) the page begins in: the running total of the months before it, over
# the users whose latest cohort the default scope shows, says where that is.
_SKIPPING_USERS_PAGE = f"""
    WITH months AS (
        SELECT month, users AS n FROM ecf_participant_user_month_counts
         WHERE lead_provider_id = :lead_provider_id AND latest_cohort > :min_cohort),
    {MONTH_SKIP}
    SELECT pu.user_id FROM ecf_participant_users pu
     WHERE pu.lead_provider_id = :lead_provider_id AND pu.latest_cohort > :min_cohort
       AND pu.user_created_at >= (SELECT month FROM skip)
     ORDER BY pu.user_created_at ASC, pu.user_id ASC
     LIMIT :limit OFFSET :offset - (SELECT before FROM skip)
"""


@dataclass(frozen=True)
class CohortScope:
    """Cohort filter: explicit start years, or the default (after 2020)."""

    years: list[int] | None

    def sql(self, column: str, params: dict[str, Any]) -> str:
        if self.years is None:
            params["min_cohort"] = DEFAULT_MIN_COHORT_EXCLUSIVE
            return f"{column} > :min_cohort"
        params["cohort_years"] = self.years
        return f"{column} = ANY(:cohort_years)"

    def any_of_sql(self, years_column: str, latest_column: str, params: dict[str, Any]) -> str:
        """The same filter on a set of start years (and its latest): any of them matches."""
        if self.years is None:
            params["min_cohort"] = DEFAULT_MIN_COHORT_EXCLUSIVE
            return f"{latest_column} > :min_cohort"
        params["cohort_years"] = self.years
        return f"{years_column} && CAST(:cohort_years AS integer[])"


class EnrolmentRow(NamedTuple):
    """One ECF training record as seen through its latest induction record for a provider."""

    induction_record_id: uuid.UUID
    participant_profile_id: uuid.UUID
    profile_type: str
    user_id: uuid.UUID
    full_name: str
    user_email: str
    user_created_at: datetime
    user_updated_at: datetime
    preferred_email: str | None
    mentor_user_id: uuid.UUID | None
    school_urn: str
    school_cohort_year: int
    induction_status: str
    training_status: str
    start_date: datetime
    end_date: datetime | None
    schedule_identifier: str
    delivery_partner_id: uuid.UUID | None
    teacher_trn: str | None
    validation_trn: str | None
    eligibility_status: str | None
    eligibility_reason: str | None
    pupil_premium_uplift: bool
    sparsity_uplift: bool
    profile_created_at: datetime
    profile_updated_at: datetime
    identity_updated_at: datetime
    record_updated_at: datetime
    induction_completion_date: date | None
    mentor_completion_date: date | None


class StateRow(NamedTuple):
    participant_profile_id: uuid.UUID
    state: str
    reason: str | None
    created_at: datetime


class IdChangeRow(NamedTuple):
    user_id: uuid.UUID
    from_participant_id: uuid.UUID
    to_participant_id: uuid.UUID
    created_at: datetime


LATEST_TABLE = "ecf_latest_induction_records"


def latest_records_sql() -> str:
    """The provider's latest induction record per training record, all cohorts (CTE body).

    Read from `ecf_latest_induction_records`, which triggers keep (migration 0013): rank 1 is the
    latest overall, the rule v3 and unfunded mentors use."""
    return f"""
        SELECT participant_profile_id, induction_record_id, schedule_id, cohort_start_year,
               training_status, mentor_profile_id, user_id, user_created_at, profile_created_at
          FROM {LATEST_TABLE}
         WHERE lead_provider_id = :lead_provider_id AND rank = 1
    """


def v1_latest_clause(alias: str, cohorts: CohortScope, params: dict[str, Any]) -> str:
    """Row `alias` of the latest-records table is the one v1/v2 show: its cohort is in the filter
    and no better-ranked row of the same training record is (v1/v2 choose the latest record
    among those in the filtered cohorts). Most training records have one row, rank 1."""
    return f"""{alias}.lead_provider_id = :lead_provider_id
        AND {cohorts.sql(f"{alias}.cohort_start_year", params)}
        AND ({alias}.rank = 1 OR NOT EXISTS (
            SELECT 1 FROM {LATEST_TABLE} better
             WHERE better.lead_provider_id = {alias}.lead_provider_id
               AND better.participant_profile_id = {alias}.participant_profile_id
               AND better.rank < {alias}.rank
               AND {cohorts.sql("better.cohort_start_year", params)}))"""


_DETAIL_COLUMNS = """
    ir.id AS induction_record_id, ir.participant_profile_id, pp.profile_type,
    u.id AS user_id, u.full_name, u.email AS user_email, u.created_at AS user_created_at,
    u.updated_at AS user_updated_at,
    pref.email AS preferred_email, mentor_pi.user_id AS mentor_user_id,
    sch.urn AS school_urn, scc.start_year AS school_cohort_year,
    ir.induction_status, ir.training_status, ir.start_date, ir.end_date,
    s.schedule_identifier, p.delivery_partner_id,
    tp.trn AS teacher_trn, vd.trn AS validation_trn,
    el.status AS eligibility_status, el.reason AS eligibility_reason,
    pp.pupil_premium_uplift, pp.sparsity_uplift, pp.created_at AS profile_created_at,
    pp.updated_at AS profile_updated_at, pi.updated_at AS identity_updated_at,
    ir.updated_at AS record_updated_at, pp.induction_completion_date, pp.mentor_completion_date
"""

_DETAIL_JOINS = """
    JOIN schedules s ON s.id = ir.schedule_id
    JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
    JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
    JOIN schools sch ON sch.id = sc.school_id
    JOIN cohorts scc ON scc.id = sc.cohort_id
    LEFT JOIN partnerships p ON p.id = ip.partnership_id
    LEFT JOIN participant_identities pref ON pref.id = ir.preferred_identity_id
    LEFT JOIN participant_profiles mp ON mp.id = ir.mentor_profile_id
    LEFT JOIN participant_identities mentor_pi ON mentor_pi.id = mp.participant_identity_id
    JOIN participant_profiles pp ON pp.id = ir.participant_profile_id
    JOIN participant_identities pi ON pi.id = pp.participant_identity_id
    JOIN users u ON u.id = pi.user_id
    LEFT JOIN teacher_profiles tp ON tp.id = pp.teacher_profile_id
    LEFT JOIN ecf_participant_validation_data vd ON vd.participant_profile_id = pp.id
    LEFT JOIN ecf_participant_eligibilities el ON el.participant_profile_id = pp.id
"""


def _enrolments(result: Result[Any]) -> list[EnrolmentRow]:
    return rows_as(EnrolmentRow, result)  # a page has up to 2,000 of them


class EcfParticipantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- v1 / v2: one row per visible training record -------------------------------------

    @staticmethod
    def _v1_sql(
        params: dict[str, Any],
        *,
        cohorts: CohortScope,
        updated_since: datetime | None,
        user_id: uuid.UUID | None,
        paged: bool,
        keys_only: bool = False,
    ) -> str:
        filters = [v1_latest_clause("l", cohorts, params)]
        if user_id is not None:
            params["user_id"] = user_id
            filters.append("l.user_id = :user_id")
        limit = "LIMIT :limit OFFSET :offset" if paged else ""
        if updated_since is None:
            keys = "l.user_created_at AS k1, l.user_id AS k2"
            users = ""
        else:
            # With updated_since, syncs follow update order (as the reference does).
            params["updated_since"] = updated_since
            keys = "u.updated_at AS k1, l.user_id AS k2"
            users = "JOIN users u ON u.id = l.user_id AND u.updated_at >= :updated_since"
        order = "page.k1, page.k2, page.k3, page.k4"
        details = (
            # one row of two arrays (see page_v1_keys)
            f"SELECT array_agg(page.induction_record_id ORDER BY {order}),"
            f" array_agg(page.k2 ORDER BY {order}) FROM page"
            if keys_only
            else f"""SELECT {_DETAIL_COLUMNS}
              FROM page
              JOIN induction_records ir ON ir.id = page.induction_record_id
              {_DETAIL_JOINS}"""
        )
        return f"""
            WITH page AS (
                SELECT l.induction_record_id, {keys}, l.profile_created_at AS k3,
                       l.participant_profile_id AS k4
                  FROM {LATEST_TABLE} l
                  {users}
                 WHERE {" AND ".join(filters)}
                 ORDER BY k1, k2, k3, k4
                 {limit}
            )
            {details}
            {"" if keys_only else f"ORDER BY {order}"}
        """

    async def list_v1(
        self,
        lead_provider_id: uuid.UUID,
        *,
        cohorts: CohortScope,
        updated_since: datetime | None,
        page: Page,
    ) -> list[EnrolmentRow]:
        params: dict[str, Any] = {
            "lead_provider_id": lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        sql = self._v1_sql(params, cohorts=cohorts, updated_since=updated_since, user_id=None, paged=True)
        return _enrolments(await self.session.execute(text(sql), params))

    async def page_v1_keys(
        self,
        lead_provider_id: uuid.UUID,
        *,
        cohorts: CohortScope,
        updated_since: datetime | None,
        page: Page,
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """The page `list_v1` would return, as (induction record, user) pairs only (fetched as
        two arrays in one row: a 2000-record page's rows cost more to take apart one by one)."""
        params: dict[str, Any] = {
            "lead_provider_id": lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        sql = self._v1_sql(
            params, cohorts=cohorts, updated_since=updated_since, user_id=None, paged=True, keys_only=True
        )
        records, users = (await self.session.execute(text(sql), params)).one()
        return list(zip(records or [], users or [], strict=True))

    async def records(self, induction_record_ids: Sequence[uuid.UUID]) -> list[EnrolmentRow]:
        """These induction records with everything a flat participant shows (any order)."""
        if not induction_record_ids:
            return []
        sql = f"SELECT {_DETAIL_COLUMNS} FROM induction_records ir {_DETAIL_JOINS} WHERE ir.id = ANY(:ids)"
        return _enrolments(await self.session.execute(text(sql), {"ids": list(induction_record_ids)}))

    async def find_v1(
        self, lead_provider_id: uuid.UUID, user_id: uuid.UUID, *, cohorts: CohortScope
    ) -> list[EnrolmentRow]:
        params: dict[str, Any] = {"lead_provider_id": lead_provider_id}
        sql = self._v1_sql(params, cohorts=cohorts, updated_since=None, user_id=user_id, paged=False)
        return _enrolments(await self.session.execute(text(sql), params))

    async def find_record(self, induction_record_id: uuid.UUID) -> EnrolmentRow | None:
        """One induction record with everything a flat participant shows (action responses)."""
        found = await self.records([induction_record_id])
        return found[0] if found else None

    @staticmethod
    async def stream_v1(
        maker: async_sessionmaker[AsyncSession],
        lead_provider_id: uuid.UUID,
        *,
        cohorts: CohortScope,
        updated_since: datetime | None,
        batch_size: int = 1000,
    ) -> AsyncIterator[list[EnrolmentRow]]:
        """Every v1 row, in batches from a server-side cursor (memory stays flat)."""
        params: dict[str, Any] = {"lead_provider_id": lead_provider_id}
        sql = EcfParticipantRepository._v1_sql(
            params, cohorts=cohorts, updated_since=updated_since, user_id=None, paged=False
        )
        async with maker() as session:
            result = await session.stream(text(sql).execution_options(yield_per=batch_size), params)
            async for batch in batches_as(EnrolmentRow, result, batch_size):
                yield batch

    # ---- v3: one resource per user ----------------------------------------------------------

    async def page_v3_user_ids(
        self,
        lead_provider_id: uuid.UUID,
        *,
        cohorts: CohortScope,
        updated_since: datetime | None,
        training_status: str | None,
        from_participant_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        order_by: Sequence[tuple[str, bool]],
        page: Page,
    ) -> list[uuid.UUID]:
        """Users with a latest provider record in the cohorts (and filters), one page of them."""
        params: dict[str, Any] = {
            "lead_provider_id": lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        match = [
            "l.lead_provider_id = :lead_provider_id",
            "l.rank = 1",
            cohorts.sql("l.cohort_start_year", params),
        ]
        if training_status is not None:
            params["training_status"] = training_status
            match.append("l.training_status = :training_status")
        user_filters = ["TRUE"]
        if updated_since is not None:
            params["updated_since"] = updated_since
            user_filters.append("u.updated_at >= :updated_since")
        if from_participant_id is not None:
            params["from_participant_id"] = from_participant_id
            user_filters.append(
                "EXISTS (SELECT 1 FROM participant_id_changes ch"
                " WHERE ch.user_id = u.id AND ch.from_participant_id = :from_participant_id)"
            )
        if user_id is not None:
            params["user_id"] = user_id
            match.append("l.user_id = :user_id")
        default_order = [column for column, _ in order_by] == ["created_at"] and len(user_filters) == 1
        if default_order and training_status is None and user_id is None:
            # The provider's users in list order, one row each (migration 0026): one narrow
            # index range, so a deep page walks the users before it and nothing else.
            direction = "DESC" if order_by[0][1] else "ASC"
            skipping = direction == "ASC" and cohorts.years is None and page.offset >= SKIP_FROM
            sql = (
                _SKIPPING_USERS_PAGE
                if skipping
                else f"""
                SELECT pu.user_id FROM ecf_participant_users pu
                 WHERE pu.lead_provider_id = :lead_provider_id
                   AND {cohorts.any_of_sql("pu.cohort_years", "pu.latest_cohort", params)}
                 ORDER BY pu.user_created_at {direction}, pu.user_id ASC
                 LIMIT :limit OFFSET :offset
            """
            )
        elif default_order:
            # The default order (creation, either way) is the table's own: one index range.
            direction = "DESC" if order_by[0][1] else "ASC"
            sql = f"""
                SELECT l.user_id FROM {LATEST_TABLE} l
                 WHERE {" AND ".join(match)}
                 GROUP BY l.user_created_at, l.user_id
                 ORDER BY l.user_created_at {direction}, l.user_id ASC
                 LIMIT :limit OFFSET :offset
            """
        elif training_status is None:
            # The provider's users (one row each, with their cohorts) as a semi-join: the planner
            # starts from whichever side is smaller, so an incremental sync (updated_since) probes
            # the few users updated since instead of gathering every one of the provider's users.
            order = ", ".join(f"u.{column} {'DESC' if desc else 'ASC'}" for column, desc in order_by)
            if user_id is not None:
                user_filters.append("u.id = :user_id")
            sql = f"""
                SELECT u.id FROM users u
                 WHERE {" AND ".join(user_filters)}
                   AND EXISTS (
                       SELECT 1 FROM ecf_participant_users pu
                        WHERE pu.lead_provider_id = :lead_provider_id AND pu.user_id = u.id
                          AND {cohorts.any_of_sql("pu.cohort_years", "pu.latest_cohort", params)})
                 ORDER BY {order}, u.id ASC
                 LIMIT :limit OFFSET :offset
            """
        else:
            order = ", ".join(f"u.{column} {'DESC' if desc else 'ASC'}" for column, desc in order_by)
            sql = f"""
                WITH matching AS (
                    SELECT DISTINCT l.user_id FROM {LATEST_TABLE} l WHERE {" AND ".join(match)}
                )
                SELECT u.id FROM users u JOIN matching m ON m.user_id = u.id
                 WHERE {" AND ".join(user_filters)}
                 ORDER BY {order}, u.id ASC
                 LIMIT :limit OFFSET :offset
            """
        # One array in one row, in the page's order (cheaper to take apart than 2,000 rows).
        ids: list[uuid.UUID] | None = (
            await self.session.execute(text(f"SELECT ARRAY({sql})"), params)
        ).scalar()
        return ids or []

    async def enrolments_for_users(
        self, lead_provider_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> list[EnrolmentRow]:
        """Every training record of these users that has a latest record with the provider."""
        if not user_ids:
            return []
        params: dict[str, Any] = {"lead_provider_id": lead_provider_id, "user_ids": list(user_ids)}
        sql = f"""
            SELECT {_DETAIL_COLUMNS}
              FROM {LATEST_TABLE} l
              JOIN induction_records ir ON ir.id = l.induction_record_id
              {_DETAIL_JOINS}
             WHERE l.lead_provider_id = :lead_provider_id AND l.rank = 1 AND l.user_id = ANY(:user_ids)
             ORDER BY pp.created_at, pp.id
        """
        return _enrolments(await self.session.execute(text(sql), params))

    async def id_changes(self, user_ids: Sequence[uuid.UUID]) -> list[IdChangeRow]:
        if not user_ids:
            return []
        sql = """
            SELECT user_id, from_participant_id, to_participant_id, created_at
              FROM participant_id_changes WHERE user_id = ANY(:user_ids)
             ORDER BY created_at DESC, id DESC
        """
        return rows_as(IdChangeRow, await self.session.execute(text(sql), {"user_ids": list(user_ids)}))

    async def latest_provider_states(
        self, profile_ids: Sequence[uuid.UUID], cpd_lead_provider_id: uuid.UUID
    ) -> list[StateRow]:
        """The provider's latest withdrawn and deferred state rows per training record."""
        if not profile_ids:
            return []
        sql = """
            SELECT DISTINCT ON (participant_profile_id, state)
                   participant_profile_id, state, reason, created_at
              FROM participant_profile_states
             WHERE participant_profile_id = ANY(:profile_ids)
               AND cpd_lead_provider_id = :cpd_lead_provider_id
               AND state IN ('withdrawn', 'deferred')
             ORDER BY participant_profile_id, state, created_at DESC, id DESC
        """
        result = await self.session.execute(
            text(sql), {"profile_ids": list(profile_ids), "cpd_lead_provider_id": cpd_lead_provider_id}
        )
        return rows_as(StateRow, result)
