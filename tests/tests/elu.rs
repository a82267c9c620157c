//! elu, selu, celu and their derivatives: accuracy (f32 against f64, f64 against MPFR),
//! tiny negative inputs, special values, extreme alphas, invariants, position independence,
//! errors.

use nonlin_tests::*;
use rug::Float as Mp;

const SELU_LAMBDA: &str = "1.0507009873554804934193349852946";
const SELU_ALPHA: &str = "1.6732632423543772848170429916717";

fn mpc(s: &str) -> Mp {
    Mp::with_val(MPFR_PREC, Mp::parse(s).unwrap())
}

// ---- MPFR references (exact constants, exact quotient) ----

fn elu_mp(x: &Mp, alpha: f64) -> Mp {
    if *x > 0 {
        x.clone()
    } else {
        Mp::with_val(MPFR_PREC, x.exp_m1_ref()) * alpha
    }
}
fn elu_derivative_mp(x: &Mp, alpha: f64) -> Mp {
    if *x > 0 {
        mp(1.0)
    } else {
        Mp::with_val(MPFR_PREC, x.exp_ref()) * alpha
    }
}
fn selu_mp(x: &Mp) -> Mp {
    let l = mpc(SELU_LAMBDA);
    if *x > 0 {
        l * x
    } else {
        l * mpc(SELU_ALPHA) * Mp::with_val(MPFR_PREC, x.exp_m1_ref())
    }
}
fn selu_derivative_mp(x: &Mp) -> Mp {
    let l = mpc(SELU_LAMBDA);
    if *x > 0 {
        l
    } else {
        l * mpc(SELU_ALPHA) * Mp::with_val(MPFR_PREC, x.exp_ref())
    }
}
fn celu_mp(x: &Mp, alpha: f64) -> Mp {
    if *x > 0 {
        x.clone()
    } else {
        let t = Mp::with_val(MPFR_PREC, x / alpha);
        t.exp_m1() * alpha
    }
}
fn celu_derivative_mp(x: &Mp, alpha: f64) -> Mp {
    if *x > 0 {
        mp(1.0)
    } else {
        Mp::with_val(MPFR_PREC, x / alpha).exp()
    }
}

// ---- f64 references for the f32 kernels (libm in f64: errors ~2^-29 f32 ULP) ----

const LA64: f64 = 1.7580993408473768599402175208123;
const L64: f64 = 1.0507009873554804934193349852946;

fn elu_ref(x: f64, a: f64) -> f64 {
    if x > 0.0 { x } else { a * libm::expm1(x) }
}
fn elu_derivative_ref(x: f64, a: f64) -> f64 {
    if x > 0.0 { 1.0 } else { a * libm::exp(x) }
}
fn selu_ref(x: f64) -> f64 {
    if x > 0.0 {
        L64 * x
    } else {
        LA64 * libm::expm1(x)
    }
}
fn selu_derivative_ref(x: f64) -> f64 {
    if x > 0.0 { L64 } else { LA64 * libm::exp(x) }
}
fn celu_ref(x: f64, a: f64) -> f64 {
    if x > 0.0 { x } else { a * libm::expm1(x / a) }
}
fn celu_derivative_ref(x: f64, a: f64) -> f64 {
    if x > 0.0 { 1.0 } else { libm::exp(x / a) }
}

fn b(name: &str, dtype: &str) -> f64 {
    budgets::budget(name, dtype).unwrap()
}

/// The f32 inputs each kernel is measured on with its main parameter: the bit-pattern
/// sweep (8.4M values, every binade), a dense run over the negative branch where expm1 and
/// the reduction matter (4M), and a dense run of tiny negative values (1.7M).
fn inputs_f32() -> Vec<Vec<f32>> {
    vec![
        sweep_f32(509),
        range_f32(-20.0, -0.25, 13),
        range_f32(-2e-7, 0.0, 509),
    ]
}

/// Inputs for the further parameter values: about 1.1M values over `[-30, 1]`, every
/// binade included.
fn inputs_f32_more() -> Vec<Vec<f32>> {
    vec![range_f32(-30.0, 1.0, 2039), range_f32(-110.0, -30.0, 4099)]
}

