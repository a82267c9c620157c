//! The sealed [`Float`] trait: `f32` and `f64`, each tied to its lane type, plus the scalar
//! math shim (through `libm`, so it works without `std`).

use crate::lane::Lane;
use core::fmt::{Debug, Display};
use core::ops::{Add, Div, Mul, Neg, Sub};

pub(crate) mod sealed {
    /// Seals [`Float`](super::Float); its associated types name the lane types of the
    /// run-time backends, which code outside the crate cannot name (the trait is
    /// unreachable from outside).
    pub trait Sealed {
        /// The AVX2+FMA lane of this element type.
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type Avx: crate::lane::Lane<Scalar = Self>;
        /// The AVX2+FMA lane of two registers (the element-wise drivers').
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type AvxPair: crate::lane::Lane<Scalar = Self>;
        /// The AVX2+FMA lane of four registers (`driver::Quad` kernels) for `f32`; two for
        /// `f64`, whose kernels were no faster on four.
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type AvxQuad: crate::lane::Lane<Scalar = Self>;
    }
    impl Sealed for f32 {
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type Avx = crate::backend::avx2::F32x8;
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type AvxPair = crate::backend::avx2::F32x16;
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type AvxQuad = crate::backend::avx2::F32x32;
    }
    impl Sealed for f64 {
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type Avx = crate::backend::avx2::F64x4;
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type AvxPair = crate::backend::avx2::F64x8;
        #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
        type AvxQuad = crate::backend::avx2::F64x8;
    }
}

/// A floating-point element type the kernels accept: `f32` or `f64` (sealed).
///
/// Each type names its SIMD lane type ([`Float::Lane`]) and carries the constants of the
/// vector math (polynomial coefficients, range-reduction splits, cut-offs), so that every
/// kernel is written once, generically.
pub trait Float:
    sealed::Sealed
    + Copy
    + Default
    + Debug
    + Display
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The SIMD vector of this element type used by the portable backend.
    type Lane: Lane<Scalar = Self>;
    /// Elements per lane vector.
    const LANES: usize;
    /// Bits in the significand, including the implicit bit (24 or 53).
    const MANTISSA_DIGITS: u32;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Positive infinity.
    const INFINITY: Self;
    /// Negative infinity.
    const NEG_INFINITY: Self;
    /// A quiet NaN.
    const NAN: Self;
    /// The largest finite value.
    const MAX: Self;
    /// The smallest positive normal value.
    const MIN_POSITIVE: Self;
    /// The type's name, `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// `true` for NaN.
    fn is_nan(self) -> bool;
    /// `true` for a value that is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// Absolute value.
    fn abs(self) -> Self;
    /// `exp(x)` through libm.
    fn exp(self) -> Self;
    /// `exp(x) - 1` through libm.
    fn exp_m1(self) -> Self;
    /// `ln(x)` through libm.
    fn ln(self) -> Self;
    /// `ln(1 + x)` through libm.
    fn ln_1p(self) -> Self;
    /// `tanh(x)` through libm.
    fn tanh(self) -> Self;
    /// `erf(x)` through libm.
    fn erf(self) -> Self;
    /// `erfc(x)` through libm.
    fn erfc(self) -> Self;
    /// Square root through libm.
    fn sqrt(self) -> Self;
    /// `x * a + b` with one rounding, through libm.
    fn mul_add(self, a: Self, b: Self) -> Self;

    #[doc(hidden)]
    /// Vector-math constants (not a stable API).
    const VM: VmConsts<Self>;
}

/// Constants of the vector math for one element type. Hidden: an implementation detail
/// that the sealed trait carries so that each polynomial is written once.
#[doc(hidden)]
#[derive(Debug)]
pub struct VmConsts<T: 'static> {
    /// `log2(e)`.
    pub log2e: T,
    /// `ln 2` split so that `n * ln2_hi` is exact for every exponent `n` of the type.
    pub ln2_hi: T,
    /// `ln 2 - ln2_hi`.
    pub ln2_lo: T,
    /// Taylor coefficients of `expm1(r)/r^2 - 1/2`... stored as `1/k!` for `k = 2..`:
    /// `expm1(r) = r + r^2 * P(r)` with `P(r) = sum c_i r^i`.
    pub expm1_poly: &'static [T],
    /// `exp(x)` is `+inf` above this.
    pub exp_hi: T,
    /// `exp(x)` is `+0` below this.
    pub exp_lo: T,
    /// `expm1(x)` rounds to `-1` below this.
    pub expm1_lo: T,
    /// Exponent bias.
    pub bias: T,
    /// `2^(MANTISSA_DIGITS - 1)`: adding it to an integer-valued `n` puts `n` in the low bits.
    pub shifter: T,
    /// Coefficients `Lg1..` of the `log` kernel: `R(z) = z * sum Lg_i z^(i-1)`, `z = s^2`.
    pub log_poly: &'static [T],
    /// `2^(MANTISSA_DIGITS)`, used to lift subnormals into the normal range.
    pub two_pow_mant: T,
    /// Veltkamp splitter `2^ceil(p/2) + 1` for exact products without FMA.
    pub splitter: T,
}

