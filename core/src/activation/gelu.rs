//! GELU, exact (`x Φ(x)`) and tanh-approximated (`x σ(2u)`), with their derivatives.
//!
//! Both keep relative accuracy in the negative tail, where the usual formulas cancel:
//!
//! - exact GELU: `Φ(x)` for `x < 0` is the scaled tail `Φ(-a) = S(a) e^(-a²/2)` (`a = |x|`,
//!   see [`crate::vmath::normal_cdf`]), never `(1 + erf(x/√2))/2`, which is 0 in f32 below
//!   `x ≈ -5.5` (PyTorch and ONNX runtimes return 0 for `x` in `[-13.15, -5.54]`, where
//!   the exact f32 value is a normal number). `e^(-a²/2)` comes from an exact square and
//!   the product `a S(a) e^(-a²/2)` is formed in double-word arithmetic with the power of
//!   two applied last, so `gelu(-12.217) ≈ -1.54e-33` and the subnormal results down to
//!   `x ≈ -14.36` are computed, not flushed.
//! - tanh GELU: `x (1 + tanh u)/2 = x σ(2u)`, `u = √(2/π) (x + 0.044715 x³)`, with `2u`
//!   carried as a double-word value: `|2u| ≈ 87` at `x = -10`, so a rounded `2u` would be
//!   off by up to 2^-18 and `e^(2u)` by ~100 ULP. `σ` comes from `e = exp(-|2u|)` as for
//!   the sigmoid.
//!
//! The derivatives are written in the same tail-stable forms:
//! `gelu'(x) = Φ(x) + x φ(x) = e^(-a²/2) (S(a) - a/√(2π))` for `x < 0` and
//! `1 - e^(-a²/2) (S(a) - a/√(2π))` for `x >= 0`; with `v = 2u`, `e = exp(-|v|)`:
//! `gelu_tanh'(x) = e (1 + e + x v') / (1 + e)²` for `x < 0` and
//! `(1 + e + x v' e) / (1 + e)²` for `x >= 0`.
//!
//! # Zero crossings of the derivatives
//!
//! Both derivatives cross zero once, `gelu'` at `x0 = -0.7517915246935645` and
//! `gelu_tanh'` at `x0 = -0.7524614220710163`, where `Φ(x)` and `x φ(x)` (resp. `σ(2u)`
//! and `x v' σ(2u)(1 - σ(2u))`) cancel. No working-precision formula has relative accuracy
//! at a zero crossing, so the bound changes form there: for `x` in `[-0.80, -0.70]` the
//! error is at most **1 ULP of `Φ(x)`** (resp. of `σ(2u)`), i.e. `|error| <= ulp(0.24)`
//! (`2^-26` in f32, `2^-55` in f64), an absolute bound at the scale of the cancelling terms
//! (measured: 0.31 of that ulp). Outside that interval the ULP budget holds (measured
//! maximum there: 2.7 ULP). The inputs of the cancellation, `S(a)` and `a/√(2π)`, are
//! formed to a fraction of an ulp for this reason.

use crate::driver;
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath;
use crate::vmath::gauss::{
    dw_const, exp_parts, mul_dw, precise_forward, scale, scaled_tail, tail_amax, two_sum,
};

/// `1/√(2π)` as `hi + lo`.
const INV_SQRT_2PI: (f64, f64) = (0.3989422804014327, -2.49232720227773e-17);
/// `2 √(2/π)`: `v = 2u = x (C1 + C3 x²)`.
const C1: (f64, f64) = (1.5957691216057308, -9.96930880911092e-17);
/// `2 √(2/π) 0.044715` (the decimal constant taken as exact).
const C3: (f64, f64) = (0.07135481627260025, -6.175149918155315e-19);
/// `3 C3`, for `v' = C1 + 3 C3 x²`.
const C3X3: (f64, f64) = (0.21406444881780073, 1.2025242832367862e-17);
/// `|x|` beyond which `gelu_tanh` is `x` (σ rounds to 1) or `-0` (underflow), in both types.
const TANH_XMAX: f64 = 30.0;

#[inline(always)]
fn s<L: Lane>(v: f64) -> L {
    L::splat(<L::Scalar as Float>::from_f64(v))
}

