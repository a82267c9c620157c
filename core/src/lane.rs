//! The lane trait: the small set of SIMD operations every kernel is written against, and its
//! portable implementations: on `wide` (`f32x8`, `f64x4`; the default) and on one element
//! ([`Scalar1`], the portable lane type with the `scalar-lanes` feature).
//!
//! A kernel written against [`Lane`] gains a new backend (for example AVX2 through
//! `core::arch`) by implementing this trait once; no kernel is rewritten.
//!
//! Masks are lane values whose elements are all-ones or all-zeros bit patterns, as the
//! comparison operations return them.

use crate::float::Float;
use core::ops::{Add, Div, Mul, Neg, Sub};
use wide::{f32x8, f64x4, u32x8, u64x4};

mod scalar;
pub use scalar::Scalar1;

/// A SIMD vector of [`Float`]s with the operations the kernels need.
pub trait Lane:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The element type.
    type Scalar: Float;
    /// A plain array of `LANES` elements, for loading and storing.
    type Array: Copy + Default + AsRef<[Self::Scalar]> + AsMut<[Self::Scalar]>;
    /// Number of elements.
    const LANES: usize;

    /// Every element set to `v`.
    fn splat(v: Self::Scalar) -> Self;
    /// From an array.
    fn from_array(a: Self::Array) -> Self;
    /// To an array.
    fn to_array(self) -> Self::Array;

    /// `self * a + b`. Fused (one rounding) where the target has FMA, otherwise two roundings.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Element-wise minimum; if one operand is NaN the result is unspecified (callers
    /// restore NaN explicitly where it matters).
    fn min(self, o: Self) -> Self;
    /// Element-wise maximum; NaN handling as for [`Lane::min`].
    fn max(self, o: Self) -> Self;
    /// Absolute value (clears the sign bit).
    fn abs(self) -> Self;
    /// Square root, correctly rounded.
    fn sqrt(self) -> Self;
    /// Rounds to the nearest integer (ties to even); finite inputs of magnitude < 2^(p-2).
    fn round(self) -> Self;
    /// Floor.
    fn floor(self) -> Self;

    /// Mask of `self < o`.
    fn lt(self, o: Self) -> Self;
    /// Mask of `self <= o`.
    fn le(self, o: Self) -> Self;
    /// Mask of `self > o`.
    fn gt(self, o: Self) -> Self;
    /// Mask of `self >= o`.
    fn ge(self, o: Self) -> Self;
    /// Mask of `self == o`.
    fn eq(self, o: Self) -> Self;
    /// Mask of NaN elements.
    fn is_nan(self) -> Self;
    /// Mask of ±inf elements.
    fn is_inf(self) -> Self;
    /// Bitwise and.
    fn and(self, o: Self) -> Self;
    /// Bitwise or.
    fn or(self, o: Self) -> Self;
    /// Bitwise xor.
    fn xor(self, o: Self) -> Self;
    /// `mask ? t : f`, element-wise, for a comparison mask.
    fn select(mask: Self, t: Self, f: Self) -> Self;
    /// Magnitude of `self` with the sign bit of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// Number of set elements of a mask.
    fn count(mask: Self) -> u32;
    /// `true` when every element of a mask is set. The branch tests of the kernels' short
    /// paths: backends override it with one compare of the sign-bit mask, where
    /// [`Lane::count`] needs a population count (a multiply-and-shift sequence on CPUs
    /// without `popcnt` in the compiled features).
    #[inline(always)]
    fn all(mask: Self) -> bool {
        Self::count(mask) == Self::LANES as u32
    }
    /// `true` when no element of a mask is set; see [`Lane::all`].
    #[inline(always)]
    fn none(mask: Self) -> bool {
        Self::count(mask) == 0
    }

    /// `2^n` for integer-valued `n` in the normal exponent range `[1 - bias, bias]`.
    fn pow2i(n: Self) -> Self;
    /// `2^n` from `t = n + bias + 2^(p-1)` (the biased exponent in the low mantissa bits,
    /// `n` as for [`Lane::pow2i`]): `pow2i` without its addition, for callers that fold the
    /// offset into a constant they add anyway.
    #[inline(always)]
    fn pow2i_biased(t: Self) -> Self {
        let c = <Self::Scalar as Float>::VM;
        Self::pow2i(t - Self::splat(c.bias + c.shifter))
    }
    /// For positive normal finite `self`: `(m, e)` with `self = m * 2^e`, `m` in `[1, 2)`,
    /// `e` integer-valued.
    fn frexp(self) -> (Self, Self);

    /// Exact product: `(h, l)` with `h = fl(a * b)` and `h + l = a * b` exactly (barring
    /// overflow and underflow). Uses FMA where available, Veltkamp–Dekker otherwise.
    #[inline(always)]
    fn two_prod(a: Self, b: Self) -> (Self, Self) {
        let h = a * b;
        if Self::HAS_FMA {
            (h, a.mul_add(b, -h))
        } else {
            let (ah, al) = Self::split(a);
            let (bh, bl) = Self::split(b);
            let l = ((ah * bh - h) + ah * bl + al * bh) + al * bl;
            (h, l)
        }
    }
    /// Veltkamp split of `a` into a high half and the exact remainder.
    #[inline(always)]
    fn split(a: Self) -> (Self, Self) {
        let c = Self::splat(<Self::Scalar as Float>::VM.splitter) * a;
        let h = c - (c - a);
        (h, a - h)
    }
    /// `true` where [`Lane::mul_add`] is fused.
    const HAS_FMA: bool;

    /// The same backend's `f64` lane (`Self` for `f64` lanes): what [`Lane::narrow`] takes.
    type Wide: Lane<Scalar = f64>;
    /// `true` where an `f32` kernel may evaluate in [`Lane::Wide`] lanes and round once at
    /// the end: on the AVX2 backend, where a 4-wide `f64` operation costs what an 8-wide
    /// `f32` one does, so that two `f64` vectors of plain arithmetic beat one `f32` vector of
    /// double-word arithmetic. Elsewhere (`wide`, one-element lanes: software `f64` on a
    /// Cortex-M4F) `false`, and the `f32` forms run.
    const WIDE_EVAL: bool = false;

    /// The inverse of [`Lane::widen`] into [`Lane::Wide`]: element `i` of the result is
    /// element `i` of the two halves in order, rounded once to `Scalar`.
    #[inline(always)]
    fn narrow(w: [Self::Wide; 2]) -> Self {
        let halves = [w[0].to_array(), w[1].to_array()];
        let n = <Self::Wide as Lane>::LANES.min(4);
        let mut a = Self::Array::default();
        for (i, d) in a.as_mut().iter_mut().enumerate().take(2 * n) {
            if let Some(&v) = halves.get(i / n).and_then(|h| h.as_ref().get(i % n)) {
                *d = Self::Scalar::from_f64(v);
            }
        }
        Self::from_array(a)
    }

    /// The elements widened to `f64`, in order, as two lanes of `D::LANES` (four for the
    /// 8-wide lanes, whose second half holds elements 4..8; eight for the AVX2 backend's
    /// two-register `F32x16`), zeros where there are fewer. Exact. (The default
    /// implementation fills lanes of at most four.)
    #[inline(always)]
    fn widen<D: Lane<Scalar = f64>>(self) -> [D; 2] {
        let a = self.to_array();
        let mut x = [D::Array::default(), D::Array::default()];
        let n = D::LANES.min(4);
        for (i, &e) in a.as_ref().iter().enumerate().take(2 * n) {
            if let Some(d) = x.get_mut(i / n).and_then(|h| h.as_mut().get_mut(i % n)) {
                *d = e.to_f64();
            }
        }
        [D::from_array(x[0]), D::from_array(x[1])]
    }
}

