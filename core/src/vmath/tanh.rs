//! Hyperbolic tangent over lanes, and the small exponential helpers the smooth activations
//! (tanh, softplus, silu/swish, mish) share.

use super::{estrin, splat};
use crate::float::Float;
use crate::lane::Lane;

/// Odd-part coefficients of `tanh` on `|x| < 0.55`: `tanh x = x + x^3 P(x^2)`, Chebyshev
/// fits of `P` (near-minimax; relative error of the approximation 0.09 ULP in f32, 0.05 ULP
/// in f64, coefficient rounding included).
const TANH_P32: [f64; 5] = [
    -0.3333333134651184,
    0.13333113491535187,
    -0.05390942841768265,
    0.021309388801455498,
    -0.00661022774875164,
];
const TANH_P64: [f64; 11] = [
    -0.3333333333333333,
    0.13333333333332714,
    -0.053968253967434016,
    0.021869488493666944,
    -0.008863234397814355,
    0.003592110378689024,
    -0.001455661830100716,
    0.0005889360520074057,
    -0.0002346347410887237,
    8.511313685577672e-05,
    -2.060276537636634e-05,
];

/// Hyperbolic tangent, odd, with relative accuracy everywhere (measured ≤ 1.6 ULP in f32 and
/// f64, within the 2 ULP budget; see `tests/tests/tanh.rs`).
///
/// Two forms, both free of cancellation, chosen per lane:
/// - `|x| < 0.55`: the odd polynomial `x + x^3 P(x^2)`; the correction term is below a tenth
///   of `x`, so the result carries little more than the final addition's rounding (an
///   `expm1`-based `t / (t + 2)` here inherits `expm1`'s error and measured 2.1 ULP);
/// - `|x| >= 0.55`: `tanh|x| = 1 - 2E / (1 + E)` with `2E = exp(-2|x|) · 2` rounded once and
///   the rounding of `1 + E` corrected (Fast2Sum); the subtracted term is at most `0.5`, so
///   its error reaches the result at most halved.
///
/// The sign is restored by `copysign`, so `tanh(-0) = -0`; `tanh(±inf) = ±1`, NaN gives NaN.
#[inline(always)]
pub fn tanh<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let a = x.abs();
    // tanh rounds to 1 beyond 9.01 (f32) / 19.06 (f64); the clamp keeps exp(-2|x|) in the
    // normal range (2 · 22 < 87), where `exp_plain` needs no special-value handling.
    let ac = a.min(splat::<L>(22.0));
    let z = ac * ac;
    let p = if <L::Scalar as Float>::MANTISSA_DIGITS <= 24 {
        estrin(z, &TANH_P32)
    } else {
        estrin(z, &TANH_P64)
    };
    let small = (ac * z).mul_add(p, ac);
    // Large |x|: 1 - 2E/(1+E), E = exp(-2|x|) <= 0.333; d + eerr = 1 + E exactly.
    let e = super::exp_plain(-(ac + ac));
    let d = one + e;
    let eerr = (one - d) + e;
    let w = (e + e) / d;
    // 2E/(d + eerr) = w (1 - eerr/d) to first order; 1/d = 1 - w/2 to full precision, so
    // the correction needs no second division.
    let inv = (-w).mul_add(splat::<L>(0.5), one);
    let w = (-w).mul_add(eerr * inv, w);
    let large = one - w;
    let r = L::select(ac.lt(splat::<L>(0.55)), small, large);
    let r = r.copysign(x);
    L::select(x.is_nan(), x, r)
}

