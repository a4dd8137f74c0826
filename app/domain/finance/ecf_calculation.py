"""The ECF statement calculation: service fee, banded output payments, clawbacks, uplifts, VAT.

Pure: the caller loads the contract and the line-item counts (this statement's and those of the
provider's earlier statements of the same cohort) and gets a breakdown back. Every amount is an
exact `Decimal`; nothing is rounded here (see `money.to_pence` for display).

The rules, as the reference computes them:

* Service fee: the contract's `monthly_service_fee` when it states one (0 included: no fee),
  else the bands' service fees over the recruitment target divided by 29 instalments, band A
  carrying the set-up fee spread over its places.
* Output payments are banded per declaration type: what earlier statements paid (billable minus
  refundable line items) fills bands A->D first, this statement's billable line items fill what
  is left, and its refundable ones are taken back from the highest band down, first from this
  statement's fills, then from earlier ones (a negative count). Each is priced at the band it
  lands in: the declaration type's share of the band's output payment per participant.
* Uplifts (`started` line items of participants with a sparsity or pupil-premium flag) pay the
  contract's uplift amount each, up to a cap of 5 % of the total contract value (rounded up to
  £100) over the cohort; uplift clawbacks are deducted in full.
* Total = service fee + output fee + uplifts + adjustments (clawbacks, uplift clawbacks) + finance
  adjustments + the statement's reconcile amount; VAT at 20 % when the provider charges VAT.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from app.domain.finance.money import ZERO

DECLARATION_TYPES = (
    "started",
    "retained-1",
    "retained-2",
    "retained-3",
    "retained-4",
    "completed",
    "extended-1",
    "extended-2",
    "extended-3",
)
# Each declaration type's share of a band's output payment per participant.
_STARTED_OR_COMPLETED = Decimal("0.2")
_RETAINED_OR_EXTENDED = Decimal("0.15")
DECLARATION_SHARES: dict[str, Decimal] = {
    t: _STARTED_OR_COMPLETED if t in ("started", "completed") else _RETAINED_OR_EXTENDED
    for t in DECLARATION_TYPES
}
SERVICE_FEE_INSTALMENTS = 29
UPLIFT_CAP_SHARE = Decimal("0.05")
UPLIFT_CAP_STEP = Decimal("100")
VAT_RATE = Decimal("0.2")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Band:
    """A price band. `min` None means the band starts at the first participant; `max` None
    means it has no upper limit."""

    min: int | None
    max: int | None
    per_participant: Decimal
    output_payment_percentage: int = 60
    service_fee_percentage: int = 40

    @property
    def lower_boundary(self) -> int:
        """Participants below this band (the bands are written 1-2000, 2001-4000, ...)."""
        return max((self.min or 0) - 1, 0)

    def participants_within(self, total: int) -> int:
        """How many of `total` participants fall in this band (service fee and contract value)."""
        if total < self.lower_boundary:
            return 0
        if self.max is None or total <= self.max:
            return total - self.lower_boundary
        return self.max - self.lower_boundary

    @property
    def output_capacity(self) -> int | None:
        """Places for declarations of one type (None: unlimited); a missing or 0 min counts from 1."""
        if self.max is None:
            return None
        return self.max - max(self.min or 0, 1) + 1

    @property
    def output_payment_per_participant(self) -> Decimal:
        return self.per_participant * self.output_payment_percentage / HUNDRED

    def fee_per_declaration(self, declaration_type: str) -> Decimal:
        return DECLARATION_SHARES[declaration_type] * self.output_payment_per_participant


def ordered_bands(bands: Sequence[Band]) -> tuple[Band, ...]:
    """Band order: min ascending with a missing min first, then max ascending (letters follow it)."""
    return tuple(
        sorted(
            bands,
            key=lambda b: (b.min is not None, b.min or 0, b.max is None, b.max or 0),
        )
    )


def band_letter(index: int) -> str:
    return string.ascii_uppercase[index]


@dataclass(frozen=True)
class EcfContract:
    recruitment_target: int
    set_up_fee: Decimal
    monthly_service_fee: Decimal | None
    uplift_amount: Decimal | None
    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", ordered_bands(self.bands))

    @property
    def total_contract_value(self) -> Decimal:
        return sum(
            (b.participants_within(self.recruitment_target) * b.per_participant for b in self.bands), ZERO
        )

    @property
    def uplift_cap(self) -> Decimal:
        """5 % of the total contract value, rounded up to the next £100."""
        share = self.total_contract_value * UPLIFT_CAP_SHARE
        return (share / UPLIFT_CAP_STEP).to_integral_value(rounding=ROUND_CEILING) * UPLIFT_CAP_STEP

    @property
    def set_up_cost_per_participant(self) -> Decimal:
        """The set-up fee spread over band A's places (nothing when band A has no upper limit)."""
        band_a = self.bands[0] if self.bands else None
        if band_a is None or not band_a.max:
            return ZERO
        return self.set_up_fee / band_a.max

    def service_fee_per_participant(self, band: Band) -> Decimal:
        gross = band.per_participant * band.service_fee_percentage / HUNDRED
        return gross - self.set_up_cost_per_participant if band.lower_boundary == 0 else gross


