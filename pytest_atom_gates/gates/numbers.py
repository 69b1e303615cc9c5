"""Exact comparisons and honest display of percentages and durations."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def meets_minimum(numerator: int, denominator: int, minimum: Decimal) -> bool:
    """``numerator / denominator * 100 >= minimum`` in exact arithmetic (integers: importing
    ``fractions`` would cost every run more than the comparison)."""
    if denominator == 0:
        raise ZeroDivisionError(f"{numerator} / 0")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    top, bottom = minimum.as_integer_ratio()
    return numerator * 100 * bottom >= top * denominator


def format_percent(numerator: int, denominator: int) -> str:
    """The percentage rounded down to two places, so a failing figure never displays as passing."""
    value = Decimal(numerator * 100) / Decimal(denominator)
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_FLOOR)} %"


def format_threshold(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f"{text} %"


def format_seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 600:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"
