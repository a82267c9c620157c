//! # nonlin
//!
//! SIMD kernels for neural-network activation functions, their derivatives and backward
//! passes, in `f32` and `f64`, with a published maximum error for every kernel, tails
//! included.
//!
//! - `#![no_std]`, no allocation, no panics: slices in, the caller's buffers out, and every
//!   argument problem reported as an [`Error`] before anything is written.
//! - Own range reductions and polynomials ([`vmath`]), evaluated over SIMD lanes ([`Lane`],
//!   implemented on `wide`), written once for both element types ([`Float`]).
//! - Position independent: an element's result depends only on its value, so splitting the
//!   work (as `nonlin-parallel` does) never changes a bit.
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
pub use lane::Lane;
#[doc(hidden)]
pub use lane::LaneFn;
pub use softmax::*;
