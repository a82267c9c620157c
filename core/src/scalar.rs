//! Scalar references, one value at a time, through `libm`.
//!
//! Each is written in the same numerically stable form as its SIMD kernel (no cancellation,
//! no overflow in intermediate terms), so it is a fair single-value reference and the
//! baseline the benches compare the SIMD kernels against. Its accuracy is that of `libm`
//! plus the roundings of the formula: use the slice kernels when the published ULP bounds
//! matter.

pub use crate::activation::elu::scalar_ref::*;
pub use crate::activation::gated::scalar_ref::*;
pub use crate::activation::gelu::scalar_ref::*;
pub use crate::activation::hard::scalar_ref::*;
pub use crate::activation::mish::scalar_ref::*;
pub use crate::activation::relu::scalar_ref::*;
pub use crate::activation::sigmoid::scalar_ref::*;
pub use crate::activation::silu::scalar_ref::*;
pub use crate::activation::softplus::scalar_ref::*;
pub use crate::activation::softsign::scalar_ref::*;
pub use crate::activation::tanh::scalar_ref::*;
