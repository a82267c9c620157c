//! Hard sigmoid `clamp(x/6 + 1/2, 0, 1)` and hard swish `x * hardsigmoid(x)` (PyTorch's
//! definitions), with derivatives.
//!
//! Evaluated naively, `(x + 3) / 6` rounds twice and `x * (x + 3) / 6` three times, which is
//! up to about 1.2 and 2.5 ULP in f32. Here each is computed to within about 0.5 ULP of the
//! exact value with error-free transformations, branch-free and without a division:
//! - `x + 3 = s + e` exactly (Fast2Sum: `|x| < 3` wherever the result is used);
//! - for hard swish, `x * s = p + pl` exactly ([`Lane::two_prod`], fused or Veltkamp–Dekker,
//!   so the bound holds with and without FMA);
//! - the quotient by 6 as `q = fl(num * fl(1/6))` plus the exactly computed remainder
//!   `num - 6q` (`6q = 4q + 2q` by Fast2Sum) times `1/6`: one final rounding.

use crate::driver;
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath::splat;

#[inline(always)]
fn c<L: Lane>(v: f64) -> L {
    splat::<L>(v)
}

/// `(n + nl) / 6` with one final rounding: `n + nl` is an unevaluated sum (`|nl|` at most a
/// few ULPs of `n`).
#[inline(always)]
fn div6<L: Lane>(n: L, nl: L) -> L {
    let sixth = c::<L>(1.0 / 6.0);
    let q = n * sixth;
    // 6q = 4q + 2q exactly (both multiples are exact, Fast2Sum since |4q| >= |2q|).
    let a = q * c::<L>(4.0);
    let b = q + q;
    let h = a + b;
    let l = b - (h - a);
    // n - h is exact (Sterbenz: h is within a few ULPs of n), so rem = n + nl - 6q up to a
    // rounding far below an ULP of the result.
    let rem = ((n - h) - l) + nl;
    rem.mul_add(sixth, q)
}

/// `(n + nl) / 3` with one final rounding, as [`div6`] (`3q = 2q + q`).
#[inline(always)]
fn div3<L: Lane>(n: L, nl: L) -> L {
    let third = c::<L>(1.0 / 3.0);
    let q = n * third;
    let a = q + q;
    let h = a + q;
    let l = q - (h - a);
    let rem = ((n - h) - l) + nl;
    rem.mul_add(third, q)
}

/// Lane kernel of [`hardsigmoid`].
#[inline(always)]
pub(crate) fn hardsigmoid_lane<L: Lane>(x: L) -> L {
    let three = c::<L>(3.0);
    // Fast2Sum(3, x): exact for |x| <= 3, the only lanes whose result is kept.
    let s = three + x;
    let e = x - (s - three);
    let r = div6(s, e);
    let r = L::select(x.ge(three), c::<L>(1.0), r);
    // NaN fails both comparisons and keeps r, which is NaN.
    L::select(x.le(-three), c::<L>(0.0), r)
}

/// Lane kernel of [`hardsigmoid_derivative`].
#[inline(always)]
pub(crate) fn hardsigmoid_derivative_lane<L: Lane>(x: L) -> L {
    let three = c::<L>(3.0);
    let inside = x.gt(-three).and(x.lt(three));
    let r = L::select(inside, c::<L>(1.0 / 6.0), c::<L>(0.0));
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`hardswish`].
#[inline(always)]
pub(crate) fn hardswish_lane<L: Lane>(x: L) -> L {
    let three = c::<L>(3.0);
    let s = three + x;
    let e = x - (s - three);
    // x (x + 3) = x s + x e = p + pl + x e; only x e (below an ULP of p) is rounded.
    let (p, pl) = L::two_prod(x, s);
    let r = div6(p, x.mul_add(e, pl));
    // Tiny |x|: x (x + 3) / 6 = x/2 + x^2/6, the second term far below half an ULP; x/2 is
    // exact (or one correct rounding into the subnormals), where the products above would
    // underflow.
    let p_digits = <L::Scalar as Float>::MANTISSA_DIGITS as i32;
    let tiny = x.abs().lt(c::<L>(crate::vmath::pow2(-(p_digits + 16))));
    let r = L::select(tiny, x * c::<L>(0.5), r);
    let r = L::select(x.ge(three), x, r);
    // x <= -3 (and -inf): -0.0, the sign PyTorch's x * 0 / 6 gives for finite x; PyTorch
    // gives NaN at -inf (inf * 0), the limit is 0.
    L::select(x.le(-three), c::<L>(-0.0), r)
}

