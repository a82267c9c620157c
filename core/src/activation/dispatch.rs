//! The runtime [`Activation`] enum, which dispatches to the same kernels as the per-function
//! entry points, and the diagnostics that training code monitors.

use crate::driver;
use crate::error::Error;
use crate::float::Float;
use crate::lane::Lane;

/// An element-wise activation chosen at run time, with its parameters.
///
/// Each method calls the same kernel as the per-function entry point (bit-identical
/// results). Parameters are validated on every call, before anything is written.
/// PReLU and the gated units are not here: they take a second tensor (slopes, or the gate
/// half), so they have their own entry points ([`crate::prelu`], [`crate::glu`], ...).
///
/// # Example
/// ```
/// use nonlin::Activation;
/// let act = Activation::LeakyRelu { slope: 0.1f32 };
/// let mut y = [0.0f32; 3];
/// act.forward(&[-2.0, 0.0, 3.0], &mut y)?;
/// assert_eq!(y, [-0.2, 0.0, 3.0]);
/// let mut d = [0.0f32; 3];
/// act.derivative(&[-2.0, 0.0, 3.0], &mut d)?;
/// assert_eq!(d, [0.1, 0.1, 1.0]); // PyTorch: leaky_relu'(0) = slope
/// # Ok::<(), nonlin::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Activation<T> {
    /// [`crate::sigmoid()`].
    Sigmoid,
    /// [`crate::tanh()`].
    Tanh,
    /// [`crate::relu()`].
    Relu,
    /// [`crate::relu6`].
    Relu6,
    /// [`crate::leaky_relu`] (PyTorch's default slope is 0.01).
    LeakyRelu {
        /// Slope for negative inputs.
        slope: T,
    },
    /// [`crate::elu()`].
    Elu {
        /// Scale of the negative branch.
        alpha: T,
    },
    /// [`crate::selu`].
    Selu,
    /// [`crate::celu`].
    Celu {
        /// Scale (non-zero).
        alpha: T,
    },
    /// [`crate::gelu()`] (exact, `x Φ(x)`).
    Gelu,
    /// [`crate::gelu_tanh`] (the tanh approximation).
    GeluTanh,
    /// [`crate::silu()`].
    Silu,
    /// [`crate::swish`], `x σ(βx)`.
    Swish {
        /// β.
        beta: T,
    },
    /// [`crate::mish()`].
    Mish,
    /// [`crate::softplus()`].
    Softplus {
        /// β (> 0).
        beta: T,
    },
    /// [`crate::log_sigmoid`].
    LogSigmoid,
    /// [`crate::hardsigmoid`].
    Hardsigmoid,
    /// [`crate::hardswish`].
    Hardswish,
    /// [`crate::hardtanh`].
    Hardtanh {
        /// Lower bound.
        min: T,
        /// Upper bound (>= `min`).
        max: T,
    },
    /// [`crate::softsign()`].
    Softsign,
}

macro_rules! dispatch {
    ($self:expr, $suffix:ident, ($($arg:expr),*)) => {
        paste_dispatch!($self, $suffix, ($($arg),*))
    };
}

