//! Softplus `softplus(x; β) = ln(1 + e^(βx)) / β`, its derivative `σ(βx)`, and the log-sigmoid
//! `log σ(x) = -softplus(-x; 1)` with its derivative `σ(-x)`.
//!
//! Softplus is evaluated as `(1/β)·[max(βx, 0) + log1p(exp(-|βx|))]`, which never overflows
//! and never cancels, **with no threshold cut-off**. PyTorch returns `x` as soon as
//! `βx > threshold = 20`; the dropped term `log1p(e^-20) ≈ 2.06e-9` is 0.001 ULP of 20 in f32
//! but 5.8e5 ULP in f64, so that shortcut is not taken here: every input gets the full
//! formula.
//!
//! The product `βx` is carried exactly (`Lane::two_prod`) into the exponential
//! (`exp(hi + lo)`): rounding `βx` first would cost up to `|βx|/2` ULP in the negative tail,
//! where the result is `≈ e^(βx)/β`. The positive part is applied as `max(x, 0)` (not
//! `max(βx, 0)/β`), so it is exact, and only the small `log1p` term is divided by β.

use crate::driver::{self, Quad};
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath;

/// `(hi, lo)` with `hi + lo = -|βx|` exactly (barring overflow), clamped so that every later
/// step stays finite: beyond `|βx| = 1000` the exponential is 0 in both types, and there the
/// low part (possibly NaN from an overflowing split) is dropped.
#[inline(always)]
fn neg_abs_product<L: Lane>(x: L, beta: L) -> (L, L, L) {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let big = vmath::splat::<L>(1000.0);
    let (zh, zl) = vmath::two_prod_wide(beta, x);
    let ok = zh.abs().lt(big);
    let pos = zh.ge(zero);
    let ah = L::select(ok, -zh.abs(), -big);
    let al = L::select(ok, L::select(pos, -zl, zl), zero);
    (ah, al, pos)
}

/// `log1p(u) / beta` for `u` in `[0, 1]` (`u = exp(-|βx|)`), with `log1p` carried in two
/// parts so that the division by `β` does not add a third rounding on top of those of
/// `exp` and `log1p` (measured 2.3 ULP for β = 10 with `vmath::log1p(u) / β`).
///
/// fdlibm's reduction specialised to `1 + u` in `[1, 2]`: `1 + u = m + t` exactly
/// (Fast2Sum), `m = 2^k f` with `f` in `[sqrt(2)/2, sqrt(2))`, `k` in `{0, 1}`,
/// `ln(1 + u) = k ln2 + e - e²/2 + s (e²/2 + R(s²)) + t/m`, `e = f - 1`, `s = e / (2 + e)`.
/// The head `k ln2_hi + e` is split exactly (TwoSum); the rest is at most a fifth of it.
#[inline(always)]
fn log1p_parts<L: Lane>(u: L) -> (L, L) {
    let c = <L::Scalar as Float>::VM;
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let one = L::splat(<L::Scalar as Float>::ONE);
    let m = one + u;
    let t = (one - m) + u;
    let big = m.ge(vmath::splat::<L>(core::f64::consts::SQRT_2));
    let f = L::select(big, m * vmath::splat::<L>(0.5), m);
    let k = L::select(big, one, zero);
    let e = f - one;
    let s = e / (e + one + one);
    let z = s * s;
    let r = z * vmath::estrin(z, c.log_poly);
    let hfsq = vmath::splat::<L>(0.5) * e * e;
    let kh = k * L::splat(c.ln2_hi);
    // TwoSum: ah + al = k ln2_hi + e exactly.
    let ah = kh + e;
    let bb = ah - kh;
    let al = (kh - (ah - bb)) + (e - bb);
    let b = s.mul_add(hfsq + r, k.mul_add(L::splat(c.ln2_lo), t / m + al)) - hfsq;
    (ah, b)
}

