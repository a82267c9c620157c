//! Lane backends and their selection.
//!
//! Every kernel is written once against [`Lane`](crate::Lane) and runs on one of these
//! backends:
//!
//! - [`Backend::Portable`]: `wide`'s `f32x8` / `f64x4`, whatever instruction set the crate was
//!   compiled for (SSE2 in a default x86_64 build, NEON on aarch64, scalar arrays on
//!   Cortex-M). Always available; the only backend on targets other than x86_64.
//! - [`Backend::Avx2Fma`] (x86_64): 256-bit AVX2 registers with fused multiply-add, through
//!   `core::arch`, compiled inside `#[target_feature(enable = "avx2,fma")]` functions so that
//!   a plain `cargo build --release` gets it on CPUs that have it. The element-wise kernels
//!   run on two registers at a time (each operation issued on both in turn, which hides
//!   the latency of their long chains of dependent operations); the row kernels on one.
//!
//! # Selection
//! Once, on first use, cached in an atomic:
//! 1. With the `std` feature, the environment variable `NONLIN_BACKEND` (`portable`,
//!    `avx2`, or `auto`) is read; `portable` forces the portable backend. A request for a
//!    backend the CPU lacks falls back to auto-selection.
//! 2. Otherwise the fastest supported backend: AVX2+FMA if the CPU reports both (runtime
//!    detection with `std`; without `std` only when the crate is compiled with
//!    `-C target-feature=+avx2,+fma` or a `target-cpu` that implies them).
//!
//! [`set_backend`] changes the choice at run time (for example to chase a discrepancy), and
//! the `force-portable` feature removes the other backends at compile time (for tests and
//! CI). [`backend`] reports the one in use.
//!
//! # Guarantees across backends
//! Within one backend on one CPU, results are bit-identical for every slice length, position
//! and thread count. Across backends they may differ in the last bits (a fused multiply-add
//! rounds once, a multiply and add twice), and every backend is held to the same published
//! ULP budgets: `tests/tests/backends.rs` runs every kernel through every backend the CPU
//! supports, against the references and against each other.

use crate::error::Error;
use crate::lane::{LaneFn, Portable};

#[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
pub(crate) mod avx2;

/// A lane backend (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// `wide`'s portable vectors, compiled for the crate's target features.
    Portable,
    /// x86_64 AVX2 with FMA, selected at run time.
    Avx2Fma,
}

impl Backend {
    /// Every backend, fastest last.
    pub const ALL: [Backend; 2] = [Backend::Portable, Backend::Avx2Fma];

    /// The backend's name as `NONLIN_BACKEND` spells it: `"portable"` or `"avx2"`.
    ///
    /// ```
    /// assert_eq!(nonlin::backend::Backend::Portable.name(), "portable");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::Avx2Fma => "avx2",
        }
    }

    /// `true` if this backend can run on this CPU with this build.
    ///
    /// ```
    /// assert!(nonlin::backend::Backend::Portable.is_supported());
    /// ```
    pub fn is_supported(self) -> bool {
        match self {
            Backend::Portable => true,
            Backend::Avx2Fma => avx2_supported(),
        }
    }
}

/// The backend the kernels run on now.
///
/// ```
/// let b = nonlin::backend::backend();
/// assert!(b.is_supported());
/// ```
pub fn backend() -> Backend {
    if avx2_selected() {
        Backend::Avx2Fma
    } else {
        Backend::Portable
    }
}

/// Selects the backend for every later call, in every thread.
///
/// Calls already running finish on the backend they started with. Switching is meant for
/// diagnosis and tests, not for use while other threads compute results that must agree
/// bit for bit.
///
/// # Errors
/// [`Error::UnsupportedBackend`] if `b` cannot run on this CPU or in this build (for
/// example `Avx2Fma` on a CPU without AVX2 or FMA, or with the `force-portable` feature);
/// the selection is then unchanged.
///
/// # Example
/// ```
/// use nonlin::backend::{backend, set_backend, Backend};
/// let before = backend();
/// set_backend(Backend::Portable)?;
/// assert_eq!(backend(), Backend::Portable);
/// set_backend(before)?;
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn set_backend(b: Backend) -> Result<(), Error> {
    if !b.is_supported() {
        return Err(Error::UnsupportedBackend {
            requested: b.name(),
        });
    }
    store(b == Backend::Avx2Fma);
    Ok(())
}