macro_rules! paste_dispatch {
    ($self:expr, forward, ($($arg:expr),*)) => {
        match *$self {
            Activation::Sigmoid => crate::sigmoid($($arg),*),
            Activation::Tanh => crate::tanh($($arg),*),
            Activation::Relu => crate::relu($($arg),*),
            Activation::Relu6 => crate::relu6($($arg),*),
            Activation::LeakyRelu { slope } => with_param!(crate::leaky_relu, slope, $($arg),*),
            Activation::Elu { alpha } => with_param!(crate::elu, alpha, $($arg),*),
            Activation::Selu => crate::selu($($arg),*),
            Activation::Celu { alpha } => with_param!(crate::celu, alpha, $($arg),*),
            Activation::Gelu => crate::gelu($($arg),*),
            Activation::GeluTanh => crate::gelu_tanh($($arg),*),
            Activation::Silu => crate::silu($($arg),*),
            Activation::Swish { beta } => with_param!(crate::swish, beta, $($arg),*),
            Activation::Mish => crate::mish($($arg),*),
            Activation::Softplus { beta } => with_param!(crate::softplus, beta, $($arg),*),
            Activation::LogSigmoid => crate::log_sigmoid($($arg),*),
            Activation::Hardsigmoid => crate::hardsigmoid($($arg),*),
            Activation::Hardswish => crate::hardswish($($arg),*),
            Activation::Hardtanh { min, max } => with_param2!(crate::hardtanh, min, max, $($arg),*),
            Activation::Softsign => crate::softsign($($arg),*),
        }
    };
    ($self:expr, derivative, ($($arg:expr),*)) => {
        match *$self {
            Activation::Sigmoid => crate::sigmoid_derivative($($arg),*),
            Activation::Tanh => crate::tanh_derivative($($arg),*),
            Activation::Relu => crate::relu_derivative($($arg),*),
            Activation::Relu6 => crate::relu6_derivative($($arg),*),
            Activation::LeakyRelu { slope } => with_param!(crate::leaky_relu_derivative, slope, $($arg),*),
            Activation::Elu { alpha } => with_param!(crate::elu_derivative, alpha, $($arg),*),
            Activation::Selu => crate::selu_derivative($($arg),*),
            Activation::Celu { alpha } => with_param!(crate::celu_derivative, alpha, $($arg),*),
            Activation::Gelu => crate::gelu_derivative($($arg),*),
            Activation::GeluTanh => crate::gelu_tanh_derivative($($arg),*),
            Activation::Silu => crate::silu_derivative($($arg),*),
            Activation::Swish { beta } => with_param!(crate::swish_derivative, beta, $($arg),*),
            Activation::Mish => crate::mish_derivative($($arg),*),
            Activation::Softplus { beta } => with_param!(crate::softplus_derivative, beta, $($arg),*),
            Activation::LogSigmoid => crate::log_sigmoid_derivative($($arg),*),
            Activation::Hardsigmoid => crate::hardsigmoid_derivative($($arg),*),
            Activation::Hardswish => crate::hardswish_derivative($($arg),*),
            Activation::Hardtanh { min, max } => with_param2!(crate::hardtanh_derivative, min, max, $($arg),*),
            Activation::Softsign => crate::softsign_derivative($($arg),*),
        }
    };
}

// Parameters sit between the input slices and the output slices: (x, p, out) and
// (x, grad_out, p, grad_in).
macro_rules! with_param {
    ($f:path, $p:expr, $x:expr, $out:expr) => {
        $f($x, $p, $out)
    };
    ($f:path, $p:expr, $x:expr, $g:expr, $out:expr) => {
        $f($x, $g, $p, $out)
    };
}
macro_rules! with_param2 {
    ($f:path, $p:expr, $q:expr, $x:expr, $out:expr) => {
        $f($x, $p, $q, $out)
    };
    ($f:path, $p:expr, $q:expr, $x:expr, $g:expr, $out:expr) => {
        $f($x, $g, $p, $q, $out)
    };
}

