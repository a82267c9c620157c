//! softplus (several β) and log-sigmoid with their derivatives: accuracy (f32 against f64,
//! f64 against MPFR, both with the exact product βx), tails, the PyTorch threshold, special
//! values, invariants, position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

const BETAS: [f64; 4] = [0.5, 1.0, 2.0, 10.0];

/// Exact softplus in MPFR: max(x, 0) + ln(1 + e^-|βx|) / β, βx exact at MPFR_PREC bits.
fn softplus_mp(x: &Mp, beta: f64) -> Mp {
    let z = Mp::with_val(MPFR_PREC, x * beta);
    let e = Mp::with_val(MPFR_PREC, -z.abs()).exp();
    let l = e.ln_1p() / beta;
    if x.is_sign_positive() && !x.is_zero() {
        l + x
    } else {
        l
    }
}

/// Exact σ(βx) in MPFR.
fn sigmoid_of_product_mp(x: &Mp, beta: f64) -> Mp {
    let z = Mp::with_val(MPFR_PREC, x * beta);
    let e = Mp::with_val(MPFR_PREC, -z).exp();
    Mp::with_val(MPFR_PREC, 1) / (e + 1u32)
}

/// Stable f64 references for the f32 kernels. For f32 inputs and β the product βx is exact
/// in f64, and every intermediate is a normal f64.
fn softplus_ref(x: f64, beta: f64) -> f64 {
    let z = beta * x;
    x.max(0.0) + libm::log1p(libm::exp(-z.abs())) / beta
}
fn sigmoid_of_product_ref(x: f64, beta: f64) -> f64 {
    let z = beta * x;
    let e = libm::exp(-z.abs());
    if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}
fn log_sigmoid_ref(x: f64) -> f64 {
    x.min(0.0) - libm::log1p(libm::exp(-x.abs()))
}

#[test]
fn softplus_f32_sweep() {
    let b = budgets::budget("softplus", "f32").unwrap();
    for beta in BETAS {
        let k = |x: &[f32], o: &mut [f32]| nonlin::softplus(x, beta as f32, o).unwrap();
        let r = |x: f64| softplus_ref(x, beta);
        let w = measure_f32(&sweep_f32(509), k, r, |_| false);
        assert_within(&format!("softplus(beta={beta}) f32"), &w, b);
        // Dense over both tails down to the subnormal results (βx < -87.3) and zero.
        let lo = (-110.0 / beta) as f32;
        let w = measure_f32(&range_f32(lo, (30.0 / beta) as f32, 37), k, r, |_| false);
        assert_within(&format!("softplus(beta={beta}) f32 dense"), &w, b);
    }
}

#[test]
fn softplus_derivative_f32_sweep() {
    let b = budgets::budget("softplus_derivative", "f32").unwrap();
    for beta in BETAS {
        let k = |x: &[f32], o: &mut [f32]| nonlin::softplus_derivative(x, beta as f32, o).unwrap();
        let r = |x: f64| sigmoid_of_product_ref(x, beta);
        let w = measure_f32(&sweep_f32(509), k, r, |_| false);
        assert_within(&format!("softplus_derivative(beta={beta}) f32"), &w, b);
        let lo = (-110.0 / beta) as f32;
        let w = measure_f32(&range_f32(lo, (30.0 / beta) as f32, 37), k, r, |_| false);
        assert_within(
            &format!("softplus_derivative(beta={beta}) f32 dense"),
            &w,
            b,
        );
    }
}

