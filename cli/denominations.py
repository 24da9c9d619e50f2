"""ONE, Gwei and atto: the amounts people type and the integers on the wire.

1 ONE = 10**18 atto and 1 Gwei (go-sdk's "Nano") = 10**9 atto. Commission rates use the same
fixed point as ONE (``numeric.Dec``: 1.0 = 10**18). Text is parsed exactly, with ``decimal``
and no rounding: an amount that does not fit the unit is refused, never silently truncated.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded

from harmony_node.exceptions import ValidationError

ONE_DECIMALS = 18
GWEI_DECIMALS = 9
ATTO_PER_ONE = 10**ONE_DECIMALS
ATTO_PER_GWEI = 10**GWEI_DECIMALS
MAX_AMOUNT_TEXT_LENGTH = 100
"""Longer than any real amount; with this bound the exact context below can never round."""

_DECIMAL_TEXT = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")
# Precision well above MAX_AMOUNT_TEXT_LENGTH digits, and every loss of precision trapped: parsing
# either is exact or raises.
_EXACT = Context(prec=2 * MAX_AMOUNT_TEXT_LENGTH, traps=[Inexact, InvalidOperation, Overflow, Rounded])


def parse_decimal_units(text: str, decimals: int, unit: str) -> int:
    """``text`` (a non-negative decimal number of ``unit``) as an integer count of 10**-decimals units."""
    text = text.strip()
    if text.startswith("-"):
        raise ValidationError(f"{text!r} is negative; amounts must be zero or more")
    if len(text) > MAX_AMOUNT_TEXT_LENGTH or not _DECIMAL_TEXT.fullmatch(text):
        raise ValidationError(f"{text!r} is not a decimal number of {unit} (digits with an optional point)")
    scaled = Decimal(text).scaleb(decimals, context=_EXACT)
    if scaled != scaled.to_integral_value(context=_EXACT):
        raise ValidationError(f"{text!r} has more than {decimals} decimal places (the smallest step is 1e-{decimals})")
    return int(scaled)


def parse_one(text: str) -> int:
    """An amount in ONE as atto."""
    return parse_decimal_units(text, ONE_DECIMALS, "ONE")


def parse_gwei(text: str) -> int:
    """A gas price in Gwei as atto."""
    return parse_decimal_units(text, GWEI_DECIMALS, "Gwei")


def parse_rate(text: str) -> int:
    """A commission rate (0.1 for 10%) as ``numeric.Dec`` fixed point."""
    return parse_decimal_units(text, ONE_DECIMALS, "rate")


def format_units(value: int, decimals: int) -> str:
    """``value`` units of 10**-decimals as the shortest exact decimal text ("1.5", "10")."""
    whole, fraction = divmod(value, 10**decimals)
    digits = f"{fraction:0{decimals}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def format_one(atto: int) -> str:
    """An atto amount in ONE, exactly."""
    return format_units(atto, ONE_DECIMALS)


def format_rate(rate: int) -> str:
    """A ``numeric.Dec`` rate as a decimal fraction ("0.1")."""
    return format_units(rate, ONE_DECIMALS)
