"""each ECF provider's participants counted per month of the user's creation, so a deep page of the
v3 participants list skips whole months

The v3 ECF participants list is in (user created_at, user id) order and paged by number: the last
page of the largest provider (47,000 users) walked 47,000 entries of `ecf_participant_users`'
list-order index to find its first row (4-9 ms against 0.1 ms for the first page's ids), so the
last page cost about twice the first.

`ecf_participant_user_month_counts` holds, per provider, calendar month (UTC) of the user's
creation and latest cohort, how many users the list shows. The unfiltered list (every cohort
after the default minimum) reads them, finds the month its page starts in from their running
total, and walks only from that month's start. `ecf_participant_users` is written only by its
refresh (delete, then insert), so statement triggers with transition tables on INSERT, UPDATE
and DELETE move the counts in the same transaction, and TRUNCATE empties them. Rows are sharded
by the writing backend's pid modulo 16, as for the declaration counts (0027): concurrent
refreshes through a pool's connections add to different rows. Only the sum per key means
anything; a shard may go negative.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 16

SOURCE_VIEW = """
CREATE VIEW ecf_participant_user_month_counts_source AS
SELECT lead_provider_id, date_trunc('month', user_created_at, 'UTC') AS month, latest_cohort, count(*) AS users
  FROM ecf_participant_users
 GROUP BY 1, 2, 3
"""

# One signed upsert for any statement; sorted, so two statements take their row locks in one order.
_ADD = """
    INSERT INTO ecf_participant_user_month_counts AS c (lead_provider_id, month, latest_cohort, shard, users)
    SELECT lead_provider_id, date_trunc('month', user_created_at, 'UTC'), latest_cohort,
           pg_backend_pid() % {shards}, sum(n)
      FROM ({rows}) x
     GROUP BY 1, 2, 3
    HAVING sum(n) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (lead_provider_id, month, latest_cohort, shard)
    DO UPDATE SET users = c.users + EXCLUDED.users;
"""
_NEW = "SELECT lead_provider_id, user_created_at, latest_cohort, 1 AS n FROM new_rows"
_OLD = "SELECT lead_provider_id, user_created_at, latest_cohort, -1 AS n FROM old_rows"

COUNT = f"""
CREATE FUNCTION cpd_count_participant_user_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_ADD.format(shards=SHARDS, rows=_NEW)}
    ELSIF TG_OP = 'DELETE' THEN
        {_ADD.format(shards=SHARDS, rows=_OLD)}
    ELSE
        {_ADD.format(shards=SHARDS, rows=f"{_NEW} UNION ALL {_OLD}")}
    END IF;
    RETURN NULL;
END $$;
"""

FORGET = """
CREATE FUNCTION cpd_forget_participant_user_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ecf_participant_user_month_counts;
    RETURN NULL;
END $$;
"""

# Blocks writes to the users table while it runs (SHARE), so no count is lost between its read and theirs.
REBUILD = """
CREATE FUNCTION cpd_rebuild_participant_user_month_counts() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ecf_participant_users IN SHARE MODE;
    LOCK TABLE ecf_participant_user_month_counts IN EXCLUSIVE MODE;
    DELETE FROM ecf_participant_user_month_counts;
    INSERT INTO ecf_participant_user_month_counts (lead_provider_id, month, latest_cohort, shard, users)
    SELECT lead_provider_id, month, latest_cohort, 0, users FROM ecf_participant_user_month_counts_source;
END $$;
"""

TRIGGERS = {
    "trg_ecf_participant_users_month_counts_ins": (
        "AFTER INSERT ON ecf_participant_users REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_count_participant_user_months()"
    ),
    "trg_ecf_participant_users_month_counts_upd": (
        "AFTER UPDATE ON ecf_participant_users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_count_participant_user_months()"
    ),
    "trg_ecf_participant_users_month_counts_del": (
        "AFTER DELETE ON ecf_participant_users REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_count_participant_user_months()"
    ),
    "trg_ecf_participant_users_month_counts_truncate": (
        "AFTER TRUNCATE ON ecf_participant_users "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_forget_participant_user_months()"
    ),
}


def upgrade() -> None:
    op.create_table(
        "ecf_participant_user_month_counts",
        sa.Column("lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("month", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("latest_cohort", sa.Integer(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "lead_provider_id", "month", "latest_cohort", "shard", name="pk_ecf_participant_user_month_counts"
        ),
    )
    op.execute(
        "ALTER TABLE ecf_participant_user_month_counts SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_vacuum_insert_scale_factor = 0.02)"
    )
    op.execute(SOURCE_VIEW)
    op.execute(COUNT)
    op.execute(FORGET)
    op.execute(REBUILD)
    for name, definition in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    op.execute("SELECT cpd_rebuild_participant_user_month_counts()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON ecf_participant_users")
    op.execute("DROP FUNCTION IF EXISTS cpd_rebuild_participant_user_month_counts()")
    op.execute("DROP FUNCTION IF EXISTS cpd_forget_participant_user_months()")
    op.execute("DROP FUNCTION IF EXISTS cpd_count_participant_user_months()")
    op.execute("DROP VIEW IF EXISTS ecf_participant_user_month_counts_source")
    op.drop_table("ecf_participant_user_month_counts")
