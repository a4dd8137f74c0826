"""each provider's latest induction record per training record, kept by triggers

Every ECF list (participants v1-v3, unfunded mentors, CSV exports) is built on one rule: for a
training record, the provider's latest induction record among those under its unchallenged
partnerships (open-ended first, then start date, creation time and id, all descending). Computed
per request, that rule read every one of the provider's induction records for every page (about
a second of database time per page at the national volume), whatever the page size.

`ecf_latest_induction_records` holds the result, per provider, training record and schedule
cohort: the latest record among that cohort's records, and its `rank` among the cohorts' winners
(1 = the provider's latest overall). v3 reads rank 1; v1/v2 apply their cohort filter before
choosing, so they take, per training record, the best-ranked row inside the filter. The user id and
the creation times the lists sort on are copied in, so a page is one index range.

Triggers refresh the rows of every training record a change can affect (its induction records,
the programme's partnership, a partnership's provider or challenge, a schedule's cohort, a merge
moving identities or profiles between users), in the same transaction, so no code path can
leave them stale. A refresh takes a transaction-scoped advisory lock per training record, in id
order, so two transactions changing one record recompute it one after the other.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule itself, for any set of training records (the refresh filters it by profile id, which
# PostgreSQL pushes below the window and DISTINCT ON since both partition by the profile).
SOURCE_VIEW = """
CREATE VIEW ecf_latest_induction_records_source AS
SELECT lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id,
       row_number() OVER (
           PARTITION BY lead_provider_id, participant_profile_id
           ORDER BY open_ended DESC, start_date DESC, created_at DESC, induction_record_id DESC
       )::integer AS rank,
       schedule_id, training_status, mentor_profile_id, user_id, user_created_at, profile_created_at
  FROM (
    SELECT DISTINCT ON (p.lead_provider_id, ir.participant_profile_id, c.start_year)
           p.lead_provider_id, ir.participant_profile_id, c.start_year AS cohort_start_year,
           ir.id AS induction_record_id, (ir.end_date IS NULL) AS open_ended, ir.start_date,
           ir.created_at, ir.schedule_id, ir.training_status, ir.mentor_profile_id,
           pi.user_id, u.created_at AS user_created_at, pp.created_at AS profile_created_at
      FROM induction_records ir
      JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
      JOIN partnerships p ON p.id = ip.partnership_id
      JOIN schedules s ON s.id = ir.schedule_id
      JOIN cohorts c ON c.id = s.cohort_id
      JOIN participant_profiles pp ON pp.id = ir.participant_profile_id
      JOIN participant_identities pi ON pi.id = pp.participant_identity_id
      JOIN users u ON u.id = pi.user_id
     WHERE p.challenged_at IS NULL AND p.challenge_reason IS NULL
     ORDER BY p.lead_provider_id, ir.participant_profile_id, c.start_year,
              (ir.end_date IS NULL) DESC, ir.start_date DESC, ir.created_at DESC, ir.id DESC
  ) per_cohort
"""

COLUMNS = (
    "lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id, rank, "
    "schedule_id, training_status, mentor_profile_id, user_id, user_created_at, profile_created_at"
)

REFRESH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cpd_refresh_latest_induction_records(profile_ids uuid[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    profile_id uuid;
BEGIN
    FOR profile_id IN
        SELECT DISTINCT x FROM unnest(profile_ids) AS x WHERE x IS NOT NULL ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('latest-induction-records:' || profile_id, 0));
    END LOOP;
    DELETE FROM ecf_latest_induction_records WHERE participant_profile_id = ANY(profile_ids);
    INSERT INTO ecf_latest_induction_records ({COLUMNS})
    SELECT {COLUMNS} FROM ecf_latest_induction_records_source
     WHERE participant_profile_id = ANY(profile_ids);
END $$;
"""

REBUILD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cpd_rebuild_latest_induction_records()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ecf_latest_induction_records IN EXCLUSIVE MODE;
    DELETE FROM ecf_latest_induction_records;
    INSERT INTO ecf_latest_induction_records ({COLUMNS})
    SELECT {COLUMNS} FROM ecf_latest_induction_records_source;
