//! softsign and its derivative: accuracy (f32 against f64, f64 against MPFR), large-|x| tails
//! (the derivative underflows gradually, never overflows), special values, invariants,
//! position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

fn b(name: &str, dtype: &str) -> f64 {
    budgets::budget(name, dtype).unwrap()
}

fn softsign_mp(x: &Mp) -> Mp {
    if x.is_infinite() {
        return mp(if x.is_sign_positive() { 1.0 } else { -1.0 });
    }
    let d = Mp::with_val(MPFR_PREC, x.abs_ref()) + 1u32;
    Mp::with_val(MPFR_PREC, x / &d)
}
fn softsign_derivative_mp(x: &Mp) -> Mp {
    if x.is_infinite() {
        return mp(0.0);
    }
    let d = Mp::with_val(MPFR_PREC, x.abs_ref()) + 1u32;
    Mp::with_val(MPFR_PREC, 1) / d.square()
}

/// f64 references for the f32 kernels: 1 + |x| rounds at 2^-53, and the derivative is
/// formed as r * r (no overflow of (1 + |x|)^2; f32 inputs keep r * r far above the f64
/// underflow threshold).
fn softsign_ref(x: f64) -> f64 {
    if x.is_infinite() {
        x.signum()
    } else {
        x / (1.0 + x.abs())
    }
}
fn softsign_derivative_ref(x: f64) -> f64 {
    let r = 1.0 / (1.0 + x.abs());
    r * r
}

fn inputs_f32() -> Vec<Vec<f32>> {
    vec![
        sweep_f32(509),
        range_f32(-100.0, 100.0, 509),
        range_f32(1e17, 1e21, 7),
        range_f32(-1e30, -1e26, 13),
    ]
}

#[test]
fn softsign_f32() {
    for xs in inputs_f32() {
        let w = measure_f32(
            &xs,
            |x, o| nonlin::softsign(x, o).unwrap(),
            softsign_ref,
            |_| false,
        );
        assert_within("softsign f32", &w, b("softsign", "f32"));
        let w = measure_f32(
            &xs,
            |x, o| nonlin::softsign_derivative(x, o).unwrap(),
            softsign_derivative_ref,
            |_| false,
        );
        assert_within(
            "softsign_derivative f32",
            &w,
            b("softsign_derivative", "f32"),
        );
    }
}

#[test]
fn softsign_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 1030, 100.0, 1);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::softsign(x, o).unwrap(),
        softsign_mp,
        |_| false,
    );
    assert_within("softsign f64", &w, b("softsign", "f64"));
    let xs = sample_f64(1_000_000, -1080, 1030, 100.0, 2);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::softsign_derivative(x, o).unwrap(),
        softsign_derivative_mp,
        |_| false,
    );
    assert_within(
        "softsign_derivative f64",
        &w,
        b("softsign_derivative", "f64"),
    );
}

#[test]
fn softsign_specials_and_tails() {
    let x = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        f32::from_bits(1),
        -f32::MIN_POSITIVE,
        f32::MAX,
        1e20,
        1e30,
    ];
    let n = x.len();
    let mut y = vec![0.0f32; n];
    nonlin::softsign(&x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..3], &[1.0, -1.0]);
    assert_eq!(y[3].to_bits(), 0.0f32.to_bits());
    assert_eq!(y[4].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[5], f32::from_bits(1), "subnormal x gives x");
    assert_eq!(y[6], -f32::MIN_POSITIVE);
    assert_eq!(y[7], 1.0);
    let mut d = vec![0.0f32; n];
    nonlin::softsign_derivative(&x, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(&d[1..6], &[0.0, 0.0, 1.0, 1.0, 1.0]);
    // (1 + |x|)^2 overflows f32 beyond 1.8e19; r * r underflows gradually instead.
    assert!(
        d[8] > 0.0 && ulp_f32(d[8], softsign_derivative_ref(1e20f32 as f64)) <= 1.0,
        "{}",
        d[8]
    );
    assert_eq!(d[9], 0.0, "1e-60 rounds to 0");
    assert_eq!(d[7], 0.0);
    let mut z = [0.0f64; 2];
    nonlin::softsign_derivative(&[1e160, -1e150], &mut z).unwrap();
    assert!(
        z[0] > 0.0 && z[0] < f64::MIN_POSITIVE,
        "subnormal, not 0: {}",
        z[0]
    );
    assert!(z[1].is_normal());
}

#[test]
fn softsign_invariants() {
    let xs = range_f32(-1e6, 1e6, 4099);
    let mut y = vec![0.0f32; xs.len()];
    nonlin::softsign(&xs, &mut y).unwrap();
    for w in y.windows(2) {
        assert!(w[0] <= w[1], "softsign must be monotone");
    }
    assert!(y.iter().all(|&v| (-1.0..=1.0).contains(&v)));
    let neg: Vec<f32> = xs.iter().map(|&v| -v).collect();
    let mut yn = vec![0.0f32; xs.len()];
    nonlin::softsign(&neg, &mut yn).unwrap();
    for (a, b) in y.iter().zip(&yn) {
        assert_eq!(a.to_bits(), (-b).to_bits(), "softsign is odd");
    }
    let mut d = vec![0.0f32; xs.len()];
    nonlin::softsign_derivative(&xs, &mut d).unwrap();
    assert!(d.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn softsign_derivative_matches_central_difference() {
    for i in -400..400 {
        let x = i as f64 * 0.05 + 0.0125;
        let mut d = [0.0f64];
        nonlin::softsign_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::softsign, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
    }
}

#[test]
fn softsign_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 12.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::softsign_backward(&x, &g, &mut gi).unwrap();
    nonlin::softsign_derivative(&x, &mut d).unwrap();
    assert!((0..37).all(|i| gi[i] == g[i] * d[i]));
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
    let mut gi = vec![0.0f64; 37];
    let mut d = vec![0.0f64; 37];
    nonlin::softsign_backward(&x, &g, &mut gi).unwrap();
    nonlin::softsign_derivative(&x, &mut d).unwrap();
    assert!((0..37).all(|i| gi[i] == g[i] * d[i]));
}

macro_rules! position_independence {
    ($check:ident, $t:ty) => {{
        $check("softsign", |x, o| nonlin::softsign(x, o).unwrap());
        $check("softsign_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::softsign_inplace(o)
        });
        $check("softsign_derivative", |x, o| {
            nonlin::softsign_derivative(x, o).unwrap()
        });
        $check("softsign_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::softsign_backward(x, &g, o).unwrap()
        });
    }};
}

#[test]
fn softsign_position_independence() {
    position_independence!(check_position_independence_f32, f32);
    position_independence!(check_position_independence_f64, f64);
}

#[test]
fn softsign_errors() {
    let mut out = [7.0f32; 2];
    let e = nonlin::softsign(&[1.0f32; 3], &mut out).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    assert!(e.to_string().contains("`out`"));
    assert_eq!(out, [7.0; 2], "nothing written on error");
    assert!(nonlin::softsign_derivative(&[1.0f64; 3], &mut [0.0; 4]).is_err());
    let e = nonlin::softsign_backward(&[1.0f64; 3], &[1.0; 2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::softsign_backward(&[1.0f64; 3], &[1.0; 3], &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
}
