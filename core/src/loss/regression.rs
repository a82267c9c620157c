//! Regression losses: mean squared error, L1 (mean absolute error), Huber and smooth L1,
//! with PyTorch semantics, their fused gradients, and the reduction helpers shared by every
//! element-wise loss.
//!
//! Every element-wise term is computed from `d = pred - target` carried in two parts (the
//! rounded difference and its exact rounding error, by TwoSum), so the squared terms are
//! within about one rounding of the exact value even though `pred - target` itself is
//! rounded. Reduced losses sum the terms with [`crate::reduce`]'s deterministic
//! double-double block sum, then divide by the element count in double-double: the reduced
//! value is the correctly rounded (to within a few units in the last place of `f64`) mean
//! or sum of the computed terms, and bit-identical however the work is split into
//! [`crate::reduce::BLOCK`]-aligned pieces (see [`finish_loss`] and the `*_partial`
//! functions).
//!
//! Special values: NaN in `pred` or `target` propagates to that element's loss, its gradient
//! and the reduced value. `±inf` gives the limits where they exist (`mse(inf, 0) = inf`,
//! `huber'(inf) = delta`); `inf - inf` (both arguments infinite, same sign) is NaN, as in
//! PyTorch.

use super::Reduction;
use crate::driver;
use crate::error::{Error, check_len};
use crate::float::Float;
use crate::lane::Lane;
use crate::reduce::{Dd, sum3};
use crate::{lanes, lanes2};

type Ln<T> = <T as Float>::Lane;

/// `a / n` for a double-double `a`, rounded once to `f64` (the remainder of the head
/// division is exact by FMA, so the quotient is within a hair of correctly rounded).
#[inline]
fn dd_div(a: Dd, n: f64) -> f64 {
    let q = a.hi / n;
    if !q.is_finite() || a.hi == 0.0 {
        return (a.hi + a.lo) / n;
    }
    let r = libm::fma(-q, n, a.hi);
    q + (r + a.lo) / n
}

/// Turns a combined partial sum into the reduced loss: `total` for [`Reduction::Sum`],
/// `total / count` for [`Reduction::Mean`] (divided in double-double, then rounded to `T`).
///
/// This is the last step of every reduced element-wise loss. A caller that splits the
/// slices at multiples of [`crate::reduce::BLOCK`], calls the loss's `*_partial` function
/// on each piece (in any order, on any thread), combines the returned [`Dd`]s *in piece
/// order* with [`Dd::add`] starting from [`Dd::ZERO`], and finishes here with the total
/// element count gets the same bits as the one-call function.
///
/// A mean over zero elements is `0` (PyTorch returns NaN): an empty batch contributes
/// nothing and never turns a valid input into NaN.
///
/// # Example
/// ```
/// use nonlin::loss::{finish_loss, mse, mse_partial, Reduction};
/// use nonlin::reduce::{Dd, BLOCK};
/// let p: Vec<f32> = (0..3 * BLOCK + 5).map(|i| (i % 7) as f32).collect();
/// let t = vec![1.0f32; p.len()];
/// let mut total = Dd::ZERO;
/// for (pc, tc) in p.chunks(BLOCK).zip(t.chunks(BLOCK)) {
///     total = total.add(mse_partial(pc, tc, 1.0, None)?);
/// }
/// let m: f32 = finish_loss(total, p.len(), Reduction::Mean);
/// assert_eq!(m.to_bits(), mse(&p, &t, Reduction::Mean)?.to_bits());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn finish_loss<T: Float>(total: Dd, count: usize, reduction: Reduction) -> T {
    match reduction {
        Reduction::Sum => T::from_f64(total.value()),
        Reduction::Mean => {
            if count == 0 {
                T::ZERO
            } else {
                T::from_f64(dd_div(total, count as f64))
            }
        }
    }
}

/// The gradient scale of a reduction over `n` elements: `1/n` for the mean, `1` for the sum.
#[inline]
pub(crate) fn grad_scale<T: Float>(n: usize, reduction: Reduction) -> T {
    match reduction {
        Reduction::Sum => T::ONE,
        Reduction::Mean => T::from_f64(1.0 / (n.max(1) as f64)),
    }
}

