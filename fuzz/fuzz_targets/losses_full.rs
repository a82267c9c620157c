//! Every loss of `nonlin::loss` and every option, in f32 and f64, on arbitrary data and
//! parameters (including invalid ones). For each loss the four forms are called — reduced
//! (`Mean` or `Sum`), `_with_grad`, `_none`, `_none_with_grad` — and these invariants are
//! asserted:
//!
//! - invalid parameters, shapes, lengths or class targets give `Err` in every form, never a
//!   panic, and the output buffers keep their sentinel (nothing written);
//! - `_with_grad`'s loss equals the plain call's bit for bit, `_none_with_grad`'s values equal
//!   `_none`'s bit for bit;
//! - every element / row value is `>= 0` where the math says so (in the documented domain:
//!   targets in `[0, 1]`, non-negative weights, ...); `kl_div` terms can be negative, so the
//!   summed KL is checked against the log-sum inequality instead (`>= 0` for normalised rows);
//! - finite inputs in the documented domain give no NaN, and a finite value / gradient
//!   whenever the f64 reference is well inside the type's range;
//! - each element / row value is within `VALUE_ULPS` machine epsilons (of the element type)
//!   of an independent f64 reference, relative to the magnitude of the terms (plus the
//!   documented growth for the focal losses);
//! - both gradients (`_none_with_grad`'s per-unit one, `_with_grad`'s scaled one) match a
//!   central difference of that f64 reference where the loss is smooth;
//! - the reduced value equals the reduction of the `_none` values (sum, or sum over the
//!   documented denominator) within `2 eps` relative to the sum of their magnitudes; a mean
//!   over zero counted weight is 0 with a zero gradient.
//!
//! The input is decoded by hand (see `Reader`) so that `gen_seeds.py` can write seeds.
#![no_main]
// `!(v >= 0.0)` is meant: it is true for NaN, which these checks must catch; and the
// per-loss tables of closures are read next to where they are built.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::type_complexity)]

use libfuzzer_sys::fuzz_target;
use nonlin::loss::{self, CrossEntropyOptions, FocalOptions, NllOptions, Reduction};
use nonlin::{Error, Float};

/// Longest data slice decoded: keeps one iteration cheap (all forms, the reference and the
/// central differences are O(n * cols)).
const MAX_LEN: usize = 64;
/// Value tolerance, in machine epsilons of the element type, relative to the magnitude of the
/// terms. The published per-term budgets are <= 8 ULP (focal) plus one rounding per weight
/// and the rounded `1/N`; the rest is the f64 reference's own roundings (it is about as
/// accurate as an f64 kernel, so for f64 the margin is needed). Anything beyond this is a
/// real accuracy bug, not noise.
const VALUE_ULPS: f64 = 32.0;
/// Gradient tolerance, same units, relative to the magnitude of the gradient's terms
/// (published gradient budgets are <= 8 ULP, plus the rounded scale factor).
const GRAD_ULPS: f64 = 32.0;
/// Written into every output buffer before a call; an `Err` must leave it there.
const SENTINEL: f64 = 7.25;

/// Edge values reachable with a 2-byte tag: zeros, subnormals, cut-offs, infinities, NaN,
/// huge and tiny magnitudes.
const SPECIALS: [f64; 32] = [
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1.0,
    -1.0,
    0.5,
    1e-45,                   // f32 subnormal (rounds to the smallest one)
    -1.1754942e-38,          // below f32's smallest normal
    5e-324,                  // f64's smallest subnormal
    2.2250738585072014e-308, // f64::MIN_POSITIVE
    3.4028234663852886e38,   // f32::MAX
    -3.4028234663852886e38,
    1.7976931348623157e308, // f64::MAX
    1e-300,
    88.72283935546875,  // f32 exp overflow cut-off
    -103.97207708,      // f32 exp underflow to 0
    709.782712893384,   // f64 exp overflow cut-off
    -745.1332191019412, // f64 exp underflow to 0
    100.0,
    -100.0,
    30.0,
    -30.0,
    1e-12,
    0.999999940395355,     // largest f32 below 1
    0.9999999999999999,    // largest f64 below 1
    3.720075976020836e-44, // e^-100 (bce's log clamp)
    1e30,
    -1e30,
    17.3,
    -17.3,
];

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        for b in &mut a {
            *b = self.byte();
        }
        a
    }
    /// A tagged value: raw f64, a small multiple of 1/64, a fraction in [0, 1] (0 and 1
    /// exact), or one of `SPECIALS`.
    fn value(&mut self) -> f64 {
        match self.byte() % 4 {
            0 => f64::from_le_bytes(self.bytes::<8>()),
            1 => i16::from_le_bytes(self.bytes::<2>()) as f64 / 64.0,
            2 => u16::from_le_bytes(self.bytes::<2>()) as f64 / 65535.0,
            _ => SPECIALS[self.byte() as usize % SPECIALS.len()],
        }
    }
    fn values(&mut self) -> Vec<f64> {
        let n = self.byte() as usize % (MAX_LEN + 1);
        (0..n).map(|_| self.value()).collect()
    }
}

/// The decoded input. Layout (all optional, missing bytes read as 0):
/// `loss, flags, shape, cols, p1, p2, x[], t[], w[], w2[], classes (one i8 per x), ignore`,
/// where each `[]` is a length byte then tagged values.
#[derive(Debug, Clone)]
struct Case {
    loss: u8,
    /// bit 0 f64; bit 1 Sum (else Mean); bits 2-3 weight mode; bits 4-5 second weight mode
    /// (`pos_weight` / `alpha`); bit 6 ignore_index; bit 7 family switch (log_target, raw
    /// class targets, targets clamped to [0, 1]).
    flags: u8,
    /// bit 0-1: break a length (1 target, 2 out, 3 grad); bit 2: raw (unfitted) shapes.
    shape: u8,
    cols: u8,
    p1: f64,
    p2: f64,
    x: Vec<f64>,
    t: Vec<f64>,
    w: Vec<f64>,
    w2: Vec<f64>,
    classes: Vec<i8>,
    ignore: i8,
}

fn decode(data: &[u8]) -> Case {
    let mut r = Reader(data);
    let (loss, flags, shape, cols) = (r.byte(), r.byte(), r.byte(), r.byte());
    let (p1, p2) = (r.value(), r.value());
    let x = r.values();
    let t = r.values();
    let w = r.values();
    let w2 = r.values();
    let classes = (0..x.len()).map(|_| r.byte() as i8).collect();
    let ignore = r.byte() as i8;
    Case {
        loss,
        flags,
        shape,
        cols,
        p1,
        p2,
        x,
        t,
        w,
        w2,
        classes,
        ignore,
    }
}

impl Case {
    fn sum(&self) -> bool {
        self.flags & 2 != 0
    }
    fn switch(&self) -> bool {
        self.flags & 0x80 != 0
    }
    fn raw_shape(&self) -> bool {
        self.shape & 4 != 0
    }
    fn broken(&self) -> u8 {
        self.shape & 3
    }
    /// A weight vector: `None` (mode 0), fitted to `len` by cycling the data (modes 1, 3;
    /// 1.0 if there is none), or taken as decoded (mode 2, usually a length mismatch).
    fn weights<T: Float>(src: &[f64], mode: u8, len: usize) -> Option<Vec<T>> {
        match mode & 3 {
            0 => None,
            2 => Some(src.iter().map(|&v| T::from_f64(v)).collect()),
            _ => Some(
                (0..len)
                    .map(|i| {
                        T::from_f64(if src.is_empty() {
                            1.0
                        } else {
                            src[i % src.len()]
                        })
                    })
                    .collect(),
            ),
        }
    }
}

fn f<T: Float>(v: &[T]) -> Vec<f64> {
    v.iter().map(|e| e.to_f64()).collect()
}

// ---------------------------------------------------------------------------------------
// f64 reference pieces (plain libm formulas, independent of the kernels' code).