/// A lane backend seen as a family of lane types, one per element type: `B::L<f32>` and
/// `B::L<f64>` are the backend's vectors. Hidden: an implementation detail of the dispatch
/// (see [`crate::backend`]), not a stable API.
#[doc(hidden)]
pub trait Family: Copy + 'static {
    /// The backend's lane type for element type `T`.
    type L<T: Float>: Lane<Scalar = T>;
    /// The lane type the element-wise drivers run on: `L<T>` itself, or several of its
    /// registers interleaved op by op where the kernels are latency-bound (AVX2).
    /// Element-wise kernels give the same bits on both.
    type E<T: Float>: Lane<Scalar = T>;
    /// The lane type of the kernels that gain from four registers at a time (see
    /// `driver::Quad`): `L<T>` on the portable backend. Same bits as `E<T>` and `L<T>`.
    type Q<T: Float>: Lane<Scalar = T>;
}

/// The portable backend: `T::Lane` (`wide`, or [`Scalar1`] with the `scalar-lanes` feature).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Portable;

impl Family for Portable {
    type L<T: Float> = <T as Float>::Lane;
    type E<T: Float> = <T as Float>::Lane;
    type Q<T: Float> = <T as Float>::Lane;
}

/// A computation written once for every lane backend: [`crate::backend`] calls
/// [`LaneFn::call`] with the backend selected at run time. Hidden: the drivers use it; it is
/// not a stable API.
#[doc(hidden)]
pub trait LaneFn {
    /// What the computation returns.
    type Output;
    /// Runs the computation on backend `B`.
    fn call<B: Family>(self) -> Self::Output;
}