/// Checks that `grad`'s scale parameter of a `*_partial` call is usable.
#[inline]
pub(crate) fn check_scale<T: Float>(scale: T) -> Result<(), Error> {
    crate::error::check_finite("grad_scale", scale.to_f64())
}

/// `(d, e)` with `d = fl(x - t)` and `d + e = x - t` exactly (TwoSum). `e` is 0 where `d` is
/// not finite (the error term of an infinite difference is meaningless).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn diff2<L: Lane>(x: L, t: L) -> (L, L) {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let d = x - t;
    let bb = d - x;
    let e = (x - (d - bb)) + (-t - bb);
    (d, L::select(e.is_nan(), zero, e))
}

/// `(d + e)^2` to within about one rounding: `d^2 + 2de` (`e^2` is below half an ulp of
/// `d^2`). The correction is dropped where it is not finite: `|2de| <= 2^-p d^2`, so it can
/// only overflow where `d^2` does (the square is then `+inf`, and `inf - inf` would make it
/// NaN or, fused, `-inf`), and it is NaN at `d = ±inf` (`inf * 0`).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn square2<L: Lane>(d: L, e: L) -> L {
    let c = (d + d) * e;
    d.mul_add(d, finite_or_zero(c))
}

/// `(d + e)^2 / 2` to within about one rounding: `(d/2) d + de`. Halving `d` first keeps
/// the half-square finite where `d^2` overflows but `d^2 / 2` does not, and rounds once
/// (not twice) where it is subnormal. The correction is dropped where not finite, as in
/// [`square2`].
#[cfg_attr(not(nonlin_outline), inline(always))]
fn half_square2<L: Lane>(d: L, e: L) -> L {
    let half = L::splat(<L::Scalar as Float>::from_f64(0.5));
    (half * d).mul_add(d, finite_or_zero(d * e))
}

/// `v` where it is finite, 0 elsewhere.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn finite_or_zero<L: Lane>(v: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    L::select(v.is_nan().or(v.is_inf()), zero, v)
}

/// `(d, e, s, inv)`: `d + e = s (x - t)` exactly (TwoSum) with `s = 1/2` where `|x|` or
/// `|t|` is at least `MAX / 2` and `s = 1` elsewhere; `inv = 1/s`. Below `MAX / 2` the
/// difference of two values cannot overflow; above, halving both is exact, so the
/// difference of finite inputs is always carried without overflow (huber's and smooth
/// L1's linear pieces `delta (|d| - delta/2)` and `|d| - beta/2` are finite where the exact
/// value is, although `x - t` is not).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn diff2_scaled<L: Lane>(x: L, t: L) -> (L, L, L, L) {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let half = L::splat(<L::Scalar as Float>::from_f64(0.5));
    let thr = L::splat(<L::Scalar as Float>::MAX) * half;
    let big = x.abs().max(t.abs()).ge(thr);
    let s = L::select(big, half, one);
    let (d, e) = diff2(x * s, t * s);
    (d, e, s, L::select(big, one + one, one))
}

/// `sign(d)` with `sign(±0) = 0` (PyTorch's gradient convention) and NaN kept.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn sign<L: Lane>(d: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let one = L::splat(<L::Scalar as Float>::ONE);
    let s = L::select(d.gt(zero), one, L::select(d.lt(zero), -one, zero));
    L::select(d.is_nan(), d, s)
}

/// Lane kernel of [`mse`]: `((x - t)^2, 2 (x - t))`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn mse_lane<L: Lane>(x: L, t: L) -> (L, L) {
    let (d, e) = diff2(x, t);
    let sq = square2(d, e);
    (sq, d + d)
}

/// Lane kernel of [`l1`]: `(|x - t|, sign(x - t))`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn l1_lane<L: Lane>(x: L, t: L) -> (L, L) {
    let d = x - t;
    (d.abs(), sign(d))
}

