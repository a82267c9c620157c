//! The AVX2+FMA lane backend (x86_64): `F32x8` and `F64x4` over `core::arch` intrinsics,
//! and their two-register forms `F32x16` and `F64x8` ([`pair`]), on which the element-wise
//! drivers run (two vectors' chains of operations interleaved).
//!
//! # Why this is sound
//! The intrinsics used here have one precondition: the CPU must support AVX, AVX2 and FMA
//! (AVX2 implies AVX). They take no pointers except `loadu`/`storeu`, whose pointers come
//! from arrays of exactly `LANES` elements (unaligned access is what `loadu`/`storeu` are
//! for).
//!
//! The types `F32x8` and `F64x4` (their pairs, and the family `Avx2` that maps to them) cannot be named
//! outside the crate: this module is private and the `Sealed` trait whose associated types
//! they are is unreachable. The only code that instantiates anything with them is [`run`],
//! which is `unsafe` and called only from `backend::run` after `avx2_selected()` returned
//! true; that happens only
//! when `avx2_supported()` confirmed both features (by `is_x86_feature_detected!`, or
//! because the build requires them). Values of these types therefore exist only in a process
//! running on a CPU with the features, which is all the intrinsics need, whether or not a
//! particular call is inlined into the `#[target_feature]` function.
//!
//! Every method is `#[inline(always)]` so that the whole kernel, from the driver loop down
//! to each intrinsic, is compiled inside the `#[target_feature(enable = "avx2,fma")]`
//! functions below: that is what makes a default build emit 256-bit FMA code here.
#![allow(unsafe_code)]

use crate::float::Float;
use crate::float::sealed::Sealed;
use crate::lane::{Family, Lane, LaneFn};
use core::arch::x86_64::*;
use core::ops::{Add, Div, Mul, Neg, Sub};

mod pair;
pub use pair::{F32x16, F32x32, F64x8};

/// Eight `f32` in one AVX register.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct F32x8(__m256);

/// Four `f64` in one AVX register.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct F64x4(__m256d);

/// The AVX2+FMA backend as a lane family (`f32` → [`F32x8`], `f64` → [`F64x4`]; for the
/// element-wise drivers [`F32x16`] and [`F64x8`]).
#[derive(Clone, Copy, Debug)]
pub struct Avx2;

impl Family for Avx2 {
    type L<T: Float> = <T as Sealed>::Avx;
    type E<T: Float> = <T as Sealed>::AvxPair;
    type Q<T: Float> = <T as Sealed>::AvxQuad;
}

/// Runs `f` on the AVX2+FMA backend, compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn run<F: LaneFn>(f: F) -> F::Output {
    f.call::<Avx2>()
}

/// `unsafe { $e }` for an intrinsic call: the one safety argument of this module.
macro_rules! avx {
    ($e:expr) => {
        // SAFETY: the intrinsics need AVX, AVX2 or FMA, which the module documentation shows
        // are present whenever a value of this module's types exists; `loadu`/`storeu`
        // access exactly the `LANES` elements of a local array.
        unsafe { $e }
    };
}

/// [`Lane::widen`]: for `f32`, two `vcvtps2pd` (the arrays in between vanish when `D` is
/// [`F64x4`]); for `f64`, the lane itself and zeros.
macro_rules! widen_impl {
    (f32, $v:expr, $D:ty) => {{
        let lo = avx!(_mm256_cvtps_pd(_mm256_castps256_ps128($v.0)));
        let hi = avx!(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>($v.0)));
        let mut out = [
            <$D as Lane>::Array::default(),
            <$D as Lane>::Array::default(),
        ];
        for (o, h) in out.iter_mut().zip([lo, hi]) {
            let mut a = [0.0f64; 4];
            avx!(_mm256_storeu_pd(a.as_mut_ptr(), h));
            for (d, s) in o.as_mut().iter_mut().zip(a) {
                *d = s;
            }
        }
        [<$D>::from_array(out[0]), <$D>::from_array(out[1])]
    }};
    (f64, $v:expr, $D:ty) => {{
        let mut a = [0.0f64; 4];
        avx!(_mm256_storeu_pd(a.as_mut_ptr(), $v.0));
        let mut o = <$D as Lane>::Array::default();
        for (d, s) in o.as_mut().iter_mut().zip(a) {
            *d = s;
        }
        [<$D>::from_array(o), <$D>::splat(0.0)]
    }};
}