/// `log1p(u) / beta` from [`log1p_parts`], the division's rounding carried.
#[inline(always)]
fn log1p_div<L: Lane>(u: L, beta: L) -> L {
    let (ah, b) = log1p_parts(u);
    // q + rq = ah / β to first order, with rq from the exact product q·β.
    let q = ah / beta;
    let (ph, pl) = L::two_prod(q, beta);
    let rq = (ah - ph) - pl;
    q + (rq + b) / beta
}

/// [`softplus_lane`] for `β = 1` (softplus's default and the log-sigmoid). Lanes with
/// `e = exp(-|x|)` in `exp`'s plain range (`|x| <= 86.6` in f32) need neither the exact
/// product `βx` nor the scaled tail (which exist for `β != 1`, where `e/β` and `e` can be
/// on different sides of the normal range): `max(x, 0) + log1p(e)`, with `log1p_div(e, 1)`
/// reduced to its sum. Other lanes take the general form; a vector without them skips it.
#[inline(always)]
pub(crate) fn softplus1_lane<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let a = -x.abs();
    if vmath::exp_all_plain(a) {
        softplus1_plain(x, a)
    } else {
        let general = softplus_lane(x, one);
        L::select(vmath::exp_plain_lanes(a), softplus1_plain(x, a), general)
    }
}

#[inline(always)]
fn softplus1_plain<L: Lane>(x: L, a: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let (h, b) = log1p_parts(vmath::exp_plain(a));
    x.max(zero) + (h + b)
}

/// [`softplus_lane`] with `β = 1` sent to [`softplus1_lane`] (the test on the scalar `beta`
/// is the same for every vector of a call).
#[inline(always)]
fn softplus_beta_lane<L: Lane>(x: L, beta: L::Scalar) -> L {
    if beta == <L::Scalar as Float>::ONE {
        softplus1_lane(x)
    } else {
        softplus_lane(x, L::splat(beta))
    }
}

/// Lane kernel of [`softplus`]: `max(x, 0) + log1p(exp(-|βx|)) / β`, `beta > 0` finite.
#[inline(always)]
pub(crate) fn softplus_lane<L: Lane>(x: L, beta: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let (ah, al, _) = neg_abs_product(x, beta);
    // Where exp(-|βx|) < 2^-14 (f32) / 2^-28 (f64), log1p(E) = E - E²/2 to 0.02 ULP, and the
    // result E(1 - E/2)/β can be normal while E is subnormal (β < 1) or subnormal while E
    // is normal (β > 1). There E is computed as S = E·2^(m+64) (one rounding, in the normal
    // range; m = -exponent of β), divided by β·2^m (an exact scaling of β, in [1, 4)) with
    // the remainder of the division carried (exact product), and scaled back by 2^-64: the
    // only rounding at the result's own magnitude is the last one. For β < 2^-40 the result
    // is normal anyway and the extra 2^64 (which could overflow) is dropped.
    let tiny = ah.lt(vmath::splat::<L>(
        if <L::Scalar as Float>::MANTISSA_DIGITS <= 24 {
            -10.0
        } else {
            -20.0
        },
    ));
    let (_, eb) = beta
        .max(L::splat(<L::Scalar as Float>::MIN_POSITIVE))
        .frexp();
    // Clamped so that 2^m stays a normal power of two (β·2^m is then in [1, 4)).
    let m =
        (-eb).max(L::splat(<L::Scalar as Float>::ONE) - L::splat(<L::Scalar as Float>::VM.bias));
    let extra = L::select(m.lt(vmath::splat::<L>(40.0)), vmath::splat::<L>(64.0), zero);
    let k = L::select(tiny, m + extra, zero);
    let s = vmath::exp_scaled(ah, al, k);
    let bs = beta * L::pow2i(m);
    let k1 = (k * vmath::splat::<L>(0.5)).floor();
    let e_half = s * L::pow2i(-k1) * L::pow2i(k1 - k) * vmath::splat::<L>(0.5);
    let q = s / bs;
    let (ph, pl) = L::two_prod(q, bs);
    let l_tiny = (q + (((s - ph) - pl) - s * e_half) / bs) * L::pow2i(-extra);
    let l_main = log1p_div(s, beta);
    let r = x.max(zero) + L::select(tiny, l_tiny, l_main);
    L::select(x.is_nan(), x, r)
}