/// Lane kernel of [`huber`].
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn huber_lane<L: Lane>(x: L, t: L, delta: L) -> (L, L) {
    let half = L::splat(<L::Scalar as Float>::from_f64(0.5));
    // d + e = (x - t) / inv exactly, inv = 1 or 2 (2 only where |x| or |t| >= MAX/2).
    let (d, e, s, inv) = diff2_scaled(x, t);
    let z = d.abs() * inv; // |x - t| rounded once (inf where it overflows)
    let quad = half_square2(d, e) * (inv * inv);
    // z >= delta, so z - delta/2 >= z/2: no cancellation; the TwoSum error of d is added
    // back with d's sign so the linear branch is within about one rounding of exact. In
    // units of 1/inv: delta (|x - t| - delta/2) = inv delta (|d| - delta/(2 inv) + e sgn d),
    // finite wherever the exact value is, even where x - t overflows.
    let lin = (delta * ((d.abs() - (half * delta) * s) + e * sign(d))) * inv;
    let loss = L::select(z.lt(delta), quad, lin);
    let dd = d * inv;
    let g = dd.min(delta).max(-delta);
    let g = L::select(d.is_nan(), d, g);
    (L::select(d.is_nan(), d, loss), g)
}

/// Lane kernel of [`smooth_l1`] for `beta > 0`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn smooth_l1_lane<L: Lane>(x: L, t: L, beta: L) -> (L, L) {
    let half = L::splat(<L::Scalar as Float>::from_f64(0.5));
    let (d, e, s, inv) = diff2_scaled(x, t);
    let z = d.abs() * inv;
    // (d + e)^2 / (2 beta) as (d / beta) (d/2 + e): the quotient |d / beta| < 1 is formed
    // first, so neither d^2's underflow (tiny beta) nor its overflow (huge beta) is seen.
    let r = d / beta;
    let quad = (r * half.mul_add(d, e)) * (inv * inv);
    let lin = ((d.abs() - (half * beta) * s) + e * sign(d)) * inv;
    let loss = L::select(z.lt(beta), quad, lin);
    let g = L::select(z.lt(beta), r * inv, sign(d));
    (L::select(d.is_nan(), d, loss), L::select(d.is_nan(), d, g))
}

/// The deterministic sum of `f(a, b, c).0`, writing `scale * f(a, b, c).1` into `grad` when
/// given. Lengths are checked by the callers. Without `grad`, the gradient half of `f` is
/// dead code after inlining and costs nothing.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn reduce_with<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    scale: T,
    grad: Option<&mut [T]>,
    f: impl Fn(Ln<T>, Ln<T>, Ln<T>) -> (Ln<T>, Ln<T>),
) -> Dd {
    let s = Ln::<T>::splat(scale);
    match grad {
        Some(g) => sum3(a, b, c, Some(g), |x, y, z| {
            let (l, d) = f(x, y, z);
            (l, d * s)
        }),
        None => sum3(a, b, c, None, |x, y, z| (f(x, y, z).0, x)),
    }
}

/// Checks the lengths of `target` and of the optional output slices against `pred`.
#[inline]
pub(crate) fn check_lens<T>(
    pred: &[T],
    target: &[T],
    out: Option<&[T]>,
    grad: Option<&[T]>,
) -> Result<(), Error> {
    check_len("target", pred.len(), target.len())?;
    if let Some(o) = out {
        check_len("out", pred.len(), o.len())?;
    }
    if let Some(g) = grad {
        check_len("grad", pred.len(), g.len())?;
    }
    Ok(())
}

/// Validates `beta` of smooth L1: finite and `>= 0`.
#[inline]
fn check_beta(beta: f64) -> Result<(), Error> {
    if beta.is_finite() && beta >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "beta",
            value: beta,
            requirement: "finite and >= 0",
        })
    }
}

// ---------------------------------------------------------------------------------------
// MSE

