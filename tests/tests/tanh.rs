//! tanh and its derivative: accuracy (f32 against f64, f64 against MPFR), tails where
//! `1 - tanh²` cancels, special values, invariants, position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

/// Exact tanh in MPFR.
fn tanh_mp(x: &Mp) -> Mp {
    x.clone().tanh()
}

/// Exact tanh' in MPFR: 4E / (1 + E)^2 with E = exp(-2|x|) (MPFR's exponent range is wide
/// enough that E never underflows here).
fn tanh_derivative_mp(x: &Mp) -> Mp {
    let e = Mp::with_val(MPFR_PREC, x.clone().abs() * -2i32).exp();
    let d = Mp::with_val(MPFR_PREC, &e + 1u32);
    e * 4u32 / d.square()
}

/// Stable f64 references for the f32 kernels (libm tanh; 4E/(1+E)^2 with E normal in f64
/// over the whole f32 range).
fn tanh_ref(x: f64) -> f64 {
    libm::tanh(x)
}
fn tanh_derivative_ref(x: f64) -> f64 {
    nonlin::scalar::tanh_derivative(x)
}

#[test]
fn vmath_tanh_f32_and_f64() {
    let w = measure_f32(
        &sweep_f32(509),
        |x, o| apply_lane(x, o, nonlin::vmath::tanh),
        tanh_ref,
        |_| false,
    );
    assert_within(
        "tanh_vm f32",
        &w,
        budgets::budget("tanh_vm", "f32").unwrap(),
    );
    let xs = sample_f64(1_000_000, -1080, 6, 25.0, 3);
    let w = measure_f64(
        &xs,
        |x, o| apply_lane(x, o, nonlin::vmath::tanh),
        tanh_mp,
        |_| false,
    );
    assert_within(
        "tanh_vm f64",
        &w,
        budgets::budget("tanh_vm", "f64").unwrap(),
    );
}

#[test]
fn tanh_f32_sweep() {
    let b = budgets::budget("tanh", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::tanh(x, o).unwrap();
    let w = measure_f32(&sweep_f32(509), k, tanh_ref, |_| false);
    assert_within("tanh f32", &w, b);
    // Dense over the region where the two forms meet (0.55) and up to saturation.
    let w = measure_f32(&range_f32(-12.0, 12.0, 11), k, tanh_ref, |_| false);
    assert_within("tanh f32 dense", &w, b);
    let w = measure_f32(&range_f32(0.5, 0.6, 1), k, tanh_ref, |_| false);
    assert_within("tanh f32 dense [0.5, 0.6]", &w, b);
}

#[test]
fn tanh_derivative_f32_sweep() {
    let b = budgets::budget("tanh_derivative", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::tanh_derivative(x, o).unwrap();
    let w = measure_f32(&sweep_f32(509), k, tanh_derivative_ref, |_| false);
    assert_within("tanh_derivative f32", &w, b);
    // Dense over the tail where 1 - tanh^2 cancels, into the subnormal results (|x| > 44.4).
    let w = measure_f32(&range_f32(-60.0, 60.0, 17), k, tanh_derivative_ref, |_| {
        false
    });
    assert_within("tanh_derivative f32 dense (tails, subnormal)", &w, b);
}

#[test]
fn tanh_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 6, 25.0, 4);
    let w = measure_f64(&xs, |x, o| nonlin::tanh(x, o).unwrap(), tanh_mp, |_| false);
    assert_within("tanh f64", &w, budgets::budget("tanh", "f64").unwrap());
}

#[test]
fn tanh_derivative_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 10, 400.0, 5);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::tanh_derivative(x, o).unwrap(),
        tanh_derivative_mp,
        |_| false,
    );
    assert_within(
        "tanh_derivative f64",
        &w,
        budgets::budget("tanh_derivative", "f64").unwrap(),
    );
}

#[test]
fn tanh_tails_and_specials() {
    let x = [
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::NAN,
        -0.0,
        0.0,
        1e-30,
        f32::from_bits(1),
        20.0,
    ];
    let mut y = [0.0f32; 8];
    nonlin::tanh(&x, &mut y).unwrap();
    assert_eq!(y[0], -1.0);
    assert_eq!(y[1], 1.0);
    assert!(y[2].is_nan());
    assert_eq!(y[3].to_bits(), (-0.0f32).to_bits(), "tanh(-0) = -0");
    assert_eq!(y[4].to_bits(), 0);
    assert_eq!(y[5], 1e-30);
    assert_eq!(y[6], f32::from_bits(1));
    assert_eq!(y[7], 1.0);
    let mut d = [0.0f32; 8];
    nonlin::tanh_derivative(&x, &mut d).unwrap();
    assert_eq!(d[0], 0.0);
    assert_eq!(d[1], 0.0);
    assert!(d[2].is_nan());
    assert_eq!(d[3], 1.0);
    assert_eq!(d[4], 1.0);
    // Beyond 9.01 (where tanh rounds to 1 and 1 - tanh^2 = 0) tanh' is a normal number up to
    // 44.36 and a computed subnormal beyond.
    for xi in [9.5f32, 12.0, 20.0, 30.0, 44.0, -44.3] {
        let mut o = [0.0f32];
        nonlin::tanh_derivative(&[xi], &mut o).unwrap();
        assert!(o[0].is_normal(), "tanh'({xi}) = {}", o[0]);
        assert!(ulp_f32(o[0], tanh_derivative_ref(xi as f64)) <= 4.0);
    }
    for xi in [45.0f32, 50.0, 52.0] {
        let mut o = [0.0f32];
        nonlin::tanh_derivative(&[xi], &mut o).unwrap();
        assert!(o[0] > 0.0 && !o[0].is_normal(), "tanh'({xi}) = {}", o[0]);
        assert!(ulp_f32(o[0], tanh_derivative_ref(xi as f64)) <= 4.0);
    }
    // f64: normal up to 354.9, subnormal beyond, still accurate.
    for xi in [19.5f64, 40.0, 200.0, 354.0, 360.0, 370.0] {
        let mut o = [0.0f64];
        nonlin::tanh_derivative(&[xi], &mut o).unwrap();
        assert!(o[0] > 0.0, "tanh'({xi}) = {}", o[0]);
        assert!(ulp_f64(o[0], &tanh_derivative_mp(&mp(xi))) <= 4.0);
    }
    let mut z = [0.0f64; 3];
    nonlin::tanh(&[f64::NAN, f64::INFINITY, -f64::INFINITY], &mut z).unwrap();
    assert!(z[0].is_nan());
    assert_eq!(&z[1..], &[1.0, -1.0]);
    nonlin::tanh_derivative(&[f64::NAN, f64::INFINITY, -f64::INFINITY], &mut z).unwrap();
    assert!(z[0].is_nan());
    assert_eq!(&z[1..], &[0.0, 0.0]);
}