fn f64_inputs(seed: u64) -> Vec<f64> {
    sample_f64(1_000_000, -1080, 10, 60.0, seed)
}

// ---- elu ----

#[test]
fn elu_f32_sweep() {
    for alpha in [1.0f32, 0.3, 1.7, 3.0] {
        let a = alpha as f64;
        let inputs = if alpha == 1.0 {
            inputs_f32()
        } else {
            inputs_f32_more()
        };
        for xs in inputs {
            let w = measure_f32(
                &xs,
                |x, o| nonlin::elu(x, alpha, o).unwrap(),
                |x| elu_ref(x, a),
                |_| false,
            );
            assert_within(&format!("elu f32 alpha={alpha}"), &w, b("elu", "f32"));
            let w = measure_f32(
                &xs,
                |x, o| nonlin::elu_derivative(x, alpha, o).unwrap(),
                |x| elu_derivative_ref(x, a),
                |_| false,
            );
            assert_within(
                &format!("elu_derivative f32 alpha={alpha}"),
                &w,
                b("elu_derivative", "f32"),
            );
        }
    }
}

#[test]
fn elu_f32_extreme_alpha() {
    // A huge alpha (the split of alpha would overflow a naive exact product) and a subnormal
    // one (results in the subnormal range, measured in subnormal ULPs).
    let xs = range_f32(-120.0, 1.0, 331);
    for alpha in [1e30f32, 3e38, 1e-40, 1e-20, -2.0] {
        let a = alpha as f64;
        let w = measure_f32(
            &xs,
            |x, o| nonlin::elu(x, alpha, o).unwrap(),
            |x| elu_ref(x, a),
            |_| false,
        );
        assert_within(&format!("elu f32 alpha={alpha:e}"), &w, b("elu", "f32"));
        let w = measure_f32(
            &xs,
            |x, o| nonlin::elu_derivative(x, alpha, o).unwrap(),
            |x| elu_derivative_ref(x, a),
            |_| false,
        );
        assert_within(
            &format!("elu_derivative f32 alpha={alpha:e}"),
            &w,
            b("elu_derivative", "f32"),
        );
    }
}

#[test]
fn elu_f64_mpfr() {
    for (alpha, seed) in [(1.0f64, 1u64), (1.7, 2)] {
        let xs = f64_inputs(seed);
        let w = measure_f64(
            &xs,
            |x, o| nonlin::elu(x, alpha, o).unwrap(),
            |x| elu_mp(x, alpha),
            |_| false,
        );
        assert_within(&format!("elu f64 alpha={alpha}"), &w, b("elu", "f64"));
    }
}

#[test]
fn elu_derivative_f64_mpfr() {
    let alpha = 1.7;
    let xs = f64_inputs(3);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::elu_derivative(x, alpha, o).unwrap(),
        |x| elu_derivative_mp(x, alpha),
        |_| false,
    );
    assert_within("elu_derivative f64", &w, b("elu_derivative", "f64"));
}

// ---- selu ----

#[test]
fn selu_f32_sweep() {
    for xs in inputs_f32() {
        let w = measure_f32(&xs, |x, o| nonlin::selu(x, o).unwrap(), selu_ref, |_| false);
        assert_within("selu f32", &w, b("selu", "f32"));
        let w = measure_f32(
            &xs,
            |x, o| nonlin::selu_derivative(x, o).unwrap(),
            selu_derivative_ref,
            |_| false,
        );
        assert_within("selu_derivative f32", &w, b("selu_derivative", "f32"));
    }
}

#[test]
fn selu_f64_mpfr() {
    // Reference: the formula with λ and α as exact decimals (32 digits, MPFR at 160 bits).
    let xs = f64_inputs(4);
    let w = measure_f64(&xs, |x, o| nonlin::selu(x, o).unwrap(), selu_mp, |_| false);
    assert_within("selu f64", &w, b("selu", "f64"));
    let xs = f64_inputs(5);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::selu_derivative(x, o).unwrap(),
        selu_derivative_mp,
        |_| false,
    );
    assert_within("selu_derivative f64", &w, b("selu_derivative", "f64"));
}

