"""training records whose live ECF declarations another provider sees, kept by triggers

An ECF provider's declaration list includes the live ECF declarations other providers made for
training records that now have an active induction record under one of its partnerships (a
participant who moved to it). Every page looked for them by reading all live ECF declarations of
every other provider (153,000 at the national volume, ~30 ms of a ~40 ms page), although such
training records are few.

`ecf_inherited_declaration_profiles` holds the (lead provider, training record) pairs where that
happens: the record is active under one of the provider's partnerships and has a live ECF
declaration by another provider. A page reads the provider's pairs, then those records' live
declarations by index; the page still checks every condition per declaration, the table only says
where to look.

The pairs depend on induction records (status, programme, training record), the programme's
partnership and the partnership's provider, which already refresh the latest induction records
per training record under per-record advisory locks: that refresh now also refreshes these pairs.
On the declaration side, inserting live ECF declarations adds their training records' pairs
(a new declaration can only add pairs) and deleting them refreshes those records, once per
statement; an update refreshes per row, only when it changes the record, the provider, the
programme or whether the declaration is live (not on eligible -> payable -> paid).
Both sides take the same per-record advisory lock, so a declaration and a move of its participant
committed at the same time are each seen by the other's refresh. A lead provider's cpd provider
never changes (nothing writes lead_providers.cpd_lead_provider_id), so it has no trigger.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "('submitted', 'eligible', 'payable', 'paid')"

# The rule, for any set of training records (a filter on participant_profile_id is pushed below the
# DISTINCT, which includes it).
SOURCE_VIEW = f"""
CREATE VIEW ecf_inherited_declaration_profiles_source AS
SELECT DISTINCT p.lead_provider_id, ir.participant_profile_id
  FROM induction_records ir
  JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
  JOIN partnerships p ON p.id = ip.partnership_id
  JOIN lead_providers lp ON lp.id = p.lead_provider_id
 WHERE ir.induction_status = 'active'
   AND EXISTS (
       SELECT 1 FROM participant_declarations d
        WHERE d.participant_profile_id = ir.participant_profile_id
          AND d.programme = 'ecf'
          AND d.state IN {LIVE}
          AND d.cpd_lead_provider_id <> lp.cpd_lead_provider_id
   )
"""

COLUMNS = "lead_provider_id, participant_profile_id"

REFRESH = f"""
CREATE FUNCTION cpd_refresh_inherited_declaration_profiles(profile_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profile_id uuid;
BEGIN
    -- The latest induction records' lock per training record (already held when that refresh
    -- calls this one; advisory locks are re-entrant within a transaction).
    FOR profile_id IN
        SELECT DISTINCT x FROM unnest(profile_ids) AS x WHERE x IS NOT NULL ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('latest-induction-records:' || profile_id, 0));
    END LOOP;
    DELETE FROM ecf_inherited_declaration_profiles WHERE participant_profile_id = ANY(profile_ids);
    INSERT INTO ecf_inherited_declaration_profiles ({COLUMNS})
    SELECT {COLUMNS} FROM ecf_inherited_declaration_profiles_source
     WHERE participant_profile_id = ANY(profile_ids);
END $$;
"""

# One statement each (a prepared statement holds one command).
DECLARATION_TRIGGERS = (
    # A new live declaration can only add pairs: after the records' locks (in order), the pairs
    # of those records are inserted, and nothing needs deleting (every declaration POST runs this).
    f"""
CREATE FUNCTION cpd_inherited_from_declarations_inserted() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profiles uuid[];
BEGIN
    profiles := ARRAY(SELECT DISTINCT participant_profile_id FROM new_rows
                       WHERE programme = 'ecf' AND state IN {LIVE} ORDER BY 1);
    IF cardinality(profiles) > 0 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('latest-induction-records:' || p, 0))
           FROM unnest(profiles) AS p;
        INSERT INTO ecf_inherited_declaration_profiles ({COLUMNS})
        SELECT {COLUMNS} FROM ecf_inherited_declaration_profiles_source
         WHERE participant_profile_id = ANY(profiles)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
""",
    f"""
CREATE FUNCTION cpd_inherited_from_declarations_deleted() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profiles uuid[];
BEGIN
    profiles := ARRAY(SELECT DISTINCT participant_profile_id FROM old_rows
                       WHERE programme = 'ecf' AND state IN {LIVE});
    IF cardinality(profiles) > 0 THEN
        PERFORM cpd_refresh_inherited_declaration_profiles(profiles);
    END IF;
    RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION cpd_inherited_from_declaration() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    PERFORM cpd_refresh_inherited_declaration_profiles(
        ARRAY[OLD.participant_profile_id, NEW.participant_profile_id]);
    RETURN NULL;