#[test]
fn tanh_invariants() {
    let xs = range_f32(-30.0, 30.0, 1021);
    let mut y = vec![0.0f32; xs.len()];
    nonlin::tanh(&xs, &mut y).unwrap();
    for w in y.windows(2) {
        assert!(w[0] <= w[1], "tanh must be monotone");
    }
    let neg: Vec<f32> = xs.iter().map(|&x| -x).collect();
    let mut yn = vec![0.0f32; xs.len()];
    nonlin::tanh(&neg, &mut yn).unwrap();
    for (i, (&a, &b)) in y.iter().zip(&yn).enumerate() {
        assert!((-1.0..=1.0).contains(&a));
        assert_eq!(a.to_bits(), (-b).to_bits(), "tanh odd at {}", xs[i]);
    }
    // Same in f64 on random inputs.
    let mut r = Rng::new(9);
    let xs: Vec<f64> = (0..100_000).map(|_| r.uniform(-40.0, 40.0)).collect();
    let neg: Vec<f64> = xs.iter().map(|&x| -x).collect();
    let (mut a, mut b) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
    nonlin::tanh(&xs, &mut a).unwrap();
    nonlin::tanh(&neg, &mut b).unwrap();
    for (p, q) in a.iter().zip(&b) {
        assert!((-1.0..=1.0).contains(p));
        assert_eq!(p.to_bits(), (-q).to_bits());
    }
    // tanh' is even, in (0, 1], decreasing in |x|.
    let xs: Vec<f32> = (0..=60 * 64).map(|i| i as f32 / 64.0).collect();
    let mut d = vec![0.0f32; xs.len()];
    nonlin::tanh_derivative(&xs, &mut d).unwrap();
    for (i, w) in d.windows(2).enumerate() {
        assert!(
            w[0] >= w[1],
            "tanh' must decrease on x >= 0: {} -> {}, {} -> {}",
            xs[i],
            w[0],
            xs[i + 1],
            w[1]
        );
    }
    let neg: Vec<f32> = xs.iter().map(|&x| -x).collect();
    let mut dn = vec![0.0f32; xs.len()];
    nonlin::tanh_derivative(&neg, &mut dn).unwrap();
    assert_eq!(d, dn);
    assert!(d.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn tanh_derivative_matches_central_difference() {
    for i in -400..400 {
        let x = i as f64 * 0.05;
        let mut d = [0.0f64];
        nonlin::tanh_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(libm::tanh, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
    }
}

#[test]
fn tanh_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 12.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::tanh_backward(&x, &g, &mut gi).unwrap();
    nonlin::tanh_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    let x: Vec<f64> = (0..37).map(|i| i as f64 * 0.7 - 12.0).collect();
    let g: Vec<f64> = (0..37).map(|i| 1.0 - i as f64 * 0.125).collect();
    let mut gi = vec![0.0f64; 37];
    let mut d = vec![0.0f64; 37];
    nonlin::tanh_backward(&x, &g, &mut gi).unwrap();
    nonlin::tanh_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
}

#[test]
fn tanh_position_independence() {
    check_position_independence_f32("tanh", |x, o| nonlin::tanh(x, o).unwrap());
    check_position_independence_f64("tanh", |x, o| nonlin::tanh(x, o).unwrap());
    check_position_independence_f32("tanh_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::tanh_inplace(o)
    });
    check_position_independence_f64("tanh_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::tanh_inplace(o)
    });
    check_position_independence_f32("tanh_derivative", |x, o| {
        nonlin::tanh_derivative(x, o).unwrap()
    });
    check_position_independence_f64("tanh_derivative", |x, o| {
        nonlin::tanh_derivative(x, o).unwrap()
    });
    check_position_independence_f32("tanh_backward", |x, o| {
        let g: Vec<f32> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::tanh_backward(x, &g, o).unwrap()
    });
    check_position_independence_f64("tanh_backward", |x, o| {
        let g: Vec<f64> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::tanh_backward(x, &g, o).unwrap()
    });
}

#[test]
fn tanh_errors() {
    let mut out = [0.0f32; 2];
    let e = nonlin::tanh(&[1.0f32; 3], &mut out).unwrap_err();
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
    let e = nonlin::tanh_derivative(&[1.0f64; 3], &mut [0.0; 4]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let mut gi = [0.0f64; 3];
    let e = nonlin::tanh_backward(&[1.0f64; 3], &[1.0; 2], &mut gi).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::tanh_backward(&[1.0f64; 3], &[1.0; 3], &mut [0.0; 1]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
    assert_eq!(gi, [0.0; 3]);
}
