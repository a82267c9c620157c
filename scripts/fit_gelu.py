#!/usr/bin/env python3
"""Fits the polynomial coefficients of core/src/vmath/erf.rs (run: python3 scripts/fit_gelu.py).

Two approximations, each for f32 and f64:

1. The scaled Gaussian tail.  With S(a) = exp(a^2/2) * Phi(-a) (a >= 0; Phi the standard
   normal CDF) and the Shepherd-Laframboise-style variable q = (a - K) / (a + K), which maps
   [0, inf) onto [-1, 1), the function

       f(q) = (a + K) * S(a)

   is smooth and bounded (f(-1) = K/2, f(1) = 1/sqrt(2 pi)), and a polynomial in q
   approximates it to a small relative error on [-1, qmax], qmax = (AMAX - K)/(AMAX + K),
   AMAX the largest a where Phi(-a) is still representable (a subnormal).  The kernel
   evaluates Phi(-a) = f(q) / (a + K) * exp(-a^2/2) with one division.

2. erf(z) / z = P(z^2) on |z| <= ZSMALL, where erf = 1 - erfc would cancel.

Fitting: weighted (relative-error) least squares at Chebyshev nodes in mpmath at 60 digits,
with the coefficients rounded to the target type one at a time, lowest first, and the
remaining ones refitted after each rounding (so the rounding of the early coefficients is
absorbed).  The script prints the coefficients as Rust literals and the max relative error
of the rounded polynomial (evaluated exactly) on a dense grid, and writes them to
tests/data/gelu/coefficients.txt.
"""
import os
import struct
import mpmath as mp

mp.mp.dps = 60
SQ2 = mp.sqrt(2)
C0 = 1 / mp.sqrt(2 * mp.pi)


def S(a):
    return mp.erfc(a / SQ2) / 2 * mp.exp(a * a / 2)


def round_to(x, dtype):
    x = float(x)
    if dtype == "f32":
        return struct.unpack("f", struct.pack("f", x))[0]
    return x


def cheb_nodes(lo, hi, n):
    return [lo + (hi - lo) * (1 + mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n)) / 2 for k in range(n)]


def lsq(xs, ys, ws, powers):
    """Weighted least squares in the monomials x^p, p in powers."""
    m = len(powers)
    A = mp.matrix(m, m)
    b = mp.matrix(m, 1)
    rows = [[x ** p for p in powers] for x in xs]
    for row, y, w in zip(rows, ys, ws):
        w2 = w * w
        for i in range(m):
            b[i] += row[i] * y * w2
            for j in range(m):
                A[i, j] += row[i] * row[j] * w2
    sol = mp.lu_solve(A, b)
    return [sol[i] for i in range(m)]


def fit_rounded(xs, ys, ws, deg, dtype):
    """The constant term stays exact (the kernel stores it as a hi + lo pair, since its
    rounding would be an error no other coefficient can absorb at x = 0); the others are
    rounded one at a time, lowest first, refitting the rest after each."""
    fixed = {}
    for k in range(deg + 1):
        free = [p for p in range(deg + 1) if p not in fixed]
        resid = [y - sum(c * x ** p for p, c in fixed.items()) for x, y in zip(xs, ys)]
        sol = lsq(xs, resid, ws, free)
        fixed[free[0]] = sol[0] if free[0] == 0 else mp.mpf(round_to(sol[0], dtype))
    return [fixed[p] for p in range(deg + 1)]


def max_rel(coef, f, lo, hi, n=4000):
    worst = mp.mpf(0)
    cond = mp.mpf(0)
    for k in range(n + 1):
        x = lo + (hi - lo) * k / n
        y = f(x)
        p = sum(c * x ** i for i, c in enumerate(coef))
        worst = max(worst, abs(p / y - 1))
        cond = max(cond, sum(abs(c * x ** i) for i, c in enumerate(coef)) / abs(y))
    return worst, cond


def tail_fit(dtype, K, amax, deg):
    K = mp.mpf(K)
    qmax = (amax - K) / (amax + K)

    def f(q):
        a = K * (1 + q) / (1 - q)
        return (a + K) * S(a)

    xs = cheb_nodes(mp.mpf(-1), qmax, 4 * deg + 8)
    ys = [f(x) for x in xs]
    ws = [1 / y for y in ys]
    coef = fit_rounded(xs, ys, ws, deg, dtype)
    err, cond = max_rel(coef, f, mp.mpf(-1), qmax)
    return coef, err, cond, qmax


def erf_small_fit(dtype, zmax, deg):
    def f(w):
        if w == 0:
            return 2 / mp.sqrt(mp.pi)
        z = mp.sqrt(w)
        return mp.erf(z) / z

    xs = cheb_nodes(mp.mpf(0), mp.mpf(zmax) ** 2, 4 * deg + 8)
    ys = [f(x) for x in xs]
    ws = [1 / y for y in ys]
    coef = fit_rounded(xs, ys, ws, deg, dtype)
    err, cond = max_rel(coef, f, mp.mpf(0), mp.mpf(zmax) ** 2)
    return coef, err, cond


def lit(c, dtype):
    v = round_to(c, dtype)
    return repr(v) if dtype == "f64" else "%.9e" % v


def lits(coef, dtype):
    """c0 as hi, lo; then c1.."""
    hi = mp.mpf(round_to(coef[0], dtype))
    lo = coef[0] - hi
    return ", ".join([lit(hi, dtype), lit(lo, dtype)] + [lit(c, dtype) for c in coef[1:]])


# (dtype, K, AMAX, degree of the tail polynomial, ZSMALL, degree of the erf polynomial)
CONFIG = [
    ("f32", 2.0, 15.0, 11, 0.5, 5),
    ("f64", 4.0, 39.0, 24, 0.5, 10),
]

if __name__ == "__main__":
    import sys

    out = []
    for dtype, K, amax, deg, zs, edeg in CONFIG:
        if len(sys.argv) > 1 and sys.argv[1] != dtype:
            continue
        coef, err, cond, qmax = tail_fit(dtype, K, amax, deg)
        out.append("// %s tail: K = %s, AMAX = %s, qmax = %s, degree %d: max rel err %s, "
                   "Horner condition %s" % (dtype, K, amax, mp.nstr(qmax, 8), deg,
                                            mp.nstr(err, 3), mp.nstr(cond, 3)))
        out.append("TAIL_%s = [%s]" % (dtype.upper(), lits(coef, dtype)))
        ecoef, eerr, econd = erf_small_fit(dtype, zs, edeg)
        out.append("// %s erf small: |z| <= %s, degree %d in z^2: max rel err %s, cond %s"
                   % (dtype, zs, edeg, mp.nstr(eerr, 3), mp.nstr(econd, 3)))
        out.append("ERF_%s = [%s]" % (dtype.upper(), lits(ecoef, dtype)))
        print("\n".join(out[-4:]), flush=True)
    if len(sys.argv) == 1:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "gelu")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "coefficients.txt"), "w") as fh:
            fh.write("\n".join(out) + "\n")