impl<T: Float> Activation<T> {
    /// The function's name as used in the docs and the budget table (`"leaky_relu"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Celu { .. } => "celu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Silu => "silu",
            Activation::Swish { .. } => "swish",
            Activation::Mish => "mish",
            Activation::Softplus { .. } => "softplus",
            Activation::LogSigmoid => "log_sigmoid",
            Activation::Hardsigmoid => "hardsigmoid",
            Activation::Hardswish => "hardswish",
            Activation::Hardtanh { .. } => "hardtanh",
            Activation::Softsign => "softsign",
        }
    }

    /// `out[i] = f(x[i])`.
    ///
    /// # Errors
    /// Length mismatch or an invalid parameter, as the per-function entry point.
    pub fn forward(&self, x: &[T], out: &mut [T]) -> Result<(), Error> {
        dispatch!(self, forward, (x, out))
    }

    /// `x[i] = f(x[i])` in place (through the same kernel as [`Activation::forward`]).
    ///
    /// # Errors
    /// An invalid parameter.
    pub fn forward_inplace(&self, x: &mut [T]) -> Result<(), Error> {
        match *self {
            Activation::Sigmoid => crate::sigmoid_inplace(x),
            Activation::Tanh => crate::tanh_inplace(x),
            Activation::Relu => crate::relu_inplace(x),
            Activation::Relu6 => crate::relu6_inplace(x),
            Activation::LeakyRelu { slope } => crate::leaky_relu_inplace(x, slope)?,
            Activation::Elu { alpha } => crate::elu_inplace(x, alpha)?,
            Activation::Selu => crate::selu_inplace(x),
            Activation::Celu { alpha } => crate::celu_inplace(x, alpha)?,
            Activation::Gelu => crate::gelu_inplace(x),
            Activation::GeluTanh => crate::gelu_tanh_inplace(x),
            Activation::Silu => crate::silu_inplace(x),
            Activation::Swish { beta } => crate::swish_inplace(x, beta)?,
            Activation::Mish => crate::mish_inplace(x),
            Activation::Softplus { beta } => crate::softplus_inplace(x, beta)?,
            Activation::LogSigmoid => crate::log_sigmoid_inplace(x),
            Activation::Hardsigmoid => crate::hardsigmoid_inplace(x),
            Activation::Hardswish => crate::hardswish_inplace(x),
            Activation::Hardtanh { min, max } => crate::hardtanh_inplace(x, min, max)?,
            Activation::Softsign => crate::softsign_inplace(x),
        }
        Ok(())
    }

    /// `out[i] = f'(x[i])`, the derivative with respect to the input.
    ///
    /// # Errors
    /// Length mismatch or an invalid parameter.
    pub fn derivative(&self, x: &[T], out: &mut [T]) -> Result<(), Error> {
        dispatch!(self, derivative, (x, out))
    }

    /// `grad_in[i] = grad_out[i] * f'(x[i])`.
    ///
    /// # Errors
    /// Length mismatch or an invalid parameter.
    pub fn backward(&self, x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
        match *self {
            Activation::Sigmoid => crate::sigmoid_backward(x, grad_out, grad_in),
            Activation::Tanh => crate::tanh_backward(x, grad_out, grad_in),
            Activation::Relu => crate::relu_backward(x, grad_out, grad_in),
            Activation::Relu6 => crate::relu6_backward(x, grad_out, grad_in),
            Activation::LeakyRelu { slope } => {
                crate::leaky_relu_backward(x, grad_out, slope, grad_in)
            }
            Activation::Elu { alpha } => crate::elu_backward(x, grad_out, alpha, grad_in),
            Activation::Selu => crate::selu_backward(x, grad_out, grad_in),
            Activation::Celu { alpha } => crate::celu_backward(x, grad_out, alpha, grad_in),
            Activation::Gelu => crate::gelu_backward(x, grad_out, grad_in),
            Activation::GeluTanh => crate::gelu_tanh_backward(x, grad_out, grad_in),
            Activation::Silu => crate::silu_backward(x, grad_out, grad_in),
            Activation::Swish { beta } => crate::swish_backward(x, grad_out, beta, grad_in),
            Activation::Mish => crate::mish_backward(x, grad_out, grad_in),
            Activation::Softplus { beta } => crate::softplus_backward(x, grad_out, beta, grad_in),
            Activation::LogSigmoid => crate::log_sigmoid_backward(x, grad_out, grad_in),
            Activation::Hardsigmoid => crate::hardsigmoid_backward(x, grad_out, grad_in),
            Activation::Hardswish => crate::hardswish_backward(x, grad_out, grad_in),
            Activation::Hardtanh { min, max } => {
                crate::hardtanh_backward(x, grad_out, min, max, grad_in)
            }
            Activation::Softsign => crate::softsign_backward(x, grad_out, grad_in),
        }
    }
}

