//! Vector math over [`Lane`]s: our own range reductions and polynomials, written once for
//! `f32` and `f64` (the constants come from [`Float::VM`]).
//!
//! `wide`'s own transcendental functions document no precision and it has no `erf`, so no
//! kernel uses them. Every function here propagates NaN and gives the limits at ±inf.
//! Accuracy is measured in `tests/` against MPFR (f64) and libm-in-f64 (f32).

use crate::float::Float;
use crate::lane::Lane;

mod erf;
mod tanh;
pub use erf::*;
pub use tanh::*;

#[inline(always)]
pub(crate) fn splat<L: Lane>(v: f64) -> L {
    L::splat(<L::Scalar as Float>::from_f64(v))
}

/// `2^k` as a constant expression, for `k` in the normal exponent range of `f64`
/// (`-1022..=1023`; clamped to it). The kernels' scaling constants go through this rather
/// than `libm::ldexp`, which the optimiser does not always fold: left as a call inside a lane
/// kernel it ran once per vector (softsign' and selu ran at a fifth of their speed).
#[inline(always)]
pub(crate) const fn pow2(k: i32) -> f64 {
    let k = if k < -1022 {
        -1022
    } else if k > 1023 {
        1023
    } else {
        k
    };
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `floor(bias / 2)` of the lane's type (63 for `f32`, 511 for `f64`): `2^±` of it are
/// normal, and so is the square of anything between them.
#[inline(always)]
pub(crate) fn half_bias<L: Lane>() -> i32 {
    (<L::Scalar as Float>::VM.bias.to_f64() as i32) / 2
}

#[inline(always)]
fn vm<L: Lane>() -> crate::float::VmConsts<L::Scalar> {
    <L::Scalar as Float>::VM
}

/// Estrin evaluation of `c[0] + c[1] x + ...`: pairs `c[2i] + c[2i+1] x` combined with
/// `x^2`, `x^4`, ... The dependency chain is about log2 of the degree long instead of the
/// degree itself: the kernels are latency-bound (a long chain fills the scheduler before
/// the next vector can start), so this, not the operation count, sets their speed. The
/// slices are constants, so the loops unroll at compile time. At most 32 coefficients
/// (the longest table here, erf's f64 tail, has 23 after its double-word head).
#[inline(always)]
pub(crate) fn estrin<L: Lane, C: Float>(x: L, c: &[C]) -> L {
    debug_assert!(c.len() <= 32);
    match c.split_at_checked(16) {
        Some((lo, hi)) if !hi.is_empty() => {
            let x2 = x * x;
            let x4 = x2 * x2;
            let x8 = x4 * x4;
            estrin16(x, hi).mul_add(x8 * x8, estrin16(x, lo))
        }
        _ => estrin16(x, c),
    }
}

/// [`estrin`] for at most 16 coefficients (a fixed table of 8 pairs: a larger one is no
/// longer unrolled by the compiler, which costs a factor 3 in speed).
#[inline(always)]
fn estrin16<L: Lane, C: Float>(x: L, c: &[C]) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let mut t = [zero; 8];
    let mut m = 0;
    // Coefficients are constants exactly representable in the lane type (f32 tables hold
    // f32 values): the round trip through f64 is exact and folds away.
    for (slot, pair) in t.iter_mut().zip(c.chunks(2)) {
        *slot = match *pair {
            [a, b] => splat::<L>(b.to_f64()).mul_add(x, splat::<L>(a.to_f64())),
            [a] => splat::<L>(a.to_f64()),
            _ => zero,
        };
        m += 1;
    }
    let mut p = x * x;
    // Each level combines the pairs (2k, 2k+1) into slot k, for the first `m` slots.
    if cfg!(nonlin_opt_size) {
        // Size-optimised builds (cfg from `core/build.rs`) do not unroll these loops. The
        // pair loop then runs over the table's four pairs rather than up to `m`, so that its
        // indices are provably in range: indexing up to `m` left a bounds check and a panic
        // path in every kernel there.
        while m > 1 {
            for k in 0..4 {
                let (a, b) = (2 * k, 2 * k + 1);
                if b < m {
                    t[k] = t[b].mul_add(p, t[a]);
                } else if a < m {
                    t[k] = t[a];
                }
            }
            m = m.div_ceil(2);
            p = p * p;
        }
    } else {
        // Unrolled, with `m` known, the checks fold away. (The form above computes the same
        // values but changed the unrolled code on x86_64: the kernels' code is kept as
        // measured.)
        while m > 1 {
            let mut k = 0;
            let mut i = 0;
            while i < m {
                t[k] = if i + 1 < m {
                    t[i + 1].mul_add(p, t[i])
                } else {
                    t[i]
                };
                k += 1;
                i += 2;
            }
            m = k;
            p = p * p;
        }
    }
    t[0]
}