#[test]
fn log_sigmoid_f32_sweep() {
    let b = budgets::budget("log_sigmoid", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::log_sigmoid(x, o).unwrap();
    let w = measure_f32(&sweep_f32(509), k, log_sigmoid_ref, |_| false);
    assert_within("log_sigmoid f32", &w, b);
    let w = measure_f32(&range_f32(-30.0, 110.0, 23), k, log_sigmoid_ref, |_| false);
    assert_within("log_sigmoid f32 dense", &w, b);
    let b = budgets::budget("log_sigmoid_derivative", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::log_sigmoid_derivative(x, o).unwrap();
    let r = |x: f64| sigmoid_of_product_ref(-x, 1.0);
    let w = measure_f32(&sweep_f32(509), k, r, |_| false);
    assert_within("log_sigmoid_derivative f32", &w, b);
    let w = measure_f32(&range_f32(-30.0, 110.0, 23), k, r, |_| false);
    assert_within("log_sigmoid_derivative f32 dense", &w, b);
}

/// f64 input count per β: 1e6 for β = 1, 3e5 for each other β.
fn n_for(beta: f64) -> usize {
    if beta == 1.0 { 1_000_000 } else { 300_000 }
}

#[test]
fn softplus_f64_mpfr() {
    let b = budgets::budget("softplus", "f64").unwrap();
    for (i, beta) in BETAS.into_iter().enumerate() {
        let xs = sample_f64(n_for(beta), -1080, 11, 800.0 / beta, 20 + i as u64);
        let w = measure_f64(
            &xs,
            |x, o| nonlin::softplus(x, beta, o).unwrap(),
            |x| softplus_mp(x, beta),
            |_| false,
        );
        assert_within(&format!("softplus(beta={beta}) f64"), &w, b);
    }
}

#[test]
fn softplus_derivative_f64_mpfr() {
    let b = budgets::budget("softplus_derivative", "f64").unwrap();
    for (i, beta) in BETAS.into_iter().enumerate() {
        let xs = sample_f64(n_for(beta), -1080, 11, 800.0 / beta, 30 + i as u64);
        let w = measure_f64(
            &xs,
            |x, o| nonlin::softplus_derivative(x, beta, o).unwrap(),
            |x| sigmoid_of_product_mp(x, beta),
            |_| false,
        );
        assert_within(&format!("softplus_derivative(beta={beta}) f64"), &w, b);
    }
}

#[test]
fn log_sigmoid_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 11, 800.0, 40);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::log_sigmoid(x, o).unwrap(),
        |x| -softplus_mp(&Mp::with_val(MPFR_PREC, -x), 1.0),
        |_| false,
    );
    assert_within(
        "log_sigmoid f64",
        &w,
        budgets::budget("log_sigmoid", "f64").unwrap(),
    );
    let w = measure_f64(
        &xs,
        |x, o| nonlin::log_sigmoid_derivative(x, o).unwrap(),
        |x| sigmoid_of_product_mp(&Mp::with_val(MPFR_PREC, -x), 1.0),
        |_| false,
    );
    assert_within(
        "log_sigmoid_derivative f64",
        &w,
        budgets::budget("log_sigmoid_derivative", "f64").unwrap(),
    );
}

#[test]
fn softplus_no_threshold_cutoff() {
    // PyTorch's threshold=20 returns x for βx > 20: 5.8e5 ULP wrong in f64 at x = 20.
    let mut y = [0.0f64; 3];
    nonlin::softplus(&[20.0, 30.0, 36.0], 1.0, &mut y).unwrap();
    for (&x, &v) in [20.0f64, 30.0, 36.0].iter().zip(&y) {
        let want = softplus_mp(&mp(x), 1.0);
        assert!(ulp_f64(v, &want) <= 2.0, "softplus({x}) = {v}");
    }
    // log1p(e^-x) is above half an ULP of x up to x ≈ 33.3 (f64).
    assert!(y[0] > 20.0 && y[1] > 30.0);
    let pytorch_err = ulp_f64(20.0, &softplus_mp(&mp(20.0), 1.0));
    assert!(pytorch_err > 5.7e5 && pytorch_err < 5.9e5, "{pytorch_err}");
    // β carried exactly: β = 10, x = 2.05 gives βx = 20.5 (> PyTorch's threshold).
    let mut z = [0.0f64];
    nonlin::softplus(&[2.05], 10.0, &mut z).unwrap();
    assert!(ulp_f64(z[0], &softplus_mp(&mp(2.05), 10.0)) <= 2.0);
    assert!(z[0] > 2.05);
}

