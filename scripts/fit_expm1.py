#!/usr/bin/env python3
"""Fits the expm1 polynomial of `core/src/float.rs` (VmConsts::expm1_poly).

expm1(r) = r + r^2 P(r) on |r| <= ln2/2 (plus a margin for the rounding of the reduction).
P is a Chebyshev fit (near-minimax) of (expm1(r) - r) / r^2 in mpmath at 200 bits, its
coefficients rounded to the target precision; the script prints them and the maximum
relative error of 1 + r + r^2 P(r) against exp(r), measured in exact arithmetic with the
rounded coefficients on a dense grid.

    python3 scripts/fit_expm1.py        # needs mpmath (pip install mpmath)
"""
import mpmath as mp
import struct

mp.mp.prec = 200
HALF_LN2 = mp.log(2) / 2 * (1 + mp.mpf(2) ** -20)


def p_exact(r):
    if abs(r) < mp.mpf(10) ** -30:
        return mp.mpf(0.5) + r / 6
    return (mp.expm1(r) - r) / r ** 2


def to_f32(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


def fit(degree, rounding, name):
    poly, _ = mp.chebyfit(p_exact, [-HALF_LN2, HALF_LN2], degree + 1, error=True)
    coeffs = [rounding(c) for c in reversed(poly)]  # c0 + c1 r + ...
    worst = mp.mpf(0)
    for i in range(-2000, 2001):
        r = HALF_LN2 * i / 2000
        p = mp.mpf(0)
        for c in reversed(coeffs):
            p = p * r + mp.mpf(c)
        err = abs((1 + r + r * r * p) / mp.exp(r) - 1)
        worst = max(worst, err)
    print(f"{name}: degree {degree} ({degree + 1} coefficients), max rel error of exp(r) "
          f"{mp.nstr(worst, 3)} = 2^{mp.nstr(mp.log(worst, 2), 4)}")
    for c in coeffs:
        print(f"    {c!r},")


fit(5, to_f32, "f32")
fit(10, float, "f64")