/// `exp(hi + lo) · 2^k` with a single final rounding at the scaled magnitude: measured
/// like [`super::exp`] (≤ 1 ULP), for integer-valued `k` with `|k| <= 2 bias` (`k` only
/// joins the exponent `n + k`, which must stay an exact integer; swish's tail uses up to
/// 248 in f32 and 2040 in f64), finite `lo`
/// with `|lo| <= ulp(hi)` (and `|lo| <= 1` for `|hi| > 2000`, where `hi` is clamped), and `hi` finite (a NaN `hi` gives an unspecified finite value:
/// callers restore NaN). Results beyond the type's range are `0` or `+inf`.
///
/// The low part enters the reduced argument (`r = hi - n ln2 + lo`) rather than a final
/// `exp(hi) · (1 + lo)` (which costs one more rounding), and the scale `2^k` joins the
/// exponent before the two-step scaling, so a result that is normal while `exp(hi + lo)`
/// alone would be subnormal is rounded once, at its own magnitude. This is what lets
/// `x · exp(x)` tails (silu, mish and their derivatives), `e^(βx)/β` (softplus) and
/// `4 exp(-2|x|)` (tanh') keep their relative accuracy where `exp` alone underflows.
#[inline(always)]
pub(crate) fn exp_scaled<L: Lane>(hi: L, lo: L, k: L) -> L {
    let c = <L::Scalar as Float>::VM;
    let one = L::splat(<L::Scalar as Float>::ONE);
    // Beyond |hi| = 2000 the result is 0 or inf for every k allowed; the clamp keeps the
    // reduction finite (n ln2_hi is no longer exact there, which no longer matters).
    let hc = hi.max(splat::<L>(-2000.0)).min(splat::<L>(2000.0));
    let n = (hc * L::splat(c.log2e)).round();
    let r = (-n).mul_add(L::splat(c.ln2_hi), hc);
    let r = (-n).mul_add(L::splat(c.ln2_lo), r + lo);
    // Same polynomial and evaluation order as `exp`, so that both give the same bits where
    // `lo = 0` and no scaling beyond `2^n` is needed (kernels rely on it for their short paths).
    let q = (r * r).mul_add(estrin(r, c.expm1_poly), r);
    let p = q + one;
    // n + k clamped to where 2^(n+k) · p is 0 (below) or inf (above) anyway, then applied in
    // two halves so that each factor is a normal power of two and only the last product
    // rounds (into the subnormals if need be).
    let bias = L::splat(c.bias);
    let nmax = bias + splat::<L>(3.0);
    let nmin = -(bias + splat::<L>(f64::from(<L::Scalar as Float>::MANTISSA_DIGITS) + 2.0));
    let nt = (n + k).max(nmin).min(nmax);
    let half = splat::<L>(0.5);
    let n1 = (nt * half).floor();
    let n2 = nt - n1;
    p * L::pow2i(n1) * L::pow2i(n2)
}

/// A double-word constant `hi + lo` (given as an f64 pair) in the lane's precision: the
/// high part rounded, the low part the rounded remainder.
#[inline(always)]
pub(crate) fn splat_dd<L: Lane>(hi: f64, lo: f64) -> (L, L) {
    let h = <L::Scalar as Float>::from_f64(hi);
    let l = <L::Scalar as Float>::from_f64((hi - h.to_f64()) + lo);
    (L::splat(h), L::splat(l))
}

/// `(nh + nl) / (dh + dl)` for a double-word numerator and denominator (`|nl| <= ulp(nh)`,
/// `|dl| <= ulp(dh)`): the quotient's own rounding error is recovered with an exact
/// product and folded back, so the result carries about one rounding (0.5 ULP plus
/// second-order terms) instead of one per operation. `dh` and `q · dh` must stay well
/// inside the normal range (no exact product otherwise).
#[inline(always)]
pub(crate) fn div_dd<L: Lane>(nh: L, nl: L, dh: L, dl: L) -> L {
    let q = nh / dh;
    let (ph, pl) = L::two_prod(q, dh);
    q + ((((nh - ph) - pl) + nl) - q * dl) / dh
}

/// `(nh + nl) / (d + err)²` (for `d + err = 1 + E` from Fast2Sum): the square is formed
/// exactly and the division goes through [`div_dd`].
#[inline(always)]
pub(crate) fn div_dd_sq<L: Lane>(nh: L, nl: L, d: L, err: L) -> L {
    let (sh, sl) = L::two_prod(d, d);
    let sl = (d + d).mul_add(err, sl);
    div_dd(nh, nl, sh, sl)
}

/// TwoSum: `(s, e)` with `s = fl(a + b)` and `s + e = a + b` exactly.
#[inline(always)]
pub(crate) fn two_sum<L: Lane>(a: L, b: L) -> (L, L) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// [`Lane::two_prod`] that stays exact for operands beyond `2^64` in magnitude: without FMA
/// the Veltkamp split overflows above `MAX / 4097` (f32) / `MAX / 134217729` (f64), so such
/// operands are scaled by `2^-64` first and the parts scaled back (exact unless the product
/// itself overflows or the low part underflows, where callers drop the low part anyway).
#[inline(always)]
pub(crate) fn two_prod_wide<L: Lane>(a: L, b: L) -> (L, L) {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let lim = splat::<L>(18446744073709551616.0);
    let down = splat::<L>(5.421010862427522e-20);
    let ha = a.abs().gt(lim);
    let hb = b.abs().gt(lim);
    let (h, l) = L::two_prod(L::select(ha, a * down, a), L::select(hb, b * down, b));
    let sa = L::select(ha, lim, one);
    let sb = L::select(hb, lim, one);
    (h * sa * sb, l * sa * sb)
}