/// Mean squared error, `ℓ_i = (pred_i - target_i)^2`, reduced by `reduction`
/// (PyTorch `mse_loss`).
///
/// Domain: every value. Special values: NaN in either argument propagates; a squared
/// difference beyond the type's range is `+inf` (never NaN or negative, also where
/// `pred - target` itself overflows); `pred = target = ±inf` gives NaN.
///
/// Accuracy: each term is within 1 ULP of `(pred - target)^2` (f32 and f64: the difference
/// is carried exactly by TwoSum); the sum of the terms is accumulated in double-double and
/// rounded once, so the reduced value is within about 1 ULP of the exact mean of the
/// exact terms (a 10^8-element f32 mean is within 1e-7 relative).
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` if the lengths differ.
///
/// # Example
/// ```
/// use nonlin::loss::{mse, Reduction};
/// let l = mse(&[1.0f32, 2.0, 4.0], &[1.0, 0.0, 1.0], Reduction::Mean)?;
/// assert_eq!(l, 13.0 / 3.0);
/// assert_eq!(mse(&[1.0f64, 2.0], &[0.0, 0.0], Reduction::Sum)?, 5.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn mse<T: Float>(pred: &[T], target: &[T], reduction: Reduction) -> Result<T, Error> {
    check_lens(pred, target, None, None)?;
    let s = reduce_with(pred, target, &[], T::ONE, None, |x, t, _| mse_lane(x, t));
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise MSE (reduction "none"): `out[i] = (pred[i] - target[i])^2`.
///
/// Same domain, special values and accuracy (≤ 1 ULP) as [`mse`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `out`; nothing is written then.
///
/// # Example
/// ```
/// let mut out = [0.0f32; 2];
/// nonlin::loss::mse_none(&[3.0, -1.0], &[1.0, 1.0], &mut out)?;
/// assert_eq!(out, [4.0, 4.0]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn mse_none<T: Float>(pred: &[T], target: &[T], out: &mut [T]) -> Result<(), Error> {
    check_lens(pred, target, Some(out), None)?;
    driver::map2_unchecked(pred, target, out, lanes!(|x, t| mse_lane(x, t).0));
    Ok(())
}

/// MSE and its gradient in one pass: returns the reduced loss and writes
/// `grad[i] = d loss / d pred[i] = 2 (pred[i] - target[i]) * s`, with `s = 1/N` for
/// [`Reduction::Mean`] and `1` for [`Reduction::Sum`].
///
/// Accuracy: the loss as [`mse`]; the gradient within 1.5 ULP (the rounded difference and
/// the rounded `1/N`), exactly `2 (pred - target)` rounded once for `Sum`.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; nothing is written then.
///
/// # Example
/// ```
/// use nonlin::loss::{mse_with_grad, Reduction};
/// let mut g = [0.0f64; 2];
/// let l = mse_with_grad(&[3.0, 1.0], &[1.0, 1.0], Reduction::Mean, &mut g)?;
/// assert_eq!((l, g), (2.0, [2.0, 0.0]));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn mse_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(pred, target, None, Some(grad))?;
    let scale = grad_scale(pred.len(), reduction);
    let s = reduce_with(pred, target, &[], scale, Some(grad), |x, t, _| {
        mse_lane(x, t)
    });
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise MSE and gradient: `out[i] = (pred[i] - target[i])^2`,
/// `grad[i] = 2 (pred[i] - target[i])`. Accuracy as [`mse_none`] (loss ≤ 1 ULP) and
/// [`mse_with_grad`] (gradient ≤ 0.5 ULP).
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `out` or `grad`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f32; 1], [0.0f32; 1]);
/// nonlin::loss::mse_none_with_grad(&[0.5], &[0.0], &mut o, &mut g)?;
/// assert_eq!((o[0], g[0]), (0.25, 1.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn mse_none_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    check_lens(pred, target, Some(out), Some(grad))?;
    driver::map3_2out_unchecked(
        pred,
        target,
        pred,
        out,
        grad,
        lanes2!(|x, t, _p| mse_lane(x, t)),
    );
    Ok(())
}

/// The unreduced [`Dd`] sum of the MSE terms of one piece of a larger slice, writing
/// `grad[i] = grad_scale * 2 (pred[i] - target[i])` when `grad` is given. Combine pieces
/// split at multiples of [`crate::reduce::BLOCK`] in order and finish with [`finish_loss`]
/// (pass `grad_scale = 1/N` as `T` for a mean over the whole slice of `N` elements, `1` for
/// a sum) to reproduce [`mse`] / [`mse_with_grad`] bit for bit.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `grad_scale` if it is not finite.
///
/// # Example
/// ```
/// let d = nonlin::loss::mse_partial(&[2.0f32], &[0.0], 1.0, None)?;
/// assert_eq!(d.value(), 4.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn mse_partial<T: Float>(
    pred: &[T],
    target: &[T],
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(pred, target, None, grad.as_deref())?;
    check_scale(grad_scale)?;
    Ok(reduce_with(
        pred,
        target,
        &[],
        grad_scale,
        grad,
        |x, t, _| mse_lane(x, t),
    ))
}

