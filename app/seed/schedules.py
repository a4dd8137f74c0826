"""Schedules and milestone dates of every cohort, as plain data.

ECF standard schedules are bounded by their milestone date; non-standard ECF and every NPQ
schedule are open-ended (no milestone date). The reference publishes no ECF schedules for
2024: they are derived here from the 2023 ones, one year later, so 2024 participants have
schedules (listed in the README's differences).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.enums import ScheduleType

ECF_TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed")
EXTENDED_TYPES = (*ECF_TYPES, "extended-1", "extended-2", "extended-3")
NPQ_LEADERSHIP_TYPES = ("started", "retained-1", "retained-2", "completed")
NPQ_SPECIALIST_TYPES = ("started", "retained-1", "completed")


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

_NON_STANDARD_START = {"september": (0, 9), "january": (1, 1), "april": (1, 4)}

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


def _shift_year(value: str, years: int) -> str:
    d = _d(value)
    return d.replace(year=d.year + years).isoformat()


def _standard(cohort: int, season: str) -> list[tuple[str, str, str]]:
    if (cohort, season) in _STANDARD:
        return _STANDARD[(cohort, season)]
    base = _STANDARD[(cohort - 1, season)]
    return [tuple(_shift_year(v, 1) for v in row) for row in base]  # type: ignore[misc]


def _title(identifier: str) -> str:
    return identifier.replace("-", " ").title().replace("Ecf", "ECF").replace("Npq", "NPQ")


def ecf_schedules(cohort: int) -> list[ScheduleData]:
    schedules: list[ScheduleData] = []
    for season in ("september", "january", "april"):
        identifier = f"ecf-standard-{season}"
        milestones = tuple(
            MilestoneData(t, _d(start), _d(end), _d(pay))
            for t, (start, end, pay) in zip(ECF_TYPES, _standard(cohort, season), strict=True)
        )
        schedules.append(ScheduleData(cohort, identifier, _title(identifier), ScheduleType.ECF, milestones))
        offset, month = _NON_STANDARD_START[season]
        start = date(cohort + offset, month, 1)
        for kind, types, schedule_type in (
            ("extended", EXTENDED_TYPES, ScheduleType.ECF),
            ("reduced", ECF_TYPES, ScheduleType.ECF),
            ("replacement", ECF_TYPES, ScheduleType.MENTOR),
        ):
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


def all_schedules(cohorts: tuple[int, ...] = (2021, 2022, 2023, 2024)) -> list[ScheduleData]:
    return [s for c in cohorts for s in (*ecf_schedules(c), *npq_schedules(c))]
