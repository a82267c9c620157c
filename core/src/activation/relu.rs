//! The ReLU family: `relu`, `relu6`, `leaky_relu`, `hardtanh` and `prelu` (one learned slope
//! per channel), with derivatives and backward passes.
//!
//! Every result here is exact (a selection of the input or a constant) or a single correctly
//! rounded product (`slope * x`), so each kernel is within 0.5 ULP of the formula evaluated
//! exactly. The lane code is branch-free: one or two comparisons and blends per element, so
//! on large slices the kernels run at memory speed.
//!
//! Conventions (PyTorch CPU eager):
//! - `relu(-0.0) = -0.0`: PyTorch computes `relu` as `clamp_min(x, 0)`, which returns the
//!   input unchanged unless `x < 0`, so the sign of a negative zero survives (and so does a
//!   NaN payload). `relu6` and `hardtanh` follow the same rule at their lower bound.
//! - Kinks: `relu'(0) = 0`, `leaky_relu'(0) = slope`, `prelu'(0) = slope`; `relu6'` and
//!   `hardtanh'` pass the gradient only strictly inside `(min_val, max_val)`, so
//!   `relu6'(0) = relu6'(6) = 0` (PyTorch's `hardtanh_backward`).
//! - NaN in gives NaN out, for the derivatives as well (PyTorch's `threshold_backward` passes
//!   the gradient through for a NaN input; here the NaN is reported instead). The lanes' `min`
//!   and `max` drop NaN, so no kernel here uses them: comparisons that are false for NaN
//!   select the input itself.

use crate::driver;
use crate::error::{Error, check_finite, check_len};
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;

/// PyTorch's default `negative_slope` of `torch.nn.LeakyReLU`: `0.01`.
///
/// Pass it as `T::from_f64(LEAKY_RELU_DEFAULT_SLOPE)` (or the literal `0.01`) to
/// [`leaky_relu`]; in `f32` the slope is the nearest `f32` to 0.01, as in PyTorch.
pub const LEAKY_RELU_DEFAULT_SLOPE: f64 = 0.01;

#[inline(always)]
fn zero<L: Lane>() -> L {
    L::splat(<L::Scalar as Float>::ZERO)
}

#[inline(always)]
fn one<L: Lane>() -> L {
    L::splat(<L::Scalar as Float>::ONE)
}

/// Lane kernel of [`relu`].
#[inline(always)]
pub(crate) fn relu_lane<L: Lane>(x: L) -> L {
    // `x < 0` is false for NaN and for -0.0: both come through unchanged.
    L::select(x.lt(zero()), zero(), x)
}

/// Lane kernel of [`relu_derivative`].
#[inline(always)]
pub(crate) fn relu_derivative_lane<L: Lane>(x: L) -> L {
    let r = L::select(x.gt(zero()), one(), zero());
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`hardtanh`].
#[inline(always)]
pub(crate) fn hardtanh_lane<L: Lane>(x: L, min_val: L, max_val: L) -> L {
    let r = L::select(x.gt(max_val), max_val, x);
    L::select(x.lt(min_val), min_val, r)
}

/// Lane kernel of [`hardtanh_derivative`].
#[inline(always)]
pub(crate) fn hardtanh_derivative_lane<L: Lane>(x: L, min_val: L, max_val: L) -> L {
    let inside = x.gt(min_val).and(x.lt(max_val));
    let r = L::select(inside, one(), zero());
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`relu6`].
#[inline(always)]
pub(crate) fn relu6_lane<L: Lane>(x: L) -> L {
    hardtanh_lane(x, zero(), L::splat(<L::Scalar as Float>::from_f64(6.0)))
}

/// Lane kernel of [`relu6_derivative`].
#[inline(always)]
pub(crate) fn relu6_derivative_lane<L: Lane>(x: L) -> L {
    hardtanh_derivative_lane(x, zero(), L::splat(<L::Scalar as Float>::from_f64(6.0)))
}