/// Lane kernel of [`hardswish_derivative`].
#[inline(always)]
pub(crate) fn hardswish_derivative_lane<L: Lane>(x: L) -> L {
    let three = c::<L>(3.0);
    let half3 = c::<L>(1.5);
    // (2x + 3) / 6 = (x + 1.5) / 3; TwoSum (|x| may exceed 1.5) keeps x + 1.5 exact.
    let s = x + half3;
    let bb = s - x;
    let e = (x - (s - bb)) + (half3 - bb);
    let r = div3(s, e);
    let r = L::select(x.gt(three), c::<L>(1.0), r);
    L::select(x.lt(-three), c::<L>(0.0), r)
}

// ---------------------------------------------------------------------------------------

/// Hard sigmoid, `out[i] = clamp(x[i]/6 + 1/2, 0, 1) = clamp((x[i] + 3)/6, 0, 1)` (PyTorch's
/// `hardsigmoid`).
///
/// Domain: every value. `0` for `x <= -3` (and `-inf`), `1` for `x >= 3` (and `+inf`),
/// NaN gives NaN, `hardsigmoid(±0) = 0.5`.
///
/// Accuracy: within 1 ULP of `(x + 3)/6` evaluated exactly, in f32 and f64 (measured about
/// 0.5 ULP: error-free sum and remainder, one final rounding), with or without FMA.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 4];
/// nonlin::hardsigmoid(&[-4.0, 0.0, 1.5, 4.0], &mut y).unwrap();
/// assert_eq!(y, [0.0, 0.5, 0.75, 1.0]);
/// ```
pub fn hardsigmoid<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| hardsigmoid_lane(x)))
}

/// [`hardsigmoid`] in place. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [0.0f64, -3.0];
/// nonlin::hardsigmoid_inplace(&mut x);
/// assert_eq!(x, [0.5, 0.0]);
/// ```
pub fn hardsigmoid_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| hardsigmoid_lane(x)))
}

/// Derivative of [`hardsigmoid`]: `1/6` (the nearest `T`) on the open interval `(-3, 3)`,
/// else `0`.
///
/// Kinks: `0` at `x = ±3` (PyTorch's `hardsigmoid_backward` uses `-3 < x < 3`). NaN gives
/// NaN. Accuracy: correctly rounded (≤ 0.5 ULP); budget 1 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 3];
/// nonlin::hardsigmoid_derivative(&[-3.0, 0.0, 3.0], &mut d).unwrap();
/// assert_eq!(d, [0.0, 1.0 / 6.0, 0.0]);
/// ```
pub fn hardsigmoid_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| hardsigmoid_derivative_lane(x)))
}

/// Backward pass of [`hardsigmoid`]: `grad_in[i] = grad_out[i] * hardsigmoid'(x[i])`.
///
/// Takes the forward *input* `x`. One rounding of the product `grad * fl(1/6)`.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::hardsigmoid_backward(&[0.0, 5.0], &[6.0, 6.0], &mut g).unwrap();
/// assert_eq!(g, [1.0, 0.0]);
/// ```
pub fn hardsigmoid_backward<T: Float>(
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
        lanes!(|x, g| g * hardsigmoid_derivative_lane(x)),
    )
}

/// Hard swish, `out[i] = x[i] * hardsigmoid(x[i])`: `0` for `x <= -3`, `x` for `x >= 3`,
/// `x (x + 3) / 6` between (PyTorch's `hardswish`).
///
/// Domain: every value, with no overflow for large `|x|` (the product is never formed
/// there). `hardswish(+inf) = +inf`; `hardswish(x) = -0.0` for `x <= -3` and at `-inf`
/// (PyTorch gives `-0.0` for finite `x <= -3` and NaN at `-inf`; the limit is 0);
/// `hardswish(±0) = ±0`; NaN gives NaN. Subnormal results are computed (`x/2` rounded
/// once).
///
/// Accuracy: within 1 ULP of `x (x + 3) / 6` evaluated exactly, f32 and f64 (measured about
/// 0.5 ULP), with or without FMA.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 4];
/// nonlin::hardswish(&[-4.0, 1.0, 3.0, 1e38], &mut y).unwrap();
/// assert_eq!(y[0], 0.0);
/// assert_eq!(y[1], 4.0 / 6.0);
/// assert_eq!(&y[2..], &[3.0, 1e38]);
/// ```
pub fn hardswish<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| hardswish_lane(x)))
}

