//! # nonlin
//!
//! SIMD kernels for neural-network activation functions, their derivatives and backward
//! passes, in `f32` and `f64`, with a published maximum error for every kernel, tails
//! included.
//!
//! - `#![no_std]`, no allocation, no panics: slices in, the caller's buffers out, and every
//!   argument problem reported as an [`Error`] before anything is written. On a Cortex-M4F
//!   a firmware calling every public slice entry point links with a panic handler that
//!   references an undefined symbol: no panic path is left in the compiled code
//!   (`scripts/embedded.sh`).
//! - Own range reductions and polynomials ([`vmath`]), evaluated over SIMD lanes ([`Lane`],
//!   implemented on `wide`), written once for both element types ([`Float`]).
//! - Position independent: an element's result depends only on its value, so splitting the
//!   work (as `nonlin-parallel` does) never changes a bit.
//!
//! # Cargo features
//!
//! - `std`: run-time CPU detection of the AVX2+FMA backend on x86_64 ([`backend`]).
//! - `force-portable`: only the portable backend, whatever the CPU.
//! - `scalar-lanes` (off by default): the portable backend runs the same kernels on
//!   one-element lanes ([`Scalar1`]) instead of `wide`'s `f32x8` / `f64x4`. On a target
//!   without SIMD (Cortex-M), `wide`'s vectors are arrays of 8 (4) floats and every kernel is
//!   unrolled that many times; one-element lanes cut flash and stack several-fold
//!   (`docs/embedded.md` has the measured table). Element-wise kernels (activations,
//!   derivatives, backward passes, element-wise losses with reduction `none`) give the
//!   same bits as the default build on such a target, where `wide` multiplies and adds
//!   unrolled as [`Scalar1`] does. Row kernels (softmax family, cross-entropy) and reduced
//!   losses add their terms in another order (one accumulator instead of eight), and row
//!   kernels take only the careful row pass (the default build adds a faster second copy of
//!   it for the common rows, at a cost in flash), so they can differ from the default
//!   build in the last bit, within the same published budgets; they remain deterministic and position independent within a build. On targets where
//!   `wide` fuses `mul_add` (aarch64, x86_64 with `+fma`) element-wise results can differ in
//!   the last bit too, within the budgets. On SIMD targets the feature is much slower. The
//!   default stays `wide` on every target, so that a default firmware build reproduces the
//!   host's bits for every kernel.
//!
//! ```
//! let x = [-3.0f32, -0.5, 0.0, 0.5, 3.0];
//! let mut y = [0.0f32; 5];
//! nonlin::gelu(&x, &mut y)?;
//! nonlin::sigmoid_inplace(&mut y);
//! # Ok::<(), nonlin::Error>(())
//! ```
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod backend;
mod driver;
mod error;
mod float;
mod lane;
pub mod loss;
pub mod reduce;
pub mod scalar;
pub mod softmax;
pub mod vmath;

pub use activation::*;
pub use backend::Backend;
pub use error::Error;
pub use float::{Float, VmConsts};
#[doc(hidden)]
pub use lane::LaneFn;
pub use lane::{Lane, Scalar1};
pub use softmax::*;
