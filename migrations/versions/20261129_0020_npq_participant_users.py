"""each NPQ provider's participants (users) in list order, kept by triggers

An NPQ participants page grouped all of the provider's NPQ training records by user (joining
applications, profiles and identities) and sorted the groups, for every page: ~55 ms of database
time per page for the largest provider at the national volume, whatever the page size.

`npq_participant_users` holds the result per provider and user: the user's first NPQ training
record from the provider's applications (v3's default order) and the user's creation time (v1/v2's
order), so an unfiltered page is one index range. Triggers refresh the rows of every user a change
can affect (an NPQ training record created, deleted or moved to another identity or creation
time, an application changing provider, an identity moving to another user in a merge, a user's
creation time) in the same transaction, under a transaction-scoped advisory lock per user taken
in id order. Bulk writes refresh once per statement (transition tables).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule, for any set of users (a filter on user_id is pushed below the GROUP BY).
SOURCE_VIEW = """
CREATE VIEW npq_participant_users_source AS
SELECT a.npq_lead_provider_id, pi.user_id, min(pp.created_at) AS first_enrolment_at,
       u.created_at AS user_created_at
  FROM npq_applications a
  JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
  JOIN participant_identities pi ON pi.id = pp.participant_identity_id
  JOIN users u ON u.id = pi.user_id
 GROUP BY a.npq_lead_provider_id, pi.user_id, u.created_at
