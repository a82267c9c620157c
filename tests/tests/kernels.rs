//! The element-wise kernels' tests (accuracy against the references, special values,
//! derivative and backward identities, the parallel crate's bit-identity), one module per
//! family, built as one test binary.
//!
//! The kernels are generic, so every test crate compiles its own copies of the ones it
//! calls: as thirteen binaries these files compiled the shared kernels and the catalog
//! thirteen times (one fresh `cargo test --workspace --no-run` with the merged binaries took
//! 6m22s, against 7m31s in the CI run before the merge). The files keep their paths
//! (`tests/tests/<family>.rs`, which the docs cite); run one family with
//! `cargo test -p nonlin-tests --test kernels -- gelu::`.

#[path = "budget_table.rs"]
mod budget_table;
#[path = "elu.rs"]
mod elu;
#[path = "erf.rs"]
mod erf;
#[path = "gelu.rs"]
mod gelu;
#[path = "hard.rs"]
mod hard;
#[path = "mish.rs"]
mod mish;
#[path = "parallel.rs"]
mod parallel;
#[path = "relu.rs"]
mod relu;
#[path = "sigmoid.rs"]
mod sigmoid;
#[path = "silu.rs"]
mod silu;
#[path = "softplus.rs"]
mod softplus;
#[path = "softsign.rs"]
mod softsign;
#[path = "tanh.rs"]
mod tanh;
