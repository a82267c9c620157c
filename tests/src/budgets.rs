//! The ULP budget table: the maximum error each kernel is held to, per element type.
//!
//! The README's accuracy table and each function's rustdoc publish these numbers; the
//! accuracy tests assert them; `every_kernel_has_a_budget` checks that no exported kernel is
//! missing. A budget is a promise (the bar of the core issue), not the measured maximum: the
//! measured maxima are printed by the tests and the report.

/// `(kernel, f32 budget, f64 budget)` in ULPs.
pub const BUDGETS: &[(&str, f64, f64)] = &[
    ("exp", 2.0, 2.0),
    ("expm1", 2.0, 2.0),
    ("ln", 2.0, 2.0),
    ("log1p", 2.0, 2.0),
    ("sigmoid", 2.0, 2.0),
    ("sigmoid_derivative", 4.0, 4.0),
];

/// The budget of `kernel` for element type `dtype` (`"f32"` or `"f64"`).
pub fn budget(kernel: &str, dtype: &str) -> Option<f64> {
    BUDGETS
        .iter()
        .find(|(k, _, _)| *k == kernel)
        .map(|&(_, b32, b64)| if dtype == "f32" { b32 } else { b64 })
}
