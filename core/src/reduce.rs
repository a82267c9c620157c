//! Deterministic, accurate reductions: the contract every loss sum follows.
//!
//! A sum over `n` elements is cut into fixed blocks of [`BLOCK`] elements (the last one
//! shorter). Inside a block, each SIMD lane position accumulates its terms in double-double
//! (`f64` TwoSum: an `f64` head and the exact rounding error in a tail), whatever the element
//! type; the lane accumulators are folded in lane order into one [`Dd`] per block; block
//! results are combined in block order with [`Dd::add`]. The structure depends only on `n`,
//! never on how the work is scheduled, so a caller that computes blocks on several threads
//! and combines them in order (as `nonlin-parallel` does) gets the same bits as the serial
//! call. The accumulation error is about `n * 2^-104` relative to the sum of magnitudes:
//! the terms' own rounding (one f32 or f64 rounding each) dominates.

use crate::float::Float;
use crate::lane::Lane;

/// Elements per reduction block. Fixed: changing it changes results in the last bits.
pub const BLOCK: usize = 4096;

/// A double-double value `hi + lo` with `|lo| <= ulp(hi)/2`: the accumulator of every sum.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dd {
    /// Leading part.
    pub hi: f64,
    /// Trailing part (the rounding error of `hi`).
    pub lo: f64,
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

impl Dd {
    /// Zero.
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    /// `self + v` for an `f64` term.
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub fn add_f64(self, v: f64) -> Dd {
        let (s, e) = two_sum(self.hi, v);
        if !s.is_finite() {
            // ±inf (or NaN) terms: keep them; TwoSum's error term would be inf - inf = NaN.
            return Dd { hi: s, lo: 0.0 };
        }
        let lo = self.lo + e;
        let (hi, lo) = two_sum(s, lo);
        Dd { hi, lo }
    }

    /// `self + o`, both double-double. Used to combine block results, in block order.
    // An inherent method (not `ops::Add`) so that callers need no trait import.
    #[allow(clippy::should_implement_trait)]
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        if !s.is_finite() {
            return Dd { hi: s, lo: 0.0 };
        }
        let lo = e + self.lo + o.lo;
        let (hi, lo) = two_sum(s, lo);
        Dd { hi, lo }
    }

    /// The sum rounded to `f64`. NaN or ±inf terms make this NaN or ±inf.
    #[cfg_attr(not(nonlin_outline), inline(always))]
    pub fn value(self) -> f64 {
        let v = self.hi + self.lo;
        // hi = ±inf makes lo NaN (inf - inf); keep the infinity.
        if self.hi.is_infinite() { self.hi } else { v }
    }
}

/// Per-lane-position accumulators for one block.
///
/// f64 terms: TwoSum per lane position (double-double). f32 terms: a plain f64 sum per lane
/// position — each f32 term converts exactly, and at most BLOCK/8 = 512 additions per
/// position bound the accumulation error by 512 * 2^-53 ≈ 5.7e-14 of the block's sum of
/// magnitudes, six orders of magnitude below an f32 ULP (with the one-element lanes of
/// `scalar-lanes`, 4096 additions at one position: 4.5e-13, still five orders below).
/// Blocks are combined in double-double in both cases.
#[derive(Clone, Copy)]
struct LaneAcc {
    hi: [f64; 8],
    lo: [f64; 8],
}

impl LaneAcc {
    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn new() -> Self {
        LaneAcc {
            hi: [0.0; 8],
            lo: [0.0; 8],
        }
    }

    /// Adds every element of `v`. The loops run over the lane count (a constant), so they
    /// unroll and vectorise.
    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn add_full<L: Lane>(&mut self, v: L) {
        let a = v.to_array();
        let a = a.as_ref();
        if <L::Scalar as Float>::MANTISSA_DIGITS <= 24 {
            for (h, &x) in self.hi.iter_mut().zip(a) {
                *h += x.to_f64();
            }
        } else {
            for ((h, l), &x) in self.hi.iter_mut().zip(self.lo.iter_mut()).zip(a) {
                let (s, e) = two_sum(*h, x.to_f64());
                *h = s;
                *l += e;
            }
        }
    }

    /// Adds the first `count` elements of `v` (the rest are tail padding), with the same
    /// per-position arithmetic as [`LaneAcc::add_full`].
    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn add_partial<L: Lane>(&mut self, v: L, count: usize) {
        let a = v.to_array();
        let a = a.as_ref();
        let f32_terms = <L::Scalar as Float>::MANTISSA_DIGITS <= 24;
        for (i, &x) in a.iter().enumerate().take(count.min(8)) {
            if let (Some(h), Some(l)) = (self.hi.get_mut(i), self.lo.get_mut(i)) {
                if f32_terms {
                    *h += x.to_f64();
                } else {
                    let (s, e) = two_sum(*h, x.to_f64());
                    *h = s;
                    *l += e;
                }
            }
        }
    }

    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn finish(&self) -> Dd {
        let mut d = Dd::ZERO;
        for (&hi, &lo) in self.hi.iter().zip(&self.lo) {
            d = d.add(Dd { hi, lo });
        }
        d
    }
}

