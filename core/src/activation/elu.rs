//! The exponential linear units: `elu` (`alpha`), `selu` (fixed constants) and `celu`
//! (`alpha`), with derivatives.
//!
//! For `x <= 0` each is `a * expm1(t)` (`a = alpha`, `t = x`; `a = λα`, `t = x`;
//! `a = alpha`, `t = x / alpha`). `expm1` keeps tiny negative `x` relatively accurate where
//! `exp(x) - 1` returns 0, but rounding `expm1(t)` first and multiplying by `a` afterwards
//! costs up to about 3.5 ULP (1.65 ULP of `expm1`, doubled at a binade boundary, plus the
//! product). So the kernels here evaluate `expm1(t)` as an unevaluated pair `h + lo` (range
//! reduction with a three-part `ln 2`, the quadratic term by an exact product, the rest by
//! the polynomial of [`crate::vmath`]), multiply by `a` with an exact product, and round
//! once. The scale factor `2^n` of the reduction and the binary exponent of `a` are applied
//! at the very end in two steps, so neither a huge `alpha` nor a huge `exp(t)` overflows an
//! intermediate, and results below the normal range are rounded once into the subnormals.
//! `celu`'s quotient `x / alpha` is carried with its rounding error (`q + ql = x / alpha`
//! to twice the working precision), which would otherwise cost up to `|t|` ULP.
//!
//! The derivatives are `a * exp(t)` through the same machinery.

use crate::driver;
use crate::error::{Error, check_finite, check_nonzero};
use crate::float::Float;
use crate::lane::Lane;
use crate::lanes;
use crate::vmath::splat;

/// SELU's scale `λ` (Klambauer et al. 2017), to the digits PyTorch documents:
/// `1.0507009873554804934193349852946`. The kernels use it to twice the working precision.
pub const SELU_LAMBDA: f64 = 1.0507009873554804934193349852946;

/// SELU's `α` (Klambauer et al. 2017), to the digits PyTorch documents:
/// `1.6732632423543772848170429916717`. The kernels use `λα` to twice the working precision.
pub const SELU_ALPHA: f64 = 1.6732632423543772848170429916717;

/// `λ` as an unevaluated f64 pair (hi, lo).
const LAMBDA_DD: (f64, f64) = (1.0507009873554805, 3.9874847667154144e-17);
/// `λα = 1.758099340847376859940217520812...` as an unevaluated f64 pair.
const LAMBDA_ALPHA_DD: (f64, f64) = (1.7580993408473768, 1.41535193800845e-17);

/// A constant given as an f64 pair, split into a pair of `T` (`hi` the nearest `T`).
#[inline(always)]
fn dd_const<T: Float>(c: (f64, f64)) -> (T, T) {
    let hi = T::from_f64(c.0);
    (hi, T::from_f64((c.0 - hi.to_f64()) + c.1))
}

/// `ln 2` in three parts: `n * hi` is exact for the exponents the reduction meets
/// (`|n| < 2^12` in f32, `2^32` in f64), `mid` carries the next `p` bits, `lo` the rest.
#[inline(always)]
fn ln2_parts<T: Float>() -> (T, T, T) {
    if T::MANTISSA_DIGITS <= 24 {
        (
            T::from_f64(0.693115234375),
            T::from_f64(3.194618329871446e-05),
            T::from_f64(1.6465949697480609e-12),
        )
    } else {
        (
            T::from_f64(6.93147180369123816490e-01),
            T::from_f64(1.90821492927058770002e-10),
            T::from_f64(1.1612227229362532e-26),
        )
    }
}

/// A scale factor `a` split as `m * 2^k` with `|m|` in `[1, 2)` (or `m = 0`), `m_lo`
/// carrying the factor's second half when it is given to twice the precision, and
/// `inv1 * inv2 = 2^-k` (two normal factors), and `recip` the rounded `1/m`.
#[derive(Clone, Copy)]
struct Scale<L: Lane> {
    m: L,
    m_lo: L,
    k: L,
    inv1: L,
    inv2: L,
    recip: L,
}

/// The scalars of a [`Scale`], computed once per call and splatted in the kernel.
#[derive(Clone, Copy)]
struct ScaleParts<T> {
    m: T,
    m_lo: T,
    k: T,
    inv1: T,
    inv2: T,
    recip: T,
}

impl<T: Float> ScaleParts<T> {
    /// Splits a finite scalar `a` (exactly: only the exponent changes).
    fn new(a: T, a_lo: T) -> Self {
        let (f, e) = libm::frexp(a.to_f64());
        let k = if f == 0.0 { 0 } else { e - 1 };
        let s = libm::ldexp(1.0, -k);
        let k1 = -k / 2;
        let t = T::from_f64;
        ScaleParts {
            m: t(f * 2.0),
            m_lo: t(a_lo.to_f64() * s),
            k: t(k as f64),
            inv1: t(libm::ldexp(1.0, k1)),
            inv2: t(libm::ldexp(1.0, -k - k1)),
            recip: if f == 0.0 { T::ZERO } else { t(0.5 / f) },
        }
    }

    #[inline(always)]
    fn lanes<L: Lane<Scalar = T>>(self) -> Scale<L> {
        Scale {
            m: L::splat(self.m),
            m_lo: L::splat(self.m_lo),
            k: L::splat(self.k),
            inv1: L::splat(self.inv1),
            inv2: L::splat(self.inv2),
            recip: L::splat(self.recip),
        }
    }
}

impl<L: Lane> Scale<L> {
    /// Splits a finite scalar `a` (exactly: only the exponent changes).
    fn new(a: L::Scalar, a_lo: L::Scalar) -> Self {
        ScaleParts::new(a, a_lo).lanes()
    }

    /// A factor already in `[1, 2)`, given to twice the precision.
    fn unit(m: L::Scalar, m_lo: L::Scalar) -> Self {
        let one = L::splat(<L::Scalar as Float>::ONE);
        Scale {
            m: L::splat(m),
            m_lo: L::splat(m_lo),
            k: L::splat(<L::Scalar as Float>::ZERO),
            inv1: one,
            inv2: one,
            recip: L::splat(<L::Scalar as Float>::ONE / m),
        }
    }
}

#[inline(always)]
fn two_sum<L: Lane>(a: L, b: L) -> (L, L) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[inline(always)]
fn fast_two_sum<L: Lane>(a: L, b: L) -> (L, L) {
    let s = a + b;
    (s, b - (s - a))
}