/// Lane kernel of [`leaky_relu`] (and of [`prelu`], with the channel's slope in each lane).
#[inline(always)]
pub(crate) fn leaky_relu_lane<L: Lane>(x: L, slope: L) -> L {
    let r = L::select(x.gt(zero()), x, x * slope);
    // slope = 0 at x = -inf: 0 * inf is NaN, but the limit of 0 * x is 0.
    let r = L::select(r.is_nan(), zero(), r);
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`leaky_relu_derivative`] (and of [`prelu_derivative`]).
#[inline(always)]
pub(crate) fn leaky_relu_derivative_lane<L: Lane>(x: L, slope: L) -> L {
    let r = L::select(x.gt(zero()), one(), slope);
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`prelu`]: [`leaky_relu_lane`] with one slope per lane.
#[inline(always)]
pub(crate) fn prelu_lane<L: Lane>(x: L, slope: L) -> L {
    leaky_relu_lane(x, slope)
}

/// Lane kernel of [`prelu_derivative`].
#[inline(always)]
pub(crate) fn prelu_derivative_lane<L: Lane>(x: L, slope: L) -> L {
    leaky_relu_derivative_lane(x, slope)
}

// ---------------------------------------------------------------------------------------
// relu

/// Rectified linear unit, `out[i] = max(x[i], 0)`.
///
/// Domain: every value. `relu(+inf) = +inf`, `relu(-inf) = 0`, NaN gives NaN (payload kept),
/// and `relu(-0.0) = -0.0` (PyTorch CPU: the input is returned unchanged unless it is `< 0`).
///
/// Accuracy: exact (0 ULP) in f32 and f64; budget 1 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 3];
/// nonlin::relu(&[-2.0, 0.5, f32::NAN], &mut y).unwrap();
/// assert_eq!(&y[..2], &[0.0, 0.5]);
/// assert!(y[2].is_nan());
/// ```
pub fn relu<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| relu_lane(x)))
}

/// [`relu`] in place. Same results and special values.
///
/// # Example
/// ```
/// let mut x = [-1.0f64, 3.0];
/// nonlin::relu_inplace(&mut x);
/// assert_eq!(x, [0.0, 3.0]);
/// ```
pub fn relu_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| relu_lane(x)))
}

/// Derivative of [`relu`]: `out[i] = 1` for `x[i] > 0`, else `0`.
///
/// Kink: `relu'(0) = 0` (PyTorch). `relu'(+inf) = 1`, `relu'(-inf) = 0`, NaN gives NaN.
/// Accuracy: exact; budget 1 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [9.0f32; 3];
/// nonlin::relu_derivative(&[-1.0, 0.0, 2.0], &mut d).unwrap();
/// assert_eq!(d, [0.0, 0.0, 1.0]);
/// ```
pub fn relu_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| relu_derivative_lane(x)))
}

/// Backward pass of [`relu`]: `grad_in[i] = grad_out[i] * relu'(x[i])`.
///
/// Takes the forward *input* `x`. Exact (one multiplication by 0 or 1); a NaN in `x` gives
/// NaN.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::relu_backward(&[-1.0, 1.0], &[5.0, 5.0], &mut g).unwrap();
/// assert_eq!(g, [0.0, 5.0]);
/// ```
pub fn relu_backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * relu_derivative_lane(x)),
    )
}

// ---------------------------------------------------------------------------------------
// relu6

/// ReLU6, `out[i] = min(max(x[i], 0), 6)` (PyTorch's `hardtanh(x, 0, 6)`).
///
/// Domain: every value. `relu6(+inf) = 6`, `relu6(-inf) = 0`, NaN gives NaN,
/// `relu6(-0.0) = -0.0`.
///
/// Accuracy: exact; budget 1 ULP (f32 and f64).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 3];
/// nonlin::relu6(&[-1.0, 2.5, 9.0], &mut y).unwrap();
/// assert_eq!(y, [0.0, 2.5, 6.0]);
/// ```
pub fn relu6<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| relu6_lane(x)))
}