fn softplus(x: f64) -> f64 {
    x.max(0.0) + libm::log1p(libm::exp(-x.abs()))
}
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::exp(-x))
    } else {
        let e = libm::exp(x);
        e / (1.0 + e)
    }
}
/// `c * v` with an exactly-zero coefficient removing the term (the documented limit).
fn coef(c: f64, v: f64) -> f64 {
    if c == 0.0 { 0.0 } else { c * v }
}
/// `a b v` (`a, b >= 0`) with `0 * anything = 0`, the factors' mantissas multiplied and
/// their exponents added, then one scaling: no intermediate overflow or subnormal rounding.
fn coef_scaled(a: f64, b: f64, v: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        return 0.0;
    }
    let ((ma, ea), (mb, eb), (mv, ev)) = (libm::frexp(a), libm::frexp(b), libm::frexp(v));
    libm::ldexp(ma * mb * mv, ea + eb + ev)
}
/// The product of `f` (any signs) with the factors' mantissas multiplied and their
/// exponents added, then one scaling (as [`coef_scaled`]); 0 if any factor is 0.
fn prod_scaled(f: &[f64]) -> f64 {
    if f.contains(&0.0) {
        return 0.0;
    }
    let (m, e) = f.iter().fold((1.0f64, 0i32), |(m, e), &v| {
        let (mv, ev) = libm::frexp(v);
        (m * mv, e + ev)
    });
    libm::ldexp(m, e)
}
/// Row statistics: `(M, ln S)` with `S = sum exp(x - M) = 1 + S_rest`, `ln S` through
/// `log1p(S_rest)` (a confident row keeps its tiny loss); `nll_c = (M - x_c) + ln S`.
fn lse(xs: &[f64]) -> (f64, f64) {
    let (mut im, mut m) = (0, f64::NEG_INFINITY);
    for (i, &v) in xs.iter().enumerate() {
        if v > m {
            (im, m) = (i, v);
        }
    }
    let rest: f64 = xs
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != im)
        .map(|(_, &v)| {
            // exp of the difference carried exactly (TwoSum): exp(d) (1 + e), so that the
            // rounding of v - m is not amplified by |v - m| (f64 rows).
            let d = v - m;
            let bb = d - v;
            let e = (v - (d - bb)) + (-m - bb);
            let ex = libm::exp(d);
            if e.is_finite() { ex + ex * e } else { ex }
        })
        .sum();
    (m, libm::log1p(rest))
}
/// `(a + b, its rounding error)` (Knuth's TwoSum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `max - min` of a row (in f64).
fn spread(xs: &[f64]) -> f64 {
    let mx = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mn = xs.iter().cloned().fold(f64::INFINITY, f64::min);
    mx - mn
}

/// Neumaier sum (the `_none` values of f64 kernels need better than a plain f64 sum).
fn sum_acc(v: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in v {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    s + c
}

/// The f64 reference of one unit (an element, or a row of `cols` logits).
/// `w ((1-ε) t + ε/C)` with `ε w / C` formed in one scaling, not from `ε/C` rounded in the
/// subnormal range (f64 `ε = 1.28e-321` over `C = 8` times `w = 434`: that reference was
/// 1.2% off the kernel's exact-to-one-rounding value; a fuzz finding in this target).
fn smoothed(eps: f64, c: f64, t: f64, w: f64) -> f64 {
    w * ((1.0 - eps) * t) + eps * w / c
}

struct Ref {
    /// The unit's loss (may be non-finite for non-finite inputs: then only the sign and NaN
    /// rules are checked).
    v: f64,
    /// Magnitude of the terms the loss is made of: the base of the value tolerance.
    scale: f64,
    /// Value tolerance in machine epsilons of `T`, relative to `scale`.
    ulps: f64,
    /// Absolute floor in units of `T`'s smallest subnormal (subnormal intermediates are
    /// computed, not flushed, but each costs up to one subnormal ULP, times the weights).
    floor: f64,
    /// Absolute error bound of this f64 reference itself (sets the central difference's
    /// rounding noise).
    err: f64,
    /// The math says this unit's loss is `>= 0`.
    nonneg: bool,
    /// Per coordinate, the magnitude of the gradient's terms (unscaled).
    gmag: Vec<f64>,
}

impl Ref {
    fn simple(v: f64, scale: f64, nonneg: bool, gmag: Vec<f64>) -> Ref {
        Ref {
            v,
            scale,
            ulps: VALUE_ULPS,
            floor: 8.0,
            err: 16.0 * f64::EPSILON * scale,
            nonneg,
            gmag,
        }
    }
}

type Res<T> = Result<T, Error>;

/// One loss under test: its four entry points (closed over data and options) and its f64
/// reference per unit.
struct Spec<'a, T> {
    name: &'static str,
    /// The differentiable input (predictions, logits or log-probabilities).
    x: &'a [T],
    /// Coordinates per unit: 1 for element-wise losses, `cols` for row losses.
    cols: usize,
    /// Our model of the argument checks: every form must accept exactly when this is set.
    valid: bool,
    /// The `_none` forms take fewer arguments (kl_div_batchmean's `batch`): their validity.
    none_valid: bool,
    reduced: Box<dyn Fn(Reduction) -> Res<T> + 'a>,
    with_grad: Box<dyn Fn(Reduction, &mut [T]) -> Res<T> + 'a>,
    none: Box<dyn Fn(&mut [T]) -> Res<()> + 'a>,
    none_grad: Box<dyn Fn(&mut [T], &mut [T]) -> Res<()> + 'a>,
    /// The mean's denominator (1 for `Sum`, except `kl_div_batchmean`).
    denom: Box<dyn Fn(Reduction) -> f64 + 'a>,
    /// The unit's reference at the given coordinates; `None` outside the documented domain
    /// (e.g. soft targets outside [0, 1]), where no value is promised.
    unit: Box<dyn Fn(usize, &[f64]) -> Option<Ref> + 'a>,
    /// Every input and parameter of the unit is finite.
    unit_finite: Box<dyn Fn(usize) -> bool + 'a>,
    /// Central-difference step for coordinate `j` of unit `u`, or `None` where the check is
    /// skipped (a kink within a few steps, or the edge of the domain: each family says why).
    step: Box<dyn Fn(usize, usize, &[f64]) -> Option<f64> + 'a>,
}

fn eps<T: Float>() -> f64 {
    libm::ldexp(1.0, 1 - T::MANTISSA_DIGITS as i32)
}
fn tiny<T: Float>() -> f64 {
    T::MIN_POSITIVE.to_f64() * eps::<T>()
}
fn same<T: Float>(a: T, b: T) -> bool {
    // NaN payloads are not compared (any NaN equals any NaN).
    (a.is_nan() && b.is_nan()) || a.to_f64().to_bits() == b.to_f64().to_bits()
}

