"""each ECF provider's unfunded mentors, kept with its latest induction records

A provider's unfunded mentors are the training records named as mentor by its latest induction
records that have no latest record with it themselves. Every page of `unfunded-mentors/ecf` found
them again: all mentors named by the provider's latest records (26,640 references to 14,880
mentors for the largest provider at the national volume), less those training with it (47,280
records hashed), about 8 ms of each ~30 ms page, whatever its size.

`ecf_unfunded_mentors` keeps the (lead provider, mentor) pairs. They depend on the latest induction
records alone, whose refresh (one function, every change goes through it) now notes, before and
after rewriting a training record's rows, which (provider, record, named mentor) facts it holds;
only when those differ (a placement, a mentor change, a record moving provider: not a training
status change) does it recompute the pairs they touch: (provider, record) for the record as a
mentor, (provider, mentor) for the mentor it names. A pair is recomputed under its own advisory
lock, taken in order, so two transactions changing the records that name one mentor see each
other's change: the later waits for the earlier's commit.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule over every provider (the tests compare the table with it).
SOURCE_VIEW = """
CREATE VIEW ecf_unfunded_mentors_source AS
SELECT DISTINCT l.lead_provider_id, l.mentor_profile_id
  FROM ecf_latest_induction_records l
 WHERE l.rank = 1 AND l.mentor_profile_id IS NOT NULL
   AND NOT EXISTS (
       SELECT 1 FROM ecf_latest_induction_records own
        WHERE own.lead_provider_id = l.lead_provider_id
          AND own.participant_profile_id = l.mentor_profile_id
   )
"""

# The same rule for given (provider, mentor) pairs, each answered from the indexes.
REFRESH = """
CREATE FUNCTION cpd_refresh_unfunded_mentors(provider_ids uuid[], mentor_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('unfunded-mentor:' || p || ':' || m, 0))
       FROM (SELECT DISTINCT p, m FROM unnest(provider_ids, mentor_ids) AS x(p, m)
              WHERE p IS NOT NULL AND m IS NOT NULL ORDER BY 1, 2) pairs;
    DELETE FROM ecf_unfunded_mentors u
     USING unnest(provider_ids, mentor_ids) AS x(p, m)
     WHERE u.lead_provider_id = x.p AND u.mentor_profile_id = x.m;
    INSERT INTO ecf_unfunded_mentors (lead_provider_id, mentor_profile_id)
    SELECT DISTINCT x.p, x.m FROM unnest(provider_ids, mentor_ids) AS x(p, m)
     WHERE x.p IS NOT NULL AND x.m IS NOT NULL
       AND EXISTS (SELECT 1 FROM ecf_latest_induction_records l
                    WHERE l.lead_provider_id = x.p AND l.mentor_profile_id = x.m AND l.rank = 1)
       AND NOT EXISTS (SELECT 1 FROM ecf_latest_induction_records own
                        WHERE own.lead_provider_id = x.p AND own.participant_profile_id = x.m);
END $$;
"""

LATEST_COLUMNS = (
    "lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id, rank, "
    "schedule_id, training_status, mentor_profile_id, user_id, user_created_at, profile_created_at"
)
TRANSFER_COLUMNS = "lead_provider_id, participant_profile_id, user_id, user_created_at"
INHERITED_COLUMNS = "lead_provider_id, participant_profile_id"

# What the unfunded mentors depend on in a training record's rows, in a fixed order.
FACTS = """
    SELECT array_agg(lead_provider_id ORDER BY lead_provider_id, participant_profile_id, rank),
           array_agg(participant_profile_id ORDER BY lead_provider_id, participant_profile_id, rank),
           array_agg(CASE WHEN rank = 1 THEN mentor_profile_id END
                     ORDER BY lead_provider_id, participant_profile_id, rank)
      FROM ecf_latest_induction_records WHERE participant_profile_id = ANY(profile_ids)"""

# 0013's refresh as 0019 and 0021 left it, frozen in both versions: the downgrade restores the first.
REFRESH_LATEST_0021 = f"""
CREATE OR REPLACE FUNCTION cpd_refresh_latest_induction_records(profile_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profile_id uuid;
BEGIN
    FOR profile_id IN
        SELECT DISTINCT x FROM unnest(profile_ids) AS x WHERE x IS NOT NULL ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('latest-induction-records:' || profile_id, 0));
    END LOOP;
    DELETE FROM ecf_latest_induction_records WHERE participant_profile_id = ANY(profile_ids);
    INSERT INTO ecf_latest_induction_records ({LATEST_COLUMNS})
    SELECT {LATEST_COLUMNS} FROM ecf_latest_induction_records_source
     WHERE participant_profile_id = ANY(profile_ids);
    PERFORM cpd_refresh_transfer_participants(profile_ids);
    PERFORM cpd_refresh_inherited_declaration_profiles(profile_ids);