/// Range reduction and `expm1` of the reduced argument, for `t = t_hi + t_lo` clamped to
/// `[t_min, t_max]`: returns `(n, s, l)` with `t = n ln2 + r` and `expm1(r) = s + l` to
/// about `2^-(p+8)` relative.
#[inline(always)]
fn exp_parts<L: Lane>(t_hi: L, t_lo: L, t_min: f64, t_max: f64) -> (L, L, L) {
    let vm = <L::Scalar as Float>::VM;
    let (hi, mid, lo) = ln2_parts::<L::Scalar>();
    let t = t_hi.max(splat::<L>(t_min)).min(splat::<L>(t_max));
    // A clamped argument drops its low part (which may be huge: celu's quotient error).
    let t_lo = L::select(t.eq(t_hi), t_lo, splat::<L>(0.0));
    let n = (t * L::splat(vm.log2e)).round();
    // t - n hi is exact (n hi is exact and within a factor 2 of t when n != 0).
    let a = (-n).mul_add(L::splat(hi), t);
    let (b, bl) = L::two_prod(n, L::splat(mid));
    let (r, e) = two_sum(a, -b);
    let r_lo = ((e - bl) - n * L::splat(lo)) + t_lo;
    // expm1(r + r_lo) = r + r^2/2 + r^3 Q(r) + r_lo (1 + expm1(r)): the linear and quadratic
    // terms exactly, the cubic tail (below 2% of the result) in working precision.
    let (q, ql) = L::two_prod(r, r);
    let half = splat::<L>(0.5);
    let (s, e2) = fast_two_sum(r, q * half);
    let tail = (q * r) * crate::vmath::estrin(r, vm.expm1_poly.get(1..).unwrap_or(&[]));
    // r_lo (which holds celu's quotient error, up to half an ULP of t) enters through
    // e^r r_lo = r_lo + r_lo expm1(r), with the cubic tail included in expm1(r).
    let l = e2 + (r_lo + (ql.mul_add(half, r_lo * (s + tail)) + tail));
    (n, s, l)
}

/// `m * 2^e` for integer-valued `e`, scaled in two steps so that `e` may reach twice the
/// exponent range: the result is rounded once (into the subnormals, or to `inf`).
#[inline(always)]
fn scale2<L: Lane>(m: L, e: L) -> L {
    let vm = <L::Scalar as Float>::VM;
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    let bias = vm.bias.to_f64();
    let e = e
        .max(splat::<L>(-(bias + p + 2.0)))
        .min(splat::<L>(2.0 * bias));
    let e1 = (e * splat::<L>(0.5)).floor();
    m * L::pow2i(e1) * L::pow2i(e - e1)
}

/// `a * (h + lo)` rounded once, `a = sc.m + sc.m_lo` (before the `2^k` scaling).
#[inline(always)]
fn mul_scale<L: Lane>(sc: Scale<L>, h: L, lo: L) -> L {
    let (p, pl) = L::two_prod(sc.m, h);
    p + (pl + sc.m.mul_add(lo, sc.m_lo * h))
}

/// `a * exp(t)` for `t = t_hi + t_lo`, `a` given as a [`Scale`]; one final rounding.
#[inline(always)]
fn scaled_exp<L: Lane>(t_hi: L, t_lo: L, sc: Scale<L>) -> L {
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    let bias = <L::Scalar as Float>::VM.bias.to_f64();
    let lim = (2.0 * bias + p + 3.0) * core::f64::consts::LN_2;
    let (n, s, l) = exp_parts(t_hi, t_lo, -lim, lim);
    let one = splat::<L>(1.0);
    let (h, e) = fast_two_sum(one, s);
    let m = mul_scale(sc, h, e + l);
    // Beyond the clamps the exponent passed on still saturates scale2: +-inf above (0 for
    // a = 0), 0 below.
    scale2(m, n + sc.k)
}

/// `a * expm1(t)` for `t = t_hi + t_lo` with `|t| >= 2^-(p+2)`, `a` a [`Scale`]; one final
/// rounding (two for results below the normal range).
#[inline(always)]
fn scaled_expm1<L: Lane>(t_hi: L, t_lo: L, sc: Scale<L>) -> L {
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    let bias = <L::Scalar as Float>::VM.bias.to_f64();
    let ln2 = core::f64::consts::LN_2;
    // Below -(p+6) ln2, expm1 is -1 + e^t with e^t under 2^-(p+6): clamping there costs
    // at most 1/64 ULP.
    let t_min = -(p + 6.0) * ln2;
    let t_max = (2.0 * bias + p + 3.0) * ln2;
    let (n, s, l) = exp_parts(t_hi, t_lo, t_min, t_max);
    let one = splat::<L>(1.0);
    // n <= p + 5: expm1(t) = (2^n - 1) + 2^n (s + l), both sums error-free (2^n - 1 is
    // exact and never cancels badly against 2^n s, which is at most 0.42 * 2^n).
    let nb = splat::<L>(p + 5.0);
    let u = L::pow2i(n.min(nb));
    let (h0, e0) = two_sum(u, -one);
    let (h, e1) = two_sum(h0, u * s);
    let lo = (e0 + e1) + u * l;
    let m_small = mul_scale(sc, h, lo);
    // n > p + 5: the -1 is below 2^-(p+5) of the result; use 2^n (1 + s + l), scaled at the
    // end so that a small alpha can bring a huge exp(t) back into range.
    let (hb, eb) = fast_two_sum(one, s);
    let m_big = mul_scale(sc, hb, eb + l);
    let large = n.gt(nb);
    let m = L::select(large, m_big, m_small);
    let e = L::select(large, n + sc.k, sc.k);
    // Above t_max the exponent saturates scale2 to +-inf (0 for a = 0).
    scale2(m, e)
}

/// Threshold below which `a * expm1(t)` is evaluated as `a t (1 + t/2)`.
#[inline(always)]
fn tiny_threshold<L: Lane>() -> L {
    let p = <L::Scalar as Float>::MANTISSA_DIGITS as i32;
    splat::<L>(crate::vmath::pow2(-(p + 2)))
}

