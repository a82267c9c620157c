//! The row kernels' and losses' tests (softmax family, cross-entropy, the binary,
//! regression and KL losses), the `Activation` dispatch, the vector-math functions and the
//! fuzz regressions, one module per file, built as one test binary (see `kernels.rs` for
//! why). The files keep their paths; run one with
//! `cargo test -p nonlin-tests --test rows -- softmax::`.

#[path = "cross_entropy.rs"]
mod cross_entropy;
#[path = "dispatch.rs"]
mod dispatch;
#[path = "fuzz_losses_regressions.rs"]
mod fuzz_losses_regressions;
#[path = "fuzz_regressions.rs"]
mod fuzz_regressions;
#[path = "loss_binary.rs"]
mod loss_binary;
#[path = "loss_kl.rs"]
mod loss_kl;
#[path = "loss_regression.rs"]
mod loss_regression;
#[path = "softmax.rs"]
mod softmax;
#[path = "vmath.rs"]
mod vmath;