END $$;
"""

REFRESH_LATEST = f"""
CREATE OR REPLACE FUNCTION cpd_refresh_latest_induction_records(profile_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profile_id uuid;
    old_providers uuid[];
    old_records uuid[];
    old_mentors uuid[];
    new_providers uuid[];
    new_records uuid[];
    new_mentors uuid[];
BEGIN
    FOR profile_id IN
        SELECT DISTINCT x FROM unnest(profile_ids) AS x WHERE x IS NOT NULL ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('latest-induction-records:' || profile_id, 0));
    END LOOP;
    {FACTS.strip()}
      INTO old_providers, old_records, old_mentors;
    DELETE FROM ecf_latest_induction_records WHERE participant_profile_id = ANY(profile_ids);
    INSERT INTO ecf_latest_induction_records ({LATEST_COLUMNS})
    SELECT {LATEST_COLUMNS} FROM ecf_latest_induction_records_source
     WHERE participant_profile_id = ANY(profile_ids);
    PERFORM cpd_refresh_transfer_participants(profile_ids);
    PERFORM cpd_refresh_inherited_declaration_profiles(profile_ids);
    {FACTS.strip()}
      INTO new_providers, new_records, new_mentors;
    IF old_providers IS DISTINCT FROM new_providers OR old_records IS DISTINCT FROM new_records
       OR old_mentors IS DISTINCT FROM new_mentors THEN
        -- Each record as a possible mentor of its providers, and the mentors it names.
        PERFORM cpd_refresh_unfunded_mentors(
            coalesce(old_providers, '{{}}') || coalesce(old_providers, '{{}}')
                || coalesce(new_providers, '{{}}') || coalesce(new_providers, '{{}}'),
            coalesce(old_records, '{{}}') || coalesce(old_mentors, '{{}}')
                || coalesce(new_records, '{{}}') || coalesce(new_mentors, '{{}}'));
    END IF;
END $$;
"""


def _rebuild(extra: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION cpd_rebuild_latest_induction_records()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ecf_latest_induction_records IN EXCLUSIVE MODE;
    DELETE FROM ecf_latest_induction_records;
    INSERT INTO ecf_latest_induction_records ({LATEST_COLUMNS})
    SELECT {LATEST_COLUMNS} FROM ecf_latest_induction_records_source;
    LOCK TABLE ecf_transfer_participants IN EXCLUSIVE MODE;
    DELETE FROM ecf_transfer_participants;
    INSERT INTO ecf_transfer_participants ({TRANSFER_COLUMNS})
    SELECT {TRANSFER_COLUMNS} FROM ecf_transfer_participants_source;
    LOCK TABLE ecf_inherited_declaration_profiles IN EXCLUSIVE MODE;
    DELETE FROM ecf_inherited_declaration_profiles;
    INSERT INTO ecf_inherited_declaration_profiles ({INHERITED_COLUMNS})
    SELECT {INHERITED_COLUMNS} FROM ecf_inherited_declaration_profiles_source;{extra}
END $$;
"""


REBUILD_EXTRA = """
    LOCK TABLE ecf_unfunded_mentors IN EXCLUSIVE MODE;
    DELETE FROM ecf_unfunded_mentors;
    INSERT INTO ecf_unfunded_mentors (lead_provider_id, mentor_profile_id)
    SELECT lead_provider_id, mentor_profile_id FROM ecf_unfunded_mentors_source;"""


def upgrade() -> None:
    op.create_table(
        "ecf_unfunded_mentors",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("mentor_profile_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint(
            "lead_provider_id", "mentor_profile_id", name=op.f("pk_ecf_unfunded_mentors")
        ),
    )
    op.execute("ALTER TABLE ecf_unfunded_mentors SET (autovacuum_vacuum_scale_factor = 0.02)")
    op.execute(SOURCE_VIEW)
    op.execute(REFRESH)
    op.execute(REFRESH_LATEST)
    op.execute(_rebuild(REBUILD_EXTRA))
    op.execute(
        "INSERT INTO ecf_unfunded_mentors (lead_provider_id, mentor_profile_id)"
        " SELECT lead_provider_id, mentor_profile_id FROM ecf_unfunded_mentors_source"
    )


def downgrade() -> None:
    op.execute(_rebuild(""))
    op.execute(REFRESH_LATEST_0021)
    op.execute("DROP FUNCTION cpd_refresh_unfunded_mentors(uuid[], uuid[])")
    op.execute("DROP VIEW ecf_unfunded_mentors_source")
    op.drop_table("ecf_unfunded_mentors")