// ---------------------------------------------------------------------------------------
// L1

/// L1 loss (mean absolute error), `ℓ_i = |pred_i - target_i|`, reduced by `reduction`
/// (PyTorch `l1_loss`).
///
/// Gradient convention (PyTorch): `d ℓ_i / d pred_i = sign(pred_i - target_i)` with
/// `sign(0) = 0`, so an element predicted exactly contributes a zero gradient.
///
/// Domain: every value; NaN propagates; `|±inf - finite| = inf` (gradient `±1`);
/// `inf - inf` is NaN.
///
/// Accuracy: each term is `|pred - target|` correctly rounded (0.5 ULP); reduced value as
/// for [`mse`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`.
///
/// # Example
/// ```
/// use nonlin::loss::{l1, Reduction};
/// assert_eq!(l1(&[1.0f32, -2.0], &[0.0, 0.0], Reduction::Mean)?, 1.5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn l1<T: Float>(pred: &[T], target: &[T], reduction: Reduction) -> Result<T, Error> {
    check_lens(pred, target, None, None)?;
    let s = reduce_with(pred, target, &[], T::ONE, None, |x, t, _| l1_lane(x, t));
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise L1 loss: `out[i] = |pred[i] - target[i]|` (0.5 ULP). See [`l1`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `out`.
///
/// # Example
/// ```
/// let mut o = [0.0f64; 2];
/// nonlin::loss::l1_none(&[1.0, -2.0], &[0.5, 0.0], &mut o)?;
/// assert_eq!(o, [0.5, 2.0]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn l1_none<T: Float>(pred: &[T], target: &[T], out: &mut [T]) -> Result<(), Error> {
    check_lens(pred, target, Some(out), None)?;
    driver::map2_unchecked(pred, target, out, lanes!(|x, t| l1_lane(x, t).0));
    Ok(())
}

/// L1 loss and gradient `grad[i] = sign(pred[i] - target[i]) * s` (`sign(0) = 0`,
/// `s = 1/N` for the mean, rounded once to `T`; `1` for the sum). See [`l1`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{l1_with_grad, Reduction};
/// let mut g = [9.0f32; 3];
/// let l = l1_with_grad(&[1.0, 0.0, -1.0], &[0.0; 3], Reduction::Sum, &mut g)?;
/// assert_eq!((l, g), (2.0, [1.0, 0.0, -1.0]));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn l1_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(pred, target, None, Some(grad))?;
    let scale = grad_scale(pred.len(), reduction);
    let s = reduce_with(pred, target, &[], scale, Some(grad), |x, t, _| {
        l1_lane(x, t)
    });
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise L1 loss and gradient (`sign(pred - target)`, `sign(0) = 0`). See [`l1`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `out` or `grad`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f32; 1], [0.0f32; 1]);
/// nonlin::loss::l1_none_with_grad(&[-3.0], &[0.0], &mut o, &mut g)?;
/// assert_eq!((o[0], g[0]), (3.0, -1.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn l1_none_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    check_lens(pred, target, Some(out), Some(grad))?;
    driver::map3_2out_unchecked(
        pred,
        target,
        pred,
        out,
        grad,
        lanes2!(|x, t, _p| l1_lane(x, t)),
    );
    Ok(())
}

/// Unreduced [`Dd`] sum of the L1 terms of one piece (gradient scaled by `grad_scale`);
/// see [`mse_partial`] for the splitting contract.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `grad_scale` if it is not finite.
///
/// # Example
/// ```
/// let d = nonlin::loss::l1_partial(&[2.0f32], &[0.5], 1.0, None)?;
/// assert_eq!(d.value(), 1.5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn l1_partial<T: Float>(
    pred: &[T],
    target: &[T],
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(pred, target, None, grad.as_deref())?;
    check_scale(grad_scale)?;
    Ok(reduce_with(
        pred,
        target,
        &[],
        grad_scale,
        grad,
        |x, t, _| l1_lane(x, t),
    ))
}