#[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
mod select {
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    const PORTABLE: u8 = 1;
    const AVX2: u8 = 2;

    static SELECTED: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Whether the CPU has AVX2 and FMA.
    pub(super) fn avx2_supported() -> bool {
        if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
            return true;
        }
        #[cfg(feature = "std")]
        {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        }
        #[cfg(not(feature = "std"))]
        {
            false
        }
    }

    #[cold]
    fn init() -> u8 {
        #[cfg(feature = "std")]
        let forced_portable = matches!(
            std::env::var("NONLIN_BACKEND").as_deref(),
            Ok("portable") | Ok("PORTABLE")
        );
        #[cfg(not(feature = "std"))]
        let forced_portable = false;
        let want = if !forced_portable && avx2_supported() {
            AVX2
        } else {
            PORTABLE
        };
        // A concurrent set_backend wins over the first detection.
        match SELECTED.compare_exchange(UNKNOWN, want, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => want,
            Err(now) => now,
        }
    }

    /// `true` only if AVX2 and FMA are present (checked by [`avx2_supported`] before the
    /// value `AVX2` is ever stored) and selected.
    #[inline(always)]
    pub(super) fn avx2_selected() -> bool {
        let s = SELECTED.load(Ordering::Relaxed);
        let s = if s == UNKNOWN { init() } else { s };
        s == AVX2
    }

    pub(super) fn store(avx2: bool) {
        SELECTED.store(if avx2 { AVX2 } else { PORTABLE }, Ordering::Relaxed);
    }
}

#[cfg(not(all(target_arch = "x86_64", not(feature = "force-portable"))))]
mod select {
    pub(super) fn avx2_supported() -> bool {
        false
    }
    #[inline(always)]
    pub(super) fn avx2_selected() -> bool {
        false
    }
    pub(super) fn store(_avx2: bool) {}
}

use select::{avx2_selected, avx2_supported, store};

/// Runs `f` on the selected backend.
#[inline(always)]
pub(crate) fn run<F: LaneFn>(f: F) -> F::Output {
    #[cfg(all(target_arch = "x86_64", not(feature = "force-portable")))]
    if avx2_selected() {
        // SAFETY: `avx2_selected()` is true only after `avx2_supported()` confirmed AVX2 and
        // FMA on this CPU (or the build requires them), the one precondition of `avx2::run`.
        #[allow(unsafe_code)]
        return unsafe { avx2::run(f) };
    }
    f.call::<Portable>()
}

#[cfg(test)]
mod tests {
    //! The element-wise drivers run on `Family::E` (two AVX registers interleaved on the
    //! AVX2 backend) or `Family::Q` (four), the row kernels on `Family::L`; the activations'
    //! lane kernels must give the same bits on all three, or a kernel called from a row
    //! kernel would differ from the same kernel called on a slice.
    use super::*;
    use crate::activation::tanh as th;
    use crate::activation::{elu, gelu, hard, mish, relu, sigmoid, silu, softplus, softsign};
    use crate::float::Float;
    use crate::lane::{Family, Lane};
    use core::marker::PhantomData;

    const N: usize = 1024;