#[test]
fn softplus_tails_and_specials() {
    for beta in [0.5f32, 1.0, 2.0, 10.0] {
        let x = [
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
            -0.0,
            0.0,
            f32::MAX,
            f32::MIN,
        ];
        let mut y = [0.0f32; 7];
        nonlin::softplus(&x, beta, &mut y).unwrap();
        assert_eq!(y[0], 0.0);
        assert_eq!(y[1], f32::INFINITY);
        assert!(y[2].is_nan());
        assert_eq!(y[3], (core::f64::consts::LN_2 / beta as f64) as f32);
        assert_eq!(y[4], y[3]);
        assert_eq!(y[5], f32::MAX);
        assert_eq!(y[6], 0.0);
        let mut d = [0.0f32; 7];
        nonlin::softplus_derivative(&x, beta, &mut d).unwrap();
        assert_eq!(d[0], 0.0);
        assert_eq!(d[1], 1.0);
        assert!(d[2].is_nan());
        assert_eq!(d[3], 0.5);
        assert_eq!(d[5], 1.0);
        assert_eq!(d[6], 0.0);
        // Negative tail: ≈ e^(βx)/β, computed into the subnormals with relative accuracy.
        for z in [-30.0f64, -80.0, -87.0, -90.0, -100.0, -103.0] {
            let xi = (z / beta as f64) as f32;
            let mut o = [0.0f32];
            nonlin::softplus(&[xi], beta, &mut o).unwrap();
            let want = softplus_ref(xi as f64, beta as f64);
            if want >= libm::ldexp(1.0, -149) {
                assert!(o[0] > 0.0, "softplus({xi}; {beta}) = {}", o[0]);
            }
            assert!(ulp_f32(o[0], want) <= 2.0, "softplus({xi}; {beta})");
        }
    }
    let x = [f64::NEG_INFINITY, f64::INFINITY, f64::NAN, -745.0, -700.0];
    let mut y = [0.0f64; 5];
    nonlin::softplus(&x, 1.0, &mut y).unwrap();
    assert_eq!(y[0], 0.0);
    assert_eq!(y[1], f64::INFINITY);
    assert!(y[2].is_nan());
    assert!(y[3] > 0.0 && ulp_f64(y[3], &softplus_mp(&mp(-745.0), 1.0)) <= 2.0);
    assert!(ulp_f64(y[4], &softplus_mp(&mp(-700.0), 1.0)) <= 2.0);
    // log_sigmoid: -inf -> -inf, +inf -> -0, positive tail -e^-x accurate into subnormals.
    let x = [f32::NEG_INFINITY, f32::INFINITY, f32::NAN, 0.0, 50.0, 100.0];
    let mut y = [0.0f32; 6];
    nonlin::log_sigmoid(&x, &mut y).unwrap();
    assert_eq!(y[0], f32::NEG_INFINITY);
    assert_eq!(y[1].to_bits(), (-0.0f32).to_bits());
    assert!(y[2].is_nan());
    assert_eq!(y[3], -core::f32::consts::LN_2);
    assert!(ulp_f32(y[4], log_sigmoid_ref(50.0)) <= 2.0);
    assert!(y[5] < 0.0 && ulp_f32(y[5], log_sigmoid_ref(100.0)) <= 2.0);
    let mut d = [0.0f32; 6];
    nonlin::log_sigmoid_derivative(&x, &mut d).unwrap();
    assert_eq!(d[0], 1.0);
    assert_eq!(d[1], 0.0);
    assert!(d[2].is_nan());
    assert_eq!(d[3], 0.5);
    assert!(d[5] > 0.0 && ulp_f32(d[5], sigmoid_of_product_ref(-100.0, 1.0)) <= 4.0);
}

