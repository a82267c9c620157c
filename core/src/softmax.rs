//! Row-wise softmax family over a row-major slice with `cols` columns: [`softmax`],
//! [`log_softmax`], [`logsumexp`], their temperature variants (`softmax(x / T)`), in place
//! and out of place, and the backward passes [`softmax_backward`] and
//! [`log_softmax_backward`].
//!
//! # How a row is computed
//!
//! Two passes over a row. The first is an *online* max-and-sum pass: the row is walked in
//! blocks of eight 256-bit chunks (64 `f32` or 32 `f64`, whatever the lane width); each block's maximum is taken first (from registers/L1),
//! then its terms `e^{(x_j - r)/T}` are added to per-lane accumulators, `r` being a
//! reference that follows the running maximum `m`. Elements equal to the running maximum are
//! *counted*, not summed, so that at the end
//!
//! `S_rest = Σ_{j ≠ argmax} e^{(x_j - M)/T}`
//!
//! is known on its own, without the `1` of the arg-max element. That is what keeps
//! `log_softmax` of the dominant entry (`-log1p(S_rest)`) and `logsumexp`
//! (`M/T + log1p(S_rest)`) relatively accurate when one class dominates:
//! `log_softmax([60, 0])[0] = -8.75e-27`, where every peer returns 0.
//!
//! Accuracy measures:
//! - every exponent `(x_j - M)/T` is formed exactly (TwoSum, and an exact division remainder
//!   for `T != 1`) and applied as `e^hi (1 + lo)` (the reduction and polynomial of
//!   [`vmath::exp`], scaled in one step), so a 1000-wide spread in a row costs nothing (peers
//!   lose up to `|x_j - M| * 2^-24` in the argument: 58-77 ULP in f32);
//! - `f32` terms accumulate in `f64` (per lane), `f64` terms in double-double (TwoSum per
//!   lane); the reference `r` sits `64 T` below the block maximum that set it (so terms far
//!   below the maximum stay normal numbers: a dominant row's `S_rest` is not lost to
//!   subnormal rounding) and only moves when the maximum has grown by more than `16 T`
//!   beyond that, so a term is rescaled by an inexact factor at most twice before it becomes
//!   negligible (no error growth with the row length, even on ascending rows);
//! - the row's scalars (`1/S`, `log1p(S_rest)`) are computed in `f64` (double-double for
//!   `f64` rows) and applied as a hi/lo pair, so each output takes one final rounding.
//!
//! SIMD tails are padded with `-inf` in the reduction pass (weight exactly 0), never with a
//! large finite value, so a row's result does not depend on where the row sits in the slice
//! or on the rows around it.
//!
//! # The fast path (`T = 1`)
//!
//! Rows with a finite maximum and no NaN (the normal case) take a cheaper form of the same
//! two passes; the other rows, and the temperature variants, take the careful pass above,
//! so the special-row policies below are those of one code path. What makes it cheaper:
//! - the row is walked in blocks of 8 KiB (a whole row of up to 2048 `f32`), each read
//!   twice from L1: first for its maximum, sub-block by sub-block (sixteen 256-bit chunks;
//!   most sub-blocks lie wholly below the running maximum, which one vector compare
//!   settles), then for its terms. The maximum is thus known before a block's terms are
//!   formed: the reference moves at most once per block, and only the sub-blocks that hold
//!   the maximum count its copies; the others just add their terms;
//! - the write pass compares entries with the maximum only in those sub-blocks (no entry
//!   elsewhere can equal it);
//! - the per-lane sums of `f32` terms (non-negative, so free of cancellation) are combined
//!   by plain `f64` additions rather than a double-double chain;
//! - for `f32` rows the reference is put on the `ln 2` grid, `r = k ln 2`: a term
//!   `e^{x - r} = 2^{n - k} e^{x - n ln 2}` then needs no difference `x - r` (so no
//!   TwoSum), its Cody–Waite reduction is exact while `|x| < 170` (600 with FMA; rows
//!   beyond go through TwoSum terms), rescaling the partial sums is an exact power of 2, and
//!   `e^{x - r}` comes from a degree-7 minimax polynomial (0.02 ULP) instead of the degree-9
//!   Taylor one; `f64` rows keep TwoSum terms;
//! - out-of-place `f32` softmax (and the cross-entropy gradient) stores the terms
//!   (`e^{x - r} 2^-60`, normal wherever the output is not 0) during the first pass and
//!   the write pass only scales them, `t (f_hi + f_lo)` with `f = e^{r - M} 2^60 / S`
//!   (one rounding; entries equal to `M` get `1/S` itself, so a dominant entry is exactly
//!   `1` and `k` ties exactly `1/k`);
//! - `f32` log-softmax writes `(x - M) - ln S` in `f64` lanes (exact difference, one
//!   rounding) instead of a TwoSum chain;
//! - `f32` logsumexp takes this pass when the row's maximum guarantees a result of at least
//!   2 in magnitude (`M >= 2`, or `M + ln(cols) <= -2`): the terms' `f32` roundings then
//!   cost about a third of the result's ULP at worst (the worst row of the tests is 0.81
//!   ULP off in all, 0.5 of it the final rounding). Other rows, where `M` and `ln S` may
//!   cancel, are computed in `f64` lanes (see [`logsumexp`]).
//!
//! The `f32` sums still accumulate in `f64` and the row scalars in double-double, so the
//! accuracy is that of the careful pass or better (measured on the test suite, no FMA /
//! FMA: softmax 2.73 / 1.73 ULP, log-softmax 1.57 / 1.51 ULP, logsumexp 0.67 / 0.81 ULP).
//!
//! # Special rows
//!
//! | row holds | softmax | log_softmax | logsumexp |
//! |---|---|---|---|
//! | a NaN | all NaN | all NaN | NaN |
//! | `k >= 1` entries `+inf` (no NaN) | `1/k` on the `+inf` entries, 0 elsewhere | `-ln k` / `-inf` | `+inf` |
//! | some `-inf` entries | weight exactly 0 | `-inf` there | finite |
//! | only `-inf` (fully masked) | zeros (default) or NaN | `-inf` (default) or NaN | `-inf` |
//!
//! `+inf` entries are treated as tied maxima: the limit of the softmax as those entries grow
//! together. PyTorch returns NaN for such rows (`inf - inf`).
//!
//! A fully masked row (every entry `-inf`, as attention masks produce for padded queries)
//! gives zeros from `softmax` by default ([`MaskedRow::Zero`]): the row then contributes
//! nothing downstream and its gradient is 0, which is what attention code wants; PyTorch
//! returns NaN there (`exp(-inf - (-inf))`), which poisons everything after it.
//! [`MaskedRow::Nan`] (through [`softmax_with`] / [`log_softmax_with`]) reproduces PyTorch.
//! `logsumexp` of such a row is `ln 0 = -inf` under both policies.

use crate::backend;
use crate::driver::lane_loop;
use crate::error::{Error, check_len, check_positive};
use crate::float::Float;
use crate::lane::{Family, Lane, LaneFn};
use crate::vmath;

/// The lane of element type `T` on backend `B`.
type Ln<B, T> = <B as Family>::L<T>;
/// `f64` lanes on backend `B` (the per-lane sums).
type D<B> = <B as Family>::L<f64>;
/// Portable `f64` lanes, for the scalar helpers run once per row.
type P64 = <f64 as Float>::Lane;

/// Lane-sized chunks per block of the online pass: the block is read once for its maximum,
/// then once more (from L1) for its terms.
const BLOCK_CHUNKS: usize = 8;

/// Elements per block of the online pass for lanes of `n` elements of type `U`: eight
/// chunks of 256 bits, however narrow the lanes. With the one-element lanes of
/// `scalar-lanes` the blocks (where the exponent reference may move and the partial sums
/// are rescaled) are then the same as on the 8-wide builds; blocks of 8 elements would
/// rescale up to eight times more often, each rescaling of a subnormal partial sum adding a
/// rounding error.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn block_len<U: Float>(n: usize) -> usize {
    BLOCK_CHUNKS * n.max(32 / core::mem::size_of::<U>())
}
/// The exponent reference sits `BIAS * T` below the block maximum that set it, so terms are
/// computed as `e^{(x - r)/T}` with the maximum's term near `e^64`: terms down to
/// `e^{-150}` of the maximum stay normal numbers even in f32, and a dominant row's `S_rest`
/// (which can be near the bottom of the normal range, where `log_softmax` of the dominant
/// entry is `-S_rest`) is not eaten by subnormal rounding of its terms.
const BIAS: f64 = 64.0;
/// How far (in units of `T`) the running maximum may move above `reference + BIAS` before the
/// partial sums are rescaled: terms stay below `e^{BIAS + LAG + 1} = e^81` (finite in f32),
/// and a rescaled term is negligible (`< e^-LAG` of the new maximum) after its second
/// rescale, so inexact rescale factors cannot compound along a row.
const LAG: f64 = 16.0;

// ------------------------------------------------------------------------------------------
// Scalar helpers (once per row), in f64 through the crate's own vector math.

#[cfg_attr(not(nonlin_outline), inline(always))]
fn first(v: P64) -> f64 {
    v.to_array()[0]
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn first_t<L: Lane>(v: L) -> f64 {
    v.to_array().as_ref().first().map_or(0.0, |x| x.to_f64())
}

#[inline]
pub(crate) fn exp64(x: f64) -> f64 {
    first(vmath::exp(P64::splat(x)))
}

#[inline]
pub(crate) fn expm1_64(x: f64) -> f64 {
    first(vmath::expm1(P64::splat(x)))
}

#[inline]
pub(crate) fn ln64(x: f64) -> f64 {
    first(vmath::ln(P64::splat(x)))
}

#[inline]
pub(crate) fn log1p64(x: f64) -> f64 {
    first(vmath::log1p(P64::splat(x)))
}

/// Knuth's TwoSum: `s + e = a + b` exactly.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Exact product `h + l = a * b`.
#[inline]
pub(crate) fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let (h, l) = P64::two_prod(P64::splat(a), P64::splat(b));
    (first(h), first(l))
}

/// A double-double value `(hi, lo)` plus an `f64`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn dd_add_f64(a: (f64, f64), v: f64) -> (f64, f64) {
    let (s, e) = two_sum(a.0, v);
    two_sum(s, a.1 + e)
}

/// Double-double sum.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn dd_add(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let (s, e) = two_sum(a.0, b.0);
    two_sum(s, e + a.1 + b.1)
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn clean64(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// `(d + e) / t` as `q + rr` (the division's exact remainder folded into `rr`).
#[inline]
fn div_dd(d: f64, e: f64, t: f64) -> (f64, f64) {
    if t == 1.0 {
        return (d, clean64(e));
    }
    let q = d / t;
    let (h, l) = two_prod(q, t);
    (q, clean64((((d - h) - l) + e) / t))
}

/// `e^{(a - b)/t}` (`a = -inf` gives 0), the difference and the quotient carried exactly to
/// first order.
#[inline]
pub(crate) fn exp_diff64(a: f64, b: f64, t: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return 0.0;
    }
    let (d, e) = two_sum(a, -b);
    let (q, rr) = div_dd(d, e, t);
    first(vmath::exp_dd(P64::splat(q), P64::splat(rr)))
}

/// `(hi, lo)` in `T`: `hi = round(v.0)`, `lo = round(v.0 - hi + v.1)`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn split_t<T: Float>(v: (f64, f64)) -> (T, T) {
    let hi = T::from_f64(v.0);
    let lo = if v.0.is_finite() {
        T::from_f64((v.0 - hi.to_f64()) + v.1)
    } else {
        T::ZERO
    };
    (hi, lo)
}

// ------------------------------------------------------------------------------------------
// Lane helpers.

#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn zero<L: Lane>() -> L {
    L::splat(<L::Scalar as Float>::ZERO)
}

/// NaN error terms (from `inf - inf` inside TwoSum on an infinite sum) become 0: the
/// leading part already carries the infinity.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn clean<L: Lane>(x: L) -> L {
    L::select(x.is_nan(), zero(), x)
}