macro_rules! impl_wide_lane {
    ($lane:ident, $t:ident, $u:ident, $ut:ident, $n:expr, $mant:expr) => {
        impl Lane for $lane {
            type Scalar = $t;
            type Wide = f64x4;
            type Array = [$t; $n];
            const LANES: usize = $n;
            const HAS_FMA: bool = cfg!(any(target_feature = "fma", target_arch = "aarch64"));

            #[inline(always)]
            fn splat(v: $t) -> Self {
                $lane::splat(v)
            }
            #[inline(always)]
            fn from_array(a: [$t; $n]) -> Self {
                $lane::new(a)
            }
            #[inline(always)]
            fn to_array(self) -> [$t; $n] {
                $lane::to_array(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $lane::mul_add(self, a, b)
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                $lane::fast_min(self, o)
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                $lane::fast_max(self, o)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $lane::abs(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $lane::sqrt(self)
            }
            #[inline(always)]
            fn round(self) -> Self {
                // Adding and subtracting 1.5 * 2^(p-1) rounds to nearest-even for
                // |x| < 2^(p-2), in every rounding-free backend alike.
                let s = $lane::splat(1.5 * <$t as Float>::VM.shifter);
                (self + s) - s
            }
            #[inline(always)]
            fn floor(self) -> Self {
                $lane::floor(self)
            }
            #[inline(always)]
            fn lt(self, o: Self) -> Self {
                self.simd_lt(o)
            }
            #[inline(always)]
            fn le(self, o: Self) -> Self {
                self.simd_le(o)
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self {
                self.simd_gt(o)
            }
            #[inline(always)]
            fn ge(self, o: Self) -> Self {
                self.simd_ge(o)
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self {
                self.simd_eq(o)
            }
            #[inline(always)]
            fn is_nan(self) -> Self {
                $lane::is_nan(self)
            }
            #[inline(always)]
            fn is_inf(self) -> Self {
                $lane::is_inf(self)
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                self & o
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                self | o
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                self ^ o
            }
            #[inline(always)]
            fn select(mask: Self, t: Self, f: Self) -> Self {
                mask.select(t, f)
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                $lane::copysign(self, sign)
            }
            #[inline(always)]
            fn count(mask: Self) -> u32 {
                $lane::to_bitmask(mask).count_ones()
            }
            #[inline(always)]
            fn all(mask: Self) -> bool {
                $lane::to_bitmask(mask) == (1u32 << <Self as Lane>::LANES) - 1
            }
            #[inline(always)]
            fn none(mask: Self) -> bool {
                $lane::to_bitmask(mask) == 0
            }
            #[inline(always)]
            fn pow2i(n: Self) -> Self {
                // n + bias + 2^(p-1) holds the biased exponent in its low mantissa bits;
                // shifting them into the exponent field builds 2^n without a float-to-int
                // conversion (AVX2 has none for f64).
                let c = <$t as Float>::VM;
                Self::pow2i_biased(n + $lane::splat(c.bias + c.shifter))
            }
            #[inline(always)]
            fn pow2i_biased(t: Self) -> Self {
                $lane::from_bits(t.to_bits() << ($mant - 1))
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                let c = <$t as Float>::VM;
                let bits = self.to_bits();
                let mant_mask = $u::splat((1 << ($mant - 1)) - 1);
                let one_bits = $u::splat((1.0 as $t).to_bits());
                let m = $lane::from_bits((bits & mant_mask) | one_bits);
                // Biased exponent into the low bits of the shifter, then subtract: exact.
                let e_bits = (bits >> ($mant - 1)) | $u::splat(c.shifter.to_bits());
                let e = $lane::from_bits(e_bits) - $lane::splat(c.shifter + c.bias);
                (m, e)
            }
        }
    };
}

impl_wide_lane!(f32x8, f32, u32x8, u32, 8, 24);
impl_wide_lane!(f64x4, f64, u64x4, u64, 4, 53);
