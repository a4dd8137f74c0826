"""The ECF calculator on its own: the reference's worked example and test vectors, to the penny."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.finance.ecf_calculation import (
    Adjustment,
    Band,
    EcfContract,
    EcfStatementInput,
    LineItemCounts,
    band_declarations,
    calculate_ecf,
)
from app.domain.finance.money import money_text, to_pence

D = Decimal

# The reference's spec factory contract: 6,000 places, £149,651 set-up, £100 uplift, bands A-C.
EXAMPLE_BANDS = (
    Band(None, 2000, D("995")),
    Band(2001, 4000, D("979")),
    Band(4001, 6000, D("966")),
)
# Minimal bands: two places each.
MINIMAL_BANDS = (
    Band(None, 2, D("400")),
    Band(3, 4, D("300")),
    Band(5, 6, D("200")),
    Band(7, 8, D("100")),
)


def example_contract(**values: object) -> EcfContract:
    fields: dict[str, object] = {
        "recruitment_target": 6000,
        "set_up_fee": D("149651"),
        "monthly_service_fee": None,
        "uplift_amount": D("100"),
        "bands": EXAMPLE_BANDS,
    }
    fields.update(values)
    return EcfContract(**fields)  # type: ignore[arg-type]


def worked_example(**values: object) -> EcfStatementInput:
    fields: dict[str, object] = {
        "contract": example_contract(),
        "previous": {"started": LineItemCounts(billable=1500)},
        "current": {
            "started": LineItemCounts(billable=700, refundable=20),
            "retained-1": LineItemCounts(billable=300),
        },
        "uplift_previous": LineItemCounts(billable=300),
        "uplift_current": LineItemCounts(billable=100, refundable=5),
    }
    fields.update(values)
    return EcfStatementInput(**fields)  # type: ignore[arg-type]


def test_worked_example_to_the_penny() -> None:
    b = calculate_ecf(worked_example())
    assert money_text(b.service_fee) == "75943.07"
    assert b.service_fee_derived
    assert [money_text(f.total) for f in b.band_service_fees] == ["646349.00", "783200.00", "772800.00"]
    assert b.band_service_fees[0].per_participant == D("323.1745")  # 398 - 74.8255
    assert money_text(b.output_fee) == "110061.00"
    assert money_text(b.clawback_deductions) == "2349.60"
    assert money_text(b.uplift.total) == "10000.00"
    assert b.uplift.cap == D("294000")
    assert b.uplift.available == D("264000")
    assert money_text(b.uplift.clawback_deductions) == "-500.00"
    assert money_text(b.adjustments_total) == "-2849.60"
    assert money_text(b.total) == "193154.47"
    assert money_text(b.vat) == "38630.89"
    assert money_text(b.total_with_vat) == "231785.36"
    # internal arithmetic is unrounded: the fee is 2,202,349 / 29
    assert b.service_fee == D("2202349") / 29


def test_worked_example_banding_and_fees() -> None:
    b = calculate_ecf(worked_example())
    started = b.declaration_types[0]
    assert started.declaration_type == "started"
    assert [(f.band, f.previous_count, f.additions, f.subtractions, f.count) for f in started.bands] == [
        ("A", 1500, 500, 0, 500),
        ("B", 0, 200, 20, 180),
        ("C", 0, 0, 0, 0),
    ]
    assert [money_text(f.fee_per_declaration) for f in started.bands] == ["119.40", "117.48", "115.92"]
    retained = b.declaration_types[1]
    assert retained.declaration_type == "retained-1"
    assert [(f.band, f.additions) for f in retained.bands] == [("A", 300), ("B", 0), ("C", 0)]
    assert money_text(retained.bands[0].fee_per_declaration) == "89.55"
    assert money_text(retained.additions_amount) == "26865.00"
    assert [t.declaration_type for t in b.declaration_types] == [
        "started",
        "retained-1",
        "retained-2",
        "retained-3",
        "retained-4",
        "completed",
        "extended-1",
        "extended-2",
        "extended-3",
    ]
    completed_a = b.declaration_types[5].bands[0].fee_per_declaration
    extended_a = b.declaration_types[6].bands[0].fee_per_declaration
    assert (money_text(completed_a), money_text(extended_a)) == ("119.40", "89.55")


def test_total_contract_value_and_uplift_cap() -> None:
    contract = example_contract()
    assert contract.total_contract_value == D("5880000")
    assert contract.uplift_cap == D("294000")
    # 5 % of 5,880,020 is 294,001: rounded up to the next £100
    assert example_contract(
        recruitment_target=6000, bands=(*EXAMPLE_BANDS[:2], Band(4001, 6000, D("966.01")))
    ).uplift_cap == D("294100")


def test_minimal_bands_empty_statement() -> None:
    contract = example_contract(bands=MINIMAL_BANDS)
    b = calculate_ecf(EcfStatementInput(contract=contract))
    assert b.service_fee == (D("-149331") + 240 + 160 + 80) / 29
    assert str(b.service_fee).startswith("-5132.7931")
    assert money_text(b.service_fee) == "-5132.79"
    assert b.output_fee == 0 and b.clawback_deductions == 0 and b.uplift.total == 0
    assert b.total == b.service_fee
    fees = {
        t.declaration_type: [money_text(f.fee_per_declaration) for f in t.bands]
        for t in b.declaration_types
        if t.declaration_type in ("started", "retained-1", "completed", "extended-1")
    }
    assert fees == {
        "started": ["48.00", "36.00", "24.00", "12.00"],
        "retained-1": ["36.00", "27.00", "18.00", "9.00"],
        "completed": ["48.00", "36.00", "24.00", "12.00"],
        "extended-1": ["36.00", "27.00", "18.00", "9.00"],
    }


def test_banding_vector_previous_and_current() -> None:
    """2,100 earlier and 2,000 now: band A is full, B takes 1,900, C the last 100."""
    spread = band_declarations(EXAMPLE_BANDS, previous=2100, additions=2000, subtractions=0)
    assert [add for _, add, _, _ in spread] == [0, 1900, 100]
    assert [prev for prev, _, _, _ in spread] == [2000, 100, 0]


@pytest.mark.parametrize(
    ("additions", "expected"),
    [
        (2, [2, 0, 0, 0]),  # exactly band A's two places
        (3, [2, 1, 0, 0]),  # one over: the third goes to B
        (8, [2, 2, 2, 2]),  # every place taken
        (9, [2, 2, 2, 2]),  # beyond the last band: not paid
    ],
)
def test_band_boundaries(additions: int, expected: list[int]) -> None:
    spread = band_declarations(MINIMAL_BANDS, previous=0, additions=additions, subtractions=0)
    assert [add for _, add, _, _ in spread] == expected


def test_band_boundaries_priced_at_their_band() -> None:
    contract = example_contract(bands=MINIMAL_BANDS)
    at_max = calculate_ecf(EcfStatementInput(contract=contract, current={"started": LineItemCounts(2)}))
    one_over = calculate_ecf(EcfStatementInput(contract=contract, current={"started": LineItemCounts(3)}))
    assert at_max.output_fee == D("96")  # 2 x 48
    assert one_over.output_fee == D("132")  # 2 x 48 + 1 x 36
    # with earlier statements at band A's max, the next declaration is priced at band B
    after = calculate_ecf(
        EcfStatementInput(
            contract=contract, previous={"started": LineItemCounts(2)}, current={"started": LineItemCounts(1)}
        )
    )
    assert after.output_fee == D("36")


def test_open_ended_last_band() -> None:
    bands = (Band(None, 2, D("400")), Band(3, None, D("300")))
    spread = band_declarations(bands, previous=5, additions=100, subtractions=0)
    assert spread == [(2, 0, 0, 0), (3, 100, 0, 100)]
    assert bands[1].participants_within(10) == 8


def test_clawbacks_come_off_the_highest_band_of_this_statement_first() -> None:
    spread = band_declarations(MINIMAL_BANDS, previous=1, additions=3, subtractions=2)
    # previous 1 in A; additions: 1 in A, 2 in B; subtractions: 2 from B
    assert spread == [(1, 1, 0, 1), (0, 2, 2, 0), (0, 0, 0, 0), (0, 0, 0, 0)]
    spread = band_declarations(MINIMAL_BANDS, previous=1, additions=3, subtractions=3)
    assert spread == [(1, 1, 1, 0), (0, 2, 2, 0), (0, 0, 0, 0), (0, 0, 0, 0)]


def test_clawbacks_across_statements_take_from_earlier_fills() -> None:
    """More clawbacks than this statement's additions: the rest comes off earlier fills, highest
    band first, as negative counts."""
    spread = band_declarations(MINIMAL_BANDS, previous=5, additions=1, subtractions=4)
    # previous: A 2, B 2, C 1; additions: 1 in C; subtractions: 1 from C (this statement), then
    # 1 from C, 2 from B (earlier fills)
    assert spread == [(2, 0, 0, 0), (2, 0, 2, -2), (1, 1, 2, -1), (0, 0, 0, 0)]
    contract = example_contract(bands=MINIMAL_BANDS)
    b = calculate_ecf(
        EcfStatementInput(
            contract=contract,
            previous={"started": LineItemCounts(billable=5)},
            current={"started": LineItemCounts(billable=1, refundable=4)},
        )
    )
    assert b.output_fee == D("24")  # the one addition in C
    assert b.clawback_deductions == D("120")  # 2 x 24 (C) + 2 x 36 (B)
    assert b.adjustments_total == D("-120")


def test_clawbacks_beyond_every_fill_are_not_deducted() -> None:
    spread = band_declarations(MINIMAL_BANDS, previous=1, additions=0, subtractions=3)
    assert spread == [(1, 0, 1, -1), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)]


def test_earlier_clawbacks_reduce_the_earlier_fill() -> None:
    contract = example_contract(bands=MINIMAL_BANDS)
    b = calculate_ecf(
        EcfStatementInput(
            contract=contract,
            previous={"started": LineItemCounts(billable=3, refundable=2)},
            current={"started": LineItemCounts(billable=2)},
        )
    )
    # earlier net 1 in A: one more in A at 48, one in B at 36
    assert b.output_fee == D("84")


def test_each_declaration_type_is_banded_on_its_own() -> None:
    contract = example_contract(bands=MINIMAL_BANDS)
    b = calculate_ecf(
        EcfStatementInput(
            contract=contract,
            previous={"started": LineItemCounts(billable=8)},
            current={"started": LineItemCounts(billable=1), "retained-1": LineItemCounts(billable=1)},
        )
    )
    # started is past every band (unpaid); retained-1 starts in band A
    assert b.output_fee == D("36")


def test_zero_monthly_service_fee_is_a_fee_of_zero() -> None:
    zero = calculate_ecf(EcfStatementInput(contract=example_contract(monthly_service_fee=D("0"))))
    assert zero.service_fee == 0 and not zero.service_fee_derived
    missing = calculate_ecf(EcfStatementInput(contract=example_contract(monthly_service_fee=None)))
    assert money_text(missing.service_fee) == "75943.07" and missing.service_fee_derived
    stated = calculate_ecf(EcfStatementInput(contract=example_contract(monthly_service_fee=D("1234.56"))))
    assert stated.service_fee == D("1234.56")


def test_default_seed_contract_has_no_service_fee() -> None:
    """The reference's default contract: 100 % output, 0 % service, monthly fee 0."""
    bands = tuple(
        Band(low, high, price, output_payment_percentage=100, service_fee_percentage=0)
        for low, high, price in (
            (0, 10, D("995")),
            (11, 20, D("979")),
            (21, 30, D("966")),
            (31, 40, D("966")),
        )
    )
    contract = EcfContract(
        recruitment_target=4500,
        set_up_fee=D("0"),
        monthly_service_fee=D("0"),
        uplift_amount=D("100"),
        bands=bands,
    )
    b = calculate_ecf(EcfStatementInput(contract=contract, current={"started": LineItemCounts(1)}))
    assert b.service_fee == 0
    assert b.output_fee == D("199")  # 20 % of 995