/// For `a = |x|` (clamped), the double-word `S(a)` and `e^(-a²/2) = 2^n (mh + ml)`.
#[inline(always)]
fn gauss_parts<L: Lane>(a: L, precise: bool) -> (L, L, L, L, L) {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let half = s::<L>(-0.5);
    let (sh, sl) = scaled_tail(a, zero, precise);
    // Exact square: the rounding of a² would be multiplied by a²/2 in the relative error.
    let (g, ge) = L::two_prod(a, a);
    let (mh, ml, n) = exp_parts(g * half, ge * half);
    (sh, sl, mh, ml, n)
}

/// For `a = |x|` of an `f32` value in `f64` lanes, clamped to the `f32` table's `amax`:
/// `(S(a), e^(-a²/2))` with `Φ(-a) = S(a) e^(-a²/2)`, in plain `f64`. `S` is the `f32`
/// table's polynomial in `q = (a - K)/(a + K)` (relative error 3.95e-9 with its rounded
/// coefficients, 0.07 of an `f32` ULP), evaluated with `f64` roundings only; `a²` is exact
/// and [`vmath::exp_wide`] is within `1e-11`.
#[inline(always)]
fn gauss_parts_wide<D: Lane<Scalar = f64>>(a: D) -> (D, D) {
    let c = &crate::vmath::gauss::F32;
    let one = D::splat(1.0);
    let r = one / (a + D::splat(c.k));
    let q = D::splat(-2.0 * c.k).mul_add(r, one);
    let t = c.tail;
    let c0 = t.first().copied().unwrap_or(0.0) + t.get(1).copied().unwrap_or(0.0);
    let f = q.mul_add(
        crate::vmath::estrin(q, t.get(2..).unwrap_or(&[])),
        D::splat(c0),
    );
    (f * r, vmath::exp_wide((a * a) * D::splat(-0.5)))
}

/// [`gelu_derivative`] of `f32` values in `f64` lanes: `e^(-a²/2) (S(a) - a/√(2π))` for
/// `x < 0`, one minus it above. At the zero crossing the difference cancels: its absolute
/// error is the table's `3.95e-9` of `S(0.75) ≈ 0.3`, below a tenth of the `2^-26` bound.
#[inline(always)]
fn gelu_derivative_wide<D: Lane<Scalar = f64>>(x: D) -> D {
    let amax = D::splat(crate::vmath::gauss::F32.amax);
    let a = x.abs().min(amax);
    let (sa, e) = gauss_parts_wide(a);
    let y = e * (a.mul_add(D::splat(-INV_SQRT_2PI.0), sa));
    let r = D::select(x.lt(D::splat(0.0)), y, D::splat(1.0) - y);
    D::select(x.is_nan(), x, r)
}

/// Lane kernel of [`gelu`].
#[inline(always)]
pub(crate) fn gelu_lane<L: Lane>(x: L) -> L {
    // (No f64 evaluation here, unlike the derivative: the f32 forward form skips the
    // double-word steps of the tail polynomial, and measured 345 Melem/s against 308 for
    // the f64 one on the AVX2 backend, which would give 0.56 ULP instead of 1.91.)
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let a = x.abs();
    let ac = a.min(tail_amax::<L>());
    let (sh, sl, mh, ml, n) = gauss_parts(ac, precise_forward::<L>());
    // a Φ(-a) = a S(a) e^(-a²/2), one rounding at the end (the scaling by 2^n is exact, or
    // the rounding into the subnormals).
    let (ph, pe) = L::two_prod(sh, ac);
    let (yh, yl) = mul_dw(ph, sl.mul_add(ac, pe), mh, ml);
    let lower = scale(yh + yl, n);
    // x >= 0: x - x Φ(-x); the subtracted term is below x/2, no cancellation.
    let upper = (a - scale(yh, n)) - scale(yl, n);
    let r = L::select(x.lt(zero), lower, upper).copysign(x);
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`gelu_derivative`].
#[inline(always)]
pub(crate) fn gelu_derivative_lane<L: Lane>(x: L) -> L {
    if vmath::wide_eval::<L>() {
        let [a, b] = x.widen::<L::Wide>();
        return L::narrow([gelu_derivative_wide(a), gelu_derivative_wide(b)]);
    }
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let a = x.abs().min(tail_amax::<L>());
    // Always the precise tail: S enters the cancellation at the zero crossing.
    let (sh, sl, mh, ml, n) = gauss_parts(a, true);
    // D = S(a) - a/√(2π) in double-word: it cancels at the zero crossing a ≈ 0.7518, where
    // its absolute error (that of S) is what bounds the result.
    let (ch, cl) = dw_const::<L>(INV_SQRT_2PI);
    let (ph, pe) = L::two_prod(a, ch);
    let pl = a.mul_add(cl, pe);
    let (dh, de) = two_sum(sh, -ph);
    let dl = de + (sl - pl);
    let (yh, yl) = mul_dw(dh, dl, mh, ml);
    // x < 0: Φ(x) + x φ(x) = e^(-a²/2) D; x >= 0: 1 - e^(-a²/2) D (at least 1/2).
    let lower = scale(yh + yl, n);
    let upper = (one - scale(yh, n)) - scale(yl, n);
    let r = L::select(x.lt(zero), lower, upper);
    L::select(x.is_nan(), x, r)
}