#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn two_sum_l<L: Lane>(a: L, b: L) -> (L, L) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `(v + neg_m) / t` as `q + rr`, exact to first order (TwoSum, then the exact remainder of
/// the division when `TEMP`).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn arg<L: Lane, const TEMP: bool>(v: L, neg_m: L, t: L) -> (L, L) {
    let (d, e) = two_sum_l(v, neg_m);
    if TEMP {
        let q = d / t;
        let (h, l) = L::two_prod(q, t);
        let rr = (((d - h) - l) + e) / t;
        (q, clean(rr))
    } else {
        (d, clean(e))
    }
}

/// Scale exponent of the write passes: outputs are formed as `(e^d 2^K) (inv 2^-K)`, so
/// `e^d 2^K` stays a normal number down to the bottom of the subnormal output range and the
/// output takes a single rounding there too.
pub(crate) const WRITE_K: f64 = 64.0;

/// `e^d (1 + lo) 2^k` for `d <= 0` (write passes, `k = WRITE_K`) or `d <= 82` (the online
/// pass, `k = 0`), with one scaling step (no overflow or subnormal handling needed in those
/// ranges: that is what makes it cheaper than [`vmath::exp_dd`]; same reduction and
/// polynomial, so the same accuracy). Results whose exact value is below the type's
/// subnormal range after scaling (`d < -(bias - 2 + k) ln 2`, and `-inf`) are exactly 0;
/// NaN gives NaN.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn exp_k<L: Lane>(d: L, lo: L, k: f64) -> L {
    let c = <L::Scalar as Float>::VM;
    let one = L::splat(<L::Scalar as Float>::ONE);
    let dmin = L::splat(<L::Scalar as Float>::from_f64(
        -(c.bias.to_f64() - 2.0 + k) * core::f64::consts::LN_2,
    ));
    let dc = d.max(dmin);
    let n = (dc * L::splat(c.log2e)).round();
    let r = (-n).mul_add(L::splat(c.ln2_hi), dc);
    let r = (-n).mul_add(L::splat(c.ln2_lo), r);
    let q = (r * r).mul_add(vmath::estrin(r, c.expm1_poly), r);
    let e = (q + one) * L::pow2i(n + L::splat(<L::Scalar as Float>::from_f64(k)));
    let e = e.mul_add(lo, e);
    let e = L::select(d.lt(dmin), zero(), e);
    L::select(d.is_nan(), d, e)
}

/// `e^{(v - m)/t} 2^k` with the exponent carried in two parts (see [`exp_k`] for the range).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn term<L: Lane, const TEMP: bool>(v: L, neg_m: L, t: L, k: f64) -> L {
    let (q, rr) = arg::<L, TEMP>(v, neg_m, t);
    exp_k(q, rr, k)
}

/// `(hi, lo) 2^-k` as lanes of `T`, and `k`: the factor to apply to [`term`]`(.., k)`.
/// `k = WRITE_K` unless the scaled factor would lose bits below `T`'s normal range (a tiny
/// gradient scale); then `k = 0`, and the outputs [`term`] flushes are below the subnormal
/// range anyway. Factors above `2^(WRITE_K - p - 3)` raise `k` (see the body).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn write_factor<B: Family, T: Float>(v: (f64, f64)) -> (Ln<B, T>, Ln<B, T>, f64) {
    let s = libm::ldexp(1.0, -(WRITE_K as i32));
    let floor = T::MIN_POSITIVE.to_f64() * libm::ldexp(1.0, T::MANTISSA_DIGITS as i32);
    let k = if v.0 == 0.0 {
        WRITE_K
    } else if (v.0 * s).abs() >= floor {
        // A large factor (cross-entropy with class weights over a small mean denominator)
        // makes the outputs of flushed terms (below 2^-(bias - 2 + k)) representable:
        // k = ilogb(v) + p + 3 puts them below half the smallest subnormal, up to k = bias
        // (the largest that keeps e^0 2^k finite; callers route larger factors elsewhere).
        let p = f64::from(T::MANTISSA_DIGITS);
        let need = f64::from(libm::ilogb(v.0.abs()).saturating_add(3)) + p;
        need.max(WRITE_K).min(T::VM.bias.to_f64())
    } else {
        0.0
    };
    let s = libm::ldexp(1.0, -(k as i32));
    let (h, l) = split_t::<T>((v.0 * s, v.1 * s));
    (Ln::<B, T>::splat(h), Ln::<B, T>::splat(l), k)
}

#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn load_full<B: Family, T: Float, U: Float>(src: &[T]) -> Ln<B, U> {
    let mut a = <Ln<B, U> as Lane>::Array::default();
    for (d, s) in a.as_mut().iter_mut().zip(src) {
        *d = U::from_f64(s.to_f64());
    }
    Ln::<B, U>::from_array(a)
}

#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn load_pad<B: Family, T: Float, U: Float>(src: &[T], pad: U) -> Ln<B, U> {
    let mut a = <Ln<B, U> as Lane>::Array::default();
    for d in a.as_mut().iter_mut() {
        *d = pad;
    }
    for (d, s) in a.as_mut().iter_mut().zip(src) {
        *d = U::from_f64(s.to_f64());
    }
    Ln::<B, U>::from_array(a)
}

/// Largest element of a lane (NaN elements ignored: NaN is detected through the sums).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn hmax<L: Lane>(v: L) -> f64 {
    let mut b = f64::NEG_INFINITY;
    for &x in v.to_array().as_ref() {
        let x = x.to_f64();
        if x > b {
            b = x;
        }
    }
    b
}

/// Largest entry of a row or block, read in `U` lanes (NaN entries ignored: the pass that
/// follows detects them; `-inf` for an empty slice).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn row_max<B: Family, T: Float, U: Float>(row: &[T]) -> f64 {
    let n = Ln::<B, U>::LANES;
    let mut vmax = Ln::<B, U>::splat(U::NEG_INFINITY);
    let mut it = row.chunks_exact(n);
    for c in &mut it {
        vmax = vmax.max(load_full::<B, T, U>(c));
    }
    let rem = it.remainder();
    if !rem.is_empty() {
        vmax = vmax.max(load_pad::<B, T, U>(rem, U::NEG_INFINITY));
    }
    hmax(vmax)
}

/// Per-lane-position sums, held in `f64x4` registers (two for an `f32x8`): plain `f64` for
/// `f32` terms (exact enough: `n 2^-53`), TwoSum (double-double) for `f64` terms.
#[derive(Clone, Copy)]
pub(crate) struct Acc<B: Family> {
    hi: [D<B>; 2],
    lo: [D<B>; 2],
}

/// `f64` lanes of backend `B` from an array (of that lane's width).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn d_from<B: Family>(x: &[f64]) -> D<B> {
    let mut a = <D<B> as Lane>::Array::default();
    for (d, &s) in a.as_mut().iter_mut().zip(x) {
        *d = s;
    }
    D::<B>::from_array(a)
}

/// A lane as two `f64x4` (the second is zero for 4-lane types).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn to_d<B: Family, L: Lane>(v: L) -> [D<B>; 2] {
    v.widen::<D<B>>()
}

impl<B: Family> Acc<B> {
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub(crate) fn new() -> Self {
        let z = D::<B>::splat(0.0);
        Acc {
            hi: [z, z],
            lo: [z, z],
        }
    }

    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn add_d(&mut self, v: [D<B>; 2], halves: usize, exact: bool) {
        for ((h, l), x) in self
            .hi
            .iter_mut()
            .zip(self.lo.iter_mut())
            .zip(v)
            .take(halves)
        {
            if exact {
                let (s, e) = two_sum_l(*h, x);
                *h = s;
                *l = *l + e;
            } else {
                *h = *h + x;
            }
        }
    }

    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub(crate) fn add<L: Lane>(&mut self, v: L) {
        let exact = <L::Scalar as Float>::MANTISSA_DIGITS >= 53;
        self.add_d(to_d::<B, L>(v), L::LANES.div_ceil(4), exact);
    }

    /// Adds non-negative `f32` terms (finite, so the two widened halves' sum is one `f64`
    /// rounding, as the accumulation's own) to the first accumulator only: one register
    /// fewer live in the term loop than [`Acc::add`], which keeps the accumulator out of
    /// memory there (see [`terms_skewed`]; on its own, without the pipeline, no
    /// measurable change). `f64` lanes go through [`Acc::add`] (exact, TwoSum).
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub(crate) fn add_nonneg<L: Lane>(&mut self, v: L) {
        if <L::Scalar as Float>::MANTISSA_DIGITS < 53 && L::LANES == 8 {
            let [a, b] = to_d::<B, L>(v);
            self.hi[0] = self.hi[0] + (a + b);
        } else {
            self.add(v);
        }
    }

    /// Adds the exact products `a * b` (in `f64` for `f32` lanes, where the product of two
    /// `f32` is exact; through `two_prod` for `f64`).
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub(crate) fn add_prod<L: Lane>(&mut self, a: L, b: L) {
        let halves = L::LANES.div_ceil(4);
        if <L::Scalar as Float>::MANTISSA_DIGITS < 53 {
            let (x, y) = (to_d::<B, L>(a), to_d::<B, L>(b));
            self.add_d([x[0] * y[0], x[1] * y[1]], halves, false);
        } else {
            let (p, e) = L::two_prod(a, b);
            self.add_d(to_d::<B, L>(p), halves, true);
            let e = to_d::<B, L>(e);
            for (l, x) in self.lo.iter_mut().zip(e).take(halves) {
                *l = *l + x;
            }
        }
    }

    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn scale(&mut self, f: f64) {
        let f = D::<B>::splat(f);
        for (h, l) in self.hi.iter_mut().zip(self.lo.iter_mut()) {
            *h = *h * f;
            *l = *l * f;
        }
    }

    /// The total of accumulators of non-negative `f32` terms (plain `f64` sums, the low
    /// parts zero), lanes added in lane order: relative error below `2^-50`, where
    /// [`Acc::total`]'s chain of eight dependent double-double additions buys nothing, as
    /// no cancellation can occur. (That chain runs once per row: with this instead, rows
    /// of 1000 `f32` measured softmax +5%, log_softmax +7%, cross-entropy +7%, in CPU time
    /// over 9 alternating runs.)
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub(crate) fn total_nonneg(&self) -> f64 {
        let v = self.hi[0] + self.hi[1];
        v.to_array().as_ref().iter().fold(0.0, |s, &x| s + x)
    }

    /// The total, lanes combined in lane order (deterministic).
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub(crate) fn total(&self) -> (f64, f64) {
        let mut t = (0.0, 0.0);
        for (h, l) in self.hi.iter().zip(self.lo.iter()) {
            for (&a, &b) in h
                .to_array()
                .as_ref()
                .iter()
                .zip(l.to_array().as_ref().iter())
            {
                t = dd_add(t, (a, b));
            }
        }
        t
    }
}

/// What the first pass found about a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// Finite maximum, no NaN.
    Normal,
    /// At least one NaN.
    Nan,
    /// At least one `+inf` (no NaN); `count` holds how many.
    PosInf,
    /// Every entry `-inf` (or the row is empty).
    Masked,
}

/// Result of the online max-and-sum pass.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stats {
    pub(crate) kind: Kind,
    /// Row maximum `M` (exact).
    pub(crate) m: f64,
    /// Number of entries equal to `M`.
    pub(crate) count: f64,
    /// `S_rest = Σ_{j ≠ argmax} e^{(x_j - M)/T}` as a double-double (normal rows).
    pub(crate) rest: (f64, f64),
}

impl Stats {
    /// `ln S = log1p(S_rest)` as a double-double (first order in the low part).
    #[inline]
    pub(crate) fn log_sum(&self) -> (f64, f64) {
        let (h, l) = self.rest;
        let lh = log1p64(h);
        (lh, l / (1.0 + h))
    }

    /// `1/S` with `S = 1 + S_rest`, as a double-double.
    #[inline]
    pub(crate) fn inv_sum(&self) -> (f64, f64) {
        let (sh, sl) = dd_add_f64((1.0, 0.0), self.rest.0);
        let sl = sl + self.rest.1;
        let ih = 1.0 / sh;
        let (p, pe) = two_prod(ih, sh);
        let r = ((1.0 - p) - pe) - ih * sl;
        (ih, r * ih)
    }
}