/// [`relu6`] in place.
///
/// # Example
/// ```
/// let mut x = [7.0f64, -7.0];
/// nonlin::relu6_inplace(&mut x);
/// assert_eq!(x, [6.0, 0.0]);
/// ```
pub fn relu6_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| relu6_lane(x)))
}

/// Derivative of [`relu6`]: `1` for `0 < x < 6` (strictly), else `0`.
///
/// Kinks: `relu6'(0) = relu6'(6) = 0` (PyTorch's `hardtanh_backward` passes the gradient
/// only strictly inside the interval). NaN gives NaN. Exact; budget 1 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 4];
/// nonlin::relu6_derivative(&[0.0, 3.0, 6.0, 7.0], &mut d).unwrap();
/// assert_eq!(d, [0.0, 1.0, 0.0, 0.0]);
/// ```
pub fn relu6_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| relu6_derivative_lane(x)))
}

/// Backward pass of [`relu6`]: `grad_in[i] = grad_out[i] * relu6'(x[i])`. Exact.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::relu6_backward(&[1.0, 6.5], &[2.0, 2.0], &mut g).unwrap();
/// assert_eq!(g, [2.0, 0.0]);
/// ```
pub fn relu6_backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * relu6_derivative_lane(x)),
    )
}

// ---------------------------------------------------------------------------------------
// leaky_relu

#[inline]
fn check_slope<T: Float>(slope: T) -> Result<(), Error> {
    check_finite("slope", slope.to_f64())
}

/// Leaky ReLU, `out[i] = x[i]` for `x[i] > 0`, else `slope * x[i]`.
///
/// `slope` is PyTorch's `negative_slope`; its default there is
/// [`LEAKY_RELU_DEFAULT_SLOPE`] (0.01). Any finite slope is accepted (negative or above 1
/// as well).
///
/// Domain: every value. `leaky_relu(+inf) = +inf`, `leaky_relu(-inf) = -inf * sign(slope)`
/// (and `0` for `slope = 0`, the limit, where IEEE `0 * inf` would give NaN); NaN gives NaN;
/// `leaky_relu(-0.0) = slope * -0.0` (`-0.0` for a positive slope).
///
/// Accuracy: the product `slope * x` is rounded once (correctly rounded, ≤ 0.5 ULP); budget
/// 1 ULP in f32 and f64.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `slope` if it is not finite;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written on error.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 2];
/// nonlin::leaky_relu(&[-2.0, 3.0], 0.01, &mut y).unwrap();
/// assert_eq!(y, [-0.02, 3.0]);
/// assert!(nonlin::leaky_relu(&[1.0f32], f32::NAN, &mut y[..1]).is_err());
/// ```
pub fn leaky_relu<T: Float>(x: &[T], slope: T, out: &mut [T]) -> Result<(), Error> {
    check_slope(slope)?;
    driver::map(
        x,
        out,
        lanes!([slope] | x | leaky_relu_lane(x, L::splat(slope))),
    )
}

/// [`leaky_relu`] in place.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `slope` if it is not finite (nothing is written).
///
/// # Example
/// ```
/// let mut x = [-1.0f64, 1.0];
/// nonlin::leaky_relu_inplace(&mut x, 0.5).unwrap();
/// assert_eq!(x, [-0.5, 1.0]);
/// ```
pub fn leaky_relu_inplace<T: Float>(x: &mut [T], slope: T) -> Result<(), Error> {
    check_slope(slope)?;
    driver::map_inplace(x, lanes!([slope] | x | leaky_relu_lane(x, L::splat(slope))));
    Ok(())
}

/// Derivative of [`leaky_relu`]: `1` for `x > 0`, else `slope`.
///
/// Kink: `leaky_relu'(0) = slope` (PyTorch). NaN gives NaN. Exact; budget 1 ULP.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `slope` if it is not finite;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::leaky_relu_derivative(&[0.0, 1.0], 0.25, &mut d).unwrap();
/// assert_eq!(d, [0.25, 1.0]);
/// ```
pub fn leaky_relu_derivative<T: Float>(x: &[T], slope: T, out: &mut [T]) -> Result<(), Error> {
    check_slope(slope)?;
    driver::map(
        x,
        out,
        lanes!([slope] | x | leaky_relu_derivative_lane(x, L::splat(slope))),
    )
}