@dataclass(frozen=True)
class LineItemCounts:
    """Line items of one kind: billable (eligible, payable, paid) and refundable (awaiting
    clawback, clawed back)."""

    billable: int = 0
    refundable: int = 0

    @property
    def net(self) -> int:
        return self.billable - self.refundable


@dataclass(frozen=True)
class Adjustment:
    payment_type: str
    amount: Decimal


@dataclass(frozen=True)
class EcfStatementInput:
    contract: EcfContract
    # Per declaration type: this statement's line items, and those of earlier statements.
    current: Mapping[str, LineItemCounts] = field(default_factory=dict)
    previous: Mapping[str, LineItemCounts] = field(default_factory=dict)
    # `started` line items carrying an uplift flag.
    uplift_current: LineItemCounts = LineItemCounts()
    uplift_previous: LineItemCounts = LineItemCounts()
    finance_adjustments: tuple[Adjustment, ...] = ()
    reconcile_amount: Decimal = ZERO
    vat_chargeable: bool = True


# ---- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandServiceFee:
    band: str
    participants: int
    per_participant: Decimal
    total: Decimal

    @property
    def monthly(self) -> Decimal:
        return self.total / SERVICE_FEE_INSTALMENTS


@dataclass(frozen=True)
class BandFill:
    """One band's share of a declaration type on this statement."""

    band: str
    fee_per_declaration: Decimal
    previous_count: int
    additions: int
    subtractions: int
    count: int

    @property
    def additions_amount(self) -> Decimal:
        return self.additions * self.fee_per_declaration

    @property
    def subtractions_amount(self) -> Decimal:
        return self.subtractions * self.fee_per_declaration


@dataclass(frozen=True)
class DeclarationTypeBreakdown:
    declaration_type: str
    bands: tuple[BandFill, ...]

    @property
    def additions(self) -> int:
        return sum(b.additions for b in self.bands)

    @property
    def subtractions(self) -> int:
        return sum(b.subtractions for b in self.bands)

    @property
    def additions_amount(self) -> Decimal:
        return sum((b.additions_amount for b in self.bands), ZERO)

    @property
    def subtractions_amount(self) -> Decimal:
        return sum((b.subtractions_amount for b in self.bands), ZERO)


@dataclass(frozen=True)
class UpliftBreakdown:
    fee_per_participant: Decimal
    cap: Decimal
    previous_count: int
    additions: int
    subtractions: int
    available: Decimal
    # Paid on this statement (within the cap) and clawed back on it (a negative amount).
    total: Decimal
    clawback_deductions: Decimal

    @property
    def count(self) -> int:
        return self.additions - self.subtractions


@dataclass(frozen=True)
class EcfBreakdown:
    service_fee: Decimal
    service_fee_derived: bool
    band_service_fees: tuple[BandServiceFee, ...]
    total_contract_value: Decimal
    declaration_types: tuple[DeclarationTypeBreakdown, ...]
    output_fee: Decimal
    clawback_deductions: Decimal
    uplift: UpliftBreakdown
    adjustments_total: Decimal
    finance_adjustments: tuple[Adjustment, ...]
    additional_adjustments_total: Decimal
    reconcile_amount: Decimal
    total: Decimal
    vat_rate: Decimal
    vat: Decimal

    @property
    def total_with_vat(self) -> Decimal:
        return self.total + self.vat


# ---- banding --------------------------------------------------------------------------------------


@dataclass
class _Fill:
    capacity: int | None
    previous: int = 0
    additions: int = 0
    subtractions: int = 0
    count: int = 0


def _fill(pot: int, capacity: int | None) -> int:
    return pot if capacity is None else min(pot, capacity)