/// Shared part of the tanh-GELU kernels: for `x` clamped to `±TANH_XMAX`, returns
/// `xc`, `v = 2u` as `vh + vl`, `e = exp(-|v|) = 2^n (mh + ml)` and its rounded value `er`.
#[inline(always)]
fn tanh_parts<L: Lane>(x: L) -> (L, L, L, L, L, L, L, L) {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let xc = x.max(s::<L>(-TANH_XMAX)).min(s::<L>(TANH_XMAX));
    let (c1h, c1l) = dw_const::<L>(C1);
    let (c3h, c3l) = dw_const::<L>(C3);
    // v = x (C1 + C3 x²) in double-word: |v| reaches ~100 in the range where e^-|v| is
    // representable, and every ulp of v there is a relative error of |v| ulp in e.
    let (x2, x2l) = L::two_prod(xc, xc);
    let (m, me) = L::two_prod(c3h, x2);
    let ml = c3h.mul_add(x2l, c3l.mul_add(x2, me));
    let (t, te) = two_sum(c1h, m);
    let tl = te + (ml + c1l);
    let (vh, ve) = L::two_prod(t, xc);
    let vl = tl.mul_add(xc, ve);
    // e = exp(-|v|); below VLO the results that use e underflow anyway, and clamping keeps
    // the power of two in range.
    let neg = vh.lt(zero);
    let wh = L::select(neg, vh, -vh);
    let wl = L::select(neg, vl, -vl);
    let vlo = if <L::Scalar as Float>::MANTISSA_DIGITS == 24 {
        s::<L>(-114.0)
    } else {
        s::<L>(-760.0)
    };
    let low = wh.lt(vlo);
    let (mh, ml, n) = exp_parts(wh.max(vlo), L::select(low, zero, wl));
    let er = scale(mh + ml, n);
    (xc, x2, x2l, mh, ml, n, er, neg)
}

/// `e^(-|v|)`, `v' = C1 + 3 C3 x²` and the clamped `x` itself, for an `f32` value `x` held in
/// `f64` lanes, clamped to `±TANH_XMAX` (the callers handle the lanes beyond), with plain
/// `f64` arithmetic: `x²` is exact (two 24-bit significands), `v`
/// carries three roundings of `2^-53`, which move `e` by at most `|v| 2^-51 <= 6e-14`
/// relative; [`vmath::exp_wide`] adds at most `1e-11`. Below `-120` the exponent is clamped: every
/// result that uses `e` there is below half the smallest `f32` subnormal, exactly or not.
#[inline(always)]
fn tanh_parts_wide<D: Lane<Scalar = f64>>(x: D) -> (D, D, D) {
    let xmax = D::splat(TANH_XMAX);
    let xc = x.max(-xmax).min(xmax);
    let x2 = xc * xc;
    let v = xc * x2.mul_add(D::splat(C3.0), D::splat(C1.0));
    let w = (-v.abs()).max(D::splat(-120.0));
    (
        vmath::exp_wide(w),
        x2.mul_add(D::splat(C3X3.0), D::splat(C1.0)),
        xc,
    )
}

