"""Queries and writes behind submitting, voiding and paying declarations.

Every lookup the submission rules need is one narrow query here; the rules themselves live in
`app.domain.declaration_submission`. Writes never commit: the request (or CLI command) does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from app.domain.npq_courses import REBRANDED_NPQ_COURSES
from app.repositories.participant_lookup import (
    ACTIVE_PROFILE_TYPES,
    PROFILE_COLUMNS,
    Identity,
    Milestone,
    ParticipantLookup,
    Profile,
)
from app.repositories.sql import text

LIVE_STATES = ("submitted", "eligible", "payable", "paid")
# The predicate of the partial unique index uq_participant_declarations_live.
LIVE_CONDITION = "state IN ('submitted', 'eligible', 'payable', 'paid')"


class DuplicateLiveDeclaration(Exception):
    """The partial unique index refused a second live declaration for the same slot."""


@dataclass(frozen=True)
class ProviderState:
    state: str
    created_at: datetime


@dataclass(frozen=True)
class Placement:
    """What the caller's induction records of an ECF profile say about a declaration."""

    cohort_id: uuid.UUID | None
    delivery_partner_id: uuid.UUID | None
    mentor_user_id: uuid.UUID | None


@dataclass(frozen=True)
class SubmissionFacts:
    """Everything the submission rules read about a training record, fetched in one statement
    (after the slot and the record are locked): the caller's latest state change, the schedule's
    milestone for the type, whether the slot holds a live declaration, the user's active profile
    kinds, whether the caller has an induction record on the profile's schedule (ECF) and whether
    it holds a contract for the cohort and course (NPQ)."""

    provider_state: ProviderState | None
    milestone: Milestone | None
    live_declaration: bool
    profile_types: frozenset[str]
    has_provider_record: bool
    npq_contract: bool


@dataclass(frozen=True)
class EcfCreationFacts:
    """What a new ECF declaration records, in one statement: its placement, whether the training
    record is fundable and the live declaration of another user with the same TRN it duplicates."""

    placement: Placement
    fundable: bool
    original_id: uuid.UUID | None


@dataclass(frozen=True)
class StoredDeclaration:
    id: uuid.UUID
    programme: str
    state: str
    declaration_type: str
    course_identifier: str
    declaration_date: datetime
    participant_profile_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID
    cohort_id: uuid.UUID | None
    profile_type: str


@dataclass(frozen=True)
class StatementRow:
    id: uuid.UUID
    state: str
    deadline_date: date
    name: str


@dataclass(frozen=True)
class NewDeclaration:
    programme: str
    user_id: uuid.UUID
    participant_profile_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID
    cohort_id: uuid.UUID | None
    declaration_type: str
    declaration_date: datetime
    course_identifier: str
    evidence_held: str | None
    state: str
    state_reason: str | None
    sparsity_uplift: bool
    pupil_premium_uplift: bool
    delivery_partner_id: uuid.UUID | None
    mentor_user_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None


# The caller's induction records of a training record, latest first (placement of a declaration).
_PLACEMENT_FROM = """FROM induction_records ir
    JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
    JOIN partnerships p ON p.id = ip.partnership_id
    JOIN schedules s ON s.id = ir.schedule_id
    LEFT JOIN participant_profiles mp ON mp.id = ir.mentor_profile_id
    LEFT JOIN participant_identities mpi ON mpi.id = mp.participant_identity_id
   WHERE ir.participant_profile_id = :profile_id AND p.lead_provider_id = :lead_provider_id"""
_PLACEMENT_ORDER = "ORDER BY ir.start_date DESC, ir.created_at DESC, ir.id DESC LIMIT 1"

# The provider's NPQ contract for a cohort and course.
_NPQ_CONTRACT = """SELECT 1 FROM npq_contracts
    WHERE npq_lead_provider_id = :npq_lead_provider_id AND cohort_id = :cohort_id
      AND course_identifier = :course"""

# The oldest live declaration of another user who shares this user's TRN.
_ORIGINAL_BY_TRN = """SELECT d.id FROM participant_declarations d
     JOIN teacher_profiles other ON other.user_id = d.user_id
     JOIN teacher_profiles mine ON mine.user_id = :user_id
    WHERE mine.trn IS NOT NULL AND other.trn = mine.trn AND d.user_id <> :user_id
      AND d.programme = :programme AND d.course_identifier = :course
      AND d.declaration_type = :declaration_type AND d.superseded_by_id IS NULL
      AND d.state = ANY(:live)
    ORDER BY d.created_at, d.id LIMIT 1"""