// ---- celu ----

#[test]
fn celu_f32_sweep() {
    for alpha in [0.37f32, 1.0, 1.7, 3.0, 1e-3, 1e3, -1.0, -0.7] {
        let a = alpha as f64;
        let inputs = if alpha == 0.37 {
            inputs_f32()
        } else {
            inputs_f32_more()
        };
        for xs in inputs {
            let w = measure_f32(
                &xs,
                |x, o| nonlin::celu(x, alpha, o).unwrap(),
                |x| celu_ref(x, a),
                |_| false,
            );
            assert_within(&format!("celu f32 alpha={alpha}"), &w, b("celu", "f32"));
            let w = measure_f32(
                &xs,
                |x, o| nonlin::celu_derivative(x, alpha, o).unwrap(),
                |x| celu_derivative_ref(x, a),
                |_| false,
            );
            assert_within(
                &format!("celu_derivative f32 alpha={alpha}"),
                &w,
                b("celu_derivative", "f32"),
            );
        }
    }
}

#[test]
fn celu_f32_tiny_negative_alpha() {
    // alpha < 0 makes x / alpha positive: alpha * expm1(x/alpha) is finite even where
    // expm1(x/alpha) alone overflows (scaled at the end).
    let xs = range_f32(-1e-36, 0.0, 9973);
    for alpha in [-1e-38f32, -1e-40] {
        let a = alpha as f64;
        let w = measure_f32(
            &xs,
            |x, o| nonlin::celu(x, alpha, o).unwrap(),
            |x| celu_ref(x, a),
            |_| false,
        );
        assert_within(&format!("celu f32 alpha={alpha:e}"), &w, b("celu", "f32"));
    }
}

#[test]
fn celu_f64_mpfr() {
    for (alpha, seed) in [(1.0f64, 6u64), (0.37, 7)] {
        let xs = f64_inputs(seed);
        let w = measure_f64(
            &xs,
            |x, o| nonlin::celu(x, alpha, o).unwrap(),
            |x| celu_mp(x, alpha),
            |_| false,
        );
        assert_within(&format!("celu f64 alpha={alpha}"), &w, b("celu", "f64"));
    }
    let alpha = 0.37;
    let xs = f64_inputs(8);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::celu_derivative(x, alpha, o).unwrap(),
        |x| celu_derivative_mp(x, alpha),
        |_| false,
    );
    assert_within("celu_derivative f64", &w, b("celu_derivative", "f64"));
}

// ---- specials, tails, invariants ----

#[test]
fn elu_family_specials() {
    let x = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        -1e-30,
        -f32::from_bits(1),
        -1e-7,
    ];
    let mut y = [0.0f32; 8];
    nonlin::elu(&x, 1.0, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2], -1.0);
    assert_eq!(y[3].to_bits(), 0.0f32.to_bits());
    assert_eq!(y[4].to_bits(), (-0.0f32).to_bits());
    // Tiny negative x: relative accuracy (exp(x) - 1 would give 0).
    assert_eq!(y[5], -1e-30);
    assert_eq!(y[6], -f32::from_bits(1));
    assert!(ulp_f32(y[7], libm::expm1(-1e-7f32 as f64)) <= 1.0);

    nonlin::selu(&x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2], -(LA64 as f32));
    assert!(ulp_f32(y[5], LA64 * -1e-30f32 as f64) <= 1.0);

    nonlin::celu(&x, 2.0, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2], -2.0);
    assert_eq!(y[5], -1e-30);
    let mut z = [0.0f32; 8];
    nonlin::celu(&x, -1.0, &mut z).unwrap();
    assert_eq!(z[2], f32::NEG_INFINITY, "celu(-inf) = -inf for alpha < 0");

    let mut d = [0.0f32; 8];
    nonlin::elu_derivative(&x, 0.5, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(d[1], 1.0);
    assert_eq!(d[2], 0.0);
    assert_eq!(d[3], 0.5, "elu'(0) = alpha (PyTorch)");
    assert_eq!(d[4], 0.5);
    nonlin::selu_derivative(&x, &mut d).unwrap();
    assert_eq!(d[1], L64 as f32);
    assert_eq!(d[2], 0.0);
    assert_eq!(d[3], LA64 as f32);
    nonlin::celu_derivative(&x, 2.0, &mut d).unwrap();
    assert_eq!(d[2], 0.0);
    assert_eq!(d[3], 1.0);

    // Derivative tails are subnormal, computed, not flushed.
    let mut e = [0.0f32; 1];
    nonlin::elu_derivative(&[-100.0f32], 1.0, &mut e).unwrap();
    assert!(e[0] > 0.0 && ulp_f32(e[0], libm::exp(-100.0)) <= 1.0);

    // f64 specials.
    let x = [f64::NAN, f64::NEG_INFINITY, -1e-300, -5e-324, -800.0];
    let mut y = [0.0f64; 5];
    nonlin::elu(&x, 1.0, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], -1.0);
    assert_eq!(y[2], -1e-300);
    assert_eq!(y[3], -5e-324);
    assert_eq!(y[4], -1.0);
    let mut d = [0.0f64; 5];
    nonlin::elu_derivative(&x, 1.0, &mut d).unwrap();
    assert_eq!(d[1], 0.0);
    assert_eq!(d[4], 0.0);
}