/// Backward pass of [`leaky_relu`]: `grad_in[i] = grad_out[i] * leaky_relu'(x[i])`
/// (one rounding, ≤ 0.5 ULP).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `slope` if it is not finite;
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::leaky_relu_backward(&[-1.0, 1.0], &[4.0, 4.0], 0.5, &mut g).unwrap();
/// assert_eq!(g, [2.0, 4.0]);
/// ```
pub fn leaky_relu_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    slope: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    check_slope(slope)?;
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(
            [slope] | x,
            g | g * leaky_relu_derivative_lane(x, L::splat(slope))
        ),
    )
}

// ---------------------------------------------------------------------------------------
// hardtanh

#[inline]
fn check_bounds<T: Float>(min_val: T, max_val: T) -> Result<(), Error> {
    check_finite("min_val", min_val.to_f64())?;
    check_finite("max_val", max_val.to_f64())?;
    if min_val > max_val {
        return Err(Error::InvalidParameter {
            name: "max_val",
            value: max_val.to_f64(),
            requirement: ">= min_val",
        });
    }
    Ok(())
}

/// Hard tanh, `out[i] = min(max(x[i], min_val), max_val)` (PyTorch defaults: -1, 1).
///
/// Domain: every value; `±inf` give the bounds, NaN gives NaN, and an input equal to a
/// bound (including `-0.0` at `min_val = 0`) is returned unchanged.
///
/// Accuracy: exact; budget 1 ULP (f32 and f64).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `min_val` or `max_val` if one is not finite, or naming
/// `max_val` if `min_val > max_val` (`min_val == max_val` is allowed);
/// [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written on error.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 3];
/// nonlin::hardtanh(&[-3.0, 0.5, 3.0], -1.0, 1.0, &mut y).unwrap();
/// assert_eq!(y, [-1.0, 0.5, 1.0]);
/// ```
pub fn hardtanh<T: Float>(x: &[T], min_val: T, max_val: T, out: &mut [T]) -> Result<(), Error> {
    check_bounds(min_val, max_val)?;
    driver::map(
        x,
        out,
        lanes!([min_val, max_val] | x | hardtanh_lane(x, L::splat(min_val), L::splat(max_val))),
    )
}

/// [`hardtanh`] in place.
///
/// # Errors
/// As [`hardtanh`], without the length check.
///
/// # Example
/// ```
/// let mut x = [-3.0f64, 3.0];
/// nonlin::hardtanh_inplace(&mut x, -2.0, 2.0).unwrap();
/// assert_eq!(x, [-2.0, 2.0]);
/// ```
pub fn hardtanh_inplace<T: Float>(x: &mut [T], min_val: T, max_val: T) -> Result<(), Error> {
    check_bounds(min_val, max_val)?;
    driver::map_inplace(
        x,
        lanes!([min_val, max_val] | x | hardtanh_lane(x, L::splat(min_val), L::splat(max_val))),
    );
    Ok(())
}

/// Derivative of [`hardtanh`]: `1` for `min_val < x < max_val` (strictly), else `0`.
///
/// Kinks: `0` at both bounds (PyTorch's `hardtanh_backward`). NaN gives NaN. Exact.
///
/// # Errors
/// As [`hardtanh`].
///
/// # Example
/// ```
/// let mut d = [0.0f32; 3];
/// nonlin::hardtanh_derivative(&[-1.0, 0.0, 1.0], -1.0, 1.0, &mut d).unwrap();
/// assert_eq!(d, [0.0, 1.0, 0.0]);
/// ```
pub fn hardtanh_derivative<T: Float>(
    x: &[T],
    min_val: T,
    max_val: T,
    out: &mut [T],
) -> Result<(), Error> {
    check_bounds(min_val, max_val)?;
    driver::map(
        x,
        out,
        lanes!(
            [min_val, max_val]
                | x
                | hardtanh_derivative_lane(x, L::splat(min_val), L::splat(max_val))
        ),
    )
}