/// Smallest and largest accepted `beta`: `2^-64` and `2^64`. Outside this range the scaled
/// intermediate terms of the exact kernel over- or underflow (found by the `activations`
/// fuzzer: `beta = f64::MAX`, `x = 1.4e-312` gave NaN); practical values (0.1 to 100) are far
/// inside it.
pub const SOFTPLUS_BETA_RANGE: (f64, f64) = (5.421010862427522e-20, 1.8446744073709552e19);

fn check_beta(beta: f64) -> Result<(), Error> {
    if beta.is_finite() && beta >= SOFTPLUS_BETA_RANGE.0 && beta <= SOFTPLUS_BETA_RANGE.1 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "beta",
            value: beta,
            requirement: "in [2^-64, 2^64]",
        })
    }
}

/// Lane kernel of [`softplus_derivative`]: `σ(βx)` with `βx` carried exactly.
#[inline(always)]
pub(crate) fn softplus_derivative_lane<L: Lane>(x: L, beta: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let one = L::splat(<L::Scalar as Float>::ONE);
    let (ah, al, pos) = neg_abs_product(x, beta);
    let e = vmath::exp_scaled(ah, al, zero);
    let num = L::select(pos, one, e);
    // d + err = 1 + E exactly (Fast2Sum); dividing by d and correcting to first order
    // removes the denominator's rounding (as in the sigmoid kernel).
    let d = one + e;
    let err = (one - d) + e;
    let q = num / d;
    let r = (-q).mul_add(err / d, q);
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`log_sigmoid`]: `min(x, 0) - log1p(exp(-|x|)) = -softplus(-x; 1)`.
#[inline(always)]
pub(crate) fn log_sigmoid_lane<L: Lane>(x: L) -> L {
    -softplus1_lane(-x)
}

/// Lane kernel of [`log_sigmoid_derivative`]: `σ(-x)`.
#[inline(always)]
pub(crate) fn log_sigmoid_derivative_lane<L: Lane>(x: L) -> L {
    softplus_derivative_lane(-x, L::splat(<L::Scalar as Float>::ONE))
}

/// Softplus with sharpness `beta`: `out[i] = ln(1 + e^(β x[i])) / β`, evaluated as
/// `(1/β)·[max(βx, 0) + log1p(exp(-|βx|))]` with `βx` carried exactly.
///
/// Domain: every `x`; `softplus(+inf) = +inf`, `softplus(-inf) = 0`, NaN gives NaN,
/// `softplus(0) = ln 2 / β`. Always `> 0` (or a computed subnormal / 0 deep in the negative
/// tail, where it is `≈ e^(βx)/β`) and `>= x`.
///
/// **No threshold cut-off**: PyTorch's `softplus(x, beta, threshold=20)` returns `x` for
/// `βx > 20`; in f64 that is 5.8e5 ULP wrong at `x = 20` (the dropped `log1p(e^-20)` is
/// 2.06e-9). Here the full formula is evaluated everywhere.
///
/// Accuracy (max error against an exact reference with the exact product `βx`): f32 ≤ 2 ULP,
/// f64 ≤ 2 ULP on the whole range, both tails and subnormal results included.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `beta` if `beta` is not finite and `> 0`;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written then.
///
/// # Example
/// ```
/// let x = [-100.0f32, 0.0, 1.0, 20.0];
/// let mut y = [0.0f32; 4];
/// nonlin::softplus(&x, 1.0, &mut y).unwrap();
/// assert!((y[0] - 3.720076e-44).abs() <= 1.5e-45); // e^-100: subnormal, not flushed
/// assert_eq!(y[1], core::f32::consts::LN_2);
/// assert!((y[2] - 1.3132616).abs() < 1e-6);
/// assert_eq!(y[3], 20.0);
///
/// let mut z = [0.0f64; 1];
/// nonlin::softplus(&[20.0], 1.0, &mut z).unwrap();
/// assert_eq!(z[0], 20.000000002061153); // PyTorch (threshold 20) returns 20.0
/// assert!(nonlin::softplus(&[1.0f32], 0.0, &mut [0.0]).is_err());
/// ```
pub fn softplus<T: Float>(x: &[T], beta: T, out: &mut [T]) -> Result<(), Error> {
    check_beta(beta.to_f64())?;
    driver::map(
        x,
        out,
        Quad(lanes!([beta] | v | softplus_beta_lane(v, beta))),
    )
}

