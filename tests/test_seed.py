"""The sandbox seed: idempotent, deterministic, hashed tokens, never in production, every scenario.

Database-level tests seed with a fixed `TODAY`; the API smoke tests at the end seed with the real
date, because the API judges joining/leaving against the real clock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.domain.enums import ProgrammeType
from app.models import ApiToken, Base, Cohort, NpqCourse, School, Statement
from app.security import hash_token
from app.seed import (
    KNOWN_TOKENS,
    SeedRefused,
    SeedReport,
    build_reference,
    build_sandbox,
    ids,
    seed_reference_data,
    seed_sandbox,
)
from app.seed.schedules import NPQ_COURSE_FAMILIES, find_schedule
from app.settings import Environment, Settings
from tests.contract import assert_matches_spec

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
AMBITION = "Ambition Institute"


async def _scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    return (await session.execute(text(sql), params)).scalar_one()


# Tables of records (with an id); bookkeeping tables such as the rate-limit counters are not seeded.
SEEDABLE_TABLES = [table for table in Base.metadata.sorted_tables if "id" in table.c]


async def _snapshot(session: AsyncSession) -> dict[str, tuple[int, str | None]]:
    """Row count and a digest of every row's content, per table."""
    snapshot = {}
    for table in SEEDABLE_TABLES:
        # Table names come from the ORM metadata, not from input.
        row = (
            await session.execute(
                text(
                    f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table.name} t"  # noqa: S608
                )
            )
        ).one()
        snapshot[table.name] = (row[0], row[1])
    return snapshot


async def _all_ids(session: AsyncSession) -> dict[str, set[uuid.UUID]]:
    result = {}
    for table in SEEDABLE_TABLES:
        result[table.name] = set((await session.execute(select(table.c.id))).scalars())
    return result


# ---- idempotence and determinism ----------------------------------------------------------------


async def test_second_run_inserts_and_changes_nothing(session: AsyncSession, settings: Settings) -> None:
    first = await seed_sandbox(session, settings=settings, today=TODAY)
    before = await _snapshot(session)
    second = await seed_sandbox(session, settings=settings, today=TODAY)
    assert second.total == 0
    assert not +second.inserted
    assert await _snapshot(session) == before
    # and the first run inserted every row it built (nothing was silently dropped by a conflict)
    built = build_reference().counts() + build_sandbox(settings=settings, today=TODAY).rows.counts()
    assert +first.inserted == built
    assert first.total > 10_000


async def test_ids_are_deterministic_across_fresh_runs(session: AsyncSession, settings: Settings) -> None:
    async def fresh_run(today: date) -> tuple[dict[str, set[uuid.UUID]], dict[str, uuid.UUID]]:
        savepoint = await session.begin_nested()
        await seed_sandbox(session, settings=settings, today=today)
        all_ids = await _all_ids(session)
        known = {
            "cohort 2023": (
                await session.execute(select(Cohort.id).where(Cohort.start_year == 2023))
            ).scalar_one(),
            "school 112301": (
                await session.execute(select(School.id).where(School.urn == "112301"))
            ).scalar_one(),
            "npq-headship": (
                await session.execute(select(NpqCourse.id).where(NpqCourse.identifier == "npq-headship"))
            ).scalar_one(),
            "ambition token": (
                await session.execute(
                    select(ApiToken.id).where(
                        ApiToken.hashed_token == hash_token("ambition-token", settings.token_hmac_key)
                    )
                )
            ).scalar_one(),
            "Ambition ECF November 2023": (
                await session.execute(
                    text(
                        "SELECT s.id FROM statements s"
                        " JOIN cpd_lead_providers c ON c.id = s.cpd_lead_provider_id"
                        " JOIN cohorts co ON co.id = s.cohort_id WHERE c.name = :name AND s.programme = 'ecf'"
                        " AND co.start_year = 2023 AND s.name = 'November 2023'"
                    ),
                    {"name": AMBITION},
                )
            ).scalar_one(),
        }
        await savepoint.rollback()
        return all_ids, known

    first, known = await fresh_run(TODAY)
    second, known_again = await fresh_run(TODAY)
    assert first == second
    assert known == known_again
    assert known == {
        "cohort 2023": ids.cohort_id(2023),
        "school 112301": ids.uid("school", "112301"),
        "npq-headship": uuid.UUID("0f7d6578-a12c-4498-92a0-2ee0f18e0768"),
        "ambition token": ids.token_id("ambition-token"),
        "Ambition ECF November 2023": ids.statement_id(AMBITION, "ecf", 2023, date(2023, 11, 1)),
    }
    # Seeding on another day moves scenario dates, never ids (declaration rows may differ,
    # since which statement they can sit on depends on the day).
    later, _ = await fresh_run(TODAY + timedelta(days=40))
    for table in ("users", "participant_profiles", "induction_records", "statements", "npq_applications"):
        assert later[table] == first[table], table


