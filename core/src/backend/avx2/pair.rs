//! Two AVX registers per lane (`F32x16`, `F64x8`): the lanes the element-wise drivers run on
//! with the AVX2 backend (`Family::E`).
//!
//! Every operation is issued on both halves in turn, so the kernel's chain of dependent
//! operations is followed for two vectors at once, op by op. The element-wise kernels are
//! latency-bound (a polynomial, an exponential, a division and their corrections in one
//! chain of 40–80 operations per vector): on this AMD Zen 3 the scheduler fills with one
//! vector's waiting operations long before the next loop iteration's independent ones are
//! reached, and unrolling the loop does not help, since it only puts the second chain after
//! the first. Interleaved, the two chains share the pipeline from the first operation: the
//! report measured sigmoid 1172 → 1378 Melem/s, gelu 329 → 446, silu 947 → 1248 (f32, 1M,
//! one thread, the same run; `cargo run --release -p nonlin-benches --bin report -- --quick`).
//!
//! Each element's result is that of the one-register lane (the same operations on the same
//! value), so kernels give the same bits on `F32x8` and `F32x16`.
//!
//! No `unsafe` here: the halves are [`F32x8`] / [`F64x4`] values, whose methods carry the
//! safety argument of the parent module (values exist only on a CPU with AVX2 and FMA).

use super::{F32x8, F64x4};
use crate::lane::Lane;
use core::ops::{Add, Div, Mul, Neg, Sub};

/// Sixteen `f32` in two AVX registers.
#[derive(Clone, Copy, Debug)]
pub struct F32x16(F32x8, F32x8);

/// Eight `f64` in two AVX registers.
#[derive(Clone, Copy, Debug)]
pub struct F64x8(F64x4, F64x4);

/// Both halves of a binary operation.
macro_rules! both {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
        let ($x, $y) = ($a.0, $b.0);
        let lo = $e;
        let ($x, $y) = ($a.1, $b.1);
        Self(lo, $e)
    }};
}

macro_rules! impl_pair {
    ($pair:ident, $half:ident, $t:ident, $n:expr, $h:expr, wide = $wide:ident) => {
        impl Add for $pair {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                both!(self, o, |a, b| a + b)
            }
        }
        impl Sub for $pair {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                both!(self, o, |a, b| a - b)
            }
        }
        impl Mul for $pair {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                both!(self, o, |a, b| a * b)
            }
        }
        impl Div for $pair {
            type Output = Self;
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                both!(self, o, |a, b| a / b)
            }
        }
        impl Neg for $pair {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                Self(-self.0, -self.1)
            }
        }

        impl Lane for $pair {
            type Scalar = $t;
            type Array = [$t; $n];
            type Wide = $wide;
            const LANES: usize = $n;
            const HAS_FMA: bool = true;
            const WIDE_EVAL: bool = true;

            #[inline(always)]
            fn splat(v: $t) -> Self {
                let h = $half::splat(v);
                Self(h, h)
            }
            #[inline(always)]
            fn from_array(a: [$t; $n]) -> Self {
                let (mut lo, mut hi) = ([0.0; $h], [0.0; $h]);
                lo.copy_from_slice(&a[..$h]);
                hi.copy_from_slice(&a[$h..]);
                Self($half::from_array(lo), $half::from_array(hi))
            }
            #[inline(always)]
            fn to_array(self) -> [$t; $n] {
                let mut a = [0.0; $n];
                a[..$h].copy_from_slice(&self.0.to_array());
                a[$h..].copy_from_slice(&self.1.to_array());
                a
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                Self(self.0.mul_add(a.0, b.0), self.1.mul_add(a.1, b.1))
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                both!(self, o, |a, b| a.min(b))
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                both!(self, o, |a, b| a.max(b))
            }
            #[inline(always)]
            fn abs(self) -> Self {
                Self(self.0.abs(), self.1.abs())
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                Self(self.0.sqrt(), self.1.sqrt())
            }
            #[inline(always)]
            fn round(self) -> Self {
                Self(self.0.round(), self.1.round())
            }
            #[inline(always)]
            fn floor(self) -> Self {
                Self(self.0.floor(), self.1.floor())
            }
            #[inline(always)]
            fn lt(self, o: Self) -> Self {
                both!(self, o, |a, b| a.lt(b))
            }
            #[inline(always)]
            fn le(self, o: Self) -> Self {
                both!(self, o, |a, b| a.le(b))
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self {
                both!(self, o, |a, b| a.gt(b))
            }
            #[inline(always)]
            fn ge(self, o: Self) -> Self {
                both!(self, o, |a, b| a.ge(b))
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self {
                both!(self, o, |a, b| a.eq(b))
            }
            #[inline(always)]
            fn is_nan(self) -> Self {
                Self(self.0.is_nan(), self.1.is_nan())
            }
            #[inline(always)]
            fn is_inf(self) -> Self {
                Self(self.0.is_inf(), self.1.is_inf())
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                both!(self, o, |a, b| a.and(b))
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                both!(self, o, |a, b| a.or(b))
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                both!(self, o, |a, b| a.xor(b))
            }
            #[inline(always)]
            fn select(mask: Self, t: Self, f: Self) -> Self {
                Self(
                    $half::select(mask.0, t.0, f.0),
                    $half::select(mask.1, t.1, f.1),
                )
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                both!(self, sign, |a, s| a.copysign(s))
            }
            #[inline(always)]
            fn count(mask: Self) -> u32 {
                $half::count(mask.0) + $half::count(mask.1)
            }
            #[inline(always)]
            fn all(mask: Self) -> bool {
                $half::all(mask.0.and(mask.1))
            }
            #[inline(always)]
            fn none(mask: Self) -> bool {
                $half::none(mask.0.or(mask.1))
            }
            #[inline(always)]
            fn pow2i(n: Self) -> Self {
                Self($half::pow2i(n.0), $half::pow2i(n.1))
            }
            #[inline(always)]
            fn pow2i_biased(t: Self) -> Self {
                Self($half::pow2i_biased(t.0), $half::pow2i_biased(t.1))
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                let (m0, e0) = self.0.frexp();
                let (m1, e1) = self.1.frexp();
                (Self(m0, m1), Self(e0, e1))
            }
            #[inline(always)]
            fn narrow(w: [$wide; 2]) -> Self {
                pair_narrow!($t, $half, w)
            }
            #[inline(always)]
            fn widen<D: Lane<Scalar = f64>>(self) -> [D; 2] {
                pair_widen!($t, $half, $h, self, D)
            }
        }
    };
}

