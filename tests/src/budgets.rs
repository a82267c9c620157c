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
    ("tanh_vm", 2.0, 2.0),
    ("sigmoid", 2.0, 2.0),
    ("sigmoid_derivative", 4.0, 4.0),
    ("tanh", 2.0, 2.0),
    ("tanh_derivative", 4.0, 4.0),
    ("relu", 1.0, 1.0),
    ("relu_derivative", 1.0, 1.0),
    ("relu6", 1.0, 1.0),
    ("relu6_derivative", 1.0, 1.0),
    ("leaky_relu", 1.0, 1.0),
    ("leaky_relu_derivative", 1.0, 1.0),
    ("prelu", 1.0, 1.0),
    ("prelu_derivative", 1.0, 1.0),
    ("hardtanh", 1.0, 1.0),
    ("hardtanh_derivative", 1.0, 1.0),
    ("hardsigmoid", 1.0, 1.0),
    ("hardsigmoid_derivative", 1.0, 1.0),
    ("hardswish", 1.0, 1.0),
    ("hardswish_derivative", 1.0, 1.0),
    ("elu", 2.0, 2.0),
    ("elu_derivative", 4.0, 4.0),
    ("selu", 2.0, 2.0),
    ("selu_derivative", 4.0, 4.0),
    ("celu", 2.0, 2.0),
    ("celu_derivative", 4.0, 4.0),
    ("gelu", 4.0, 4.0),
    ("gelu_derivative", 4.0, 4.0),
    ("gelu_tanh", 4.0, 4.0),
    ("gelu_tanh_derivative", 4.0, 4.0),
    ("silu", 2.0, 2.0),
    ("silu_derivative", 4.0, 4.0),
    ("swish", 2.0, 2.0),
    ("swish_derivative", 4.0, 4.0),
    ("mish", 4.0, 4.0),
    ("mish_derivative", 4.0, 4.0),
    ("softplus", 2.0, 2.0),
    ("softplus_derivative", 4.0, 4.0),
    ("log_sigmoid", 2.0, 2.0),
    ("log_sigmoid_derivative", 4.0, 4.0),
    ("softsign", 2.0, 2.0),
    ("softsign_derivative", 4.0, 4.0),
    ("glu", 3.0, 3.0),
    ("glu_backward", 4.0, 4.0),
    ("swiglu", 3.0, 3.0),
    ("swiglu_backward", 5.0, 5.0),
    ("geglu", 5.0, 5.0),
    ("geglu_backward", 5.0, 5.0),
    // vector math
    ("erf", 2.0, 2.0),
    ("erfc", 2.0, 2.0),
    ("normal_cdf", 2.0, 2.0),
    // softmax family (whole-row bounds, per output element)
    ("softmax", 4.0, 4.0),
    ("log_softmax", 4.0, 4.0),
    ("logsumexp", 2.0, 4.0),
    ("softmax_backward", 4.0, 4.0),
    ("log_softmax_backward", 4.0, 4.0),
    // losses (per element term / per row; reduced values add the double-double sum)
    ("mse", 1.0, 1.0),
    ("l1", 0.5, 0.5),
    ("huber", 2.0, 2.0),
    ("smooth_l1", 2.0, 2.0),
    ("regression_grad", 1.5, 1.5),
    ("bce", 3.0, 3.0),
    ("bce_grad", 3.0, 3.0),
    ("bce_with_logits", 3.0, 3.0),
    ("bce_with_logits_grad", 4.0, 4.0),
    ("sigmoid_focal_loss", 6.0, 6.0),
    ("sigmoid_focal_loss_grad", 8.0, 8.0),
    ("kl_div_log_target", 3.0, 3.0),
    ("cross_entropy", 2.0, 4.0),
    ("cross_entropy_grad", 4.0, 6.0),
    ("cross_entropy_probs", 4.0, 4.0),
    ("cross_entropy_probs_grad", 4.0, 6.0),
    ("nll_loss", 1.0, 2.0),
    ("softmax_focal_loss", 4.0, 8.0),
    ("softmax_focal_loss_grad", 8.0, 8.0),
];

/// The budget of `kernel` for element type `dtype` (`"f32"` or `"f64"`).
pub fn budget(kernel: &str, dtype: &str) -> Option<f64> {
    BUDGETS
        .iter()
        .find(|(k, _, _)| *k == kernel)
        .map(|&(_, b32, b64)| if dtype == "f32" { b32 } else { b64 })
}
