"""NPQ application list indexes cover the default cohort filter

A provider's application list filters on the cohort (by default every cohort after 2020) and
pages in created_at or updated_at order. The two list indexes did not hold cohort_id, so walking
one to a page's offset visited the table for every application passed (10,000 heap visits, about
5 ms, for page 100 of the largest provider). Both now carry cohort_id and the other order's
columns, and the updated_at index ends with id, so every part of a page's id query is read from
the index alone.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "npq_applications"

# name -> (columns before, columns after, included columns after)
INDEXES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "ix_npq_applications_provider_created": (
        ["npq_lead_provider_id", "created_at", "id"],
        ["npq_lead_provider_id", "created_at", "id"],
        ["cohort_id", "updated_at"],
    ),
    "ix_npq_applications_provider_updated": (
        ["npq_lead_provider_id", "updated_at"],
        ["npq_lead_provider_id", "updated_at", "id"],
        ["cohort_id", "created_at"],
    ),
}


def upgrade() -> None:
    for name, (_, columns, include) in INDEXES.items():
        op.drop_index(name, table_name=TABLE)
        op.create_index(name, TABLE, columns, postgresql_include=include)


def downgrade() -> None:
    for name, (columns, _, _) in INDEXES.items():
        op.drop_index(name, table_name=TABLE)
        op.create_index(name, TABLE, columns)
