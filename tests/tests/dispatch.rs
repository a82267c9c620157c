//! The runtime `Activation` enum gives the per-function kernels' bits; the diagnostics count
//! exactly; gated units match their definitions.

use nonlin::{Activation, Squash};
use nonlin_tests::*;

fn variants<T: nonlin::Float>() -> Vec<Activation<T>> {
    let p = |v: f64| T::from_f64(v);
    vec![
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu { slope: p(0.01) },
        Activation::Elu { alpha: p(1.3) },
        Activation::Selu,
        Activation::Celu { alpha: p(0.7) },
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Swish { beta: p(1.7) },
        Activation::Mish,
        Activation::Softplus { beta: p(2.0) },
        Activation::LogSigmoid,
        Activation::Hardsigmoid,
        Activation::Hardswish,
        Activation::Hardtanh {
            min: p(-2.0),
            max: p(0.5),
        },
        Activation::Softsign,
    ]
}

/// The per-function forward call for a variant, written out independently of the enum.
fn direct_f32(a: &Activation<f32>, x: &[f32], out: &mut [f32]) -> Result<(), nonlin::Error> {
    match *a {
        Activation::Sigmoid => nonlin::sigmoid(x, out),
        Activation::Tanh => nonlin::tanh(x, out),
        Activation::Relu => nonlin::relu(x, out),
        Activation::Relu6 => nonlin::relu6(x, out),
        Activation::LeakyRelu { slope } => nonlin::leaky_relu(x, slope, out),
        Activation::Elu { alpha } => nonlin::elu(x, alpha, out),
        Activation::Selu => nonlin::selu(x, out),
        Activation::Celu { alpha } => nonlin::celu(x, alpha, out),
        Activation::Gelu => nonlin::gelu(x, out),
        Activation::GeluTanh => nonlin::gelu_tanh(x, out),
        Activation::Silu => nonlin::silu(x, out),
        Activation::Swish { beta } => nonlin::swish(x, beta, out),
        Activation::Mish => nonlin::mish(x, out),
        Activation::Softplus { beta } => nonlin::softplus(x, beta, out),
        Activation::LogSigmoid => nonlin::log_sigmoid(x, out),
        Activation::Hardsigmoid => nonlin::hardsigmoid(x, out),
        Activation::Hardswish => nonlin::hardswish(x, out),
        Activation::Hardtanh { min, max } => nonlin::hardtanh(x, min, max, out),
        Activation::Softsign => nonlin::softsign(x, out),
        _ => unreachable!("new variant: add it here"),
    }
}

#[test]
fn enum_matches_direct_calls_bit_for_bit() {
    let mut r = Rng::new(3);
    let x: Vec<f32> = (0..101)
        .map(|_| r.uniform(-12.0, 12.0) as f32)
        .chain([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN])
        .collect();
    let g: Vec<f32> = (0..x.len()).map(|i| 0.5 + i as f32 * 0.01).collect();
    for a in variants::<f32>() {
        let mut e = vec![0.0f32; x.len()];
        let mut d = vec![0.0f32; x.len()];
        a.forward(&x, &mut e).unwrap();
        direct_f32(&a, &x, &mut d).unwrap();
        for (u, v) in e.iter().zip(&d) {
            assert_eq!(u.to_bits(), v.to_bits(), "{} forward", a.name());
        }
        let mut ip = x.clone();
        a.forward_inplace(&mut ip).unwrap();
        assert!(
            ip.iter().zip(&e).all(|(u, v)| u.to_bits() == v.to_bits()),
            "{} in place",
            a.name()
        );
        let mut der = vec![0.0f32; x.len()];
        let mut bwd = vec![0.0f32; x.len()];
        a.derivative(&x, &mut der).unwrap();
        a.backward(&x, &g, &mut bwd).unwrap();
        for i in 0..x.len() {
            let want = g[i] * der[i];
            assert!(
                bwd[i].to_bits() == want.to_bits() || (bwd[i].is_nan() && want.is_nan()),
                "{} backward at {}",
                a.name(),
                x[i]
            );
        }
    }
    // f64 too (forward through the enum = forward through the same kernel twice).
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for a in variants::<f64>() {
        let mut e = vec![0.0f64; x64.len()];
        let mut ip = x64.clone();
        a.forward(&x64, &mut e).unwrap();
        a.forward_inplace(&mut ip).unwrap();
        assert!(
            ip.iter().zip(&e).all(|(u, v)| u.to_bits() == v.to_bits()),
            "{} f64",
            a.name()
        );
    }
}

#[test]
fn enum_reports_invalid_parameters() {
    let mut out = [0.0f32; 2];
    for (a, name) in [
        (Activation::Elu { alpha: f32::NAN }, "alpha"),
        (Activation::Celu { alpha: 0.0 }, "alpha"),
        (Activation::Softplus { beta: -1.0 }, "beta"),
        (
            Activation::Hardtanh {
                min: 1.0,
                max: -1.0,
            },
            "min",
        ),
        (
            Activation::LeakyRelu {
                slope: f32::INFINITY,
            },
            "slope",
        ),
    ] {
        let e = a.forward(&[1.0, 2.0], &mut out).unwrap_err();
        assert!(e.to_string().contains(name), "{}: {e}", a.name());
        assert!(a.forward_inplace(&mut [1.0f32]).is_err());
        assert!(a.derivative(&[1.0, 2.0], &mut out).is_err());
    }
    assert!(
        Activation::<f32>::Relu
            .forward(&[1.0; 3], &mut out)
            .is_err()
    );
}

