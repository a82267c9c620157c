//! Logistic sigmoid `σ(x) = 1 / (1 + e^(-x))` and its derivative `σ'(x) = σ(x) (1 - σ(x))`.
//!
//! Both are evaluated from `e = exp(-|x|)`, which never overflows: `σ(x) = 1/(1+e)` for
//! `x >= 0` and `e/(1+e)` for `x < 0`, so the negative tail keeps full relative accuracy down
//! into the subnormals (`σ(-100) ≈ 3.72e-44` in f32, where peers flush to 0 below -88.7), and
//! `σ'(x) = e/(1+e)^2` stays a normal number wherever the exact value is one (PyTorch's
//! `σ(1-σ)` is 0 for f32 `x > 16.6`).

use crate::driver::{self, Quad};
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath;

/// Lane kernel of [`sigmoid`].
#[inline(always)]
pub(crate) fn sigmoid_lane<L: Lane>(x: L) -> L {
    let a = -x.abs();
    // Vectors with |x| <= 86.6 in f32 (all of them, in practice) skip the subnormal, overflow and
    // NaN handling; the other path computes the same bits for such lanes.
    if vmath::exp_all_plain(a) {
        let (q, c, inv) = sigmoid_parts(x, vmath::exp_plain(a));
        c.mul_add(inv, q)
    } else {
        let (q, c, inv) = sigmoid_parts(x, vmath::exp(a));
        L::select(x.is_nan(), x, c.mul_add(inv, q))
    }
}

/// `σ(x) ≈ q + c·inv` from `e = exp(-|x|)` (`1/(1+e)` for `x >= 0`, `e/(1+e)` below): `q`
/// the rounded quotient, `c·inv` its correction, `|c·inv| <= ulp(q)`. Callers apply the
/// correction last, in a fused multiply-add (`silu` folds `x·c·inv` into its final one):
/// `inv` is ready as soon as `q` is, so that keeps one multiplication off the critical path,
/// whose length is what sets these kernels' throughput (see the README's throughput notes;
/// `softmax_speed`'s sigmoid row rose 2.5% with this and the one-compare short-path test).
///
/// The error budget (sigmoid: 2 ULP, measured 1.48 over all f32 inputs) is spent on `e`'s
/// own rounding (at most half an ULP, passed through unchanged for `x < 0` and damped by
/// `e/(1+e)` above 0), on the final rounding, and on nothing else: the roundings of `1 + e`
/// and of the division are removed by the correction. `exp_parts`'s low part would remove
/// `e`'s rounding too (0.93 ULP), at five more operations on the critical path.
#[inline(always)]
pub(crate) fn sigmoid_parts<L: Lane>(x: L, e: L) -> (L, L, L) {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    // 1 + e = d + dlo exactly (Fast2Sum, e <= 1).
    let d = one + e;
    let dlo = (one - d) + e;
    let pos = x.ge(zero);
    let n = L::select(pos, one, e);
    // q = fl(n/d); n/(d + dlo) = q + (r - q dlo)/d to first order, with the residual
    // r = n - q d exact. The correction needs only a few bits of 1/d, which is at hand to
    // full precision: q itself for x >= 0, 1 - q for x < 0 (no second division).
    let q = n / d;
    let c = (-q).mul_add(dlo, vmath::residual(n, q, d));
    let inv = L::select(pos, q, one - q);
    (q, c, inv)
}

/// Lane kernel of [`sigmoid_derivative`].
#[inline(always)]
pub(crate) fn sigmoid_derivative_lane<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let (eh, el) = vmath::exp_parts(-x.abs());
    let d = one + eh;
    let dlo = ((one - d) + eh) + el;
    // e / (1 + e)^2 with one division: inv = fl(1/d), and 1/(d + dlo) = inv (1 + δ) with
    // δ = (1 - inv d) - dlo inv, the first term exact from two_prod. Then
    // (eh + el) inv² (1 + 2δ) = eh·i2h + [eh·i2l + el·i2h + 2δ·eh·i2h] with inv² = i2h + i2l.
    let inv = one / d;
    let (p, pe) = L::two_prod(inv, d);
    let delta = ((one - p) - pe) - dlo * inv;
    let (i2h, i2l) = L::two_prod(inv, inv);
    let q = eh * i2h;
    let corr = eh.mul_add(i2l, el * i2h) + (q + q) * delta;
    let r = q + corr;
    L::select(x.is_nan(), x, r)
}

/// Logistic sigmoid, `out[i] = σ(x[i]) = 1 / (1 + e^(-x[i]))`.
///
/// Domain: every value. `σ(-inf) = 0`, `σ(+inf) = 1`, NaN gives NaN, `σ(-0) = 0.5`.
/// Results below the normal range are computed as subnormals, not flushed.
///
/// Accuracy (max error against an exact reference, see the README table): f32 ≤ 2 ULP,
/// f64 ≤ 2 ULP, on the whole range including both tails.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let x = [-100.0f32, 0.0, 2.0];
/// let mut y = [0.0f32; 3];
/// nonlin::sigmoid(&x, &mut y).unwrap();
/// assert_eq!(y[1], 0.5);
/// assert!((y[0] - 3.720076e-44).abs() <= 1.5e-45); // subnormal, not flushed
/// assert!((y[2] - 0.880797).abs() < 1e-6);
/// ```
pub fn sigmoid<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| sigmoid_lane(x)))
}

/// [`sigmoid`] in place: `x[i] = σ(x[i])`. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [0.0f64, 1.0];
/// nonlin::sigmoid_inplace(&mut x);
/// assert_eq!(x[0], 0.5);
/// ```
pub fn sigmoid_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| sigmoid_lane(x)))
}

/// Derivative of the sigmoid with respect to its input,
/// `out[i] = σ'(x[i]) = e / (1 + e)^2` with `e = exp(-|x[i]|)`.
///
/// Domain: every value; `σ'(±inf) = 0`, NaN gives NaN. Subnormal results are computed.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP (see the README table).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::sigmoid_derivative(&[0.0, 40.0], &mut d).unwrap();
/// assert_eq!(d[0], 0.25);
/// assert!(d[1] > 4.0e-18 && d[1] < 4.3e-18); // e^-40, a normal number
/// ```
pub fn sigmoid_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, Quad(lanes!(|x| sigmoid_derivative_lane(x))))
}

/// Backward pass of the sigmoid: `grad_in[i] = grad_out[i] * σ'(x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`sigmoid_derivative`] plus one rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::sigmoid_backward(&[0.0], &[2.0], &mut g).unwrap();
/// assert_eq!(g[0], 0.5);
/// ```
pub fn sigmoid_backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * sigmoid_derivative_lane(x)),
    )
}

/// Scalar references through `libm` (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar sigmoid `1 / (1 + e^(-x))`, evaluated from `exp(-|x|)` (no overflow, tail
    /// accurate). A reference for single values and for the benches.
    pub fn sigmoid<T: Float>(x: T) -> T {
        let e = (-x.abs()).exp();
        if x >= T::ZERO {
            T::ONE / (T::ONE + e)
        } else {
            e / (T::ONE + e)
        }
    }

    /// Scalar derivative of the sigmoid, `e / (1 + e)^2` with `e = exp(-|x|)`.
    pub fn sigmoid_derivative<T: Float>(x: T) -> T {
        let e = (-x.abs()).exp();
        let d = T::ONE + e;
        e / (d * d)
    }
}
