"""each ECF provider's participants (users) in list order, kept with its latest induction records

A v3 `participants/ecf` page is a page of users: those with a latest record with the provider in
the cohorts asked for. The page's ids came from the latest records' list index grouped by user
(a user can have an ECT and a mentor record), so a page 47,000 users deep walked and grouped
47,280 index entries (6.8 ms) while the first page took 0.14 ms; with stored participant
documents (0025) the rest of a page costs about 3 ms, so the walk made the last page three
times the first.

`ecf_participant_users` keeps one row per (provider, user) with the cohorts of the user's latest
records (and the latest of them, which the default cohort filter compares: an array per index
entry cost 4.6 ms on that walk against 3 ms), in a narrow list-order index. A statement trigger on `ecf_latest_induction_records`
recomputes the (provider, user) pairs a statement touched, under one advisory lock per pair taken
in order (two transactions changing two records of one user see each other's change: the later
waits for the earlier's commit); a statement touching more than 1,000 pairs (a rebuild, a bulk
change) locks the table instead, so a rebuild does not take 200,000 locks. (The user's
participant version row, which the same statements update first, serialises them too.)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE_VIEW = """
CREATE VIEW ecf_participant_users_source AS
SELECT lead_provider_id, user_id, min(user_created_at) AS user_created_at,
       array_agg(DISTINCT cohort_start_year ORDER BY cohort_start_year) AS cohort_years,
       max(cohort_start_year) AS latest_cohort
  FROM ecf_latest_induction_records
 WHERE rank = 1
 GROUP BY lead_provider_id, user_id
"""

REFRESH = """
CREATE FUNCTION cpd_refresh_ecf_participant_users(provider_ids uuid[], user_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    IF cardinality(provider_ids) > 1000 THEN
        LOCK TABLE ecf_participant_users IN EXCLUSIVE MODE;
    ELSE
        PERFORM pg_advisory_xact_lock(hashtextextended('ecf-participant-user:' || p || ':' || u, 0))
           FROM (SELECT DISTINCT p, u FROM unnest(provider_ids, user_ids) AS x(p, u) ORDER BY 1, 2) pairs;
    END IF;
    DELETE FROM ecf_participant_users e
     USING unnest(provider_ids, user_ids) AS x(p, u)
     WHERE e.lead_provider_id = x.p AND e.user_id = x.u;
    INSERT INTO ecf_participant_users (lead_provider_id, user_id, user_created_at, cohort_years, latest_cohort)
    SELECT l.lead_provider_id, l.user_id, min(l.user_created_at),
           array_agg(DISTINCT l.cohort_start_year ORDER BY l.cohort_start_year), max(l.cohort_start_year)
      FROM (SELECT DISTINCT p, u FROM unnest(provider_ids, user_ids) AS x(p, u)) x
      JOIN ecf_latest_induction_records l ON l.user_id = x.u AND l.lead_provider_id = x.p
     WHERE l.rank = 1
     GROUP BY l.lead_provider_id, l.user_id;
END $$;
"""

FROM_LATEST = """
CREATE FUNCTION cpd_ecf_participant_users_from_latest() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    providers uuid[];
    users uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(p), array_agg(u) INTO providers, users
          FROM (SELECT DISTINCT lead_provider_id AS p, user_id AS u FROM new_rows) r;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(p), array_agg(u) INTO providers, users
          FROM (SELECT DISTINCT lead_provider_id AS p, user_id AS u FROM old_rows) r;
    ELSE
        SELECT array_agg(p), array_agg(u) INTO providers, users
          FROM (SELECT lead_provider_id AS p, user_id AS u FROM new_rows
                UNION SELECT lead_provider_id, user_id FROM old_rows) r;
    END IF;
    IF providers IS NOT NULL THEN
        PERFORM cpd_refresh_ecf_participant_users(providers, users);
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = {
    "ins": "AFTER INSERT ON ecf_latest_induction_records REFERENCING NEW TABLE AS new_rows",
    "upd": "AFTER UPDATE ON ecf_latest_induction_records REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "del": "AFTER DELETE ON ecf_latest_induction_records REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "ecf_participant_users",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("user_created_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("cohort_years", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("latest_cohort", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lead_provider_id", "user_id", name="pk_ecf_participant_users"),
    )
    op.create_index(
        "ix_ecf_participant_users_list_order",
        "ecf_participant_users",
        ["lead_provider_id", "user_created_at", "user_id"],
        postgresql_include=["latest_cohort", "cohort_years"],
    )
    op.execute(
        "ALTER TABLE ecf_participant_users SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_vacuum_insert_scale_factor = 0.02)"
    )
    op.execute(SOURCE_VIEW)
    op.execute(REFRESH)
    op.execute(FROM_LATEST)
    for suffix, event in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER trg_ecf_latest_induction_records_participant_users_{suffix} {event} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cpd_ecf_participant_users_from_latest()"
        )
    op.execute(
        "INSERT INTO ecf_participant_users (lead_provider_id, user_id, user_created_at, cohort_years, latest_cohort) "
        "SELECT lead_provider_id, user_id, user_created_at, cohort_years, latest_cohort FROM ecf_participant_users_source"
    )


def downgrade() -> None:
    for suffix in TRIGGERS:
        op.execute(
            f"DROP TRIGGER IF EXISTS trg_ecf_latest_induction_records_participant_users_{suffix} "
            "ON ecf_latest_induction_records"
        )
    op.execute("DROP FUNCTION IF EXISTS cpd_ecf_participant_users_from_latest()")
    op.execute("DROP FUNCTION IF EXISTS cpd_refresh_ecf_participant_users(uuid[], uuid[])")
    op.execute("DROP VIEW IF EXISTS ecf_participant_users_source")
    op.drop_index("ix_ecf_participant_users_list_order", table_name="ecf_participant_users")
    op.drop_table("ecf_participant_users")