/// `n - q d` exactly (for `q = fl(n/d)` it is representable): one fused multiply-add where
/// the backend has it, Dekker's exact product otherwise.
#[inline(always)]
pub(crate) fn residual<L: Lane>(n: L, q: L, d: L) -> L {
    if L::HAS_FMA {
        (-q).mul_add(d, n)
    } else {
        let (p, pe) = L::two_prod(q, d);
        (n - p) - pe
    }
}

/// Cody–Waite reduction `x = n ln2 + r`, `|r| <= ln2/2 (+ tiny)`, and `expm1(r)`.
/// `x` must be finite and clamped to the exponent range.
#[inline(always)]
pub(crate) fn reduce_expm1<L: Lane>(x: L) -> (L, L) {
    let c = vm::<L>();
    let n = (x * L::splat(c.log2e)).round();
    // n * ln2_hi is exact (ln2_hi has enough trailing zeros), so r is x - n ln2 to within the
    // rounding of the ln2_lo term.
    let r = (-n).mul_add(L::splat(c.ln2_hi), x);
    let r = (-n).mul_add(L::splat(c.ln2_lo), r);
    let r2 = r * r;
    let q = r2.mul_add(estrin(r, c.expm1_poly), r);
    (n, q)
}

/// True when every lane of `x` lies where `exp` needs no special handling: `x` in
/// `±(bias - 2) ln2`, so `n = round(x log2e)` is in `[2 - bias, bias - 2]`, `2^n` is normal
/// and the result neither overflows nor leaves the normal range, so that callers may scale
/// or divide it without losing bits (NaN fails the test).
/// Vectors that pass take a short path whose results are bit-identical to the general one
/// (there `n2 = 0` and the clamps change nothing), so the branch, taken per vector, leaves
/// every element's result depending on its own value only.
#[inline(always)]
pub(crate) fn exp_all_plain<L: Lane>(x: L) -> bool {
    L::all(exp_plain_lanes(x))
}

/// The lanes of `x` that [`exp_all_plain`] accepts, as a mask.
#[inline(always)]
pub(crate) fn exp_plain_lanes<L: Lane>(x: L) -> L {
    let c = vm::<L>();
    x.abs().le(L::splat(
        (c.bias - <L::Scalar as Float>::ONE - <L::Scalar as Float>::ONE) * c.ln2_hi,
    ))
}

/// `exp(x)`: relative error about 1 ULP (measured: see the README table), subnormal results
/// computed with a single final rounding, `+inf` above the overflow threshold, `+0` below
/// the underflow threshold, NaN in gives NaN.
#[inline(always)]
pub fn exp<L: Lane>(x: L) -> L {
    if exp_all_plain(x) {
        return exp_plain(x);
    }
    let c = vm::<L>();
    let xc = x.max(L::splat(c.exp_lo)).min(L::splat(c.exp_hi));
    let (n, q) = reduce_expm1(xc);
    let p = q + L::splat(<L::Scalar as Float>::ONE);
    // Scale by 2^n in two steps, so that n below the normal exponent range gives a correctly
    // rounded subnormal and n = bias + 1 (near overflow) stays finite until the last step.
    // n1 in the normal exponent range, n2 = n - n1 in [-p, 1]: both powers are normal, the
    // first product is exact and only the last one rounds (once, into the subnormals).
    let n1 = n
        .max(L::splat(<L::Scalar as Float>::ONE - c.bias))
        .min(L::splat(c.bias));
    let n2 = n - n1;
    let r = p * L::pow2i(n1) * L::pow2i(n2);
    let r = L::select(
        x.gt(L::splat(c.exp_hi)),
        L::splat(<L::Scalar as Float>::INFINITY),
        r,
    );
    L::select(x.is_nan(), x, r)
}

