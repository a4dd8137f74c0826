"""Money: exact decimals throughout, rounded to pence only when shown."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
PENNY = Decimal("0.01")


def to_pence(amount: Decimal) -> Decimal:
    """Half up, as the reference's currency display rounds (BigDecimal's default mode)."""
    rounded = amount.quantize(PENNY, rounding=ROUND_HALF_UP)
    # -0.001 rounds to -0.00: show it as 0.00.
    return rounded if rounded else abs(rounded)


def money_text(amount: Decimal) -> str:
    """An amount as sent on the wire and in CSV: a string with two decimals, never a float."""
    return f"{to_pence(amount):.2f}"


def optional_money_text(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)
