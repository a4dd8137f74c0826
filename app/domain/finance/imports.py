"""Loading statement schedules and contracts.

Both importers validate the whole input first and report every problem at once
(`ValidationFailed`, one (where, message) pair per problem); they write only when all of it is
valid, inside the caller's transaction, so a bad file changes nothing.

Statement schedule (CSV, as the reference's `statements.csv`):

    type,name,cohort,deadline_date,payment_date,output_fee
    ecf,November 2025,2025,2025-10-31,2025-11-25,true

Each row creates the statement for every provider holding a contract of that programme for that
cohort; a statement that exists (same provider, cohort, programme and name) is skipped. Its
state follows the dates: paid once the payment date has passed, payable from the deadline to the
payment date, else open. Its contract version is that of the provider's latest statement of the
cohort, or 0.0.1.

Contracts (JSON; see `CONTRACT_FORMAT` for every field):

    {"ecf": [{"lead_provider": "Ambition Institute", "cohort": 2025, "recruitment_target": 6000,
              "set_up_fee": "149651", "monthly_service_fee": null, "uplift_amount": "100",
              "bands": [{"min": null, "max": 2000, "per_participant": "995"}, ...]}],
     "npq": [{"lead_provider": "Ambition Institute", "cohort": 2025,
              "course_identifier": "npq-headship", "recruitment_target": 800,
              "per_participant": "1985", "service_fee_installments": 18}]}

A contract is identified by provider, cohort, version (and course for NPQ): loading it again
replaces its terms (and bands). To change the terms of statements already paid, load a new
version instead and point new statements at it.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.audit import audit
from app.domain.enums import NPQ_COURSE_IDENTIFIERS, ProgrammeType, StatementState
from app.domain.errors import ValidationFailed
from app.repositories.finance import FinanceRepository, NewStatement, ProviderRoles

DEFAULT_CONTRACT_VERSION = "0.0.1"
STATEMENT_HEADERS = ("type", "name", "cohort", "deadline_date", "payment_date", "output_fee")
MAX_BANDS = 4
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TRUE = ("true", "t", "yes", "y", "1", "on")
_FALSE = ("false", "f", "no", "n", "0", "off")
# Numeric(12, 2) and Numeric(6, 4) columns.
_MAX_MONEY = Decimal("10000000000")
_MAX_SHARE = Decimal("100")

# Every contract field: (required, kind, default). Kinds: text, int, money, share, percent, bool.
_ECF_FIELDS: dict[str, tuple[bool, str, Any]] = {
    "lead_provider": (True, "text", None),
    "cohort": (True, "int", None),
    "version": (False, "text", DEFAULT_CONTRACT_VERSION),
    "recruitment_target": (True, "int", None),
    "revised_target": (False, "int", None),
    "set_up_fee": (False, "money", Decimal("0")),
    "monthly_service_fee": (False, "money", None),
    "uplift_amount": (False, "money", None),
    "uplift_target": (False, "share", None),
    "bands": (True, "bands", None),
}
_BAND_FIELDS: dict[str, tuple[bool, str, Any]] = {
    "min": (False, "int", None),
    "max": (False, "int", None),
    "per_participant": (True, "money", None),
    "output_payment_percentage": (False, "percent", 60),
    "service_fee_percentage": (False, "percent", 40),
}
_NPQ_FIELDS: dict[str, tuple[bool, str, Any]] = {
    "lead_provider": (True, "text", None),
    "cohort": (True, "int", None),
    "course_identifier": (True, "text", None),
    "version": (False, "text", DEFAULT_CONTRACT_VERSION),
    "recruitment_target": (True, "int", None),
    "per_participant": (True, "money", None),
    "service_fee_percentage": (False, "percent", 40),
    "output_payment_percentage": (False, "percent", 60),
    "service_fee_installments": (False, "int", 0),
    "number_of_payment_periods": (False, "int", None),
    "monthly_service_fee": (False, "money", None),
    "targeted_delivery_funding_per_participant": (False, "money", Decimal("100")),
    "special_course": (False, "bool", False),
}
CONTRACT_FORMAT = {"ecf": _ECF_FIELDS, "ecf bands": _BAND_FIELDS, "npq": _NPQ_FIELDS}

BLANK = "can't be blank"
NOT_A_LIST = "must be a list"
NOT_AN_OBJECT = "must be an object"
NOT_A_FIELD = "is not a field of this record"
NOT_A_WHOLE_NUMBER = "must be a whole number, 0 or more"
NOT_MONEY = "must be an amount of 0 or more with at most 2 decimal places"
NOT_A_SHARE = "must be a number from 0 to 100 with at most 4 decimal places"
NOT_A_PERCENTAGE = "must be a whole number from 0 to 100"
NOT_A_BOOLEAN = "must be true or false"
NO_CONTRACTS = "the document must have an `ecf` or an `npq` list of contracts"


# ---- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    line: int
    programme: str
    name: str
    cohort: int
    deadline_date: date
    payment_date: date
    output_fee: bool


@dataclass(frozen=True)
class CreatedStatement:
    programme: str
    provider_name: str
    cohort: int
    name: str
    state: str


@dataclass
class StatementImportResult:
    created: list[CreatedStatement] = field(default_factory=list)
    skipped: int = 0


def statement_state(deadline_date: date, payment_date: date, today: date) -> StatementState:
    """A new statement's state from its dates, as the reference's importer decides it."""
    if payment_date < today:
        return StatementState.PAID
    if deadline_date <= today <= payment_date:
        return StatementState.PAYABLE
    return StatementState.OPEN


def parse_date(value: str) -> date | None:
    """YYYY-MM-DD; like the reference's data, month and day may have one digit (2025-1-25)."""
    match = _DATE.match(value.strip())
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_boolean(value: str) -> bool | None:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def parse_statement_schedule(content: str) -> list[ScheduleRow]:
    """The rows of a schedule file; every problem is reported with its line number."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    headers = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [h for h in STATEMENT_HEADERS if h not in headers]
    if missing:
        raise ValidationFailed([("headers", f"missing column: {name}") for name in missing])
    reader.fieldnames = headers
    errors: list[tuple[str, str]] = []
    rows: list[ScheduleRow] = []
    seen: dict[tuple[str, str, int], int] = {}
    for values in reader:
        line = reader.line_num
        cell = {h: (values.get(h) or "").strip() for h in STATEMENT_HEADERS}
        where = f"line {line}"
        problems: list[str] = []
        programme = cell["type"].lower()
        if programme not in (ProgrammeType.ECF, ProgrammeType.NPQ):
            problems.append(f"type must be ecf or npq, not {cell['type']!r}")
        if not cell["name"]:
            problems.append(f"name {BLANK}")
        cohort = int(cell["cohort"]) if cell["cohort"].isdigit() else None
        if cohort is None:
            problems.append(f"cohort must be a start year, not {cell['cohort']!r}")
        dates = {}
        for column in ("deadline_date", "payment_date"):
            dates[column] = parse_date(cell[column])
            if dates[column] is None:
                problems.append(f"{column} must be a date (YYYY-MM-DD), not {cell[column]!r}")
        output_fee = parse_boolean(cell["output_fee"])
        if output_fee is None:
            problems.append(f"output_fee must be true or false, not {cell['output_fee']!r}")
        if problems:
            errors.extend((where, p) for p in problems)
            continue
        assert cohort is not None and output_fee is not None
        key = (programme, cell["name"], cohort)
        if key in seen:
            errors.append((where, f"repeats line {seen[key]} ({programme} {cell['name']}, cohort {cohort})"))
            continue
        seen[key] = line
        rows.append(
            ScheduleRow(
                line=line,
                programme=programme,
                name=cell["name"],
                cohort=cohort,
                deadline_date=dates["deadline_date"] or date.min,
                payment_date=dates["payment_date"] or date.min,
                output_fee=output_fee,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    if not rows:
        raise ValidationFailed([("file", "has no statement rows")])
    return rows


class StatementImporter:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = FinanceRepository(session)

    async def load(self, content: str, today: date) -> StatementImportResult:
        rows = parse_statement_schedule(content)
        cohorts = await self.repo.cohort_ids(sorted({r.cohort for r in rows}))
        unknown = [
            (f"line {r.line}", f"cohort {r.cohort} does not exist") for r in rows if r.cohort not in cohorts
        ]
        if unknown:
            raise ValidationFailed(unknown)
        holders = await self.repo.providers_with_contracts(list(cohorts.values()))
        existing, versions = await self.repo.existing_statements(list(cohorts.values()))
        result = StatementImportResult()
        new: list[NewStatement] = []
        for row in rows:
            cohort_id = cohorts[row.cohort]
            for holder in holders:
                if holder.programme != row.programme or holder.cohort_id != cohort_id:
                    continue
                key = (row.programme, holder.cpd_lead_provider_id, cohort_id)
                if (*key, row.name) in existing:
                    result.skipped += 1
                    continue
                state = statement_state(row.deadline_date, row.payment_date, today)
                new.append(
                    NewStatement(
                        programme=row.programme,
                        name=row.name,
                        cpd_lead_provider_id=holder.cpd_lead_provider_id,
                        cohort_id=cohort_id,
                        deadline_date=row.deadline_date,
                        payment_date=row.payment_date,
                        output_fee=row.output_fee,
                        contract_version=versions.get(key, DEFAULT_CONTRACT_VERSION),
                        state=state.value,
                    )
                )
                result.created.append(
                    CreatedStatement(row.programme, holder.provider_name, row.cohort, row.name, state.value)
                )
        inserted = await self.repo.insert_statements(new)
        # Rows another import created meanwhile count as skipped.
        kept = [
            s
            for s, n in zip(result.created, new, strict=True)
            if (n.programme, n.cpd_lead_provider_id, n.cohort_id, n.name) in inserted
        ]
        result.skipped += len(result.created) - len(kept)
        result.created = kept
        await audit(
            self.session,
            "statements.imported",
            "statement_schedule",
            "import",
            created=len(result.created),
            skipped=result.skipped,
        )
        return result


# ---- contracts ----------------------------------------------------------------------------------


@dataclass
class ContractImportResult:
    ecf_created: int = 0
    ecf_updated: int = 0
    npq_created: int = 0
    npq_updated: int = 0


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        # A JSON number is read as its shortest text, so 995.5 is exactly 995.5.
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _money(value: Any) -> Decimal | None:
    number = _decimal(value)
    if number is None or number < 0 or number >= _MAX_MONEY or number != round(number, 2):
        return None
    return number


def _share(value: Any) -> Decimal | None:
    number = _decimal(value)
    if number is None or number < 0 or number >= _MAX_SHARE or number != round(number, 4):
        return None
    return number


def _percent(value: Any) -> int | None:
    number = _whole_number(value)
    return number if number is not None and number <= 100 else None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return parse_boolean(value) if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


_PARSERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "text": (_text, BLANK),
    "int": (_whole_number, NOT_A_WHOLE_NUMBER),
    "money": (_money, NOT_MONEY),
    "share": (_share, NOT_A_SHARE),
    "percent": (_percent, NOT_A_PERCENTAGE),
    "bool": (_boolean, NOT_A_BOOLEAN),
}


class _Errors(list[tuple[str, str]]):
    def add(self, where: str, message: str) -> None:
        self.append((where, message))


def _fields(
    record: Any, spec: dict[str, tuple[bool, str, Any]], where: str, errors: _Errors
) -> dict[str, Any] | None:
    """A record's values by its spec: defaults for absent fields, an error per bad one."""
    if not isinstance(record, dict):
        errors.add(where, NOT_AN_OBJECT)
        return None
    values: dict[str, Any] = {}
    for name in record:
        if name not in spec:
            errors.add(f"{where}.{name}", NOT_A_FIELD)
    for name, (required, kind, default) in spec.items():
        raw = record.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                errors.add(f"{where}.{name}", BLANK)
            values[name] = default
            continue
        if kind == "bands":
            values[name] = raw
            continue
        parse, message = _PARSERS[kind]
        parsed = parse(raw)
        if parsed is None:
            errors.add(f"{where}.{name}", message)
        values[name] = parsed
    return values