/// `exp(x)` as an unevaluated sum `hi + lo`: `hi` is [`exp`]'s result and `lo` carries the
/// rounding error of its last addition (`1 + q`), scaled alike. Callers that divide or add
/// with `e^x` (sigmoid, tanh') use `lo` to remove that half-ULP from their error budget.
/// `lo` is 0 where `hi` is 0, ±inf or NaN.
#[inline(always)]
pub fn exp_parts<L: Lane>(x: L) -> (L, L) {
    let c = vm::<L>();
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    if exp_all_plain(x) {
        return exp_parts_plain(x);
    }
    let xc = x.max(L::splat(c.exp_lo)).min(L::splat(c.exp_hi));
    let (n, q) = reduce_expm1(xc);
    let p = q + one;
    // Fast2Sum: |q| < 1, so (1 - p) + q is the exact error of p.
    let perr = (one - p) + q;
    // n1 in the normal exponent range, n2 = n - n1 in [-p, 1]: both powers are normal, the
    // first product is exact and only the last one rounds (once, into the subnormals).
    let n1 = n
        .max(L::splat(<L::Scalar as Float>::ONE - c.bias))
        .min(L::splat(c.bias));
    let n2 = n - n1;
    let s1 = L::pow2i(n1);
    let s2 = L::pow2i(n2);
    let hi = p * s1 * s2;
    let lo = perr * s1 * s2;
    let over = x.gt(L::splat(c.exp_hi));
    let hi = L::select(over, L::splat(<L::Scalar as Float>::INFINITY), hi);
    let lo = L::select(over.or(x.is_nan()), zero, lo);
    (L::select(x.is_nan(), x, hi), lo)
}

/// [`exp`] for vectors that pass [`exp_all_plain`] (bit-identical there).
#[inline(always)]
pub(crate) fn exp_plain<L: Lane>(x: L) -> L {
    let (n, q) = reduce_expm1(x);
    (q + L::splat(<L::Scalar as Float>::ONE)) * L::pow2i(n)
}

/// [`exp_parts`] for vectors that pass [`exp_all_plain`] (bit-identical there); callers
/// that branch on `exp_all_plain` themselves use it to keep their own special-value
/// handling out of the common path.
#[inline(always)]
pub(crate) fn exp_parts_plain<L: Lane>(x: L) -> (L, L) {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let (n, q) = reduce_expm1(x);
    let p = q + one;
    // Fast2Sum: |q| < 1, so (1 - p) + q is the exact error of p.
    let s = L::pow2i(n);
    (p * s, ((one - p) + q) * s)
}

/// `exp(hi + lo)` for `|lo| <= ulp(hi)`: the tail is applied as `exp(hi) * (1 + lo)`, so an
/// argument carried in two parts (for example an exact product from [`Lane::two_prod`]) is
/// not rounded before exponentiation. This is what keeps Gaussian and logistic tails
/// relatively accurate.
#[inline(always)]
pub fn exp_dd<L: Lane>(hi: L, lo: L) -> L {
    let e = exp(hi);
    e.mul_add(lo, e)
}

/// `exp(x) - 1` with relative accuracy near 0 (about 1 ULP, measured), `-1` for very
/// negative `x`, `+inf` above the overflow threshold, NaN propagates.
#[inline(always)]
pub fn expm1<L: Lane>(x: L) -> L {
    let c = vm::<L>();
    let one = L::splat(<L::Scalar as Float>::ONE);
    let xc = x.max(L::splat(c.expm1_lo)).min(L::splat(c.exp_hi));
    let (n, q) = reduce_expm1(xc);
    // n <= bias - 1: s = 2^n is normal, s - 1 is exact for small n, and fma(s, q, s - 1)
    // is the result with one rounding (no cancellation: for n = -1 the terms are -1/2 and
    // at most 0.18). For n = 0 this is exactly q, the polynomial with relative accuracy.
    let bias_m1 = L::splat(c.bias - <L::Scalar as Float>::ONE);
    let s = L::pow2i(n.min(bias_m1));
    let small = s.mul_add(q, s - one);
    // n = bias (x within ln2/2 of overflow): scale in two steps; the -1 is negligible.
    let big = (L::pow2i(n - one) * (q + one))
        * L::splat(<L::Scalar as Float>::ONE + <L::Scalar as Float>::ONE);
    let r = L::select(n.gt(bias_m1), big, small);
    let r = L::select(
        x.gt(L::splat(c.exp_hi)),
        L::splat(<L::Scalar as Float>::INFINITY),
        r,
    );
    // ±0 and NaN are returned as they are (the polynomial would turn -0 into +0).
    let keep = x.is_nan().or(x.eq(L::splat(<L::Scalar as Float>::ZERO)));
    L::select(keep, x, r)
}