/// The online max-and-sum pass over one row: input elements `T`, computed in `U` lanes
/// (`U = T` for softmax/log_softmax, `U = f64` for the `logsumexp` of an `f32` row whose
/// result may cancel).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn row_stats<B: Family, T: Float, U: Float, const TEMP: bool>(row: &[T], t: U) -> Stats {
    let n = Ln::<B, U>::LANES;
    let tl = Ln::<B, U>::splat(t);
    let t64 = t.to_f64();
    let mut m = f64::NEG_INFINITY;
    let mut r = f64::NEG_INFINITY;
    let mut acc = Acc::<B>::new();
    let mut extra = (0.0f64, 0.0f64);
    let mut count: u64 = 0;
    for block in row.chunks(block_len::<U>(n)) {
        let bm = row_max::<B, T, U>(block);
        if bm > m {
            if bm - r > (BIAS + LAG) * t64 {
                // New reference, BIAS below the new maximum (exactly a U value, so the
                // terms' exponents stay exact); the old partial sums shrink by e^-LAG at least.
                let mut r_new = U::from_f64(bm - BIAS * t64).to_f64();
                let gap = (bm - r_new) / t64;
                if gap.is_nan() || gap > BIAS + 1.0 {
                    // t far below the spacing of U at bm: no room for the bias.
                    r_new = bm;
                }
                let f = exp_diff64(r, r_new, t64);
                let g = exp_diff64(m, r_new, t64);
                acc.scale(f);
                extra = (extra.0 * f, extra.1 * f);
                extra = dd_add_f64(extra, count as f64 * g);
                r = r_new;
            } else {
                // The counted maxima are maxima no longer: add them as terms.
                let g = exp_diff64(m, r, t64);
                extra = dd_add_f64(extra, count as f64 * g);
            }
            count = 0;
            m = bm;
        }
        let ml = Ln::<B, U>::splat(U::from_f64(m));
        let nr = Ln::<B, U>::splat(U::from_f64(-r));
        for c in block.chunks(n) {
            let v = if c.len() == n {
                load_full::<B, T, U>(c)
            } else {
                load_pad::<B, T, U>(c, U::NEG_INFINITY)
            };
            let e = term::<Ln<B, U>, TEMP>(v, nr, tl, 0.0);
            let eq = v.eq(ml);
            count += u64::from(Ln::<B, U>::count(eq));
            acc.add(Ln::<B, U>::select(eq, zero(), e));
        }
    }
    let s = dd_add(acc.total(), extra);
    let mut st = Stats {
        kind: Kind::Normal,
        m,
        count: count as f64,
        rest: (0.0, 0.0),
    };
    if s.0.is_nan() || s.1.is_nan() {
        st.kind = Kind::Nan;
    } else if m == f64::INFINITY {
        st.kind = Kind::PosInf;
    } else if m == f64::NEG_INFINITY {
        st.kind = Kind::Masked;
    } else {
        let f = if r == m { 1.0 } else { exp_diff64(r, m, t64) };
        let (ph, pl) = two_prod(s.0, f);
        let pl = pl + s.1 * f;
        // count >= 1: the arg-max itself is the "1" of S = 1 + S_rest.
        st.rest = dd_add_f64((ph, pl), st.count - 1.0);
    }
    st
}

// ------------------------------------------------------------------------------------------
// The fast online pass (rows with a finite maximum and no NaN, `T = 1`).

/// Scale of the terms the fast pass stores for the write pass (`f32` rows): a stored term
/// `e^{x - r} 2^-60` stays a normal number wherever its output is not 0, and the write
/// factor `e^{r - M} 2^60 / S` (with `e^{r - M} >= e^-82`) keeps its low part out of the
/// subnormal range, so the stored term times the factor's hi/lo pair is one rounding.
const STORE_SCALE: f64 = 8.673617379884035e-19; // 2^-60

/// `(e^r - 1 - r) / r^2` on `|r| <= ln2/2 + 2^-11` for the `f32` terms of the fast pass:
/// a weighted-minimax fit of degree 5 (so `e^r` of degree 7) with `f32` coefficients,
/// relative error of `e^r` below `1.2e-9` (0.02 ULP), two terms shorter than the Taylor
/// polynomial of [`vmath::exp`]: fewer constants to hold in registers in the hot loop.
const EXPM1_POLY_F32: [f64; 6] = [
    0.5,
    0.1666666567325592,
    0.041666291654109955,
    0.008333497680723667,
    0.0013944815145805478,
    0.00019790187070611864,
];

/// `|x|` bound of the grid path (see [`term_grid`]): without FMA, `n ln2_hi` is exact for
/// `|n| < 2^8`; with FMA the reduction is exact further out, and the `n ln2_lo` tail stays
/// below `2^-34` of the result for `|n| < 2^10`.
const GRID_LIMIT: f64 = 170.0;
const GRID_LIMIT_FMA: f64 = 600.0;
/// The same for `f64` lanes, whose `ln2_hi` has 32 trailing zero bits.
const GRID_LIMIT_F64: f64 = 1.0e6;

/// `e^r - 1` on the reduced range: the short `f32` polynomial, the crate's own for `f64`.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn expm1_reduced<L: Lane>(r: L) -> L {
    let p = if <L::Scalar as Float>::MANTISSA_DIGITS < 53 {
        vmath::estrin(r, &EXPM1_POLY_F32)
    } else {
        vmath::estrin(r, <L::Scalar as Float>::VM.expm1_poly)
    };
    (r * r).mul_add(p, r)
}

/// `1.5 * 2^(p-1)`: adding it rounds to an integer (ties to even), as `Lane::round`.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn round_shifter<L: Lane>() -> L {
    vmath::splat::<L>(1.5 * <L::Scalar as Float>::VM.shifter.to_f64())
}

/// `e^{v - r}` for `v - r <= 82` (`nr = -r`), the difference carried exactly (TwoSum) and
/// applied as `e^d (1 + lo)`: [`term`]'s reduction, with fewer selects. Below
/// `dmin = -(bias - 2) ln 2` (and for `v = -inf`, where TwoSum's error term is NaN) `lo` is
/// replaced by `-1`, which makes `e^d (1 + lo)` exactly 0; a NaN `v` keeps its NaN `lo` and
/// gives NaN (that is how the fast pass sees NaN rows).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn term_fast<L: Lane>(v: L, nr: L) -> L {
    let (r, n, lo) = fast_reduce(v, nr);
    fast_finish(r, n, lo)
}

/// The first half of [`term_fast`]: the reduced argument `r`, `n` and the tail `lo`
/// (replaced by `-1` below `dmin`). Split off for [`terms_skewed`], as [`grid_reduce`].
#[cfg_attr(not(nonlin_outline), inline(always))]
fn fast_reduce<L: Lane>(v: L, nr: L) -> (L, L, L) {
    let c = <L::Scalar as Float>::VM;
    let one = L::splat(<L::Scalar as Float>::ONE);
    let dmin = vmath::splat::<L>(-(c.bias.to_f64() - 2.0) * core::f64::consts::LN_2);
    let sh = round_shifter::<L>();
    let (d, lo) = two_sum_l(v, nr);
    let dc = d.max(dmin);
    let n = dc.mul_add(L::splat(c.log2e), sh) - sh;
    let r = n.mul_add(-L::splat(c.ln2_hi), dc);
    let r = n.mul_add(-L::splat(c.ln2_lo), r);
    let lo = L::select(d.lt(dmin), -one, lo);
    (r, n, lo)
}

/// The second half of [`term_fast`]: `e^r 2^n (1 + lo)`.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn fast_finish<L: Lane>(r: L, n: L, lo: L) -> L {
    let q = expm1_reduced(r);
    let s = L::pow2i(n);
    let e = q.mul_add(s, s);
    e.mul_add(lo, e)
}

/// `e^{v - k ln2}` for a reference on the `ln 2` grid (`k` an integer,
/// `sh2 = bias - 2^(p-2) - k`, `xlo = (k - bias) ln 2`): `2^{n - k} e^{v - n ln2}` with
/// `n = round(v / ln2)`. No difference `v - r` is formed, so no TwoSum: the Cody–Waite
/// reduction `v - n ln2_hi` is exact for `|v| <` [`GRID_LIMIT`] (the caller checks), and
/// `2^{n-k}` is exact. Entries below `xlo` (`-inf` included) are clamped to it, where
/// `n - k = -bias` and `pow2i` builds `+0`: the term is exactly 0 below
/// `(k - bias + 1/2) ln 2`. NaN rows are caught by the caller.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn term_grid<L: Lane>(v: L, xlo: L, sh2: L) -> L {
    let (r, t) = grid_reduce(v, xlo);
    grid_finish(r, t, sh2)
}

/// The first half of [`term_grid`]: the reduced argument `r = v - n ln 2` and the shifted
/// `t = n + 1.5 * 2^(p-1)`. Split off so that a loop can run it one chunk ahead of
/// [`grid_finish`] (see [`terms_skewed`]).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn grid_reduce<L: Lane>(v: L, xlo: L) -> (L, L) {
    let c = <L::Scalar as Float>::VM;
    let sh = round_shifter::<L>();
    let xc = xlo.max(v);
    let t = xc.mul_add(L::splat(c.log2e), sh);
    let n = t - sh;
    let r = n.mul_add(-L::splat(c.ln2_hi), xc);
    let r = n.mul_add(-L::splat(c.ln2_lo), r);
    (r, t)
}

/// The second half of [`term_grid`]: `2^{n - k} e^r` from [`grid_reduce`]'s `(r, t)`.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn grid_finish<L: Lane>(r: L, t: L, sh2: L) -> L {
    let q = expm1_reduced(r);
    // `t + sh2 = n - k + bias + 2^(p-1)` exactly (integers below 2^p), the argument of
    // `pow2i_biased`: one addition where `pow2i(t - (1.5 * 2^(p-1) + k))` takes two.
    let s = L::pow2i_biased(t + sh2);
    q.mul_add(s, s)
}

/// `ln 2 - LN_2`: the tail of `ln 2` beyond `f64`.
const LN2_TAIL: f64 = 2.3190468138462996e-17;

/// `e^{±(a - ref)}` (`+` when `up`), `ref = r` exactly or, on the grid, `k ln 2` carried
/// in double-double (`k ln 2` rounded to `f64` would cost `k 2^-53` in the argument, more
/// than an `f64` row can spare). `a = -inf` gives 0 (with `up`).
#[inline]
pub(crate) fn exp_ref(a: f64, r: f64, k: f64, grid: bool, up: bool) -> f64 {
    if !grid {
        return if up {
            exp_diff64(a, r, 1.0)
        } else {
            exp_diff64(r, a, 1.0)
        };
    }
    if a == f64::NEG_INFINITY {
        return if up { 0.0 } else { f64::INFINITY };
    }
    let (p, pe) = two_prod(k, core::f64::consts::LN_2);
    let (d, de) = two_sum(a, -p);
    let lo = clean64(de - (pe + k * LN2_TAIL));
    let (d, lo) = if up { (d, lo) } else { (-d, -lo) };
    first(vmath::exp_dd(P64::splat(d), P64::splat(lo)))
}

/// The exponent reference of the fast pass, as lanes: `r` itself (negated) for
/// [`term_fast`], or `k` on the `ln 2` grid for [`term_grid`].
#[derive(Clone, Copy)]
struct RefLanes<L> {
    nr: L,
    xlo: L,
    sh2: L,
}

impl<L: Lane> RefLanes<L> {
    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn new(r: f64, k: f64) -> Self {
        let bias = <L::Scalar as Float>::VM.bias.to_f64();
        RefLanes {
            nr: vmath::splat::<L>(-r),
            xlo: vmath::splat::<L>((k - bias) * core::f64::consts::LN_2),
            sh2: vmath::splat::<L>(bias - 0.5 * <L::Scalar as Float>::VM.shifter.to_f64() - k),
        }
    }

    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn term<const GRID: bool>(&self, v: L) -> L {
        if GRID {
            term_grid(v, self.xlo, self.sh2)
        } else {
            term_fast(v, self.nr)
        }
    }