/// Lane kernel of [`elu`]; `alpha` split by [`Scale::new`], `alpha_l` the plain value.
#[inline(always)]
fn elu_lane_impl<L: Lane>(x: L, alpha_l: L, sc: Scale<L>) -> L {
    let zero = splat::<L>(0.0);
    let neg = scaled_expm1(x, zero, sc);
    // Tiny |x|: expm1(x) = x (1 + x/2) to far below an ULP, and alpha x is a single product
    // (no exponent games in the subnormal range).
    let ax = alpha_l * x;
    let tiny = ax.mul_add(x * splat::<L>(0.5), ax);
    let r = L::select(x.abs().lt(tiny_threshold()), tiny, neg);
    // elu(±0) = alpha * ±0 (the sum above would lose the sign of a zero).
    let r = L::select(x.eq(zero), ax, r);
    let r = L::select(x.gt(zero), x, r);
    L::select(x.is_nan(), x, r)
}

/// Whether [`elu`] may take its short path for this `alpha`: `alpha 2^n` must be exact for
/// `n` in `[-p, 0]` and no product may overflow.
#[inline(always)]
fn elu_short_alpha<T: Float>(alpha: T) -> bool {
    let a = alpha.to_f64().abs();
    (libm::ldexp(1.0, -60)..=libm::ldexp(1.0, 60)).contains(&a)
}

/// [`elu_lane_impl`] with a short path for lanes with `x > -p ln2` (`-16.6` in f32, `-36.7`
/// in f64: all of a typical input): there `expm1(x) = 2^n q + (2^n - 1)` with `2^n - 1`
/// exact, and `alpha expm1(x) = h + (alpha 2^n q + l)` with `h + l = alpha (2^n - 1)` an
/// exact product and `alpha 2^n` exact (the caller checks `alpha` with [`elu_short_alpha`]):
/// one rounding of the small term, one final rounding (measured ≤ 1.2 ULP). Other lanes
/// (the far tail, NaN) take the general form; a vector without them skips it.
#[inline(always)]
fn elu_lane_short<L: Lane>(x: L, alpha_l: L, sc: Scale<L>) -> L {
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    let ok = x.gt(splat::<L>(-p * core::f64::consts::LN_2));
    if L::all(ok) {
        elu_short(x, alpha_l)
    } else {
        L::select(ok, elu_short(x, alpha_l), elu_lane_impl(x, alpha_l, sc))
    }
}

#[inline(always)]
fn elu_short<L: Lane>(x: L, alpha: L) -> L {
    let zero = splat::<L>(0.0);
    let one = splat::<L>(1.0);
    let (n, q) = crate::vmath::reduce_expm1(x.min(zero));
    let s = L::pow2i(n);
    let (h, l) = L::two_prod(alpha, s - one);
    let r = h + (alpha * s).mul_add(q, l);
    // elu(±0) = alpha * ±0 (the sum above would lose the sign of a zero).
    let r = L::select(x.eq(zero), alpha * x, r);
    L::select(x.gt(zero), x, r)
}

/// Lane kernel of [`elu`] (the slice entry points split `alpha` once per call and use
/// the same code).
#[allow(dead_code)]
#[inline(always)]
pub(crate) fn elu_lane<L: Lane>(x: L, alpha: L::Scalar) -> L {
    elu_lane_impl(
        x,
        L::splat(alpha),
        Scale::new(alpha, <L::Scalar as Float>::ZERO),
    )
}

/// Lane kernel of [`elu_derivative`].
#[allow(dead_code)]
#[inline(always)]
pub(crate) fn elu_derivative_lane<L: Lane>(x: L, alpha: L::Scalar) -> L {
    elu_derivative_impl(x, Scale::new(alpha, <L::Scalar as Float>::ZERO))
}

/// [`elu_derivative_impl`] with a short form for lanes with `x > -p ln2` (as
/// [`elu_lane_short`], whose check of `alpha` the caller makes): `alpha e^x` from
/// [`exp_times_short`], chosen per lane.
#[inline(always)]
fn elu_derivative_short<L: Lane>(x: L, alpha: L, sc: Scale<L>) -> L {
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    let ok = x.gt(splat::<L>(-p * core::f64::consts::LN_2));
    let zero = splat::<L>(0.0);
    let r = if L::all(ok) {
        exp_times_short(x, alpha, zero)
    } else if L::none(ok) {
        return elu_derivative_impl(x, sc);
    } else {
        L::select(
            ok,
            exp_times_short(x, alpha, zero),
            elu_derivative_impl(x, sc),
        )
    };
    // x > 0 (the general form's lanes too: it gives 1 there as well).
    L::select(x.gt(zero), splat::<L>(1.0), r)
}

#[inline(always)]
fn elu_derivative_impl<L: Lane>(x: L, sc: Scale<L>) -> L {
    let zero = splat::<L>(0.0);
    let r = scaled_exp(x, zero, sc);
    let r = L::select(x.gt(zero), splat::<L>(1.0), r);
    L::select(x.is_nan(), x, r)
}

/// Lane kernel of [`selu`]: the short form where every lane allows it (`x > -p ln2`, `|x|`
/// at or above the tiny threshold and below `2^(bias/2)`: all of a typical input), otherwise
/// the general form for the lanes that need it (the choice depends on each lane's own
/// value, so results stay position independent).
#[inline(always)]
pub(crate) fn selu_lane<L: Lane>(x: L) -> L {
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    let ok = x
        .gt(splat::<L>(-p * core::f64::consts::LN_2))
        .and(x.abs().ge(tiny_threshold()))
        .and(x.lt(splat::<L>(crate::vmath::pow2(
            crate::vmath::half_bias::<L>(),
        ))));
    if L::all(ok) {
        return selu_short(x);
    }
    let general = selu_general(x);
    if L::none(ok) {
        general
    } else {
        L::select(ok, selu_short(x), general)
    }
}