// ---------------------------------------------------------------------------------------
// Huber

/// Huber loss (PyTorch `huber_loss`): with `d = pred_i - target_i`,
/// `ℓ_i = d^2 / 2` for `|d| < delta`, `delta (|d| - delta/2)` otherwise; reduced by
/// `reduction`. Gradient: `clamp(d, -delta, delta)`.
///
/// Domain: every value, `delta` finite and `> 0`. Special values: NaN propagates;
/// `|d| = inf` gives `inf` with the finite gradient `±delta`; `inf - inf` is NaN.
/// Finite inputs give a finite loss wherever the exact loss is within the type's range,
/// also where `pred - target` overflows (the difference is then carried halved: f32
/// `huber(MAX, -MAX, delta = 1e-30) = 6.8e8`) and where `d^2` overflows but `d^2 / 2` does
/// not; where the exact loss exceeds the range the result is `+inf`, never NaN.
///
/// Accuracy: each term within 2 ULP (f32 and f64): `d` is carried exactly, and in the linear
/// branch `|d| - delta/2 >= |d|/2` cannot cancel. Reduced value as for [`mse`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`; [`Error::InvalidParameter`] naming `delta`
/// if it is not finite and `> 0`. Nothing is computed then.
///
/// # Example
/// ```
/// use nonlin::loss::{huber, Reduction};
/// // |d| = 0.5 < 1: 0.125; |d| = 3: 1 * (3 - 0.5) = 2.5
/// assert_eq!(huber(&[0.5f32, 3.0], &[0.0, 0.0], 1.0, Reduction::Sum)?, 2.625);
/// assert!(huber(&[0.0f32], &[0.0], -1.0, Reduction::Sum).is_err());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn huber<T: Float>(
    pred: &[T],
    target: &[T],
    delta: T,
    reduction: Reduction,
) -> Result<T, Error> {
    check_lens(pred, target, None, None)?;
    crate::error::check_positive("delta", delta.to_f64())?;
    let dl = Ln::<T>::splat(delta);
    let s = reduce_with(pred, target, &[], T::ONE, None, |x, t, _| {
        huber_lane(x, t, dl)
    });
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise Huber loss. See [`huber`] (≤ 2 ULP).
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `out`; [`Error::InvalidParameter`] naming
/// `delta`.
///
/// # Example
/// ```
/// let mut o = [0.0f64; 2];
/// nonlin::loss::huber_none(&[0.5, -3.0], &[0.0, 0.0], 1.0, &mut o)?;
/// assert_eq!(o, [0.125, 2.5]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn huber_none<T: Float>(
    pred: &[T],
    target: &[T],
    delta: T,
    out: &mut [T],
) -> Result<(), Error> {
    check_lens(pred, target, Some(out), None)?;
    crate::error::check_positive("delta", delta.to_f64())?;
    driver::map2_unchecked(
        pred,
        target,
        out,
        lanes!([delta] | x, t | huber_lane(x, t, L::splat(delta)).0),
    );
    Ok(())
}

