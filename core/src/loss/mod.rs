//! Loss functions with their gradients (PyTorch semantics).
//!
//! Conventions:
//! - `NAME(pred, target, .., reduction) -> Result<T, Error>`: the reduced loss;
//! - `NAME_none(pred, target, .., out)`: the element-wise loss (reduction "none");
//! - `NAME_with_grad(pred, target, .., reduction, grad) -> Result<T, Error>`: fused value and
//!   gradient with respect to `pred` (or the logits), in one pass; for [`Reduction::Mean`] the
//!   gradient includes the `1/N` (or `1/sum of weights`) factor;
//! - `NAME_none_with_grad(pred, target, .., out, grad)`: element-wise loss and gradient.
//!
//! Sums follow [`crate::reduce`]: fixed blocks, fixed combine order, double-double
//! accumulation, so results are bit-identical however the work is split.

/// How a loss over many elements is reduced to one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The (weighted) mean.
    #[default]
    Mean,
    /// The sum.
    Sum,
}

mod binary;
mod cross_entropy;
mod kl;
mod regression;
pub use binary::*;
pub use cross_entropy::*;
pub use kl::*;
pub use regression::*;
