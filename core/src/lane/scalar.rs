//! [`Scalar1`]: a one-element "lane", the portable lane type of the `scalar-lanes` feature.
//!
//! Every operation is written element for element as `wide`'s plain-array fallback
//! (the code `wide` compiles on a target without SIMD, such as Cortex-M) writes it, so that
//! an element-wise kernel gives the same bits on `Scalar1` as on `wide::f32x8` / `f64x4`
//! built for such a target: `mul_add` is a multiply then an add (two roundings),
//! `min`/`max` are `a < b` selections, negation flips the sign bit, masks are all-ones or
//! all-zeros bit patterns, `select` is a bit blend. `sqrt` and `floor` go through `libm`
//! (correctly rounded / exact, as `wide`'s fallbacks are on the finite inputs the kernels
//! give them).

use super::Lane;
use crate::float::Float;
use core::ops::{Add, Div, Mul, Neg, Sub};

/// A vector of one element: the [`Lane`] operations on a plain `f32` or `f64`.
///
/// With the `scalar-lanes` feature it is `T::Lane`, the portable backend's lane type, in
/// place of `wide::f32x8` / `f64x4`: the same kernels then run one element at a time, which
/// on a target without SIMD (Cortex-M) gives much smaller code and stack frames than
/// `wide`'s eight-element arrays. It implements [`Lane`] in every build.
///
/// `mul_add` is never fused here ([`Lane::HAS_FMA`] is `false`), as in `wide` on targets
/// without FMA; where `wide` fuses (aarch64, x86_64 with `+fma`) the two lane types can
/// differ in the last bits, within the same error budgets.
///
/// ```
/// use nonlin::{Lane, Scalar1};
/// let x = Scalar1::<f32>::splat(2.0);
/// assert_eq!(x.mul_add(x, Scalar1::splat(1.0)).to_array(), [5.0]);
/// assert_eq!(<Scalar1<f64> as Lane>::LANES, 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scalar1<T>(pub T);

impl<T: Float> Add for Scalar1<T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Scalar1(self.0 + o.0)
    }
}

impl<T: Float> Sub for Scalar1<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Scalar1(self.0 - o.0)
    }
}

impl<T: Float> Mul for Scalar1<T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Scalar1(self.0 * o.0)
    }
}

impl<T: Float> Div for Scalar1<T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Scalar1(self.0 / o.0)
    }
}

impl<T: Float> Neg for Scalar1<T> {
    type Output = Self;
    /// Flips the sign bit (NaN payloads kept), as `wide`'s `-x`.
    #[inline(always)]
    fn neg(self) -> Self {
        Scalar1(-self.0)
    }
}

macro_rules! impl_scalar_lane {
    ($t:ident, $u:ident, $mant:expr, $sqrt:path, $floor:path) => {
        impl Scalar1<$t> {
            const SIGN: $u = 1 << ($u::BITS - 1);

            #[inline(always)]
            fn bits(self) -> $u {
                self.0.to_bits()
            }
            #[inline(always)]
            fn from_bits(b: $u) -> Self {
                Scalar1($t::from_bits(b))
            }
            /// The mask of a condition: all ones or all zeros.
            #[inline(always)]
            fn mask(c: bool) -> Self {
                Self::from_bits(if c { $u::MAX } else { 0 })
            }
        }

        impl Lane for Scalar1<$t> {
            type Scalar = $t;
            type Wide = Scalar1<f64>;
            type Array = [$t; 1];
            const LANES: usize = 1;
            // `wide` fuses only on targets with an FMA instruction it uses; the element-wise
            // fallback it has everywhere else is a multiply and an add.
            const HAS_FMA: bool = false;

            #[inline(always)]
            fn splat(v: $t) -> Self {
                Scalar1(v)
            }
            #[inline(always)]
            fn from_array(a: [$t; 1]) -> Self {
                Scalar1(a[0])
            }
            #[inline(always)]
            fn to_array(self) -> [$t; 1] {
                [self.0]
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                Scalar1(self.0 * a.0 + b.0)
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                // wide's `fast_min` fallback: `o` when unordered.
                if self.0 < o.0 { self } else { o }
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                // wide's `fast_max` fallback: `self` when unordered.
                if self.0 < o.0 { o } else { self }
            }
            #[inline(always)]
            fn abs(self) -> Self {
                Self::from_bits(self.bits() & !Self::SIGN)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                Scalar1($sqrt(self.0))
            }
            #[inline(always)]
            fn round(self) -> Self {
                // The same shifter trick as the wide lanes (not libm's `rint`), so that the
                // two agree bit for bit on every input, in range or not.
                let s = 1.5 * <$t as Float>::VM.shifter;
                Scalar1((self.0 + s) - s)
            }
            #[inline(always)]
            fn floor(self) -> Self {
                Scalar1($floor(self.0))
            }
            #[inline(always)]
            fn lt(self, o: Self) -> Self {
                Self::mask(self.0 < o.0)
            }
            #[inline(always)]
            fn le(self, o: Self) -> Self {
                Self::mask(self.0 <= o.0)
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self {
                Self::mask(self.0 > o.0)
            }
            #[inline(always)]
            fn ge(self, o: Self) -> Self {
                Self::mask(self.0 >= o.0)
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self {
                Self::mask(self.0 == o.0)
            }
            #[inline(always)]
            fn is_nan(self) -> Self {
                Self::mask(self.0.is_nan())
            }
            #[inline(always)]
            fn is_inf(self) -> Self {
                Self::mask(self.0.is_infinite())
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                Self::from_bits(self.bits() & o.bits())
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                Self::from_bits(self.bits() | o.bits())
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                Self::from_bits(self.bits() ^ o.bits())
            }
            #[inline(always)]
            fn select(mask: Self, t: Self, f: Self) -> Self {
                // wide's bit blend: exact for any mask, not only all-ones/all-zeros.
                let (m, t, f) = (mask.bits(), t.bits(), f.bits());
                Self::from_bits(f ^ ((f ^ t) & m))
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                Self::from_bits((self.bits() & !Self::SIGN) | (sign.bits() & Self::SIGN))
            }
            #[inline(always)]
            fn count(mask: Self) -> u32 {
                // wide's `to_bitmask` counts the sign bits.
                u32::from(mask.bits() & Self::SIGN != 0)
            }
            #[inline(always)]
            fn pow2i(n: Self) -> Self {
                // As the wide lanes: the biased exponent lands in the low mantissa bits of
                // n + bias + 2^(p-1) and is shifted into the exponent field.
                let c = <$t as Float>::VM;
                Self::pow2i_biased(Self(n.0 + (c.bias + c.shifter)))
            }
            #[inline(always)]
            fn pow2i_biased(t: Self) -> Self {
                Self::from_bits(t.0.to_bits() << ($mant - 1))
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                let c = <$t as Float>::VM;
                let bits = self.bits();
                let mant_mask: $u = (1 << ($mant - 1)) - 1;
                let m = Self::from_bits((bits & mant_mask) | (1.0 as $t).to_bits());
                let e_bits = (bits >> ($mant - 1)) | c.shifter.to_bits();
                let e = $t::from_bits(e_bits) - (c.shifter + c.bias);
                (m, Scalar1(e))
            }
        }
    };
}

impl_scalar_lane!(f32, u32, 24, libm::sqrtf, libm::floorf);
impl_scalar_lane!(f64, u64, 53, libm::sqrt, libm::floor);