/// Counts over a slice of pre-activations (or any values) that training code monitors:
/// how many units are active (`x > 0`, the dying-ReLU check), and how many are NaN or
/// infinite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActivationStats {
    /// Number of elements.
    pub len: usize,
    /// Elements with `x > 0` (NaN is not active).
    pub active: usize,
    /// NaN elements.
    pub nan: usize,
    /// `+inf` or `-inf` elements.
    pub inf: usize,
}

impl ActivationStats {
    /// `active / len`, or 0 for an empty slice.
    pub fn active_fraction(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.active as f64 / self.len as f64
        }
    }
    /// `1 - active_fraction`: the share of units a ReLU would zero (dead or inactive).
    pub fn inactive_fraction(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            1.0 - self.active_fraction()
        }
    }
}

/// Counts active (`x > 0`), NaN and infinite elements of `x` in one SIMD pass.
///
/// # Example
/// ```
/// let s = nonlin::activation_stats(&[-1.0f32, 0.0, 2.0, f32::NAN, f32::INFINITY]);
/// assert_eq!((s.len, s.active, s.nan, s.inf), (5, 2, 1, 1));
/// assert_eq!(s.active_fraction(), 0.4);
/// ```
pub fn activation_stats<T: Float>(x: &[T]) -> ActivationStats {
    let zero = T::Lane::splat(T::ZERO);
    // Padding with 0 counts as neither active, NaN nor infinite.
    let (active, nan, inf) =
        driver::closure::fold::<T, T::Lane, _>(x, T::ZERO, (0usize, 0usize, 0usize), |acc, v| {
            (
                acc.0 + T::Lane::count(v.gt(zero)) as usize,
                acc.1 + T::Lane::count(v.is_nan()) as usize,
                acc.2 + T::Lane::count(v.is_inf()) as usize,
            )
        });
    ActivationStats {
        len: x.len(),
        active,
        nan,
        inf,
    }
}

/// Which squashing function a saturation count refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Squash {
    /// Logistic sigmoid, output in (0, 1).
    Sigmoid,
    /// tanh, output in (-1, 1).
    Tanh,
}

/// Fraction of pre-activations `x` whose output is saturated: within `eps` of the output's
/// bounds (`σ(x) < eps` or `σ(x) > 1 - eps`; `|tanh x| > 1 - eps`). Saturated units pass
/// almost no gradient. The test is done on `x` against the exact threshold
/// (`|x| > ln((1 - eps)/eps)` for the sigmoid, `|x| > atanh(1 - eps)` for tanh), so no
/// activation is evaluated. ±inf counts as saturated; NaN does not.
///
/// # Errors
/// [`Error::InvalidParameter`] if `eps` is not in `(0, 0.5)`.
///
/// # Example
/// ```
/// use nonlin::{saturated_fraction, Squash};
/// // σ(±5) is within 0.01 of its bounds, σ(±1) is not.
/// let f = saturated_fraction(&[-5.0f32, -1.0, 1.0, 5.0], Squash::Sigmoid, 0.01)?;
/// assert_eq!(f, 0.5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn saturated_fraction<T: Float>(x: &[T], squash: Squash, eps: f64) -> Result<f64, Error> {
    if !(eps > 0.0 && eps < 0.5) {
        return Err(Error::InvalidParameter {
            name: "eps",
            value: eps,
            requirement: "in (0, 0.5)",
        });
    }
    let t = match squash {
        Squash::Sigmoid => libm::log((1.0 - eps) / eps),
        Squash::Tanh => libm::atanh(1.0 - eps),
    };
    // Rounding the threshold to T may move it by half an ulp; `>` on the rounded value is
    // the documented test for inputs representable in T.
    let tl = T::Lane::splat(T::from_f64(t));
    let n = driver::closure::fold::<T, T::Lane, _>(x, T::ZERO, 0usize, |acc, v| {
        acc + T::Lane::count(v.abs().gt(tl)) as usize
    });
    Ok(if x.is_empty() {
        0.0
    } else {
        n as f64 / x.len() as f64
    })
}