/// The short form of [`selu_lane`], as [`elu_short`] with the double-word factor `λα` and
/// a double-word `q`: `x <= 0`: `λα expm1(x) = h + (λα_hi 2^n (qh + ql) + l + λα_lo
/// expm1(x))` with `h + l` the exact product `λα_hi (2^n - 1)` and `λα_hi 2^n` exact, the
/// low factor's term (below `2^-p` of the result) in working precision; `x > 0`: `λ x` as
/// the exact product plus `λ_lo x`.
#[inline(always)]
fn selu_short<L: Lane>(x: L) -> L {
    let zero = splat::<L>(0.0);
    let one = splat::<L>(1.0);
    let (la, la_lo) = dd_const::<L::Scalar>(LAMBDA_ALPHA_DD);
    let (lh, ll) = dd_const::<L::Scalar>(LAMBDA_DD);
    let (la, la_lo) = (L::splat(la), L::splat(la_lo));
    // expm1 of the reduced argument as qh + ql: with n = 0 (|x| < 0.35) the result is
    // λα q, and a rounded q would cost up to 0.9 ULP of it (λα = 1.76 doubles q's error
    // while the result stays in q's binade).
    let (n, qh, ql) = reduce_expm1_dw(x.min(zero));
    let s = L::pow2i(n);
    let sm1 = s - one;
    let (h, l) = L::two_prod(la, sm1);
    let las = la * s;
    let low = las.mul_add(ql, la_lo.mul_add(s.mul_add(qh, sm1), l));
    let neg = if L::HAS_FMA {
        h + las.mul_add(qh, low)
    } else {
        // Without a fused multiply-add, λα 2^n qh is made exact by hand and added to h
        // exactly (Fast2Sum: where h != 0, |h| is over twice |λα 2^n qh|), so that only the
        // small terms and the final sum round (unfused, this form measured 2.01 ULP).
        let (ph, pl) = L::two_prod(las, qh);
        let (a, ae) = fast_two_sum(h, ph);
        a + (ae + (pl + low))
    };
    let (lh, ll) = (L::splat(lh), L::splat(ll));
    let (ph, pl) = L::two_prod(lh, x);
    let pos = ph + ll.mul_add(x, pl);
    L::select(x.gt(zero), pos, neg)
}

/// The general form of [`selu_lane`]: tails, tiny and huge `|x|`, ±0 and NaN.
#[inline(always)]
fn selu_general<L: Lane>(x: L) -> L {
    let zero = splat::<L>(0.0);
    let (la, la_lo) = dd_const::<L::Scalar>(LAMBDA_ALPHA_DD);
    let (lh, ll) = dd_const::<L::Scalar>(LAMBDA_DD);
    let neg = scaled_expm1(x, zero, Scale::unit(la, la_lo));
    let pos_x = x.gt(zero);
    // x > 0: λ x with λ to twice the precision: the exact product plus λ_lo x, one final
    // rounding.
    // Above 2^(bias/2) the product is formed on x 2^-K and scaled back (exactly), so that
    // the split of a non-fused exact product cannot overflow.
    let kbig = crate::vmath::half_bias::<L>();
    let big = x.gt(splat::<L>(crate::vmath::pow2(kbig)));
    let xp = L::select(big, x * splat::<L>(crate::vmath::pow2(-kbig)), x);
    let (lh, ll) = (L::splat(lh), L::splat(ll));
    let (p, pl) = L::two_prod(lh, xp);
    let pos = p + (pl + ll * xp);
    // At +inf the split gives NaN: keep the plain product there.
    let pos = L::select(pos.is_nan(), p, pos);
    let pos = L::select(big, pos * splat::<L>(crate::vmath::pow2(kbig)), pos);
    // Tiny |x|, either sign: c x (1 + [x < 0] x/2) with c = λ or λα, computed on x scaled by
    // 2^(2p) so that the exact product's low part does not underflow, then scaled back
    // (exact for normal results, one rounding into the subnormals).
    let pd = <L::Scalar as Float>::MANTISSA_DIGITS as i32;
    let up = splat::<L>(crate::vmath::pow2(2 * pd));
    let down = splat::<L>(crate::vmath::pow2(-2 * pd));
    let xs = x * up;
    let ch = L::select(pos_x, lh, L::splat(la));
    let cl = L::select(pos_x, ll, L::splat(la_lo));
    let (tp, tpl) = L::two_prod(ch, xs);
    let quad = L::select(pos_x, zero, tp * (x * splat::<L>(0.5)));
    let tiny = (tp + (tpl + cl.mul_add(xs, quad))) * down;
    let r = L::select(pos_x, pos, neg);
    let r = L::select(x.abs().lt(tiny_threshold()), tiny, r);
    // ±0 (and NaN) come through: selu(±0) = ±0.
    L::select(x.eq(zero).or(x.is_nan()), x, r)
}

/// Lane kernel of [`selu_derivative`].
#[inline(always)]
pub(crate) fn selu_derivative_lane<L: Lane>(x: L) -> L {
    let zero = splat::<L>(0.0);
    let (la, la_lo) = dd_const::<L::Scalar>(LAMBDA_ALPHA_DD);
    // Short form where `e^x` is a normal number (all of a typical input; NaN fails the
    // test), chosen per lane (position independent); the general form for the others.
    let bias = <L::Scalar as Float>::VM.bias.to_f64();
    let ok = x.ge(splat::<L>(-(bias - 2.0) * core::f64::consts::LN_2));
    // (No closure for the short form: it could be compiled out of line, without the
    // AVX2 target features.)
    let (lah, lal) = (L::splat(la), L::splat(la_lo));
    let r = if L::all(ok) {
        exp_times_short(x, lah, lal)
    } else {
        let general = scaled_exp(x, zero, Scale::unit(la, la_lo));
        if L::none(ok) {
            general
        } else {
            L::select(ok, exp_times_short(x, lah, lal), general)
        }
    };
    let lambda = L::splat(dd_const::<L::Scalar>(LAMBDA_DD).0);
    let r = L::select(x.gt(zero), lambda, r);
    L::select(x.is_nan(), x, r)
}

/// Cody–Waite reduction `x = n ln2 + r` and `expm1(r) = qh + ql` with the rounding of
/// `r + r^2 P(r)` kept in `ql` (the short forms of selu, selu' and elu').
#[inline(always)]
fn reduce_expm1_dw<L: Lane>(x: L) -> (L, L, L) {
    let vm = <L::Scalar as Float>::VM;
    let n = (x * L::splat(vm.log2e)).round();
    let r = (-n).mul_add(L::splat(vm.ln2_hi), x);
    let r = (-n).mul_add(L::splat(vm.ln2_lo), r);
    let (qh, ql) = fast_two_sum(r, (r * r) * crate::vmath::estrin(r, vm.expm1_poly));
    (n, qh, ql)
}