#[test]
fn activation_stats_counts_exactly() {
    let mut x: Vec<f32> = (0..1003).map(|i| (i as f32 - 500.0) * 0.1).collect();
    x[3] = f32::NAN;
    x[900] = f32::INFINITY;
    x[7] = f32::NEG_INFINITY;
    let s = nonlin::activation_stats(&x);
    let active = x.iter().filter(|v| **v > 0.0).count();
    assert_eq!(s.len, 1003);
    assert_eq!(s.active, active);
    assert_eq!(s.nan, 1);
    assert_eq!(s.inf, 2);
    assert_eq!(nonlin_parallel::activation_stats(&x), s);
    let big: Vec<f64> = (0..300_001u64)
        .map(|i| ((i * 7919) % 1000) as f64 - 499.5)
        .collect();
    let s = nonlin::activation_stats(&big);
    assert_eq!(s.active, big.iter().filter(|v| **v > 0.0).count());
    assert_eq!(nonlin_parallel::activation_stats(&big), s);
}

#[test]
fn saturation_uses_the_exact_threshold() {
    // σ(x) > 0.99 exactly when x > ln(99) = 4.59512; tanh|x| > 0.99 when |x| > 2.64665.
    let x = [
        4.595f32,
        4.596,
        -4.596,
        2.646,
        2.647,
        -2.647,
        f32::INFINITY,
        f32::NAN,
    ];
    let s = nonlin::saturated_fraction(&x, Squash::Sigmoid, 0.01).unwrap();
    assert_eq!(s, 3.0 / 8.0); // 4.596, -4.596, inf
    let t = nonlin::saturated_fraction(&x, Squash::Tanh, 0.01).unwrap();
    assert_eq!(t, 6.0 / 8.0); // all but 2.646 and NaN
    assert!(nonlin::saturated_fraction(&x, Squash::Tanh, 0.7).is_err());
    assert!(nonlin::saturated_fraction(&x, Squash::Tanh, f64::NAN).is_err());
}

#[test]
fn gated_units_match_their_definitions() {
    let mut r = Rng::new(9);
    let n = 203;
    let v: Vec<f32> = (0..n).map(|_| r.uniform(-5.0, 5.0) as f32).collect();
    let g: Vec<f32> = (0..n).map(|_| r.uniform(-9.0, 9.0) as f32).collect();
    let go: Vec<f32> = (0..n).map(|_| r.uniform(-2.0, 2.0) as f32).collect();
    let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let sg = |x: f64| 1.0 / (1.0 + (-x).exp());
    type Def = (
        &'static str,
        fn(&[f32], &[f32], &mut [f32]) -> Result<(), nonlin::Error>,
        fn(&[f32], &[f32], &[f32], &mut [f32], &mut [f32]) -> Result<(), nonlin::Error>,
    );
    let units: [Def; 3] = [
        ("glu", nonlin::glu, nonlin::glu_backward),
        ("swiglu", nonlin::swiglu, nonlin::swiglu_backward),
        ("geglu", nonlin::geglu, nonlin::geglu_backward),
    ];
    for (name, f, b) in units {
        let act = |x: f64| match name {
            "glu" => sg(x),
            "swiglu" => x * sg(x),
            _ => x * phi(x),
        };
        let dact = |x: f64| match name {
            "glu" => sg(x) * sg(-x),
            "swiglu" => sg(x) * (1.0 + x * sg(-x)),
            _ => phi(x) + x * pdf(x),
        };
        let mut out = vec![0.0f32; n];
        f(&v, &g, &mut out).unwrap();
        let mut gv = vec![0.0f32; n];
        let mut gg = vec![0.0f32; n];
        b(&v, &g, &go, &mut gv, &mut gg).unwrap();
        let fb = budgets::budget(name, "f32").unwrap();
        let bb = budgets::budget(&format!("{name}_backward"), "f32").unwrap();
        for i in 0..n {
            let (vi, gi, goi) = (v[i] as f64, g[i] as f64, go[i] as f64);
            assert!(
                ulp_f32(out[i], vi * act(gi)) <= fb,
                "{name} at ({vi}, {gi})"
            );
            assert!(
                ulp_f32(gv[i], goi * act(gi)) <= bb,
                "{name} grad_value at {gi}"
            );
            // grad_gate cancels near the derivative's zero: absolute bound at the terms' scale.
            let want = goi * vi * dact(gi);
            let scale = (goi * vi).abs() * (dact(gi).abs() + sg(gi.abs()));
            assert!(
                ((gg[i] as f64) - want).abs()
                    <= bb * ulp_of_f32(scale.max(f32::MIN_POSITIVE as f64)),
                "{name} grad_gate at {gi}"
            );
        }
        let mut short = vec![0.0f32; n - 1];
        assert!(f(&v, &g, &mut short).is_err());
    }
    // PyTorch's packed layout: rows [a | b] -> a * sigmoid(b).
    let x = [1.0f32, 2.0, 0.0, -1.0, 3.0, 4.0, 10.0, -10.0];
    let mut o = [0.0f32; 4];
    nonlin::glu_rows(&x, 4, &mut o).unwrap();
    let mut want = [0.0f32; 4];
    nonlin::glu(&[1.0, 2.0, 3.0, 4.0], &[0.0, -1.0, 10.0, -10.0], &mut want).unwrap();
    assert_eq!(o, want);
    assert!(nonlin::glu_rows(&x, 3, &mut o).is_err());
    let mut gi = [0.0f32; 8];
    nonlin::glu_rows_backward(&x, 4, &[1.0; 4], &mut gi).unwrap();
    // grad_a = grad_out * sigmoid(b): sigmoid(0) = 0.5; grad_b = grad_out * a * sigmoid'(b) = 0.25.
    assert_eq!((gi[0], gi[2]), (0.5, 0.25));
}
