"""Every schedule and its milestones, per cohort, as plain data (no database access).

Used by the seed to create `schedules`/`milestones` rows, and reusable wherever a schedule's
windows are needed without a query (for example declaration validation tests).

Sources: the reference schedules table for 2021-2023 (ECF and NPQ) and 2024 (NPQ).

* Two ECF gaps in the reference data for 2021 are filled from the published guidance:
  the `completed` milestone of `ecf-standard-january` and the whole `ecf-standard-april`.
* The reference publishes no ECF schedules for the 2024 cohort. 2024 ECF schedules here are the
  2023 ones shifted by one year (same identifiers, same milestone shape), so 2024 ECF
  participants have a schedule. This is a deliberate difference from the reference.
* Standard ECF milestones are bounded (start_date .. milestone_date); non-standard ECF
  (extended, reduced, replacement) and every NPQ milestone is open-ended (milestone_date None)
  and shares one start date, which is also the payment date (except the NPQ overrides below).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.enums import ScheduleType
from app.domain.npq_courses import NPQ_COURSE_FAMILIES

ECF_TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed")
EXTENDED_TYPES = (*ECF_TYPES, "extended-1", "extended-2", "extended-3")
NPQ_LEADERSHIP_TYPES = ("started", "retained-1", "retained-2", "completed")
NPQ_SPECIALIST_TYPES = ("started", "retained-1", "completed")

SCHEDULE_COHORTS = (2021, 2022, 2023, 2024)
DEFAULT_ECF_SCHEDULE = "ecf-standard-september"


@dataclass(frozen=True)
class MilestoneData:
    declaration_type: str
    start_date: date
    milestone_date: date | None
    payment_date: date


@dataclass(frozen=True)
class ScheduleData:
    cohort: int
    identifier: str
    name: str
    schedule_type: ScheduleType
    milestones: tuple[MilestoneData, ...]

    def milestone(self, declaration_type: str) -> MilestoneData | None:
        return next((m for m in self.milestones if m.declaration_type == declaration_type), None)


def _d(value: str) -> date:
    return date.fromisoformat(value)


# (start, milestone_date, payment_date) per declaration type, in ECF_TYPES order.
_STANDARD: dict[tuple[int, str], list[tuple[str, str, str]]] = {
    (2021, "september"): [
        ("2021-09-01", "2021-11-30", "2021-11-30"),
        ("2021-09-01", "2022-01-31", "2022-02-28"),
        ("2022-02-01", "2022-04-30", "2022-05-31"),
        ("2022-05-01", "2022-09-30", "2022-10-31"),
        ("2022-10-01", "2023-01-31", "2023-02-28"),
        ("2023-02-01", "2023-04-30", "2023-05-31"),
    ],
    (2021, "january"): [
        ("2021-12-01", "2022-01-31", "2022-02-28"),
        ("2022-02-01", "2022-04-30", "2022-05-31"),
        ("2022-05-01", "2022-09-30", "2022-10-31"),
        ("2022-10-01", "2023-01-31", "2023-02-28"),
        ("2023-02-01", "2023-04-30", "2023-05-31"),
        ("2023-05-01", "2023-10-31", "2023-11-30"),  # from the published guidance
    ],
    (2021, "april"): [  # from the published guidance
        ("2022-02-01", "2022-05-31", "2022-05-31"),
        ("2022-05-01", "2022-09-30", "2022-10-31"),
        ("2022-10-01", "2023-01-31", "2023-02-28"),
        ("2023-02-01", "2023-04-30", "2023-05-31"),
        ("2023-05-01", "2023-10-31", "2023-11-30"),
        ("2023-11-01", "2024-01-31", "2024-02-28"),
    ],
    (2022, "september"): [
        ("2022-06-01", "2022-12-31", "2022-11-30"),
        ("2023-01-01", "2023-03-31", "2023-04-30"),
        ("2023-04-01", "2023-07-31", "2023-08-31"),
        ("2023-08-01", "2023-12-31", "2024-01-31"),
        ("2024-01-01", "2024-03-31", "2024-04-30"),
        ("2024-04-01", "2024-07-31", "2024-08-31"),
    ],
    (2022, "january"): [
        ("2023-01-01", "2023-03-31", "2023-04-30"),
        ("2023-04-01", "2023-07-31", "2023-08-31"),
        ("2023-08-01", "2023-12-31", "2024-01-31"),
        ("2024-01-01", "2024-03-31", "2024-04-30"),
        ("2024-04-01", "2024-07-31", "2024-08-31"),
        ("2024-08-01", "2024-12-31", "2025-01-31"),
    ],
    (2022, "april"): [
        ("2023-04-01", "2023-07-31", "2023-08-31"),
        ("2023-08-01", "2023-12-31", "2024-01-31"),
        ("2024-01-01", "2024-03-31", "2024-04-30"),
        ("2024-04-01", "2024-07-31", "2024-08-31"),
        ("2024-08-01", "2024-12-31", "2025-01-31"),
        ("2025-01-01", "2025-03-31", "2025-04-30"),
    ],
    (2023, "september"): [
        ("2023-06-01", "2023-12-31", "2023-11-30"),
        ("2024-01-01", "2024-03-31", "2024-04-30"),
        ("2024-04-01", "2024-07-31", "2024-08-31"),
        ("2024-08-01", "2024-12-31", "2025-01-31"),
        ("2025-01-01", "2025-03-31", "2025-04-30"),
        ("2025-04-01", "2025-07-31", "2025-08-31"),
    ],
    (2023, "january"): [
        ("2024-01-01", "2024-03-31", "2024-04-30"),
        ("2024-04-01", "2024-07-31", "2024-08-31"),
        ("2024-08-01", "2024-12-31", "2025-01-31"),
        ("2025-01-01", "2025-03-31", "2025-04-30"),
        ("2025-04-01", "2025-07-31", "2025-08-31"),
        ("2025-08-01", "2025-12-31", "2026-01-31"),
    ],
    (2023, "april"): [
        ("2024-04-01", "2024-07-31", "2024-08-31"),
        ("2024-08-01", "2024-12-31", "2025-01-31"),
        ("2025-01-01", "2025-03-31", "2025-04-30"),
        ("2025-04-01", "2025-07-31", "2025-08-31"),
        ("2025-08-01", "2025-12-31", "2026-01-31"),
        ("2026-01-01", "2026-03-31", "2026-04-30"),
    ],
}

_NPQ: list[tuple[str, ScheduleType, tuple[str, ...], dict[int, str]]] = [
    (
        "npq-leadership-autumn",
        ScheduleType.NPQ_LEADERSHIP,
        NPQ_LEADERSHIP_TYPES,
        {2021: "2021-11-01", 2022: "2022-10-01", 2023: "2023-10-01", 2024: "2024-11-01"},
    ),
    (
        "npq-leadership-spring",
        ScheduleType.NPQ_LEADERSHIP,
        NPQ_LEADERSHIP_TYPES,
        {2021: "2022-01-01", 2022: "2023-01-01", 2023: "2024-01-01", 2024: "2025-01-01"},
    ),
    (
        "npq-specialist-autumn",
        ScheduleType.NPQ_SPECIALIST,
        NPQ_SPECIALIST_TYPES,
        {2021: "2021-11-01", 2022: "2022-10-01", 2023: "2023-10-01", 2024: "2024-11-01"},
    ),
    (
        "npq-specialist-spring",
        ScheduleType.NPQ_SPECIALIST,
        NPQ_SPECIALIST_TYPES,
        {2021: "2022-01-01", 2022: "2023-01-01", 2023: "2024-01-01", 2024: "2025-01-01"},
    ),
    (
        "npq-ehco-november",
        ScheduleType.NPQ_EHCO,
        NPQ_LEADERSHIP_TYPES,
        {2022: "2022-10-01", 2023: "2023-11-01", 2024: "2024-11-01"},
    ),
    (
        "npq-ehco-december",
        ScheduleType.NPQ_EHCO,
        NPQ_LEADERSHIP_TYPES,
        {2022: "2022-12-01", 2023: "2023-12-01", 2024: "2024-12-01"},
    ),
    (
        "npq-ehco-march",
        ScheduleType.NPQ_EHCO,
        NPQ_LEADERSHIP_TYPES,
        {2022: "2023-03-01", 2023: "2024-03-01", 2024: "2025-03-01"},
    ),
    (
        "npq-ehco-june",
        ScheduleType.NPQ_EHCO,
        NPQ_LEADERSHIP_TYPES,
        {2021: "2022-06-01", 2022: "2023-06-01", 2023: "2024-06-01", 2024: "2025-06-01"},
    ),
    ("npq-aso-november", ScheduleType.NPQ_SUPPORT, NPQ_LEADERSHIP_TYPES, {2021: "2021-11-01"}),
    ("npq-aso-december", ScheduleType.NPQ_SUPPORT, NPQ_LEADERSHIP_TYPES, {2021: "2021-12-01"}),
    ("npq-aso-march", ScheduleType.NPQ_SUPPORT, NPQ_LEADERSHIP_TYPES, {2021: "2022-03-01"}),
    ("npq-aso-june", ScheduleType.NPQ_SUPPORT, NPQ_LEADERSHIP_TYPES, {2021: "2022-06-01"}),
]
# Autumn schedules of 2022/2023 and the 2022 EHCO November schedule pay on 1 November.
_NPQ_PAYMENT_OVERRIDES = {
    ("npq-leadership-autumn", 2022): "2022-11-01",
    ("npq-leadership-autumn", 2023): "2023-11-01",
    ("npq-specialist-autumn", 2022): "2022-11-01",
    ("npq-specialist-autumn", 2023): "2023-11-01",
    ("npq-ehco-november", 2022): "2022-11-01",
}

# Non-standard ECF schedules start on one date per season: (years after the cohort's, month).
_NON_STANDARD_START = {"september": (0, 9), "january": (1, 1), "april": (1, 4)}
_NON_STANDARD = (
    ("extended", EXTENDED_TYPES, ScheduleType.ECF),
    ("reduced", ECF_TYPES, ScheduleType.ECF),
    # Replacement schedules are for mentors who replace another mentor.
    ("replacement", ECF_TYPES, ScheduleType.MENTOR),
)


def _next_year(value: str) -> str:
    d = _d(value)
    # 29 February has no counterpart in the following year.
    return (d.replace(day=28) if (d.month, d.day) == (2, 29) else d).replace(year=d.year + 1).isoformat()


def _standard(cohort: int, season: str) -> list[tuple[str, str, str]]:
    if (cohort, season) in _STANDARD:
        return _STANDARD[(cohort, season)]
    if cohort > 2023:
        # No published ECF schedules after 2023: repeat the previous cohort's one year later.
        return [(_next_year(a), _next_year(b), _next_year(c)) for a, b, c in _standard(cohort - 1, season)]
    raise KeyError(f"no ECF standard schedule for {cohort} {season}")


def _title(identifier: str) -> str:
    words = identifier.replace("-", " ").title().split()
    acronyms = {"Ecf": "ECF", "Npq": "NPQ", "Ehco": "EHCO", "Aso": "ASO"}
    return " ".join(acronyms.get(w, w) for w in words)


def ecf_schedules(cohort: int) -> list[ScheduleData]:
    schedules: list[ScheduleData] = []
    for season in ("september", "january", "april"):
        identifier = f"ecf-standard-{season}"
        milestones = tuple(
            MilestoneData(t, _d(start), _d(end), _d(pay))
            for t, (start, end, pay) in zip(ECF_TYPES, _standard(cohort, season), strict=True)
        )
        schedules.append(ScheduleData(cohort, identifier, _title(identifier), ScheduleType.ECF, milestones))
        years, month = _NON_STANDARD_START[season]
        start = date(cohort + years, month, 1)
        for kind, types, schedule_type in _NON_STANDARD:
            identifier = f"ecf-{kind}-{season}"
            milestones = tuple(MilestoneData(t, start, None, start) for t in types)
            schedules.append(ScheduleData(cohort, identifier, _title(identifier), schedule_type, milestones))
    return schedules


def npq_schedules(cohort: int) -> list[ScheduleData]:
    schedules: list[ScheduleData] = []
    for identifier, schedule_type, types, starts in _NPQ:
        if cohort not in starts:
            continue
        start = _d(starts[cohort])
        payment = _d(_NPQ_PAYMENT_OVERRIDES.get((identifier, cohort), starts[cohort]))
        milestones = tuple(MilestoneData(t, start, None, payment) for t in types)
        schedules.append(ScheduleData(cohort, identifier, _title(identifier), schedule_type, milestones))
    return schedules


def all_schedules(cohorts: tuple[int, ...] = SCHEDULE_COHORTS) -> list[ScheduleData]:
    return [s for c in cohorts for s in (*ecf_schedules(c), *npq_schedules(c))]


def find_schedule(cohort: int, identifier: str) -> ScheduleData | None:
    return next((s for s in all_schedules((cohort,)) if s.identifier == identifier), None)


def npq_schedules_for_course(cohort: int, course_identifier: str) -> list[ScheduleData]:
    """The cohort's schedules a course may use, in reference order (autumn before spring, ...)."""
    family = NPQ_COURSE_FAMILIES[course_identifier]
    return [s for s in npq_schedules(cohort) if s.schedule_type is family]