/// Backward pass of [`hardtanh`]: `grad_in[i] = grad_out[i] * hardtanh'(x[i])`. Exact.
///
/// # Errors
/// As [`hardtanh`], with `grad_out` and `grad_in` checked against `x`'s length.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::hardtanh_backward(&[0.0, 2.0], &[3.0, 3.0], -1.0, 1.0, &mut g).unwrap();
/// assert_eq!(g, [3.0, 0.0]);
/// ```
pub fn hardtanh_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    min_val: T,
    max_val: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    check_bounds(min_val, max_val)?;
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(
            [min_val, max_val] | x,
            g | g * hardtanh_derivative_lane(x, L::splat(min_val), L::splat(max_val))
        ),
    )
}

// ---------------------------------------------------------------------------------------
// prelu

/// Elements of the stack buffer holding the slopes repeated along a block of rows.
const PATTERN: usize = 256;

#[inline]
fn check_channels<T>(x_len: usize, slopes: &[T]) -> Result<(), Error> {
    let c = slopes.len();
    if c == 0 || !x_len.is_multiple_of(c) {
        return Err(Error::InvalidShape {
            name: "slopes",
            value: c,
            len: x_len,
        });
    }
    Ok(())
}

const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// Calls `f(len, slopes_for_those_elements)` for consecutive ranges covering `0..n` (a whole number of rows of
/// `slopes.len()` channels) so that each call's slope slice lines up with its elements.
///
/// Few channels: the slopes are repeated into a stack buffer of whole rows (a multiple of
/// the widest lane width where that fits), so the lane loop runs over long blocks instead of one
/// short, padded row at a time. Many channels: one call per row with `slopes` itself.
#[inline(always)]
fn for_each_slope_block<T: Float>(n: usize, slopes: &[T], mut f: impl FnMut(usize, &[T])) {
    let c = slopes.len();
    if c == 0 {
        return;
    }
    if c > PATTERN / 2 {
        let mut start = 0;
        while start < n {
            f(c, slopes);
            start += c;
        }
        return;
    }
    // 512 bits: the widest lane of any backend (the AVX2 backend's two-register lanes), a
    // multiple of every other backend's width.
    let w = 64 / core::mem::size_of::<T>();
    // Both at least 1 (`c, w > 0`); `max` says so to the compiler, which otherwise keeps a
    // division-by-zero panic path on targets where it cannot fold `w`.
    let lcm = (c / gcd(c, w).max(1) * w).max(1);
    let block = if lcm <= PATTERN {
        lcm * (PATTERN / lcm)
    } else {
        c * (PATTERN / c)
    };
    let mut pat = [T::ZERO; PATTERN];
    for (d, s) in pat.iter_mut().zip(slopes.iter().cycle()).take(block) {
        *d = *s;
    }
    let mut start = 0;
    while start < n {
        let len = block.min(n - start);
        f(len, pat.get(..len).unwrap_or(&[]));
        start += len;
    }
}

/// Parametric ReLU over a row-major `rows × channels` slice, one slope per channel:
/// `out[r*C + c] = x[r*C + c]` if positive, else `slopes[c] * x[r*C + c]`, with
/// `C = slopes.len()` (PyTorch's `prelu` with the channel as the last dimension).
///
/// Special values as [`leaky_relu`] with that channel's slope. The slopes are data (learned
/// weights), not validated: a NaN or infinite slope propagates into the outputs of its
/// channel like any other input value.
///
/// Accuracy: one correctly rounded product (≤ 0.5 ULP); budget 1 ULP (f32 and f64). Each
/// element's result depends only on its value and its channel's slope.
///
/// # Errors
/// [`Error::InvalidShape`] naming `slopes` if it is empty or its length does not divide
/// `x.len()`; [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written on
/// error.
///
/// # Example
/// ```
/// // 2 rows × 3 channels
/// let x = [-1.0f32, -1.0, -1.0, 2.0, -2.0, 0.0];
/// let mut y = [0.0f32; 6];
/// nonlin::prelu(&x, &[0.1, 0.2, 0.3], &mut y).unwrap();
/// assert_eq!(y, [-0.1, -0.2, -0.3, 2.0, -0.4, 0.0]);
/// ```
pub fn prelu<T: Float>(x: &[T], slopes: &[T], out: &mut [T]) -> Result<(), Error> {
    check_channels(x.len(), slopes)?;
    check_len("out", x.len(), out.len())?;
    let mut xs = x;
    let mut os = out;
    for_each_slope_block(x.len(), slopes, |len, s| {
        // Both at the same `k` (the lengths agree, checked above): no split can fail.
        let k = len.min(xs.len()).min(os.len());
        let (xa, xb) = xs.split_at(k);
        let (oa, ob) = core::mem::take(&mut os).split_at_mut(k);
        driver::map2_unchecked(xa, s, oa, lanes!(|x, y| prelu_lane(x, y)));
        xs = xb;
        os = ob;
    });
    Ok(())
}

