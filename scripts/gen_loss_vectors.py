#!/usr/bin/env python3
"""Reference vectors for the element-wise losses, from mpmath at 60 significant digits.

Independent of the Rust code and of MPFR: the formulas are the textbook definitions,
evaluated in high precision (so no stable rewriting is needed), and each value is rounded
once to the nearest f64.

Writes tests/data/loss/binary.txt and tests/data/loss/kl.txt. Run from the repository root:

    python3 scripts/gen_loss_vectors.py

Every x and t is an f32 value (exactly representable), so the f32 kernels can be checked
against the same lines.
"""
import os
import struct

import mpmath as m

m.mp.dps = 60


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def sig(x):
    return 1 / (1 + m.exp(-x))


def bcel(x, t):
    x, t = m.mpf(x), m.mpf(t)
    val = -(t * m.log(sig(x)) + (1 - t) * m.log(sig(-x)))
    grad = (1 - t) * sig(x) - t * sig(-x)
    return val, grad


def focal(x, t, gamma):
    # torchvision sigmoid_focal_loss with alpha disabled.
    x, t, g = m.mpf(x), m.mpf(t), m.mpf(gamma)

    def f(x):
        p = sig(x)
        ce = -(t * m.log(p) + (1 - t) * m.log(1 - p))
        pt = p * t + (1 - p) * (1 - t)
        return ce * (1 - pt) ** g

    return f(x), m.diff(f, x)


def kl(x, t, log_target):
    x, t = m.mpf(x), m.mpf(t)
    if log_target:
        return m.exp(t) * (t - x), -m.exp(t)
    if t == 0:
        return m.mpf(0), m.mpf(0)
    return t * (m.log(t) - x), -t


def fmt(v):
    return repr(float(v))


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = os.path.join(root, "tests", "data", "loss")
    os.makedirs(out, exist_ok=True)

    xs = [f32(v) for v in (-103.0, -88.0, -40.0, -17.3, -10.0, -3.0, -1.0, -0.25, -1e-3,
                           0.0, 1e-3, 0.25, 1.0, 3.0, 10.0, 17.3, 40.0, 88.0)]
    ts = [f32(v) for v in (0.0, 1.0, 0.5, 3e-8, 0.875)]
    lines = ["# kind x t gamma value grad (mpmath, 60 digits; see scripts/gen_loss_vectors.py)"]
    for x in xs:
        for t in ts:
            v, g = bcel(x, t)
            lines.append(f"bcel {fmt(x)} {fmt(t)} 0.0 {fmt(v)} {fmt(g)}")
    for x in xs:
        if abs(x) > 40:
            continue  # m.diff on the saturated power needs more digits; covered by MPFR
        for t in (0.0, 1.0, 0.25):
            for gamma in (0.5, 2.0):
                v, g = focal(x, t, gamma)
                lines.append(f"focal {fmt(x)} {fmt(t)} {fmt(gamma)} {fmt(v)} {fmt(g)}")
    with open(os.path.join(out, "binary.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")

    lines = ["# log_target x t value grad (mpmath, 60 digits; see scripts/gen_loss_vectors.py)"]
    for x in [f32(v) for v in (-50.0, -10.0, -2.0, -0.693, -0.1, 0.0, 0.5, 3.0)]:
        for t in [f32(v) for v in (0.0, 1e-30, 1e-5, 0.1, 0.5, 0.9, 1.0)]:
            v, g = kl(x, t, False)
            lines.append(f"0 {fmt(x)} {fmt(t)} {fmt(v)} {fmt(g)}")
        for t in [f32(v) for v in (-80.0, -10.0, -1.0, -0.1, 0.0, 2.0)]:
            v, g = kl(x, t, True)
            lines.append(f"1 {fmt(x)} {fmt(t)} {fmt(v)} {fmt(g)}")
    with open(os.path.join(out, "kl.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