/// `(a_hi + a_lo) e^x` for `x <= 0` (positive `x` are replaced by the callers) with `e^x`
/// and `a_hi 2^n` normal: `a_hi 2^n (1 + qh + ql) + a_lo e^x`, the products by `2^n`
/// exact, the sum rounded twice (the second term is at most 0.42 of the first). selu' (with
/// `a = λα` to twice the precision) and elu' (exact `alpha`, `a_lo = 0`) take it for
/// ordinary inputs.
#[inline(always)]
fn exp_times_short<L: Lane>(x: L, a_hi: L, a_lo: L) -> L {
    let zero = splat::<L>(0.0);
    let (n, qh, ql) = reduce_expm1_dw(x.min(zero));
    let s = L::pow2i(n);
    let las = a_hi * s;
    let low = las.mul_add(ql, (a_lo * s) * (qh + splat::<L>(1.0)));
    las + las.mul_add(qh, low)
}

/// `x / alpha` as `q + ql` to twice the precision (`ql = 0` where `q` is not finite).
/// Computed as `(x 2^-k) / m` with `alpha = m 2^k`: the exact product `q m` then never
/// underflows, even for a subnormal `alpha`; where `x 2^-k` itself underflows, `|q|` is far
/// below the tiny threshold and only `q` is used.
#[inline(always)]
fn celu_quotient<L: Lane>(x: L, sc: Scale<L>) -> (L, L) {
    let xs = x * sc.inv1 * sc.inv2;
    let q = xs / sc.m;
    let (p, pl) = L::two_prod(q, sc.m);
    // The remainder is exact and the low part only needs a few bits: a product with the
    // rounded reciprocal (relative error 2^-p of a term below half an ULP of q) replaces a
    // second division.
    let ql = ((xs - p) - pl) * sc.recip;
    let ql = L::select(ql.is_nan().or(ql.is_inf()), splat::<L>(0.0), ql);
    (q, ql)
}

/// Lane kernel of [`celu`] (the slice entry points split `alpha` once per call).
#[allow(dead_code)]
#[inline(always)]
pub(crate) fn celu_lane<L: Lane>(x: L, alpha: L::Scalar) -> L {
    celu_lane_impl(x, Scale::new(alpha, <L::Scalar as Float>::ZERO))
}

#[inline(always)]
fn celu_lane_impl<L: Lane>(x: L, sc: Scale<L>) -> L {
    let zero = splat::<L>(0.0);
    let (q, ql) = celu_quotient(x, sc);
    let neg = scaled_expm1(q, ql, sc);
    // Tiny |x/alpha|: alpha expm1(x/alpha) = x (1 + x/(2 alpha)) to far below an ULP.
    let tiny = x.mul_add(q * splat::<L>(0.5), x);
    let r = L::select(q.abs().lt(tiny_threshold()), tiny, neg);
    // celu(±0) = ±0 for either sign of alpha; x > 0 gives x.
    let r = L::select(x.gt(zero).or(x.eq(zero)), x, r);
    L::select(x.is_nan(), x, r)
}

/// [`celu_lane_impl`] with a short form for the lanes whose quotient `q = x / alpha` lies
/// in `(-p ln2, 0]` (for `alpha = 1`, `x > -16.6` in f32, `-36.7` in f64): there, with
/// `q + ql` the quotient to twice the precision and `q = n ln2 + r`,
/// `alpha expm1(q + ql) = alpha (2^n - 1) + alpha 2^n expm1(r) + alpha 2^n ql e^r`, where
/// `alpha (2^n - 1)` is an exact product, `alpha 2^n` is exact (the caller checks `alpha` with
/// [`elu_short_alpha`]) and the quotient's error `ql` enters to first order: [`elu_short`]'s
/// two roundings and nothing of the quotient's. Lanes with `x >= 0` give `x` on either
/// path. Other lanes (the far tail, `x < 0` with a negative `alpha`, NaN) take the general
/// form; a vector without them skips it.
#[inline(always)]
fn celu_lane_short<L: Lane>(x: L, alpha: L, sc: Scale<L>) -> L {
    let zero = splat::<L>(0.0);
    let (q, ql) = celu_quotient(x, sc);
    let ok = q.gt(short_floor::<L>()).and(q.le(zero)).or(x.ge(zero));
    if L::all(ok) {
        celu_short(x, q, ql, alpha)
    } else {
        L::select(ok, celu_short(x, q, ql, alpha), celu_lane_impl(x, sc))
    }
}

#[inline(always)]
fn celu_short<L: Lane>(x: L, q: L, ql: L, alpha: L) -> L {
    let zero = splat::<L>(0.0);
    let one = splat::<L>(1.0);
    // expm1(r) = qh + qlo with the polynomial's rounding kept (else it is a second
    // rounding of the result where n = 0, measured 1.48 ULP against 0.9 with it).
    let (n, qh, qlo) = reduce_expm1_dw(q.min(zero));
    let s = L::pow2i(n);
    let (h, l) = L::two_prod(alpha, s - one);
    let a_s = alpha * s;
    // e^r = 1 + qh: the quotient's error times it joins the small term's low part.
    let r = h + a_s.mul_add(qh, a_s.mul_add(qlo + ql.mul_add(qh, ql), l));
    // As the general form: tiny quotients (subnormal ones included, whose low part is not
    // exact) use x (1 + q/2), and x >= 0 gives x.
    let tiny = x.mul_add(q * splat::<L>(0.5), x);
    let r = L::select(q.abs().lt(tiny_threshold()), tiny, r);
    L::select(x.gt(zero).or(x.eq(zero)), x, r)
}

/// `-p ln 2`: the lower end of the short forms' argument range (`2^n - 1` exact there).
#[inline(always)]
fn short_floor<L: Lane>() -> L {
    let p = f64::from(<L::Scalar as Float>::MANTISSA_DIGITS);
    splat::<L>(-p * core::f64::consts::LN_2)
}

