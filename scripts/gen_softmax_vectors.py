#!/usr/bin/env python3
"""Reference vectors for the row-wise softmax family, computed with mpmath at 256 bits.

Writes tests/data/softmax/vectors.txt, read by tests/tests/softmax.rs. Format, one record
per line, blank-separated fields:

    case <name> <dtype f32|f64> <cols> <temperature>
    x <inputs, exactly representable in dtype, as Python's round-trip repr of the f64>
    softmax <exact softmax of x / T, 40 significant digits>
    log_softmax <exact log_softmax of x / T>
    logsumexp <exact ln sum exp(x / T), one value per row>

Inputs are rounded to the dtype *before* the reference is computed, so the references are
exact for the inputs the kernels see. Run: python3 scripts/gen_softmax_vectors.py
"""
import os
import mpmath
import numpy as np

mpmath.mp.prec = 256
rng = np.random.default_rng(20240611)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "softmax", "vectors.txt")


def rnd(dtype, v):
    return [float(np.float32(a)) if dtype == "f32" else float(a) for a in v]


def fmt(v):
    return mpmath.nstr(v, 40, min_fixed=0, max_fixed=0) if v != mpmath.mpf("-inf") else "-inf"


def case(out, name, dtype, cols, xs, t=1.0):
    xs = rnd(dtype, xs)
    t = rnd(dtype, [t])[0]
    assert len(xs) % cols == 0
    sm, ls, lse = [], [], []
    T = mpmath.mpf(t)
    for r in range(len(xs) // cols):
        row = [mpmath.mpf(v) / T for v in xs[r * cols:(r + 1) * cols]]
        m = max(row)
        k = row.index(m)
        # ln S = log1p(S_rest) with the arg-max left out of S_rest: m + ln S would round
        # ln S away (it can be below 2^-256 of m).
        rest = mpmath.fsum(mpmath.exp(v - m) for j, v in enumerate(row) if j != k)
        s = 1 + rest
        lsum = mpmath.log1p(rest)
        sm += [mpmath.exp(v - m) / s for v in row]
        ls += [(v - m) - lsum for v in row]
        lse.append(m + lsum)
    out.write(f"case {name} {dtype} {cols} {repr(t)}\n")
    out.write("x " + " ".join(repr(v) for v in xs) + "\n")
    out.write("softmax " + " ".join(fmt(v) for v in sm) + "\n")
    out.write("log_softmax " + " ".join(fmt(v) for v in ls) + "\n")
    out.write("logsumexp " + " ".join(fmt(v) for v in lse) + "\n")


def main():
    with open(OUT, "w") as out:
        for dt in ("f32", "f64"):
            # The dominant-class and cancellation examples.
            case(out, "dominant60", dt, 2, [60.0, 0.0])
            case(out, "dominant80", dt, 2, [80.0, 0.0, 0.0, 80.0])
            case(out, "lse_cancel", dt, 3, [np.log(0.5), np.log(0.25), np.log(0.25)])
            case(out, "ties", dt, 4, [1.0, 1.0, 1.0, 1.0, -3.0, 5.0, 5.0, -3.0])
            for cols in (1, 3, 8, 9):
                case(out, f"rand{cols}", dt, cols, rng.uniform(-20, 20, cols * 6))
            case(out, "spread1000_c9", dt, 9, rng.uniform(-500, 500, 9 * 8))
            case(out, "spread1000_c1000", dt, 1000, rng.uniform(-500, 500, 1000))
            case(out, "narrow_c1000", dt, 1000, rng.uniform(-1, 1, 1000))
            # One dominant entry in a long row, the rest far below.
            row = rng.uniform(-120, -20, 257)
            row[100] = 3.0
            case(out, "dominant_c257", dt, 257, row)
            case(out, "temp0.1", dt, 9, rng.uniform(-5, 5, 27), 0.1)
            case(out, "temp7", dt, 8, rng.uniform(-50, 50, 24), 7.0)
            case(out, "negative_c8", dt, 8, rng.uniform(-3.0e4, -2.9e4, 16))
            case(out, "large_c8", dt, 8, rng.uniform(1.0e6, 1.0e6 + 80, 16))


if __name__ == "__main__":
    main()
