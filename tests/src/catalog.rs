//! The catalog of unary kernels: for each, the f32 and f64 slice kernels (default
//! parameters), the scalar reference (`nonlin::scalar`), a stable f64 reference for
//! measuring f32 kernels, and an MPFR reference for measuring f64 kernels.
//!
//! The exhaustive test, the coverage test of the budget table, and the `report` binary all
//! walk this one list, so a kernel added here is measured everywhere.

use crate::MPFR_PREC;
use rug::Float as Mp;
use rug::ops::Pow;

/// Default parameters used by the catalog (PyTorch's defaults).
pub mod defaults {
    /// leaky_relu slope.
    pub const SLOPE: f64 = 0.01;
    /// elu / celu alpha.
    pub const ALPHA: f64 = 1.0;
    /// softplus / swish beta.
    pub const BETA: f64 = 1.0;
    /// hardtanh bounds.
    pub const HT_MIN: f64 = -1.0;
    /// hardtanh bounds.
    pub const HT_MAX: f64 = 1.0;
}

/// One unary kernel.
#[derive(Clone, Copy)]
pub struct Unary {
    /// Name in the budget table.
    pub name: &'static str,
    /// f32 slice kernel.
    pub f32: fn(&[f32], &mut [f32]),
    /// f64 slice kernel.
    pub f64: fn(&[f64], &mut [f64]),
    /// f32 parallel kernel (`nonlin-parallel`).
    pub par32: fn(&[f32], &mut [f32]),
    /// Scalar reference in f32 (`nonlin::scalar`), the benches' baseline.
    pub scalar32: fn(f32) -> f32,
    /// Stable f64 reference for measuring the f32 kernel.
    pub ref64: fn(f64) -> f64,
    /// MPFR reference for measuring the f64 kernel.
    pub mpfr: fn(&Mp) -> Mp,
    /// Inputs where the ULP budget does not apply (a derivative's documented zero-crossing
    /// neighbourhood, where an absolute bound is tested instead).
    pub excluded: fn(f64) -> bool,
}

fn none(_: f64) -> bool {
    false
}

fn m(v: f64) -> Mp {
    Mp::with_val(MPFR_PREC, v)
}
fn one() -> Mp {
    m(1.0)
}
fn sig(x: &Mp) -> Mp {
    one() / (Mp::with_val(MPFR_PREC, -x).exp() + 1u32)
}
fn softplus_mp(x: &Mp) -> Mp {
    // max(x, 0) + ln(1 + e^-|x|): no overflow of e^x even in MPFR's exponent range.
    let a = Mp::with_val(MPFR_PREC, x.abs_ref());
    let t = Mp::with_val(MPFR_PREC, -a).exp().ln_1p();
    if *x > 0 { t + x } else { t }
}
fn phi_mp(x: &Mp) -> Mp {
    // Φ(x) = erfc(-x/√2)/2, in MPFR at 160 bits (no cancellation at this precision).
    let z = Mp::with_val(MPFR_PREC, -x) / m(2.0).sqrt();
    z.erfc() / 2u32
}
fn pdf_mp(x: &Mp) -> Mp {
    let pi = Mp::with_val(MPFR_PREC, rug::float::Constant::Pi);
    Mp::with_val(MPFR_PREC, -x.clone().square() / 2u32).exp() / (pi * 2u32).sqrt()
}
fn step(x: &Mp, lo: f64, hi: f64) -> Mp {
    if *x > lo && *x < hi { one() } else { m(0.0) }
}
fn tanh_u(x: &Mp) -> (Mp, Mp) {
    // gelu_tanh: u = sqrt(2/pi) (x + 0.044715 x^3); returns (2u, d(2u)/dx).
    let pi = Mp::with_val(MPFR_PREC, rug::float::Constant::Pi);
    let c = (Mp::with_val(MPFR_PREC, 2u32) / pi).sqrt();
    let k = Mp::with_val(
        MPFR_PREC,
        rug::Float::parse("0.044715").unwrap_or_else(|_| unreachable!()),
    );
    let x3 = Mp::with_val(MPFR_PREC, x.pow(3u32));
    let u = Mp::with_val(MPFR_PREC, &c * (Mp::with_val(MPFR_PREC, x + &k * x3)));
    let du = Mp::with_val(
        MPFR_PREC,
        &c * (one() + Mp::with_val(MPFR_PREC, 3u32 * k * x.clone().square())),
    );
    (u * 2u32, du * 2u32)
}

