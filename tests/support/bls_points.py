"""Points that are on the BLS12-381 curves but outside the prime-order subgroups (test inputs).

Built with py_ecc and cached: honest keys and signatures never produce them, yet they decode
as curve points, so they exercise the subgroup checks rather than the encoding checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from py_ecc.bls.point_compression import compress_G1, compress_G2, modular_squareroot_in_FQ2
from py_ecc.optimized_bls12_381 import FQ, FQ2, b, b2, curve_order, field_modulus, is_inf, is_on_curve, multiply


def is_square(value: int) -> bool:
    return pow(value, (field_modulus - 1) // 2, field_modulus) == 1


def _g1_x_values() -> Iterator[int]:
    """x coordinates with an on-curve point (y² = x³ + 4), smallest first."""
    x = 1
    while True:
        if is_square((x**3 + 4) % field_modulus):
            yield x
        x += 1


@cache
def non_subgroup_public_key() -> bytes:
    """A G1 point on the curve whose order is not r, serialized without clearing the cofactor."""
    for x in _g1_x_values():
        y = pow((x**3 + 4) % field_modulus, (field_modulus + 1) // 4, field_modulus)  # p ≡ 3 mod 4
        point = (FQ(x), FQ(y), FQ(1))
        if not is_inf(multiply(point, curve_order)):
            if not is_on_curve(point, b):
                raise AssertionError("constructed G1 point is not on the curve")
            return int(compress_G1(point)).to_bytes(48, "big")
    raise AssertionError("unreachable: the x loop is infinite")


@cache
def non_subgroup_signature() -> bytes:
    """A G2 point on the twist whose order is not r, serialized without clearing the cofactor."""
    x0 = 1
    while True:
        x = FQ2([x0, 1])
        y = modular_squareroot_in_FQ2(x**3 + b2)
        if y is not None:
            point = (x, y, FQ2.one())
            if not is_inf(multiply(point, curve_order)):
                if not is_on_curve(point, b2):
                    raise AssertionError("constructed G2 point is not on the twist")
                z1, z2 = compress_G2(point)
                return int(z1).to_bytes(48, "big") + int(z2).to_bytes(48, "big")
        x0 += 1
