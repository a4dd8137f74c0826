"""the inherited declarations themselves, kept beside their training records

A provider's declaration list includes other providers' live ECF declarations for training records
now active under its partnerships. Since 0021 a page read the provider's kept (provider, training
record) pairs and then probed each record's live declarations: at the national volume 720 records
and 3,590 declarations, ~2 ms of every page's ~3.3 ms of database work, the first page included,
since the inherited part must be sorted whole before its first rows are known.

`ecf_inherited_declarations` holds those declarations (provider, training record, declaration,
creation time) in list order, so a page reads the first rows of an index. It is refreshed wherever
the pairs are, per training record and under the same advisory locks: the pairs' refresh (called
by the latest induction records' refresh and by declaration deletes and updates) recomputes both,
and a new live declaration adds its rows. The update trigger on declarations now also fires when a
declaration's creation time changes (the list order).

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "('submitted', 'eligible', 'payable', 'paid')"
PAIR_COLUMNS = "lead_provider_id, participant_profile_id"
COLUMNS = "lead_provider_id, participant_profile_id, participant_declaration_id, created_at"

# The rule from scratch (the pairs' rule, then their live declarations by other providers).
SOURCE_VIEW = f"""
CREATE VIEW ecf_inherited_declarations_source AS
SELECT x.lead_provider_id, d.participant_profile_id, d.id AS participant_declaration_id, d.created_at
  FROM ecf_inherited_declaration_profiles_source x
  JOIN lead_providers lp ON lp.id = x.lead_provider_id
  JOIN participant_declarations d ON d.participant_profile_id = x.participant_profile_id
 WHERE d.programme = 'ecf'
   AND d.state IN {LIVE}
   AND d.cpd_lead_provider_id <> lp.cpd_lead_provider_id
"""

# The same from the kept pairs of some training records (what the triggers use).
_FROM_PAIRS = f"""
    SELECT x.lead_provider_id, d.participant_profile_id, d.id, d.created_at
      FROM ecf_inherited_declaration_profiles x
      JOIN lead_providers lp ON lp.id = x.lead_provider_id
      JOIN participant_declarations d ON d.participant_profile_id = x.participant_profile_id
     WHERE x.participant_profile_id = ANY({{profiles}})
       AND d.programme = 'ecf'
       AND d.state IN {LIVE}
       AND d.cpd_lead_provider_id <> lp.cpd_lead_provider_id"""


def _refresh(with_declarations: bool) -> str:
    declarations = (
        f"""
    DELETE FROM ecf_inherited_declarations WHERE participant_profile_id = ANY(profile_ids);
    INSERT INTO ecf_inherited_declarations ({COLUMNS}){_FROM_PAIRS.format(profiles="profile_ids")};"""
        if with_declarations
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION cpd_refresh_inherited_declaration_profiles(profile_ids uuid[])
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
    INSERT INTO ecf_inherited_declaration_profiles ({PAIR_COLUMNS})
    SELECT {PAIR_COLUMNS} FROM ecf_inherited_declaration_profiles_source
     WHERE participant_profile_id = ANY(profile_ids);{declarations}
END $$;
"""


def _inserted(with_declarations: bool) -> str:
    declarations = (
        f"""
        INSERT INTO ecf_inherited_declarations ({COLUMNS}){_FROM_PAIRS.format(profiles="profiles")}
        ON CONFLICT DO NOTHING;"""
        if with_declarations
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION cpd_inherited_from_declarations_inserted() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profiles uuid[];
BEGIN
    profiles := ARRAY(SELECT DISTINCT participant_profile_id FROM new_rows
                       WHERE programme = 'ecf' AND state IN {LIVE} ORDER BY 1);
    IF cardinality(profiles) > 0 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('latest-induction-records:' || p, 0))
           FROM unnest(profiles) AS p;
        INSERT INTO ecf_inherited_declaration_profiles ({PAIR_COLUMNS})
        SELECT {PAIR_COLUMNS} FROM ecf_inherited_declaration_profiles_source
         WHERE participant_profile_id = ANY(profiles)
        ON CONFLICT DO NOTHING;{declarations}
    END IF;
    RETURN NULL;