    /// [`RefLanes::term`] in two halves (see [`terms_skewed`]); `finish(reduce(v))` is
    /// `term(v)`, bit for bit.
    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn reduce<const GRID: bool>(&self, v: L) -> (L, L, L) {
        if GRID {
            let (r, t) = grid_reduce(v, self.xlo);
            (r, t, t)
        } else {
            fast_reduce(v, self.nr)
        }
    }

    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn finish<const GRID: bool>(&self, (r, t, lo): (L, L, L)) -> L {
        if GRID {
            grid_finish(r, t, self.sh2)
        } else {
            fast_finish(r, t, lo)
        }
    }
}

/// The terms of `xs` (no copy of the maximum among them; [`term_grid`] when `GRID`,
/// [`term_fast`] otherwise) added to `acc` and, with `STORE`, written scaled by `sc` to
/// `ds`, software-pipelined: the reduction of chunk `i + 2` and the polynomial of chunk
/// `i + 1` are issued before chunk `i` is added and stored. Each chunk's term comes from
/// the same operations as [`RefLanes::term`] (so the write pass, which recomputes some
/// terms with it, gets the same bits). A term is a chain of some twenty dependent
/// operations, and the out-of-order window holds only a few chunks' worth of them; issued
/// this way, each chunk's chain has started two iterations before its end is needed.
/// `ahead` (the next block) is prefetched, one chunk per chunk.
///
/// Measured against the unpipelined loop (rows of 1000, AVX2, CPU time of a loop over 1024
/// rows, best of 5-7 alternating runs): `f32` softmax +10%, log_softmax +7%,
/// cross-entropy +8%, with its gradient +8%; `f64` softmax +8% and +10% (two runs).
/// Computing whole terms one or two chunks ahead instead gained less (0 to +7%, `f32`).
/// The pipeline keeps three more lanes live, so the terms go through
/// [`Acc::add_nonneg`]: with [`Acc::add`], one `f64` accumulator of cross-entropy's loop
/// was kept in memory (a store and reload on each chunk) and it ran 2% slower than
/// without the pipeline.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn terms_skewed<B: Family, T: Float, U: Float, const STORE: bool, const GRID: bool>(
    xs: &[T],
    ds: &mut [T],
    rl: &RefLanes<Ln<B, U>>,
    sc: Ln<B, U>,
    acc: &mut Acc<B>,
    ahead: *const T,
) {
    let n = Ln::<B, U>::LANES;
    let mut it = xs.chunks_exact(n);
    let mut dt = ds.chunks_exact_mut(n);
    let mut at = 0;
    // A macro, not a closure: a closure is not inlined into the backend's
    // `#[target_feature]` function reliably, and its lane operations then become calls.
    macro_rules! emit {
        ($e:expr, $dt:expr) => {{
            let e: Ln<B, U> = $e;
            crate::driver::prefetch(ahead.wrapping_add(at));
            at += n;
            acc.add_nonneg(e);
            if STORE && let Some(d) = $dt.next() {
                store_as::<T, Ln<B, U>>(e * sc, d);
            }
        }};
    }
    // Two whole chunks at least (then both `next` are `Some`): the pipeline's prologue.
    if xs.len() >= 2 * n
        && let (Some(c0), Some(c1)) = (it.next(), it.next())
    {
        let mut e = rl.finish::<GRID>(rl.reduce::<GRID>(load_full::<B, T, U>(c0)));
        let mut p = rl.reduce::<GRID>(load_full::<B, T, U>(c1));
        for c in &mut it {
            let p2 = rl.reduce::<GRID>(load_full::<B, T, U>(c));
            let e1 = rl.finish::<GRID>(p);
            emit!(e, dt);
            (e, p) = (e1, p2);
        }
        emit!(e, dt);
        emit!(rl.finish::<GRID>(p), dt);
    }
    // Fewer than two whole chunks: unpipelined.
    for c in &mut it {
        emit!(rl.term::<GRID>(load_full::<B, T, U>(c)), dt);
    }
    let c = it.remainder();
    if !c.is_empty() {
        let e = rl.term::<GRID>(load_pad::<B, T, U>(c, U::NEG_INFINITY));
        acc.add(e);
        if STORE {
            store_as::<T, Ln<B, U>>(e * sc, dt.into_remainder());
        }
    }
}

/// Stores the first `d.len()` elements of `r` converted to `T`.
#[cfg_attr(not(nonlin_outline), inline(always))]
// The two branches are the same code on purpose: in the first the compiler knows the
// length, and emits one vector store instead of a loop of scalar stores.
#[allow(clippy::if_same_then_else)]
fn store_as<T: Float, L: Lane>(r: L, d: &mut [T]) {
    let a = r.to_array();
    if d.len() == L::LANES {
        for (o, v) in d.iter_mut().zip(a.as_ref()) {
            *o = T::from_f64(v.to_f64());
        }
    } else {
        for (o, v) in d.iter_mut().zip(a.as_ref()) {
            *o = T::from_f64(v.to_f64());
        }
    }
}

/// Runs `body` on each lane `$v` of `src` (the tail padded with `pad`) and, when `STORE`,
/// writes its result to the same positions of `dst` (`dst` as long as `src`). A macro, not
/// a function taking a closure, so that the body is compiled inside its caller (see
/// `driver::lane_loop`).
macro_rules! scan_lanes {
    (<$B:ty, $T:ty, $U:ty, $store:ident> ($src:expr, $pad:expr, $dst:expr) |$v:ident| $body:expr) => {{
        // Whole chunks, then the padded tail through the same body (see `driver::chunk_loop`
        // for why the two are written out separately).
        // `chunks_exact_mut`, not `chunks_mut`: the stores of whole chunks are then known to
        // be whole lanes (one vector store, no length arithmetic per chunk).
        let n = <Ln<$B, $U> as Lane>::LANES;
        let mut dt = $dst.chunks_exact_mut(n);
        let mut it = $src.chunks_exact(n);
        for c in &mut it {
            let $v = load_full::<$B, $T, $U>(c);
            let r: Ln<$B, $U> = $body;
            if $store && let Some(d) = dt.next() {
                store_as::<$T, Ln<$B, $U>>(r, d);
            }
        }
        let c = it.remainder();
        if !c.is_empty() {
            let $v = load_pad::<$B, $T, $U>(c, $pad);
            let r: Ln<$B, $U> = $body;
            if $store {
                store_as::<$T, Ln<$B, $U>>(r, dt.into_remainder());
            }
        }
    }};
}

/// `body` on `f64` lanes: the lanes `$a`, `$b` of `T` widened to `f64` (`$x`, `$y`), the
/// result rounded back to `T` once. A macro for the reason given at [`scan_lanes`].
macro_rules! via_f64 {
    (<$B:ty, $T:ty> ($a:expr, $b:expr) |$x:ident, $y:ident| $body:expr) => {{
        let (aa, ba) = ($a.to_array(), $b.to_array());
        let mut out = <Ln<$B, $T> as Lane>::Array::default();
        for ((ac, bc), oc) in aa
            .as_ref()
            .chunks(4)
            .zip(ba.as_ref().chunks(4))
            .zip(out.as_mut().chunks_mut(4))
        {
            let (mut xa, mut ya) = ([0.0f64; 4], [0.0f64; 4]);
            for ((d, e), (&p, &q)) in xa.iter_mut().zip(ya.iter_mut()).zip(ac.iter().zip(bc)) {
                *d = p.to_f64();
                *e = q.to_f64();
            }
            let $x = d_from::<$B>(&xa);
            let $y = d_from::<$B>(&ya);
            let r: D<$B> = $body;
            for (o, &v) in oc.iter_mut().zip(r.to_array().as_ref().iter()) {
                *o = <$T>::from_f64(v);
            }
        }
        Ln::<$B, $T>::from_array(out)
    }};
}

/// Sub-blocks per block of the fast pass: 16 sub-blocks of sixteen 256-bit chunks, 8 KiB,
/// read twice (maximum, then terms) from L1. Against blocks of one sub-block (the online
/// pass before), softmax of rows of 1000 `f32` measured 4% faster and log_softmax the same
/// (best of 9 alternating runs); sub-blocks of eight chunks were 1-4% slower.
const FAST_SUBS: usize = 16;

/// `s` cut at `a <= b` into `[..a]`, `[a..b]`, `[b..]`, the cuts clamped to `s.len()`
/// (no panic path: the Cortex-M4F link check refuses one).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn split3<X>(s: &[X], a: usize, b: usize) -> (&[X], &[X], &[X]) {
    let (x, rest) = s.split_at_checked(a.min(s.len())).unwrap_or((s, &[]));
    let (y, z) = rest
        .split_at_checked(b.saturating_sub(a).min(rest.len()))
        .unwrap_or((rest, &[]));
    (x, y, z)
}

/// [`split3`] for mutable slices (an empty `s` gives three empty slices).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn split3_mut<X>(s: &mut [X], a: usize, b: usize) -> (&mut [X], &mut [X], &mut [X]) {
    let a = a.min(s.len());
    let Some((x, rest)) = s.split_at_mut_checked(a) else {
        return (&mut [], &mut [], &mut []);
    };
    let b = b.saturating_sub(a).min(rest.len());
    let Some((y, z)) = rest.split_at_mut_checked(b) else {
        return (&mut [], &mut [], &mut []);
    };
    (x, y, z)
}

/// What the fast pass found: the row's [`Stats`] (always [`Kind::Normal`]), the final
/// exponent reference (`r`, and `k` with `r = k ln 2` on the grid path), from which
/// element on the stored terms (if any) were computed against that final reference (the
/// ones before are recomputed by the write pass), and the range `max_from..max_to` of
/// sub-blocks outside which no element equals the row's maximum.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fast {
    pub(crate) st: Stats,
    r: f64,
    k: f64,
    grid: bool,
    valid_from: usize,
    max_from: usize,
    max_to: usize,
    /// `e^{r - M}`, which scaled the sum to `S` (the write pass needs it again).
    down: f64,
}