/// [`hardswish`] in place. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [3.0f64, -1.5];
/// nonlin::hardswish_inplace(&mut x);
/// assert_eq!(x, [3.0, -0.375]);
/// ```
pub fn hardswish_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| hardswish_lane(x)))
}

/// Derivative of [`hardswish`]: `0` for `x < -3`, `(2x + 3)/6` on the closed interval
/// `[-3, 3]`, `1` for `x > 3`.
///
/// Kinks (PyTorch's `hardswish_backward`, scalar and CUDA paths): the middle formula holds
/// at both ends, so `hardswish'(-3) = -0.5` and `hardswish'(3) = 1.5`. (PyTorch's vectorised
/// CPU path gives `1` at exactly `x = 3`; the scalar and CUDA kernels give `1.5`.)
/// `±inf` give `1` and `0`; NaN gives NaN.
///
/// Accuracy: within 1 ULP of `(2x + 3)/6` evaluated exactly (measured about 0.5 ULP),
/// including next to its zero at `x = -1.5`.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 4];
/// nonlin::hardswish_derivative(&[-3.0, -1.5, 3.0, 3.5], &mut d).unwrap();
/// assert_eq!(d, [-0.5, 0.0, 1.5, 1.0]);
/// ```
pub fn hardswish_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| hardswish_derivative_lane(x)))
}

/// Backward pass of [`hardswish`]: `grad_in[i] = grad_out[i] * hardswish'(x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`hardswish_derivative`] plus one
/// rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::hardswish_backward(&[0.0, 4.0], &[2.0, 2.0], &mut g).unwrap();
/// assert_eq!(g, [1.0, 2.0]);
/// ```
pub fn hardswish_backward<T: Float>(
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
        lanes!(|x, g| g * hardswish_derivative_lane(x)),
    )
}

/// Scalar references (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar hard sigmoid, `(x + 3)/6` clamped to `[0, 1]` (two roundings inside the
    /// interval: about 1 ULP; the slice kernel is within 0.5 ULP).
    pub fn hardsigmoid<T: Float>(x: T) -> T {
        let three = T::from_f64(3.0);
        if x.is_nan() {
            x
        } else if x <= -three {
            T::ZERO
        } else if x >= three {
            T::ONE
        } else {
            (x + three) / T::from_f64(6.0)
        }
    }

    /// Scalar hard-sigmoid derivative: `1/6` on `(-3, 3)`, else `0`.
    pub fn hardsigmoid_derivative<T: Float>(x: T) -> T {
        let three = T::from_f64(3.0);
        if x.is_nan() {
            x
        } else if x > -three && x < three {
            T::from_f64(1.0 / 6.0)
        } else {
            T::ZERO
        }
    }

    /// Scalar hard swish: `0` (as `-0.0`) for `x <= -3`, `x` for `x >= 3`, else
    /// `x (x + 3) / 6` (three roundings: about 2 ULP; the slice kernel is within 0.5 ULP).
    pub fn hardswish<T: Float>(x: T) -> T {
        let three = T::from_f64(3.0);
        if x.is_nan() || x >= three {
            x
        } else if x <= -three {
            -T::ZERO
        } else {
            x * (x + three) / T::from_f64(6.0)
        }
    }

    /// Scalar hard-swish derivative: `0` below -3, `(2x + 3)/6` on `[-3, 3]`, `1` above 3.
    pub fn hardswish_derivative<T: Float>(x: T) -> T {
        let three = T::from_f64(3.0);
        if x.is_nan() {
            x
        } else if x < -three {
            T::ZERO
        } else if x > three {
            T::ONE
        } else {
            (x + x + three) / T::from_f64(6.0)
        }
    }
}
