"""each provider's declarations counted per month of creation, so a deep page skips whole months

The declarations list is in (created_at, id) order and paged by number: page 1,400 of a provider
with 140,000 declarations walked 140,000 entries of the (provider, created_at, id) index to find
its first row (13-15 ms, the first page's ids take 0.1 ms), so the last page cost 2.4-3.3 times
the first.

`participant_declaration_month_counts` holds how many declarations each provider created in each
calendar month (UTC). A page reads them, finds the month its offset falls in from their running
total, and walks only from that month's start. The counts move in the writing transaction, so a
reader's snapshot sees declarations and counts agree:
- INSERT and DELETE: statement triggers with transition tables add or subtract per (provider,
  month); UPDATE: a row trigger, only when a declaration's provider or creation time changes
  (state changes, the common update, never fire it); TRUNCATE empties the counts.
- A count row per (provider, month, shard), the shard being the writing backend's pid modulo 16:
  concurrent submissions through different connections of a pool update different rows instead
  of queueing on one per provider and month. A shard may go negative (a declaration counted by
  one backend, deleted through another); only the sum per month means anything.

Anyone loading declarations with triggers off must call `cpd_rebuild_declaration_month_counts()`
afterwards (the volume seeder does).

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 16

SOURCE_VIEW = """
CREATE VIEW participant_declaration_month_counts_source AS
SELECT cpd_lead_provider_id, date_trunc('month', created_at, 'UTC') AS month, count(*) AS declarations
  FROM participant_declarations
 GROUP BY 1, 2
"""

# Sorted upserts: two statements adding to the same rows take their locks in the same order.
_ADD = """
    INSERT INTO participant_declaration_month_counts AS c (cpd_lead_provider_id, month, shard, declarations)
    SELECT cpd_lead_provider_id, date_trunc('month', created_at, 'UTC'), pg_backend_pid() % {shards}, {sign}count(*)
      FROM {rows}
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (cpd_lead_provider_id, month, shard)
    DO UPDATE SET declarations = c.declarations + EXCLUDED.declarations;
"""

COUNT = f"""
CREATE FUNCTION cpd_count_declaration_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_ADD.format(shards=SHARDS, sign="", rows="new_rows")}
    ELSE
        {_ADD.format(shards=SHARDS, sign="-", rows="old_rows")}
    END IF;
    RETURN NULL;
END $$;
"""

MOVE = f"""
CREATE FUNCTION cpd_move_declaration_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO participant_declaration_month_counts AS c (cpd_lead_provider_id, month, shard, declarations)
    SELECT p, m, pg_backend_pid() % {SHARDS}, sum(n)
      FROM (VALUES (OLD.cpd_lead_provider_id, date_trunc('month', OLD.created_at, 'UTC'), -1),
                   (NEW.cpd_lead_provider_id, date_trunc('month', NEW.created_at, 'UTC'), 1)) AS x(p, m, n)
     GROUP BY 1, 2
    HAVING sum(n) <> 0
     ORDER BY 1, 2
    ON CONFLICT (cpd_lead_provider_id, month, shard)
    DO UPDATE SET declarations = c.declarations + EXCLUDED.declarations;
    RETURN NULL;
END $$;
"""

FORGET = """
CREATE FUNCTION cpd_forget_declaration_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM participant_declaration_month_counts;
    RETURN NULL;
END $$;
"""

# Blocks declaration writes while it runs (SHARE), so no count is lost between its read and theirs.
REBUILD = """
CREATE FUNCTION cpd_rebuild_declaration_month_counts() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE participant_declarations IN SHARE MODE;
    LOCK TABLE participant_declaration_month_counts IN EXCLUSIVE MODE;
    DELETE FROM participant_declaration_month_counts;
    INSERT INTO participant_declaration_month_counts (cpd_lead_provider_id, month, shard, declarations)
    SELECT cpd_lead_provider_id, month, 0, declarations FROM participant_declaration_month_counts_source;
END $$;
"""

TRIGGERS = {
    "trg_participant_declarations_month_counts_ins": (
        "AFTER INSERT ON participant_declarations REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_count_declaration_months()"
    ),
    "trg_participant_declarations_month_counts_del": (
        "AFTER DELETE ON participant_declarations REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_count_declaration_months()"
    ),
    "trg_participant_declarations_month_counts_upd": (
        "AFTER UPDATE OF cpd_lead_provider_id, created_at ON participant_declarations FOR EACH ROW "
        "WHEN (OLD.cpd_lead_provider_id IS DISTINCT FROM NEW.cpd_lead_provider_id "
        "OR OLD.created_at IS DISTINCT FROM NEW.created_at) "
        "EXECUTE FUNCTION cpd_move_declaration_month()"
    ),
    "trg_participant_declarations_month_counts_truncate": (
        "AFTER TRUNCATE ON participant_declarations "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_forget_declaration_months()"
    ),
}


def upgrade() -> None:
    op.create_table(
        "participant_declaration_month_counts",
        sa.Column("cpd_lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("month", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("declarations", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "cpd_lead_provider_id", "month", "shard", name="pk_participant_declaration_month_counts"
        ),
    )
    op.execute(
        "ALTER TABLE participant_declaration_month_counts SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_vacuum_insert_scale_factor = 0.02)"
    )
    op.execute(SOURCE_VIEW)
    op.execute(COUNT)
    op.execute(MOVE)
    op.execute(FORGET)
    op.execute(REBUILD)
    for name, definition in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    op.execute("SELECT cpd_rebuild_declaration_month_counts()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON participant_declarations")
    op.execute("DROP FUNCTION IF EXISTS cpd_rebuild_declaration_month_counts()")
    op.execute("DROP FUNCTION IF EXISTS cpd_forget_declaration_months()")
    op.execute("DROP FUNCTION IF EXISTS cpd_move_declaration_month()")
    op.execute("DROP FUNCTION IF EXISTS cpd_count_declaration_months()")
    op.execute("DROP VIEW IF EXISTS participant_declaration_month_counts_source")
    op.drop_table("participant_declaration_month_counts")
