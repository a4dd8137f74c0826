"""each provider's training records with a transfer, kept by the latest-records triggers

A v3 transfers page found its participants by recomputing, for every page, the provider's whole
transfer set: every leaving or school-transfer induction record under the provider's partnerships
whose training record also has a leaving record (about 10,000 records and four index probes each
for the largest provider at the national volume, 230-340 ms a page whatever the page size).

`ecf_transfer_participants` holds that set, per provider and training record, with the user and
the user's creation time the list pages on, so a page is one index range. It depends on the same
tables as `ecf_latest_induction_records` (induction records, the programme's partnership, the
partnership's provider, a merge moving identities or profiles between users, the user's creation
time), so the refresh those triggers already call refreshes both, under the same per-record
advisory locks; the induction record update trigger now also reacts to the two columns the
transfer rule reads (induction_status, school_transfer). Challenged partnerships count here,
as they always did for transfers.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule, for any set of training records (a filter on participant_profile_id is pushed below the
# DISTINCT, which includes it).
SOURCE_VIEW = """
CREATE VIEW ecf_transfer_participants_source AS
SELECT DISTINCT p.lead_provider_id, ir.participant_profile_id, pi.user_id, u.created_at AS user_created_at
  FROM induction_records ir
  JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
  JOIN partnerships p ON p.id = ip.partnership_id
  JOIN participant_profiles pp ON pp.id = ir.participant_profile_id
  JOIN participant_identities pi ON pi.id = pp.participant_identity_id
  JOIN users u ON u.id = pi.user_id
 WHERE (ir.school_transfer OR ir.induction_status = 'leaving')
   AND EXISTS (
       SELECT 1 FROM induction_records lv
        WHERE lv.participant_profile_id = ir.participant_profile_id AND lv.induction_status = 'leaving'
   )
"""

TRANSFER_COLUMNS = "lead_provider_id, participant_profile_id, user_id, user_created_at"

REFRESH_TRANSFERS = f"""
CREATE FUNCTION cpd_refresh_transfer_participants(profile_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    DELETE FROM ecf_transfer_participants WHERE participant_profile_id = ANY(profile_ids);
    INSERT INTO ecf_transfer_participants ({TRANSFER_COLUMNS})
    SELECT {TRANSFER_COLUMNS} FROM ecf_transfer_participants_source
     WHERE participant_profile_id = ANY(profile_ids);
END $$;
"""

# Migration 0013's functions, frozen here: the upgrade adds the transfer set to each, the
# downgrade restores them as they were.
LATEST_COLUMNS = (
    "lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id, rank, "
    "schedule_id, training_status, mentor_profile_id, user_id, user_created_at, profile_created_at"
)


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
     WHERE participant_profile_id = ANY(profile_ids);{extra}
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
    SELECT {LATEST_COLUMNS} FROM ecf_latest_induction_records_source;{extra}
END $$;
"""


REFRESH_EXTRA = "\n    PERFORM cpd_refresh_transfer_participants(profile_ids);"
REBUILD_EXTRA = f"""
    LOCK TABLE ecf_transfer_participants IN EXCLUSIVE MODE;
    DELETE FROM ecf_transfer_participants;
    INSERT INTO ecf_transfer_participants ({TRANSFER_COLUMNS})
    SELECT {TRANSFER_COLUMNS} FROM ecf_transfer_participants_source;"""

# Migration 0015's statement trigger on updated induction records, with the columns it compares.
LATEST_RULE_COLUMNS = (
    "participant_profile_id",
    "induction_programme_id",
    "schedule_id",
    "start_date",
    "end_date",
    "created_at",
    "training_status",
    "mentor_profile_id",
)
TRANSFER_RULE_COLUMNS = ("induction_status", "school_transfer")


def _records_updated(columns: Sequence[str]) -> str:
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns)
    return f"""
CREATE OR REPLACE FUNCTION cpd_latest_from_records_updated() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    profiles uuid[];
BEGIN
    profiles := ARRAY(SELECT unnest(ARRAY[o.participant_profile_id, n.participant_profile_id])
                        FROM old_rows o FULL JOIN new_rows n ON n.id = o.id
                       WHERE o.id IS NULL OR n.id IS NULL OR {changed});
    IF cardinality(profiles) > 0 THEN
        PERFORM cpd_refresh_latest_induction_records(profiles);
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "ecf_transfer_participants",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("participant_profile_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("user_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "lead_provider_id", "participant_profile_id", name=op.f("pk_ecf_transfer_participants")
        ),
    )
    # A provider's users in list order (creation, then id), read from the index alone.
    op.create_index(
        "ix_ecf_transfer_participants_list_order",
        "ecf_transfer_participants",
        ["lead_provider_id", "user_created_at", "user_id"],
    )
    op.create_index(
        "ix_ecf_transfer_participants_profile", "ecf_transfer_participants", ["participant_profile_id"]
    )
    op.execute(SOURCE_VIEW)
    op.execute(REFRESH_TRANSFERS)
    op.execute(_refresh_latest(REFRESH_EXTRA))
    op.execute(_rebuild(REBUILD_EXTRA))
    op.execute(_records_updated(LATEST_RULE_COLUMNS + TRANSFER_RULE_COLUMNS))
    op.execute(
        f"INSERT INTO ecf_transfer_participants ({TRANSFER_COLUMNS}) SELECT {TRANSFER_COLUMNS}"
        " FROM ecf_transfer_participants_source"
    )


def downgrade() -> None:
    op.execute(_records_updated(LATEST_RULE_COLUMNS))
    op.execute(_rebuild(""))
    op.execute(_refresh_latest(""))
    op.execute("DROP FUNCTION cpd_refresh_transfer_participants(uuid[])")
    op.execute("DROP VIEW ecf_transfer_participants_source")
    op.drop_index("ix_ecf_transfer_participants_profile", table_name="ecf_transfer_participants")
    op.drop_index("ix_ecf_transfer_participants_list_order", table_name="ecf_transfer_participants")
    op.drop_table("ecf_transfer_participants")