/// [`prelu`] in place.
///
/// # Errors
/// [`Error::InvalidShape`] naming `slopes` as in [`prelu`] (nothing is written).
///
/// # Example
/// ```
/// let mut x = [-4.0f64, -4.0];
/// nonlin::prelu_inplace(&mut x, &[0.25, 0.5]).unwrap();
/// assert_eq!(x, [-1.0, -2.0]);
/// ```
pub fn prelu_inplace<T: Float>(x: &mut [T], slopes: &[T]) -> Result<(), Error> {
    check_channels(x.len(), slopes)?;
    let n = x.len();
    let mut xs = x;
    let mut res = Ok(());
    for_each_slope_block(n, slopes, |len, s| {
        let k = len.min(xs.len());
        let (xa, xb) = core::mem::take(&mut xs).split_at_mut(k);
        if res.is_ok() {
            res = driver::map2_inplace(xa, s, "slopes", lanes!(|x, y| prelu_lane(x, y)));
        }
        xs = xb;
    });
    res
}

/// Derivative of [`prelu`] with respect to `x`: `1` where `x > 0`, else the channel's slope.
///
/// Kink: `prelu'(0) = slope` (PyTorch). NaN gives NaN. Exact; budget 1 ULP.
///
/// # Errors
/// As [`prelu`].
///
/// # Example
/// ```
/// let mut d = [0.0f32; 4];
/// nonlin::prelu_derivative(&[1.0, 0.0, -1.0, 5.0], &[0.1, 0.2], &mut d).unwrap();
/// assert_eq!(d, [1.0, 0.2, 0.1, 1.0]);
/// ```
pub fn prelu_derivative<T: Float>(x: &[T], slopes: &[T], out: &mut [T]) -> Result<(), Error> {
    check_channels(x.len(), slopes)?;
    check_len("out", x.len(), out.len())?;
    let mut xs = x;
    let mut os = out;
    for_each_slope_block(x.len(), slopes, |len, s| {
        // Both at the same `k` (the lengths agree, checked above): no split can fail.
        let k = len.min(xs.len()).min(os.len());
        let (xa, xb) = xs.split_at(k);
        let (oa, ob) = core::mem::take(&mut os).split_at_mut(k);
        driver::map2_unchecked(xa, s, oa, lanes!(|x, y| prelu_derivative_lane(x, y)));
        xs = xb;
        os = ob;
    });
    Ok(())
}

/// Veltkamp split of an f64 (exact; finite inputs below 2^995).
#[inline(always)]
fn split_f64(a: f64) -> (f64, f64) {
    let c = 134217729.0 * a;
    let h = c - (c - a);
    (h, a - h)
}

/// Exact product of two f64 as `(p, e)`, `p + e = a * b` (Dekker; `e = 0` where the split
/// would overflow, an accuracy loss only for products near the overflow threshold).
#[inline(always)]
fn two_prod_f64(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split_f64(a);
    let (bh, bl) = split_f64(b);
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    (p, if e.is_finite() { e } else { 0.0 })
}

/// Channels summed together per pass over the rows.
const SLOPE_BLOCK: usize = 32;