type Ln<T> = <T as Float>::Lane;

#[cfg_attr(not(nonlin_outline), inline(always))]
fn load<T: Float>(chunk: &[T]) -> Ln<T> {
    let mut a = <Ln<T> as Lane>::Array::default();
    for (d, s) in a.as_mut().iter_mut().zip(chunk) {
        *d = *s;
    }
    Ln::<T>::from_array(a)
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn store<T: Float>(v: Ln<T>, chunk: &mut [T]) {
    let a = v.to_array();
    for (d, s) in chunk.iter_mut().zip(a.as_ref()) {
        *d = *s;
    }
}

/// The [`Dd`] of one block: `sum f(a[i], b[i], c[i])` over the block, writing `g(...)` into
/// `out` when given (the fused gradient). The slices must have equal lengths (callers
/// check); `b`/`c` may be empty when unused (zeros are passed to `f` then).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn block3<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    out: Option<&mut [T]>,
    f: &impl Fn(Ln<T>, Ln<T>, Ln<T>) -> (Ln<T>, Ln<T>),
) -> Dd {
    let n = T::LANES;
    let zero = Ln::<T>::splat(T::ZERO);
    let mut acc = LaneAcc::new();
    let mut ai = a.chunks_exact(n);
    let mut bi = b.chunks_exact(n);
    let mut ci = c.chunks_exact(n);
    match out {
        Some(o) => {
            let mut oi = o.chunks_exact_mut(n);
            for (ac, oc) in (&mut ai).zip(&mut oi) {
                let lb = bi.next().map_or(zero, load::<T>);
                let lc = ci.next().map_or(zero, load::<T>);
                let (term, grad) = f(load::<T>(ac), lb, lc);
                acc.add_full(term);
                store(grad, oc);
            }
            let rest = ai.remainder();
            if !rest.is_empty() {
                let (term, grad) = f(
                    load::<T>(rest),
                    load::<T>(bi.remainder()),
                    load::<T>(ci.remainder()),
                );
                acc.add_partial(term, rest.len());
                store(grad, oi.into_remainder());
            }
        }
        None => {
            for ac in &mut ai {
                let lb = bi.next().map_or(zero, load::<T>);
                let lc = ci.next().map_or(zero, load::<T>);
                acc.add_full(f(load::<T>(ac), lb, lc).0);
            }
            let rest = ai.remainder();
            if !rest.is_empty() {
                let term = f(
                    load::<T>(rest),
                    load::<T>(bi.remainder()),
                    load::<T>(ci.remainder()),
                )
                .0;
                acc.add_partial(term, rest.len());
            }
        }
    }
    acc.finish()
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn sub<T>(s: &[T], start: usize, end: usize) -> &[T] {
    s.get(start..end).unwrap_or(&[])
}

/// Deterministic sum of `f(a[i], b[i], c[i]).0` over all elements (writing `.1` into `out`
/// when given): blocks of [`BLOCK`] combined in order. Lengths must agree (callers check).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn sum3<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    mut out: Option<&mut [T]>,
    f: impl Fn(Ln<T>, Ln<T>, Ln<T>) -> (Ln<T>, Ln<T>),
) -> Dd {
    let mut total = Dd::ZERO;
    let mut start = 0;
    while start < a.len() {
        let end = (start + BLOCK).min(a.len());
        let o = out.as_deref_mut().and_then(|o| o.get_mut(start..end));
        total = total.add(block3(
            sub(a, start, end),
            sub(b, start, end),
            sub(c, start, end),
            o,
            &f,
        ));
        start = end;
    }
    total
}

/// Deterministic sum of a sequence of `f64` values (e.g. one loss per row), in blocks of
/// [`BLOCK`] values combined in order, with the same structure as [`sum3`].
pub(crate) fn sum_f64(values: impl Iterator<Item = f64>) -> Dd {
    let mut total = Dd::ZERO;
    let mut block = Dd::ZERO;
    let mut k = 0usize;
    for v in values {
        block = block.add_f64(v);
        k += 1;
        if k == BLOCK {
            total = total.add(block);
            block = Dd::ZERO;
            k = 0;
        }
    }
    if k > 0 {
        total = total.add(block);
    }
    total
}
