"""covering partial indexes for inherited declarations (declaration lists after a transfer)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A provider's active training records, read from the index alone.
    op.create_index(
        "ix_induction_records_programme_active",
        "induction_records",
        ["induction_programme_id"],
        postgresql_include=["participant_profile_id"],
        postgresql_where=sa.text("induction_status = 'active'"),
    )
    # Live ECF declarations by training record with the columns a list page selects, so the
    # inherited part of a declaration list is a hash join over this narrow index (2k buffers at
    # the national volume instead of 98k for 30k index probes and heap visits).
    op.create_index(
        "ix_participant_declarations_live_ecf_profile",
        "participant_declarations",
        ["participant_profile_id"],
        postgresql_include=["cpd_lead_provider_id", "created_at", "id"],
        postgresql_where=sa.text(
            "programme = 'ecf' AND state IN ('submitted', 'eligible', 'payable', 'paid')"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_participant_declarations_live_ecf_profile", table_name="participant_declarations")
    op.drop_index("ix_induction_records_programme_active", table_name="induction_records")