/// `grad_slopes[c] = sum over rows r of [x <= 0] * grad_out * x` at `(r, c)`, in row order,
/// accumulated as an unevaluated f64 pair (hi, lo): every product is exact (f32 inputs
/// multiply exactly in f64; f64 products are split with Dekker) and every addition's error
/// is kept (TwoSum), so the result is within about one rounding of the exact sum and does
/// not depend on anything but the inputs.
fn prelu_slope_grad<T: Float>(x: &[T], grad_out: &[T], grad_slopes: &mut [T]) {
    let c = grad_slopes.len();
    if c == 0 {
        return;
    }
    let exact_f64 = T::MANTISSA_DIGITS <= 26;
    let mut c0 = 0;
    while c0 < c {
        let c1 = (c0 + SLOPE_BLOCK).min(c);
        let mut hi = [0.0f64; SLOPE_BLOCK];
        let mut lo = [0.0f64; SLOPE_BLOCK];
        for (xr, gr) in x.chunks_exact(c).zip(grad_out.chunks_exact(c)) {
            let (Some(xb), Some(gb)) = (xr.get(c0..c1), gr.get(c0..c1)) else {
                continue;
            };
            for (((xv, gv), h), l) in xb.iter().zip(gb).zip(hi.iter_mut()).zip(lo.iter_mut()) {
                let xv = xv.to_f64();
                let gv = gv.to_f64();
                // x > 0 contributes nothing (false for NaN, which propagates below); a zero
                // gradient contributes exactly zero, even against x = -inf.
                if xv > 0.0 || gv == 0.0 {
                    continue;
                }
                let (p, pe) = if exact_f64 {
                    (xv * gv, 0.0)
                } else {
                    two_prod_f64(xv, gv)
                };
                let s = *h + p;
                if !s.is_finite() {
                    *h = s;
                    continue;
                }
                let bb = s - *h;
                let e = (*h - (s - bb)) + (p - bb);
                *h = s;
                *l += e + pe;
            }
        }
        for ((d, h), l) in grad_slopes
            .iter_mut()
            .skip(c0)
            .take(c1 - c0)
            .zip(hi.iter())
            .zip(lo.iter())
        {
            let v = if h.is_finite() { *h + *l } else { *h };
            *d = T::from_f64(v);
        }
        c0 = c1;
    }
}

/// Backward pass of [`prelu`]: `grad_in[i] = grad_out[i] * prelu'(x[i])`, and the gradient
/// with respect to the slopes, `grad_slopes[c] = Σ_r grad_out[r, c] * x[r, c]` over the rows
/// `r` where `x[r, c] <= 0`.
///
/// The slope gradient is deterministic and accurate: each channel is summed over the rows in
/// row order, with exact products (`f32` inputs are multiplied in `f64`, `f64` inputs with an
/// error-free product) accumulated in a double-`f64` (hi + lo, TwoSum) accumulator, then
/// rounded once to `T`. The result does not depend on how the slice was laid out in memory
/// or on the lane width; it is within about 1 ULP of the exact sum (a zero `grad_out`
/// contributes exactly zero, a NaN contributes NaN).
///
/// `grad_in` is one rounding from exact (≤ 0.5 ULP).
///
/// # Errors
/// [`Error::InvalidShape`] naming `slopes` as in [`prelu`]; [`Error::LengthMismatch`] naming
/// `grad_out` or `grad_in` (length of `x`) or `grad_slopes` (length of `slopes`). Nothing is
/// written on error.
///
/// # Example
/// ```
/// let x = [-1.0f32, 2.0, -3.0, -4.0]; // 2 rows × 2 channels
/// let g = [1.0f32; 4];
/// let (mut gi, mut gs) = ([0.0f32; 4], [0.0f32; 2]);
/// nonlin::prelu_backward(&x, &g, &[0.5, 0.25], &mut gi, &mut gs).unwrap();
/// assert_eq!(gi, [0.5, 1.0, 0.5, 0.25]);
/// assert_eq!(gs, [-4.0, -4.0]);
/// ```
pub fn prelu_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    slopes: &[T],
    grad_in: &mut [T],
    grad_slopes: &mut [T],
) -> Result<(), Error> {
    check_channels(x.len(), slopes)?;
    check_len("grad_out", x.len(), grad_out.len())?;
    check_len("grad_in", x.len(), grad_in.len())?;
    check_len("grad_slopes", slopes.len(), grad_slopes.len())?;
    let mut xs = x;
    let mut gs = grad_out;
    let mut os = &mut *grad_in;
    for_each_slope_block(x.len(), slopes, |len, s| {
        let k = len.min(xs.len()).min(gs.len()).min(os.len());
        let (xa, xb) = xs.split_at(k);
        let (ga, gb) = gs.split_at(k);
        let (oa, ob) = core::mem::take(&mut os).split_at_mut(k);
        driver::map3_unchecked(
            xa,
            ga,
            s,
            oa,
            lanes!(|x, g, s| g * prelu_derivative_lane(x, s)),
        );
        xs = xb;
        gs = gb;
        os = ob;
    });
    prelu_slope_grad(x, grad_out, grad_slopes);
    Ok(())
}