    /// Ordinary values, tails and special values, in an order that puts each tail value
    /// in a different position of its 8- and 16-element groups, so that the kernels' short
    /// paths (taken only when every element of a vector allows it) and general paths mix
    /// differently on the two lane types.
    fn inputs<T: Float>(seed: u64) -> [T; N] {
        let special = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-40,
            -1e-310,
            1e-30,
            -88.5,
            90.0,
            -745.5,
            710.0,
            1e30,
            -1e30,
        ];
        let mut s = seed;
        core::array::from_fn(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            let v = match i % 7 {
                0 => special[(s % special.len() as u64) as usize],
                1 | 2 => (u - 0.5) * 2400.0,
                _ => (u - 0.5) * 24.0,
            };
            T::from_f64(v)
        })
    }

    /// Runs `body` over [`inputs`] on lane type `L`.
    macro_rules! on_lanes {
        ($L:ty, $xs:expr, |$x:ident| $body:expr) => {{
            let mut out = [T::ZERO; N];
            for (c, o) in $xs
                .chunks_exact(<$L>::LANES)
                .zip(out.chunks_exact_mut(<$L>::LANES))
            {
                let mut a = <$L as Lane>::Array::default();
                a.as_mut().copy_from_slice(c);
                let $x = <$L>::from_array(a);
                o.copy_from_slice(($body).to_array().as_ref());
            }
            out
        }};
    }

    /// A parameter in the lanes' element type.
    fn c<S: Float>(v: f64) -> S {
        S::from_f64(v)
    }

    struct SameBits<T>(u64, PhantomData<T>);

    impl<T: Float> LaneFn for SameBits<T> {
        /// The first kernel and input whose results differ.
        type Output = Option<(&'static str, f64)>;
        fn call<B: Family>(self) -> Self::Output {
            let xs = inputs::<T>(self.0);
            // Each kernel's check is a function of its own: inlined into `call`, the
            // 34 kernels on three lane types made one function so large that compiling
            // this test took six minutes on one core.
            macro_rules! same {
                ($name:literal, |$x:ident| $body:expr) => {{
                    #[inline(always)]
                    fn k<L: Lane>($x: L) -> L {
                        $body
                    }
                    #[inline(never)]
                    fn first_difference<B: Family, T: Float>(xs: &[T; N]) -> Option<f64> {
                        let a = on_lanes!(B::L<T>, xs, |x| k(x));
                        let b = on_lanes!(B::E<T>, xs, |x| k(x));
                        let q4 = on_lanes!(B::Q<T>, xs, |x| k(x));
                        for (((p, q), r), x) in a.iter().zip(&b).zip(&q4).zip(xs) {
                            let (p, q, r) = (p.to_f64(), q.to_f64(), r.to_f64());
                            let same =
                                |u: f64| u.to_bits() == p.to_bits() || (u.is_nan() && p.is_nan());
                            if !same(q) || !same(r) {
                                return Some(x.to_f64());
                            }
                        }
                        None
                    }
                    if let Some(x) = first_difference::<B, T>(&xs) {
                        return Some(($name, x));
                    }
                }};
            }
            same!("sigmoid", |x| sigmoid::sigmoid_lane(x));
            same!("sigmoid'", |x| sigmoid::sigmoid_derivative_lane(x));
            same!("tanh", |x| th::tanh_lane(x));
            same!("tanh'", |x| th::tanh_derivative_lane(x));
            same!("relu", |x| relu::relu_lane(x));
            same!("leaky_relu", |x| relu::leaky_relu_lane(
                x,
                L::splat(c(0.01))
            ));
            same!("hardtanh", |x| relu::hardtanh_lane(
                x,
                L::splat(c(-1.0)),
                L::splat(c(1.0))
            ));
            same!("elu", |x| elu::elu_lane(x, c(1.0)));
            same!("elu a=0.3", |x| elu::elu_lane(x, c(0.3)));
            same!("elu'", |x| elu::elu_derivative_lane(x, c(1.0)));
            same!("selu", |x| elu::selu_lane(x));
            same!("selu'", |x| elu::selu_derivative_lane(x));
            same!("celu", |x| elu::celu_lane(x, c(1.0)));
            same!("celu a=2.5", |x| elu::celu_lane(x, c(2.5)));
            same!("celu'", |x| elu::celu_derivative_lane(x, c(1.0)));
            same!("softsign", |x| softsign::softsign_lane(x));
            same!("softsign'", |x| softsign::softsign_derivative_lane(x));
            same!("softplus", |x| softplus::softplus_lane(x, L::splat(c(1.0))));
            same!("softplus b=3", |x| softplus::softplus_lane(
                x,
                L::splat(c(3.0))
            ));
            same!("softplus'", |x| softplus::softplus_derivative_lane(
                x,
                L::splat(c(1.0))
            ));
            same!("log_sigmoid", |x| softplus::log_sigmoid_lane(x));
            same!("log_sigmoid'", |x| softplus::log_sigmoid_derivative_lane(x));
            same!("mish", |x| mish::mish_lane(x));
            same!("mish'", |x| mish::mish_derivative_lane(x));
            same!("hardsigmoid", |x| hard::hardsigmoid_lane(x));
            same!("hardswish", |x| hard::hardswish_lane(x));
            same!("hardswish'", |x| hard::hardswish_derivative_lane(x));
            same!("silu", |x| silu::silu_lane(x));
            same!("silu'", |x| silu::silu_derivative_lane(x));
            same!("swish b=1.5", |x| silu::swish_lane(x, L::splat(c(1.5))));
            same!("swish' b=1.5", |x| silu::swish_derivative_lane(
                x,
                L::splat(c(1.5))
            ));
            same!("gelu", |x| gelu::gelu_lane(x));
            same!("gelu'", |x| gelu::gelu_derivative_lane(x));
            same!("gelu_tanh", |x| gelu::gelu_tanh_lane(x));
            same!("gelu_tanh'", |x| gelu::gelu_tanh_derivative_lane(x));
            None
        }
    }

    /// The first `n` (over every normal exponent) at which `pow2i_biased(n + bias +
    /// 2^(p-1))` or `pow2i(n)` is not exactly `2^n`, on the backend's three lane types.
    struct Pow2Biased<T>(PhantomData<T>);

    impl<T: Float> LaneFn for Pow2Biased<T> {
        type Output = Option<f64>;
        fn call<B: Family>(self) -> Self::Output {
            fn first_wrong<L: Lane>() -> Option<f64> {
                let c = <L::Scalar as Float>::VM;
                let (bias, shifter) = (c.bias.to_f64(), c.shifter.to_f64());
                // Every exponent natively; a sample under Miri, which is slow.
                let step = if cfg!(miri) { 37.0 } else { 1.0 };
                let mut n = 1.0 - bias;
                while n <= bias {
                    let want = libm::ldexp(1.0, n as i32);
                    let biased = L::pow2i_biased(L::splat(c_of(n + bias + shifter)));
                    let direct = L::pow2i(L::splat(c_of(n)));
                    let (biased, direct) = (biased.to_array(), direct.to_array());
                    if biased
                        .as_ref()
                        .iter()
                        .chain(direct.as_ref())
                        .any(|v| v.to_f64() != want)
                    {
                        return Some(n);
                    }
                    n += step;
                }
                None
            }
            fn c_of<S: Float>(v: f64) -> S {
                S::from_f64(v)
            }
            first_wrong::<B::L<T>>()
                .or(first_wrong::<B::E<T>>())
                .or(first_wrong::<B::Q<T>>())
        }
    }

    #[test]
    fn pow2i_biased_is_exact_on_every_backend_and_lane_type() {
        // The portable backend directly, then the one selected at run time (AVX2 where the
        // CPU has it).
        assert_eq!(Pow2Biased::<f32>(PhantomData).call::<Portable>(), None);
        assert_eq!(Pow2Biased::<f64>(PhantomData).call::<Portable>(), None);
        assert_eq!(run(Pow2Biased::<f32>(PhantomData)), None, "{:?}", backend());
        assert_eq!(run(Pow2Biased::<f64>(PhantomData)), None, "{:?}", backend());
    }

    #[test]
    // Miri runs the portable backend only (no AVX2), whose two lane types are one type.
    #[cfg_attr(
        miri,
        ignore = "the portable backend's two lane types are the same type"
    )]
    fn elementwise_lanes_give_the_same_bits_as_row_lanes() {
        for seed in 1..=8u64 {
            let s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            assert_eq!(
                run(SameBits::<f32>(s, PhantomData)),
                None,
                "f32, {:?}",
                backend()
            );
            assert_eq!(
                run(SameBits::<f64>(s, PhantomData)),
                None,
                "f64, {:?}",
                backend()
            );
        }
    }
}