/// [`gelu_tanh`] of `f32` values in `f64` lanes: `x σ(v)` in plain `f64` (within about
/// `1e-11` relative, [`vmath::exp_wide`]'s bound), rounded once to `f32` by the caller: within half
/// an `f32` ULP and a ten-thousandth, subnormal results included.
#[inline(always)]
fn gelu_tanh_wide<D: Lane<Scalar = f64>>(x: D) -> D {
    let one = D::splat(1.0);
    let xmax = D::splat(TANH_XMAX);
    let (e, _, _) = tanh_parts_wide(x);
    // σ(v) = 1/(1 + e) for x >= 0, e/(1 + e) below.
    let neg = x.lt(D::splat(0.0));
    let r = x * (D::select(neg, e, one) / (one + e));
    // Beyond the clamp: x itself above (σ rounds to 1), -0 below (the vanishing negative
    // values); NaN stays NaN.
    let r = D::select(x.gt(xmax), x, r);
    let r = D::select(x.lt(-xmax), D::splat(-0.0), r);
    D::select(x.is_nan(), x, r)
}

/// [`gelu_tanh_derivative`] of `f32` values in `f64` lanes: `e (1 + e + x v') / (1 + e)²`
/// for `x < 0`, `(1 + e + x v' e) / (1 + e)²` above, in plain `f64`. At the zero crossing
/// the cancellation in `1 + e + x v'` costs `f64` bits, not `f32` ones: the absolute error
/// there is that of `e` (`1e-11` relative, `e` about 0.3), near `1e-12`, far inside the
/// `2^-26` bound.
#[inline(always)]
fn gelu_tanh_derivative_wide<D: Lane<Scalar = f64>>(x: D) -> D {
    let one = D::splat(1.0);
    let xmax = D::splat(TANH_XMAX);
    let (e, vp, xc) = tanh_parts_wide(x);
    let neg = x.lt(D::splat(0.0));
    let d = one + e;
    let p = xc * vp;
    let num = D::select(neg, e * (d + p), d + p * e);
    let r = num / (d * d);
    let r = D::select(x.gt(xmax), one, r);
    let r = D::select(x.lt(-xmax), D::splat(-0.0), r);
    D::select(x.is_nan(), x, r)
}

