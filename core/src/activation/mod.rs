//! Activation functions: forward, in place, derivative and backward for every function,
//! generic over `f32` and `f64`, plus the runtime [`Activation`] enum and the training
//! diagnostics.
//!
//! Conventions shared by every function here:
//! - slices in, the caller's buffers out; inputs first, then parameters, then outputs;
//! - `*_derivative(x, .., out)` is the derivative with respect to the forward *input*;
//! - `*_backward(x, grad_out, .., grad_in)` is `grad_out * f'(x)`;
//! - NaN in gives NaN out, ±inf gives the mathematical limit, kinks follow PyTorch
//!   (`relu'(0) = 0`);
//! - every element goes through the same lane code, so a result does not depend on the
//!   slice's length, the element's position or alignment.

pub(crate) mod elu;
pub(crate) mod gated;
pub(crate) mod gelu;
pub(crate) mod hard;
pub(crate) mod mish;
pub(crate) mod relu;
pub(crate) mod sigmoid;
pub(crate) mod silu;
pub(crate) mod softplus;
pub(crate) mod softsign;
pub(crate) mod tanh;

mod dispatch;

pub use dispatch::*;
pub use elu::*;
pub use gated::*;
pub use gelu::*;
pub use hard::*;
pub use mish::*;
pub use relu::*;
pub use sigmoid::*;
pub use silu::*;
pub use softplus::*;
pub use softsign::*;
pub use tanh::*;