/// [`softplus`] in place: `x[i] = softplus(x[i]; beta)`. Same accuracy and special values.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `beta` if `beta` is not finite and `> 0` (then `x` is
/// left untouched).
///
/// # Example
/// ```
/// let mut x = [0.0f64, 100.0];
/// nonlin::softplus_inplace(&mut x, 2.0).unwrap();
/// assert_eq!(x[0], core::f64::consts::LN_2 / 2.0);
/// assert_eq!(x[1], 100.0);
/// ```
pub fn softplus_inplace<T: Float>(x: &mut [T], beta: T) -> Result<(), Error> {
    check_beta(beta.to_f64())?;
    driver::map_inplace(x, Quad(lanes!([beta] | v | softplus_beta_lane(v, beta))));
    Ok(())
}

/// Derivative of softplus with respect to its input: `out[i] = σ(β x[i])`, the logistic
/// sigmoid of the exact product `βx` (from `exp(-|βx|)`, tail accurate).
///
/// Domain: every `x`; `0` at `-inf`, `1` at `+inf`, `1/2` at 0, NaN gives NaN. Subnormal
/// results are computed.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `beta` (finite and `> 0` required);
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::softplus_derivative(&[0.0, -50.0], 2.0, &mut d).unwrap();
/// assert_eq!(d[0], 0.5);
/// assert!((d[1] - 3.720076e-44).abs() <= 1.5e-45); // σ(-100), subnormal
/// ```
pub fn softplus_derivative<T: Float>(x: &[T], beta: T, out: &mut [T]) -> Result<(), Error> {
    check_beta(beta.to_f64())?;
    driver::map(
        x,
        out,
        lanes!([beta] | v | softplus_derivative_lane(v, L::splat(beta))),
    )
}

/// Backward pass of softplus: `grad_in[i] = grad_out[i] * σ(β x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`softplus_derivative`] plus one
/// rounding.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `beta`; [`Error::LengthMismatch`] if `grad_out` or
/// `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::softplus_backward(&[0.0], &[3.0], 1.0, &mut g).unwrap();
/// assert_eq!(g[0], 1.5);
/// ```
pub fn softplus_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    beta: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    check_beta(beta.to_f64())?;
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(
            [beta] | x,
            g | g * softplus_derivative_lane(x, L::splat(beta))
        ),
    )
}

/// Log-sigmoid, `out[i] = ln σ(x[i]) = min(x, 0) - log1p(exp(-|x|))` (= `-softplus(-x)`).
///
/// Domain: every value; `log_sigmoid(-inf) = -inf`, `log_sigmoid(+inf) = -0`, NaN gives NaN,
/// `log_sigmoid(0) = -ln 2`. Always `<= 0`; in the positive tail it is `≈ -e^-x`, computed
/// with relative accuracy into the subnormals (no `ln(σ(x))` rounding to 0).
///
/// Accuracy: f32 ≤ 2 ULP, f64 ≤ 2 ULP on the whole range.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 3];
/// nonlin::log_sigmoid(&[-200.0, 0.0, 50.0], &mut y).unwrap();
/// assert_eq!(y[0], -200.0);
/// assert_eq!(y[1], -core::f32::consts::LN_2);
/// assert!((y[2] + 1.92875e-22).abs() < 1e-27); // -e^-50, where ln(σ(50)) = 0
/// ```
pub fn log_sigmoid<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, Quad(lanes!(|x| log_sigmoid_lane(x))))
}

