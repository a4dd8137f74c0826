"""NPQ outcomes carry their declaration's provider, so a provider's outcome pages are an index range

Outcomes did not say whose they were: a page of a provider's outcomes walked every outcome in
creation order and looked up each one's declaration (the first page), or joined all of the
provider's declarations to all outcomes and sorted (a deep page): the last page of the largest NPQ
provider's list took over twice its first. The provider is copied from the declaration by a
trigger (a declaration never changes provider, and every writer is covered, including bulk
loads), and (provider, created_at, id) is indexed in page order.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("participant_outcomes", sa.Column("cpd_lead_provider_id", sa.Uuid(), nullable=True))
    op.execute(
        """
        UPDATE participant_outcomes o SET cpd_lead_provider_id = d.cpd_lead_provider_id
          FROM participant_declarations d WHERE d.id = o.participant_declaration_id
        """
    )
    op.alter_column("participant_outcomes", "cpd_lead_provider_id", nullable=False)
    op.execute(
        """
        CREATE FUNCTION cpd_outcome_provider() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.cpd_lead_provider_id := (
                SELECT d.cpd_lead_provider_id FROM participant_declarations d
                 WHERE d.id = NEW.participant_declaration_id);
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER cpd_outcome_provider
        BEFORE INSERT OR UPDATE OF participant_declaration_id, cpd_lead_provider_id ON participant_outcomes
        FOR EACH ROW EXECUTE FUNCTION cpd_outcome_provider()
        """
    )
    op.create_index(
        "ix_participant_outcomes_provider_created",
        "participant_outcomes",
        ["cpd_lead_provider_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_participant_outcomes_provider_created", table_name="participant_outcomes")
    op.execute("DROP TRIGGER cpd_outcome_provider ON participant_outcomes")
    op.execute("DROP FUNCTION cpd_outcome_provider()")
    op.drop_column("participant_outcomes", "cpd_lead_provider_id")