const SELU_L: f64 = 1.0507009873554804934193349852946;
const SELU_A: f64 = 1.6732632423543772848170429916717;

/// Every unary activation kernel and its derivative, with references.
pub fn unary_kernels() -> Vec<Unary> {
    use defaults::*;
    macro_rules! k {
        ($name:literal, $f:ident $(($($p:expr),*))?, $s:expr, $r:expr, $mp:expr) => {
            k!($name, $f $(($($p),*))?, $s, $r, $mp, none)
        };
        ($name:literal, $f:ident $(($($p:expr),*))?, $s:expr, $r:expr, $mp:expr, $ex:expr) => {
            Unary {
                name: $name,
                f32: |x, o| {
                    let _ = nonlin::$f(x, $($($p,)*)? o);
                },
                f64: |x, o| {
                    let _ = nonlin::$f(x, $($($p,)*)? o);
                },
                par32: |x, o| {
                    let _ = nonlin_parallel::$f(x, $($($p,)*)? o);
                },
                scalar32: $s,
                ref64: $r,
                mpfr: $mp,
                excluded: $ex,
            }
        };
    }
    use nonlin::scalar as s;
    vec![
        k!(
            "sigmoid",
            sigmoid,
            s::sigmoid::<f32>,
            s::sigmoid::<f64>,
            sig
        ),
        k!(
            "sigmoid_derivative",
            sigmoid_derivative,
            s::sigmoid_derivative::<f32>,
            s::sigmoid_derivative::<f64>,
            |x| {
                let a = sig(x);
                let b = sig(&Mp::with_val(MPFR_PREC, -x));
                a * b
            }
        ),
        k!("tanh", tanh, s::tanh::<f32>, s::tanh::<f64>, |x| x
            .clone()
            .tanh()),
        k!(
            "tanh_derivative",
            tanh_derivative,
            s::tanh_derivative::<f32>,
            s::tanh_derivative::<f64>,
            |x| x.clone().sech().square()
        ),
        k!(
            "relu",
            relu,
            s::relu::<f32>,
            s::relu::<f64>,
            |x| if *x > 0 { x.clone() } else { m(0.0) }
        ),
        k!(
            "relu_derivative",
            relu_derivative,
            s::relu_derivative::<f32>,
            s::relu_derivative::<f64>,
            |x| step(x, 0.0, f64::INFINITY)
        ),
        k!("relu6", relu6, s::relu6::<f32>, s::relu6::<f64>, |x| x
            .clone()
            .max(&m(0.0))
            .min(&m(6.0))),
        k!(
            "relu6_derivative",
            relu6_derivative,
            s::relu6_derivative::<f32>,
            s::relu6_derivative::<f64>,
            |x| step(x, 0.0, 6.0)
        ),
        k!(
            "leaky_relu",
            leaky_relu(num(SLOPE)),
            |x| s::leaky_relu(x, SLOPE as f32),
            |x| s::leaky_relu(x, (SLOPE as f32) as f64),
            |x| if *x > 0 {
                x.clone()
            } else {
                Mp::with_val(MPFR_PREC, x * SLOPE)
            }
        ),
        k!(
            "hardtanh",
            hardtanh(num(HT_MIN), num(HT_MAX)),
            |x| s::hardtanh(x, -1.0, 1.0),
            |x| s::hardtanh(x, -1.0, 1.0),
            |x| x.clone().max(&m(HT_MIN)).min(&m(HT_MAX))
        ),
        k!(
            "leaky_relu_derivative",
            leaky_relu_derivative(num(SLOPE)),
            |x| s::leaky_relu_derivative(x, SLOPE as f32),
            |x| s::leaky_relu_derivative(x, (SLOPE as f32) as f64),
            |x| if *x > 0 {
                one()
            } else {
                // The f64 kernel runs with slope = 0.01 in f64 (the f32 one with fl32(0.01)).
                m(SLOPE)
            }
        ),
        k!(
            "hardtanh_derivative",
            hardtanh_derivative(num(HT_MIN), num(HT_MAX)),
            |x| s::hardtanh_derivative(x, -1.0, 1.0),
            |x| s::hardtanh_derivative(x, -1.0, 1.0),
            |x| step(x, HT_MIN, HT_MAX)
        ),
        k!(
            "hardsigmoid_derivative",
            hardsigmoid_derivative,
            s::hardsigmoid_derivative::<f32>,
            s::hardsigmoid_derivative::<f64>,
            |x| if *x > -3 && *x < 3 {
                one() / 6u32
            } else {
                m(0.0)
            }
        ),
        k!(
            "hardswish_derivative",
            hardswish_derivative,
            s::hardswish_derivative::<f32>,
            s::hardswish_derivative::<f64>,
            |x| if *x < -3 {
                m(0.0)
            } else if *x > 3 {
                one()
            } else {
                (Mp::with_val(MPFR_PREC, x * 2u32) + 3u32) / 6u32
            }
        ),
        k!(
            "hardsigmoid",
            hardsigmoid,
            s::hardsigmoid::<f32>,
            s::hardsigmoid::<f64>,
            |x| (Mp::with_val(MPFR_PREC, x + 3u32) / 6u32)
                .max(&m(0.0))
                .min(&one())
        ),
        k!(
            "hardswish",
            hardswish,
            s::hardswish::<f32>,
            s::hardswish::<f64>,
            |x| {
                let h = (Mp::with_val(MPFR_PREC, x + 3u32) / 6u32)
                    .max(&m(0.0))
                    .min(&one());
                h * x
            }
        ),
        k!(
            "elu",
            elu(num(ALPHA)),
            |x| s::elu(x, 1.0),
            |x| s::elu(x, 1.0),
            |x| if *x > 0 {
                x.clone()
            } else {
                x.clone().exp_m1()
            }
        ),
        k!(
            "elu_derivative",
            elu_derivative(num(ALPHA)),
            |x| s::elu_derivative(x, 1.0),
            |x| s::elu_derivative(x, 1.0),
            |x| if *x > 0 { one() } else { x.clone().exp() }
        ),
        k!(
            "selu",
            selu,
            s::selu::<f32>,
            s::selu::<f64>,
            |x| if *x > 0 {
                x.clone() * SELU_L
            } else {
                x.clone().exp_m1() * SELU_A * SELU_L
            }
        ),
        k!(
            "selu_derivative",
            selu_derivative,
            s::selu_derivative::<f32>,
            s::selu_derivative::<f64>,
            |x| if *x > 0 {
                m(SELU_L)
            } else {
                x.clone().exp() * SELU_A * SELU_L
            }
        ),
        k!(
            "celu",
            celu(num(ALPHA)),
            |x| s::celu(x, 1.0),
            |x| s::celu(x, 1.0),
            |x| if *x > 0 {
                x.clone()
            } else {
                x.clone().exp_m1()
            }
        ),
        k!(
            "celu_derivative",
            celu_derivative(num(ALPHA)),
            |x| s::celu_derivative(x, 1.0),
            |x| s::celu_derivative(x, 1.0),
            |x| if *x > 0 { one() } else { x.clone().exp() }
        ),
        k!("gelu", gelu, s::gelu::<f32>, s::gelu::<f64>, |x| phi_mp(x)
            * x),
        k!(
            "gelu_derivative",
            gelu_derivative,
            s::gelu_derivative::<f32>,
            s::gelu_derivative::<f64>,
            |x| phi_mp(x) + pdf_mp(x) * x,
            |x| (-0.80..=-0.70).contains(&x)
        ),
        k!(
            "gelu_tanh",
            gelu_tanh,
            s::gelu_tanh::<f32>,
            s::gelu_tanh::<f64>,
            |x| {
                let (u2, _) = tanh_u(x);
                sig(&u2) * x
            }
        ),
        k!(
            "gelu_tanh_derivative",
            gelu_tanh_derivative,
            s::gelu_tanh_derivative::<f32>,
            s::gelu_tanh_derivative::<f64>,
            |x| {
                let (u2, du2) = tanh_u(x);
                let sg = sig(&u2);
                let sgn = sig(&Mp::with_val(MPFR_PREC, -&u2));
                Mp::with_val(
                    MPFR_PREC,
                    &sg + Mp::with_val(MPFR_PREC, x * &sg) * sgn * du2,
                )
            },
            |x| (-0.80..=-0.70).contains(&x)
        ),
        k!("silu", silu, s::silu::<f32>, s::silu::<f64>, |x| sig(x) * x),
        k!(
            "silu_derivative",
            silu_derivative,
            s::silu_derivative::<f32>,
            s::silu_derivative::<f64>,
            |x| {
                let a = sig(x);
                let b = sig(&Mp::with_val(MPFR_PREC, -x));
                Mp::with_val(MPFR_PREC, &a * (one() + Mp::with_val(MPFR_PREC, x * b)))
            },
            |x| (x + 1.2784645427610738).abs() < nonlin::SILU_DERIVATIVE_ZERO_NEIGHBOURHOOD
        ),
        k!(
            "swish",
            swish(num(BETA)),
            |x| s::swish(x, 1.0),
            |x| s::swish(x, 1.0),
            |x| sig(x) * x
        ),
        k!(
            "swish_derivative",
            swish_derivative(num(BETA)),
            |x| s::swish_derivative(x, 1.0),
            |x| s::swish_derivative(x, 1.0),
            |x| {
                let a = sig(x);
                let b = sig(&Mp::with_val(MPFR_PREC, -x));
                Mp::with_val(MPFR_PREC, &a * (one() + Mp::with_val(MPFR_PREC, x * b)))
            },
            |x| (x + 1.2784645427610738).abs() < nonlin::SILU_DERIVATIVE_ZERO_NEIGHBOURHOOD
        ),
        k!(
            "mish",
            mish,
            s::mish::<f32>,
            s::mish::<f64>,
            |x| softplus_mp(x).tanh() * x
        ),
        k!(
            "mish_derivative",
            mish_derivative,
            s::mish_derivative::<f32>,
            s::mish_derivative::<f64>,
            |x| {
                let sp = softplus_mp(x);
                let t = Mp::with_val(MPFR_PREC, sp.tanh_ref());
                let sech2 = sp.sech().square();
                Mp::with_val(MPFR_PREC, &t + Mp::with_val(MPFR_PREC, x * sech2) * sig(x))
            },
            |x| (x + 1.1924312145154952).abs() < nonlin::MISH_DERIVATIVE_ZERO_NEIGHBOURHOOD
        ),
        k!(
            "softplus",
            softplus(num(BETA)),
            |x| s::softplus(x, 1.0),
            |x| s::softplus(x, 1.0),
            softplus_mp
        ),
        k!(
            "softplus_derivative",
            softplus_derivative(num(BETA)),
            |x| s::softplus_derivative(x, 1.0),
            |x| s::softplus_derivative(x, 1.0),
            sig
        ),
        k!(
            "log_sigmoid",
            log_sigmoid,
            s::log_sigmoid::<f32>,
            s::log_sigmoid::<f64>,
            |x| -softplus_mp(&Mp::with_val(MPFR_PREC, -x))
        ),
        k!(
            "log_sigmoid_derivative",
            log_sigmoid_derivative,
            s::log_sigmoid_derivative::<f32>,
            s::log_sigmoid_derivative::<f64>,
            |x| sig(&Mp::with_val(MPFR_PREC, -x))
        ),
        k!(
            "softsign",
            softsign,
            s::softsign::<f32>,
            s::softsign::<f64>,
            |x| Mp::with_val(MPFR_PREC, x / (Mp::with_val(MPFR_PREC, x.abs_ref()) + 1u32))
        ),
        k!(
            "softsign_derivative",
            softsign_derivative,
            s::softsign_derivative::<f32>,
            s::softsign_derivative::<f64>,
            |x| (one() / (Mp::with_val(MPFR_PREC, x.abs_ref()) + 1u32)).square()
        ),
    ]
}

/// Converts a default parameter to the element type.
pub fn num<T: nonlin::Float>(v: f64) -> T {
    T::from_f64(v)
}