/// The online max-and-sum pass of [`row_stats`] for `T = 1`, in a cheaper form: blocks
/// whose maximum is below the running maximum (most of them) skip the arg-max bookkeeping,
/// and the terms come from [`term_grid`] (`GRID`) or [`term_fast`]. With
/// `STORE` the terms `e^{x - r} 2^-60` are written to `dst` for the write pass (`U = T`,
/// `f32`). Gives `None` for rows that hold a NaN or `+inf`, or only `-inf` (the caller then
/// runs [`row_stats`], whose special-row policies apply unchanged), and on the grid path
/// for rows beyond [`GRID_LIMIT`].
#[cfg_attr(not(nonlin_outline), inline(always))]
fn row_stats_fast<B: Family, T: Float, U: Float, const STORE: bool, const GRID: bool>(
    row: &[T],
    dst: &mut [T],
) -> Option<Fast> {
    let n = Ln::<B, U>::LANES;
    // Sub-blocks twice as long as the careful pass's blocks (sixteen 256-bit chunks): the
    // granularity at which the copies of the maximum are located. The online bookkeeping
    // (horizontal maximum, reference moves) runs once per block of `FAST_SUBS` sub-blocks,
    // which a row of 1000 `f32` fits in: its maximum is known before any term is formed,
    // so only the sub-blocks that hold it count copies, and the write pass compares with
    // the maximum only there. A block (8 KiB) is read a second time from L1.
    let sub = 2 * block_len::<U>(n);
    let nb = FAST_SUBS * sub;
    let sc = vmath::splat::<Ln<B, U>>(if STORE { STORE_SCALE } else { 1.0 });
    let lim = if U::MANTISSA_DIGITS >= 53 {
        GRID_LIMIT_F64
    } else if Ln::<B, U>::HAS_FMA {
        GRID_LIMIT_FMA
    } else {
        GRID_LIMIT
    };
    let bias = U::VM.bias.to_f64();
    let mut m = f64::NEG_INFINITY;
    let mut r = f64::NEG_INFINITY;
    let mut k = f64::NEG_INFINITY;
    let mut rl = RefLanes::<Ln<B, U>>::new(0.0, 0.0);
    let mut acc = Acc::<B>::new();
    let mut extra = (0.0f64, 0.0f64);
    let mut count: u64 = 0;
    let mut valid_from = 0;
    let mut max_from = 0;
    let mut max_to = 0;
    // Sum of the inputs: NaN when the row holds a NaN (the grid path's clamp may hide it).
    let mut vsum = zero::<Ln<B, U>>();
    let mut mlane = Ln::<B, U>::splat(U::NEG_INFINITY);
    let mut dblocks = dst.chunks_mut(nb);
    for (bi, block) in row.chunks(nb).enumerate() {
        let db = dblocks.next().unwrap_or(&mut []);
        let base = bi * nb;
        // The block's maximum `bm` (at least the running maximum `m`) and the first and
        // last sub-blocks that hold it (`first == usize::MAX`: none does, `bm = m` is not
        // reached in this block). Most sub-blocks lie wholly below the running maximum: one
        // compare settles that, and they need no horizontal maximum.
        let mut bm = m;
        let mut bml = mlane;
        let (mut first, mut last) = (usize::MAX, 0);
        for (j, sb) in block.chunks(sub).enumerate() {
            let mut vmax = Ln::<B, U>::splat(U::NEG_INFINITY);
            // Four chunks at a time: the sum's chain of dependent additions (3-4 cycles
            // each) is then one addition per four chunks, not per chunk.
            let mut it4 = sb.chunks_exact(4 * n);
            for c4 in &mut it4 {
                let (c01, c23) = c4.split_at(2 * n);
                let (c0, c1) = c01.split_at(n);
                let (c2, c3) = c23.split_at(n);
                let v0 = load_full::<B, T, U>(c0);
                let v1 = load_full::<B, T, U>(c1);
                let v2 = load_full::<B, T, U>(c2);
                let v3 = load_full::<B, T, U>(c3);
                vmax = vmax.max(v0.max(v1).max(v2.max(v3)));
                if GRID {
                    vsum = vsum + ((v0 + v1) + (v2 + v3));
                }
            }
            let mut it = it4.remainder().chunks_exact(n);
            for c in &mut it {
                let v = load_full::<B, T, U>(c);
                vmax = vmax.max(v);
                if GRID {
                    vsum = vsum + v;
                }
            }
            let rem = it.remainder();
            if !rem.is_empty() {
                vmax = vmax.max(load_pad::<B, T, U>(rem, U::NEG_INFINITY));
                if GRID {
                    vsum = vsum + load_pad::<B, T, U>(rem, U::ZERO);
                }
            }
            if !Ln::<B, U>::none(vmax.ge(bml)) {
                let h = hmax(vmax);
                if h > bm {
                    bm = h;
                    bml = Ln::<B, U>::splat(U::from_f64(h));
                    first = j;
                } else if first == usize::MAX {
                    first = j;
                }
                last = j;
            }
        }
        if bm == f64::INFINITY {
            return None;
        }
        if bm > m {
            if bm - r > BIAS + LAG {
                // As in `row_stats`: a new reference BIAS below the new maximum.
                let (r_new, k_new, f) = if GRID {
                    let k_new = libm::round((bm - BIAS) * core::f64::consts::LOG2_E);
                    if !(bm <= lim && (k_new - bias) * core::f64::consts::LN_2 >= -lim) {
                        return None;
                    }
                    // Both references on the grid: the rescale factor is a power of 2.
                    let f = if k == f64::NEG_INFINITY {
                        0.0
                    } else {
                        libm::ldexp(1.0, (k - k_new) as i32)
                    };
                    (k_new * core::f64::consts::LN_2, k_new, f)
                } else {
                    let r_new = U::from_f64(bm - BIAS).to_f64();
                    (r_new, 0.0, exp_diff64(r, r_new, 1.0))
                };
                let g = exp_ref(m, r_new, k_new, GRID, true);
                acc.scale(f);
                extra = (extra.0 * f, extra.1 * f);
                extra = dd_add_f64(extra, count as f64 * g);
                r = r_new;
                k = k_new;
                rl = RefLanes::new(r, k);
                valid_from = base;
            } else {
                // The counted maxima become terms, computed as every other term.
                let g = rl.term::<GRID>(Ln::<B, U>::splat(U::from_f64(m)));
                extra = dd_add_f64(extra, count as f64 * first_t(g));
            }
            count = 0;
            m = bm;
            max_from = base + first.saturating_mul(sub);
            mlane = bml;
        }
        // Three ranges: before, among and after the sub-blocks that hold the running
        // maximum; only the middle one counts copies of the maximum instead of adding them.
        let (a, b) = if first == usize::MAX {
            (block.len(), block.len())
        } else {
            let b = last.saturating_add(1).saturating_mul(sub).min(block.len());
            max_to = base + b;
            (first.saturating_mul(sub).min(b), b)
        };
        let (x0, x1, x2) = split3(block, a, b);
        let (d0, d1, d2) = split3_mut(db, a, b);
        for (xs, ds, counted) in [(x0, d0, false), (x1, d1, true), (x2, d2, false)] {
            if counted {
                scan_lanes!(<B, T, U, STORE> (xs, U::NEG_INFINITY, ds) |v| {
                    let e = rl.term::<GRID>(v);
                    let eq = v.eq(mlane);
                    count += u64::from(Ln::<B, U>::count(eq));
                    acc.add(Ln::<B, U>::select(eq, zero(), e));
                    e * sc
                });
            } else {
                // The same place in the next block (the next row, for rows of one block) is
                // prefetched while this one's terms, which are compute-bound, are formed:
                // the maximum scan then reads it from L1 (rows of 1000 `f32`, CPU time, best
                // of 7 and of 9 alternating runs: softmax +9% / +12%, log_softmax +0% /
                // +11%, cross-entropy +1% / +1%).
                let ahead = xs.as_ptr().wrapping_add(block.len());
                terms_skewed::<B, T, U, STORE, GRID>(xs, ds, &rl, sc, &mut acc, ahead);
            }
        }
    }
    let total = if U::MANTISSA_DIGITS < 53 {
        (acc.total_nonneg(), 0.0)
    } else {
        acc.total()
    };
    let s = dd_add(total, extra);
    let nan = vsum.is_nan().to_array().as_ref().iter().any(|v| v.is_nan());
    if nan || s.0.is_nan() || s.1.is_nan() || m == f64::NEG_INFINITY {
        return None;
    }
    let f = if r == m && !GRID {
        1.0
    } else {
        exp_ref(m, r, k, GRID, false)
    };
    let (ph, pl) = two_prod(s.0, f);
    let pl = pl + s.1 * f;
    let count = count as f64;
    Some(Fast {
        st: Stats {
            kind: Kind::Normal,
            m,
            count,
            rest: dd_add_f64((ph, pl), count - 1.0),
        },
        r,
        k,
        grid: GRID,
        valid_from,
        max_from,
        max_to,
        down: f,
    })
}

/// The fast pass for a row (`T = 1`): on the `ln 2` grid for `f32` rows (in `f32` or
/// `f64` lanes) where the row's range allows, TwoSum terms otherwise; `None` for the special rows (see
/// [`row_stats_fast`]). With `STORE` (`f32` rows only) the terms go to `dst`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn fast_stats<B: Family, T: Float, U: Float, const STORE: bool>(
    row: &[T],
    dst: &mut [T],
) -> Option<Fast> {
    // The fast pass is a second copy of the online pass, there for speed; the flash-saving
    // one-element lanes leave it out (the careful pass alone, within the same budgets).
    if cfg!(feature = "scalar-lanes") {
        return None;
    }
    // f64 rows keep the TwoSum terms: their measured worst cases are those of the careful
    // pass, while the grid's were up to 0.5 ULP worse (an f64 row has no margin to spare).
    if T::MANTISSA_DIGITS < 53
        && let Some(f) = row_stats_fast::<B, T, U, STORE, true>(row, dst)
    {
        return Some(f);
    }
    row_stats_fast::<B, T, U, STORE, false>(row, dst)
}

/// [`row_stats`] (`T = 1`) through the fast pass where it applies.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn row_stats1<B: Family, T: Float, U: Float>(row: &[T]) -> Stats {
    match fast_stats::<B, T, U, false>(row, &mut []) {
        Some(f) => f.st,
        None => row_stats::<B, T, U, false>(row, U::ONE),
    }
}

/// The write pass after [`fast_stats`] (`f32` rows): `dst = c p` with `p` the row's
/// softmax. Entries below the maximum are `t (f_hi + f_lo)` (one rounding) from their terms
/// `t = e^{x - r} 2^-60` and the factor `c e^{r - M} 2^60 / S`: the terms the fast pass
/// stored in `dst` (from `valid_from` on, when `stored`), the others recomputed from `src`
/// (or from `dst` itself in place) by the same lane code, hence the same bits. Entries
/// equal to the maximum get `c / S` directly (their term would be `e^{M - r}`, carrying an
/// `exp` rounding that `e^0 = 1` does not have: `softmax([80, 0])[0]` is exactly 1 and a
/// row of ties exactly `1/k`). Returns `false`, having written nothing, when `c` is so
/// small that the factor's low part would lose bits below `T`'s normal range, or above 1
/// (the stored terms' range is made for outputs `c p <= p`).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn write_scaled_fast<B: Family, T: Float>(
    src: Option<&[T]>,
    dst: &mut [T],
    fs: &Fast,
    c: f64,
    stored: bool,
) -> bool {
    // The stored terms stay normal where an output c p >= the smallest normal needs them
    // only for c <= 1 (softmax, a mean's gradient); a larger c (a weighted sum's w_t of
    // 1e21) makes outputs of subnormal stored terms normal numbers, 300 ULP off.
    if c > 1.0 || c.is_nan() {
        return false;
    }
    let (ih, il) = fs.st.inv_sum();
    let f = fs.down / STORE_SCALE;
    let (a, b) = (ih * c * f, il * c * f);
    let floor = T::MIN_POSITIVE.to_f64() * libm::ldexp(1.0, T::MANTISSA_DIGITS as i32 + 2);
    // The factor goes to `T` lanes: beyond `T::MAX` (an f32 class weight of 7e20 times the
    // stored terms' 2^60) its high part would be inf and an underflowed term times it NaN.
    if !(a.abs() >= floor && a.abs() < T::MAX.to_f64()) {
        return false;
    }
    let (h, l) = split_t::<T>((a, b));
    let (fh, fl) = (Ln::<B, T>::splat(h), Ln::<B, T>::splat(l));
    let pm = Ln::<B, T>::splat(T::from_f64(ih * c + il * c));
    let ml = Ln::<B, T>::splat(T::from_f64(fs.st.m));
    let rl = RefLanes::<Ln<B, T>>::new(fs.r, fs.k);
    let sc = vmath::splat::<Ln<B, T>>(STORE_SCALE);
    let grid = fs.grid;
    let len = dst.len();
    let vf = match src {
        Some(x) if stored => fs.valid_from.min(x.len()).min(len),
        _ => len,
    };
    let (d0, d1) = dst.split_at_mut(vf);
    lane_loop!(map <Ln<B, T>> (src.map(|x| x.get(..vf).unwrap_or(x)), d0) |x| {
        let e = if grid {
            rl.term::<true>(x)
        } else {
            rl.term::<false>(x)
        } * sc;
        Ln::<B, T>::select(x.eq(ml), pm, e.mul_add(fh, e * fl))
    });
    if let Some(x) = src
        && vf < len
    {
        let x1 = x.get(vf..).unwrap_or(&[]);
        if x1.len() != d1.len() {
            return false;
        }
        // No element outside the sub-blocks `max_from..max_to` equals the maximum: there
        // the stored terms are scaled without the compare, and `x` is not read again (on
        // random rows of 1000, all but one sub-block of 128).
        let mf = fs.max_from.saturating_sub(vf);
        let mt = fs.max_to.saturating_sub(vf).max(mf);
        let (d10, d11, d12) = split3_mut(d1, mf, mt);
        let (_, x11, _) = split3(x1, mf, mt);
        for d in [d10, d12] {
            crate::driver::chunk_loop!(
                <Ln<B, T>> in (e = d), out (r => d), (e.mul_add(fh, e * fl),)
            );
        }
        lane_loop!(map2_inplace <Ln<B, T>> (d11, x11) |e, x| {
            Ln::<B, T>::select(x.eq(ml), pm, e.mul_add(fh, e * fl))
        });
    }
    true
}