/// Lane kernel of [`gelu_tanh`].
#[inline(always)]
pub(crate) fn gelu_tanh_lane<L: Lane>(x: L) -> L {
    if vmath::wide_eval::<L>() {
        let [a, b] = x.widen::<L::Wide>();
        return L::narrow([gelu_tanh_wide(a), gelu_tanh_wide(b)]);
    }
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let (xc, _, _, mh, ml, n, e, neg) = tanh_parts(x);
    // σ(v) = 1/(1 + e) for v >= 0, e/(1 + e) for v < 0. d + err = 1 + e exactly.
    let d = one + e;
    let err = (one - d) + e;
    // Numerator |x| (1 or 2^n (mh + ml)), 2^n applied after the division.
    let a = xc.abs();
    let (ph, pe) = L::two_prod(mh, a);
    let pl = ml.mul_add(a, pe);
    let nh = L::select(neg, ph, a);
    let nl = L::select(neg, pl, zero);
    let ns = L::select(neg, n, zero);
    // One division, then a Newton step with the exact residual: q = (nh + nl)/(d + err).
    let rd = one / d;
    let q = nh * rd;
    let (h, l) = L::two_prod(q, d);
    let rho = ((nh - h) - l) + (nl - q * err);
    let q = rho.mul_add(rd, q);
    let r = scale(q, ns);
    // Beyond the clamp: x itself (σ = 1) above, -0 below.
    let r = L::select(x.gt(xc), x.abs(), r);
    let r = L::select(x.lt(xc), zero, r).copysign(x);
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`gelu_tanh_derivative`].
#[inline(always)]
pub(crate) fn gelu_tanh_derivative_lane<L: Lane>(x: L) -> L {
    if vmath::wide_eval::<L>() {
        let [a, b] = x.widen::<L::Wide>();
        return L::narrow([gelu_tanh_derivative_wide(a), gelu_tanh_derivative_wide(b)]);
    }
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let (xc, x2, x2l, mh, ml, n, e, neg) = tanh_parts(x);
    let d = one + e;
    let err = (one - d) + e;
    // v' = C1 + 3 C3 x² and p = x v' in double-word: 1 + e + x v' cancels at the zero
    // crossing, and there its absolute error is what bounds the result.
    let (c1h, c1l) = dw_const::<L>(C1);
    let (k3h, k3l) = dw_const::<L>(C3X3);
    let (m, me) = L::two_prod(k3h, x2);
    let mlo = k3h.mul_add(x2l, k3l.mul_add(x2, me));
    let (vp, vpe) = two_sum(c1h, m);
    let vpl = vpe + (mlo + c1l);
    let (ph, pe) = L::two_prod(xc, vp);
    let pl = xc.mul_add(vpl, pe);
    // x >= 0: the x v' term carries the factor e (no cancellation there, all terms >= 0).
    let ph = L::select(neg, ph, ph * e);
    let pl = L::select(neg, pl, pl * e);
    // N = (d + err) + p.
    let (nh, ne) = two_sum(d, ph);
    let nl = ne + (err + pl);
    // Numerator: x < 0: 2^n (mh + ml) N (power of two applied last); x >= 0: N.
    let (th, tl) = mul_dw(nh, nl, mh, ml);
    let uh = L::select(neg, th, nh);
    let ul = L::select(neg, tl, nl);
    let ns = L::select(neg, n, zero);
    // Divide by (d + err)² = dd + ddl.
    let (dd, dde) = L::two_prod(d, d);
    let ddl = (d + d).mul_add(err, dde);
    let rd = one / dd;
    let q = uh * rd;
    let (h, l) = L::two_prod(q, dd);
    let rho = ((uh - h) - l) + (ul - q * ddl);
    let q = rho.mul_add(rd, q);
    let r = scale(q, ns);
    let r = L::select(x.gt(xc), one, r);
    let r = L::select(x.lt(xc), -zero, r);
    L::select(x.is_nan(), x, r)
}

/// Exact GELU, `out[i] = x[i] Φ(x[i])` with `Φ` the standard normal CDF
/// (`Φ(x) = erfc(-x/√2)/2`).
///
/// Domain: every value. `gelu(+inf) = +inf`; `gelu(-inf) = -0.0`, the sign of the vanishing
/// negative values (every finite `x < 0` gives a negative result or `-0.0` where it
/// underflows, `x < -14.36` in f32, `x < -38.58` in f64); `gelu(±0) = ±0`; NaN gives NaN.
/// The negative tail is computed with relative accuracy down to the subnormals
/// (`gelu(-12.217) ≈ -1.54e-33` in f32, where `1 + erf` based kernels return 0).
///
/// Accuracy (max error against an exact reference, see the README table): f32 ≤ 4 ULP,
/// f64 ≤ 4 ULP, on the whole range including the negative tail.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let x = [-12.217f32, 0.0, 1.0];
/// let mut y = [0.0f32; 3];
/// nonlin::gelu(&x, &mut y).unwrap();
/// assert!((y[0] / -1.540695e-33 - 1.0).abs() < 1e-5); // a normal number, not 0
/// assert_eq!(y[1], 0.0);
/// assert!((y[2] - 0.8413447).abs() < 1e-6);
/// ```
pub fn gelu<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| gelu_lane(x)))
}

/// [`gelu`] in place: `x[i] = x[i] Φ(x[i])`. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [0.0f64, 1.0];
/// nonlin::gelu_inplace(&mut x);
/// assert_eq!(x[0], 0.0);
/// assert!((x[1] - 0.8413447460685429).abs() < 1e-15);
/// ```
pub fn gelu_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| gelu_lane(x)))
}