async def test_a_later_run_keeps_stored_declarations_consistent(
    session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    # On a later day some declarations would be built in another state; the stored ones win.
    later = await seed_sandbox(session, settings=settings, today=TODAY + timedelta(days=400))
    assert later.inserted["declaration_states"] == 0 and later.inserted["statement_line_items"] == 0
    inconsistent = await _scalar(
        session,
        """SELECT count(*) FROM participant_declarations d
            WHERE d.state <> (SELECT s.state FROM declaration_states s
                               WHERE s.participant_declaration_id = d.id ORDER BY s.created_at DESC LIMIT 1)
               OR (SELECT count(*) FROM statement_line_items i
                    WHERE i.participant_declaration_id = d.id AND i.state = d.state)
                  <> (CASE WHEN d.state IN ('submitted', 'voided') THEN 0 ELSE 1 END)
               OR EXISTS (SELECT 1 FROM statement_line_items i JOIN statements s ON s.id = i.statement_id
                           WHERE i.participant_declaration_id = d.id
                             AND s.state <> CASE i.state WHEN 'eligible' THEN 'open'
                                                        WHEN 'awaiting_clawback' THEN 'open'
                                                        WHEN 'payable' THEN 'payable'
                                                        WHEN 'ineligible' THEN s.state
                                                        ELSE 'paid' END)""",
    )
    assert inconsistent == 0


# ---- tokens and environments -------------------------------------------------------------------


async def test_tokens_are_stored_hashed(session: AsyncSession, settings: Settings) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    tokens = (
        await session.execute(
            text(
                "SELECT t.hashed_token, t.scope, c.name FROM api_tokens t"
                " JOIN cpd_lead_providers c ON c.id = t.cpd_lead_provider_id"
            )
        )
    ).all()
    assert len(KNOWN_TOKENS) == 11 and len(tokens) == 11
    for raw in KNOWN_TOKENS:
        assert (
            await _scalar(
                session, "SELECT count(*) FROM api_tokens t WHERE t::text LIKE :raw", raw=f"%{raw}%"
            )
            == 0
        )
    by_hash = {hashed: (scope, name) for hashed, scope, name in tokens}
    for raw, name in KNOWN_TOKENS.items():
        assert by_hash[hash_token(raw, settings.token_hmac_key)] == ("lead_provider", name)
    assert by_hash[hash_token("ambition-token", settings.token_hmac_key)][1] == AMBITION


async def test_production_refuses_the_sandbox_seed(session: AsyncSession, database_url: str) -> None:
    production = Settings(
        environment=Environment.PRODUCTION, token_hmac_key="p" * 40, database_url=database_url
    )
    with pytest.raises(SeedRefused):
        await seed_sandbox(session, settings=production, today=TODAY)
    report = await seed_reference_data(session)
    assert report.inserted["schedules"] > 0 and report.inserted["npq_courses"] == 11
    for table in ("api_tokens", "users", "statements", "participant_profiles"):
        assert await _scalar(session, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608


# ---- reference data -----------------------------------------------------------------------------


async def test_reference_data(session: AsyncSession) -> None:
    await seed_reference_data(session)
    assert await _scalar(session, "SELECT array_agg(start_year ORDER BY start_year) FROM cohorts") == [
        2021,
        2022,
        2023,
        2024,
    ]
    schedules = (
        await session.execute(
            text(
                "SELECT c.start_year, s.schedule_identifier, s.schedule_type, count(m.id)"
                " FROM schedules s JOIN cohorts c ON c.id = s.cohort_id"
                " JOIN milestones m ON m.schedule_id = s.id"
                " GROUP BY 1, 2, 3"
            )
        )
    ).all()
    by_key = {(year, identifier): (kind, n) for year, identifier, kind, n in schedules}
    for year in (2021, 2022, 2023, 2024):
        assert by_key[(year, "ecf-standard-september")] == ("ecf", 6)
        assert by_key[(year, "ecf-standard-april")] == ("ecf", 6)  # 2021: filled from the guidance
        assert by_key[(year, "ecf-extended-january")] == ("ecf", 9)
        assert by_key[(year, "ecf-replacement-september")] == ("mentor", 6)
        assert by_key[(year, "npq-leadership-autumn")] == ("npq_leadership", 4)
        assert by_key[(year, "npq-specialist-spring")] == ("npq_specialist", 3)
        assert by_key[(year, "npq-ehco-june")] == ("npq_ehco", 4)
    assert by_key[(2021, "npq-aso-november")] == ("npq_support", 4)
    assert (2022, "npq-aso-november") not in by_key and (2021, "npq-ehco-november") not in by_key
    # 2024 ECF milestones are the 2023 ones a year later
    rows = (
        await session.execute(
            text(
                "SELECT c.start_year, m.declaration_type, m.start_date, m.milestone_date, m.payment_date"
                " FROM milestones m JOIN schedules s ON s.id = m.schedule_id"
                " JOIN cohorts c ON c.id = s.cohort_id"
                " WHERE s.schedule_identifier = 'ecf-standard-january' AND c.start_year IN (2023, 2024)"
            )
        )
    ).all()
    dates = {(year, kind): (start, end, pay) for year, kind, start, end, pay in rows}
    for kind in ("started", "retained-2", "completed"):
        shifted = tuple(d.replace(year=d.year + 1) for d in dates[(2023, kind)])
        assert dates[(2024, kind)] == shifted
    started = find_schedule(2022, "ecf-standard-september")
    assert started is not None and started.milestones[0].milestone_date == date(2022, 12, 31)
    # providers, courses, contracts
    assert await _scalar(session, "SELECT count(*) FROM cpd_lead_providers") == 11
    assert await _scalar(session, "SELECT count(*) FROM lead_providers") == 6
    assert await _scalar(session, "SELECT count(*) FROM npq_lead_providers") == 10
    assert await _scalar(
        session, "SELECT id FROM npq_lead_providers WHERE name = 'Church of England'"
    ) == uuid.UUID("79cb41ca-cb6d-405c-b52c-b6f7c752388d")
    assert await _scalar(session, "SELECT count(*) FROM npq_lead_providers WHERE name = 'Capita'") == 0
    assert await _scalar(session, "SELECT count(*) FROM npq_courses") == 11
    contracts = (
        await session.execute(
            text(
                "SELECT c.id, co.start_year, c.monthly_service_fee, count(b.id), bool_or(b.min IS NULL)"
                " FROM call_off_contracts c JOIN cohorts co ON co.id = c.cohort_id"
                " JOIN participant_bands b ON b.call_off_contract_id = c.id GROUP BY 1, 2, 3"
            )
        )
    ).all()
    assert len(contracts) == 24
    assert all(n == 4 and band_a_from_zero for _, _, _, n, band_a_from_zero in contracts)
    assert {fee is None for _, year, fee, _, _ in contracts if year < 2024} == {True}
    assert {fee for _, year, fee, _, _ in contracts if year == 2024} == {Decimal("75943.07")}
    npq_contracts = (
        await session.execute(
            text(
                "SELECT count(DISTINCT (npq_lead_provider_id, cohort_id)), bool_and(per_participant > 0),"
                " bool_or(special_course), count(*) FILTER (WHERE course_identifier ="
                " 'npq-additional-support-offer') FROM npq_contracts"
            )
        )
    ).one()
    assert tuple(npq_contracts) == (40, True, True, 10)


# ---- sandbox scenarios --------------------------------------------------------------------------

# Records a provider can see: under its unchallenged partnerships.
_SEEN = """
CREATE TEMP VIEW seen AS
SELECT lp.name AS provider, sc.school_id, p.relationship AS via_relationship, ir.*
  FROM induction_records ir
  JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
  JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
  JOIN partnerships p ON p.id = ip.partnership_id
  JOIN lead_providers lp ON lp.id = p.lead_provider_id
 WHERE p.challenged_at IS NULL AND p.challenge_reason IS NULL
"""
# The provider's latest record per training record (the API's visibility rule).
_LATEST = """
CREATE TEMP VIEW latest AS
SELECT DISTINCT ON (provider, participant_profile_id) *
  FROM seen
 ORDER BY provider, participant_profile_id, (end_date IS NULL) DESC, start_date DESC, created_at DESC
"""
# Latest records with their training record's columns.
_VISIBLE = """
CREATE TEMP VIEW visible AS
SELECT l.*, pp.profile_type, pp.status AS profile_status, pp.induction_completion_date,
       pp.mentor_completion_date, pp.pupil_premium_uplift, pp.sparsity_uplift,
       pp.schedule_id AS profile_schedule_id, pp.teacher_profile_id, pp.participant_identity_id,
       pp.cohort_id AS profile_cohort_id
  FROM latest l JOIN participant_profiles pp ON pp.id = l.participant_profile_id
"""

# scenario -> a query counting its occurrences for provider :lp (each must be at least 1)
SCENARIOS: dict[str, str] = {
    "deferred, with a bereavement deferral by the provider": """
        SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.training_status = 'deferred'
           AND EXISTS (SELECT 1 FROM participant_profile_states s
                         JOIN cpd_lead_providers c ON c.id = s.cpd_lead_provider_id
                        WHERE s.participant_profile_id = l.participant_profile_id AND s.state = 'deferred'
                          AND s.reason = 'bereavement' AND c.name = :lp)""",
    "withdrawn by the provider, moved school": """
        SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.training_status = 'withdrawn'
           AND EXISTS (SELECT 1 FROM participant_profile_states s
                         JOIN cpd_lead_providers c ON c.id = s.cpd_lead_provider_id
                        WHERE s.participant_profile_id = l.participant_profile_id AND s.state = 'withdrawn'
                          AND s.reason = 'moved-school' AND c.name = :lp)""",
    "deferred then resumed": """
        SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.training_status = 'active'
           AND EXISTS (SELECT 1 FROM participant_profile_states s
                        WHERE s.participant_profile_id = l.participant_profile_id
                          AND s.state = 'deferred')""",
    "joining": """SELECT count(*) FROM latest l
                   WHERE l.provider = :lp AND l.end_date IS NULL AND l.start_date > :now""",
    "leaving": "SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.end_date > :now",
    "left": "SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.end_date <= :now",
    "withdrawn by the school": """SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.end_date IS NULL
        AND l.start_date <= :now AND l.induction_status = 'withdrawn'""",
    "active": """SELECT count(*) FROM latest l WHERE l.provider = :lp AND l.end_date IS NULL
        AND l.start_date <= :now AND l.induction_status = 'active' AND l.training_status = 'active'""",
    "profile withdrawn": """SELECT count(*) FROM visible v
                             WHERE v.provider = :lp AND v.profile_status = 'withdrawn'""",
    "completed induction": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.induction_completion_date IS NOT NULL AND v.induction_status = 'completed'""",
    "mentor with a funding end date": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.profile_type = 'mentor' AND v.mentor_completion_date IS NOT NULL""",
    "ECT with pupil premium uplift only": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.profile_type = 'ect' AND v.pupil_premium_uplift AND NOT v.sparsity_uplift""",
    "ECT with sparsity uplift only": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.profile_type = 'ect' AND v.sparsity_uplift AND NOT v.pupil_premium_uplift""",
    "ECT with both uplifts": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.profile_type = 'ect' AND v.sparsity_uplift AND v.pupil_premium_uplift""",
    "ECT with a mentor on the record": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.profile_type = 'ect' AND v.mentor_profile_id IS NOT NULL""",
    "ECT without a mentor": """SELECT count(*) FROM visible v WHERE v.provider = :lp
        AND v.profile_type = 'ect' AND v.mentor_profile_id IS NULL""",
    **{
        f"eligibility {status}": """SELECT count(*) FROM visible v
            JOIN ecf_participant_eligibilities e ON e.participant_profile_id = v.participant_profile_id
           WHERE v.provider = :lp AND e.status = :value"""
        for status in ("eligible", "ineligible", "manual_check", "matched")
    },
    "eligibility not checked yet": """SELECT count(*) FROM visible v WHERE v.provider = :lp AND NOT EXISTS
        (SELECT 1 FROM ecf_participant_eligibilities e
          WHERE e.participant_profile_id = v.participant_profile_id)""",
    "eligibility reason different_trn": """SELECT count(*) FROM visible v
        JOIN ecf_participant_eligibilities e ON e.participant_profile_id = v.participant_profile_id
       WHERE v.provider = :lp AND e.reason = 'different_trn'""",
    "TRN only in validation data": """SELECT count(*) FROM visible v
        JOIN teacher_profiles tp ON tp.id = v.teacher_profile_id
        JOIN ecf_participant_validation_data d ON d.participant_profile_id = v.participant_profile_id
       WHERE v.provider = :lp AND tp.trn IS NULL AND d.trn ~ '^[0-9]{7}$'""",
    **{
        f"schedule {identifier}": """SELECT count(*) FROM visible v JOIN schedules s ON s.id = v.schedule_id
           WHERE v.provider = :lp AND s.schedule_identifier = :value AND v.profile_schedule_id = s.id"""
        for identifier in (
            "ecf-standard-september",
            "ecf-standard-january",
            "ecf-extended-september",
            "ecf-reduced-september",
            "ecf-replacement-september",
        )
    },
    "ECT who became a mentor in a later cohort": """
        SELECT count(*) FROM visible e JOIN cohorts ec ON ec.id = e.profile_cohort_id
          JOIN visible m ON m.provider = e.provider AND m.participant_identity_id = e.participant_identity_id
           AND m.teacher_profile_id = e.teacher_profile_id
          JOIN cohorts mc ON mc.id = m.profile_cohort_id
         WHERE e.provider = :lp AND e.profile_type = 'ect' AND m.profile_type = 'mentor'
           AND mc.start_year > ec.start_year""",
    "unfunded mentor trained with another provider": """
        SELECT count(*) FROM latest e WHERE e.provider = :lp AND e.mentor_profile_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM latest m WHERE m.provider = e.provider
                            AND m.participant_profile_id = e.mentor_profile_id)
           AND EXISTS (SELECT 1 FROM latest m WHERE m.provider <> e.provider
                        AND m.participant_profile_id = e.mentor_profile_id)""",
    "unfunded mentor with no induction record": """
        SELECT count(*) FROM latest e WHERE e.provider = :lp AND e.mentor_profile_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM induction_records r
                            WHERE r.participant_profile_id = e.mentor_profile_id)""",
    "complete transfer to another provider": """
        SELECT count(*) FROM seen lv JOIN seen j ON j.participant_profile_id = lv.participant_profile_id
         WHERE lv.provider = :lp AND lv.induction_status = 'leaving' AND lv.end_date <= :now
           AND j.school_transfer AND j.provider <> lv.provider AND j.school_id <> lv.school_id
           AND j.start_date <= :now""",
    "transfer in progress to another provider": """
        SELECT count(*) FROM seen lv JOIN seen j ON j.participant_profile_id = lv.participant_profile_id
         WHERE lv.provider = :lp AND lv.induction_status = 'leaving' AND lv.end_date > :now
           AND j.school_transfer AND j.provider <> lv.provider AND j.start_date > :now""",
    "transfer from another provider": """
        SELECT count(*) FROM seen lv JOIN seen j ON j.participant_profile_id = lv.participant_profile_id
         WHERE j.provider = :lp AND j.school_transfer AND lv.induction_status = 'leaving'
           AND lv.provider <> j.provider AND lv.school_id <> j.school_id""",
    "school move keeping the provider": """
        SELECT count(*) FROM seen lv JOIN seen j ON j.participant_profile_id = lv.participant_profile_id
         WHERE lv.provider = :lp AND j.provider = :lp AND lv.induction_status = 'leaving'
           AND j.school_transfer AND lv.school_id <> j.school_id AND NOT j.via_relationship""",
    "move keeping the provider through a relationship partnership": """
        SELECT count(*) FROM seen j
          JOIN school_cohorts sc ON sc.school_id = j.school_id
          JOIN induction_programmes d ON d.id = sc.default_induction_programme_id
          JOIN partnerships dp ON dp.id = d.partnership_id
          JOIN lead_providers other ON other.id = dp.lead_provider_id
         WHERE j.provider = :lp AND j.via_relationship AND j.school_transfer AND other.name <> :lp""",
    "mentor changed (a changed record, then an open one)": """
        SELECT count(*) FROM latest l JOIN seen old ON old.participant_profile_id = l.participant_profile_id
         WHERE l.provider = :lp AND old.provider = :lp AND old.induction_status = 'changed'
           AND old.end_date IS NOT NULL AND l.end_date IS NULL
           AND old.mentor_profile_id <> l.mentor_profile_id""",
    "participant id changed": """
        SELECT count(*) FROM participant_id_changes c
          JOIN users retired ON retired.id = c.from_participant_id
          JOIN participant_identities i
            ON i.external_identifier = retired.id AND i.user_id = c.to_participant_id
          JOIN visible v ON v.participant_identity_id = i.id
         WHERE v.provider = :lp AND c.user_id = c.to_participant_id AND v.preferred_identity_id = i.id
           AND NOT EXISTS (SELECT 1 FROM participant_identities x WHERE x.user_id = retired.id)""",
    "hidden: participants under a challenged partnership": """
        SELECT count(*) FROM induction_records ir
          JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
          JOIN partnerships p ON p.id = ip.partnership_id
          JOIN lead_providers lp ON lp.id = p.lead_provider_id
         WHERE lp.name = :lp AND p.challenged_at IS NOT NULL AND p.challenge_reason IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM latest l
                            WHERE l.participant_profile_id = ir.participant_profile_id)""",
    "hidden: participants at a school-led (CIP) school": """
        SELECT count(*) FROM induction_records ir
          JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
          JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
         WHERE ip.partnership_id IS NULL AND ip.training_programme = 'core_induction_programme'
           AND sc.induction_programme_choice = 'core_induction_programme'
           AND sc.default_induction_programme_id = ip.id""",
    "NPQ participant who also trains as ECF participant": """
        SELECT count(*) FROM participant_profiles n
          JOIN participant_identities ni ON ni.id = n.participant_identity_id
          JOIN npq_applications a ON a.id = n.id
          JOIN npq_lead_providers nlp ON nlp.id = a.npq_lead_provider_id
          JOIN participant_identities ei ON ei.user_id = ni.user_id
          JOIN visible v ON v.participant_identity_id = ei.id
         WHERE n.profile_type = 'npq' AND nlp.name = :lp AND v.provider = :lp""",
}


async def _scenario(session: AsyncSession, name: str, provider: str) -> int:
    # Parametrised scenarios name their value after the last space ("eligibility matched").
    count: int = await _scalar(session, SCENARIOS[name], lp=provider, now=NOW, value=name.rsplit(" ", 1)[-1])
    return count


async def _seed_with_views(session: AsyncSession, settings: Settings) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    await session.execute(text(_SEEN))
    await session.execute(text(_LATEST))
    await session.execute(text(_VISIBLE))


async def test_every_ecf_scenario_exists(session: AsyncSession, settings: Settings) -> None:
    await _seed_with_views(session, settings)
    counts = {name: await _scenario(session, name, AMBITION) for name in SCENARIOS}
    assert [name for name, n in counts.items() if n < 1] == []


async def test_every_token_provider_has_the_one_off_scenarios(
    session: AsyncSession, settings: Settings
) -> None:
    await _seed_with_views(session, settings)
    one_offs = (
        "unfunded mentor trained with another provider",
        "unfunded mentor with no induction record",
        "complete transfer to another provider",
        "transfer in progress to another provider",
        "transfer from another provider",
        "school move keeping the provider",
        "participant id changed",
        "ECT who became a mentor in a later cohort",
    )
    for provider in KNOWN_TOKENS.values():
        if await _scalar(session, "SELECT count(*) FROM lead_providers WHERE name = :n", n=provider) == 0:
            continue  # NPQ only
        for name in one_offs:
            assert await _scenario(session, name, provider) >= 1, (provider, name)


async def test_visible_volumes(session: AsyncSession, settings: Settings) -> None:
    await _seed_with_views(session, settings)
    ambition = await _scalar(
        session, "SELECT count(DISTINCT participant_profile_id) FROM seen WHERE provider = :lp", lp=AMBITION
    )
    assert ambition >= 150
    per_cohort = (
        await session.execute(
            text(
                "SELECT l.provider, c.start_year, count(*) FROM latest l"
                " JOIN schedules s ON s.id = l.schedule_id"
                " JOIN cohorts c ON c.id = s.cohort_id GROUP BY 1, 2"
            )
        )
    ).all()
    assert len(per_cohort) == 6 * 4
    assert min(n for _, _, n in per_cohort) >= 30
    # every school cohort points at its default programme
    assert (
        await _scalar(
            session, "SELECT count(*) FROM school_cohorts WHERE default_induction_programme_id IS NULL"
        )
        == 0
    )


async def test_timestamps_are_consistent(session: AsyncSession, settings: Settings) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    checks = {
        "profile older than its user": """SELECT count(*) FROM participant_profiles pp
            JOIN participant_identities pi ON pi.id = pp.participant_identity_id
            JOIN users u ON u.id = pi.user_id WHERE pp.created_at < u.created_at""",
        "record older than its profile": """SELECT count(*) FROM induction_records ir
            JOIN participant_profiles pp ON pp.id = ir.participant_profile_id
            WHERE ir.created_at < pp.created_at""",
        "record ending before it starts": """SELECT count(*) FROM induction_records
            WHERE end_date < start_date""",
        "application older than its user": """SELECT count(*) FROM npq_applications a
            JOIN participant_identities pi ON pi.id = a.participant_identity_id
            JOIN users u ON u.id = pi.user_id WHERE a.created_at < u.created_at""",
        "row updated before it was created": "SELECT count(*) FROM users WHERE updated_at < created_at",
    }
    assert {name: await _scalar(session, sql) for name, sql in checks.items()} == dict.fromkeys(checks, 0)


# ---- NPQ --------------------------------------------------------------------------------------


async def test_npq_applications_and_participants(session: AsyncSession, settings: Settings) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    # every NPQ provider has pending, accepted and rejected applications in 2022-2024
    complete = await _scalar(
        session,
        """SELECT count(*) FROM (
             SELECT a.npq_lead_provider_id, c.start_year
               FROM npq_applications a JOIN cohorts c ON c.id = a.cohort_id
              WHERE c.start_year BETWEEN 2022 AND 2024 GROUP BY 1, 2
             HAVING count(DISTINCT a.lead_provider_approval_status) = 3) x""",
    )
    assert complete == 10 * 3
    # an accepted application became a training record with the same id, schedule, course and school
    mismatched = await _scalar(
        session,
        """SELECT count(*) FROM npq_applications a LEFT JOIN participant_profiles pp ON pp.id = a.id
            WHERE (a.lead_provider_approval_status = 'accepted') <> (pp.id IS NOT NULL)
               OR (pp.id IS NOT NULL AND (pp.profile_type <> 'npq' OR pp.schedule_id <> a.schedule_id
                   OR pp.npq_course_id <> a.npq_course_id OR pp.school_urn IS DISTINCT FROM a.school_urn
                   OR pp.school_ukprn IS DISTINCT FROM a.school_ukprn
                   OR NOT EXISTS (SELECT 1 FROM participant_profile_states s JOIN npq_lead_providers n
                                    ON n.cpd_lead_provider_id = s.cpd_lead_provider_id
                                  WHERE s.participant_profile_id = pp.id AND s.state = 'active'
                                    AND n.id = a.npq_lead_provider_id)))""",
    )
    assert mismatched == 0
    placements = (
        await session.execute(
            text(
                """SELECT co.identifier, s.schedule_type, s.schedule_identifier, sc.start_year, ac.start_year
                     FROM npq_applications a JOIN npq_courses co ON co.id = a.npq_course_id
                     JOIN schedules s ON s.id = a.schedule_id JOIN cohorts sc ON sc.id = s.cohort_id
                     JOIN cohorts ac ON ac.id = a.cohort_id
                    WHERE a.lead_provider_approval_status = 'accepted'"""
            )
        )
    ).all()
    assert placements
    assert all(kind == NPQ_COURSE_FAMILIES[course].value for course, kind, _, _, _ in placements)
    assert all(schedule_year == year for _, _, _, schedule_year, year in placements)
    schedules = {(course, identifier) for course, _, identifier, _, _ in placements}
    assert {
        ("npq-senior-leadership", "npq-leadership-autumn"),
        ("npq-leading-teaching", "npq-specialist-autumn"),
        ("npq-early-headship-coaching-offer", "npq-ehco-november"),
        ("npq-additional-support-offer", "npq-aso-november"),
    } <= schedules
    # deferred and withdrawn NPQ participants carry the matching state
    for status in ("deferred", "withdrawn"):
        assert (
            await _scalar(
                session,
                """SELECT count(*) FROM participant_profiles pp WHERE pp.profile_type = 'npq'
                    AND pp.training_status = :s AND EXISTS (SELECT 1 FROM participant_profile_states s
                        WHERE s.participant_profile_id = pp.id AND s.state = :s AND s.reason IS NOT NULL)""",
                s=status,
            )
            >= 10
        )
    values = (
        await session.execute(
            text(
                """SELECT array_agg(DISTINCT funding_eligiblity_status_code),
                          array_agg(DISTINCT teacher_catchment),
                          array_agg(DISTINCT headteacher_status), array_agg(DISTINCT funding_choice),
                          bool_or(NOT works_in_school), bool_or(lead_mentor AND itt_provider IS NOT NULL),
                          bool_or(targeted_delivery_funding_eligibility), bool_or(NOT eligible_for_funding),
                          bool_or(works_in_nursery AND private_childcare_provider_urn IS NOT NULL)
                     FROM npq_applications"""
            )
        )
    ).one()
    codes, catchments, headteacher, choices, *flags = values
    assert {"funded", "no_institution", "previously_funded"} <= set(codes)
    assert set(catchments) == {"england", "another"}
    assert {"no", "yes_in_first_two_years", "yes_over_five_years"} <= set(headteacher)
    assert None in choices and len(choices) > 2
    assert all(flags)
    # the previously funded applicant really has an accepted, funded application for that course
    assert (
        await _scalar(
            session,
            """SELECT count(*) FROM npq_applications again JOIN npq_applications before
                 ON before.participant_identity_id = again.participant_identity_id
                AND before.npq_course_id = again.npq_course_id AND before.id <> again.id
              WHERE again.funding_eligiblity_status_code = 'previously_funded'
                AND before.lead_provider_approval_status = 'accepted' AND before.eligible_for_funding""",
        )
        == 10 * 3
    )


# ---- statements -------------------------------------------------------------------------------


async def test_statements(session: AsyncSession, settings: Settings) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    statements = (
        await session.execute(
            select(
                Statement.cpd_lead_provider_id,
                Statement.programme,
                Statement.cohort_id,
                Statement.name,
                Statement.state,
                Statement.deadline_date,
                Statement.payment_date,
                Statement.output_fee,
                Statement.marked_as_paid_at,
            )
        )
    ).all()
    per_series: dict[tuple[Any, ...], int] = {}
    for s in statements:
        per_series[(s.cpd_lead_provider_id, s.programme, s.cohort_id)] = (
            per_series.get((s.cpd_lead_provider_id, s.programme, s.cohort_id), 0) + 1
        )
        assert (s.state == "open") == (s.deadline_date >= TODAY)
        assert s.state != "paid" or s.payment_date < TODAY
        assert (s.marked_as_paid_at is not None) == (s.state == "paid")
        assert s.name == s.payment_date.strftime("%B %Y")
        assert s.deadline_date < s.payment_date
    assert len(per_series) == (6 + 10) * 4 and set(per_series.values()) == {36}
    assert {s.state for s in statements} == {"open", "payable", "paid"}
    # Within a series states only move forward (paid, then payable, then open), and a series still
    # running has a payable output statement once its first output statement is cut off.
    series: dict[tuple[Any, ...], list[Any]] = {}
    for s in sorted(statements, key=lambda s: s.payment_date):
        series.setdefault((s.cpd_lead_provider_id, s.programme, s.cohort_id), []).append(s)
    rank = {"paid": 0, "payable": 1, "open": 2}
    for rows in series.values():
        assert [rank[s.state] for s in rows] == sorted(rank[s.state] for s in rows)
        output = [s for s in rows if s.output_fee]
        if output[0].state != "open" and output[-1].state == "open":
            assert any(s.state == "payable" for s in output)
    assert {s.output_fee for s in statements} == {True, False}
    assert sum(s.output_fee for s in statements) > len(statements) / 2
    assert {s.programme for s in statements} == {ProgrammeType.ECF.value, ProgrammeType.NPQ.value}
    first = (
        await session.execute(
            select(Statement.deadline_date, Statement.payment_date).where(
                Statement.id == ids.statement_id(AMBITION, "ecf", 2021, date(2021, 11, 1))
            )
        )
    ).one()
    assert tuple(first) == (date(2021, 10, 31), date(2021, 11, 25))


# ---- through the API (smoke tests of the seed's purpose) -----------------------------------------


async def test_ambition_sees_pages_of_participants(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    headers = {"Authorization": "Bearer ambition-token"}
    v1 = await client.get("/api/v1/participants/ecf", params={"page[per_page]": "3000"}, headers=headers)
    assert v1.status_code == 200
    assert len(v1.json()["data"]) >= 150
    first = await client.get("/api/v3/participants/ecf", headers=headers)
    second = await client.get("/api/v3/participants/ecf", params={"page[page]": "2"}, headers=headers)
    assert len(first.json()["data"]) == 100 and second.json()["data"]
    assert not {d["id"] for d in first.json()["data"]} & {d["id"] for d in second.json()["data"]}
    assert_matches_spec("v3", "get", "/api/v3/participants/ecf", 200, first.json())
    assert_matches_spec("v1", "get", "/api/v1/participants/ecf", 200, v1.json())


async def test_scenarios_through_the_api(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    response = await client.get(
        "/api/v3/participants/ecf",
        params={"page[per_page]": "3000"},
        headers={"Authorization": "Bearer ambition-token"},
    )
    participants = response.json()["data"]
    enrolments = [e for p in participants for e in p["attributes"]["ecf_enrolments"]]
    assert {e["training_status"] for e in enrolments} == {"active", "deferred", "withdrawn"}
    assert {e["participant_status"] for e in enrolments} == {
        "active",
        "joining",
        "leaving",
        "left",
        "withdrawn",
    }
    assert {e["cohort"] for e in enrolments} == {"2021", "2022", "2023", "2024"}
    assert any(e["withdrawal"] for e in enrolments) and any(e["deferral"] for e in enrolments)
    assert any(e["pupil_premium_uplift"] and e["sparsity_uplift"] for e in enrolments)
    assert any(e["induction_end_date"] for e in enrolments)
    assert {e["eligible_for_funding"] for e in enrolments} == {True, False, None}
    assert any(len(p["attributes"]["ecf_enrolments"]) == 2 for p in participants)  # ECT became mentor
    assert any(p["attributes"]["participant_id_changes"] for p in participants)


async def test_declarations_in_every_state_are_visible(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    # Declarations are read, not judged against the clock, so a fixed day keeps this stable.
    await seed_sandbox(session, settings=settings, today=TODAY)
    response = await client.get(
        "/api/v3/participant-declarations",
        params={"page[per_page]": "3000"},
        headers={"Authorization": "Bearer ambition-token"},
    )
    declarations = [d["attributes"] for d in response.json()["data"]]
    every_state = {
        "submitted",
        "eligible",
        "payable",
        "paid",
        "awaiting-clawback",
        "clawed-back",
        "voided",
    }
    ecf = [d for d in declarations if d["course_identifier"].startswith("ecf-")]
    npq = [d for d in declarations if d["course_identifier"].startswith("npq-")]
    assert {d["state"] for d in ecf} == every_state | {"ineligible"}
    assert {d["state"] for d in npq} == every_state
    billable = ("eligible", "payable", "paid", "awaiting-clawback", "clawed-back")
    assert all(d["statement_id"] for d in declarations if d["state"] in billable)
    refunds = ("awaiting-clawback", "clawed-back")
    assert all(d["clawback_statement_id"] for d in declarations if d["state"] in refunds)
    assert not any(d["clawback_statement_id"] for d in declarations if d["state"] not in refunds)
    assert not any(
        d["statement_id"] for d in declarations if d["state"] in ("submitted", "voided", "ineligible")
    )
    assert {d["ineligible_for_funding_reason"] for d in declarations if d["state"] == "ineligible"} == {
        "duplicate_declaration"
    }
    assert any(d["uplift_paid"] for d in declarations)
    completed = [d for d in npq if d["declaration_type"] == "completed"]
    assert {d["has_passed"] for d in completed} == {True, False}
    assert all(d["has_passed"] is None for d in npq if d["declaration_type"] == "started")

    # Participants who moved here bring the live declarations their previous provider made.
    inherited = [d for d in ecf if d["lead_provider_name"] != "Ambition Institute"]
    assert inherited and {d["state"] for d in inherited} == {"paid"}

    # The statements a provider sees hold its own declarations.
    own = [d for d in declarations if d["lead_provider_name"] == "Ambition Institute"]
    statement_ids = {d["statement_id"] for d in own if d["statement_id"]}
    listed = await client.get(
        "/api/v3/statements",
        params={"page[per_page]": "3000"},
        headers={"Authorization": "Bearer ambition-token"},
    )
    assert statement_ids <= {s["id"] for s in listed.json()["data"]}
    paid = {s["id"]: s["attributes"]["paid"] for s in listed.json()["data"]}
    assert all(paid[d["statement_id"]] for d in own if d["state"] in ("paid", "clawed-back"))
    assert not any(paid[d["statement_id"]] for d in own if d["state"] in ("eligible", "payable"))


async def test_reference_seed_alone_is_idempotent(session: AsyncSession) -> None:
    first = await seed_reference_data(session)
    assert +first.inserted == build_reference().counts()
    assert (await seed_reference_data(session)).total == 0


async def test_every_v3_ecf_resource_has_sandbox_data(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    headers = {"Authorization": "Bearer ambition-token"}

    async def data(path: str, **params: str) -> list[dict[str, Any]]:
        response = await client.get(path, params={"page[per_page]": "3000", **params}, headers=headers)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["data"]
        return rows

    schools = await data("/api/v3/schools/ecf", **{"filter[cohort]": "2023"})
    assert {s["attributes"]["in_partnership"] for s in schools} == {True, False}
    partnerships = await data("/api/v3/partnerships/ecf")
    assert "challenged" in {p["attributes"]["status"] for p in partnerships}
    assert await data("/api/v3/delivery-partners")
    transfers = [
        t for p in await data("/api/v3/participants/ecf/transfers") for t in p["attributes"]["transfers"]
    ]
    ambition = "Ambition Institute"
    assert any(
        t["leaving"]["provider"] == ambition and t["transfer_type"] == "new_provider" for t in transfers
    )
    assert any(
        (t["joining"] or {}).get("provider") == ambition and t["transfer_type"] == "new_provider"
        for t in transfers
    )
    assert await data("/api/v3/unfunded-mentors/ecf")


# ---- planner statistics during the load ---------------------------------------------------------


async def _reltuples(conn: AsyncConnection | AsyncSession, table: str) -> tuple[int, float]:
    sql = "SELECT relpages, reltuples FROM pg_class WHERE oid = to_regclass(:t)"
    row = (await conn.execute(text(sql), {"t": table})).one()
    return int(row[0]), float(row[1])


async def test_each_filled_table_is_analysed_before_its_children_are_inserted(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    report = await seed_reference_data(session)
    # seed_reference_data has no closing ANALYZE: what is seen here comes from the per-table ones.
    tables = ("cohorts", "schedules", "milestones", "npq_courses")
    for table in tables:
        assert report.inserted[table] > 0
        assert (await _reltuples(session, table))[1] == report.inserted[table], table
    # ...and until the seed's transaction ends no other session (autovacuum) can analyse or vacuum
    # them, which would record them as empty again: the seed's rows are not committed yet.
    async with engine.connect() as other:
        for table in tables:
            await other.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(DBAPIError, match="lock timeout"):
                await other.execute(text(f"ANALYZE {table}"))
            await other.rollback()


async def test_the_seed_copes_with_tables_recorded_as_empty(settings: Settings, engine: AsyncEngine) -> None:
    """A test database full of rolled-back rows that VACUUM or ANALYZE recorded as empty.

    pg_class then says 0 rows on N pages, so every size estimate is 0 whatever the table holds; the
    seed's trigger statements were planned as joins reading whole indexes per row, and the seed ran
    for tens of minutes (the watchdog fails this test if it hangs).
    """
    tables = ", ".join(table.name for table in SEEDABLE_TABLES)

    async def seed_and_roll_back() -> SeedReport:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            try:
                async with AsyncSession(bind=conn, join_transaction_mode="create_savepoint") as session:
                    return await seed_sandbox(session, settings=settings, today=TODAY)
            finally:
                await transaction.rollback()

    try:
        await seed_and_roll_back()
        async with engine.connect() as conn:
            await conn.execute(text(f"ANALYZE {tables}"))
            await conn.commit()
            for table in ("users", "participant_identities", "participant_profiles"):
                pages, rows = await _reltuples(conn, table)
                assert pages > 0 and rows == 0, (table, pages, rows)  # the state this test is about
        report = await seed_and_roll_back()
        built = build_sandbox(settings=settings, today=TODAY).rows.counts()
        assert report.inserted["participant_profiles"] == built["participant_profiles"]
    finally:
        # Leave the tables as later tests expect them: dead rows gone, no stale "empty" record.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"VACUUM (ANALYZE) {tables}"))