END $$;
"""


def _update_trigger(with_created_at: bool) -> str:
    created_at = "\n        OR OLD.created_at IS DISTINCT FROM NEW.created_at" if with_created_at else ""
    return f"""
CREATE TRIGGER trg_cpd_inherited_from_declaration AFTER UPDATE ON participant_declarations
FOR EACH ROW WHEN (
    (OLD.programme = 'ecf' OR NEW.programme = 'ecf')
    AND (
        OLD.participant_profile_id IS DISTINCT FROM NEW.participant_profile_id
        OR OLD.cpd_lead_provider_id IS DISTINCT FROM NEW.cpd_lead_provider_id
        OR OLD.programme IS DISTINCT FROM NEW.programme
        OR (OLD.state IN {LIVE}) IS DISTINCT FROM (NEW.state IN {LIVE}){created_at}
    )
)
EXECUTE FUNCTION cpd_inherited_from_declaration()
"""


# Migration 0024's rebuild, frozen here; the upgrade adds the inherited declarations to it.
LATEST_COLUMNS = (
    "lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id, rank, "
    "schedule_id, training_status, mentor_profile_id, user_id, user_created_at, profile_created_at"
)
TRANSFER_COLUMNS = "lead_provider_id, participant_profile_id, user_id, user_created_at"


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
    INSERT INTO ecf_inherited_declaration_profiles ({PAIR_COLUMNS})
    SELECT {PAIR_COLUMNS} FROM ecf_inherited_declaration_profiles_source;{extra}
    LOCK TABLE ecf_unfunded_mentors IN EXCLUSIVE MODE;
    DELETE FROM ecf_unfunded_mentors;
    INSERT INTO ecf_unfunded_mentors (lead_provider_id, mentor_profile_id)
    SELECT lead_provider_id, mentor_profile_id FROM ecf_unfunded_mentors_source;
END $$;
"""


REBUILD_EXTRA = f"""
    LOCK TABLE ecf_inherited_declarations IN EXCLUSIVE MODE;
    DELETE FROM ecf_inherited_declarations;
    INSERT INTO ecf_inherited_declarations ({COLUMNS})
    SELECT {COLUMNS} FROM ecf_inherited_declarations_source;"""


def upgrade() -> None:
    op.create_table(
        "ecf_inherited_declarations",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("participant_profile_id", sa.UUID(), nullable=False),
        sa.Column("participant_declaration_id", sa.UUID(), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "lead_provider_id", "participant_declaration_id", name=op.f("pk_ecf_inherited_declarations")
        ),
    )
    op.create_index(
        "ix_ecf_inherited_declarations_list_order",
        "ecf_inherited_declarations",
        ["lead_provider_id", "created_at", "participant_declaration_id"],
    )
    op.create_index(
        "ix_ecf_inherited_declarations_profile", "ecf_inherited_declarations", ["participant_profile_id"]
    )
    op.execute("ALTER TABLE ecf_inherited_declarations SET (autovacuum_vacuum_scale_factor = 0.02)")
    op.execute(SOURCE_VIEW)
    op.execute(_refresh(with_declarations=True))
    op.execute(_inserted(with_declarations=True))
    op.execute("DROP TRIGGER trg_cpd_inherited_from_declaration ON participant_declarations")
    op.execute(_update_trigger(with_created_at=True))
    op.execute(_rebuild(REBUILD_EXTRA))
    op.execute(
        f"INSERT INTO ecf_inherited_declarations ({COLUMNS}) SELECT {COLUMNS} FROM ecf_inherited_declarations_source"
    )


def downgrade() -> None:
    op.execute(_rebuild(""))
    op.execute("DROP TRIGGER trg_cpd_inherited_from_declaration ON participant_declarations")
    op.execute(_update_trigger(with_created_at=False))
    op.execute(_inserted(with_declarations=False))
    op.execute(_refresh(with_declarations=False))
    op.execute("DROP VIEW ecf_inherited_declarations_source")
    op.drop_table("ecf_inherited_declarations")
