//! # nonlin-parallel
//!
//! The `nonlin` kernels over all cores with rayon, bit-identical to the serial calls.
//! (The rayon layer is filled in by its own issue; this crate re-exports the serial API.)

pub use nonlin::*;