/// The portable lane types: `wide`'s vectors by default, one element with `scalar-lanes`
/// (see [`Scalar1`](crate::lane::Scalar1) and the crate documentation for the trade-off).
#[cfg(not(feature = "scalar-lanes"))]
type LaneF32 = wide::f32x8;
#[cfg(not(feature = "scalar-lanes"))]
type LaneF64 = wide::f64x4;
#[cfg(feature = "scalar-lanes")]
type LaneF32 = crate::lane::Scalar1<f32>;
#[cfg(feature = "scalar-lanes")]
type LaneF64 = crate::lane::Scalar1<f64>;

macro_rules! impl_float {
    ($t:ident, $lane:ty, $lanes:expr, $name:expr,
     exp = $exp:path, expm1 = $expm1:path, ln = $ln:path, ln1p = $ln1p:path,
     tanh = $tanh:path, erf = $erf:path, erfc = $erfc:path, sqrt = $sqrt:path, fma = $fma:path, consts = $consts:expr) => {
        impl Float for $t {
            type Lane = $lane;
            const LANES: usize = $lanes;
            const MANTISSA_DIGITS: u32 = $t::MANTISSA_DIGITS;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
            const NAN: Self = $t::NAN;
            const MAX: Self = $t::MAX;
            const MIN_POSITIVE: Self = $t::MIN_POSITIVE;
            const NAME: &'static str = $name;
            const VM: VmConsts<Self> = $consts;

            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline]
            fn exp_m1(self) -> Self {
                $expm1(self)
            }
            #[inline]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                $ln1p(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline]
            fn erfc(self) -> Self {
                $erfc(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $fma(self, a, b)
            }
        }
    };
}

impl_float!(
    f32,
    LaneF32,
    <LaneF32 as Lane>::LANES,
    "f32",
    exp = libm::expf,
    expm1 = libm::expm1f,
    ln = libm::logf,
    ln1p = libm::log1pf,
    tanh = libm::tanhf,
    erf = libm::erff,
    erfc = libm::erfcf,
    sqrt = libm::sqrtf,
    fma = libm::fmaf,
    consts = VmConsts {
        log2e: core::f32::consts::LOG2_E,
        // 0x3f317200: 16 significant bits, so n * ln2_hi is exact for |n| < 2^8.
        ln2_hi: 0.693145751953125,
        ln2_lo: 1.428606765330187045e-06,
        // P in expm1(r) = r + r^2 P(r), |r| <= ln2/2: a degree-5 Chebyshev fit with f32
        // coefficients, within 2^-30.4 relative of exp(r) (scripts/fit_expm1.py). Taylor
        // needed degree 7 for the same; a shorter polynomial is a shorter dependency chain.
        expm1_poly: &[
            0.5,
            0.16666667,
            0.041666467,
            0.0083333105,
            0.0013933642,
            0.00019890981,
        ],
        exp_hi: 88.72284,
        exp_lo: -104.0,
        expm1_lo: -17.5,
        bias: 127.0,
        shifter: 8388608.0,
        // musl logf's Lg1..Lg4 (|error| < 2^-34 on the reduced range).
        log_poly: &[0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841],
        two_pow_mant: 16777216.0,
        splitter: 4097.0,
    }
);

impl_float!(
    f64,
    LaneF64,
    <LaneF64 as Lane>::LANES,
    "f64",
    exp = libm::exp,
    expm1 = libm::expm1,
    ln = libm::log,
    ln1p = libm::log1p,
    tanh = libm::tanh,
    erf = libm::erf,
    erfc = libm::erfc,
    sqrt = libm::sqrt,
    fma = libm::fma,
    consts = VmConsts {
        log2e: core::f64::consts::LOG2_E,
        // fdlibm's split: the low 32 bits of ln2_hi are zero, so n * ln2_hi is exact.
        ln2_hi: 6.93147180369123816490e-01,
        ln2_lo: 1.90821492927058770002e-10,
        // P in expm1(r) = r + r^2 P(r), |r| <= ln2/2: a degree-10 Chebyshev fit, within
        // 2^-61.4 relative of exp(r) (scripts/fit_expm1.py); Taylor needed degree 13.
        expm1_poly: &[
            0.5,
            0.1666666666666667,
            0.04166666666666667,
            0.008333333333326141,
            0.0013888888888883752,
            0.00019841269874800683,
            2.4801587325533502e-05,
            2.75572554255029e-06,
            2.7557273661174726e-07,
            2.5105206475334834e-08,
            2.091467944897855e-09,
        ],
        exp_hi: 709.782712893384,
        exp_lo: -746.0,
        expm1_lo: -38.0,
        bias: 1023.0,
        shifter: 4503599627370496.0,
        // fdlibm log's Lg1..Lg7.
        log_poly: &[
            6.666666666666735130e-01,
            3.999999999940941908e-01,
            2.857142874366239149e-01,
            2.222219843214978396e-01,
            1.818357216161805012e-01,
            1.531383769920937332e-01,
            1.479819860511658591e-01,
        ],
        two_pow_mant: 9007199254740992.0,
        splitter: 134217729.0,
    }
);