#[test]
fn softplus_small_beta_tail_is_scaled_not_flushed() {
    // β = 2^-10: e^(βx) is subnormal where e^(βx)/β is still normal; the kernel rounds once.
    let beta = 1.0f32 / 1024.0;
    for z in [-88.0f64, -95.0, -100.0, -103.0] {
        let xi = (z / beta as f64) as f32;
        let mut o = [0.0f32];
        nonlin::softplus(&[xi], beta, &mut o).unwrap();
        let want = softplus_ref(xi as f64, beta as f64);
        assert!(
            ulp_f32(o[0], want) <= 2.0,
            "softplus({xi}; {beta}) = {} vs {want}",
            o[0]
        );
    }
    let beta = 1e-5f64;
    for z in [-709.0f64, -720.0, -740.0] {
        let xi = z / beta;
        let mut o = [0.0f64];
        nonlin::softplus(&[xi], beta, &mut o).unwrap();
        assert!(
            ulp_f64(o[0], &softplus_mp(&mp(xi), beta)) <= 2.0,
            "x = {xi}"
        );
    }
}

#[test]
fn softplus_invariants() {
    // Uniform grids: consecutive exact values differ by far more than the error bound.
    let grid: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 / 100.0).collect();
    for beta in [0.5f32, 1.0, 2.0, 10.0] {
        let xs = grid.clone();
        let mut y = vec![0.0f32; xs.len()];
        nonlin::softplus(&xs, beta, &mut y).unwrap();
        for w in y.windows(2) {
            assert!(w[0] <= w[1], "softplus must be monotone");
        }
        for (&x, &s) in xs.iter().zip(&y) {
            assert!(s >= 0.0 && s >= x, "softplus({x}) = {s}");
        }
        let mut d = vec![0.0f32; xs.len()];
        nonlin::softplus_derivative(&xs, beta, &mut d).unwrap();
        for w in d.windows(2) {
            assert!(w[0] <= w[1], "σ(βx) must be monotone");
        }
        assert!(d.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
    let xs = grid;
    let mut y = vec![0.0f32; xs.len()];
    nonlin::log_sigmoid(&xs, &mut y).unwrap();
    for w in y.windows(2) {
        assert!(w[0] <= w[1], "log_sigmoid must be monotone");
    }
    for (&x, &s) in xs.iter().zip(&y) {
        assert!(s <= 0.0 && s <= x.max(0.0), "log_sigmoid({x}) = {s}");
        // log σ(x) = -softplus(-x), bit for bit.
        let mut m = [0.0f32];
        nonlin::softplus(&[-x], 1.0, &mut m).unwrap();
        assert_eq!(s, -m[0]);
    }
    let mut r = Rng::new(5);
    let xs: Vec<f64> = (0..100_000).map(|_| r.uniform(-800.0, 800.0)).collect();
    let mut y = vec![0.0f64; xs.len()];
    nonlin::softplus(&xs, 1.0, &mut y).unwrap();
    for (&x, &s) in xs.iter().zip(&y) {
        assert!(s >= 0.0 && s >= x);
    }
}

#[test]
fn softplus_derivative_matches_central_difference() {
    for beta in BETAS {
        for i in -400..400 {
            let x = i as f64 * 0.05 / beta;
            let mut d = [0.0f64];
            nonlin::softplus_derivative(&[x], beta, &mut d).unwrap();
            let fd = central_difference(|t| nonlin::scalar::softplus(t, beta), x);
            approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
        }
    }
    for i in -400..400 {
        let x = i as f64 * 0.05;
        let mut d = [0.0f64];
        nonlin::log_sigmoid_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::log_sigmoid, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
    }
}

#[test]
fn softplus_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 12.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    for beta in [0.5f32, 2.0] {
        nonlin::softplus_backward(&x, &g, beta, &mut gi).unwrap();
        nonlin::softplus_derivative(&x, beta, &mut d).unwrap();
        for i in 0..37 {
            assert_eq!(gi[i], g[i] * d[i]);
        }
    }
    nonlin::log_sigmoid_backward(&x, &g, &mut gi).unwrap();
    nonlin::log_sigmoid_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    let x: Vec<f64> = (0..37).map(|i| i as f64 * 0.7 - 12.0).collect();
    let g: Vec<f64> = (0..37).map(|i| 1.0 - i as f64 * 0.125).collect();
    let mut gi = vec![0.0f64; 37];
    let mut d = vec![0.0f64; 37];
    nonlin::softplus_backward(&x, &g, 10.0, &mut gi).unwrap();
    nonlin::softplus_derivative(&x, 10.0, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    nonlin::log_sigmoid_backward(&x, &g, &mut gi).unwrap();
    nonlin::log_sigmoid_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
}

#[test]
fn softplus_position_independence() {
    for beta in [0.5, 1.0, 10.0] {
        let b32 = beta as f32;
        check_position_independence_f32("softplus", |x, o| nonlin::softplus(x, b32, o).unwrap());
        check_position_independence_f64("softplus", |x, o| nonlin::softplus(x, beta, o).unwrap());
        check_position_independence_f32("softplus_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::softplus_inplace(o, b32).unwrap()
        });
        check_position_independence_f64("softplus_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::softplus_inplace(o, beta).unwrap()
        });
        check_position_independence_f32("softplus_derivative", |x, o| {
            nonlin::softplus_derivative(x, b32, o).unwrap()
        });
        check_position_independence_f64("softplus_derivative", |x, o| {
            nonlin::softplus_derivative(x, beta, o).unwrap()
        });
        check_position_independence_f32("softplus_backward", |x, o| {
            let g: Vec<f32> = x.iter().map(|&v| 0.5 - v).collect();
            nonlin::softplus_backward(x, &g, b32, o).unwrap()
        });
        check_position_independence_f64("softplus_backward", |x, o| {
            let g: Vec<f64> = x.iter().map(|&v| 0.5 - v).collect();
            nonlin::softplus_backward(x, &g, beta, o).unwrap()
        });
    }
    check_position_independence_f32("log_sigmoid", |x, o| nonlin::log_sigmoid(x, o).unwrap());
    check_position_independence_f64("log_sigmoid", |x, o| nonlin::log_sigmoid(x, o).unwrap());
    check_position_independence_f32("log_sigmoid_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::log_sigmoid_inplace(o)
    });
    check_position_independence_f64("log_sigmoid_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::log_sigmoid_inplace(o)
    });
    check_position_independence_f32("log_sigmoid_derivative", |x, o| {
        nonlin::log_sigmoid_derivative(x, o).unwrap()
    });
    check_position_independence_f64("log_sigmoid_derivative", |x, o| {
        nonlin::log_sigmoid_derivative(x, o).unwrap()
    });
    check_position_independence_f32("log_sigmoid_backward", |x, o| {
        let g: Vec<f32> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::log_sigmoid_backward(x, &g, o).unwrap()
    });
    check_position_independence_f64("log_sigmoid_backward", |x, o| {
        let g: Vec<f64> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::log_sigmoid_backward(x, &g, o).unwrap()
    });
}

