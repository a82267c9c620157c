//! Kullback–Leibler divergence loss (PyTorch `kl_div`): the input holds log-probabilities,
//! the target probabilities (or, with `log_target`, log-probabilities).

use super::Reduction;
use super::regression::{check_lens, check_scale, finish_loss, grad_scale, reduce_with};
use crate::driver;
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::reduce::Dd;
use crate::vmath;
use crate::{lanes, lanes2};

/// Lane kernel of [`kl_div`]: `(loss, d loss / d input)` for input `x` (a log-probability)
/// and target `t`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn kl_div_lane<L: Lane>(x: L, t: L, log_target: bool) -> (L, L) {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    if log_target {
        // e^t (t - x): t - x of two exact values is rounded once, no cancellation error.
        let et = vmath::exp(t);
        // (A closure here would be compiled out of line, without the AVX2 target features.)
        let loss = if vmath::exp_all_plain(t) {
            et * (t - x)
        } else {
            kl_log_target_wide(x, t, et)
        };
        // t = -inf is a zero probability: 0 log 0 = 0 (PyTorch: NaN from 0 * inf).
        let loss = L::select(
            t.eq(L::splat(<L::Scalar as Float>::NEG_INFINITY)),
            zero,
            loss,
        );
        (L::select(x.is_nan(), x, loss), -et)
    } else {
        // t (ln t - x) = xlogy(t, t) - t x, with 0 log 0 = 0 whatever x is.
        let loss = t * (vmath::ln(t) - x);
        let loss = L::select(t.eq(zero), zero, loss);
        (L::select(x.is_nan(), x, loss), -t)
    }
}

fn kl_sum<T: Float>(x: &[T], t: &[T], log_target: bool, scale: T, grad: Option<&mut [T]>) -> Dd {
    if log_target {
        reduce_with(x, t, &[], scale, grad, |x, t, _| kl_div_lane(x, t, true))
    } else {
        reduce_with(x, t, &[], scale, grad, |x, t, _| kl_div_lane(x, t, false))
    }
}

fn check_batch(n: usize, batch: usize) -> Result<(), Error> {
    if batch == 0 || !n.is_multiple_of(batch) {
        Err(Error::InvalidShape {
            name: "batch",
            value: batch,
            len: n,
        })
    } else {
        Ok(())
    }
}

/// `e^t (t - x)` (`et = e^t`) for a vector with a lane outside `exp`'s plain range.
/// Lanes with `t` below `-(bias - 2) ln 2` need care: `e^t` alone would underflow (0, or a
/// subnormal with few bits) although the product with a large `|t - x|` is a normal number
/// (f32: `t = -104`, `x = -3e38` gives `2e-7`, not 0), and `t - x` itself may overflow
/// (`t = -MAX`, `x = MAX`: `0 * inf`, a NaN; a fuzz finding). So `|t - x| = m 2^j` (`m` in
/// `[1, 2)`, halved first if it overflows), `e^t` is formed scaled by `2^K` (normal down to
/// where the result is below the subnormals), and the product `e^t 2^K m` is scaled back
/// by `2^(j - K)` in two exact steps: the result is rounded where `e^t m` is, then once
/// more only if it lands in the subnormals.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn kl_log_target_wide<L: Lane>(x: L, t: L, et: L) -> L {
    let c = <L::Scalar as Float>::VM;
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let one = L::splat(<L::Scalar as Float>::ONE);
    let two = one + one;
    let half = vmath::splat::<L>(0.5);
    let inf = L::splat(<L::Scalar as Float>::INFINITY);
    let bias = L::splat(c.bias);
    // Lanes with e^t in the normal range (or above it, or NaN) keep the plain product: there
    // t - x cannot overflow for finite t and x (|t| < 1e31), and it is what the short path
    // computes, so every element's result stays independent of its neighbours.
    let plain = et * (t - x);
    let low = t.lt(-(bias - two) * L::splat(c.ln2_hi));
    let finite = x.abs().lt(inf).and(t.abs().lt(inf));
    let d = t - x;
    let ovf = d.is_inf().and(finite);
    let d = L::select(ovf, t * half - x * half, d);
    let extra = L::select(ovf, one, zero);
    let ad = d.abs();
    let normal = ad.ge(L::splat(<L::Scalar as Float>::MIN_POSITIVE));
    let (m, j) = ad.frexp();
    let (m, j) = (L::select(normal, m, ad), L::select(normal, j, zero));
    // K = bias + p + 1: e^t 2^K is normal wherever e^t |t - x| can reach the subnormals.
    let p = vmath::splat::<L>(f64::from(<L::Scalar as Float>::MANTISSA_DIGITS));
    let k = bias + p + one;
    let prod = vmath::exp_scaled(t, zero, k) * m;
    // 2^(j + extra - K) (negative here) in two normal halves; below -2 (bias - 1) the
    // result is 0 anyway.
    let sc = (j + extra - k).max(-(bias - one) * two);
    let s1 = (sc * half).floor();
    let r = (prod * L::pow2i(s1) * L::pow2i(sc - s1)).copysign(d);
    L::select(low.and(finite), r, plain)
}