/// Core of `ln`: `ln(m) + t` for finite `m > 0` (normal), `t` a small correction added at
/// the end (the rounding error of `1 + u` for `log1p`). fdlibm's reduction: `m = 2^k f`,
/// `f` in `[sqrt(2)/2, sqrt(2))`, `ln f = e - e^2/2 + s (e^2/2 + R(s^2))` with `e = f - 1`
/// (exact) and `s = e / (2 + e)`.
#[inline(always)]
fn ln_core<L: Lane>(m: L, t: L, kadj: L) -> L {
    let c = vm::<L>();
    let one = L::splat(<L::Scalar as Float>::ONE);
    let (mut f, k0) = m.frexp();
    let mut k = k0 + kadj;
    let big = f.gt(splat::<L>(core::f64::consts::SQRT_2));
    f = L::select(big, f * splat::<L>(0.5), f);
    k = L::select(big, k + one, k);
    let e = f - one;
    let s = e / (e + one + one);
    let z = s * s;
    let r = z * estrin(z, c.log_poly);
    let hfsq = splat::<L>(0.5) * e * e;
    // Small terms first, the large ones (k ln2_hi, e) last.
    let lo = s.mul_add(hfsq + r, k.mul_add(L::splat(c.ln2_lo), t)) - hfsq;
    k.mul_add(L::splat(c.ln2_hi), e + lo)
}

/// Natural logarithm: about 1 ULP (measured). `ln(0) = -inf`, negative or NaN gives NaN,
/// `ln(+inf) = +inf`; subnormal inputs are handled exactly (lifted by `2^p` first).
#[inline(always)]
pub fn ln<L: Lane>(x: L) -> L {
    let c = vm::<L>();
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let min_pos = L::splat(<L::Scalar as Float>::MIN_POSITIVE);
    let sub = x.lt(min_pos);
    let xs = L::select(sub, x * L::splat(c.two_pow_mant), x);
    // Lifted subnormals: the exponent is corrected by -p inside the reduction, exactly.
    let p = L::splat(<L::Scalar as Float>::from_f64(f64::from(
        <L::Scalar as Float>::MANTISSA_DIGITS,
    )));
    let kadj = L::select(sub, -p, zero);
    let r = ln_core(xs.max(min_pos), zero, kadj);
    let r = L::select(x.eq(zero), L::splat(<L::Scalar as Float>::NEG_INFINITY), r);
    let r = L::select(x.lt(zero), L::splat(<L::Scalar as Float>::NAN), r);
    let r = L::select(x.is_inf().and(x.gt(zero)), x, r);
    L::select(x.is_nan(), x, r)
}

/// `ln(hi + lo) + kadj ln 2` for a value carried in two parts (`|lo| <= ulp(hi)`, as from
/// TwoSum or an exact quotient): `lo` enters the reduction as the `lo / hi` correction, so a
/// value within an ULP of 1 keeps its relative accuracy (`ln(1 - 1e-12)` is `-1e-12` in
/// f32, where `ln(hi)` alone would give 0). Special values follow `hi` as in [`ln`];
/// subnormal `hi` is lifted by `2^p` exactly.
#[inline(always)]
pub(crate) fn ln_dw<L: Lane>(hi: L, lo: L, kadj: L) -> L {
    let c = vm::<L>();
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let min_pos = L::splat(<L::Scalar as Float>::MIN_POSITIVE);
    let sub = hi.lt(min_pos);
    let lift = L::splat(c.two_pow_mant);
    let hs = L::select(sub, hi * lift, hi);
    let ls = L::select(sub, lo * lift, lo);
    let p = L::splat(<L::Scalar as Float>::from_f64(f64::from(
        <L::Scalar as Float>::MANTISSA_DIGITS,
    )));
    let kadj = L::select(sub, kadj - p, kadj);
    let hm = hs.max(min_pos);
    let r = ln_core(hm, ls / hm, kadj);
    let r = L::select(hi.eq(zero), L::splat(<L::Scalar as Float>::NEG_INFINITY), r);
    let r = L::select(hi.lt(zero), L::splat(<L::Scalar as Float>::NAN), r);
    let r = L::select(hi.is_inf().and(hi.gt(zero)), hi, r);
    L::select(hi.is_nan().or(lo.is_nan()), hi + lo, r)
}