/// [`celu_derivative_impl`] with a short form for the lanes with `q = x / alpha` in
/// `(-p ln2, 0]` or `x >= 0` (as [`celu_lane_short`], whose check of `alpha` the caller makes):
/// `e^(q + ql) = 2^n (1 + qh + qlo)(1 + ql)` to first order in the quotient's error `ql`,
/// the products by `2^n` exact and the sum rounded twice (the small part is at most 0.42
/// of the result).
#[inline(always)]
fn celu_derivative_short<L: Lane>(x: L, sc: Scale<L>) -> L {
    let zero = splat::<L>(0.0);
    let (q, ql) = celu_quotient(x, sc);
    let ok = q.gt(short_floor::<L>()).and(q.le(zero)).or(x.ge(zero));
    let (n, qh, qlo) = reduce_expm1_dw(q.min(zero));
    let s = L::pow2i(n);
    let low = s * (qlo + ql.mul_add(qh, ql));
    let short = s + s.mul_add(qh, low);
    let short = L::select(x.gt(zero), splat::<L>(1.0), short);
    if L::all(ok) {
        short
    } else {
        L::select(ok, short, celu_derivative_impl(x, sc))
    }
}

/// Lane kernel of [`celu_derivative`] (the slice entry points split `alpha` once per call).
#[allow(dead_code)]
#[inline(always)]
pub(crate) fn celu_derivative_lane<L: Lane>(x: L, alpha: L::Scalar) -> L {
    celu_derivative_impl(x, Scale::new(alpha, <L::Scalar as Float>::ZERO))
}

#[inline(always)]
fn celu_derivative_impl<L: Lane>(x: L, sc: Scale<L>) -> L {
    let zero = splat::<L>(0.0);
    let one = <L::Scalar as Float>::ONE;
    let (q, ql) = celu_quotient(x, sc);
    let r = scaled_exp(q, ql, Scale::unit(one, <L::Scalar as Float>::ZERO));
    let r = L::select(x.gt(zero), splat::<L>(1.0), r);
    L::select(x.is_nan(), x, r)
}

// ---------------------------------------------------------------------------------------

#[inline]
fn check_alpha<T: Float>(alpha: T) -> Result<(), Error> {
    check_finite("alpha", alpha.to_f64())?;
    reject_subnormal(alpha)
}

/// In f64 a subnormal `alpha` breaks the separate carrying of alpha's exponent (the
/// `activations` fuzzer found NaN for `alpha = 5e-324`; every f64 subnormal fails), so it
/// is refused; 0 and normal values are accepted. f32 subnormal alphas are exact and tested.
#[inline]
fn reject_subnormal<T: Float>(alpha: T) -> Result<(), Error> {
    if T::MANTISSA_DIGITS > 24 && alpha != T::ZERO && alpha.abs() < T::MIN_POSITIVE {
        return Err(Error::InvalidParameter {
            name: "alpha",
            value: alpha.to_f64(),
            requirement: "0 or a normal number",
        });
    }
    Ok(())
}

#[inline]
fn check_celu_alpha<T: Float>(alpha: T) -> Result<(), Error> {
    check_nonzero("alpha", alpha.to_f64())?;
    reject_subnormal(alpha)
}

/// Exponential linear unit, `out[i] = x[i]` for `x[i] > 0`, else `alpha * expm1(x[i])`
/// (PyTorch's `elu` with the default `scale = input_scale = 1`; PyTorch's default `alpha`
/// is 1).
///
/// Domain: every value; `alpha` any finite value. `elu(+inf) = +inf`, `elu(-inf) = -alpha`,
/// NaN gives NaN, `elu(-0.0) = alpha * -0.0` (`-0.0` for positive `alpha`); for tiny
/// negative `x` the result is `alpha * x` to full relative accuracy (not 0).
///
/// Accuracy: f32 ≤ 2 ULP, f64 ≤ 2 ULP against `alpha * expm1(x)` evaluated exactly (measured
/// ≤ 0.61 ULP: `expm1` is carried to twice the precision and the product rounded once).
/// Extreme `alpha` (up to `f32::MAX`, down to subnormal) keep the bound.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `alpha` if it is not finite;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written on error.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 3];
/// nonlin::elu(&[2.0, -1e-30, f32::NEG_INFINITY], 1.0, &mut y).unwrap();
/// assert_eq!(y, [2.0, -1e-30, -1.0]);
/// ```
pub fn elu<T: Float>(x: &[T], alpha: T, out: &mut [T]) -> Result<(), Error> {
    check_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        return driver::map(
            x,
            out,
            lanes!([alpha, sc: ScaleParts<T>] |x| elu_lane_short(x, L::splat(alpha), sc.lanes())),
        );
    }
    driver::map(
        x,
        out,
        lanes!([alpha, sc: ScaleParts<T>] |x| elu_lane_impl(x, L::splat(alpha), sc.lanes())),
    )
}

/// [`elu`] in place.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `alpha` if it is not finite (nothing is written).
///
/// # Example
/// ```
/// let mut x = [1.0f64, 0.0];
/// nonlin::elu_inplace(&mut x, 1.0).unwrap();
/// assert_eq!(x, [1.0, 0.0]);
/// ```
pub fn elu_inplace<T: Float>(x: &mut [T], alpha: T) -> Result<(), Error> {
    check_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        driver::map_inplace(
            x,
            lanes!([alpha, sc: ScaleParts<T>] |x| elu_lane_short(x, L::splat(alpha), sc.lanes())),
        );
    } else {
        driver::map_inplace(
            x,
            lanes!([alpha, sc: ScaleParts<T>] |x| elu_lane_impl(x, L::splat(alpha), sc.lanes())),
        );
    }
    Ok(())
}

/// Derivative of [`elu`]: `1` for `x > 0`, else `alpha * exp(x)` (computed directly, not as
/// `elu(x) + alpha`, which cancels).
///
/// Kink: `elu'(0) = alpha` (PyTorch's `elu_backward` uses the `x <= 0` branch at 0).
/// `elu'(-inf) = 0`, NaN gives NaN; results below the normal range are computed.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP (measured ≤ 0.99 ULP on the f32 sweeps of
/// `tests/tests/elu.rs`, 1.07 without a fused multiply-add, 0.82 ULP in f64: ordinary
/// inputs (`x > -p ln 2`, `alpha` within `2^±60`) take a short form that rounds twice; the
/// general form measures ≤ 0.52 ULP for normal results, ≤ 1 ULP for subnormal ones).
///
/// # Errors
/// As [`elu`].
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::elu_derivative(&[0.0, 1.0], 0.5, &mut d).unwrap();
/// assert_eq!(d, [0.5, 1.0]);
/// ```
pub fn elu_derivative<T: Float>(x: &[T], alpha: T, out: &mut [T]) -> Result<(), Error> {
    check_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        return driver::map(
            x,
            out,
            lanes!([alpha, sc: ScaleParts<T>] |x| elu_derivative_short(x, L::splat(alpha), sc.lanes())),
        );
    }
    driver::map(
        x,
        out,
        lanes!([sc: ScaleParts<T>] |x| elu_derivative_impl(x, sc.lanes())),
    )
}

