//! Softsign `x / (1 + |x|)` and its derivative `1 / (1 + |x|)^2`.
//!
//! The denominator `d = 1 + |x|` is carried with its rounding error (`d + err = 1 + |x|`
//! exactly, Fast2Sum), and the quotients are corrected to first order in `err / d`, so the
//! rounding of the denominator does not enter the error budget. The derivative is formed
//! as `r * r` with `r = 1/d`: for large `|x|` it underflows gradually into the subnormals,
//! where `1 / (d * d)` would overflow `d * d` to `inf` and return 0 far too early
//! (`|x| > 1.8e19` in f32).

use crate::driver;
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;

/// `(d, err)` with `d + err = 1 + |x|` exactly.
#[inline(always)]
fn denominator<L: Lane>(x: L) -> (L, L) {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let a = x.abs();
    // Fast2Sum needs the larger operand first.
    let big = a.max(one);
    let small = a.min(one);
    let d = big + small;
    let err = small - (d - big);
    (d, err)
}

/// Lane kernel of [`softsign`].
#[inline(always)]
pub(crate) fn softsign_lane<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let (d, err) = denominator(x);
    let q = x / d;
    // x / (d + err) = q + (x - q d - q err) / (d + err): the remainder x - q d is exact
    // (exact product, Sterbenz), so both the quotient's and the denominator's roundings are
    // corrected and only the final addition rounds.
    let (p, pl) = L::two_prod(q, d);
    let rem = ((x - p) - pl) - q * err;
    let r = q + rem / d;
    // Where the non-fused exact product's split overflows (|x| near MAX) it gives NaN: fall
    // back to the first-order correction of the denominator alone (within 1 ULP).
    let r1 = (-q).mul_add(err / d, q);
    let r = L::select(r.is_nan(), r1, r);
    let r = L::select(x.is_inf(), one.copysign(x), r);
    // ±0 (whose sign the sums above would lose) and NaN come through.
    L::select(
        x.eq(L::splat(<L::Scalar as Float>::ZERO)).or(x.is_nan()),
        x,
        r,
    )
}

/// Lane kernel of [`softsign_derivative`].
#[inline(always)]
pub(crate) fn softsign_derivative_lane<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let (d, err) = denominator(x);
    let r = one / d;
    // r d = 1 - rho exactly, so 1/(d + err) = r (1 + rho - err r) to first order, and
    // 1/(d + err)^2 = r^2 (1 + 2 (rho - err r)); r^2 = y + yl exactly.
    let (rd, rdl) = L::two_prod(r, d);
    let rho = (one - rd) - rdl;
    let c = (rho - err * r) + (rho - err * r);
    // Large d (above 2^(kh - p)): the low parts of r^2 would fall below the normal range
    // and lose the corrections; square r 2^kh instead and scale the sum back by 2^-2kh (one rounding,
    // into the subnormals).
    let kh = crate::vmath::half_bias::<L>();
    let pd = <L::Scalar as Float>::MANTISSA_DIGITS as i32;
    let small = d.gt(crate::vmath::splat::<L>(crate::vmath::pow2(kh - pd)));
    // The scale factors are selected, not the scaled values: scaling every lane by 2^-2kh
    // and keeping the result only where `small` made the ordinary lanes subnormal, and
    // subnormal results are slow (on AMD Zen they cost this kernel two thirds of its speed).
    let up = L::select(small, crate::vmath::splat::<L>(crate::vmath::pow2(kh)), one);
    let down = L::select(
        small,
        crate::vmath::splat::<L>(crate::vmath::pow2(-2 * kh)),
        one,
    );
    let (y, yl) = L::two_prod(r * up, r * up);
    let out = (y + y.mul_add(c, yl)) * down;
    let y = r * r;
    // The split of a non-fused exact product overflows for |x| near MAX: there r * r is far
    // below the normal range and a plain first-order correction is as good.
    let plain = (-y).mul_add((err + err) * r, y);
    let out = L::select(out.is_nan(), plain, out);
    let out = L::select(x.is_inf(), zero, out);
    L::select(x.is_nan(), x, out)
}

/// Softsign, `out[i] = x[i] / (1 + |x[i]|)`.
///
/// Domain: every value. `softsign(±inf) = ±1`, `softsign(±0) = ±0`, NaN gives NaN; odd.
/// Subnormal inputs give themselves (exactly).
///
/// Accuracy: f32 ≤ 2 ULP, f64 ≤ 2 ULP (measured about 0.5 ULP: the roundings of the
/// denominator and of the quotient are compensated).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`; nothing is written then.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 3];
/// nonlin::softsign(&[1.0, -3.0, f32::INFINITY], &mut y).unwrap();
/// assert_eq!(y, [0.5, -0.75, 1.0]);
/// ```
pub fn softsign<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| softsign_lane(x)))
}

/// [`softsign`] in place. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [3.0f64];
/// nonlin::softsign_inplace(&mut x);
/// assert_eq!(x, [0.75]);
/// ```
pub fn softsign_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| softsign_lane(x)))
}

/// Derivative of softsign, `out[i] = 1 / (1 + |x[i]|)^2`, computed as `r * r` with
/// `r = 1 / (1 + |x|)`.
///
/// Domain: every value; `softsign'(0) = 1`, `softsign'(±inf) = 0`, NaN gives NaN. For large
/// `|x|` the result underflows gradually: it is a normal number up to `|x| ≈ 1.8e19` (f32),
/// a computed subnormal beyond, and 0 only where the exact value rounds to 0.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP (measured ≤ 0.5 ULP for normal results; subnormal
/// results, measured in subnormal ULPs, ≤ 0.75 (f32) and ≤ 1 (f64): rounded twice).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 3];
/// nonlin::softsign_derivative(&[0.0, 1.0, 1e20], &mut d).unwrap();
/// assert_eq!(&d[..2], &[1.0, 0.25]);
/// assert!(d[2] > 0.0); // 1e-40, subnormal, not 0
/// ```
pub fn softsign_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| softsign_derivative_lane(x)))
}

/// Backward pass of softsign: `grad_in[i] = grad_out[i] * softsign'(x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`softsign_derivative`] plus one
/// rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::softsign_backward(&[1.0], &[2.0], &mut g).unwrap();
/// assert_eq!(g[0], 0.5);
/// ```
pub fn softsign_backward<T: Float>(
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
        lanes!(|x, g| g * softsign_derivative_lane(x)),
    )
}

/// Scalar references (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar softsign `x / (1 + |x|)`, `±1` at `±inf`.
    pub fn softsign<T: Float>(x: T) -> T {
        let a = x.abs();
        if a == T::INFINITY {
            if x > T::ZERO { T::ONE } else { -T::ONE }
        } else {
            x / (T::ONE + a)
        }
    }

    /// Scalar softsign derivative `r * r` with `r = 1 / (1 + |x|)` (no overflow of
    /// `(1 + |x|)^2`).
    pub fn softsign_derivative<T: Float>(x: T) -> T {
        let r = T::ONE / (T::ONE + x.abs());
        r * r
    }
}