/// KL divergence loss (PyTorch `kl_div`), element-wise
/// `ℓ_i = t_i (ln t_i - x_i)` for `log_target = false`, or
/// `ℓ_i = e^{t_i} (t_i - x_i)` for `log_target = true`, where `x` (`input`) holds
/// log-probabilities; reduced by `reduction`: [`Reduction::Mean`] is the mean over *all
/// elements* (PyTorch's `'mean'`), [`Reduction::Sum`] the sum. PyTorch warns that `'mean'`
/// does not give the KL divergence of each distribution: for rows of distributions use
/// [`kl_div_batchmean`] (`sum / batch`, PyTorch's `'batchmean'`), which is the mathematical
/// KL divergence averaged over the batch.
///
/// Gradient with respect to the input: `-t_i` (or `-e^{t_i}`), see [`kl_div_with_grad`].
///
/// Domain: `x` any value, `t` in `[0, 1]` (or any value for `log_target`). Special values:
/// a zero probability (`t = 0`, or `t = -inf` with `log_target`) contributes exactly 0
/// whatever `x` is (`0 log 0 = 0`; PyTorch gives NaN for `x = -inf` there), with the finite
/// gradient `-0`; NaN in `x` or `t` propagates; `t < 0` (not a probability) gives NaN.
///
/// Accuracy: with `log_target` each term is within 3 ULP (f32, f64). Without it,
/// `ln t - x` cancels when the model matches the target (`x ≈ ln t`), so the bound is
/// absolute, relative to the terms' scale: `|error| <= 3 ε t (|ln t| + |x|)` plus half an
/// ULP of the result (`ε` = 2^-24 or 2^-53); away from cancellation (`|x| <= |ln t - x|`)
/// this is within 6 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`.
///
/// # Example
/// ```
/// use nonlin::loss::{kl_div, Reduction};
/// let x = [(0.5f64).ln(), (0.5f64).ln()];
/// let t = [1.0, 0.0];
/// let l = kl_div(&x, &t, false, Reduction::Sum)?;
/// assert!((l - core::f64::consts::LN_2).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    reduction: Reduction,
) -> Result<T, Error> {
    check_lens(input, target, None, None)?;
    let s = kl_sum(input, target, log_target, T::ONE, None);
    Ok(finish_loss(s, input.len(), reduction))
}

/// Element-wise [`kl_div`] (reduction "none"). Same formula, special values and accuracy.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `out`.
///
/// # Example
/// ```
/// let mut o = [1.0f32; 2];
/// nonlin::loss::kl_div_none(&[f32::NEG_INFINITY, 0.0], &[0.0, 1.0], false, &mut o)?;
/// assert_eq!(o, [0.0, 0.0]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_none<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    out: &mut [T],
) -> Result<(), Error> {
    check_lens(input, target, Some(out), None)?;
    if log_target {
        driver::map2_unchecked(input, target, out, lanes!(|x, t| kl_div_lane(x, t, true).0));
    } else {
        driver::map2_unchecked(
            input,
            target,
            out,
            lanes!(|x, t| kl_div_lane(x, t, false).0),
        );
    }
    Ok(())
}