/// Backward pass of [`elu`]: `grad_in[i] = grad_out[i] * elu'(x[i])`, from the forward
/// *input* `x`. Accuracy: that of [`elu_derivative`] plus one rounding.
///
/// # Errors
/// As [`elu`], with `grad_out` and `grad_in` checked against `x`'s length.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 2];
/// nonlin::elu_backward(&[0.0, 3.0], &[4.0, 4.0], 0.5, &mut g).unwrap();
/// assert_eq!(g, [2.0, 4.0]);
/// ```
pub fn elu_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    alpha: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    check_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        return driver::map2(
            x,
            grad_out,
            "grad_out",
            grad_in,
            "grad_in",
            lanes!([alpha, sc: ScaleParts<T>] |x, g| g
                * elu_derivative_short(x, L::splat(alpha), sc.lanes())),
        );
    }
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!([sc: ScaleParts<T>] |x, g| g * elu_derivative_impl(x, sc.lanes())),
    )
}

/// Scaled ELU, `out[i] = λ x[i]` for `x[i] > 0`, else `λ α expm1(x[i])`, with
/// `λ =` [`SELU_LAMBDA`] and `α =` [`SELU_ALPHA`].
///
/// The constants enter as `λ` and `λα` to twice the working precision, so the reference is
/// the formula with the exact mathematical constants (to the 32 digits given), not with
/// their `f32`/`f64` roundings (which alone would cost up to 1 ULP).
///
/// Domain: every value. `selu(+inf) = +inf`, `selu(-inf) = -λα ≈ -1.7581`, NaN gives NaN,
/// `selu(-0.0) = -0.0`; tiny negative `x` give `λα x` to full relative accuracy.
///
/// Accuracy: f32 ≤ 2 ULP, f64 ≤ 2 ULP (measured: 0.96 ULP over all f32 inputs; in f64 1.06
/// ULP on the test sweep and 1.40 in the report's MPFR sweep, at a tiny `x = -2.2e-211`;
/// the short form that ordinary inputs take rounds twice).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut y = [0.0f64; 2];
/// nonlin::selu(&[1.0, f64::NEG_INFINITY], &mut y).unwrap();
/// assert_eq!(y[0], nonlin::SELU_LAMBDA);
/// assert!((y[1] + nonlin::SELU_LAMBDA * nonlin::SELU_ALPHA).abs() < 1e-15);
/// ```
pub fn selu<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| selu_lane(x)))
}

/// [`selu`] in place.
///
/// # Example
/// ```
/// let mut x = [0.0f32, 2.0];
/// nonlin::selu_inplace(&mut x);
/// assert_eq!(x[0], 0.0);
/// assert_eq!(x[1], 2.0 * nonlin::SELU_LAMBDA as f32);
/// ```
pub fn selu_inplace<T: Float>(x: &mut [T]) {
    driver::map_inplace(x, lanes!(|x| selu_lane(x)))
}

/// Derivative of [`selu`]: `λ` for `x > 0`, else `λ α exp(x)`.
///
/// Kink: `selu'(0) = λα` (the `x <= 0` branch, as PyTorch). `selu'(-inf) = 0`, NaN gives NaN.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP against the exact constants (measured: 1.06 ULP over
/// all f32 inputs, 1.17 ULP on backends without a fused multiply-add; in f64 0.96 ULP on the
/// test sweep and 1.50 in the report's MPFR sweep; ≤ 1 ULP for subnormal results).
///
/// # Errors
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut d = [0.0f64; 2];
/// nonlin::selu_derivative(&[1.0, 0.0], &mut d).unwrap();
/// assert_eq!(d[0], nonlin::SELU_LAMBDA);
/// assert!((d[1] - nonlin::SELU_LAMBDA * nonlin::SELU_ALPHA).abs() < 1e-15);
/// ```
pub fn selu_derivative<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
    driver::map(x, out, lanes!(|x| selu_derivative_lane(x)))
}

/// Backward pass of [`selu`]: `grad_in[i] = grad_out[i] * selu'(x[i])`.
///
/// # Errors
/// [`Error::LengthMismatch`] if `grad_out` or `grad_in` differ in length from `x`.
///
/// # Example
/// ```
/// let mut g = [0.0f32; 1];
/// nonlin::selu_backward(&[1.0], &[2.0], &mut g).unwrap();
/// assert_eq!(g[0], 2.0 * nonlin::SELU_LAMBDA as f32);
/// ```
pub fn selu_backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!(|x, g| g * selu_derivative_lane(x)),
    )
}

/// Continuously differentiable ELU, `out[i] = max(0, x) + min(0, alpha * expm1(x / alpha))`,
/// i.e. `x` for `x > 0` and `alpha * expm1(x / alpha)` for `x <= 0` (for either sign of
/// `alpha`; PyTorch's default `alpha` is 1).
///
/// The quotient `x / alpha` is carried with its rounding error, so the result is within the
/// budget of `alpha * expm1(x / alpha)` with the exact quotient.
///
/// Domain: every value; `alpha` finite and non-zero. `celu(+inf) = +inf`,
/// `celu(-inf) = -alpha` for `alpha > 0` (`-inf` for `alpha < 0`), NaN gives NaN, tiny
/// negative `x` give `x` to full accuracy.
///
/// Accuracy: f32 ≤ 2 ULP, f64 ≤ 2 ULP. Ordinary inputs (`x / alpha > -p ln 2`, i.e.
/// `x > -16.6 alpha` in f32, with `|alpha|` within `2^±60`) take a short form that rounds
/// twice: measured 0.94 ULP over all f32 inputs at `alpha = 1`, ≤ 0.91 ULP on the f32
/// sweeps of `tests/tests/elu.rs` at eight values of `alpha`, 1.27 ULP in f64 against MPFR
/// (1.19 and 1.38 on backends without a fused multiply-add).
/// The general form (the far tail, other `alpha`) measures ≤ 0.55 ULP, below 1 ULP for a
/// subnormal `alpha`. Rounding `x / alpha` instead would cost up to about `|x / alpha| / 2`
/// ULP.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `alpha` if it is 0 or not finite;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written on error.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 2];
/// nonlin::celu(&[3.0, f32::NEG_INFINITY], 2.0, &mut y).unwrap();
/// assert_eq!(y, [3.0, -2.0]);
/// assert!(nonlin::celu(&[1.0f32], 0.0, &mut y[..1]).is_err());
/// ```
pub fn celu<T: Float>(x: &[T], alpha: T, out: &mut [T]) -> Result<(), Error> {
    check_celu_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        return driver::map(
            x,
            out,
            lanes!([alpha, sc: ScaleParts<T>] |x| celu_lane_short(x, L::splat(alpha), sc.lanes())),
        );
    }
    driver::map(
        x,
        out,
        lanes!([sc: ScaleParts<T>] |x| celu_lane_impl(x, sc.lanes())),
    )
}