END $$;
"""

# (function, table, event, WHEN condition, the training records it affects)
TRIGGERS: list[tuple[str, str, str, str | None, str]] = [
    (
        "cpd_latest_from_record_insert",
        "induction_records",
        "INSERT",
        None,
        "ARRAY[NEW.participant_profile_id]",
    ),
    (
        "cpd_latest_from_record_update",
        "induction_records",
        "UPDATE",
        "OLD.participant_profile_id IS DISTINCT FROM NEW.participant_profile_id"
        " OR OLD.induction_programme_id IS DISTINCT FROM NEW.induction_programme_id"
        " OR OLD.schedule_id IS DISTINCT FROM NEW.schedule_id"
        " OR OLD.start_date IS DISTINCT FROM NEW.start_date"
        " OR OLD.end_date IS DISTINCT FROM NEW.end_date"
        " OR OLD.created_at IS DISTINCT FROM NEW.created_at"
        " OR OLD.training_status IS DISTINCT FROM NEW.training_status"
        " OR OLD.mentor_profile_id IS DISTINCT FROM NEW.mentor_profile_id",
        "ARRAY[OLD.participant_profile_id, NEW.participant_profile_id]",
    ),
    (
        "cpd_latest_from_record_delete",
        "induction_records",
        "DELETE",
        None,
        "ARRAY[OLD.participant_profile_id]",
    ),
    (
        "cpd_latest_from_programme",
        "induction_programmes",
        "UPDATE",
        "OLD.partnership_id IS DISTINCT FROM NEW.partnership_id",
        "ARRAY(SELECT participant_profile_id FROM induction_records WHERE induction_programme_id = NEW.id)",
    ),
    (
        "cpd_latest_from_partnership",
        "partnerships",
        "UPDATE",
        "OLD.lead_provider_id IS DISTINCT FROM NEW.lead_provider_id"
        " OR OLD.challenged_at IS DISTINCT FROM NEW.challenged_at"
        " OR OLD.challenge_reason IS DISTINCT FROM NEW.challenge_reason",
        "ARRAY(SELECT ir.participant_profile_id FROM induction_records ir"
        " JOIN induction_programmes ip ON ip.id = ir.induction_programme_id"
        " WHERE ip.partnership_id = NEW.id)",
    ),
    (
        "cpd_latest_from_schedule",
        "schedules",
        "UPDATE",
        "OLD.cohort_id IS DISTINCT FROM NEW.cohort_id",
        "ARRAY(SELECT participant_profile_id FROM induction_records WHERE schedule_id = NEW.id)",
    ),
    (
        "cpd_latest_from_cohort",
        "cohorts",
        "UPDATE",
        "OLD.start_year IS DISTINCT FROM NEW.start_year",
        "ARRAY(SELECT ir.participant_profile_id FROM induction_records ir"
        " JOIN schedules s ON s.id = ir.schedule_id WHERE s.cohort_id = NEW.id)",
    ),
    (
        "cpd_latest_from_profile",
        "participant_profiles",
        "UPDATE",
        "OLD.participant_identity_id IS DISTINCT FROM NEW.participant_identity_id"
        " OR OLD.created_at IS DISTINCT FROM NEW.created_at",
        "ARRAY[NEW.id]",
    ),
    (
        "cpd_latest_from_identity",
        "participant_identities",
        "UPDATE",
        "OLD.user_id IS DISTINCT FROM NEW.user_id",
        "ARRAY(SELECT id FROM participant_profiles WHERE participant_identity_id = NEW.id)",
    ),
    (
        "cpd_latest_from_user",
        "users",
        "UPDATE",
        "OLD.created_at IS DISTINCT FROM NEW.created_at",
        "ARRAY(SELECT pp.id FROM participant_profiles pp"
        " JOIN participant_identities pi ON pi.id = pp.participant_identity_id WHERE pi.user_id = NEW.id)",
    ),
]


def upgrade() -> None:
    op.create_table(
        "ecf_latest_induction_records",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("participant_profile_id", sa.UUID(), nullable=False),
        sa.Column("cohort_start_year", sa.Integer(), nullable=False),
        sa.Column("induction_record_id", sa.UUID(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.UUID(), nullable=False),
        sa.Column("training_status", sa.String(), nullable=False),
        sa.Column("mentor_profile_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("user_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "lead_provider_id",
            "participant_profile_id",
            "cohort_start_year",
            name=op.f("pk_ecf_latest_induction_records"),
        ),
    )
    # A provider's rows in list order (v1/v2: user creation, user, profile creation, profile).
    op.create_index(
        "ix_ecf_latest_induction_records_list_order",
        "ecf_latest_induction_records",
        ["lead_provider_id", "user_created_at", "user_id", "profile_created_at", "participant_profile_id"],
        postgresql_include=["cohort_start_year", "rank", "induction_record_id", "training_status"],
    )
    # The mentors a provider's latest records name (unfunded mentors), read from the index alone.
    op.create_index(
        "ix_ecf_latest_induction_records_mentors",
        "ecf_latest_induction_records",
        ["lead_provider_id", "mentor_profile_id"],
        postgresql_where=sa.text("rank = 1 AND mentor_profile_id IS NOT NULL"),
    )
    op.create_index(
        "ix_ecf_latest_induction_records_user",
        "ecf_latest_induction_records",
        ["user_id", "lead_provider_id"],
    )
    op.create_index(
        "ix_ecf_latest_induction_records_profile",
        "ecf_latest_induction_records",
        ["participant_profile_id"],
    )
    op.execute(SOURCE_VIEW)
    op.execute(REFRESH_FUNCTION)
    op.execute(REBUILD_FUNCTION)
    for function, table, event, condition, profiles in TRIGGERS:
        op.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    PERFORM cpd_refresh_latest_induction_records({profiles});\n    RETURN NULL;\nEND $$;"
        )
        when = f" WHEN ({condition})" if condition else ""
        op.execute(
            f"CREATE TRIGGER trg_{function} AFTER {event} ON {table} FOR EACH ROW{when} "
            f"EXECUTE FUNCTION {function}();"
        )
    op.execute("SELECT cpd_rebuild_latest_induction_records()")


def downgrade() -> None:
    for function, table, _event, _condition, _profiles in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{function} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP FUNCTION IF EXISTS cpd_rebuild_latest_induction_records()")
    op.execute("DROP FUNCTION IF EXISTS cpd_refresh_latest_induction_records(uuid[])")
    op.execute("DROP VIEW IF EXISTS ecf_latest_induction_records_source")
    op.drop_table("ecf_latest_induction_records")