/// Scalar references (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar ReLU: `x` unless `x < 0` (so `-0.0` and NaN come through), else `0`.
    pub fn relu<T: Float>(x: T) -> T {
        if x < T::ZERO { T::ZERO } else { x }
    }

    /// Scalar ReLU derivative: `1` for `x > 0`, `0` otherwise (`relu'(0) = 0`), NaN for NaN.
    pub fn relu_derivative<T: Float>(x: T) -> T {
        if x.is_nan() {
            x
        } else if x > T::ZERO {
            T::ONE
        } else {
            T::ZERO
        }
    }

    /// Scalar hard tanh: `x` clamped to `[min_val, max_val]`, NaN kept.
    pub fn hardtanh<T: Float>(x: T, min_val: T, max_val: T) -> T {
        if x < min_val {
            min_val
        } else if x > max_val {
            max_val
        } else {
            x
        }
    }

    /// Scalar hard-tanh derivative: `1` strictly inside `(min_val, max_val)`, else `0`.
    pub fn hardtanh_derivative<T: Float>(x: T, min_val: T, max_val: T) -> T {
        if x.is_nan() {
            x
        } else if x > min_val && x < max_val {
            T::ONE
        } else {
            T::ZERO
        }
    }

    /// Scalar ReLU6: `hardtanh(x, 0, 6)`.
    pub fn relu6<T: Float>(x: T) -> T {
        hardtanh(x, T::ZERO, T::from_f64(6.0))
    }

    /// Scalar ReLU6 derivative: `1` on `(0, 6)`, else `0`.
    pub fn relu6_derivative<T: Float>(x: T) -> T {
        hardtanh_derivative(x, T::ZERO, T::from_f64(6.0))
    }

    /// Scalar leaky ReLU: `x` for `x > 0`, else `slope * x` (`0` for `slope = 0` at `-inf`).
    pub fn leaky_relu<T: Float>(x: T, slope: T) -> T {
        if x.is_nan() || x > T::ZERO {
            x
        } else {
            let r = slope * x;
            if r.is_nan() { T::ZERO } else { r }
        }
    }

    /// Scalar leaky-ReLU derivative: `1` for `x > 0`, else `slope` (`leaky_relu'(0) = slope`).
    pub fn leaky_relu_derivative<T: Float>(x: T, slope: T) -> T {
        if x.is_nan() {
            x
        } else if x > T::ZERO {
            T::ONE
        } else {
            slope
        }
    }

    /// Scalar PReLU for one element and its channel's slope (same as [`leaky_relu`]).
    pub fn prelu<T: Float>(x: T, slope: T) -> T {
        leaky_relu(x, slope)
    }

    /// Scalar PReLU derivative with respect to `x` for one element and its channel's slope.
    pub fn prelu_derivative<T: Float>(x: T, slope: T) -> T {
        leaky_relu_derivative(x, slope)
    }
}
