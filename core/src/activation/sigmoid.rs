//! Logistic sigmoid `σ(x) = 1 / (1 + e^(-x))` and its derivative `σ'(x) = σ(x) (1 - σ(x))`.
//!
//! Both are evaluated from `e = exp(-|x|)`, which never overflows: `σ(x) = 1/(1+e)` for
//! `x >= 0` and `e/(1+e)` for `x < 0`, so the negative tail keeps full relative accuracy down
//! into the subnormals (`σ(-100) ≈ 3.72e-44` in f32, where peers flush to 0 below -88.7), and
//! `σ'(x) = e/(1+e)^2` stays a normal number wherever the exact value is one (PyTorch's
//! `σ(1-σ)` is 0 for f32 `x > 16.6`).

use crate::driver;
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath;

/// Lane kernel of [`sigmoid`].
#[inline(always)]
pub(crate) fn sigmoid_lane<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    // e = eh + el carries exp(-|x|) beyond one rounding; 1 + e = d + dlo (Fast2Sum, e <= 1).
    let (eh, el) = vmath::exp_parts(-x.abs());
    let d = one + eh;
    let dlo = ((one - d) + eh) + el;
    let pos = x.ge(zero);
    let nhi = L::select(pos, one, eh);
    let nlo = L::select(pos, zero, el);
    // One division: q = n/d from the reciprocal, then one correction step with the exact
    // residual (n - q d), which removes the roundings of exp, of 1 + e and of q itself.
    let inv = one / d;
    let q = nhi * inv;
    let (p, pe) = L::two_prod(q, d);
    let c = ((nhi - p) - pe) + (nlo - q * dlo);
    let r = c.mul_add(inv, q);
    L::select(x.is_nan(), x, r)
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
    driver::map(x, out, lanes!(|x| sigmoid_derivative_lane(x)))
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
