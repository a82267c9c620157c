//! Hyperbolic tangent `tanh(x)` and its derivative `tanh'(x) = 1 - tanh²(x)`.
//!
//! The value comes from [`vmath::tanh`] (relative accuracy at every magnitude, odd by
//! construction). The derivative is *not* formed as `1 - tanh²`: that subtraction loses
//! everything once `tanh` rounds to 1 (beyond 9.01 in f32, 19.06 in f64), where PyTorch's
//! `1 - y²` returns 0. Instead `tanh'(x) = 4E / (1 + E)²` with `E = exp(-2|x|)`, which stays
//! a normal number as long as the exact value is one (`tanh'(40) ≈ 7.2e-35` in f32) and is
//! computed into the subnormals beyond that.

use crate::driver::{self, Quad};
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath;

/// Lane kernel of [`tanh`].
#[inline(always)]
pub(crate) fn tanh_lane<L: Lane>(x: L) -> L {
    vmath::tanh(x)
}

/// Lane kernel of [`tanh_derivative`].
#[inline(always)]
pub(crate) fn tanh_derivative_lane<L: Lane>(x: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let one = L::splat(<L::Scalar as Float>::ONE);
    let two = one + one;
    // Beyond 1000 the result is 0 in both types; the clamp keeps the argument finite.
    let a = x.abs().min(vmath::splat::<L>(1000.0));
    // 4E = exp(-2|x|) · 2^2 rounded once, so that 4E is normal (and accurate) where E
    // alone would already be subnormal.
    let e4 = vmath::exp_scaled(-(a + a), zero, two);
    let e = e4 * vmath::splat::<L>(0.25);
    // d + err = 1 + E exactly (Fast2Sum, E <= 1); 4E / (d + err)^2 = (4E / d^2)(1 - 2 err/d)
    // to first order, which removes the rounding of the denominator from the error budget.
    let d = one + e;
    let err = (one - d) + e;
    let q = e4 / (d * d);
    let r = (-q).mul_add((err + err) / d, q);
    L::select(x.is_nan(), x, r)
}

/// Hyperbolic tangent, `out[i] = tanh(x[i])`.
///
/// Domain: every value. `tanh(±inf) = ±1`, `tanh(-0) = -0`, NaN gives NaN. Odd exactly
/// (`tanh(-x) = -tanh(x)` bit for bit) and within `[-1, 1]`.
///
/// Accuracy (max error against an exact reference): f32 ≤ 2 ULP, f64 ≤ 2 ULP on the whole
/// range. Small arguments keep full relative accuracy (`tanh(1e-30) = 1e-30`).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let x = [-1.0f32, 0.0, 0.5, 20.0];
/// let mut y = [0.0f32; 4];
/// nonlin::tanh(&x, &mut y).unwrap();
/// assert!((y[0] + 0.7615942).abs() < 1e-6);
/// assert_eq!(y[1], 0.0);
/// assert!((y[2] - 0.46211717).abs() < 1e-7);
/// assert_eq!(y[3], 1.0);
/// ```
pub fn tanh<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, Quad(lanes!(|x| tanh_lane(x))))
}

/// [`tanh`] in place: `x[i] = tanh(x[i])`. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [0.0f64, -30.0];
/// nonlin::tanh_inplace(&mut x);
/// assert_eq!(x, [0.0, -1.0]);
/// ```
pub fn tanh_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, Quad(lanes!(|x| tanh_lane(x))))
}

/// Derivative of tanh, `out[i] = tanh'(x[i]) = 1 - tanh²(x[i])`, evaluated without
/// cancellation as `4E / (1 + E)²` with `E = exp(-2|x[i]|)`.
///
/// Domain: every value; `tanh'(±inf) = 0`, `tanh'(0) = 1`, NaN gives NaN. Even. Where
/// `1 - tanh²` would round to 0 (f32 `|x| > 9.01`, f64 `|x| > 19.06`) the result is the
/// exact value's rounding: a normal number up to `|x| ≈ 44.4` (f32) / `354.9` (f64), then a
/// computed subnormal, 0 only when the exact value rounds to 0.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP, subnormal results included.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::tanh_derivative(&[0.0, 20.0], &mut d).unwrap();
/// assert_eq!(d[0], 1.0);
/// assert!(d[1] > 1.69e-17 && d[1] < 1.71e-17); // 4 e^-40, where 1 - tanh² gives 0
/// ```
pub fn tanh_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, Quad(lanes!(|x| tanh_derivative_lane(x))))
}

/// Backward pass of tanh: `grad_in[i] = grad_out[i] * tanh'(x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`tanh_derivative`] plus one rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::tanh_backward(&[0.0], &[3.0], &mut g).unwrap();
/// assert_eq!(g[0], 3.0);
/// ```
pub fn tanh_backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * tanh_derivative_lane(x)),
    )
}

/// Scalar references through `libm` (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar hyperbolic tangent (libm's `tanh`).
    pub fn tanh<T: Float>(x: T) -> T {
        x.tanh()
    }

    /// Scalar derivative of tanh, `4E / (1 + E)²` with `E = exp(-2|x|)` (no cancellation;
    /// where `E` is subnormal the factor 4 is applied after its rounding, so the deepest
    /// tail of this reference has up to about 2 ULP more error than the slice kernel).
    pub fn tanh_derivative<T: Float>(x: T) -> T {
        if x.is_nan() {
            return x;
        }
        let a = x.abs();
        let e = (-(a + a)).exp();
        let d = T::ONE + e;
        let four = T::from_f64(4.0);
        (four * e) / (d * d)
    }
}