/// [`Lane::narrow`]: for `f32`, two `vcvtpd2ps` (each rounds once, into the subnormals
/// where need be) joined into one register; for `f64`, the first half itself.
macro_rules! narrow_impl {
    (f32, $w:expr) => {{
        let lo = avx!(_mm256_cvtpd_ps($w[0].0));
        let hi = avx!(_mm256_cvtpd_ps($w[1].0));
        Self(avx!(_mm256_set_m128(hi, lo)))
    }};
    (f64, $w:expr) => {{ $w[0] }};
}

macro_rules! impl_avx_lane {
    ($lane:ident, $t:ident, $n:expr, $shift:expr,
     set1 = $set1:ident, loadu = $loadu:ident, storeu = $storeu:ident,
     add = $add:ident, sub = $sub:ident, mul = $mul:ident, div = $div:ident,
     fmadd = $fmadd:ident, min = $min:ident, max = $max:ident, sqrt = $sqrt:ident,
     round = $round:ident, floor = $floor:ident, cmp = $cmp:ident,
     and = $and:ident, andnot = $andnot:ident, or = $or:ident, xor = $xor:ident,
     blendv = $blendv:ident, movemask = $movemask:ident,
     to_si = $to_si:ident, from_si = $from_si:ident,
     slli = $slli:ident, srli = $srli:ident, set1_int = $set1_int:ident, int = $int:ty) => {
        impl Add for $lane {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                Self(avx!($add(self.0, o.0)))
            }
        }
        impl Sub for $lane {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                Self(avx!($sub(self.0, o.0)))
            }
        }
        impl Mul for $lane {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                Self(avx!($mul(self.0, o.0)))
            }
        }
        impl Div for $lane {
            type Output = Self;
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                Self(avx!($div(self.0, o.0)))
            }
        }
        impl Neg for $lane {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                // Flipping the sign bit (not 0 - x) keeps -(+0) = -0, as `wide` does.
                self.xor(Self::splat(-0.0))
            }
        }

        impl Lane for $lane {
            type Scalar = $t;
            type Array = [$t; $n];
            type Wide = F64x4;
            const LANES: usize = $n;
            const HAS_FMA: bool = true;
            const WIDE_EVAL: bool = true;

            #[inline(always)]
            fn narrow(w: [F64x4; 2]) -> Self {
                narrow_impl!($t, w)
            }

            #[inline(always)]
            fn splat(v: $t) -> Self {
                Self(avx!($set1(v)))
            }
            #[inline(always)]
            fn from_array(a: [$t; $n]) -> Self {
                Self(avx!($loadu(a.as_ptr())))
            }
            #[inline(always)]
            fn to_array(self) -> [$t; $n] {
                let mut a = [0.0; $n];
                avx!($storeu(a.as_mut_ptr(), self.0));
                a
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                Self(avx!($fmadd(self.0, a.0, b.0)))
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                Self(avx!($min(self.0, o.0)))
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                Self(avx!($max(self.0, o.0)))
            }
            #[inline(always)]
            fn abs(self) -> Self {
                Self(avx!($andnot($set1(-0.0), self.0)))
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                Self(avx!($sqrt(self.0)))
            }
            #[inline(always)]
            fn round(self) -> Self {
                Self(avx!($round::<
                    { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
                >(self.0)))
            }
            #[inline(always)]
            fn floor(self) -> Self {
                Self(avx!($floor(self.0)))
            }
            #[inline(always)]
            fn lt(self, o: Self) -> Self {
                Self(avx!($cmp::<_CMP_LT_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn le(self, o: Self) -> Self {
                Self(avx!($cmp::<_CMP_LE_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self {
                Self(avx!($cmp::<_CMP_GT_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn ge(self, o: Self) -> Self {
                Self(avx!($cmp::<_CMP_GE_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self {
                Self(avx!($cmp::<_CMP_EQ_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn is_nan(self) -> Self {
                Self(avx!($cmp::<_CMP_UNORD_Q>(self.0, self.0)))
            }
            #[inline(always)]
            fn is_inf(self) -> Self {
                self.abs().eq(Self::splat(<$t>::INFINITY))
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                Self(avx!($and(self.0, o.0)))
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                Self(avx!($or(self.0, o.0)))
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                Self(avx!($xor(self.0, o.0)))
            }
            #[inline(always)]
            fn select(mask: Self, t: Self, f: Self) -> Self {
                // blendv reads only each element's sign bit: exact for comparison masks.
                Self(avx!($blendv(f.0, t.0, mask.0)))
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                let s = Self::splat(-0.0);
                Self(avx!($or($andnot(s.0, self.0), $and(s.0, sign.0))))
            }
            #[inline(always)]
            fn count(mask: Self) -> u32 {
                (avx!($movemask(mask.0)) as u32).count_ones()
            }
            #[inline(always)]
            fn all(mask: Self) -> bool {
                avx!($movemask(mask.0)) == (1 << $n) - 1
            }
            #[inline(always)]
            fn none(mask: Self) -> bool {
                avx!($movemask(mask.0)) == 0
            }
            #[inline(always)]
            fn pow2i(n: Self) -> Self {
                // As in the portable backend: n + bias + 2^(p-1) holds the biased exponent
                // in its low bits; shifting them into the exponent field builds 2^n.
                let c = <$t as Float>::VM;
                Self::pow2i_biased(n + Self::splat(c.bias + c.shifter))
            }
            #[inline(always)]
            fn pow2i_biased(t: Self) -> Self {
                Self(avx!($from_si($slli::<$shift>($to_si(t.0)))))
            }
            #[inline(always)]
            fn widen<D: Lane<Scalar = f64>>(self) -> [D; 2] {
                widen_impl!($t, self, D)
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                let c = <$t as Float>::VM;
                let bits = avx!($to_si(self.0));
                let mant_mask = avx!($set1_int(((1 as $int) << $shift) - 1));
                let one_bits = avx!($set1_int((1.0 as $t).to_bits() as $int));
                let m = avx!($from_si(_mm256_or_si256(
                    _mm256_and_si256(bits, mant_mask),
                    one_bits
                )));
                // Biased exponent into the low bits of the shifter, then subtract: exact.
                let e_bits = avx!(_mm256_or_si256(
                    $srli::<$shift>(bits),
                    $set1_int(c.shifter.to_bits() as $int),
                ));
                let e = Self(avx!($from_si(e_bits))) - Self::splat(c.shifter + c.bias);
                (Self(m), e)
            }
        }
    };
}

impl_avx_lane!(
    F32x8,
    f32,
    8,
    23,
    set1 = _mm256_set1_ps,
    loadu = _mm256_loadu_ps,
    storeu = _mm256_storeu_ps,
    add = _mm256_add_ps,
    sub = _mm256_sub_ps,
    mul = _mm256_mul_ps,
    div = _mm256_div_ps,
    fmadd = _mm256_fmadd_ps,
    min = _mm256_min_ps,
    max = _mm256_max_ps,
    sqrt = _mm256_sqrt_ps,
    round = _mm256_round_ps,
    floor = _mm256_floor_ps,
    cmp = _mm256_cmp_ps,
    and = _mm256_and_ps,
    andnot = _mm256_andnot_ps,
    or = _mm256_or_ps,
    xor = _mm256_xor_ps,
    blendv = _mm256_blendv_ps,
    movemask = _mm256_movemask_ps,
    to_si = _mm256_castps_si256,
    from_si = _mm256_castsi256_ps,
    slli = _mm256_slli_epi32,
    srli = _mm256_srli_epi32,
    set1_int = _mm256_set1_epi32,
    int = i32
);

impl_avx_lane!(
    F64x4,
    f64,
    4,
    52,
    set1 = _mm256_set1_pd,
    loadu = _mm256_loadu_pd,
    storeu = _mm256_storeu_pd,
    add = _mm256_add_pd,
    sub = _mm256_sub_pd,
    mul = _mm256_mul_pd,
    div = _mm256_div_pd,
    fmadd = _mm256_fmadd_pd,
    min = _mm256_min_pd,
    max = _mm256_max_pd,
    sqrt = _mm256_sqrt_pd,
    round = _mm256_round_pd,
    floor = _mm256_floor_pd,
    cmp = _mm256_cmp_pd,
    and = _mm256_and_pd,
    andnot = _mm256_andnot_pd,
    or = _mm256_or_pd,
    xor = _mm256_xor_pd,
    blendv = _mm256_blendv_pd,
    movemask = _mm256_movemask_pd,
    to_si = _mm256_castpd_si256,
    from_si = _mm256_castsi256_pd,
    slli = _mm256_slli_epi64,
    srli = _mm256_srli_epi64,
    set1_int = _mm256_set1_epi64x,
    int = i64
);