fn check<T: Float>(s: &Spec<T>, red: Reduction, broken: u8) {
    let name = s.name;
    let n = s.x.len();
    let units = n.checked_div(s.cols).unwrap_or(0);
    let sent = T::from_f64(SENTINEL);
    let untouched = |v: &[T]| v.iter().all(|e| e.to_f64() == SENTINEL);

    // Wrong output lengths: refused, nothing written.
    if broken == 2 {
        let mut o = vec![sent; units + 1];
        assert!(
            (s.none)(&mut o).is_err() && untouched(&o),
            "{name}: out len accepted"
        );
        let mut g = vec![sent; n];
        assert!((s.none_grad)(&mut o, &mut g).is_err() && untouched(&o) && untouched(&g));
    }
    if broken == 3 {
        let mut g = vec![sent; n + 1];
        assert!(
            (s.with_grad)(red, &mut g).is_err() && untouched(&g),
            "{name}: grad len accepted"
        );
        let mut o = vec![sent; units];
        assert!((s.none_grad)(&mut o, &mut g).is_err() && untouched(&o) && untouched(&g));
    }

    let mut out = vec![sent; units];
    let mut out2 = vec![sent; units];
    let mut g_red = vec![sent; n];
    let mut g_none = vec![sent; n];
    let r_plain = (s.reduced)(red);
    let r_grad = (s.with_grad)(red, &mut g_red);
    let r_none = (s.none)(&mut out);
    let r_none_grad = (s.none_grad)(&mut out2, &mut g_none);
    if !s.none_valid {
        assert!(r_none.is_err(), "{name}_none: invalid input accepted");
        assert!(
            r_none_grad.is_err(),
            "{name}_none_with_grad: invalid input accepted"
        );
        assert!(untouched(&out), "{name}_none: out written on error");
        assert!(
            untouched(&out2) && untouched(&g_none),
            "{name}_none_with_grad: written on error"
        );
    }
    if !s.valid {
        assert!(
            r_plain.is_err(),
            "{name}: invalid input accepted: {r_plain:?}"
        );
        assert!(r_grad.is_err(), "{name}_with_grad: invalid input accepted");
        assert!(untouched(&g_red), "{name}_with_grad: grad written on error");
        if s.none_valid {
            assert!(
                r_none.is_ok() && r_none_grad.is_ok(),
                "{name}_none: valid input refused"
            );
        }
        return;
    }
    let v = r_plain.unwrap_or_else(|e| panic!("{name}: valid input refused: {e}"));
    let vg = r_grad.unwrap_or_else(|e| panic!("{name}_with_grad: valid input refused: {e}"));
    r_none.unwrap_or_else(|e| panic!("{name}_none: valid input refused: {e}"));
    r_none_grad.unwrap_or_else(|e| panic!("{name}_none_with_grad: valid input refused: {e}"));
    assert!(
        same(v, vg),
        "{name}: with_grad loss {vg} != plain {v} ({red:?})"
    );
    for (i, (a, b)) in out.iter().zip(&out2).enumerate() {
        assert!(
            same(*a, *b),
            "{name}: none_with_grad[{i}] = {b} != none {a}"
        );
    }

    let (e, tiny) = (eps::<T>(), tiny::<T>());
    let big = T::MAX.to_f64() / 4.0;
    let d = (s.denom)(red);
    let gs = if d > 0.0 { 1.0 / d } else { 0.0 };
    let v64 = v.to_f64();

    // A mean over zero counted weight is 0, with a zero gradient (documented).
    if d == 0.0 && !s.x.iter().any(|x| x.is_nan()) {
        assert!(
            v64 == 0.0,
            "{name}: mean over zero weight = {v64:e}, want 0"
        );
        assert!(
            g_red.iter().all(|g| g.to_f64() == 0.0),
            "{name}: zero-weight mean has a gradient"
        );
    }

    let (mut all_nonneg, mut all_fin, mut all_ref) = (true, true, true);
    let mut ref_abs = Vec::with_capacity(units);
    for (u, ou) in out.iter().enumerate().take(units) {
        let xs = f(&s.x[u * s.cols..(u + 1) * s.cols]);
        let o = ou.to_f64();
        let fin = (s.unit_finite)(u);
        all_fin &= fin;
        let Some(r) = (s.unit)(u, &xs) else {
            all_nonneg = false;
            all_ref = false;
            continue;
        };
        all_nonneg &= r.nonneg;
        if r.nonneg {
            assert!(
                !(o < 0.0),
                "{name}: unit {u} loss {o:e} < 0 (inputs {xs:?})"
            );
        }
        if !fin {
            all_ref = false;
            continue;
        }
        // Checked where the f64 reference is finite (a NaN reference marks a known core
        // bug, see the families; an overflowing f64 reference is reported separately).
        assert!(
            !r.v.is_finite() || !o.is_nan(),
            "{name}: NaN loss from finite unit {u} (inputs {xs:?})"
        );
        // Nor where the reference's own error could put the loss beyond the range: terms of
        // opposite sign cancelling (targets outside [0, 1]: f32 c_k = ±0.75e30 times a
        // spread of 3.4e38 are ±2.6e68, whose f64 rounding, 1e52, swamps the loss, -1.9e41).
        if !(r.v.is_finite() && r.v.abs() + r.err <= big) {
            all_ref = false;
            continue;
        }
        ref_abs.push(r.v.abs());
        assert!(
            o.is_finite(),
            "{name}: unit {u} loss {o:e}, reference {:e} (inputs {xs:?})",
            r.v
        );
        // (A zero scale with an unbounded growth term is an exact 0: no 0 * inf.)
        let rel = if r.scale == 0.0 {
            0.0
        } else {
            r.ulps * e * r.scale
        };
        let tol = rel + r.floor * tiny;
        // (A tolerance the reference cannot form, inf * 0 in its growth terms: no bound.)
        let tol = if tol.is_nan() { f64::INFINITY } else { tol };
        assert!(
            (o - r.v).abs() <= tol,
            "{name}: unit {u} loss {o:e}, reference {:e}, |diff| {:e} > {tol:e} (inputs {xs:?})",
            r.v,
            (o - r.v).abs()
        );
        for j in 0..s.cols {
            let k = u * s.cols + j;
            let (gn, gr) = (g_none[k].to_f64(), g_red[k].to_f64());
            let gm = r.gmag[j];
            if gm <= big {
                assert!(
                    gn.is_finite(),
                    "{name}: grad[{k}] = {gn:e} from finite inputs {xs:?}"
                );
                // (The scaled gradient gm / D itself may exceed T's range; 1/D may overflow
                // f64 for subnormal f64 weights, gm / D need not.)
                assert!(
                    gr.is_finite() || d == 0.0 || gm / d > big,
                    "{name}: scaled grad[{k}] = {gr:e} from finite inputs {xs:?} (gradient scale {gm:e}, denominator {d:e})"
                );
            }
            // The reference's own gradient scale overflowed (e.g. focal at |x| ~ 1e304):
            // no tolerance can be formed.
            if !gm.is_finite() {
                continue;
            }
            let Some(h) = (s.step)(u, j, &xs) else {
                continue;
            };
            let Some((fd, trunc, noise)) = central(&*s.unit, u, &xs, j, h) else {
                continue;
            };
            // Ill-conditioned difference quotient: the reference's rounding over the step
            // leaves fewer than 3 digits (huge |x| against the step, or a vanishing term).
            if noise > 1e-3 * gm.max(f64::MIN_POSITIVE) {
                continue;
            }
            // Not in the smooth regime at this step (Richardson: the halved step changes
            // the quotient by more than 1% of the gradient's scale): the curvature scale is
            // below the step (e.g. gamma = 1e6), so the quotient is no reference.
            if trunc > 1e-2 * gm {
                continue;
            }
            // The scaled gradient is the unit's divided by the denominator (1 for Sum); divided,
            // not multiplied by 1/D, which overflows f64 for a mean over subnormal f64 weights.
            for (g, dv, what) in [(gn, 1.0, "none_with_grad"), (gr, d, "with_grad")] {
                // No scaled check where the mean's 1/D is 0 (checked above), or the scaled
                // gradient leaves the range.
                if dv == 0.0 || gs == 0.0 || gm / dv > big {
                    continue;
                }
                // trunc over-estimates the halved step's truncation error 3x (Richardson).
                let tol = (GRAD_ULPS * e * gm + trunc + noise) / dv + r.floor * tiny;
                assert!(
                    (g - fd / dv).abs() <= tol,
                    "{name} ({what}): grad[{k}] = {g:e}, central difference {:e}, |diff| {:e} > {tol:e} (inputs {xs:?}, h {h:e})",
                    fd / dv,
                    (g - fd / dv).abs()
                );
            }
        }
    }

    // Reduced value against the reduction of the `_none` values.
    let outs = f(&out);
    // (d = 0: a mean over zero counted weight is 0 by the code even with a NaN term, which
    // contradicts "NaN still propagates" in the module docs; reported, not asserted.)
    if outs.iter().any(|o| o.is_nan()) && d > 0.0 {
        assert!(v64.is_nan(), "{name}: NaN term but reduced {v64:e}");
    } else if outs.iter().all(|o| o.is_finite()) && d > 0.0 {
        let want = sum_acc(outs.iter().cloned()) / d;
        let mag = sum_acc(outs.iter().map(|o| o.abs())) / d;
        if mag <= big {
            // Each none value is rounded once (subnormal ULPs included), then divided by d.
            let tol = 2.0 * e * mag + (units as f64 + 2.0) * tiny * (1.0 / d).max(1.0);
            assert!(
                (v64 - want).abs() <= tol,
                "{name}: reduced {v64:e} vs reduction of none {want:e} (tol {tol:e}, {red:?})"
            );
        }
    } else if d > 0.0 && outs.iter().all(|o| !(*o < 0.0)) && gs == 1.0 && red == Reduction::Sum {
        assert!(
            v64 == f64::INFINITY,
            "{name}: sum of terms with +inf = {v64:e}"
        );
    }
    if all_nonneg {
        assert!(!(v64 < 0.0), "{name}: reduced loss {v64:e} < 0");
    }
    if all_fin && all_ref && d > 0.0 && sum_acc(ref_abs.iter().cloned()) / d <= big {
        assert!(
            v64.is_finite(),
            "{name}: reduced {v64:e} from finite inputs, finite reference"
        );
    }
}

/// Central difference of the unit reference along coordinate `j` at steps `h` and `h/2`:
/// `(quotient at h/2, |q(h) - q(h/2)|, rounding noise of the h/2 quotient)`. The actual
/// steps are taken as `(x + h) - x` so that the representable perturbation is used.
fn central(
    unit: &dyn Fn(usize, &[f64]) -> Option<Ref>,
    u: usize,
    xs: &[f64],
    j: usize,
    h: f64,
) -> Option<(f64, f64, f64)> {
    let mut q = [0.0; 2];
    let mut err = 0.0f64;
    let mut span = f64::INFINITY;
    for (slot, step) in q.iter_mut().zip([h, h / 2.0]) {
        let mut p = xs.to_vec();
        let mut m = xs.to_vec();
        p[j] = xs[j] + step;
        m[j] = xs[j] - step;
        let width = (p[j] - xs[j]) + (xs[j] - m[j]);
        if !(width > 0.0) {
            return None;
        }
        let (rp, rm) = (unit(u, &p)?, unit(u, &m)?);
        if !(rp.v.is_finite() && rm.v.is_finite()) {
            return None;
        }
        err = err.max(rp.err).max(rm.err);
        span = span.min(width);
        *slot = (rp.v - rm.v) / width;
    }
    // The f64 reference also underflows: an absolute floor of a few of f64's smallest
    // subnormals on top of its relative error.
    let err = err + 16.0 * f64::from_bits(1);
    Some((q[1], (q[0] - q[1]).abs(), 2.0 * err / span))
}