/// [`log_sigmoid`] in place. Same accuracy and special values.
///
/// # Example
/// ```
/// let mut x = [0.0f64];
/// nonlin::log_sigmoid_inplace(&mut x);
/// assert_eq!(x[0], -core::f64::consts::LN_2);
/// ```
pub fn log_sigmoid_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, Quad(lanes!(|x| log_sigmoid_lane(x))))
}

/// Derivative of the log-sigmoid: `out[i] = σ(-x[i]) = 1 - σ(x[i])`, from `exp(-|x|)` (no
/// `1 - σ` cancellation: accurate and subnormal-correct in the positive tail).
///
/// Domain: every value; `1` at `-inf`, `0` at `+inf`, `1/2` at 0, NaN gives NaN.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::log_sigmoid_derivative(&[0.0, 100.0], &mut d).unwrap();
/// assert_eq!(d[0], 0.5);
/// assert!((d[1] - 3.720076e-44).abs() <= 1.5e-45); // e^-100, where 1 - σ(100) = 0
/// ```
pub fn log_sigmoid_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| log_sigmoid_derivative_lane(x)))
}

/// Backward pass of the log-sigmoid: `grad_in[i] = grad_out[i] * σ(-x[i])`.
///
/// Takes the forward *input* `x`. Accuracy: that of [`log_sigmoid_derivative`] plus one
/// rounding.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::log_sigmoid_backward(&[0.0], &[2.0], &mut g).unwrap();
/// assert_eq!(g[0], 1.0);
/// ```
pub fn log_sigmoid_backward<T: Float>(
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
        lanes!(|x, g| g * log_sigmoid_derivative_lane(x)),
    )
}

/// Scalar references through `libm` (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar softplus, `max(x, 0) + log1p(exp(-|βx|)) / β` (no threshold cut-off). `βx` is
    /// rounded once here (the slice kernel carries it exactly), which costs up to `|βx|/2`
    /// ULP in the negative tail when `β != 1`. `beta` is not validated (NaN or `<= 0`
    /// gives a meaningless value; the slice functions return an error instead).
    pub fn softplus<T: Float>(x: T, beta: T) -> T {
        if x.is_nan() {
            return x;
        }
        let z = beta * x;
        let m = if x > T::ZERO { x } else { T::ZERO };
        m + (-z.abs()).exp().ln_1p() / beta
    }

    /// Scalar derivative of softplus, `σ(βx)` from `exp(-|βx|)`.
    pub fn softplus_derivative<T: Float>(x: T, beta: T) -> T {
        if x.is_nan() {
            return x;
        }
        let z = beta * x;
        let e = (-z.abs()).exp();
        if z >= T::ZERO {
            T::ONE / (T::ONE + e)
        } else {
            e / (T::ONE + e)
        }
    }

    /// Scalar log-sigmoid, `min(x, 0) - log1p(exp(-|x|))`.
    pub fn log_sigmoid<T: Float>(x: T) -> T {
        if x.is_nan() {
            return x;
        }
        let m = if x < T::ZERO { x } else { T::ZERO };
        m - (-x.abs()).exp().ln_1p()
    }

    /// Scalar derivative of the log-sigmoid, `σ(-x)` from `exp(-|x|)`.
    pub fn log_sigmoid_derivative<T: Float>(x: T) -> T {
        softplus_derivative(-x, T::ONE)
    }
}