def test_uplift_cap_reached() -> None:
    # cap 294,000 = 2,940 uplifts of £100; 2,900 paid before leaves £4,000 for this statement
    b = calculate_ecf(
        worked_example(
            uplift_previous=LineItemCounts(billable=2950, refundable=50),
            uplift_current=LineItemCounts(billable=100),
        )
    )
    assert b.uplift.available == D("4000")
    assert b.uplift.total == D("4000")
    # nothing left at all
    full = calculate_ecf(
        worked_example(
            uplift_previous=LineItemCounts(billable=3000),
            uplift_current=LineItemCounts(billable=10, refundable=2),
        )
    )
    assert full.uplift.available == 0 and full.uplift.total == 0
    # clawbacks are still deducted in full
    assert full.uplift.clawback_deductions == D("-200")


def test_no_uplift_amount_pays_no_uplift() -> None:
    b = calculate_ecf(worked_example(contract=example_contract(uplift_amount=None)))
    assert b.uplift.total == 0 and b.uplift.clawback_deductions == 0
    assert money_text(b.adjustments_total) == "-2349.60"


def test_vat_off_for_a_provider_not_charging_vat() -> None:
    b = calculate_ecf(worked_example(vat_chargeable=False))
    assert b.vat == 0 and b.vat_rate == 0
    assert money_text(b.total_with_vat) == "193154.47"


def test_finance_adjustments_and_reconcile_amount_are_added() -> None:
    b = calculate_ecf(
        worked_example(
            finance_adjustments=(Adjustment("Correction", D("100.50")), Adjustment("Recovery", D("-50.25"))),
            reconcile_amount=D("-10.00"),
        )
    )
    assert b.additional_adjustments_total == D("50.25")
    assert money_text(b.total) == "193194.72"  # 193,154.47 + 50.25 - 10
    assert money_text(b.vat) == "38638.94"


def test_display_rounding_is_half_up() -> None:
    assert to_pence(D("0.005")) == D("0.01")
    assert to_pence(D("-0.005")) == D("-0.01")
    assert to_pence(D("2.675")) == D("2.68")
    assert money_text(D("-0.001")) == "0.00"