/// [`Lane::narrow`]: each `f32` half from the two halves of one wide lane (one rounding
/// each); for `f64` the first lane itself.
macro_rules! pair_narrow {
    (f32, $half:ident, $w:expr) => {{
        let [a, b] = $w;
        Self($half::narrow([a.0, a.1]), $half::narrow([b.0, b.1]))
    }};
    (f64, $half:ident, $w:expr) => {{ $w[0] }};
}

/// [`Lane::widen`]: the first and second half of the elements as two `f64` lanes (each
/// `f32` half widened as its own type does it, `vcvtps2pd` underneath); for `f64` the lane
/// itself and zeros. The arrays vanish when `D` is the lane's [`Lane::Wide`].
macro_rules! pair_widen {
    (f32, $half:ident, $h:expr, $v:expr, $D:ty) => {{
        let [a, b] = $v.0.widen::<<$half as Lane>::Wide>();
        let [c, d] = $v.1.widen::<<$half as Lane>::Wide>();
        let mut out = [
            <$D as Lane>::Array::default(),
            <$D as Lane>::Array::default(),
        ];
        for (o, (lo, hi)) in out.iter_mut().zip([(a, b), (c, d)]) {
            let mut w = [0.0f64; $h];
            w[..$h / 2].copy_from_slice(&lo.to_array());
            w[$h / 2..].copy_from_slice(&hi.to_array());
            for (d, s) in o.as_mut().iter_mut().zip(w) {
                *d = s;
            }
        }
        [<$D>::from_array(out[0]), <$D>::from_array(out[1])]
    }};
    (f64, $half:ident, $h:expr, $v:expr, $D:ty) => {{
        let mut o = <$D as Lane>::Array::default();
        for (d, s) in o.as_mut().iter_mut().zip($v.to_array()) {
            *d = s;
        }
        [<$D>::from_array(o), <$D>::splat(0.0)]
    }};
}

impl_pair!(F32x16, F32x8, f32, 16, 8, wide = F64x8);
impl_pair!(F64x8, F64x4, f64, 8, 4, wide = F64x8);

/// Thirty-two `f32` in four AVX registers (two [`F32x16`]).
#[derive(Clone, Copy, Debug)]
pub struct F32x32(F32x16, F32x16);

/// Sixteen `f64` in four AVX registers (two [`F64x8`]): the [`Lane::Wide`] of [`F32x32`].
#[derive(Clone, Copy, Debug)]
pub struct F64x16(F64x8, F64x8);

impl_pair!(F32x32, F32x16, f32, 32, 16, wide = F64x16);
impl_pair!(F64x16, F64x8, f64, 16, 8, wide = F64x16);