/// Huber loss and gradient `grad[i] = clamp(pred[i] - target[i], -delta, delta) * s`
/// (`s = 1/N` for the mean, `1` for the sum), in one pass. Gradient within 1.5 ULP.
/// See [`huber`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `delta`.
///
/// # Example
/// ```
/// use nonlin::loss::{huber_with_grad, Reduction};
/// let mut g = [0.0f32; 2];
/// let l = huber_with_grad(&[0.5, 3.0], &[0.0, 0.0], 1.0, Reduction::Mean, &mut g)?;
/// assert_eq!((l, g), (1.3125, [0.25, 0.5]));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn huber_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    delta: T,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(pred, target, None, Some(grad))?;
    crate::error::check_positive("delta", delta.to_f64())?;
    let dl = Ln::<T>::splat(delta);
    let scale = grad_scale(pred.len(), reduction);
    let s = reduce_with(pred, target, &[], scale, Some(grad), |x, t, _| {
        huber_lane(x, t, dl)
    });
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise Huber loss and gradient `clamp(pred - target, -delta, delta)`.
/// See [`huber`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `out` or `grad`; [`Error::InvalidParameter`]
/// naming `delta`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f32; 1], [0.0f32; 1]);
/// nonlin::loss::huber_none_with_grad(&[f32::INFINITY], &[0.0], 2.0, &mut o, &mut g)?;
/// assert_eq!((o[0], g[0]), (f32::INFINITY, 2.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn huber_none_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    delta: T,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    check_lens(pred, target, Some(out), Some(grad))?;
    crate::error::check_positive("delta", delta.to_f64())?;
    driver::map3_2out_unchecked(
        pred,
        target,
        pred,
        out,
        grad,
        lanes2!([delta] | x, t, _p | huber_lane(x, t, L::splat(delta))),
    );
    Ok(())
}

/// Unreduced [`Dd`] sum of the Huber terms of one piece; see [`mse_partial`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `delta` or `grad_scale`.
///
/// # Example
/// ```
/// let d = nonlin::loss::huber_partial(&[3.0f64], &[0.0], 1.0, 1.0, None)?;
/// assert_eq!(d.value(), 2.5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn huber_partial<T: Float>(
    pred: &[T],
    target: &[T],
    delta: T,
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(pred, target, None, grad.as_deref())?;
    crate::error::check_positive("delta", delta.to_f64())?;
    check_scale(grad_scale)?;
    let dl = Ln::<T>::splat(delta);
    Ok(reduce_with(
        pred,
        target,
        &[],
        grad_scale,
        grad,
        |x, t, _| huber_lane(x, t, dl),
    ))
}

// ---------------------------------------------------------------------------------------
// Smooth L1

#[cfg_attr(not(nonlin_outline), inline(always))]
fn smooth_l1_or_l1<L: Lane>(x: L, t: L, beta: L, is_l1: bool) -> (L, L) {
    if is_l1 {
        l1_lane(x, t)
    } else {
        smooth_l1_lane(x, t, beta)
    }
}

