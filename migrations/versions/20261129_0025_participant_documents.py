"""rendered ECF participant documents, checked against a version per user

A 2000-record `participants/ecf` page joined fifteen tables per training record in the database
(~55-70 ms of its CPU) and built every record again in Python (~40-75 ms): the same answer for
every request until something shown changes. `ecf_participant_documents` keeps each record's
rendered JSON (per provider and wire shape); the app fills it as it serves pages and uses a
document only while it is current.

Current means: the document was rendered at the user's present version. `ecf_participant_versions`
holds a counter per user that triggers move forward, in the writing transaction, whenever a row
that any participant document shows changes: the user, identities, profiles, teacher profile,
induction records (including those naming the user's profiles as mentor or identities as
preferred), eligibility and validation data, provider states, id changes, the latest induction
records (which enrolments a provider sees), and the shown columns of shared rows (schedule
identifier, school URN, cohort year, partnership's delivery partner, the programme's partnership
and school cohort). A reader reads the version before anything it renders from and tags the
document with it; a writer committing after that read moves the version on, so the document is
never used. A user without a row is at version 0. Truncating a source table forgets every
document (TRUNCATE fires no change triggers); so must anyone loading rows with triggers off.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = """
CREATE FUNCTION cpd_bump_participant_versions(user_ids uuid[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO ecf_participant_versions AS v (user_id, version)
    SELECT DISTINCT u, 1 FROM unnest(user_ids) AS u WHERE u IS NOT NULL ORDER BY 1
    ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1
$$;
"""

# The users owning the induction records `ir` (through profile and identity).
_OWNERS = (
    "JOIN participant_profiles op ON op.id = ir.participant_profile_id "
    "JOIN participant_identities oi ON oi.id = op.participant_identity_id"
)
_OF_PROFILE = (
    "SELECT pi.user_id FROM {rel} r JOIN participant_profiles pp ON pp.id = r.participant_profile_id "
    "JOIN participant_identities pi ON pi.id = pp.participant_identity_id"
)

# Rows that belong to participants: which users' documents show rows of relation {rel}.
# Statement triggers with transition tables (one bump per statement, bulk changes included).
OWNED: dict[str, str] = {
    "users": "SELECT r.id FROM {rel} r",
    "participant_identities": (
        "SELECT r.user_id FROM {rel} r"
        " UNION ALL SELECT oi.user_id FROM {rel} r"
        f" JOIN induction_records ir ON ir.preferred_identity_id = r.id {_OWNERS}"
        " UNION ALL SELECT oi.user_id FROM {rel} r"
        " JOIN participant_profiles mp ON mp.participant_identity_id = r.id"
        f" JOIN induction_records ir ON ir.mentor_profile_id = mp.id {_OWNERS}"
    ),
    "participant_profiles": (
        "SELECT pi.user_id FROM {rel} r JOIN participant_identities pi ON pi.id = r.participant_identity_id"
        " UNION ALL SELECT oi.user_id FROM {rel} r"
        f" JOIN induction_records ir ON ir.mentor_profile_id = r.id {_OWNERS}"
    ),
    "teacher_profiles": (
        "SELECT r.user_id FROM {rel} r"
        " UNION ALL SELECT pi.user_id FROM {rel} r JOIN participant_profiles pp ON pp.teacher_profile_id = r.id"
        " JOIN participant_identities pi ON pi.id = pp.participant_identity_id"
    ),
    "induction_records": _OF_PROFILE,
    "ecf_participant_validation_data": _OF_PROFILE,
    "ecf_participant_eligibilities": _OF_PROFILE,
    "participant_profile_states": _OF_PROFILE,
    "participant_id_changes": "SELECT r.user_id FROM {rel} r",
    "ecf_latest_induction_records": "SELECT r.user_id FROM {rel} r",
}

# Shared rows: only the columns documents show, and only updates (a new row is not referenced
# yet; a referenced one cannot be deleted). Row triggers, as transition tables cannot go with a
# column list. {r} is NEW (the references do not change with these columns).
_RECORDS_OF_PROGRAMMES = f"SELECT oi.user_id FROM induction_records ir {_OWNERS} JOIN induction_programmes ip ON ip.id = ir.induction_programme_id"
SHARED: dict[str, tuple[tuple[str, ...], str]] = {
    "schedules": (
        ("schedule_identifier",),
        f"SELECT oi.user_id FROM induction_records ir {_OWNERS} WHERE ir.schedule_id = NEW.id",
    ),
    "induction_programmes": (
        ("partnership_id", "school_cohort_id"),
        f"SELECT oi.user_id FROM induction_records ir {_OWNERS} WHERE ir.induction_programme_id = NEW.id",
    ),
    "partnerships": (("delivery_partner_id",), f"{_RECORDS_OF_PROGRAMMES} WHERE ip.partnership_id = NEW.id"),
    "school_cohorts": (
        ("school_id", "cohort_id"),
        f"{_RECORDS_OF_PROGRAMMES} WHERE ip.school_cohort_id = NEW.id",
    ),
    "schools": (
        ("urn",),
        f"{_RECORDS_OF_PROGRAMMES} JOIN school_cohorts sc ON sc.id = ip.school_cohort_id WHERE sc.school_id = NEW.id",
    ),
    "cohorts": (
        ("start_year",),
        f"{_RECORDS_OF_PROGRAMMES} JOIN school_cohorts sc ON sc.id = ip.school_cohort_id WHERE sc.cohort_id = NEW.id",
    ),
}


# TRUNCATE fires no row or statement-level change triggers: a truncated source forgets every
# document instead.
FORGET = """
CREATE FUNCTION cpd_forget_participant_documents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ecf_participant_documents;
    RETURN NULL;
END $$;
"""


def _truncate_trigger(table: str) -> str:
    return (
        f"CREATE TRIGGER trg_{table}_doc_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION cpd_forget_participant_documents()"
    )


def _owned_function(table: str) -> str:
    users = OWNED[table]
    inserted = users.format(rel="new_rows")
    deleted = users.format(rel="old_rows")
    return f"""
CREATE FUNCTION cpd_participant_versions_{table}() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cpd_bump_participant_versions(ARRAY({inserted}));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM cpd_bump_participant_versions(ARRAY({deleted}));
    ELSE
        PERFORM cpd_bump_participant_versions(ARRAY({inserted} UNION ALL {deleted}));
    END IF;
    RETURN NULL;
END $$;
"""


def _owned_triggers(table: str) -> list[str]:
    function = f"cpd_participant_versions_{table}()"
    name = f"trg_{table}_doc_versions"
    return [
        f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}",
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}",
    ]


def _shared_function(table: str) -> str:
    return f"""
CREATE FUNCTION cpd_participant_versions_{table}() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    PERFORM cpd_bump_participant_versions(ARRAY({SHARED[table][1]}));
    RETURN NULL;
END $$;
"""


def _shared_trigger(table: str) -> str:
    columns = SHARED[table][0]
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return (
        f"CREATE TRIGGER trg_{table}_doc_versions AFTER UPDATE OF {', '.join(columns)} ON {table} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION cpd_participant_versions_{table}()"
    )


def upgrade() -> None:
    op.create_table(
        "ecf_participant_versions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_ecf_participant_versions"),
    )
    op.create_table(
        "ecf_participant_documents",
        sa.Column("lead_provider_id", sa.Uuid(), nullable=False),
        sa.Column("shape", sa.SmallInteger(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("valid_until", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("body", postgresql.BYTEA(), nullable=False),
        sa.PrimaryKeyConstraint("lead_provider_id", "shape", "key_id", name="pk_ecf_participant_documents"),
    )
    # Documents are rewritten as users change: vacuum early, like the other kept tables.
    op.execute(
        "ALTER TABLE ecf_participant_documents SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_vacuum_insert_scale_factor = 0.02)"
    )
    # The identity trigger finds the records that prefer an identity.
    op.create_index(
        "ix_induction_records_preferred_identity",
        "induction_records",
        ["preferred_identity_id"],
        postgresql_where=sa.text("preferred_identity_id IS NOT NULL"),
    )
    op.execute(BUMP)
    op.execute(FORGET)
    for table in (*OWNED, *SHARED):
        op.execute(_truncate_trigger(table))
    for table in OWNED:
        op.execute(_owned_function(table))
        for trigger in _owned_triggers(table):
            op.execute(trigger)
    for table in SHARED:
        op.execute(_shared_function(table))
        op.execute(_shared_trigger(table))


def downgrade() -> None:
    for table in SHARED:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_doc_versions ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS cpd_participant_versions_{table}()")
    for table in OWNED:
        name = f"trg_{table}_doc_versions"
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS cpd_participant_versions_{table}()")
    for table in (*OWNED, *SHARED):
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_doc_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS cpd_forget_participant_documents()")
    op.execute("DROP FUNCTION IF EXISTS cpd_bump_participant_versions(uuid[])")
    op.drop_index("ix_induction_records_preferred_identity", table_name="induction_records")
    op.drop_table("ecf_participant_documents")
    op.drop_table("ecf_participant_versions")