/// The `log_softmax` write pass of an `f32` row in `f64` lanes: `(x - M) - ln S`, the
/// difference exact in `f64` and one rounding to `T` at the end (cheaper than the
/// TwoSum chain in `T` lanes, and as accurate).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn write_log_wide<B: Family, T: Float>(src: Option<&[T]>, dst: &mut [T], st: &Stats) {
    let (lh, ll) = st.log_sum();
    // The lane's own widening (two conversions on AVX2), not `via_f64!`'s element copies.
    let nm = <Ln<B, T> as Lane>::Wide::splat(-st.m);
    let nl = <Ln<B, T> as Lane>::Wide::splat(-(lh + ll));
    lane_loop!(map <Ln<B, T>> (src, dst) |v| {
        let [a, b] = v.widen::<<Ln<B, T> as Lane>::Wide>();
        Ln::<B, T>::narrow([(a + nm) + nl, (b + nm) + nl])
    });
}

/// One row of `softmax` / `log_softmax`, `T = 1`: the fast pass where it applies (rows with
/// a finite maximum and no NaN), the careful [`row_stats`] and [`write_row`] otherwise.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn row1<B: Family, T: Float, const LOG: bool>(src: Option<&[T]>, dst: &mut [T], masked: MaskedRow) {
    let narrow = T::MANTISSA_DIGITS < 53;
    let x = src.unwrap_or(&[]);
    let fast = match (src, narrow && !LOG) {
        // Out of place: the terms go straight to `dst`.
        (Some(x), true) => fast_stats::<B, T, T, true>(x, dst),
        (Some(x), false) => fast_stats::<B, T, T, false>(x, &mut []),
        (None, _) => fast_stats::<B, T, T, false>(dst, &mut []),
    };
    let st = match fast {
        Some(fs) => {
            if LOG && narrow {
                write_log_wide::<B, T>(src, dst, &fs.st);
                return;
            }
            if !LOG && narrow && write_scaled_fast::<B, T>(src, dst, &fs, 1.0, src.is_some()) {
                return;
            }
            fs.st
        }
        None => match src {
            Some(_) => row_stats::<B, T, T, false>(x, T::ONE),
            None => row_stats::<B, T, T, false>(dst, T::ONE),
        },
    };
    write_row::<B, T, false, LOG>(src, dst, &st, T::ONE, masked);
}

// ------------------------------------------------------------------------------------------
// Public API.

/// What `softmax` and `log_softmax` return for a fully masked row (every entry `-inf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MaskedRow {
    /// `softmax` gives zeros and `log_softmax` gives `-inf` (the default): a masked row
    /// contributes nothing downstream and gets a zero gradient.
    #[default]
    Zero,
    /// Both give NaN, as PyTorch does.
    Nan,
}

/// Options of [`softmax_with`] and [`log_softmax_with`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxOptions<T> {
    /// Temperature `T`: the functions act on `x / T`. Finite and `> 0`; default 1.
    pub temperature: T,
    /// Result for a fully masked row; default [`MaskedRow::Zero`].
    pub masked_row: MaskedRow,
}

impl<T: Float> Default for SoftmaxOptions<T> {
    fn default() -> Self {
        SoftmaxOptions {
            temperature: T::ONE,
            masked_row: MaskedRow::Zero,
        }
    }
}

/// Checks `cols` against the slice length and returns the number of rows.
#[inline]
pub(crate) fn check_cols(len: usize, cols: usize) -> Result<usize, Error> {
    if cols == 0 || !len.is_multiple_of(cols) {
        Err(Error::InvalidShape {
            name: "cols",
            value: cols,
            len,
        })
    } else {
        Ok(len / cols)
    }
}

/// The write pass of one row.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn write_row<B: Family, T: Float, const TEMP: bool, const LOG: bool>(
    src: Option<&[T]>,
    dst: &mut [T],
    st: &Stats,
    t: T,
    masked: MaskedRow,
) {
    match st.kind {
        Kind::Nan => lane_loop!(map <Ln<B, T>> (src, dst) |_v| Ln::<B, T>::splat(T::NAN)),
        Kind::Masked => {
            let v = match (masked, LOG) {
                (MaskedRow::Nan, _) => T::NAN,
                (MaskedRow::Zero, true) => T::NEG_INFINITY,
                (MaskedRow::Zero, false) => T::ZERO,
            };
            lane_loop!(map <Ln<B, T>> (src, dst) |_v| Ln::<B, T>::splat(v));
        }
        Kind::PosInf => {
            let inf = Ln::<B, T>::splat(T::INFINITY);
            let (on, off) = if LOG {
                (T::from_f64(-ln64(st.count)), T::NEG_INFINITY)
            } else {
                (T::from_f64(1.0 / st.count), T::ZERO)
            };
            let (on, off) = (Ln::<B, T>::splat(on), Ln::<B, T>::splat(off));
            lane_loop!(map <Ln<B, T>> (src, dst) |v| Ln::<B, T>::select(v.eq(inf), on, off));
        }
        Kind::Normal => {
            let nm = Ln::<B, T>::splat(T::from_f64(-st.m));
            let tl = Ln::<B, T>::splat(t);
            if LOG {
                let (lh, ll) = split_t::<T>(st.log_sum());
                let (nlh, ll) = (Ln::<B, T>::splat(-lh), Ln::<B, T>::splat(ll));
                lane_loop!(map <Ln<B, T>> (src, dst) |v| {
                    let (q, rr) = arg::<Ln<B, T>, TEMP>(v, nm, tl);
                    // q <= 0 and -L <= 0: no cancellation; TwoSum keeps one rounding.
                    let (s, e) = two_sum_l(q, nlh);
                    s + ((clean(e) + rr) - ll)
                });
            } else {
                let (ih, il, k) = write_factor::<B, T>(st.inv_sum());
                lane_loop!(map <Ln<B, T>> (src, dst) |v| {
                    let e = term::<Ln<B, T>, TEMP>(v, nm, tl, k);
                    e.mul_add(ih, e * il)
                });
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Dispatch: each entry point runs its `*_on` body on the backend selected at run time.

/// `softmax` / `log_softmax` rows, out of place.
fn rows_impl<T: Float, const LOG: bool>(
    x: &[T],
    cols: usize,
    opts: SoftmaxOptions<T>,
    out: &mut [T],
) -> Result<(), Error> {
    struct Job<'a, T, const LOG: bool>(&'a [T], usize, SoftmaxOptions<T>, &'a mut [T]);
    impl<T: Float, const LOG: bool> LaneFn for Job<'_, T, LOG> {
        type Output = Result<(), Error>;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> Self::Output {
            rows_impl_on::<B, T, LOG>(self.0, self.1, self.2, self.3)
        }
    }
    backend::run(Job::<T, LOG>(x, cols, opts, out))
}

/// `softmax` / `log_softmax` rows, in place.
fn rows_inplace_impl<T: Float, const LOG: bool>(
    x: &mut [T],
    cols: usize,
    opts: SoftmaxOptions<T>,
) -> Result<(), Error> {
    struct Job<'a, T, const LOG: bool>(&'a mut [T], usize, SoftmaxOptions<T>);
    impl<T: Float, const LOG: bool> LaneFn for Job<'_, T, LOG> {
        type Output = Result<(), Error>;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> Self::Output {
            rows_inplace_impl_on::<B, T, LOG>(self.0, self.1, self.2)
        }
    }
    backend::run(Job::<T, LOG>(x, cols, opts))
}

/// `logsumexp` rows.
fn logsumexp_impl<T: Float>(x: &[T], cols: usize, t: T, out: &mut [T]) -> Result<(), Error> {
    struct Job<'a, T>(&'a [T], usize, T, &'a mut [T]);
    impl<T: Float> LaneFn for Job<'_, T> {
        type Output = Result<(), Error>;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> Self::Output {
            logsumexp_impl_on::<B, T>(self.0, self.1, self.2, self.3)
        }
    }
    backend::run(Job(x, cols, t, out))
}

/// The backward passes (`LOG`: of `log_softmax`).
fn backward_impl<T: Float, const LOG: bool, const TEMP: bool>(
    y: &[T],
    grad_out: &[T],
    cols: usize,
    t: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    struct Job<'a, T, const LOG: bool, const TEMP: bool>(&'a [T], &'a [T], usize, T, &'a mut [T]);
    impl<T: Float, const LOG: bool, const TEMP: bool> LaneFn for Job<'_, T, LOG, TEMP> {
        type Output = Result<(), Error>;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> Self::Output {
            if LOG {
                log_softmax_backward_impl_on::<B, T, TEMP>(self.0, self.1, self.2, self.3, self.4)
            } else {
                softmax_backward_impl_on::<B, T, TEMP>(self.0, self.1, self.2, self.3, self.4)
            }
        }
    }
    backend::run(Job::<T, LOG, TEMP>(y, grad_out, cols, t, grad_in))
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn rows_impl_on<B: Family, T: Float, const LOG: bool>(
    x: &[T],
    cols: usize,
    opts: SoftmaxOptions<T>,
    out: &mut [T],
) -> Result<(), Error> {
    check_cols(x.len(), cols)?;
    check_len("out", x.len(), out.len())?;
    check_positive("temperature", opts.temperature.to_f64())?;
    let t = opts.temperature;
    if t == T::ONE {
        for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
            row1::<B, T, LOG>(Some(xr), or, opts.masked_row);
        }
    } else {
        for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
            let st = row_stats::<B, T, T, true>(xr, t);
            write_row::<B, T, true, LOG>(Some(xr), or, &st, t, opts.masked_row);
        }
    }
    Ok(())
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn rows_inplace_impl_on<B: Family, T: Float, const LOG: bool>(
    x: &mut [T],
    cols: usize,
    opts: SoftmaxOptions<T>,
) -> Result<(), Error> {
    check_cols(x.len(), cols)?;
    check_positive("temperature", opts.temperature.to_f64())?;
    let t = opts.temperature;
    if t == T::ONE {
        for row in x.chunks_exact_mut(cols) {
            row1::<B, T, LOG>(None, row, opts.masked_row);
        }
    } else {
        for row in x.chunks_exact_mut(cols) {
            let st = row_stats::<B, T, T, true>(row, t);
            write_row::<B, T, true, LOG>(None, row, &st, t, opts.masked_row);
        }
    }
    Ok(())
}

/// Row-wise softmax: for each row of `cols` elements,
/// `out[j] = e^{x[j] - M} / Σ_k e^{x[k] - M}` (`M` the row maximum).
///
/// Domain: any values. Special rows (see the [module docs](self)): a NaN anywhere in the
/// row gives a row of NaN; `k` entries `+inf` get `1/k` each and the rest 0; `-inf`
/// entries get exactly 0; a row of only `-inf` gives zeros (use [`softmax_with`] with
/// [`MaskedRow::Nan`] for PyTorch's NaN). Results below the normal range are computed, not
/// flushed.
///
/// Accuracy: every output within 4 ULP (f32) / 4 ULP (f64) of the exact softmax of the row,
/// whatever the row's spread (tested on rows of 1 to 50,000 columns with 1000-wide spreads).
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `x.len()`;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`. Nothing is written then.
///
/// # Example
/// ```
/// use nonlin::softmax::softmax;
/// let x = [1.0f32, 2.0, 3.0, 0.0, 0.0, f32::NEG_INFINITY];
/// let mut y = [0.0f32; 6];
/// softmax(&x, 3, &mut y)?;
/// assert!((y[2] - 0.66524096).abs() < 1e-7);
/// assert_eq!(&y[3..], &[0.5, 0.5, 0.0]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax<T: Float>(x: &[T], cols: usize, out: &mut [T]) -> Result<(), Error> {
    rows_impl::<T, false>(x, cols, SoftmaxOptions::default(), out)
}