/// Smooth L1 loss (PyTorch `smooth_l1_loss`): with `d = pred_i - target_i`,
/// `ℓ_i = d^2 / (2 beta)` for `|d| < beta`, `|d| - beta/2` otherwise. Gradient: `d / beta`
/// inside, `sign(d)` outside. `smooth_l1 = huber / beta` for `beta > 0`.
///
/// `beta = 0` is the L1 loss, as in PyTorch (gradient `sign(d)` with `sign(0) = 0`).
///
/// Domain: every value, `beta` finite and `>= 0`. Special values: NaN propagates;
/// `|d| = inf` gives `inf` with gradient `±1`; `inf - inf` is NaN. The quadratic piece is
/// evaluated as `(d / beta) (d / 2)`, so neither an underflowing `d^2` (tiny `beta`: f64
/// `d = 1e-160`, `beta = 1e-150` gives `5e-171`, not 0) nor an overflowing one (huge `beta`)
/// is seen; the linear piece, as huber's, is finite wherever the exact loss is, also where
/// `pred - target` overflows; beyond the range the loss is `+inf`, never NaN.
///
/// Accuracy: each term within 2 ULP (f32, f64); gradient within 1.5 ULP (plus the rounding
/// of `1/N` for the mean). Reduced value as for [`mse`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`; [`Error::InvalidParameter`] naming `beta` if
/// it is negative or not finite.
///
/// # Example
/// ```
/// use nonlin::loss::{smooth_l1, Reduction};
/// // |d| = 0.5 < 1: 0.125; |d| = 3: 3 - 0.5 = 2.5
/// assert_eq!(smooth_l1(&[0.5f32, 3.0], &[0.0, 0.0], 1.0, Reduction::Sum)?, 2.625);
/// assert_eq!(smooth_l1(&[0.5f32, 3.0], &[0.0, 0.0], 0.0, Reduction::Sum)?, 3.5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn smooth_l1<T: Float>(
    pred: &[T],
    target: &[T],
    beta: T,
    reduction: Reduction,
) -> Result<T, Error> {
    check_lens(pred, target, None, None)?;
    check_beta(beta.to_f64())?;
    let (b, is_l1) = (Ln::<T>::splat(beta), beta == T::ZERO);
    let s = reduce_with(pred, target, &[], T::ONE, None, |x, t, _| {
        smooth_l1_or_l1(x, t, b, is_l1)
    });
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise smooth L1 loss. See [`smooth_l1`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `out`; [`Error::InvalidParameter`] naming
/// `beta`.
///
/// # Example
/// ```
/// let mut o = [0.0f32; 2];
/// nonlin::loss::smooth_l1_none(&[0.5, -3.0], &[0.0, 0.0], 1.0, &mut o)?;
/// assert_eq!(o, [0.125, 2.5]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn smooth_l1_none<T: Float>(
    pred: &[T],
    target: &[T],
    beta: T,
    out: &mut [T],
) -> Result<(), Error> {
    check_lens(pred, target, Some(out), None)?;
    check_beta(beta.to_f64())?;
    driver::map2_unchecked(
        pred,
        target,
        out,
        lanes!(
            [beta] | x,
            t | smooth_l1_or_l1(x, t, L::splat(beta), beta == T::ZERO).0
        ),
    );
    Ok(())
}

/// Smooth L1 loss and gradient (`d / beta` inside, `sign(d)` outside, times `1/N` for the
/// mean), in one pass. See [`smooth_l1`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `beta`.
///
/// # Example
/// ```
/// use nonlin::loss::{smooth_l1_with_grad, Reduction};
/// let mut g = [0.0f64; 2];
/// let l = smooth_l1_with_grad(&[0.5, -3.0], &[0.0, 0.0], 1.0, Reduction::Sum, &mut g)?;
/// assert_eq!((l, g), (2.625, [0.5, -1.0]));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn smooth_l1_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    beta: T,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(pred, target, None, Some(grad))?;
    check_beta(beta.to_f64())?;
    let (b, is_l1) = (Ln::<T>::splat(beta), beta == T::ZERO);
    let scale = grad_scale(pred.len(), reduction);
    let s = reduce_with(pred, target, &[], scale, Some(grad), |x, t, _| {
        smooth_l1_or_l1(x, t, b, is_l1)
    });
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise smooth L1 loss and gradient. See [`smooth_l1`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `out` or `grad`; [`Error::InvalidParameter`]
/// naming `beta`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f32; 1], [0.0f32; 1]);
/// nonlin::loss::smooth_l1_none_with_grad(&[0.25], &[0.0], 0.5, &mut o, &mut g)?;
/// assert_eq!((o[0], g[0]), (0.0625, 0.5));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn smooth_l1_none_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    beta: T,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    check_lens(pred, target, Some(out), Some(grad))?;
    check_beta(beta.to_f64())?;
    driver::map3_2out_unchecked(
        pred,
        target,
        pred,
        out,
        grad,
        lanes2!(
            [beta] | x,
            t,
            _p | smooth_l1_or_l1(x, t, L::splat(beta), beta == T::ZERO)
        ),
    );
    Ok(())
}

/// Unreduced [`Dd`] sum of the smooth L1 terms of one piece; see [`mse_partial`].
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `beta` or `grad_scale`.
///
/// # Example
/// ```
/// let d = nonlin::loss::smooth_l1_partial(&[3.0f64], &[0.0], 1.0, 1.0, None)?;
/// assert_eq!(d.value(), 2.5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn smooth_l1_partial<T: Float>(
    pred: &[T],
    target: &[T],
    beta: T,
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(pred, target, None, grad.as_deref())?;
    check_beta(beta.to_f64())?;
    check_scale(grad_scale)?;
    let (b, is_l1) = (Ln::<T>::splat(beta), beta == T::ZERO);
    Ok(reduce_with(
        pred,
        target,
        &[],
        grad_scale,
        grad,
        |x, t, _| smooth_l1_or_l1(x, t, b, is_l1),
    ))
}