// ---------------------------------------------------------------------------------------
// Element-wise losses.

fn red_of(c: &Case) -> Reduction {
    if c.sum() {
        Reduction::Sum
    } else {
        Reduction::Mean
    }
}

/// The data of an element-wise loss: `x` and a target of the same length (one longer when
/// the case breaks the target's length).
fn elem_data<T: Float>(c: &Case) -> (Vec<T>, Vec<T>, bool) {
    let x: Vec<T> = c.x.iter().map(|&v| T::from_f64(v)).collect();
    let n = x.len();
    let mut t: Vec<T> = (0..n)
        .map(|i| T::from_f64(c.t.get(i).copied().unwrap_or(0.25)))
        .collect();
    let mut ok = true;
    if c.broken() == 1 {
        t.push(T::ZERO);
        ok = false;
    }
    (x, t, ok)
}

fn mean_n(n: usize) -> impl Fn(Reduction) -> f64 {
    move |r| match r {
        Reduction::Sum => 1.0,
        Reduction::Mean => n as f64,
    }
}

/// Step for a function of `d = x - t` (regression losses): `2^-20 |d|` (quadratic and
/// linear pieces are exact under central differences); `None` within 4 steps of a kink at
/// `|d| = k` (huber's delta, smooth_l1's beta) or at `d = 0` when `kink0` (l1).
fn reg_step(d: f64, kink: Option<f64>, kink0: bool) -> Option<f64> {
    // A step below |d| never crosses d = 0; it underflows to 0 (no check) only for
    // subnormal differences.
    let h = libm::ldexp(d.abs(), -20);
    if h == 0.0 || (kink0 && d == 0.0) {
        return None;
    }
    if let Some(k) = kink
        && (d.abs() - k).abs() <= 4.0 * h
    {
        return None;
    }
    Some(h)
}