"""

COLUMNS = "npq_lead_provider_id, user_id, first_enrolment_at, user_created_at"

REFRESH = f"""
CREATE FUNCTION cpd_refresh_npq_participant_users(user_ids uuid[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    one_user uuid;
BEGIN
    FOR one_user IN
        SELECT DISTINCT x FROM unnest(user_ids) AS x WHERE x IS NOT NULL ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('npq-participant-users:' || one_user, 0));
    END LOOP;
    DELETE FROM npq_participant_users WHERE user_id = ANY(user_ids);
    INSERT INTO npq_participant_users ({COLUMNS})
    SELECT {COLUMNS} FROM npq_participant_users_source WHERE user_id = ANY(user_ids);
END $$;
"""

REBUILD = f"""
CREATE FUNCTION cpd_rebuild_npq_participant_users()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE npq_participant_users IN EXCLUSIVE MODE;
    DELETE FROM npq_participant_users;
    INSERT INTO npq_participant_users ({COLUMNS}) SELECT {COLUMNS} FROM npq_participant_users_source;
END $$;
"""

# The users of NPQ training records, by profile id or by identity id (SQL expressions).
_USERS_OF_PROFILES = (
    "SELECT pi.user_id FROM participant_profiles pp"
    " JOIN participant_identities pi ON pi.id = pp.participant_identity_id WHERE pp.id IN ({ids})"
)
_USERS_OF_IDENTITIES = "SELECT pi.user_id FROM participant_identities pi WHERE pi.id IN ({ids})"

# Inserts and deletes (the seed's and imports' bulk writes among them) refresh once per statement:
# (function, table, event, transition table, the users the statement affected).
STATEMENT_TRIGGERS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "cpd_npq_users_from_profiles_inserted",
        "participant_profiles",
        "INSERT",
        "NEW TABLE AS new_rows",
        _USERS_OF_IDENTITIES.format(
            ids="SELECT participant_identity_id FROM new_rows WHERE profile_type = 'npq'"
        ),
    ),
    (
        "cpd_npq_users_from_profiles_deleted",
        "participant_profiles",
        "DELETE",
        "OLD TABLE AS old_rows",
        _USERS_OF_IDENTITIES.format(
            ids="SELECT participant_identity_id FROM old_rows WHERE profile_type = 'npq'"
        ),
    ),
    (
        "cpd_npq_users_from_applications_inserted",
        "npq_applications",
        "INSERT",
        "NEW TABLE AS new_rows",
        _USERS_OF_PROFILES.format(ids="SELECT id FROM new_rows"),
    ),
    (
        "cpd_npq_users_from_applications_deleted",
        "npq_applications",
        "DELETE",
        "OLD TABLE AS old_rows",
        _USERS_OF_PROFILES.format(ids="SELECT id FROM old_rows"),
    ),
)

# Updates that matter are rare (merges, corrections) while these tables are updated all the time
# (the updated_at cascade): per row, with a condition checked before any function runs.
# (function, table, condition, the users the row affects)
ROW_TRIGGERS: tuple[tuple[str, str, str, str], ...] = (
    (
        "cpd_npq_users_from_profile",
        "participant_profiles",
        "(OLD.profile_type = 'npq' OR NEW.profile_type = 'npq')"
        " AND (OLD.id IS DISTINCT FROM NEW.id"
        " OR OLD.participant_identity_id IS DISTINCT FROM NEW.participant_identity_id"
        " OR OLD.created_at IS DISTINCT FROM NEW.created_at"
        " OR OLD.profile_type IS DISTINCT FROM NEW.profile_type)",
        _USERS_OF_IDENTITIES.format(ids="OLD.participant_identity_id, NEW.participant_identity_id"),
    ),
    (
        "cpd_npq_users_from_application",
        "npq_applications",
        "OLD.id IS DISTINCT FROM NEW.id OR OLD.npq_lead_provider_id IS DISTINCT FROM NEW.npq_lead_provider_id",
        _USERS_OF_PROFILES.format(ids="OLD.id, NEW.id"),
    ),
    (
        "cpd_npq_users_from_identity",
        "participant_identities",
        "OLD.user_id IS DISTINCT FROM NEW.user_id",
        "SELECT unnest(ARRAY[OLD.user_id, NEW.user_id])",
    ),
    (
        "cpd_npq_users_from_user",
        "users",
        "OLD.created_at IS DISTINCT FROM NEW.created_at",
        "SELECT NEW.id",
    ),
)


def _function(name: str, users: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
        " SET plan_cache_mode = force_custom_plan AS $$\n"
        f"DECLARE\n    affected uuid[];\nBEGIN\n    affected := ARRAY({users});\n"
        "    IF cardinality(affected) > 0 THEN\n"
        "        PERFORM cpd_refresh_npq_participant_users(affected);\n"
        "    END IF;\n    RETURN NULL;\nEND $$;"
    )


def upgrade() -> None:
    op.create_table(
        "npq_participant_users",
        sa.Column("npq_lead_provider_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("first_enrolment_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("npq_lead_provider_id", "user_id", name=op.f("pk_npq_participant_users")),
    )
    # A provider's users in v3's default order, and in v1/v2's.
    op.create_index(
        "ix_npq_participant_users_first_enrolment",
        "npq_participant_users",
        ["npq_lead_provider_id", "first_enrolment_at", "user_id"],
    )
    op.create_index(
        "ix_npq_participant_users_user_created",
        "npq_participant_users",
        ["npq_lead_provider_id", "user_created_at", "user_id"],
    )
    op.create_index("ix_npq_participant_users_user", "npq_participant_users", ["user_id"])
    op.execute(SOURCE_VIEW)
    op.execute(REFRESH)
    op.execute(REBUILD)
    for function, table, event, transition, users in STATEMENT_TRIGGERS:
        op.execute(_function(function, users))
        op.execute(
            f"CREATE TRIGGER trg_{function} AFTER {event} ON {table}"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    for function, table, condition, users in ROW_TRIGGERS:
        op.execute(_function(function, users))
        op.execute(
            f"CREATE TRIGGER trg_{function} AFTER UPDATE ON {table}"
            f" FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {function}();"
        )
    op.execute("SELECT cpd_rebuild_npq_participant_users()")


def downgrade() -> None:
    for function, table, *_ in (*STATEMENT_TRIGGERS, *ROW_TRIGGERS):
        op.execute(f"DROP TRIGGER trg_{function} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("DROP FUNCTION cpd_rebuild_npq_participant_users()")
    op.execute("DROP FUNCTION cpd_refresh_npq_participant_users(uuid[])")
    op.execute("DROP VIEW npq_participant_users_source")
    op.drop_table("npq_participant_users")