/// [`celu`] in place.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `alpha` if it is 0 or not finite (nothing is
/// written).
///
/// # Example
/// ```
/// let mut x = [1.0f64];
/// nonlin::celu_inplace(&mut x, 1.0).unwrap();
/// assert_eq!(x, [1.0]);
/// ```
pub fn celu_inplace<T: Float>(x: &mut [T], alpha: T) -> Result<(), Error> {
    check_celu_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        driver::map_inplace(
            x,
            lanes!([alpha, sc: ScaleParts<T>] |x| celu_lane_short(x, L::splat(alpha), sc.lanes())),
        );
    } else {
        driver::map_inplace(
            x,
            lanes!([sc: ScaleParts<T>] |x| celu_lane_impl(x, sc.lanes())),
        );
    }
    Ok(())
}

/// Derivative of [`celu`]: `1` for `x > 0`, else `exp(x / alpha)` (with the quotient carried
/// to twice the precision).
///
/// Kink: `celu'(0) = 1` from both sides. `celu'(-inf) = 0` for `alpha > 0`; NaN gives NaN.
///
/// Accuracy: f32 ≤ 4 ULP, f64 ≤ 4 ULP. Ordinary inputs take a short form (as [`celu`]'s),
/// measured 0.99 ULP over all f32 inputs at `alpha = 1`, ≤ 1.04 ULP on the f32 sweeps, 0.97
/// ULP in f64; the general form ≤ 0.52 ULP for normal results, ≤ 0.75 ULP for subnormal
/// ones.
///
/// # Errors
/// As [`celu`].
///
/// # Example
/// ```
/// let mut d = [0.0f32; 2];
/// nonlin::celu_derivative(&[0.0, 2.0], 1.0, &mut d).unwrap();
/// assert_eq!(d, [1.0, 1.0]);
/// ```
pub fn celu_derivative<T: Float>(x: &[T], alpha: T, out: &mut [T]) -> Result<(), Error> {
    check_celu_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        return driver::map(
            x,
            out,
            lanes!([sc: ScaleParts<T>] |x| celu_derivative_short(x, sc.lanes())),
        );
    }
    driver::map(
        x,
        out,
        lanes!([sc: ScaleParts<T>] |x| celu_derivative_impl(x, sc.lanes())),
    )
}

/// Backward pass of [`celu`]: `grad_in[i] = grad_out[i] * celu'(x[i])`.
///
/// # Errors
/// As [`celu`], with `grad_out` and `grad_in` checked against `x`'s length.
///
/// # Example
/// ```
/// let mut g = [0.0f64; 1];
/// nonlin::celu_backward(&[0.0], &[3.0], 2.0, &mut g).unwrap();
/// assert_eq!(g, [3.0]);
/// ```
pub fn celu_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    alpha: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    check_celu_alpha(alpha)?;
    let sc = ScaleParts::new(alpha, T::ZERO);
    if elu_short_alpha(alpha) {
        return driver::map2(
            x,
            grad_out,
            "grad_out",
            grad_in,
            "grad_in",
            lanes!([sc: ScaleParts<T>] |x, g| g * celu_derivative_short(x, sc.lanes())),
        );
    }
    driver::map2(
        x,
        grad_out,
        "grad_out",
        grad_in,
        "grad_in",
        lanes!([sc: ScaleParts<T>] |x, g| g * celu_derivative_impl(x, sc.lanes())),
    )
}

/// Scalar references through `libm` (re-exported from [`crate::scalar`]).
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar ELU: `x` for `x > 0`, else `alpha * expm1(x)` (libm `expm1`: tiny `x` stay
    /// relatively accurate).
    pub fn elu<T: Float>(x: T, alpha: T) -> T {
        if x.is_nan() || x > T::ZERO {
            x
        } else {
            alpha * x.exp_m1()
        }
    }

    /// Scalar ELU derivative: `1` for `x > 0`, else `alpha * exp(x)`.
    pub fn elu_derivative<T: Float>(x: T, alpha: T) -> T {
        if x.is_nan() {
            x
        } else if x > T::ZERO {
            T::ONE
        } else {
            alpha * x.exp()
        }
    }

    /// Scalar SELU with the constants rounded to `T`.
    pub fn selu<T: Float>(x: T) -> T {
        let lambda = T::from_f64(super::SELU_LAMBDA);
        if x.is_nan() || x > T::ZERO {
            lambda * x
        } else {
            T::from_f64(super::SELU_LAMBDA * super::SELU_ALPHA) * x.exp_m1()
        }
    }

    /// Scalar SELU derivative: `λ` for `x > 0`, else `λ α exp(x)`.
    pub fn selu_derivative<T: Float>(x: T) -> T {
        if x.is_nan() {
            x
        } else if x > T::ZERO {
            T::from_f64(super::SELU_LAMBDA)
        } else {
            T::from_f64(super::SELU_LAMBDA * super::SELU_ALPHA) * x.exp()
        }
    }

    /// Scalar CELU: `x` for `x > 0`, else `alpha * expm1(x / alpha)`.
    pub fn celu<T: Float>(x: T, alpha: T) -> T {
        if x.is_nan() || x > T::ZERO {
            x
        } else {
            alpha * (x / alpha).exp_m1()
        }
    }

    /// Scalar CELU derivative: `1` for `x > 0`, else `exp(x / alpha)`.
    pub fn celu_derivative<T: Float>(x: T, alpha: T) -> T {
        if x.is_nan() {
            x
        } else if x > T::ZERO {
            T::ONE
        } else {
            (x / alpha).exp()
        }
    }
}
