"""Exact decimal amounts: balances and quantities never drift the way floats do."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
EIGHT = Decimal("0.00000001")
# The most one balance may hold: it prints with its 8 decimals within Decimal's 28 digits (fmt8), far above
# any real account. An admin move beyond it, or finer than 8 decimals, is refused and changes nothing.
MAX_BALANCE = Decimal(10) ** 15


def dec(value: object) -> Decimal:
    """A Decimal from a string, int or float (floats through their shortest repr); ValueError if not a
    finite number."""
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return d


def fmt8(d: Decimal) -> str:
    """Binance's 8-decimal string ("0.00100000")."""
    return format(d.quantize(EIGHT, rounding=ROUND_HALF_UP), "f")


def round8(d: Decimal) -> Decimal:
    return d.quantize(EIGHT, rounding=ROUND_HALF_UP)


def floor_step(qty: Decimal, step: Decimal) -> Decimal:
    """``qty`` rounded down to a whole number of ``step`` (unchanged when the step is 0)."""
    if step <= 0:
        return qty
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step