/// [`kl_div`] and its gradient with respect to the input, in one pass:
/// `grad[i] = -t_i s` (or `-e^{t_i} s` with `log_target`), `s = 1/N` for the mean, `1` for
/// the sum. Exact (`-t`) or within 1.5 ULP (`-e^t`), plus the rounding of `1/N`.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{kl_div_with_grad, Reduction};
/// let mut g = [0.0f32; 2];
/// kl_div_with_grad(&[-1.0, -1.0], &[0.25, 0.75], false, Reduction::Sum, &mut g)?;
/// assert_eq!(g, [-0.25, -0.75]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_with_grad<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(input, target, None, Some(grad))?;
    let scale = grad_scale(input.len(), reduction);
    let s = kl_sum(input, target, log_target, scale, Some(grad));
    Ok(finish_loss(s, input.len(), reduction))
}

/// Element-wise [`kl_div`] and its gradient (see [`kl_div_with_grad`]).
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `out` or `grad`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f64; 1], [0.0f64; 1]);
/// nonlin::loss::kl_div_none_with_grad(&[0.0], &[0.0], true, &mut o, &mut g)?;
/// assert_eq!((o[0], g[0]), (0.0, -1.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_none_with_grad<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    check_lens(input, target, Some(out), Some(grad))?;
    if log_target {
        driver::map3_2out_unchecked(
            input,
            target,
            input,
            out,
            grad,
            lanes2!(|x, t, _p| kl_div_lane(x, t, true)),
        );
    } else {
        driver::map3_2out_unchecked(
            input,
            target,
            input,
            out,
            grad,
            lanes2!(|x, t, _p| kl_div_lane(x, t, false)),
        );
    }
    Ok(())
}

/// [`kl_div`] with PyTorch's `'batchmean'` reduction: the sum of the terms divided by
/// `batch`, the number of rows (distributions) in the row-major data. This is the KL
/// divergence `Σ_j t_j (ln t_j - x_j)` of each row, averaged over the rows; PyTorch's
/// `'mean'` ([`Reduction::Mean`]) divides by the element count instead, which is not a KL
/// divergence (PyTorch warns about it and will make `'batchmean'` its default).
///
/// Same term accuracy as [`kl_div`]; the sum is divided once, in double-double.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`; [`Error::InvalidShape`] naming `batch` if it
/// is 0 or does not divide the length.
///
/// # Example
/// ```
/// // Two rows of two classes.
/// let x = [(0.5f64).ln(); 4];
/// let t = [1.0, 0.0, 0.5, 0.5];
/// let l = nonlin::loss::kl_div_batchmean(&x, &t, false, 2)?;
/// assert!((l - core::f64::consts::LN_2 / 2.0).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_batchmean<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    batch: usize,
) -> Result<T, Error> {
    check_lens(input, target, None, None)?;
    check_batch(input.len(), batch)?;
    let s = kl_sum(input, target, log_target, T::ONE, None);
    Ok(finish_loss(s, batch, Reduction::Mean))
}

/// [`kl_div_batchmean`] and its gradient `grad[i] = -t_i / batch` (or `-e^{t_i} / batch`),
/// in one pass (`1/batch` rounded once to `T`).
///
/// # Errors
/// As [`kl_div_batchmean`], plus [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// let mut g = [0.0f32; 4];
/// nonlin::loss::kl_div_batchmean_with_grad(&[-1.0; 4], &[0.5; 4], false, 2, &mut g)?;
/// assert_eq!(g, [-0.25; 4]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_batchmean_with_grad<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    batch: usize,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(input, target, None, Some(grad))?;
    check_batch(input.len(), batch)?;
    let scale = grad_scale(batch, Reduction::Mean);
    let s = kl_sum(input, target, log_target, scale, Some(grad));
    Ok(finish_loss(s, batch, Reduction::Mean))
}

/// Unreduced [`Dd`] sum of the [`kl_div`] terms of one piece; see
/// [`crate::loss::mse_partial`] (finish with the element count for `'mean'`, the batch
/// size for `'batchmean'`).
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `grad`; [`Error::InvalidParameter`] naming
/// `grad_scale` if it is not finite.
///
/// # Example
/// ```
/// let d = nonlin::loss::kl_div_partial(&[0.0f64], &[1.0], false, 1.0, None)?;
/// assert_eq!(d.value(), 0.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_partial<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(input, target, None, grad.as_deref())?;
    check_scale(grad_scale)?;
    Ok(kl_sum(input, target, log_target, grad_scale, grad))
}