/// [`softmax`] in place on each row of `x`. Same accuracy and special rows.
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `x.len()` (nothing is written).
///
/// # Example
/// ```
/// let mut x = [0.0f64, 0.0, 0.0, 0.0];
/// nonlin::softmax::softmax_inplace(&mut x, 4)?;
/// assert_eq!(x, [0.25; 4]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_inplace<T: Float>(x: &mut [T], cols: usize) -> Result<(), Error> {
    rows_inplace_impl::<T, false>(x, cols, SoftmaxOptions::default())
}

/// Row-wise log-softmax: `out[j] = (x[j] - M) - log1p(S_rest)` with `M` the row maximum and
/// `S_rest = Σ_{k ≠ argmax} e^{x[k] - M}`, i.e. `x[j] - logsumexp(row)` without the
/// cancellation: the dominant entry keeps relative accuracy
/// (`log_softmax([60, 0])[0] = -8.7565e-27`, not 0).
///
/// Domain: any values. Special rows: NaN anywhere gives NaN; `k` entries `+inf` give
/// `-ln k` there and `-inf` elsewhere; `-inf` entries give `-inf`; a row of only `-inf`
/// gives `-inf` (PyTorch: NaN; see [`log_softmax_with`]).
///
/// Accuracy: within 4 ULP (f32) / 4 ULP (f64) of the exact value, every entry.
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `x.len()`;
/// [`Error::LengthMismatch`] if `out.len() != x.len()`.
///
/// # Example
/// ```
/// let mut y = [0.0f64; 2];
/// nonlin::softmax::log_softmax(&[60.0, 0.0], 2, &mut y)?;
/// assert!((y[0] / -8.75651076269652e-27 - 1.0).abs() < 1e-15);
/// assert!((y[1] + 60.0).abs() < 1e-13);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax<T: Float>(x: &[T], cols: usize, out: &mut [T]) -> Result<(), Error> {
    rows_impl::<T, true>(x, cols, SoftmaxOptions::default(), out)
}

/// [`log_softmax`] in place. Same accuracy and special rows.
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `x.len()`.
///
/// # Example
/// ```
/// let mut x = [0.0f32, 0.0];
/// nonlin::softmax::log_softmax_inplace(&mut x, 2)?;
/// assert_eq!(x, [-core::f32::consts::LN_2; 2]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_inplace<T: Float>(x: &mut [T], cols: usize) -> Result<(), Error> {
    rows_inplace_impl::<T, true>(x, cols, SoftmaxOptions::default())
}

/// Softmax of `x / T` per row: `out[j] = e^{(x[j] - M)/T} / Σ_k e^{(x[k] - M)/T}`.
///
/// The exponent `(x[j] - M)/T` is formed exactly to first order (TwoSum and the exact
/// division remainder), so no accuracy is lost to the scaling even for tiny `T`. Special
/// rows as for [`softmax`]. Accuracy: 4 ULP (f32) / 4 ULP (f64).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `temperature` unless it is finite and `> 0`;
/// [`Error::InvalidShape`] / [`Error::LengthMismatch`] as for [`softmax`].
///
/// # Example
/// ```
/// let mut y = [0.0f32; 2];
/// nonlin::softmax::softmax_temperature(&[1.0, 0.0], 2, 0.5, &mut y)?;
/// assert!((y[0] - 0.880797).abs() < 1e-6); // sigmoid(2)
/// assert!(nonlin::softmax::softmax_temperature(&[1.0f32], 1, 0.0, &mut y[..1]).is_err());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_temperature<T: Float>(
    x: &[T],
    cols: usize,
    temperature: T,
    out: &mut [T],
) -> Result<(), Error> {
    let opts = SoftmaxOptions {
        temperature,
        masked_row: MaskedRow::Zero,
    };
    rows_impl::<T, false>(x, cols, opts, out)
}

/// [`softmax_temperature`] in place.
///
/// # Errors
/// As [`softmax_temperature`].
///
/// # Example
/// ```
/// let mut x = [2.0f64, 0.0];
/// nonlin::softmax::softmax_temperature_inplace(&mut x, 2, 2.0)?;
/// assert!((x[0] - 0.7310585786300049).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_temperature_inplace<T: Float>(
    x: &mut [T],
    cols: usize,
    temperature: T,
) -> Result<(), Error> {
    let opts = SoftmaxOptions {
        temperature,
        masked_row: MaskedRow::Zero,
    };
    rows_inplace_impl::<T, false>(x, cols, opts)
}

/// Log-softmax of `x / T` per row: `out[j] = (x[j] - M)/T - log1p(S_rest)`. Special rows as
/// for [`log_softmax`]. Accuracy: 4 ULP (f32) / 4 ULP (f64).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `temperature` unless it is finite and `> 0`;
/// [`Error::InvalidShape`] / [`Error::LengthMismatch`] as for [`log_softmax`].
///
/// # Example
/// ```
/// let mut y = [0.0f64; 2];
/// nonlin::softmax::log_softmax_temperature(&[2.0, 0.0], 2, 2.0, &mut y)?;
/// assert!((y[1] + 1.3132616875182228).abs() < 1e-15); // -softplus(1)
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_temperature<T: Float>(
    x: &[T],
    cols: usize,
    temperature: T,
    out: &mut [T],
) -> Result<(), Error> {
    let opts = SoftmaxOptions {
        temperature,
        masked_row: MaskedRow::Zero,
    };
    rows_impl::<T, true>(x, cols, opts, out)
}

/// [`log_softmax_temperature`] in place.
///
/// # Errors
/// As [`log_softmax_temperature`].
///
/// # Example
/// ```
/// let mut x = [1.0f32, 1.0];
/// nonlin::softmax::log_softmax_temperature_inplace(&mut x, 2, 3.0)?;
/// assert_eq!(x, [-core::f32::consts::LN_2; 2]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_temperature_inplace<T: Float>(
    x: &mut [T],
    cols: usize,
    temperature: T,
) -> Result<(), Error> {
    let opts = SoftmaxOptions {
        temperature,
        masked_row: MaskedRow::Zero,
    };
    rows_inplace_impl::<T, true>(x, cols, opts)
}

/// [`softmax`] with options: a temperature and the fully-masked-row policy.
///
/// # Errors
/// As [`softmax_temperature`].
///
/// # Example
/// ```
/// use nonlin::softmax::{softmax_with, MaskedRow, SoftmaxOptions};
/// let x = [f32::NEG_INFINITY; 3];
/// let mut y = [0.0f32; 3];
/// let opts = SoftmaxOptions { masked_row: MaskedRow::Nan, ..Default::default() };
/// softmax_with(&x, 3, opts, &mut y)?;
/// assert!(y.iter().all(|v| v.is_nan())); // PyTorch's result
/// softmax_with(&x, 3, SoftmaxOptions::default(), &mut y)?;
/// assert_eq!(y, [0.0; 3]); // the default
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_with<T: Float>(
    x: &[T],
    cols: usize,
    opts: SoftmaxOptions<T>,
    out: &mut [T],
) -> Result<(), Error> {
    rows_impl::<T, false>(x, cols, opts, out)
}

/// [`softmax_with`] in place.
///
/// # Errors
/// As [`softmax_temperature`].
///
/// # Example
/// ```
/// use nonlin::softmax::{softmax_with_inplace, SoftmaxOptions};
/// let mut x = [0.0f64, 0.0];
/// softmax_with_inplace(&mut x, 2, SoftmaxOptions::default())?;
/// assert_eq!(x, [0.5, 0.5]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_with_inplace<T: Float>(
    x: &mut [T],
    cols: usize,
    opts: SoftmaxOptions<T>,
) -> Result<(), Error> {
    rows_inplace_impl::<T, false>(x, cols, opts)
}

/// [`log_softmax`] with options: a temperature and the fully-masked-row policy
/// ([`MaskedRow::Zero`] gives `-inf`, [`MaskedRow::Nan`] gives NaN).
///
/// # Errors
/// As [`log_softmax_temperature`].
///
/// # Example
/// ```
/// use nonlin::softmax::{log_softmax_with, MaskedRow, SoftmaxOptions};
/// let mut y = [0.0f64; 2];
/// let opts = SoftmaxOptions { masked_row: MaskedRow::Nan, temperature: 1.0 };
/// log_softmax_with(&[f64::NEG_INFINITY; 2], 2, opts, &mut y)?;
/// assert!(y[0].is_nan());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_with<T: Float>(
    x: &[T],
    cols: usize,
    opts: SoftmaxOptions<T>,
    out: &mut [T],
) -> Result<(), Error> {
    rows_impl::<T, true>(x, cols, opts, out)
}

/// [`log_softmax_with`] in place.
///
/// # Errors
/// As [`log_softmax_temperature`].
///
/// # Example
/// ```
/// use nonlin::softmax::{log_softmax_with_inplace, SoftmaxOptions};
/// let mut x = [f32::NEG_INFINITY; 2];
/// log_softmax_with_inplace(&mut x, 2, SoftmaxOptions::default())?;
/// assert_eq!(x, [f32::NEG_INFINITY; 2]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_with_inplace<T: Float>(
    x: &mut [T],
    cols: usize,
    opts: SoftmaxOptions<T>,
) -> Result<(), Error> {
    rows_inplace_impl::<T, true>(x, cols, opts)
}

/// Smallest `|logsumexp|` of an `f32` row that the `f32`-lane pass may give. Each `f32`
/// term carries a few roundings (of the reduced argument, the polynomial and the scaling;
/// one more on the TwoSum-term form of rows beyond the grid's range), a little over
/// `2^-24` relative, and so does `ln S` in absolute terms where the terms are equal (a row
/// of `cols - 1` equal entries below its maximum leaves none of it to cancel): about a
/// third of an ULP of a result just above 2 (the test `logsumexp_f32_lane_pass_threshold`
/// measures 0.81 ULP in all on such a row). Below it, the row is computed in `f64` lanes.
const LSE_F32_MIN: f64 = 2.0;

#[cfg_attr(not(nonlin_outline), inline(always))]
fn logsumexp_impl_on<B: Family, T: Float>(
    x: &[T],
    cols: usize,
    t: T,
    out: &mut [T],
) -> Result<(), Error> {
    let rows = check_cols(x.len(), cols)?;
    check_len("out", rows, out.len())?;
    check_positive("temperature", t.to_f64())?;
    let t64 = t.to_f64();
    for (xr, o) in x.chunks_exact(cols).zip(out.iter_mut()) {
        // f32 rows (T = 1) whose result is at least LSE_F32_MIN in magnitude take the fast
        // pass in f32 lanes, as softmax does (see LSE_F32_MIN for its error). The row's
        // maximum M bounds the result, M <= M + ln S <= M + ln(cols), and is known after a
        // scan that costs a fraction of the pass, so a row that may cancel goes straight to
        // the f64 lanes below instead of being computed twice. So do the rows whose M is not
        // finite (fully masked, +inf; a NaN may hide from the scan, the pass detects it).
        if T::MANTISSA_DIGITS < 53 && t == T::ONE {
            let m = row_max::<B, T, T>(xr);
            if m.is_finite() && (m >= LSE_F32_MIN || m + libm::log(cols as f64) <= -LSE_F32_MIN) {
                let st = row_stats1::<B, T, T>(xr);
                if let Kind::Normal = st.kind {
                    let (lh, ll) = st.log_sum();
                    let (s, e) = two_sum(st.m, lh);
                    *o = T::from_f64(s + (clean64(e) + ll));
                    continue;
                }
            }
        }
        // Otherwise in f64 lanes: for f32 rows the result M/T + ln S then keeps relative
        // accuracy through a cancellation of up to 2^29 (M < 0 with ln S ≈ -M/T).
        let st = if t == T::ONE {
            row_stats1::<B, T, f64>(xr)
        } else {
            row_stats::<B, T, f64, true>(xr, t64)
        };
        *o = match st.kind {
            Kind::Nan => T::NAN,
            Kind::PosInf => T::INFINITY,
            Kind::Masked => T::NEG_INFINITY,
            Kind::Normal => {
                let (q, rr) = div_dd(st.m, 0.0, t64);
                let (lh, ll) = st.log_sum();
                let (s, e) = two_sum(q, lh);
                let v = s + (clean64(e) + rr + ll);
                T::from_f64(v)
            }
        };
    }
    Ok(())
}