def band_declarations(
    bands: Sequence[Band], previous: int, additions: int, subtractions: int
) -> list[tuple[int, int, int, int]]:
    """Spread one declaration type over the bands: (previous, additions, subtractions, count) per band.

    `previous` (billable minus refundable on earlier statements; a negative value counts as 0)
    fills the bands from A; `additions` fill what is left, in order; `subtractions` come off this
    statement's fills from the highest band down, and any remainder off the earlier fills, again
    from the highest band (giving negative counts). What no band can hold is not paid, and a
    remainder of subtractions beyond every fill is not deducted, as in the reference.
    """
    fills = [_Fill(capacity=b.output_capacity) for b in bands]
    pot = max(previous, 0)
    for f in fills:
        f.previous = _fill(pot, f.capacity)
        pot -= f.previous
    pot = additions
    for f in fills:
        room = None if f.capacity is None else f.capacity - f.previous
        f.additions = _fill(pot, room)
        f.count = f.additions
        pot -= f.additions
    pot = subtractions
    for f in reversed(fills):
        taken = min(f.count, pot)
        f.count -= taken
        f.subtractions = taken
        pot -= taken
    for f in reversed(fills):
        if pot <= 0:
            break
        if f.previous > 0:
            taken = min(pot, f.previous)
            f.count = -taken
            f.subtractions += taken
            pot -= taken
    return [(f.previous, f.additions, f.subtractions, f.count) for f in fills]


def _declaration_types(data: EcfStatementInput) -> Iterator[DeclarationTypeBreakdown]:
    bands = data.contract.bands
    for declaration_type in DECLARATION_TYPES:
        current = data.current.get(declaration_type, LineItemCounts())
        previous = data.previous.get(declaration_type, LineItemCounts())
        spread = band_declarations(bands, previous.net, current.billable, current.refundable)
        yield DeclarationTypeBreakdown(
            declaration_type=declaration_type,
            bands=tuple(
                BandFill(
                    band=band_letter(i),
                    fee_per_declaration=band.fee_per_declaration(declaration_type),
                    previous_count=prev,
                    additions=add,
                    subtractions=sub,
                    count=count,
                )
                for i, (band, (prev, add, sub, count)) in enumerate(zip(bands, spread, strict=True))
            ),
        )


def _uplift(data: EcfStatementInput) -> UpliftBreakdown:
    contract = data.contract
    # A contract without an uplift amount pays no uplifts (the reference's later contracts).
    fee = contract.uplift_amount if contract.uplift_amount is not None else ZERO
    cap = contract.uplift_cap
    previous_count = data.uplift_previous.net
    available = max(cap - previous_count * fee, ZERO)
    additions = data.uplift_current.billable
    subtractions = data.uplift_current.refundable
    return UpliftBreakdown(
        fee_per_participant=fee,
        cap=cap,
        previous_count=previous_count,
        additions=additions,
        subtractions=subtractions,
        available=available,
        total=min(available, additions * fee),
        clawback_deductions=-(subtractions * fee),
    )


def calculate_ecf(data: EcfStatementInput) -> EcfBreakdown:
    contract = data.contract
    band_fees = tuple(
        BandServiceFee(
            band=band_letter(i),
            participants=band.participants_within(contract.recruitment_target),
            per_participant=contract.service_fee_per_participant(band),
            total=band.participants_within(contract.recruitment_target)
            * contract.service_fee_per_participant(band),
        )
        for i, band in enumerate(contract.bands)
    )
    derived = contract.monthly_service_fee is None
    service_fee = (
        sum((b.total for b in band_fees), ZERO) / SERVICE_FEE_INSTALMENTS
        if contract.monthly_service_fee is None
        else contract.monthly_service_fee
    )
    types = tuple(_declaration_types(data))
    output_fee = sum((t.additions_amount for t in types), ZERO)
    clawback_deductions = sum((t.subtractions_amount for t in types), ZERO)
    uplift = _uplift(data)
    adjustments_total = -clawback_deductions + uplift.clawback_deductions
    additional = sum((a.amount for a in data.finance_adjustments), ZERO)
    total = service_fee + output_fee + uplift.total + adjustments_total + additional + data.reconcile_amount
    vat_rate = VAT_RATE if data.vat_chargeable else ZERO
    return EcfBreakdown(
        service_fee=service_fee,
        service_fee_derived=derived,
        band_service_fees=band_fees,
        total_contract_value=contract.total_contract_value,
        declaration_types=types,
        output_fee=output_fee,
        clawback_deductions=clawback_deductions,
        uplift=uplift,
        adjustments_total=adjustments_total,
        finance_adjustments=data.finance_adjustments,
        additional_adjustments_total=additional,
        reconcile_amount=data.reconcile_amount,
        total=total,
        vat_rate=vat_rate,
        vat=total * vat_rate,
    )
