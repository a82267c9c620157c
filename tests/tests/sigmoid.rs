//! sigmoid and its derivative: accuracy (f32 against f64, f64 against MPFR), tails,
//! special values, invariants, position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

/// Exact sigmoid in MPFR: 1 / (1 + e^-x).
fn sigmoid_mp(x: &Mp) -> Mp {
    let e = Mp::with_val(MPFR_PREC, -x).exp();
    Mp::with_val(MPFR_PREC, 1) / (e + 1u32)
}

/// Exact sigmoid' in MPFR: e / (1 + e)^2 with e = exp(-|x|).
fn sigmoid_derivative_mp(x: &Mp) -> Mp {
    let e = Mp::with_val(MPFR_PREC, -x.clone().abs()).exp();
    let d = Mp::with_val(MPFR_PREC, &e + 1u32);
    e / d.square()
}

/// Stable f64 references for the f32 kernels.
fn sigmoid_ref(x: f64) -> f64 {
    nonlin::scalar::sigmoid(x)
}
fn sigmoid_derivative_ref(x: f64) -> f64 {
    nonlin::scalar::sigmoid_derivative(x)
}

#[test]
fn sigmoid_f32_sweep() {
    let w = measure_f32(
        &sweep_f32(509),
        |x, o| nonlin::sigmoid(x, o).unwrap(),
        sigmoid_ref,
        |_| false,
    );
    assert_within(
        "sigmoid f32",
        &w,
        budgets::budget("sigmoid", "f32").unwrap(),
    );
    let w = measure_f32(
        &range_f32(-110.0, 20.0, 23),
        |x, o| nonlin::sigmoid(x, o).unwrap(),
        sigmoid_ref,
        |_| false,
    );
    assert_within(
        "sigmoid f32 dense",
        &w,
        budgets::budget("sigmoid", "f32").unwrap(),
    );
}

#[test]
fn sigmoid_derivative_f32_sweep() {
    let k = |x: &[f32], o: &mut [f32]| nonlin::sigmoid_derivative(x, o).unwrap();
    let w = measure_f32(&sweep_f32(509), k, sigmoid_derivative_ref, |_| false);
    assert_within(
        "sigmoid_derivative f32",
        &w,
        budgets::budget("sigmoid_derivative", "f32").unwrap(),
    );
    let w = measure_f32(
        &range_f32(-110.0, 110.0, 23),
        k,
        sigmoid_derivative_ref,
        |_| false,
    );
    assert_within(
        "sigmoid_derivative f32 dense",
        &w,
        budgets::budget("sigmoid_derivative", "f32").unwrap(),
    );
}

#[test]
fn sigmoid_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 10, 760.0, 1);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::sigmoid(x, o).unwrap(),
        sigmoid_mp,
        |_| false,
    );
    assert_within(
        "sigmoid f64",
        &w,
        budgets::budget("sigmoid", "f64").unwrap(),
    );
}

#[test]
fn sigmoid_derivative_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 10, 760.0, 2);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::sigmoid_derivative(x, o).unwrap(),
        sigmoid_derivative_mp,
        |_| false,
    );
    assert_within(
        "sigmoid_derivative f64",
        &w,
        budgets::budget("sigmoid_derivative", "f64").unwrap(),
    );
}

#[test]
fn sigmoid_tails_and_specials() {
    let x = [
        -100.0f32,
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::NAN,
        -0.0,
        0.0,
        20.0,
        40.0,
    ];
    let mut y = [0.0f32; 8];
    nonlin::sigmoid(&x, &mut y).unwrap();
    // sigmoid(-100) = 3.7200760e-44, a subnormal: 27 * 2^-149 rounds to nearest.
    assert!(ulp_f32(y[0], sigmoid_ref(-100.0)) <= 1.0, "{}", y[0]);
    assert!(y[0] > 0.0);
    assert_eq!(y[1], 0.0);
    assert_eq!(y[2], 1.0);
    assert!(y[3].is_nan());
    assert_eq!(y[4], 0.5);
    assert_eq!(y[5], 0.5);
    // sigmoid(20) = 1 - 2.06e-9 rounds to 1 in f32.
    assert_eq!(y[6], 1.0);
    let mut d = [0.0f32; 8];
    nonlin::sigmoid_derivative(&x, &mut d).unwrap();
    assert_eq!(d[1], 0.0);
    assert_eq!(d[2], 0.0);
    assert!(d[3].is_nan());
    assert_eq!(d[5], 0.25);
    // sigmoid'(x) for x in [16.6, 87.3] is a normal number (PyTorch gives 0).
    for xi in [16.6f32, 20.0, 40.0, 60.0, 87.3] {
        let mut o = [0.0f32];
        nonlin::sigmoid_derivative(&[xi], &mut o).unwrap();
        assert!(o[0].is_normal(), "sigmoid'({xi}) = {}", o[0]);
        assert!(ulp_f32(o[0], sigmoid_derivative_ref(xi as f64)) <= 4.0);
    }
}

#[test]
fn sigmoid_invariants() {
    let xs = range_f32(-200.0, 200.0, 4099);
    let mut y = vec![0.0f32; xs.len()];
    nonlin::sigmoid(&xs, &mut y).unwrap();
    for w in y.windows(2) {
        assert!(w[0] <= w[1], "sigmoid must be monotone");
    }
    for (&x, &s) in xs.iter().zip(&y) {
        assert!((0.0..=1.0).contains(&s));
        // symmetry: sigmoid(-x) = 1 - sigmoid(x), checked in f64 within the budget.
        let mut m = [0.0f32];
        nonlin::sigmoid(&[-x], &mut m).unwrap();
        assert!(((m[0] as f64) - (1.0 - s as f64)).abs() <= 4.0 * ulp_of_f32(0.5));
    }
}

#[test]
fn sigmoid_derivative_matches_central_difference() {
    for i in -400..400 {
        let x = i as f64 * 0.05;
        let mut d = [0.0f64];
        nonlin::sigmoid_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::sigmoid, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
    }
}

#[test]
fn sigmoid_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 12.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::sigmoid_backward(&x, &g, &mut gi).unwrap();
    nonlin::sigmoid_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
}

#[test]
fn sigmoid_position_independence() {
    check_position_independence_f32("sigmoid", |x, o| nonlin::sigmoid(x, o).unwrap());
    check_position_independence_f64("sigmoid", |x, o| nonlin::sigmoid(x, o).unwrap());
    check_position_independence_f32("sigmoid_derivative", |x, o| {
        nonlin::sigmoid_derivative(x, o).unwrap()
    });
    check_position_independence_f32("sigmoid_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::sigmoid_inplace(o)
    });
}

#[test]
fn sigmoid_errors() {
    let mut out = [0.0f32; 2];
    let e = nonlin::sigmoid(&[1.0f32; 3], &mut out).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    assert!(e.to_string().contains("`out`"));
    assert_eq!(out, [0.0; 2], "nothing written on error");
    let mut gi = [0.0f64; 3];
    let e = nonlin::sigmoid_backward(&[1.0f64; 3], &[1.0; 2], &mut gi).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
}