def _bands(raw: Any, where: str, set_up_fee: Decimal | None, errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors.add(where, f"{NOT_A_LIST} of 1 to {MAX_BANDS} bands")
        return []
    if len(raw) > MAX_BANDS:
        errors.add(where, f"has {len(raw)} bands: at most {MAX_BANDS} (A to D)")
        return []
    bands = []
    for i, band in enumerate(raw):
        values = _fields(band, _BAND_FIELDS, f"{where}[{i}]", errors)
        if values is None:
            return []
        bands.append(values)
    # Letter order: a missing min first, then by max.
    ordered = sorted(
        bands,
        key=lambda b: (b["min"] is not None, b["min"] or 0, b["max"] is None, b["max"] or 0),
    )
    for letter, band in zip("ABCD", ordered, strict=False):
        low = band["min"] or 0
        if band["max"] is not None and band["max"] < max(low, 1):
            errors.add(f"{where}.{letter}", "max must be at least min (and at least 1)")
    first = ordered[0]
    if first["min"] not in (None, 0, 1):
        errors.add(f"{where}.A", "the first band must start at the first participant (min empty, 0 or 1)")
    for letter, (lower, upper) in zip("BCD", itertools.pairwise(ordered), strict=False):
        if lower["max"] is None:
            errors.add(f"{where}.{letter}", "only the last band may have no max")
        elif upper["min"] != lower["max"] + 1:
            errors.add(f"{where}.{letter}", f"min must follow the previous band's max ({lower['max'] + 1})")
    if set_up_fee and first["max"] is None:
        errors.add(f"{where}.A", "a set-up fee is spread over band A's places: band A needs a max")
    return ordered


class ContractImporter:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = FinanceRepository(session)

    async def load(self, document: Any) -> ContractImportResult:
        errors = _Errors()
        if not isinstance(document, dict) or not any(k in document for k in ("ecf", "npq")):
            raise ValidationFailed([("document", NO_CONTRACTS)])
        for name in document:
            if name not in ("ecf", "npq"):
                errors.add(name, NOT_A_FIELD)
        lists: dict[str, list[Any]] = {}
        for programme in ("ecf", "npq"):
            raw = document.get(programme, [])
            if not isinstance(raw, list):
                errors.add(programme, NOT_A_LIST)
                raw = []
            lists[programme] = raw
        ecf = [_fields(r, _ECF_FIELDS, f"ecf[{i}]", errors) for i, r in enumerate(lists["ecf"])]
        npq = [_fields(r, _NPQ_FIELDS, f"npq[{i}]", errors) for i, r in enumerate(lists["npq"])]
        bands = [
            _bands(c["bands"], f"ecf[{i}].bands", c["set_up_fee"], errors)
            if c and c["bands"] is not None
            else []
            for i, c in enumerate(ecf)
        ]
        for i, c in enumerate(npq):
            if c and c["course_identifier"] and c["course_identifier"] not in NPQ_COURSE_IDENTIFIERS:
                errors.add(f"npq[{i}].course_identifier", f"{c['course_identifier']!r} is not an NPQ course")
        names = {c["lead_provider"] for c in (*ecf, *npq) if c and c["lead_provider"]}
        providers = await self.repo.providers(sorted(names))
        years = {c["cohort"] for c in (*ecf, *npq) if c and c["cohort"] is not None}
        cohorts = await self.repo.cohort_ids(sorted(years))

        def resolve(c: dict[str, Any], where: str, role: str) -> ProviderRoles | None:
            found = None
            if c["lead_provider"]:
                found = providers.get(c["lead_provider"].lower())
                if found is None:
                    errors.add(
                        f"{where}.lead_provider", f"no lead provider named or with id {c['lead_provider']!r}"
                    )
                elif getattr(found, role) is None:
                    kind = "an ECF" if role == "lead_provider_id" else "an NPQ"
                    errors.add(f"{where}.lead_provider", f"{found.name} is not {kind} lead provider")
                    found = None
            if c["cohort"] is not None and c["cohort"] not in cohorts:
                errors.add(f"{where}.cohort", f"cohort {c['cohort']} does not exist")
            return found

        ecf_rows: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        seen: dict[tuple[object, ...], str] = {}
        for i, (c, c_bands) in enumerate(zip(ecf, bands, strict=True)):
            if c is None:
                continue
            p = resolve(c, f"ecf[{i}]", "lead_provider_id")
            if p is None or c["cohort"] not in cohorts:
                continue
            key: tuple[object, ...] = ("ecf", p.lead_provider_id, c["cohort"], c["version"])
            if key in seen:
                errors.add(f"ecf[{i}]", f"is the same contract as {seen[key]}")
            seen[key] = f"ecf[{i}]"
            values = {
                "lead_provider_id": p.lead_provider_id,
                "cohort_id": cohorts[c["cohort"]],
                **{k: c[k] for k in ("version", "recruitment_target", "revised_target", "set_up_fee")},
                **{k: c[k] for k in ("uplift_target", "uplift_amount", "monthly_service_fee")},
                "raw": json.dumps(_raw(c, c_bands, p)),
            }
            ecf_rows.append((values, [{k: b[k] for k in _BAND_FIELDS} for b in c_bands]))
        npq_rows: list[dict[str, Any]] = []
        for i, c in enumerate(npq):
            if c is None:
                continue
            p = resolve(c, f"npq[{i}]", "npq_lead_provider_id")
            if p is None or c["cohort"] not in cohorts:
                continue
            key = ("npq", p.npq_lead_provider_id, c["cohort"], c["course_identifier"], c["version"])
            if key in seen:
                errors.add(f"npq[{i}]", f"is the same contract as {seen[key]}")
            seen[key] = f"npq[{i}]"
            npq_rows.append(
                {
                    "npq_lead_provider_id": p.npq_lead_provider_id,
                    "cohort_id": cohorts[c["cohort"]],
                    **{k: c[k] for k in _NPQ_FIELDS if k not in ("lead_provider", "cohort")},
                }
            )
        if errors:
            raise ValidationFailed(errors)
        result = ContractImportResult()
        for values, band_values in ecf_rows:
            if await self.repo.save_ecf_contract(values, band_values):
                result.ecf_created += 1
            else:
                result.ecf_updated += 1
        for values in npq_rows:
            if await self.repo.save_npq_contract(values):
                result.npq_created += 1
            else:
                result.npq_updated += 1
        await audit(
            self.session,
            "contracts.imported",
            "contracts",
            "import",
            ecf_created=result.ecf_created,
            ecf_updated=result.ecf_updated,
            npq_created=result.npq_created,
            npq_updated=result.npq_updated,
        )
        return result


def _raw(contract: dict[str, Any], bands: list[dict[str, Any]], provider: ProviderRoles) -> dict[str, Any]:
    """The contract as loaded, kept with it (amounts as text)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    values = {k: plain(v) for k, v in contract.items() if k != "bands"}
    values["lead_provider_name"] = provider.name
    values["bands"] = [
        {"band": letter, **{k: plain(v) for k, v in band.items()}}
        for letter, band in zip("ABCD", bands, strict=False)
    ]
    return values