/// Derivative of the exact GELU, `out[i] = Φ(x[i]) + x[i] φ(x[i])`
/// (`φ(x) = e^(-x²/2)/√(2π)`).
///
/// Domain: every value; `gelu'(+inf) = 1`, `gelu'(-inf) = -0.0` (the derivative is negative
/// below its zero crossing and underflows below `x ≈ -14.54` in f32, `-38.67` in f64),
/// `gelu'(0) = 1/2`, NaN gives NaN. Subnormal results are computed.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP, except near the zero crossing
/// `x0 = -0.7517915246935645`: for `x` in `[-0.80, -0.70]` the error is at most 1 ULP of
/// `Φ(x)` (an absolute bound, `|error| <= ulp(0.24)`, at the scale of the two cancelling
/// terms `Φ(x)` and `x φ(x)`), since no working-precision formula keeps relative accuracy
/// at a zero crossing. See the module documentation. On the AVX2 backend an `f32` slice is
/// evaluated in `f64` lanes (the `f32` tail polynomial, relative error `3.95e-9`, with
/// `f64` roundings) and rounded once at the end.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 3];
/// nonlin::gelu_derivative(&[0.0, -10.0, 30.0], &mut d).unwrap();
/// assert_eq!(d[0], 0.5);
/// assert!(d[1] < 0.0 && (d[1] / -7.6184e-22 - 1.0).abs() < 1e-4); // not 0
/// assert_eq!(d[2], 1.0);
/// ```
pub fn gelu_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| gelu_derivative_lane(x)))
}

/// Backward pass of the exact GELU: `grad_in[i] = grad_out[i] * gelu'(x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`gelu_derivative`] plus one rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::gelu_backward(&[0.0], &[2.0], &mut g).unwrap();
/// assert_eq!(g[0], 1.0);
/// ```
pub fn gelu_backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * gelu_derivative_lane(x)),
    )
}

/// Tanh-approximated GELU, `out[i] = x σ(2u) = x (1 + tanh u)/2` with
/// `u = √(2/π) (x + 0.044715 x³)` (the decimal constant taken as exact).
///
/// Domain: every value. `gelu_tanh(+inf) = +inf`, `gelu_tanh(-inf) = -0.0` (negative
/// results underflow to `-0.0` below `x ≈ -10.77` in f32, `-21.55` in f64),
/// `gelu_tanh(±0) = ±0`, NaN gives NaN. The negative tail is computed with relative accuracy, subnormals
/// included (`2u` is carried in two parts: a rounded `2u ≈ -87` at `x = -10` would cost
/// ~100 ULP).
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP, on the whole range. On the AVX2 backend an `f32`
/// slice is evaluated in `f64` lanes with one rounding at the end: the `f64` value is
/// within about `1e-11` relative (a ten-thousandth of an `f32` ULP), so the result is within
/// half an ULP and that; on the other backends in `f32` double-word arithmetic (see the
/// README's accuracy table).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let x = [-10.0f32, 0.0, 1.0];
/// let mut y = [0.0f32; 3];
/// nonlin::gelu_tanh(&x, &mut y).unwrap();
/// assert!(y[0] < 0.0 && (y[0] / -1.20409e-37 - 1.0).abs() < 1e-4); // not 0
/// assert_eq!(y[1], 0.0);
/// assert!((y[2] - 0.8411920).abs() < 1e-6);
/// ```
pub fn gelu_tanh<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| gelu_tanh_lane(x)))
}

/// [`gelu_tanh`] in place. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [0.0f64, 1.0];
/// nonlin::gelu_tanh_inplace(&mut x);
/// assert_eq!(x[0], 0.0);
/// assert!((x[1] - 0.8411919906082768).abs() < 1e-15);
/// ```
pub fn gelu_tanh_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| gelu_tanh_lane(x)))
}

/// Derivative of the tanh-approximated GELU with respect to its input:
/// `σ(v) + x v' σ(v) (1 - σ(v))`, `v = 2u`, `v' = 2√(2/π) (1 + 3 · 0.044715 x²)`,
/// evaluated as `e (1 + e + x v')/(1 + e)²` (`x < 0`) and `(1 + e + x v' e)/(1 + e)²`
/// (`x >= 0`) with `e = exp(-|v|)`.
///
/// Domain: every value; `+inf` gives 1, `-inf` gives `-0.0` (negative values below the zero
/// crossing, underflowing), `0` gives 1/2, NaN gives NaN.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP, except near the zero crossing
/// `x0 = -0.7524614220710163`: for `x` in `[-0.80, -0.70]` the error is at most 1 ULP of
/// `σ(2u)` (an absolute bound at the scale of the cancelling terms, `|error| <= ulp(0.24)`).
/// On the AVX2 backend an `f32` slice is evaluated in `f64` lanes, as [`gelu_tanh`]:
/// measured 0.50 ULP over all `f32` inputs outside that interval, and within about `1e-12`
/// absolute inside it.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::gelu_tanh_derivative(&[0.0, 30.0], &mut d).unwrap();
/// assert_eq!(d[0], 0.5);
/// assert_eq!(d[1], 1.0);
/// ```
pub fn gelu_tanh_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| gelu_tanh_derivative_lane(x)))
}