fn regression<T: Float>(c: &Case) {
    let (x, t, ok) = elem_data::<T>(c);
    let n = x.len();
    let t64 = f(&t);
    let red = red_of(c);
    let par = T::from_f64(c.p1);
    let p = par.to_f64();
    let fin = |i: usize| x[i].is_finite() && t[i].is_finite() && par.is_finite();
    let finite_x = |i: usize| x[i].is_finite() && t[i].is_finite();
    let which = c.loss % 4;
    let valid = ok
        && match which {
            2 => p.is_finite() && p > 0.0,
            3 => p.is_finite() && p >= 0.0,
            _ => true,
        };
    let spec: Spec<T> = match which {
        0 => Spec {
            name: "mse",
            x: &x,
            cols: 1,
            valid,
            none_valid: valid,
            reduced: Box::new(|r| loss::mse(&x, &t, r)),
            with_grad: Box::new(|r, g| loss::mse_with_grad(&x, &t, r, g)),
            none: Box::new(|o| loss::mse_none(&x, &t, o)),
            none_grad: Box::new(|o, g| loss::mse_none_with_grad(&x, &t, o, g)),
            denom: Box::new(mean_n(n)),
            unit: Box::new(|u, xs| {
                let d = xs[0] - t64[u];
                Some(Ref::simple(d * d, d * d, true, vec![2.0 * d.abs()]))
            }),
            unit_finite: Box::new(finite_x),
            step: Box::new(|u, _, xs| reg_step(xs[0] - t64[u], None, false)),
        },
        1 => Spec {
            name: "l1",
            x: &x,
            cols: 1,
            valid,
            none_valid: valid,
            reduced: Box::new(|r| loss::l1(&x, &t, r)),
            with_grad: Box::new(|r, g| loss::l1_with_grad(&x, &t, r, g)),
            none: Box::new(|o| loss::l1_none(&x, &t, o)),
            none_grad: Box::new(|o, g| loss::l1_none_with_grad(&x, &t, o, g)),
            denom: Box::new(mean_n(n)),
            unit: Box::new(|u, xs| {
                let d = (xs[0] - t64[u]).abs();
                Some(Ref::simple(d, d, true, vec![1.0]))
            }),
            unit_finite: Box::new(finite_x),
            // |d| has a kink at d = 0 (gradient sign(0) = 0 by convention).
            step: Box::new(|u, _, xs| reg_step(xs[0] - t64[u], None, true)),
        },
        2 => Spec {
            name: "huber",
            x: &x,
            cols: 1,
            valid,
            none_valid: valid,
            reduced: Box::new(|r| loss::huber(&x, &t, par, r)),
            with_grad: Box::new(|r, g| loss::huber_with_grad(&x, &t, par, r, g)),
            none: Box::new(|o| loss::huber_none(&x, &t, par, o)),
            none_grad: Box::new(|o, g| loss::huber_none_with_grad(&x, &t, par, o, g)),
            denom: Box::new(mean_n(n)),
            unit: Box::new(|u, xs| {
                let z = (xs[0] - t64[u]).abs();
                let v = if z < p {
                    0.5 * z * z
                } else {
                    p * (z - 0.5 * p)
                };
                Some(Ref::simple(v, v, true, vec![z.min(p)]))
            }),
            unit_finite: Box::new(fin),
            // The second derivative jumps at |d| = delta.
            step: Box::new(|u, _, xs| reg_step(xs[0] - t64[u], Some(p), false)),
        },
        _ => Spec {
            name: "smooth_l1",
            x: &x,
            cols: 1,
            valid,
            none_valid: valid,
            reduced: Box::new(|r| loss::smooth_l1(&x, &t, par, r)),
            with_grad: Box::new(|r, g| loss::smooth_l1_with_grad(&x, &t, par, r, g)),
            none: Box::new(|o| loss::smooth_l1_none(&x, &t, par, o)),
            none_grad: Box::new(|o, g| loss::smooth_l1_none_with_grad(&x, &t, par, o, g)),
            denom: Box::new(mean_n(n)),
            unit: Box::new(|u, xs| {
                let z = (xs[0] - t64[u]).abs();
                let (v, g) = if z < p {
                    (0.5 * z * (z / p), z / p)
                } else {
                    (z - 0.5 * p, 1.0)
                };
                Some(Ref::simple(v, v, true, vec![g]))
            }),
            unit_finite: Box::new(fin),
            // Kink at |d| = beta (beta = 0: the L1 kink at d = 0).
            step: Box::new(|u, _, xs| reg_step(xs[0] - t64[u], (p > 0.0).then_some(p), p == 0.0)),
        },
    };
    check(&spec, red, c.broken());
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn in_unit(t: f64) -> bool {
    (0.0..=1.0).contains(&t)
}

/// Step for a logistic-type function of a logit: the curvature scale is 1.
fn logit_step(x: f64) -> Option<f64> {
    Some(libm::ldexp(x.abs().max(1.0), -20))
}

fn bce_family<T: Float>(c: &Case) {
    let (mut x, mut t, ok) = elem_data::<T>(c);
    if c.switch() {
        // Targets (and bce's probabilities) clamped into [0, 1] (NaN kept), so that the
        // domain is hit often.
        if c.loss.is_multiple_of(3) {
            for v in &mut x {
                if !v.is_nan() {
                    *v = T::from_f64(v.to_f64().clamp(0.0, 1.0));
                }
            }
        }
        for v in &mut t {
            if !v.is_nan() {
                *v = T::from_f64(v.to_f64().clamp(0.0, 1.0));
            }
        }
    }
    let n = x.len();
    let t64 = f(&t);
    let red = red_of(c);
    let w: Option<Vec<T>> = Case::weights(&c.w, c.flags >> 2, n);
    let wref = w.as_deref();
    let w_of = |i: usize| wref.map_or(1.0, |w| w[i].to_f64());
    let w_ok = wref.is_none_or(|w| w.len() == n);
    match c.loss % 3 {
        0 => {
            // bce on probabilities.
            let valid = ok
                && w_ok
                && x.iter()
                    .all(|p| p.is_nan() || (T::ZERO..=T::ONE).contains(p));
            let spec = Spec {
                name: "bce",
                x: &x,
                cols: 1,
                valid,
                none_valid: valid,
                reduced: Box::new(|r| loss::bce(&x, &t, wref, r)),
                with_grad: Box::new(|r, g| loss::bce_with_grad(&x, &t, wref, r, g)),
                none: Box::new(|o| loss::bce_none(&x, &t, wref, o)),
                none_grad: Box::new(|o, g| loss::bce_none_with_grad(&x, &t, wref, o, g)),
                denom: Box::new(mean_n(n)),
                unit: Box::new(|u, xs| {
                    let (p, tt, wi) = (xs[0], t64[u], w_of(u));
                    if !in_unit(tt) {
                        return None;
                    }
                    let lp = libm::log(p).max(-100.0);
                    let lq = libm::log1p(-p).max(-100.0);
                    let v = -wi * (tt * lp + (1.0 - tt) * lq);
                    let scale = wi.abs() * (tt * lp.abs() + (1.0 - tt) * lq.abs());
                    // The gradient formula's floor 1e-12 on p(1 - p) (documented).
                    let g = wi.abs() * (p - tt).abs() / (p * (1.0 - p)).max(1e-12);
                    let mut r = Ref::simple(v, scale, wi >= 0.0, vec![g]);
                    r.floor = 8.0 * wi.abs().max(1.0);
                    Some(r)
                }),
                unit_finite: Box::new(|i| {
                    x[i].is_finite() && t[i].is_finite() && w_of(i).is_finite()
                }),
                // The documented gradient is the derivative of the unclamped loss only where
                // p (1 - p) >= 1e-12 (there ln p > -100, so the clamp is inactive too); the
                // steps stay inside (0, 1).
                step: Box::new(|_, _, xs| {
                    let p = xs[0];
                    let h = libm::ldexp(p.min(1.0 - p), -20);
                    (p * (1.0 - p) >= 1e-12 && p - 4.0 * h > 0.0 && p + 4.0 * h < 1.0).then_some(h)
                }),
            };
            check(&spec, red, c.broken());
        }
        1 => {
            // Fitted pos_weight: a class count dividing n.
            let k = (c.cols as usize % 8) + 1;
            let classes = if n == 0 { k } else { gcd(n, k) };
            let pw: Option<Vec<T>> = Case::weights(&c.w2, c.flags >> 4, classes);
            let pwr = pw.as_deref();
            let pw_ok = pwr.is_none_or(|p| !p.is_empty() && n.is_multiple_of(p.len()));
            let pw_of = |i: usize| {
                pwr.map_or(1.0, |p| {
                    p.get(i % p.len().max(1)).map_or(1.0, |v| v.to_f64())
                })
            };
            let spec = Spec {
                name: "bce_with_logits",
                x: &x,
                cols: 1,
                valid: ok && w_ok && pw_ok,
                none_valid: ok && w_ok && pw_ok,
                reduced: Box::new(|r| loss::bce_with_logits(&x, &t, wref, pwr, r)),
                with_grad: Box::new(|r, g| {
                    loss::bce_with_logits_with_grad(&x, &t, wref, pwr, r, g)
                }),
                none: Box::new(|o| loss::bce_with_logits_none(&x, &t, wref, pwr, o)),
                none_grad: Box::new(|o, g| {
                    loss::bce_with_logits_none_with_grad(&x, &t, wref, pwr, o, g)
                }),
                denom: Box::new(mean_n(n)),
                unit: Box::new(|u, xs| {
                    let (xx, tt, wi, pwi) = (xs[0], t64[u], w_of(u), pw_of(u));
                    // Outside [0, 1] the formula is evaluated as written, without a bound.
                    if !in_unit(tt) {
                        return None;
                    }
                    let (spn, spp) = (softplus(-xx), softplus(xx));
                    // Documented: an f64 element whose two weighted terms both overflow, with
                    // opposite signs (a negative pos_weight), is NaN (f32 forms it in f64).
                    let (ta, tb) = (wi * (pwi * tt) * spn, wi * (1.0 - tt) * spp);
                    if T::MANTISSA_DIGITS >= 53
                        && ta.abs() > T::MAX.to_f64()
                        && tb.abs() > T::MAX.to_f64()
                        && (ta > 0.0) != (tb > 0.0)
                    {
                        return None;
                    }
                    // Each term as one scaled product: `w (pw t) softplus` formed left to
                    // right underflowed for w = 1e30, pw = 1.8e-307 (pw t spn = 8.7e-313,
                    // rounded to a subnormal ULP), and the central difference of that
                    // quantised value was 3e-7 off the exact gradient.
                    let inner = coef(pwi * tt, spn) + coef(1.0 - tt, spp);
                    // The weight removes the element where it is 0 (documented limit).
                    let v = if wi == 0.0 || !inner.is_finite() {
                        coef(wi, inner)
                    } else {
                        prod_scaled(&[wi, pwi, tt, spn]) + prod_scaled(&[wi, 1.0 - tt, spp])
                    };
                    let scale = wi.abs() * ((pwi * tt).abs() * spn + (1.0 - tt) * spp);
                    let g = wi.abs() * ((1.0 - tt) * sigmoid(xx) + (pwi * tt).abs() * sigmoid(-xx));
                    let mut r = Ref::simple(v, scale, wi >= 0.0 && pwi >= 0.0, vec![g]);
                    // A coefficient pw t rounded in the subnormal range (one subnormal ULP) is
                    // then multiplied by the softplus.
                    r.floor = 8.0 * wi.abs().max(1.0) * pwi.abs().max(1.0) * (1.0 + spn + spp);
                    Some(r)
                }),
                unit_finite: Box::new(|i| {
                    x[i].is_finite()
                        && t[i].is_finite()
                        && w_of(i).is_finite()
                        && pw_of(i).is_finite()
                }),
                step: Box::new(|_, _, xs| logit_step(xs[0])),
            };
            check(&spec, red, c.broken());
        }
        _ => {
            let (alpha, gamma) = (T::from_f64(c.p1), T::from_f64(c.p2));
            let (a, gm) = (alpha.to_f64(), gamma.to_f64());
            let valid = ok && a.is_finite() && a <= 1.0 && gm.is_finite() && gm >= 0.0;
            let spec = Spec {
                name: "sigmoid_focal_loss",
                x: &x,
                cols: 1,
                valid,
                none_valid: valid,
                reduced: Box::new(|r| loss::sigmoid_focal_loss(&x, &t, alpha, gamma, r)),
                with_grad: Box::new(|r, g| {
                    loss::sigmoid_focal_loss_with_grad(&x, &t, alpha, gamma, r, g)
                }),
                none: Box::new(|o| loss::sigmoid_focal_loss_none(&x, &t, alpha, gamma, o)),
                none_grad: Box::new(|o, g| {
                    loss::sigmoid_focal_loss_none_with_grad(&x, &t, alpha, gamma, o, g)
                }),
                denom: Box::new(mean_n(n)),
                unit: Box::new(|u, xs| {
                    let (xx, tt) = (xs[0], t64[u]);
                    if !in_unit(tt) {
                        return None;
                    }
                    let at = if a >= 0.0 {
                        a * tt + (1.0 - a) * (1.0 - tt)
                    } else {
                        1.0
                    };
                    let (spn, spp) = (softplus(-xx), softplus(xx));
                    let ce = coef(tt, spn) + coef(1.0 - tt, spp);
                    // ln q, q = 1 - p_t = (u + v e) / (1 + e), e = exp(-|x|), u the weight of
                    // the sigmoid >= 1/2; u = 0 keeps the -|x| exactly.
                    let e = libm::exp(-xx.abs());
                    let (uu, vv) = if xx >= 0.0 {
                        (1.0 - tt, tt)
                    } else {
                        (tt, 1.0 - tt)
                    };
                    // u + v = 1 exactly, so u + v e = 1 - v (1 - e): where that is >= 1/2 it
                    // goes through log1p, which keeps a t below 2^-53 that 1 - t (in f64)
                    // would drop (f32 t = 3.8e-44, x = 88.7: ln q = -(t + e) with e = 3e-39;
                    // gamma = MAX makes the 1e-5 difference visible).
                    let c = -libm::expm1(-xx.abs());
                    let lq = if uu == 0.0 {
                        libm::log(vv) - xx.abs() - libm::log1p(e)
                    } else if vv * c <= 0.5 {
                        libm::log1p(-vv * c) - libm::log1p(e)
                    } else {
                        libm::log(uu + vv * e) - libm::log1p(e)
                    };
                    let qg = if gm == 0.0 { 1.0 } else { libm::exp(gm * lq) };
                    let v = at * ce * qg;
                    // sigma(x) sigma(-x) / q, in logs (no underflow of the pieces).
                    let r = libm::exp(-spn - spp - lq);
                    // (NaN from inf * 0 at |x| ~ 1e300 counts as 0 for the floor.)
                    let bracket = (1.0 - tt) * sigmoid(xx)
                        + tt * sigmoid(-xx)
                        + coef(gm * ce * (1.0 - 2.0 * tt).abs(), r);
                    let bracket = if bracket.is_nan() { 0.0 } else { bracket };
                    let g = at * qg * bracket;
                    // Documented: <= 8 + 2 gamma |ln q| ULP (the rounding of ln q times gamma).
                    // (q = 0, ln q = -inf: the factor is 0 or 1 exactly, no growth.)
                    let grow = if gm == 0.0 || !lq.is_finite() {
                        0.0
                    } else {
                        2.0 * gm * lq.abs()
                    };
                    Some(Ref {
                        v,
                        scale: v,
                        ulps: VALUE_ULPS + grow,
                        // A subnormal q^gamma (one subnormal ULP) is multiplied by the
                        // weight, the cross-entropy and the gradient's bracket.
                        floor: (8.0 * (1.0 + at) * (1.0 + ce) * (1.0 + bracket)).min(f64::MAX),
                        err: (16.0 + grow) * f64::EPSILON * v,
                        nonneg: true,
                        // Documented gradient: <= 10 + 2 gamma |ln q| ULP of its terms.
                        gmag: vec![g * (1.0 + grow / GRAD_ULPS)],
                    })
                }),
                unit_finite: Box::new(|i| x[i].is_finite() && t[i].is_finite()),
                step: Box::new(|_, _, xs| logit_step(xs[0])),
            };
            check(&spec, red, c.broken());
        }
    }
}

fn kl<T: Float>(c: &Case, batchmean: bool) {
    let (mut x, mut t, mut ok) = elem_data::<T>(c);
    let lt = c.switch();
    // batchmean: a batch count dividing the (trimmed) length, or raw (often invalid).
    let batch = if c.raw_shape() {
        c.cols as usize % (x.len() + 2)
    } else {
        let b = c.cols as usize % 8 + 1;
        let keep = x.len() / b * b;
        x.truncate(keep);
        t.truncate(keep + usize::from(c.broken() == 1));
        b
    };
    let n = x.len();
    let ok_none = ok;
    if batchmean && (batch == 0 || !n.is_multiple_of(batch)) {
        ok = false;
    }
    let t64 = f(&t);
    let red = red_of(c);
    let kl_ref = move |xx: f64, tt: f64| -> Option<Ref> {
        if lt {
            if tt == f64::NEG_INFINITY {
                return Some(Ref::simple(
                    if xx.is_nan() { xx } else { 0.0 },
                    0.0,
                    false,
                    vec![0.0],
                ));
            }
            // e^t beyond T's range (t > 88.7 in f32, a log-target above 0 is no
            // log-probability): the kernel's e^t (t - x) is inf * 0 = NaN at x = t. No value
            // promised there (reported).
            if !T::from_f64(tt).exp().is_finite() {
                return None;
            }
            let et = libm::exp(tt);
            let v = et * (tt - xx);
            let mut r = Ref::simple(v, v.abs(), false, vec![et]);
            // e^t rounded in the subnormal range (one subnormal ULP), times |t - x|.
            r.floor = 8.0 * (1.0 + (tt - xx).abs());
            Some(r)
        } else {
            // t < 0 is not a probability (documented: NaN); no value promised.
            if !(tt >= 0.0) {
                return None;
            }
            if tt == 0.0 {
                return Some(Ref::simple(
                    if xx.is_nan() { xx } else { 0.0 },
                    0.0,
                    false,
                    vec![0.0],
                ));
            }
            let lnt = libm::log(tt);
            // Documented: 3 eps t (|ln t| + |x|) (ln t - x cancels near a match).
            Some(Ref::simple(
                tt * (lnt - xx),
                tt * (lnt.abs() + xx.abs()),
                false,
                vec![tt],
            ))
        }
    };
    let spec: Spec<T> = Spec {
        name: if batchmean {
            "kl_div_batchmean"
        } else {
            "kl_div"
        },
        x: &x,
        cols: 1,
        valid: ok,
        none_valid: ok_none,
        reduced: Box::new(|r| {
            if batchmean {
                loss::kl_div_batchmean(&x, &t, lt, batch)
            } else {
                loss::kl_div(&x, &t, lt, r)
            }
        }),
        with_grad: Box::new(|r, g| {
            if batchmean {
                loss::kl_div_batchmean_with_grad(&x, &t, lt, batch, g)
            } else {
                loss::kl_div_with_grad(&x, &t, lt, r, g)
            }
        }),
        none: Box::new(|o| loss::kl_div_none(&x, &t, lt, o)),
        none_grad: Box::new(|o, g| loss::kl_div_none_with_grad(&x, &t, lt, o, g)),
        denom: Box::new(|r| {
            if batchmean {
                batch as f64
            } else {
                mean_n(n)(r)
            }
        }),
        unit: Box::new(|u, xs| kl_ref(xs[0], t64[u])),
        unit_finite: Box::new(|i| x[i].is_finite() && t[i].is_finite()),
        // Linear in x: any step is exact.
        step: Box::new(|_, _, xs| logit_step(xs[0])),
    };
    check(&spec, red, c.broken());

    // Log-sum inequality: sum t (ln t - x) >= S_t ln(S_t / S_q) with S_t = sum t,
    // S_q = sum e^x, for any t >= 0 and x; it is 0 for normalised rows (Gibbs), the
    // "KL >= 0" of the math. With log_target the weights are e^t.
    if ok && n > 0 && x.iter().all(|v| v.is_finite()) && t.iter().all(|v| v.is_finite()) {
        let ws: Vec<f64> = t64
            .iter()
            .map(|&v| if lt { libm::exp(v) } else { v })
            .collect();
        // (e^t beyond T's range: the per-unit NaN noted in kl_ref; not checked.)
        if ws.iter().all(|&v| v >= 0.0 && v <= T::MAX.to_f64()) {
            let s = loss::kl_div(&x, &t, lt, Reduction::Sum).unwrap().to_f64();
            let st = sum_acc(ws.iter().cloned());
            let (m, ls) = lse(&f(&x));
            let lb = if st == 0.0 {
                0.0
            } else {
                // ln S_t: with log_target S_t = sum e^t, so ln S_t = lse(t) (ln of the rounded
                // sum would lose the digits of t near 0).
                let ln_st = if lt {
                    let (mt, lt_s) = lse(&t64);
                    mt + lt_s
                } else {
                    libm::log(st)
                };
                st * (ln_st - (m + ls))
            };
            let scale: f64 = (0..n)
                .filter_map(|i| kl_ref(x[i].to_f64(), t64[i]).map(|r| r.scale))
                .sum::<f64>()
                + (st * libm::log(st)).abs()
                + st * (m.abs() + ls);
            // (Only where the sum's magnitude is inside T's range: beyond it -inf is the
            // rounded value.)
            let big = T::MAX.to_f64() / 4.0;
            if lb.abs() <= big && scale <= big {
                let tol = VALUE_ULPS * eps::<T>() * scale + 8.0 * n as f64 * tiny::<T>();
                assert!(
                    s >= lb - tol,
                    "kl_div: sum {s:e} below the log-sum bound {lb:e} (tol {tol:e})"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Row losses.

struct Rows<T> {
    x: Vec<T>,
    cols: usize,
    targets: Vec<i64>,
    ignore: Option<i64>,
    /// The shapes and targets are as the functions require.
    ok: bool,
}

fn rows_data<T: Float>(c: &Case) -> Rows<T> {
    let mut x: Vec<T> = c.x.iter().map(|&v| T::from_f64(v)).collect();
    let cols = if c.raw_shape() {
        c.cols as usize % 17
    } else {
        c.cols as usize % 16 + 1
    };
    if !c.raw_shape() {
        x.truncate(x.len() / cols * cols);
    }
    let ok = cols > 0 && x.len().is_multiple_of(cols);
    let rows = x.len().checked_div(cols).unwrap_or(0);
    let ignore = (c.flags & 0x40 != 0).then_some(c.ignore as i64);
    // Class targets: reduced into range unless raw (bit 7); the ignore value is kept.
    let mut targets: Vec<i64> = (0..rows)
        .map(|i| {
            let v = c.classes.get(i).copied().unwrap_or(0) as i64;
            if c.switch() || Some(v) == ignore {
                v
            } else {
                v.rem_euclid(cols.max(1) as i64)
            }
        })
        .collect();
    if c.broken() == 1 {
        targets.push(0);
    }
    let tok = targets.len() == rows
        && targets
            .iter()
            .all(|&t| Some(t) == ignore || (0..cols as i64).contains(&t));
    Rows {
        x,
        cols,
        targets,
        ignore,
        ok: ok && tok,
    }
}

fn class_weights<T: Float>(src: &[f64], mode: u8, cols: usize) -> (Option<Vec<T>>, bool) {
    let w: Option<Vec<T>> = Case::weights(src, mode, cols);
    let ok = w
        .as_ref()
        .is_none_or(|w| w.len() == cols && w.iter().all(|v| v.is_finite() && v.to_f64() >= 0.0));
    (w, ok)
}

/// Label smoothing: `|p1| mod 1` (valid), or `p1` as decoded with raw shapes.
fn smoothing<T: Float>(c: &Case) -> T {
    T::from_f64(if c.raw_shape() {
        c.p1
    } else {
        c.p1.abs().fract()
    })
}

/// Step for a logit of a softmax row: the row is shift-invariant, its curvature scale 1.
fn row_step(x: f64) -> Option<f64> {
    // Beyond |x| = 2^30 the logit's own spacing forces a step above 2^-10, no longer small
    // against the curvature scale 1: no check there.
    let h = libm::ldexp(1.0, -20).max(libm::ldexp(x.abs(), -40));
    (h <= libm::ldexp(1.0, -10)).then_some(h)
}

fn row_losses<T: Float>(c: &Case) {
    let Rows {
        x,
        cols,
        targets,
        ignore,
        ok,
    } = rows_data::<T>(c);
    let rows = x.len().checked_div(cols).unwrap_or(0);
    let red = red_of(c);
    let (w, w_ok) = class_weights::<T>(&c.w, c.flags >> 2, cols);
    let wr = w.as_deref();
    let w_of = |k: usize| wr.map_or(1.0, |w| w.get(k).map_or(0.0, |v| v.to_f64()));
    let w_sum: f64 = (0..cols).map(w_of).sum();
    let row_fin = |u: usize| x[u * cols..(u + 1) * cols].iter().all(|v| v.is_finite());
    let counted = |u: usize| Some(targets[u]) != ignore;
    // Σ w_t over the counted rows: the weighted mean's denominator.
    let wdenom = |r: Reduction| match r {
        Reduction::Sum => 1.0,
        Reduction::Mean => sum_acc(
            (0..rows)
                .filter(|&u| counted(u))
                .map(|u| w_of(targets[u] as usize)),
        ),
    };
    let zero_ref = |cols: usize| Ref::simple(0.0, 0.0, true, vec![0.0; cols]);
    match c.loss % 4 {
        0 => {
            let ls = smoothing::<T>(c);
            let eps = ls.to_f64();
            let valid = ok && w_ok && (0.0..=1.0).contains(&eps);
            let opts = CrossEntropyOptions {
                weight: wr,
                ignore_index: ignore,
                label_smoothing: ls,
            };
            let cf = cols as f64;
            let spec = Spec {
                name: "cross_entropy",
                x: &x,
                cols,
                valid,
                none_valid: valid,
                reduced: Box::new(|r| loss::cross_entropy(&x, &targets, cols, &opts, r)),
                with_grad: Box::new(|r, g| {
                    loss::cross_entropy_with_grad(&x, &targets, cols, &opts, r, g)
                }),
                none: Box::new(|o| loss::cross_entropy_none(&x, &targets, cols, &opts, o)),
                none_grad: Box::new(|o, g| {
                    loss::cross_entropy_none_with_grad(&x, &targets, cols, &opts, o, g)
                }),
                denom: Box::new(wdenom),
                unit: Box::new(|u, xs| {
                    if !counted(u) {
                        return Some(zero_ref(cols));
                    }
                    let k = targets[u] as usize;
                    if !xs.iter().all(|v| v.is_finite()) {
                        return Some(Ref::simple(f64::NAN, 0.0, true, vec![f64::INFINITY; cols]));
                    }
                    let (m, lsum) = lse(xs);
                    let nll = |j: usize| (m - xs[j]) + lsum;
                    let wt = w_of(k);
                    let mut v = coef((1.0 - eps) * wt, nll(k));
                    for j in 0..cols {
                        // (ε w_j / C) nll_j without rounding ε/C into the subnormals (ε =
                        // 1e-311 times nll = 1.8e308 is 2e-3: the reference was 1e-12 off).
                        v += coef_scaled(eps, w_of(j) / cf, nll(j));
                    }
                    let a = (1.0 - eps) * wt + eps / cf * w_sum;
                    let gmag = (0..cols)
                        .map(|j| {
                            let p = libm::exp(-nll(j));
                            p * a + if j == k { (1.0 - eps) * wt } else { 0.0 } + eps / cf * w_of(j)
                        })
                        .collect();
                    let mut r = Ref::simple(v, v, true, gmag);
                    // ln S rounded in the subnormal range (S_rest = e^-727) enters the value
                    // with the weight A: up to A subnormal ULPs of error in this reference, the
                    // only carrier of the gradient there (W = 3.4e38: a central difference
                    // 2e-3 off; a fuzz finding).
                    r.err += 4.0 * a.abs() * f64::from_bits(1);
                    // A coefficient rounded in the subnormal range (one subnormal ULP) is
                    // multiplied by a -log p that can be huge.
                    let nmax = (0..cols).map(nll).fold(0.0, f64::max);
                    // (Capped at f64::MAX, not per factor: a subnormal weight's ULP times a
                    // -log p of 1e303 is an error of 1e-20; a fuzz finding.)
                    r.floor = (8.0 * (1.0 + a) * (1.0 + nmax)).min(f64::MAX);
                    Some(r)
                }),
                unit_finite: Box::new(row_fin),
                step: Box::new(|_, j, xs| row_step(xs[j])),
            };
            check(&spec, red, c.broken());
        }
        1 => {
            // Probability targets: one per logit (no ignore_index).
            let mut tp: Vec<T> = (0..x.len())
                .map(|i| T::from_f64(c.t.get(i).copied().unwrap_or(0.0)))
                .collect();
            if c.switch() {
                for v in &mut tp {
                    *v = T::from_f64(v.to_f64().abs().min(1.0));
                }
            }
            if c.broken() == 1 {
                tp.push(T::ZERO);
            }
            let shape_ok = cols > 0 && x.len().is_multiple_of(cols) && tp.len() == x.len();
            let ls = smoothing::<T>(c);
            let eps = ls.to_f64();
            let valid = shape_ok && w_ok && (0.0..=1.0).contains(&eps);
            let opts = CrossEntropyOptions {
                weight: wr,
                ignore_index: ignore,
                label_smoothing: ls,
            };
            let t64 = f(&tp);
            let cf = cols as f64;
            let spec = Spec {
                name: "cross_entropy_probs",
                x: &x,
                cols,
                valid,
                none_valid: valid,
                reduced: Box::new(|r| loss::cross_entropy_probs(&x, &tp, cols, &opts, r)),
                with_grad: Box::new(|r, g| {
                    loss::cross_entropy_probs_with_grad(&x, &tp, cols, &opts, r, g)
                }),
                none: Box::new(|o| loss::cross_entropy_probs_none(&x, &tp, cols, &opts, o)),
                none_grad: Box::new(|o, g| {
                    loss::cross_entropy_probs_none_with_grad(&x, &tp, cols, &opts, o, g)
                }),
                denom: Box::new(move |r| match r {
                    Reduction::Sum => 1.0,
                    Reduction::Mean => rows as f64,
                }),
                unit: Box::new(|u, xs| {
                    let tr = &t64[u * cols..(u + 1) * cols];
                    if !tr.iter().all(|v| v.is_finite()) {
                        return None;
                    }
                    let nonneg = tr.iter().all(|&v| v >= 0.0);
                    if !xs.iter().all(|v| v.is_finite()) {
                        return Some(Ref::simple(
                            f64::NAN,
                            0.0,
                            nonneg,
                            vec![f64::INFINITY; cols],
                        ));
                    }
                    // f32 rows whose spread M - x_c or smoothed weighted targets c_k exceed
                    // f32's range take the kernel's f64 fallback and are checked like the
                    // others. For f64 rows this reference cannot form such a row's values
                    // (its differences and products overflow f64), and the kernel documents
                    // inf or NaN for c_k beyond f64::MAX: no value checked there.
                    let cmax = (0..cols)
                        .map(|j| smoothed(eps, cf, tr[j], w_of(j)).abs())
                        .fold(0.0, f64::max);
                    let wide = T::MANTISSA_DIGITS >= 53;
                    if wide && (spread(xs) > T::MAX.to_f64() || cmax > T::MAX.to_f64() / 4.0) {
                        return Some(Ref::simple(
                            f64::NAN,
                            0.0,
                            nonneg,
                            vec![f64::INFINITY; cols],
                        ));
                    }
                    let (m, lsum) = lse(xs);
                    let nll = |j: usize| (m - xs[j]) + lsum;
                    let ck = |j: usize| smoothed(eps, cf, tr[j], w_of(j));
                    let v: f64 = (0..cols).map(|j| coef(ck(j), nll(j))).sum();
                    let scale: f64 = (0..cols).map(|j| coef(ck(j).abs(), nll(j))).sum();
                    let sa: f64 = (0..cols).map(|j| ck(j).abs()).sum();
                    let gmag = (0..cols)
                        .map(|j| libm::exp(-nll(j)) * sa + ck(j).abs())
                        .collect();
                    let mut r = Ref::simple(v, scale, nonneg, gmag);
                    let nmax = (0..cols).map(nll).fold(0.0, f64::max);
                    r.floor = (8.0 * (1.0 + sa) * (1.0 + nmax)).min(f64::MAX);
                    Some(r)
                }),
                unit_finite: Box::new(|u| {
                    row_fin(u) && t64[u * cols..(u + 1) * cols].iter().all(|v| v.is_finite())
                }),
                step: Box::new(|_, j, xs| row_step(xs[j])),
            };
            check(&spec, red, c.broken());
        }
        2 => {
            let opts = NllOptions {
                weight: wr,
                ignore_index: ignore,
            };
            let spec = Spec {
                name: "nll_loss",
                x: &x,
                cols,
                valid: ok && w_ok,
                none_valid: ok && w_ok,
                reduced: Box::new(|r| loss::nll_loss(&x, &targets, cols, &opts, r)),
                with_grad: Box::new(|r, g| {
                    loss::nll_loss_with_grad(&x, &targets, cols, &opts, r, g)
                }),
                none: Box::new(|o| loss::nll_loss_none(&x, &targets, cols, &opts, o)),
                none_grad: Box::new(|o, g| {
                    loss::nll_loss_none_with_grad(&x, &targets, cols, &opts, o, g)
                }),
                denom: Box::new(wdenom),
                unit: Box::new(|u, xs| {
                    if !counted(u) {
                        return Some(zero_ref(cols));
                    }
                    let k = targets[u] as usize;
                    let (wt, lp) = (w_of(k), xs[k]);
                    let v = if lp.is_nan() { lp } else { coef(wt, -lp) };
                    let gmag = (0..cols).map(|j| if j == k { wt } else { 0.0 }).collect();
                    // -w log p >= 0 when log p <= 0 (a log-probability).
                    Some(Ref::simple(v, v.abs(), lp <= 0.0, gmag))
                }),
                unit_finite: Box::new(|u| {
                    !counted(u) || x[u * cols + targets[u] as usize].is_finite()
                }),
                step: Box::new(|_, j, xs| row_step(xs[j])),
            };
            check(&spec, red, c.broken());
        }
        _ => {
            let (alpha, a_ok) = class_weights::<T>(&c.w2, c.flags >> 4, cols);
            let ar = alpha.as_deref();
            let a_of = |k: usize| ar.map_or(1.0, |a| a.get(k).map_or(0.0, |v| v.to_f64()));
            let gamma = T::from_f64(c.p2);
            let gm = gamma.to_f64();
            let valid = ok && a_ok && gm.is_finite() && gm >= 0.0;
            let opts = FocalOptions {
                alpha: ar,
                gamma,
                ignore_index: ignore,
            };
            let spec = Spec {
                name: "softmax_focal_loss",
                x: &x,
                cols,
                valid,
                none_valid: valid,
                reduced: Box::new(|r| loss::softmax_focal_loss(&x, &targets, cols, &opts, r)),
                with_grad: Box::new(|r, g| {
                    loss::softmax_focal_loss_with_grad(&x, &targets, cols, &opts, r, g)
                }),
                none: Box::new(|o| loss::softmax_focal_loss_none(&x, &targets, cols, &opts, o)),
                none_grad: Box::new(|o, g| {
                    loss::softmax_focal_loss_none_with_grad(&x, &targets, cols, &opts, o, g)
                }),
                denom: Box::new(|r| match r {
                    Reduction::Sum => 1.0,
                    Reduction::Mean => (0..rows).filter(|&u| counted(u)).count() as f64,
                }),
                unit: Box::new(|u, xs| {
                    if !counted(u) {
                        return Some(zero_ref(cols));
                    }
                    let k = targets[u] as usize;
                    if !xs.iter().all(|v| v.is_finite()) {
                        return Some(Ref::simple(f64::NAN, 0.0, true, vec![f64::INFINITY; cols]));
                    }
                    let at = a_of(k);
                    let (m, lsum) = lse(xs);
                    let nlp = (m - xs[k]) + lsum; // -log p_t >= 0, no cancellation
                    if nlp == 0.0 {
                        // p_t = 1 to f64 precision: loss 0, gradient ~0 (the other p_j).
                        let gmag = (0..cols)
                            .map(|j| {
                                at * (libm::exp(xs[j] - m - lsum) + if j == k { 1.0 } else { 0.0 })
                            })
                            .collect();
                        return Some(Ref::simple(0.0, 0.0, true, gmag));
                    }
                    // The rounding of m - x_k (up to |log p_t| u) would be carried into p_t
                    // and multiplied by gamma ln q (~ gamma p_t for small p_t): p_t from the
                    // exact difference, e^{-nlp} (1 - lo), where lo is what nlp dropped.
                    let (dk, e1) = two_sum(m, -xs[k]);
                    let (_, e2) = two_sum(dk, lsum);
                    let nlp_lo = if e1.is_finite() && e2.is_finite() {
                        e1 + e2
                    } else {
                        0.0
                    };
                    let q = -libm::expm1(-nlp);
                    // ln q = log1p(-p_t) while p_t is small (ln of a q rounded to 1 would
                    // drop gamma ln q entirely for a huge gamma).
                    let pt0 = libm::exp(-nlp) * (1.0 - nlp_lo);
                    let lq = if pt0 < 0.5 {
                        libm::log1p(-pt0)
                    } else {
                        libm::log(q)
                    };
                    let qg = if gm == 0.0 { 1.0 } else { libm::exp(gm * lq) };
                    // One final rounding: the class weight may be subnormal, and `at * qg`
                    // rounded there, then multiplied by `nlp` (~30), put the reference 14.6
                    // units of 2^-1074 off the exact product (seed
                    // softmax_focal_subnormal_alpha_f64; the kernel was within 0.4).
                    let v = coef_scaled(at, qg, nlp);
                    let pt = pt0;
                    let big_g = qg + gm * pt * libm::exp(libm::log(nlp) + (gm - 1.0) * lq);
                    // Documented f64 bound: 8 + 3 (g |ln q| + |g - 1| |ln q| + |ln(-log p_t)|).
                    let grow =
                        3.0 * (gm * lq.abs() + (gm - 1.0).abs() * lq.abs() + libm::log(nlp).abs());
                    let gmag = (0..cols)
                        .map(|j| {
                            let p = libm::exp(-((m - xs[j]) + lsum));
                            at * big_g
                                * (p + if j == k { 1.0 } else { 0.0 })
                                * (1.0 + grow / GRAD_ULPS)
                        })
                        .collect();
                    Some(Ref {
                        v,
                        scale: v,
                        ulps: VALUE_ULPS + grow,
                        floor: 8.0 * at.max(1.0),
                        err: (16.0 + grow) * f64::EPSILON * v,
                        nonneg: true,
                        gmag,
                    })
                }),
                unit_finite: Box::new(row_fin),
                step: Box::new(|_, j, xs| row_step(xs[j])),
            };
            check(&spec, red, c.broken());
        }
    }
}

fn run<T: Float>(c: &Case) {
    match c.loss % 6 {
        0 => regression::<T>(&Case {
            loss: c.loss / 6,
            ..c.clone()
        }),
        1 => bce_family::<T>(&Case {
            loss: c.loss / 6,
            ..c.clone()
        }),
        2 => kl::<T>(c, false),
        3 => kl::<T>(c, true),
        _ => row_losses::<T>(&Case {
            loss: (c.loss / 6) * 2 + (c.loss % 6 - 4),
            ..c.clone()
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let c = decode(data);
    if std::env::var_os("LOSSES_DEBUG").is_some() {
        eprintln!("{c:?}");
    }
    if c.flags & 1 != 0 {
        run::<f64>(&c)
    } else {
        run::<f32>(&c)
    }
});
