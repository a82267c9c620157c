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
//!   a plain `cargo build --release` gets it on CPUs that have it.
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