#[test]
fn elu_family_invariants() {
    let xs = range_f32(-40.0, 40.0, 4099);
    for (name, f) in [
        (
            "elu",
            &(|x: &[f32], o: &mut [f32]| nonlin::elu(x, 1.3, o).unwrap())
                as &dyn Fn(&[f32], &mut [f32]),
        ),
        ("selu", &|x: &[f32], o: &mut [f32]| {
            nonlin::selu(x, o).unwrap()
        }),
        ("celu", &|x: &[f32], o: &mut [f32]| {
            nonlin::celu(x, 0.7, o).unwrap()
        }),
    ] {
        let mut y = vec![0.0f32; xs.len()];
        f(&xs, &mut y);
        for w in y.windows(2) {
            assert!(w[0] <= w[1], "{name} must be monotone");
        }
        let lower = match name {
            "elu" => -1.3,
            "selu" => -(LA64 as f32),
            _ => -0.7,
        };
        assert!(y.iter().all(|&v| v >= lower), "{name} bounded below");
    }
    // Continuity at 0 from both sides.
    let mut y = [0.0f64; 2];
    nonlin::celu(&[-1e-12, 1e-12], 0.5, &mut y).unwrap();
    assert!((y[0] + 1e-12).abs() < 1e-23 && y[1] == 1e-12);
}

#[test]
fn elu_family_derivatives_match_central_difference() {
    for i in -400..200 {
        let x = i as f64 * 0.05 + 0.025;
        let mut d = [0.0f64; 3];
        nonlin::elu_derivative(&[x], 1.3, &mut d[..1]).unwrap();
        nonlin::selu_derivative(&[x], &mut d[1..2]).unwrap();
        nonlin::celu_derivative(&[x], 0.7, &mut d[2..]).unwrap();
        let f = |k: usize, t: f64| {
            let mut o = [0.0f64];
            match k {
                0 => nonlin::elu(&[t], 1.3, &mut o).unwrap(),
                1 => nonlin::selu(&[t], &mut o).unwrap(),
                _ => nonlin::celu(&[t], 0.7, &mut o).unwrap(),
            }
            o[0]
        };
        for (k, &dk) in d.iter().enumerate() {
            let fd = central_difference(|t| f(k, t), x);
            approx::assert_relative_eq!(dk, fd, epsilon = 1e-9, max_relative = 1e-6);
        }
    }
}