/// Row-wise log-sum-exp, one value per row: `out[i] = M + log1p(S_rest)`
/// `= ln Σ_j e^{x[i, j]}`, with `M` the row's maximum and `S_rest` summed in `f64`.
///
/// An `f32` row whose maximum guarantees `|result| >= 2` (`M >= 2`, or
/// `M + ln(cols) <= -2`: `ln S` lies in `[0, ln cols]`) is computed as softmax's first
/// pass, with `f32` terms; the others, and `f64` rows, in `f64` lanes. Measured with
/// `cargo run --release -p nonlin-benches --bin softmax_speed` (rows of 1000, default
/// build, AVX2 backend), against the same code with every `f32` row in `f64` lanes, three
/// alternating runs: logits in `[-8, 8)` 2.3x–2.4x the throughput (1471–1555 against
/// 640–647 Melem/s); rows whose results lie near 0, which take the `f64` lanes, 5–6% less
/// (610–614 against 646–649), the cost of reading the row once more for its maximum.
///
/// Domain: any values. A NaN in the row gives NaN; a `+inf` entry gives `+inf`; a row of
/// only `-inf` gives `-inf` (`ln 0`, under every policy, as in PyTorch).
///
/// Accuracy: within 2 ULP (f32) and 4 ULP (f64) of the exact value (measured in f32:
/// 0.81 ULP with FMA, 0.67 without, on rows at both sides of the choice above, the worst
/// case of the `f32` pass included). In f32 this holds even where
/// `M < 0` and `ln S ≈ -M` cancel, down to results of about `2^-25 ln S`, because such a
/// row is computed in `f64`
/// (`logsumexp([ln .5, ln .25, ln .25]) = -2.856981e-9` in f32, where peers return 0).
/// In f64, where they cancel (`|result| < ln S <= ln cols`), the error is at most
/// `1 ULP + 2^-51 ln S` (the terms' own `exp` rounding, which no f64 evaluation avoids).
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `x.len()`;
/// [`Error::LengthMismatch`] (naming `out`) if `out.len() != x.len() / cols`.
///
/// # Example
/// ```
/// let x = [0.5f32.ln(), 0.25f32.ln(), 0.25f32.ln()];
/// let mut l = [0.0f32; 1];
/// nonlin::softmax::logsumexp(&x, 3, &mut l)?;
/// assert!(l[0] < -2.8e-9 && l[0] > -3.0e-9);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn logsumexp<T: Float>(x: &[T], cols: usize, out: &mut [T]) -> Result<(), Error> {
    logsumexp_impl(x, cols, T::ONE, out)
}

/// Row-wise `ln Σ_j e^{x[i, j] / T}` (the log-normaliser of [`softmax_temperature`]; multiply
/// by `T` for the smooth maximum). Special values and accuracy as for [`logsumexp`].
///
/// # Errors
/// As [`logsumexp`], and [`Error::InvalidParameter`] naming `temperature` unless it is
/// finite and `> 0`.
///
/// # Example
/// ```
/// let mut l = [0.0f64; 1];
/// nonlin::softmax::logsumexp_temperature(&[2.0, 2.0], 2, 2.0, &mut l)?;
/// assert!((l[0] - (1.0 + core::f64::consts::LN_2)).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn logsumexp_temperature<T: Float>(
    x: &[T],
    cols: usize,
    temperature: T,
    out: &mut [T],
) -> Result<(), Error> {
    logsumexp_impl(x, cols, temperature, out)
}

// ------------------------------------------------------------------------------------------
// Backward passes.

/// Row sum of `a` (or of `a * b` when `b` is given), exact products, double-double result.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn row_dot<B: Family, T: Float>(a: &[T], b: Option<&[T]>) -> (f64, f64) {
    let n = Ln::<B, T>::LANES;
    let mut acc = Acc::<B>::new();
    let mut ai = a.chunks_exact(n);
    match b {
        Some(b) => {
            let mut bi = b.chunks_exact(n);
            for (ac, bc) in (&mut ai).zip(&mut bi) {
                acc.add_prod(load_full::<B, T, T>(ac), load_full::<B, T, T>(bc));
            }
            let (ar, br) = (ai.remainder(), bi.remainder());
            if !ar.is_empty() {
                acc.add_prod(
                    load_pad::<B, T, T>(ar, T::ZERO),
                    load_pad::<B, T, T>(br, T::ZERO),
                );
            }
        }
        None => {
            for ac in &mut ai {
                acc.add(load_full::<B, T, T>(ac));
            }
            let ar = ai.remainder();
            if !ar.is_empty() {
                acc.add(load_pad::<B, T, T>(ar, T::ZERO));
            }
        }
    }
    acc.total()
}

fn backward_checks<T: Float>(
    y: &[T],
    grad_out: &[T],
    cols: usize,
    t: T,
    grad_in: &[T],
) -> Result<(), Error> {
    check_cols(y.len(), cols)?;
    check_len("grad_out", y.len(), grad_out.len())?;
    check_len("grad_in", y.len(), grad_in.len())?;
    check_positive("temperature", t.to_f64())?;
    Ok(())
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn softmax_backward_impl_on<B: Family, T: Float, const TEMP: bool>(
    y: &[T],
    grad_out: &[T],
    cols: usize,
    t: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    backward_checks(y, grad_out, cols, t, grad_in)?;
    let tl = Ln::<B, T>::splat(t);
    for ((yr, gr), dr) in y
        .chunks_exact(cols)
        .zip(grad_out.chunks_exact(cols))
        .zip(grad_in.chunks_exact_mut(cols))
    {
        let (dh, dl) = split_t::<T>(row_dot::<B, T>(yr, Some(gr)));
        let (ndh, dl) = (Ln::<B, T>::splat(-dh), Ln::<B, T>::splat(dl));
        lane_loop!(map2 <Ln<B, T>> (yr, gr, dr) |y, g| {
            // dy - <dy, y> as s + (e - dl): the cancellation is the exact TwoSum part.
            let (s, e) = two_sum_l(g, ndh);
            let r = y.mul_add(s, y * (clean(e) - dl));
            if TEMP { r / tl } else { r }
        });
    }
    Ok(())
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn log_softmax_backward_impl_on<B: Family, T: Float, const TEMP: bool>(
    y_log: &[T],
    grad_out: &[T],
    cols: usize,
    t: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    backward_checks(y_log, grad_out, cols, t, grad_in)?;
    for ((yr, gr), dr) in y_log
        .chunks_exact(cols)
        .zip(grad_out.chunks_exact(cols))
        .zip(grad_in.chunks_exact_mut(cols))
    {
        let (sh, sl) = row_dot::<B, T>(gr, None);
        let (sh, sl) = (D::<B>::splat(sh), D::<B>::splat(sl));
        let t64 = D::<B>::splat(t.to_f64());
        lane_loop!(map2 <Ln<B, T>> (yr, gr, dr) |yl, g| {
            // In f64 lanes: e^{y_log} rounded to f32 would carry its rounding, amplified by
            // the cancellation of dy - p Σ, into the result.
            via_f64!(<B, T> (yl, g) |yl, g| {
                let p = vmath::exp(yl);
                let (ph, pl) = D::<B>::two_prod(p, sh);
                let r = (g - ph) - p.mul_add(sl, clean(pl));
                if TEMP { r / t64 } else { r }
            })
        });
    }
    Ok(())
}

/// Backward pass of [`softmax`]: `grad_in = y ⊙ (grad_out - ⟨grad_out, y⟩)` per row.
///
/// Takes the forward **output** `y` (the softmax probabilities), not its input: that is all
/// the gradient needs, and it saves recomputing the softmax. The row dot product is
/// accumulated exactly (f64 for f32, double-double for f64), so the only cancellation left
/// is the inherent one of `grad_out[j] - ⟨grad_out, y⟩`, taken exactly by TwoSum.
///
/// Accuracy: each entry within 4 ULP (f32 and f64; measured 1.0) of `y ⊙ (dy - dot)`
/// evaluated exactly on the given `y` and `dy`, wherever `dy - dot` does not cancel below
/// `2^-20` of its terms (there: 4 ULP of `|y| (|dy| + |dot|)`). NaN in gives NaN;
/// infinities propagate as in the formula.
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `y.len()`;
/// [`Error::LengthMismatch`] naming `grad_out` or `grad_in` if their lengths differ from
/// `y`'s.
///
/// # Example
/// ```
/// let y = [0.25f64, 0.75];
/// let mut g = [0.0f64; 2];
/// nonlin::softmax::softmax_backward(&y, &[1.0, 0.0], 2, &mut g)?;
/// assert_eq!(g, [0.25 * 0.75, -0.75 * 0.25]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_backward<T: Float>(
    y: &[T],
    grad_out: &[T],
    cols: usize,
    grad_in: &mut [T],
) -> Result<(), Error> {
    backward_impl::<T, false, false>(y, grad_out, cols, T::ONE, grad_in)
}

/// Backward pass of [`softmax_temperature`]: `grad_in = y ⊙ (grad_out - ⟨grad_out, y⟩) / T`,
/// from the forward **output** `y`. Accuracy: 4 ULP (one rounding more than
/// [`softmax_backward`]).
///
/// # Errors
/// As [`softmax_backward`], and [`Error::InvalidParameter`] naming `temperature`.
///
/// # Example
/// ```
/// let mut g = [0.0f32; 2];
/// nonlin::softmax::softmax_temperature_backward(&[0.5, 0.5], &[1.0, 0.0], 2, 0.5, &mut g)?;
/// assert_eq!(g, [0.5, -0.5]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_temperature_backward<T: Float>(
    y: &[T],
    grad_out: &[T],
    cols: usize,
    temperature: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    backward_impl::<T, false, true>(y, grad_out, cols, temperature, grad_in)
}

/// Backward pass of [`log_softmax`]: `grad_in = grad_out - e^{y_log} Σ grad_out` per row.
///
/// Takes the forward **output** `y_log` (the log-probabilities). `Σ grad_out` is summed
/// exactly (double-double), and the entries are computed in `f64` lanes with
/// `e^{y_log} Σ` formed as an exact product before the subtraction. Accuracy against the
/// formula evaluated exactly on the given `y_log` and `grad_out`: f32 within 4 ULP
/// (measured 0.5) unless `dy - e^{y_log} Σ` cancels below `2^-20` of its terms; f64 within
/// 4 ULP (measured 1.5) where it does not cancel, and `1 ULP + 2^-52 |e^{y_log} Σ|` where
/// it does (the `exp` rounding). `y_log = -inf` gives `grad_in = grad_out`. NaN propagates.
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is 0 or does not divide `y_log.len()`;
/// [`Error::LengthMismatch`] naming `grad_out` or `grad_in`.
///
/// # Example
/// ```
/// let y_log = [0.5f64.ln(), 0.5f64.ln()];
/// let mut g = [0.0f64; 2];
/// nonlin::softmax::log_softmax_backward(&y_log, &[1.0, 0.0], 2, &mut g)?;
/// assert!((g[0] - 0.5).abs() < 1e-16 && (g[1] + 0.5).abs() < 1e-16);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_backward<T: Float>(
    y_log: &[T],
    grad_out: &[T],
    cols: usize,
    grad_in: &mut [T],
) -> Result<(), Error> {
    backward_impl::<T, true, false>(y_log, grad_out, cols, T::ONE, grad_in)
}

/// Backward pass of [`log_softmax_temperature`]:
/// `grad_in = (grad_out - e^{y_log} Σ grad_out) / T`, from the forward output `y_log`.
///
/// # Errors
/// As [`log_softmax_backward`], and [`Error::InvalidParameter`] naming `temperature`.
///
/// # Example
/// ```
/// let y_log = [0.5f32.ln(); 2];
/// let mut g = [0.0f32; 2];
/// nonlin::softmax::log_softmax_temperature_backward(&y_log, &[1.0, 0.0], 2, 2.0, &mut g)?;
/// assert!((g[0] - 0.25).abs() < 1e-7);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn log_softmax_temperature_backward<T: Float>(
    y_log: &[T],
    grad_out: &[T],
    cols: usize,
    temperature: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    backward_impl::<T, true, true>(y_log, grad_out, cols, temperature, grad_in)
}