/// Backward pass of the tanh-approximated GELU:
/// `grad_in[i] = grad_out[i] * gelu_tanh'(x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`gelu_tanh_derivative`] plus one
/// rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f32; 1];
/// nonlin::gelu_tanh_backward(&[0.0], &[4.0], &mut g).unwrap();
/// assert_eq!(g[0], 2.0);
/// ```
pub fn gelu_tanh_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    grad_in: &mut [T],
) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * gelu_tanh_derivative_lane(x)),
    )
}

/// Scalar references through `libm` (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    fn c<T: Float>(v: f64) -> T {
        T::from_f64(v)
    }

    /// `(e, d, v)`: `v = 2u`, `e = exp(-|v|)`, `d = 1 + e`.
    fn tanh_form<T: Float>(x: T) -> (T, T, T) {
        let v = x * (c::<T>(super::C1.0) + c::<T>(super::C3.0) * x * x);
        let e = (-v.abs()).exp();
        (e, T::ONE + e, v)
    }

    /// Scalar exact GELU, `x Φ(x)` with `Φ(x) = erfc(-x/√2)/2` (the tail through `erfc`,
    /// not `1 + erf`). `-inf` gives `-0`, `+inf` gives `+inf`.
    pub fn gelu<T: Float>(x: T) -> T {
        if x.is_nan() || x == T::INFINITY {
            return x;
        }
        if x == T::NEG_INFINITY {
            return -T::ZERO;
        }
        x * (c::<T>(0.5) * (-x * c::<T>(core::f64::consts::FRAC_1_SQRT_2)).erfc())
    }

    /// Scalar derivative of the exact GELU, `Φ(x) + x φ(x)`.
    pub fn gelu_derivative<T: Float>(x: T) -> T {
        if x.is_nan() {
            return x;
        }
        if x == T::INFINITY {
            return T::ONE;
        }
        if x == T::NEG_INFINITY {
            return -T::ZERO;
        }
        let phi = c::<T>(super::INV_SQRT_2PI.0) * (-(x * x) * c::<T>(0.5)).exp();
        c::<T>(0.5) * (-x * c::<T>(core::f64::consts::FRAC_1_SQRT_2)).erfc() + x * phi
    }

    /// Scalar tanh GELU, `x σ(2u)` with `σ` from `exp(-|2u|)` (tail accurate up to the
    /// rounding of `2u`).
    pub fn gelu_tanh<T: Float>(x: T) -> T {
        if x.is_nan() || x == T::INFINITY {
            return x;
        }
        if x == T::NEG_INFINITY {
            return -T::ZERO;
        }
        let (e, d, v) = tanh_form(x);
        if v >= T::ZERO { x / d } else { x * e / d }
    }

    /// Scalar derivative of the tanh GELU, `e (1 + e + x v')/(1 + e)²` for `x < 0`,
    /// `(1 + e + x v' e)/(1 + e)²` otherwise.
    pub fn gelu_tanh_derivative<T: Float>(x: T) -> T {
        if x.is_nan() {
            return x;
        }
        if x == T::INFINITY {
            return T::ONE;
        }
        // Beyond ±30 the limits hold to every precision (and x v' must not overflow).
        if x > c::<T>(super::TANH_XMAX) {
            return T::ONE;
        }
        if x < c::<T>(-super::TANH_XMAX) {
            return -T::ZERO;
        }
        let (e, d, v) = tanh_form(x);
        let xvp = x * (c::<T>(super::C1.0) + c::<T>(super::C3X3.0) * x * x);
        if v < T::ZERO {
            e * (d + xvp) / (d * d)
        } else {
            (d + xvp * e) / (d * d)
        }
    }
}