/// `ln(1 + u)` with relative accuracy near 0 (about 1 ULP, measured). `u = -1` gives `-inf`,
/// `u < -1` NaN, `+inf` gives `+inf`.
#[inline(always)]
pub fn log1p<L: Lane>(u: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    // TwoSum: m + err = 1 + u exactly; ln(1 + u) = ln(m) + err/m to first order.
    let m = one + u;
    let bb = m - u;
    let err = (one - bb) + (u - (m - bb));
    let mm = m.max(L::splat(<L::Scalar as Float>::MIN_POSITIVE));
    let r = ln_core(mm, err / mm, zero);
    // |u| below half an ulp of 1: m == 1 and the answer is u itself (keeps -0.0 and tiny
    // subnormals exact).
    let tiny = u.abs().lt(splat::<L>(pow2(
        -(<L::Scalar as Float>::MANTISSA_DIGITS as i32),
    )));
    let r = L::select(tiny, u, r);
    let r = L::select(u.eq(-one), L::splat(<L::Scalar as Float>::NEG_INFINITY), r);
    let r = L::select(u.lt(-one), L::splat(<L::Scalar as Float>::NAN), r);
    let r = L::select(u.is_inf().and(u.gt(zero)), u, r);
    L::select(u.is_nan(), u, r)
}

/// `ln(1 + exp(x))` (softplus) without overflow or cancellation:
/// `max(x, 0) + log1p(exp(-|x|))`.
#[inline(always)]
pub fn log1pexp<L: Lane>(x: L) -> L {
    let zero = L::splat(<L::Scalar as Float>::ZERO);
    let r = x.max(zero) + log1p(exp(-x.abs()));
    L::select(x.is_nan(), x, r)
}

// ------------------------------------------------------------------------------------------
// `f32` kernels evaluated in `f64` lanes (see `Lane::WIDE_EVAL`).

/// `true` where an `f32` kernel evaluates in `f64` lanes and rounds once at the end (see
/// [`Lane::WIDE_EVAL`]): the AVX2 backend's `f32` lanes.
#[inline(always)]
pub(crate) fn wide_eval<L: Lane>() -> bool {
    L::WIDE_EVAL && <L::Scalar as Float>::MANTISSA_DIGITS < 53
}

/// `1/k!` for `k = 2..=9`: `expm1(r) = r + r² P(r)` by Taylor's series to `r^9`. On the
/// reduced range `|r| <= ln2/2` the remainder is below `|r|^10 e^|r| / 10! < 1e-11` of
/// `e^r`, a ten-thousandth of an `f32` ULP: an `f32` result needs no more, and the
/// polynomial is three terms shorter than `f64`'s own.
const EXPM1_TAYLOR9: [f64; 8] = [
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
];

/// `e^w` for `w` in `[-700, 0]` in `f64` lanes, within `1e-11` relative (Cody–Waite
/// reduction with `f64`'s exact `n ln2_hi`, [`EXPM1_TAYLOR9`], `2^n` normal): the
/// exponential of the `f32` kernels evaluated in `f64`.
#[inline(always)]
pub(crate) fn exp_wide<D: Lane<Scalar = f64>>(w: D) -> D {
    let c = <f64 as Float>::VM;
    let n = (w * D::splat(c.log2e)).round();
    let r = (-n).mul_add(D::splat(c.ln2_hi), w);
    let r = (-n).mul_add(D::splat(c.ln2_lo), r);
    let q = (r * r).mul_add(estrin(r, &EXPM1_TAYLOR9), r);
    (q + D::splat(1.0)) * D::pow2i(n)
}

/// `expm1(t)` for `|t| <= ln2/2` in `f64` lanes by [`EXPM1_TAYLOR9`], within `1e-11`
/// relative (no cancellation near 0).
#[inline(always)]
pub(crate) fn expm1_small_wide<D: Lane<Scalar = f64>>(t: D) -> D {
    (t * t).mul_add(estrin(t, &EXPM1_TAYLOR9), t)
}

#[cfg(test)]
mod tests {
    use super::pow2;

    #[test]
    fn pow2_matches_ldexp_and_clamps() {
        for k in -1022..=1023 {
            assert_eq!(pow2(k), libm::ldexp(1.0, k), "2^{k}");
        }
        assert_eq!(pow2(-5000), f64::MIN_POSITIVE);
        assert_eq!(pow2(5000), libm::ldexp(1.0, 1023));
        // A constant expression: usable where the kernels need it folded.
        const HALF: f64 = pow2(-1);
        assert_eq!(HALF, 0.5);
    }
}
