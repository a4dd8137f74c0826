"""vacuum the tables list pages read from their indexes alone while their changes are recent

List pages read ids from covering indexes (index-only scans), which skip the table only for pages
the visibility map marks all-visible; vacuum sets that mark. By default a table is vacuumed after
20 % of it changed (inserts included, PostgreSQL 13+): for the million declarations of the national
volume, every 200,000 new declarations. Until then every recent declaration costs a table visit
on any page that walks past it, and the newest declarations sit at the end of every provider's
list: after a day's 31,000 declarations, the last page of the largest provider made 30,513 table
visits (21 ms; 16 ms once vacuumed). The derived tables change by delete and re-insert on every
refresh, with the same effect.

These tables are vacuumed after 1-2 % of them changed instead (small, frequent vacuums of mostly
all-visible tables are cheap). Storage parameters only: no lock beyond ALTER TABLE's brief one.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose list indexes are read alone, and the share of changed rows that starts a vacuum.
TABLES: dict[str, float] = {
    "participant_declarations": 0.01,
    "npq_applications": 0.02,
    "ecf_latest_induction_records": 0.02,
    "ecf_transfer_participants": 0.02,
    "ecf_inherited_declaration_profiles": 0.02,
    "npq_participant_users": 0.02,
}
PARAMETERS = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor")


def upgrade() -> None:
    for table, share in TABLES.items():
        settings = ", ".join(f"{name} = {share}" for name in PARAMETERS)
        op.execute(f"ALTER TABLE {table} SET ({settings})")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET ({', '.join(PARAMETERS)})")