#[test]
fn elu_family_backward_is_grad_times_derivative() {
    let x: Vec<f64> = (0..37).map(|i| i as f64 * 0.7 - 20.0).collect();
    let g: Vec<f64> = (0..37).map(|i| 1.0 + i as f64 * 0.125).collect();
    let mut gi = vec![0.0; 37];
    let mut d = vec![0.0; 37];
    nonlin::elu_backward(&x, &g, 1.3, &mut gi).unwrap();
    nonlin::elu_derivative(&x, 1.3, &mut d).unwrap();
    assert!((0..37).all(|i| gi[i] == g[i] * d[i]));
    nonlin::selu_backward(&x, &g, &mut gi).unwrap();
    nonlin::selu_derivative(&x, &mut d).unwrap();
    assert!((0..37).all(|i| gi[i] == g[i] * d[i]));
    nonlin::celu_backward(&x, &g, 0.7, &mut gi).unwrap();
    nonlin::celu_derivative(&x, 0.7, &mut d).unwrap();
    assert!((0..37).all(|i| gi[i] == g[i] * d[i]));
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let gf: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::elu_backward(&xf, &gf, 1.3, &mut gi).unwrap();
    nonlin::elu_derivative(&xf, 1.3, &mut d).unwrap();
    assert!((0..37).all(|i| gi[i] == gf[i] * d[i]));
}

macro_rules! position_independence {
    ($check:ident, $t:ty) => {{
        $check("elu", |x, o| nonlin::elu(x, 1.3 as $t, o).unwrap());
        $check("elu_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::elu_inplace(o, 1.3 as $t).unwrap()
        });
        $check("elu_derivative", |x, o| {
            nonlin::elu_derivative(x, 1.3 as $t, o).unwrap()
        });
        $check("elu_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::elu_backward(x, &g, 1.3 as $t, o).unwrap()
        });
        $check("selu", |x, o| nonlin::selu(x, o).unwrap());
        $check("selu_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::selu_inplace(o)
        });
        $check("selu_derivative", |x, o| {
            nonlin::selu_derivative(x, o).unwrap()
        });
        $check("selu_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::selu_backward(x, &g, o).unwrap()
        });
        $check("celu", |x, o| nonlin::celu(x, 0.7 as $t, o).unwrap());
        $check("celu_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::celu_inplace(o, 0.7 as $t).unwrap()
        });
        $check("celu_derivative", |x, o| {
            nonlin::celu_derivative(x, 0.7 as $t, o).unwrap()
        });
        $check("celu_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::celu_backward(x, &g, 0.7 as $t, o).unwrap()
        });
    }};
}

#[test]
fn elu_family_position_independence() {
    position_independence!(check_position_independence_f32, f32);
    position_independence!(check_position_independence_f64, f64);
}

#[test]
fn elu_family_errors() {
    let mut out = [7.0f32; 3];
    let e = nonlin::elu(&[1.0f32; 3], f32::NAN, &mut out).unwrap_err();
    assert!(matches!(
        e,
        nonlin::Error::InvalidParameter { name: "alpha", .. }
    ));
    assert!(e.to_string().contains("`alpha`"), "{e}");
    assert_eq!(out, [7.0; 3], "nothing written on error");
    let e = nonlin::elu_inplace(&mut out, f32::INFINITY).unwrap_err();
    assert!(e.to_string().contains("alpha"));
    assert_eq!(out, [7.0; 3]);
    assert!(nonlin::elu_derivative(&[1.0f64], f64::NAN, &mut [0.0]).is_err());
    assert!(nonlin::elu_backward(&[1.0f64], &[1.0], f64::NAN, &mut [0.0]).is_err());
    for bad in [0.0f32, -0.0, f32::NAN, f32::NEG_INFINITY] {
        let e = nonlin::celu(&[1.0f32; 3], bad, &mut out).unwrap_err();
        assert!(e.to_string().contains("`alpha`"), "{e}");
        assert!(nonlin::celu_inplace(&mut out, bad).is_err());
        assert!(nonlin::celu_derivative(&[1.0f32; 3], bad, &mut out).is_err());
        assert!(nonlin::celu_backward(&[1.0f32; 3], &[1.0; 3], bad, &mut out).is_err());
    }
    assert_eq!(out, [7.0; 3]);
    let e = nonlin::elu(&[1.0f32; 3], 1.0, &mut out[..2]).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    let e = nonlin::selu(&[1.0f64; 3], &mut [0.0; 4]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let e = nonlin::selu_backward(&[1.0f64; 3], &[1.0; 2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::celu_backward(&[1.0f64; 3], &[1.0; 3], 1.0, &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
}
