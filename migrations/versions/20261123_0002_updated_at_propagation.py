"""updated_at propagation triggers

The API's `filter[updated_since]` compares the parent row's `updated_at` (users for
participants). Changes to anything shown in a participant's response must move that
timestamp forward, so the cascade lives in the database where no code path can skip it.
Timestamps only ever move forward (a child's `updated_at` is copied up when it is newer).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = {
    # child rows that belong to one participant profile
    "cpd_touch_profile": """
        UPDATE participant_profiles SET updated_at = NEW.updated_at
         WHERE id = NEW.participant_profile_id AND updated_at < NEW.updated_at;
        RETURN NULL;""",
    # a profile belongs to a user through its participant identity
    "cpd_touch_user_from_profile": """
        UPDATE users u SET updated_at = NEW.updated_at
          FROM participant_identities pi
         WHERE pi.id = NEW.participant_identity_id AND u.id = pi.user_id
           AND u.updated_at < NEW.updated_at;
        RETURN NULL;""",
    # rows with a direct user_id
    "cpd_touch_user": """
        UPDATE users SET updated_at = NEW.updated_at
         WHERE id = NEW.user_id AND updated_at < NEW.updated_at;
        RETURN NULL;""",
    "cpd_touch_profiles_of_school_cohort": """
        UPDATE participant_profiles SET updated_at = NEW.updated_at
         WHERE school_cohort_id = NEW.id AND profile_type IN ('ect', 'mentor')
           AND updated_at < NEW.updated_at;
        RETURN NULL;""",
    "cpd_touch_from_partnership": """
        UPDATE schools SET updated_at = NEW.updated_at
         WHERE id = NEW.school_id AND updated_at < NEW.updated_at;
        UPDATE participant_profiles p SET updated_at = NEW.updated_at
          FROM school_cohorts sc
         WHERE p.school_cohort_id = sc.id AND sc.school_id = NEW.school_id
           AND p.profile_type IN ('ect', 'mentor') AND p.updated_at < NEW.updated_at;
        RETURN NULL;""",
    "cpd_touch_records_of_programme": """
        UPDATE induction_records SET updated_at = NEW.updated_at
         WHERE induction_programme_id = NEW.id AND updated_at < NEW.updated_at;
        RETURN NULL;""",
    # an accepted NPQ application shares its id with the NPQ profile
    "cpd_touch_npq_profile": """
        UPDATE participant_profiles SET updated_at = NEW.updated_at
         WHERE id = NEW.id AND updated_at < NEW.updated_at;
        RETURN NULL;""",
}

TRIGGERS = [
    ("induction_records", "INSERT OR UPDATE", "cpd_touch_profile"),
    ("participant_profile_states", "INSERT OR UPDATE", "cpd_touch_profile"),
    ("ecf_participant_eligibilities", "INSERT OR UPDATE", "cpd_touch_profile"),
    ("ecf_participant_validation_data", "INSERT OR UPDATE", "cpd_touch_profile"),
    ("participant_profiles", "INSERT OR UPDATE", "cpd_touch_user_from_profile"),
    ("participant_identities", "INSERT OR UPDATE", "cpd_touch_user"),
    ("teacher_profiles", "INSERT OR UPDATE", "cpd_touch_user"),
    ("participant_id_changes", "INSERT", "cpd_touch_user"),
    ("school_cohorts", "UPDATE", "cpd_touch_profiles_of_school_cohort"),
    ("partnerships", "INSERT OR UPDATE", "cpd_touch_from_partnership"),
    ("induction_programmes", "UPDATE", "cpd_touch_records_of_programme"),
    ("npq_applications", "UPDATE", "cpd_touch_npq_profile"),
]


def _trigger_name(table: str, function: str) -> str:
    return f"trg_{table}_{function}"[:63]


def upgrade() -> None:
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN{body}\nEND $$;"
        )
    for table, events, function in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {_trigger_name(table, function)} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}();"
        )


def downgrade() -> None:
    for table, _events, function in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table, function)} ON {table};")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}();")