class DeclarationWriteRepository(ParticipantLookup):
    # --- who the participant is (NPQ; ECF lookups are shared in ParticipantLookup) ------------

    async def identity_with_accepted_npq(
        self, user_id: uuid.UUID, course_identifier: str, npq_lead_provider_id: uuid.UUID | None
    ) -> Identity | None:
        if npq_lead_provider_id is None:
            return None
        row = await self._one(
            """SELECT pi.id, pi.user_id FROM participant_identities pi
                 JOIN participant_profiles pp
                   ON pp.participant_identity_id = pi.id AND pp.profile_type = 'npq'
                 JOIN npq_applications a ON a.participant_identity_id = pi.id
                 JOIN npq_courses c ON c.id = a.npq_course_id
                WHERE pi.user_id = :user_id AND a.lead_provider_approval_status = 'accepted'
                  AND c.identifier = :course AND a.npq_lead_provider_id = :npq_lead_provider_id
                ORDER BY pi.created_at, pi.id LIMIT 1""",
            {"user_id": user_id, "course": course_identifier, "npq_lead_provider_id": npq_lead_provider_id},
        )
        return Identity(**row) if row else None

    async def npq_profile(
        self, identity_id: uuid.UUID, course_identifier: str, npq_lead_provider_id: uuid.UUID | None
    ) -> Profile | None:
        if npq_lead_provider_id is None:
            return None
        row = await self._one(
            f"""SELECT {PROFILE_COLUMNS} FROM participant_profiles pp
                  JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                  JOIN schedules s ON s.id = pp.schedule_id
                  JOIN npq_applications a ON a.id = pp.id
                  JOIN npq_courses c ON c.id = a.npq_course_id
                 WHERE pp.participant_identity_id = :identity_id AND pp.profile_type = 'npq'
                   AND c.identifier = :course AND a.npq_lead_provider_id = :npq_lead_provider_id
                 ORDER BY pp.created_at, pp.id LIMIT 1""",
            {
                "identity_id": identity_id,
                "course": course_identifier,
                "npq_lead_provider_id": npq_lead_provider_id,
            },
        )
        return Profile(**row) if row else None

    async def submission_facts(
        self,
        profile: Profile,
        *,
        programme: str,
        course_identifier: str,
        declaration_type: str,
        cpd_lead_provider_id: uuid.UUID,
        lead_provider_id: uuid.UUID | None,
        npq_lead_provider_id: uuid.UUID | None,
    ) -> SubmissionFacts:
        row = await self._one(
            f"""SELECT st.state, st.created_at AS state_at, m.start_date, m.milestone_date,
                      EXISTS (SELECT 1 FROM participant_declarations d
                               WHERE d.programme = :programme AND d.user_id = :user_id
                                 AND d.course_identifier = :course AND d.declaration_type = :declaration_type
                                 AND d.state = ANY(:live)) AS live_declaration,
                      ARRAY({ACTIVE_PROFILE_TYPES}) AS profile_types,
                      (CAST(:lead_provider_id AS uuid) IS NOT NULL AND EXISTS (
                           SELECT 1 FROM induction_records ir
                             JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
                             JOIN partnerships p ON p.id = ip.partnership_id
                            WHERE ir.participant_profile_id = :profile_id
                              AND p.lead_provider_id = :lead_provider_id
                              AND ir.schedule_id = :schedule_id)) AS has_provider_record,
                      (CAST(:npq_lead_provider_id AS uuid) IS NOT NULL
                       AND EXISTS ({_NPQ_CONTRACT})) AS npq_contract
                 FROM (SELECT 1) AS one
                 LEFT JOIN LATERAL (
                     SELECT state, created_at FROM participant_profile_states
                      WHERE participant_profile_id = :profile_id AND cpd_lead_provider_id = :cpd
                      ORDER BY created_at DESC, id DESC LIMIT 1) st ON TRUE
                 LEFT JOIN LATERAL (
                     SELECT start_date, milestone_date FROM milestones
                      WHERE schedule_id = :schedule_id AND declaration_type = :declaration_type
                      ORDER BY start_date LIMIT 1) m ON TRUE""",
            {
                "programme": programme,
                "user_id": profile.user_id,
                "profile_id": profile.id,
                "schedule_id": profile.schedule_id,
                "cohort_id": profile.schedule_cohort_id,
                "course": course_identifier,
                "declaration_type": declaration_type,
                "live": list(LIVE_STATES),
                "cpd": cpd_lead_provider_id,
                "lead_provider_id": lead_provider_id,
                "npq_lead_provider_id": npq_lead_provider_id,
            },
        )
        return SubmissionFacts(
            provider_state=ProviderState(row["state"], row["state_at"]) if row["state"] is not None else None,
            milestone=Milestone(row["start_date"], row["milestone_date"])
            if row["start_date"] is not None
            else None,
            live_declaration=row["live_declaration"],
            profile_types=frozenset(row["profile_types"]),
            has_provider_record=row["has_provider_record"],
            npq_contract=row["npq_contract"],
        )

    async def ecf_creation_facts(
        self,
        profile: Profile,
        *,
        lead_provider_id: uuid.UUID | None,
        declaration_date: datetime,
        course_identifier: str,
        declaration_type: str,
    ) -> EcfCreationFacts:
        """`placement`, `ecf_fundable` and `original_by_trn` of one ECF declaration, together."""
        row = await self._one(
            f"""SELECT latest.cohort_id, started.delivery_partner_id, started.mentor_user_id,
                       (SELECT status = 'eligible' FROM ecf_participant_eligibilities
                         WHERE participant_profile_id = :profile_id) AS fundable,
                       ({_ORIGINAL_BY_TRN}) AS original_id
                  FROM (SELECT 1) AS one
                  LEFT JOIN LATERAL (
                      SELECT s.cohort_id {_PLACEMENT_FROM} {_PLACEMENT_ORDER}) latest ON TRUE
                  LEFT JOIN LATERAL (
                      SELECT p.delivery_partner_id, mpi.user_id AS mentor_user_id {_PLACEMENT_FROM}
                         AND ir.start_date <= :date {_PLACEMENT_ORDER}) started ON TRUE""",
            {
                "profile_id": profile.id,
                "lead_provider_id": lead_provider_id,
                "date": declaration_date,
                "user_id": profile.user_id,
                "programme": "ecf",
                "course": course_identifier,
                "declaration_type": declaration_type,
                "live": list(LIVE_STATES),
            },
        )
        return EcfCreationFacts(
            placement=Placement(row["cohort_id"], row["delivery_partner_id"], row["mentor_user_id"]),
            fundable=bool(row["fundable"]),
            original_id=row["original_id"],
        )

    @staticmethod
    def slot_key(user_id: uuid.UUID, course_identifier: str, declaration_type: str) -> str:
        """The advisory lock that serialises submissions for one participant, course and type."""
        return f"declaration:{user_id}:{course_identifier}:{declaration_type}"

    async def npq_contract_exists(
        self, npq_lead_provider_id: uuid.UUID | None, cohort_id: uuid.UUID, course_identifier: str
    ) -> bool:
        if npq_lead_provider_id is None:
            return False
        row = await self._one(
            f"{_NPQ_CONTRACT} LIMIT 1",
            {
                "npq_lead_provider_id": npq_lead_provider_id,
                "cohort_id": cohort_id,
                "course": course_identifier,
            },
        )
        return row is not None

    async def npq_fundable(self, application_id: uuid.UUID) -> bool:
        """Eligible for funding and not already funded for this course (or its rebranded twin)."""
        row = await self._one(
            """SELECT a.eligible_for_funding, a.participant_identity_id, c.identifier
                 FROM npq_applications a JOIN npq_courses c ON c.id = a.npq_course_id WHERE a.id = :id""",
            {"id": application_id},
        )
        if row is None or not row["eligible_for_funding"]:
            return False
        courses = [row["identifier"]]
        if row["identifier"] in REBRANDED_NPQ_COURSES:
            courses.append(REBRANDED_NPQ_COURSES[row["identifier"]])
        funded = await self._one(
            """SELECT 1 FROM npq_applications a JOIN npq_courses c ON c.id = a.npq_course_id
                WHERE a.participant_identity_id = :identity AND a.id <> :id
                  AND a.lead_provider_approval_status = 'accepted' AND a.eligible_for_funding
                  AND c.identifier = ANY(:courses) LIMIT 1""",
            {"identity": row["participant_identity_id"], "id": application_id, "courses": courses},
        )
        return funded is None

    async def original_by_trn(
        self, programme: str, user_id: uuid.UUID, course_identifier: str, declaration_type: str
    ) -> uuid.UUID | None:
        """The oldest live declaration of another user who shares this user's TRN."""
        row = await self._one(
            _ORIGINAL_BY_TRN,
            {
                "user_id": user_id,
                "programme": programme,
                "course": course_identifier,
                "declaration_type": declaration_type,
                "live": list(LIVE_STATES),
            },
        )
        return row["id"] if row else None

    async def next_output_statement(
        self, cpd_lead_provider_id: uuid.UUID, programme: str, cohort_id: uuid.UUID | None, today: date
    ) -> uuid.UUID | None:
        if cohort_id is None:
            return None
        row = await self._one(
            """SELECT id FROM statements
                WHERE cpd_lead_provider_id = :cpd AND programme = :programme AND cohort_id = :cohort_id
                  AND output_fee AND state = 'open' AND deadline_date >= :today
                ORDER BY deadline_date, payment_date, id LIMIT 1""",
            {"cpd": cpd_lead_provider_id, "programme": programme, "cohort_id": cohort_id, "today": today},
        )
        return row["id"] if row else None

    # --- writes -------------------------------------------------------------------------------

    async def begin_submission(
        self,
        cpd_lead_provider_id: uuid.UUID,
        user_id: uuid.UUID,
        attributes: dict[str, str | None],
        *,
        slot_key: str | None,
        profile_id: uuid.UUID | None,
    ) -> uuid.UUID:
        """Log the attempt and take the submission's locks, in one statement; the attempt's id.

        With `slot_key`, a transaction-scoped advisory lock serialises submissions for one
        participant, course and type until commit. With `profile_id`, the training record is
        share-locked until commit: actions (withdraw, defer, change-schedule) lock it FOR UPDATE,
        so none can commit between this submission's checks of the record's state and its insert,
        while declarations of other types still run side by side. The select list is evaluated in
        order: the attempt, then the slot, then the record."""
        locks = ""
        params: dict[str, object] = {
            "cpd": cpd_lead_provider_id,
            "user_id": user_id,
            "declaration_type": attributes.get("declaration_type"),
            "declaration_date": attributes.get("declaration_date"),
            "course": attributes.get("course_identifier"),
            "evidence_held": attributes.get("evidence_held"),
        }
        if slot_key is not None:
            params["slot_key"] = slot_key
            locks += ", pg_advisory_xact_lock(hashtextextended(:slot_key, 0)) AS slot"
        if profile_id is not None:
            params["profile_id"] = profile_id
            locks += ", (SELECT 1 FROM participant_profiles WHERE id = :profile_id FOR SHARE) AS held"
        row = await self._one(
            f"""WITH attempt AS (
                    INSERT INTO participant_declaration_attempts
                        (id, cpd_lead_provider_id, user_id, declaration_type, declaration_date,
                         course_identifier, evidence_held)
                    VALUES (gen_random_uuid(), :cpd, :user_id, :declaration_type, :declaration_date,
                            :course, :evidence_held)
                    RETURNING id)
                SELECT (SELECT id FROM attempt) AS id{locks}""",
            params,
        )
        return uuid.UUID(str(row["id"]))

    async def insert_declaration(self, new: NewDeclaration) -> uuid.UUID:
        """Insert unless the slot already holds a live declaration: the partial unique index is the
        conflict target, so a refusal leaves the transaction usable without a savepoint."""
        params = {k: getattr(new, k) for k in NewDeclaration.__dataclass_fields__}
        columns = ", ".join(params)
        values = ", ".join(f":{k}" for k in params)
        row = await self._one(
            f"INSERT INTO participant_declarations (id, {columns}) "
            f"VALUES (gen_random_uuid(), {values}) "
            "ON CONFLICT (participant_profile_id, course_identifier, declaration_type) "
            f"WHERE {LIVE_CONDITION} DO NOTHING RETURNING id",
            params,
        )
        if row is None:
            raise DuplicateLiveDeclaration()
        return uuid.UUID(str(row["id"]))

    async def record_new_declaration(
        self,
        declaration_id: uuid.UUID,
        states: Sequence[tuple[str, str | None]],
        *,
        statement_id: uuid.UUID | None,
        line_item_state: str,
        attempt_id: uuid.UUID | None,
    ) -> None:
        """A new declaration's state history, its statement line item and its attempt's link,
        written by one statement."""
        params: dict[str, object] = {"d": declaration_id}
        rows = []
        for i, (state, reason) in enumerate(states):
            params[f"state{i}"], params[f"reason{i}"] = state, reason
            rows.append(f"(gen_random_uuid(), :d, :state{i}, CAST(:reason{i} AS varchar))")
        parts = [
            "INSERT INTO declaration_states (id, participant_declaration_id, state, state_reason) "
            f"VALUES {', '.join(rows)}"
        ]
        if statement_id is not None:
            params["statement_id"], params["line_item_state"] = statement_id, line_item_state
            parts.append(
                "INSERT INTO statement_line_items (id, statement_id, participant_declaration_id, state) "
                "VALUES (gen_random_uuid(), :statement_id, :d, :line_item_state) "
                "ON CONFLICT (participant_declaration_id, statement_id, state) DO NOTHING"
            )
        if attempt_id is not None:
            params["attempt_id"] = attempt_id
            parts.append(
                "UPDATE participant_declaration_attempts SET participant_declaration_id = :d"
                " WHERE id = :attempt_id"
            )
        ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
        await self.session.execute(text(f"WITH {ctes} SELECT 1"), params)

    async def record_state(self, declaration_id: uuid.UUID, state: str, reason: str | None = None) -> None:
        await self.session.execute(
            text(
                """INSERT INTO declaration_states (id, participant_declaration_id, state, state_reason)
                   VALUES (gen_random_uuid(), :d, :state, :reason)"""
            ),
            {"d": declaration_id, "state": state, "reason": reason},
        )

    async def set_state(
        self, declaration_id: uuid.UUID, state: str, *, voided_at: datetime | None = None
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE participant_declarations
                      SET state = :state, voided_at = COALESCE(:voided_at, voided_at), updated_at = now()
                    WHERE id = :id"""
            ),
            {"id": declaration_id, "state": state, "voided_at": voided_at},
        )

    async def add_line_item(self, statement_id: uuid.UUID, declaration_id: uuid.UUID, state: str) -> None:
        await self.session.execute(
            text(
                """INSERT INTO statement_line_items (id, statement_id, participant_declaration_id, state)
                   VALUES (gen_random_uuid(), :s, :d, :state)
                   ON CONFLICT (participant_declaration_id, statement_id, state) DO NOTHING"""
            ),
            {"s": statement_id, "d": declaration_id, "state": state},
        )

    async def has_line_item(self, declaration_id: uuid.UUID, states: Sequence[str]) -> bool:
        row = await self._one(
            """SELECT 1 FROM statement_line_items
                WHERE participant_declaration_id = :d AND state = ANY(:states) LIMIT 1""",
            {"d": declaration_id, "states": list(states)},
        )
        return row is not None

    async def move_line_items(
        self, declaration_id: uuid.UUID, from_states: Sequence[str], to_state: str
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE statement_line_items SET state = :to, updated_at = now()
                    WHERE participant_declaration_id = :d AND state = ANY(:from)"""
            ),
            {"d": declaration_id, "from": list(from_states), "to": to_state},
        )

    # --- declarations by id -------------------------------------------------------------------

    async def own_declaration_for_update(
        self, cpd_lead_provider_id: uuid.UUID, declaration_id: uuid.UUID
    ) -> StoredDeclaration | None:
        row = await self._one(
            """SELECT d.id, d.programme, d.state, d.declaration_type, d.course_identifier, d.declaration_date,
                      d.participant_profile_id, d.cpd_lead_provider_id, d.cohort_id, pp.profile_type
                 FROM participant_declarations d
                 JOIN participant_profiles pp ON pp.id = d.participant_profile_id
                WHERE d.id = :id AND d.cpd_lead_provider_id = :cpd
                  FOR UPDATE OF d""",
            {"id": declaration_id, "cpd": cpd_lead_provider_id},
        )
        return StoredDeclaration(**row) if row else None

    async def statement_cohort(self, declaration: StoredDeclaration) -> uuid.UUID | None:
        """The cohort whose statements a declaration belongs on."""
        if declaration.cohort_id is not None:
            return declaration.cohort_id
        row = await self._one(
            """SELECT s.cohort_id FROM participant_profiles pp JOIN schedules s ON s.id = pp.schedule_id
                WHERE pp.id = :id""",
            {"id": declaration.participant_profile_id},
        )
        return row["cohort_id"] if row else None

    # --- NPQ outcomes and mentor completion ---------------------------------------------------

    async def latest_outcome_state(self, declaration_id: uuid.UUID) -> str | None:
        row = await self._one(
            """SELECT state FROM participant_outcomes WHERE participant_declaration_id = :d
                ORDER BY created_at DESC, id DESC LIMIT 1""",
            {"d": declaration_id},
        )
        return row["state"] if row else None

    async def add_outcome(self, declaration_id: uuid.UUID, state: str, completion_date: date) -> None:
        await self.session.execute(
            text(
                """INSERT INTO participant_outcomes (id, participant_declaration_id, state, completion_date,
                       created_at, updated_at)
                   VALUES (gen_random_uuid(), :d, :state, :completion_date,
                           clock_timestamp(), clock_timestamp())"""
            ),
            {"d": declaration_id, "state": state, "completion_date": completion_date},
        )

    async def refresh_mentor_completion(self, profile_id: uuid.UUID) -> None:
        """Mentor funding ends at early roll-out, or at the latest live `completed` declaration."""
        await self.session.execute(
            text(
                """WITH ero AS (
                       SELECT 1 FROM participant_profiles pp
                         JOIN teacher_profiles tp ON tp.id = pp.teacher_profile_id
                         JOIN ecf_ineligible_participants e ON e.trn = tp.trn
                        WHERE pp.id = :id AND e.reason = 'previous_participation'
                   ), completed AS (
                       SELECT max(declaration_date) AS at FROM participant_declarations
                        WHERE participant_profile_id = :id AND declaration_type = 'completed'
                          AND state = ANY(:live)
                   )
                   UPDATE participant_profiles SET
                       mentor_completion_date = CASE
                           WHEN EXISTS (SELECT 1 FROM ero) THEN DATE '2021-04-19'
                           ELSE (SELECT at::date FROM completed) END,
                       mentor_completion_reason = CASE
                           WHEN EXISTS (SELECT 1 FROM ero) THEN 'completed_during_early_roll_out'
                           WHEN (SELECT at FROM completed) IS NOT NULL THEN 'completed_declaration_received'
                           END,
                       updated_at = now()
                    WHERE id = :id"""
            ),
            {"id": profile_id, "live": list(LIVE_STATES)},
        )

    # --- statement transitions ----------------------------------------------------------------

    async def statement_for_update(self, statement_id: uuid.UUID) -> StatementRow | None:
        row = await self._one(
            "SELECT id, state, deadline_date, name FROM statements WHERE id = :id FOR UPDATE",
            {"id": statement_id},
        )
        return StatementRow(**row) if row else None

    async def open_statements_due(self, today: date) -> list[StatementRow]:
        """Open statements whose deadline has passed, oldest first; rows another run holds are skipped."""
        rows = await self.session.execute(
            text(
                """SELECT id, state, deadline_date, name FROM statements
                    WHERE state = 'open' AND deadline_date < :today
                    ORDER BY deadline_date, id FOR UPDATE SKIP LOCKED"""
            ),
            {"today": today},
        )
        return [StatementRow(**r) for r in rows.mappings()]

    async def move_statement_declarations(
        self, statement_id: uuid.UUID, from_state: str, to_state: str
    ) -> int:
        """Move the statement's line items and their declarations from one state to the next,
        recording each declaration's new state. Returns how many declarations moved."""
        result = await self.session.execute(
            text(
                """WITH items AS (
                       UPDATE statement_line_items SET state = :to, updated_at = now()
                        WHERE statement_id = :s AND state = :from
                       RETURNING participant_declaration_id
                   ), moved AS (
                       UPDATE participant_declarations d SET state = :to, updated_at = now()
                         FROM items WHERE d.id = items.participant_declaration_id AND d.state = :from
                       RETURNING d.id
                   )
                   INSERT INTO declaration_states (id, participant_declaration_id, state)
                   SELECT gen_random_uuid(), moved.id, :to FROM moved
                   RETURNING 1"""
            ),
            {"s": statement_id, "from": from_state, "to": to_state},
        )
        return len(result.all())

    async def set_statement_state(
        self, statement_id: uuid.UUID, state: str, *, paid_at: datetime | None
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE statements
                      SET state = :state, marked_as_paid_at = COALESCE(:paid_at, marked_as_paid_at),
                          updated_at = now()
                    WHERE id = :id"""
            ),
            {"id": statement_id, "state": state, "paid_at": paid_at},
        )
