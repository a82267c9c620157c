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

#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

impl Dd {
    /// Zero.
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    /// `self + v` for an `f64` term.
    #[inline(always)]
    pub fn add_f64(self, v: f64) -> Dd {
        let (s, e) = two_sum(self.hi, v);
        let lo = self.lo + e;
        let (hi, lo) = two_sum(s, lo);
        Dd { hi, lo }
    }

    /// `self + o`, both double-double. Used to combine block results, in block order.
    #[inline(always)]
    pub fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        let lo = e + self.lo + o.lo;
        let (hi, lo) = two_sum(s, lo);
        Dd { hi, lo }
    }

    /// The sum rounded to `f64`. NaN or ±inf terms make this NaN or ±inf.
    #[inline(always)]
    pub fn value(self) -> f64 {
        let v = self.hi + self.lo;
        // hi = ±inf makes lo NaN (inf - inf); keep the infinity.
        if self.hi.is_infinite() { self.hi } else { v }
    }
}

/// Per-lane-position double-double accumulators for one block.
#[derive(Clone, Copy)]
struct LaneAcc {
    hi: [f64; 8],
    lo: [f64; 8],
}

impl LaneAcc {
    #[inline(always)]
    fn new() -> Self {
        LaneAcc {
            hi: [0.0; 8],
            lo: [0.0; 8],
        }
    }

    /// Adds the first `count` elements of `v` (the rest are tail padding).
    #[inline(always)]
    fn add<L: Lane>(&mut self, v: L, count: usize) {
        let a = v.to_array();
        for (i, &x) in a.as_ref().iter().enumerate().take(count.min(8)) {
            let (s, e) = two_sum(self.hi[i], x.to_f64());
            self.hi[i] = s;
            self.lo[i] += e;
        }
    }

    #[inline(always)]
    fn finish(&self) -> Dd {
        let mut d = Dd::ZERO;
        for i in 0..8 {
            d = d.add(Dd {
                hi: self.hi[i],
                lo: self.lo[i],
            });
        }
        d
    }
}

type Ln<T> = <T as Float>::Lane;

#[inline(always)]
fn load<T: Float>(chunk: &[T]) -> Ln<T> {
    let mut a = <Ln<T> as Lane>::Array::default();
    for (d, s) in a.as_mut().iter_mut().zip(chunk) {
        *d = *s;
    }
    Ln::<T>::from_array(a)
}

#[inline(always)]
fn store<T: Float>(v: Ln<T>, chunk: &mut [T]) {
    let a = v.to_array();
    for (d, s) in chunk.iter_mut().zip(a.as_ref()) {
        *d = *s;
    }
}

/// The [`Dd`] of one block: `sum f(a[i], b[i], c[i])` over the block, writing `g(...)` into
/// `out` when given (the fused gradient). The slices must have equal lengths (callers
/// check); `b`/`c` may be empty when unused (zeros are passed to `f` then).
#[inline(always)]
pub(crate) fn block3<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    mut out: Option<&mut [T]>,
    f: &impl Fn(Ln<T>, Ln<T>, Ln<T>) -> (Ln<T>, Ln<T>),
) -> Dd {
    let n = T::LANES;
    let mut acc = LaneAcc::new();
    let mut start = 0;
    while start < a.len() {
        let end = (start + n).min(a.len());
        let count = end - start;
        let la = load::<T>(a.get(start..end).unwrap_or(&[]));
        let lb = load::<T>(b.get(start..end).unwrap_or(&[]));
        let lc = load::<T>(c.get(start..end).unwrap_or(&[]));
        let (term, grad) = f(la, lb, lc);
        acc.add(term, count);
        if let Some(o) = out.as_deref_mut() {
            if let Some(oc) = o.get_mut(start..end) {
                store(grad, oc);
            }
        }
        start = end;
    }
    acc.finish()
}

#[inline(always)]
fn sub<T>(s: &[T], start: usize, end: usize) -> &[T] {
    s.get(start..end).unwrap_or(&[])
}

/// Deterministic sum of `f(a[i], b[i], c[i]).0` over all elements (writing `.1` into `out`
/// when given): blocks of [`BLOCK`] combined in order. Lengths must agree (callers check).
#[inline(always)]
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