#[test]
fn softplus_errors() {
    let mut out = [7.0f32; 3];
    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = nonlin::softplus(&[1.0f32; 3], bad, &mut out).unwrap_err();
        assert!(
            matches!(e, nonlin::Error::InvalidParameter { name: "beta", .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("`beta`"), "{e}");
        assert_eq!(out, [7.0; 3], "nothing written on error");
        let mut xi = [1.0f32; 3];
        assert!(nonlin::softplus_inplace(&mut xi, bad).is_err());
        assert_eq!(xi, [1.0; 3]);
        let e = nonlin::softplus_derivative(&[1.0f32; 3], bad, &mut out).unwrap_err();
        assert!(e.to_string().contains("`beta`"));
        let e = nonlin::softplus_backward(&[1.0f32; 3], &[1.0; 3], bad, &mut out).unwrap_err();
        assert!(e.to_string().contains("`beta`"));
        assert_eq!(out, [7.0; 3]);
    }
    let e = nonlin::softplus(&[1.0f64; 3], 1.0, &mut [0.0; 2]).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    let e = nonlin::softplus_backward(&[1.0f64; 3], &[1.0; 2], 1.0, &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::softplus_backward(&[1.0f64; 3], &[1.0; 3], 1.0, &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
    let e = nonlin::log_sigmoid(&[1.0f32; 3], &mut [0.0; 4]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let e = nonlin::log_sigmoid_derivative(&[1.0f32; 3], &mut [0.0; 4]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let e = nonlin::log_sigmoid_backward(&[1.0f32; 3], &[1.0; 1], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
}
