//! Criterion benches of the activation kernels (filled in by the benches issue).
fn main() {}