END $$;
""",
    """
CREATE TRIGGER trg_cpd_inherited_from_declarations_inserted AFTER INSERT ON participant_declarations
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION cpd_inherited_from_declarations_inserted()
""",
    """
CREATE TRIGGER trg_cpd_inherited_from_declarations_deleted AFTER DELETE ON participant_declarations
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION cpd_inherited_from_declarations_deleted()
""",
    f"""
CREATE TRIGGER trg_cpd_inherited_from_declaration AFTER UPDATE ON participant_declarations
FOR EACH ROW WHEN (
    (OLD.programme = 'ecf' OR NEW.programme = 'ecf')
    AND (
        OLD.participant_profile_id IS DISTINCT FROM NEW.participant_profile_id
        OR OLD.cpd_lead_provider_id IS DISTINCT FROM NEW.cpd_lead_provider_id
        OR OLD.programme IS DISTINCT FROM NEW.programme
        OR (OLD.state IN {LIVE}) IS DISTINCT FROM (NEW.state IN {LIVE})
    )
)
EXECUTE FUNCTION cpd_inherited_from_declaration()
""",
)

DROP_DECLARATION_TRIGGERS = (
    "DROP TRIGGER trg_cpd_inherited_from_declaration ON participant_declarations",
    "DROP TRIGGER trg_cpd_inherited_from_declarations_deleted ON participant_declarations",
    "DROP TRIGGER trg_cpd_inherited_from_declarations_inserted ON participant_declarations",
    "DROP FUNCTION cpd_inherited_from_declaration()",
    "DROP FUNCTION cpd_inherited_from_declarations_deleted()",
    "DROP FUNCTION cpd_inherited_from_declarations_inserted()",
)

# Migration 0019's versions of 0013's refresh and rebuild, frozen here: the upgrade adds these
# pairs to each, the downgrade restores them as 0019 left them.
LATEST_COLUMNS = (
    "lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id, rank, "
    "schedule_id, training_status, mentor_profile_id, user_id, user_created_at, profile_created_at"
)
TRANSFER_COLUMNS = "lead_provider_id, participant_profile_id, user_id, user_created_at"


def _refresh_latest(extra: str) -> str:
    return f"""
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
    PERFORM cpd_refresh_transfer_participants(profile_ids);{extra}
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
    SELECT {TRANSFER_COLUMNS} FROM ecf_transfer_participants_source;{extra}
END $$;
"""


REFRESH_EXTRA = "\n    PERFORM cpd_refresh_inherited_declaration_profiles(profile_ids);"
REBUILD_EXTRA = f"""
    LOCK TABLE ecf_inherited_declaration_profiles IN EXCLUSIVE MODE;
    DELETE FROM ecf_inherited_declaration_profiles;
    INSERT INTO ecf_inherited_declaration_profiles ({COLUMNS})
    SELECT {COLUMNS} FROM ecf_inherited_declaration_profiles_source;"""


def upgrade() -> None:
    op.create_table(
        "ecf_inherited_declaration_profiles",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("participant_profile_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint(
            "lead_provider_id", "participant_profile_id", name=op.f("pk_ecf_inherited_declaration_profiles")
        ),
    )
    op.create_index(
        "ix_ecf_inherited_declaration_profiles_profile",
        "ecf_inherited_declaration_profiles",
        ["participant_profile_id"],
    )
    op.execute(SOURCE_VIEW)
    op.execute(REFRESH)
    op.execute(_refresh_latest(REFRESH_EXTRA))
    op.execute(_rebuild(REBUILD_EXTRA))
    for statement in DECLARATION_TRIGGERS:
        op.execute(statement)
    op.execute(
        f"INSERT INTO ecf_inherited_declaration_profiles ({COLUMNS}) SELECT {COLUMNS}"
        " FROM ecf_inherited_declaration_profiles_source"
    )


def downgrade() -> None:
    for statement in DROP_DECLARATION_TRIGGERS:
        op.execute(statement)
    op.execute(_rebuild(""))
    op.execute(_refresh_latest(""))
    op.execute("DROP FUNCTION cpd_refresh_inherited_declaration_profiles(uuid[])")
    op.execute("DROP VIEW ecf_inherited_declaration_profiles_source")
    op.drop_index(
        "ix_ecf_inherited_declaration_profiles_profile", table_name="ecf_inherited_declaration_profiles"
    )
    op.drop_table("ecf_inherited_declaration_profiles")
