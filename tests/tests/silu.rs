//! silu and swish (several β) with their derivatives: accuracy (f32 against f64, f64
//! against MPFR, with the exact product βx), the subnormal tail, the zero crossing of silu'
//! (absolute bound in its neighbourhood, ULP budget outside), special values, invariants,
//! position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

const BETAS: [f64; 4] = [0.5, 1.0, 2.0, 10.0];
const X0: f64 = -1.2784645427610737;
const X0_LO: f64 = -1.0946994183093437e-16;
const E0: f64 = 0.2784645427610738;
const HOOD: f64 = nonlin::SILU_DERIVATIVE_ZERO_NEIGHBOURHOOD;

fn in_hood(z: f64) -> bool {
    (z - X0).abs() < HOOD
}

/// Exact x·σ(βx) in MPFR.
fn swish_mp(x: &Mp, beta: f64) -> Mp {
    let z = Mp::with_val(MPFR_PREC, x * beta);
    let e = Mp::with_val(MPFR_PREC, -z).exp();
    Mp::with_val(MPFR_PREC, x / (e + 1u32))
}

/// Exact silu'(βx) = σ(z)(1 + z(1 - σ(z))) in MPFR (160 bits: the cancellation near x0
/// costs at most ~60 of them for f64 inputs).
fn swish_derivative_mp(x: &Mp, beta: f64) -> Mp {
    let z = Mp::with_val(MPFR_PREC, x * beta);
    let e = Mp::with_val(MPFR_PREC, -&z).exp();
    let s = Mp::with_val(MPFR_PREC, 1) / (e + 1u32);
    let oms = Mp::with_val(MPFR_PREC, 1u32 - &s);
    let f = Mp::with_val(MPFR_PREC, z * oms) + 1u32;
    s * f
}

/// Stable f64 references for the f32 kernels (βx exact in f64 for f32 inputs).
fn swish_ref(x: f64, beta: f64) -> f64 {
    let z = beta * x;
    let e = libm::exp(-z.abs());
    if z >= 0.0 {
        x / (1.0 + e)
    } else {
        x * e / (1.0 + e)
    }
}
/// silu'(z) in f64 without the cancellation at x0: N = 1 + E + z = t + E0·expm1(t).
fn silu_derivative_ref(z: f64) -> f64 {
    let e = libm::exp(-z.abs());
    let d = 1.0 + e;
    if z >= 0.0 {
        (1.0 + e + z * e) / (d * d)
    } else {
        let t = (z - X0) - X0_LO;
        let n = t + E0 * libm::expm1(t);
        e * n / (d * d)
    }
}
/// The scale of silu's derivative terms at z: E(1 + E + |z|)/(1 + E)^2, E = e^z (z < 0).
fn scale(z: f64) -> f64 {
    let e = libm::exp(z);
    e * (1.0 + e + z.abs()) / ((1.0 + e) * (1.0 + e))
}

#[test]
fn silu_f32_sweep() {
    let b = budgets::budget("silu", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::silu(x, o).unwrap();
    let r = |x: f64| swish_ref(x, 1.0);
    let w = measure_f32(&sweep_f32(509), k, r, |x: f64| x.is_infinite());
    assert_within("silu f32", &w, b);
    let w = measure_f32(&range_f32(-115.0, 30.0, 23), k, r, |x: f64| x.is_infinite());
    assert_within("silu f32 dense (tail, subnormal)", &w, b);
}

#[test]
fn swish_f32_sweep() {
    let b = budgets::budget("swish", "f32").unwrap();
    for beta in BETAS.into_iter().chain([-1.0, 0.0]) {
        let k = |x: &[f32], o: &mut [f32]| nonlin::swish(x, beta as f32, o).unwrap();
        let r = |x: f64| swish_ref(x, beta);
        let w = measure_f32(&sweep_f32(1021), k, r, |x: f64| x.is_infinite());
        assert_within(&format!("swish(beta={beta}) f32"), &w, b);
        if beta > 0.0 {
            let w = measure_f32(
                &range_f32((-115.0 / beta) as f32, (30.0 / beta) as f32, 41),
                k,
                r,
                |x: f64| x.is_infinite(),
            );
            assert_within(&format!("swish(beta={beta}) f32 dense"), &w, b);
        }
    }
}

#[test]
fn silu_derivative_f32_sweep() {
    let b = budgets::budget("silu_derivative", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::silu_derivative(x, o).unwrap();
    let w = measure_f32(&sweep_f32(509), k, silu_derivative_ref, |x: f64| {
        x.is_infinite() || in_hood(x)
    });
    assert_within("silu_derivative f32", &w, b);
    let w = measure_f32(
        &range_f32(-115.0, 30.0, 23),
        k,
        silu_derivative_ref,
        |x: f64| x.is_infinite() || in_hood(x),
    );
    assert_within(
        "silu_derivative f32 dense (outside x0's neighbourhood)",
        &w,
        b,
    );
    for beta in BETAS {
        let k = |x: &[f32], o: &mut [f32]| nonlin::swish_derivative(x, beta as f32, o).unwrap();
        let r = |x: f64| silu_derivative_ref(beta * x);
        let skip = |x: f64| x.is_infinite() || in_hood(beta * x);
        let w = measure_f32(&sweep_f32(1021), k, r, skip);
        assert_within(&format!("swish_derivative(beta={beta}) f32"), &w, b);
        let w = measure_f32(
            &range_f32((-115.0 / beta) as f32, (30.0 / beta) as f32, 41),
            k,
            r,
            skip,
        );
        assert_within(&format!("swish_derivative(beta={beta}) f32 dense"), &w, b);
    }
}

#[test]
fn silu_derivative_zero_crossing_f32() {
    // Every f32 in the neighbourhood: the absolute bound 2ε·S(x) (the contract), and the
    // relative error for the record.
    let xs = range_f32((X0 - HOOD) as f32, (X0 + HOOD) as f32, 1);
    let mut d = vec![0.0f32; xs.len()];
    nonlin::silu_derivative(&xs, &mut d).unwrap();
    let eps = libm::ldexp(1.0, -24);
    let (mut worst_abs, mut worst_ulp) = (0.0f64, 0.0f64);
    for (&x, &v) in xs.iter().zip(&d) {
        let want = silu_derivative_ref(x as f64);
        let rel = ((v as f64) - want).abs() / (eps * scale(x as f64));
        worst_abs = worst_abs.max(rel);
        worst_ulp = worst_ulp.max(ulp_f32(v, want));
    }
    eprintln!(
        "silu_derivative f32 near x0: max |err| = {worst_abs:.3} ε·S (bound 2), max {worst_ulp:.3} ULP"
    );
    assert!(worst_abs <= 2.0);
    // The nearest floats to x0 straddle the zero with opposite signs.
    let a = (X0 as f32).next_down();
    let b = (X0 as f32).next_up();
    let mut o = [0.0f32; 2];
    nonlin::silu_derivative(&[a, b], &mut o).unwrap();
    assert!(o[0] < 0.0 && o[1] > 0.0, "{o:?}");
}

#[test]
fn silu_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 10, 800.0, 50);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::silu(x, o).unwrap(),
        |x| swish_mp(x, 1.0),
        |x: f64| x.is_infinite(),
    );
    assert_within("silu f64", &w, budgets::budget("silu", "f64").unwrap());
}

#[test]
fn silu_derivative_f64_mpfr() {
    let b = budgets::budget("silu_derivative", "f64").unwrap();
    let xs = sample_f64(1_000_000, -1080, 10, 800.0, 51);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::silu_derivative(x, o).unwrap(),
        |x| swish_derivative_mp(x, 1.0),
        |x: f64| x.is_infinite() || in_hood(x),
    );
    assert_within("silu_derivative f64", &w, b);
    // The neighbourhood of x0: absolute bound, and the relative error for the record.
    let mut r = Rng::new(52);
    let xs: Vec<f64> = (0..200_000)
        .map(|i| {
            if i % 2 == 0 {
                r.uniform(X0 - HOOD, X0 + HOOD)
            } else {
                X0 + r.uniform(-1e-9, 1e-9)
            }
        })
        .collect();
    let mut d = vec![0.0f64; xs.len()];
    nonlin::silu_derivative(&xs, &mut d).unwrap();
    let eps = libm::ldexp(1.0, -53);
    let (mut worst_abs, mut worst_ulp) = (0.0f64, 0.0f64);
    for (&x, &v) in xs.iter().zip(&d) {
        let want = swish_derivative_mp(&mp(x), 1.0);
        let diff = (Mp::with_val(MPFR_PREC, v) - &want).to_f64().abs();
        worst_abs = worst_abs.max(diff / (eps * scale(x)));
        worst_ulp = worst_ulp.max(ulp_f64(v, &want));
    }
    eprintln!(
        "silu_derivative f64 near x0: max |err| = {worst_abs:.3} ε·S (bound 2), max {worst_ulp:.3} ULP"
    );
    assert!(worst_abs <= 2.0);
}

#[test]
fn swish_f64_mpfr() {
    let b = budgets::budget("swish", "f64").unwrap();
    let bd = budgets::budget("swish_derivative", "f64").unwrap();
    for (i, beta) in BETAS.into_iter().enumerate() {
        let n = if beta == 1.0 { 1_000_000 } else { 300_000 };
        let xs = sample_f64(n, -1080, 11, 800.0 / beta, 60 + i as u64);
        let w = measure_f64(
            &xs,
            |x, o| nonlin::swish(x, beta, o).unwrap(),
            |x| swish_mp(x, beta),
            |x: f64| x.is_infinite(),
        );
        assert_within(&format!("swish(beta={beta}) f64"), &w, b);
        let w = measure_f64(
            &xs,
            |x, o| nonlin::swish_derivative(x, beta, o).unwrap(),
            |x| swish_derivative_mp(x, beta),
            |x| x.is_infinite() || in_hood(beta * x),
        );
        assert_within(&format!("swish_derivative(beta={beta}) f64"), &w, bd);
    }
}

#[test]
fn silu_is_swish_with_beta_one() {
    let xs = sweep_f32(40_009);
    let (mut a, mut b) = (vec![0.0f32; xs.len()], vec![0.0f32; xs.len()]);
    nonlin::silu(&xs, &mut a).unwrap();
    nonlin::swish(&xs, 1.0, &mut b).unwrap();
    for ((x, p), q) in xs.iter().zip(&a).zip(&b) {
        assert!(
            p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()),
            "{x}"
        );
    }
    nonlin::silu_derivative(&xs, &mut a).unwrap();
    nonlin::swish_derivative(&xs, 1.0, &mut b).unwrap();
    for ((x, p), q) in xs.iter().zip(&a).zip(&b) {
        assert!(
            p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()),
            "{x}"
        );
    }
}

#[test]
fn silu_tails_and_specials() {
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
    nonlin::silu(&x, &mut y).unwrap();
    assert_eq!(y[0].to_bits(), (-0.0f32).to_bits(), "silu(-inf) = -0");
    assert_eq!(y[1], f32::INFINITY);
    assert!(y[2].is_nan());
    assert_eq!(y[3].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[4].to_bits(), 0);
    assert_eq!(y[5], f32::MAX);
    assert_eq!(y[6], 0.0);
    let mut d = [0.0f32; 7];
    nonlin::silu_derivative(&x, &mut d).unwrap();
    assert_eq!(d[0], 0.0);
    assert_eq!(d[1], 1.0);
    assert!(d[2].is_nan());
    assert_eq!(d[3], 0.5);
    assert_eq!(d[4], 0.5);
    assert_eq!(d[5], 1.0);
    assert_eq!(d[6], 0.0);
    // The subnormal tail: x·e^x where e^x alone is already subnormal (x < -87.3).
    for xi in [-88.0f32, -90.0, -95.0, -100.0, -104.0, -106.0] {
        let mut o = [0.0f32];
        nonlin::silu(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0, "silu({xi}) = {}", o[0]);
        assert!(
            ulp_f32(o[0], swish_ref(xi as f64, 1.0)) <= 2.0,
            "silu({xi})"
        );
        nonlin::silu_derivative(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0, "silu'({xi}) = {}", o[0]);
        assert!(ulp_f32(o[0], silu_derivative_ref(xi as f64)) <= 4.0);
    }
    for xi in [-700.0f64, -730.0, -745.0, -750.0] {
        let mut o = [0.0f64];
        nonlin::silu(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0 && ulp_f64(o[0], &swish_mp(&mp(xi), 1.0)) <= 2.0);
        nonlin::silu_derivative(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0 && ulp_f64(o[0], &swish_derivative_mp(&mp(xi), 1.0)) <= 4.0);
    }
    // swish limits for every sign of β.
    let xs = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
    let mut o = [0.0f64; 3];
    nonlin::swish(&xs, 2.0, &mut o).unwrap();
    assert_eq!(o[0], f64::INFINITY);
    assert_eq!(o[1].to_bits(), (-0.0f64).to_bits());
    assert!(o[2].is_nan());
    nonlin::swish(&xs, -2.0, &mut o).unwrap();
    assert_eq!(o[0], 0.0);
    assert_eq!(o[1], f64::NEG_INFINITY);
    nonlin::swish(&xs, 0.0, &mut o).unwrap();
    assert_eq!(o[0], f64::INFINITY);
    assert_eq!(o[1], f64::NEG_INFINITY);
    nonlin::swish_derivative(&xs, 0.0, &mut o).unwrap();
    assert_eq!(&o[..2], &[0.5, 0.5]);
    assert!(o[2].is_nan());
    nonlin::swish_derivative(&xs, 2.0, &mut o).unwrap();
    assert_eq!(&o[..2], &[1.0, 0.0]);
}

#[test]
fn silu_invariants() {
    let grid: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 / 100.0).collect();
    let mut y = vec![0.0f32; grid.len()];
    nonlin::silu(&grid, &mut y).unwrap();
    let mut d = vec![0.0f32; grid.len()];
    nonlin::silu_derivative(&grid, &mut d).unwrap();
    for (i, (&x, &s)) in grid.iter().zip(&y).enumerate() {
        // silu(x) >= x for x <= 0 ... in fact x·σ(x) lies between min(x, 0) and max(x, 0).
        assert!(s >= x.min(0.0) && s <= x.max(0.0), "silu({x}) = {s}");
        assert!(
            s >= -0.2784646,
            "silu is bounded below by x0·σ(x0) = -0.27846"
        );
        // silu is decreasing below x0 and increasing above; silu' has the matching sign.
        if i > 0 {
            let prev = y[i - 1];
            if (x as f64) <= X0 {
                assert!(s <= prev, "silu must decrease below x0 at {x}");
            } else if (grid[i - 1] as f64) >= X0 {
                assert!(s >= prev, "silu must increase above x0 at {x}");
            }
        }
        if (x as f64) < X0 {
            assert!(d[i] <= 0.0, "silu'({x}) = {}", d[i]);
        } else {
            assert!(d[i] >= 0.0, "silu'({x}) = {}", d[i]);
        }
    }
}

#[test]
fn silu_derivative_matches_central_difference() {
    for beta in BETAS {
        for i in -400..400 {
            let x = i as f64 * 0.05 / beta;
            let mut d = [0.0f64];
            nonlin::swish_derivative(&[x], beta, &mut d).unwrap();
            let fd = central_difference(|t| nonlin::scalar::swish(t, beta), x);
            approx::assert_relative_eq!(d[0], fd, epsilon = 1e-8, max_relative = 1e-6);
        }
    }
    for i in -400..400 {
        let x = i as f64 * 0.05;
        let mut d = [0.0f64];
        nonlin::silu_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::silu, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-8, max_relative = 1e-6);
    }
}

#[test]
fn silu_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 12.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::silu_backward(&x, &g, &mut gi).unwrap();
    nonlin::silu_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    nonlin::swish_backward(&x, &g, 2.0, &mut gi).unwrap();
    nonlin::swish_derivative(&x, 2.0, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    let x: Vec<f64> = (0..37).map(|i| i as f64 * 0.7 - 12.0).collect();
    let g: Vec<f64> = (0..37).map(|i| 1.0 - i as f64 * 0.125).collect();
    let mut gi = vec![0.0f64; 37];
    let mut d = vec![0.0f64; 37];
    nonlin::silu_backward(&x, &g, &mut gi).unwrap();
    nonlin::silu_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    nonlin::swish_backward(&x, &g, 0.5, &mut gi).unwrap();
    nonlin::swish_derivative(&x, 0.5, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
}

#[test]
fn silu_position_independence() {
    check_position_independence_f32("silu", |x, o| nonlin::silu(x, o).unwrap());
    check_position_independence_f64("silu", |x, o| nonlin::silu(x, o).unwrap());
    check_position_independence_f32("silu_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::silu_inplace(o)
    });
    check_position_independence_f64("silu_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::silu_inplace(o)
    });
    check_position_independence_f32("silu_derivative", |x, o| {
        nonlin::silu_derivative(x, o).unwrap()
    });
    check_position_independence_f64("silu_derivative", |x, o| {
        nonlin::silu_derivative(x, o).unwrap()
    });
    check_position_independence_f32("silu_backward", |x, o| {
        let g: Vec<f32> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::silu_backward(x, &g, o).unwrap()
    });
    check_position_independence_f64("silu_backward", |x, o| {
        let g: Vec<f64> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::silu_backward(x, &g, o).unwrap()
    });
    for beta in [0.5, 2.0, -1.0] {
        let b32 = beta as f32;
        check_position_independence_f32("swish", |x, o| nonlin::swish(x, b32, o).unwrap());
        check_position_independence_f64("swish", |x, o| nonlin::swish(x, beta, o).unwrap());
        check_position_independence_f32("swish_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::swish_inplace(o, b32).unwrap()
        });
        check_position_independence_f64("swish_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::swish_inplace(o, beta).unwrap()
        });
        check_position_independence_f32("swish_derivative", |x, o| {
            nonlin::swish_derivative(x, b32, o).unwrap()
        });
        check_position_independence_f64("swish_derivative", |x, o| {
            nonlin::swish_derivative(x, beta, o).unwrap()
        });
        check_position_independence_f32("swish_backward", |x, o| {
            let g: Vec<f32> = x.iter().map(|&v| 0.5 - v).collect();
            nonlin::swish_backward(x, &g, b32, o).unwrap()
        });
        check_position_independence_f64("swish_backward", |x, o| {
            let g: Vec<f64> = x.iter().map(|&v| 0.5 - v).collect();
            nonlin::swish_backward(x, &g, beta, o).unwrap()
        });
    }
}

#[test]
fn silu_errors() {
    let mut out = [7.0f32; 3];
    let e = nonlin::silu(&[1.0f32; 3], &mut out[..2]).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    assert_eq!(out, [7.0; 3]);
    let e = nonlin::silu_derivative(&[1.0f64; 3], &mut [0.0; 4]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let e = nonlin::silu_backward(&[1.0f64; 3], &[1.0; 2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::silu_backward(&[1.0f64; 3], &[1.0; 3], &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = nonlin::swish(&[1.0f32; 3], bad, &mut out).unwrap_err();
        assert!(
            matches!(e, nonlin::Error::InvalidParameter { name: "beta", .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("`beta`"));
        let mut xi = [1.0f32; 3];
        assert!(nonlin::swish_inplace(&mut xi, bad).is_err());
        assert_eq!(xi, [1.0; 3]);
        let e = nonlin::swish_derivative(&[1.0f32; 3], bad, &mut out).unwrap_err();
        assert!(e.to_string().contains("`beta`"));
        let e = nonlin::swish_backward(&[1.0f32; 3], &[1.0; 3], bad, &mut out).unwrap_err();
        assert!(e.to_string().contains("`beta`"));
        assert_eq!(out, [7.0; 3], "nothing written on error");
    }
    let e = nonlin::swish(&[1.0f64; 3], 1.0, &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let e = nonlin::swish_backward(&[1.0f64; 3], &[1.0; 2], 1.0, &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
}

/// Large `|x|` with a small `β`: `x e^z` (`z = βx`) is a normal number far beyond where
/// `e^z` alone underflows (f32 `z` down to -192, f64 down to -1454). A fixed tail scale of
/// `2^64` flushed `e^z 2^64` to 0 below f32 `z = -131` and f64 `z = -790`; the `activations`
/// fuzzer found f64 `swish(-3.11e306; β = 4.04e-304) = 0` instead of `-8.18e-241`.
#[test]
fn swish_far_tail_with_large_x() {
    let b32 = budgets::budget("swish", "f32").unwrap();
    let b64 = budgets::budget("swish", "f64").unwrap();
    let d64 = budgets::budget("swish_derivative", "f64").unwrap();
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    let zs = [
        -65.0, -70.0, -90.0, -100.0, -120.0, -131.0, -140.0, -160.0, -180.0, -190.0, -192.5,
        -200.0, -300.0, -1000.0,
    ];
    for x in [3.0e38f32, -3.0e38, 1.0e36, -1.0e35, 7.0e30, -2.0e20] {
        for z in zs {
            let beta = (z / x as f64) as f32;
            let mut y = [0.0f32];
            nonlin::swish(&[x], beta, &mut y).unwrap();
            let u = ulp_f32(y[0], swish_ref(x as f64, beta as f64));
            assert!(u <= b32, "swish({x:e}; {beta:e}) f32 = {:e}: {u} ULP", y[0]);
            worst.0 = worst.0.max(u);
        }
    }
    let zs64 = [
        -65.0, -100.0, -700.0, -745.0, -790.0, -800.0, -1000.0, -1200.0, -1258.6, -1400.0, -1450.0,
        -1454.0, -1460.0, -2000.0,
    ];
    for x in [
        -3.111801051070777e306,
        1.7e308,
        -1.0e300,
        1.0e250,
        -1.0e200,
        1.0e100,
    ] {
        for z in zs64 {
            let beta = z / x;
            let mut y = [0.0f64];
            nonlin::swish(&[x], beta, &mut y).unwrap();
            let u = ulp_f64(y[0], &swish_mp(&mp(x), beta));
            assert!(u <= b64, "swish({x:e}; {beta:e}) f64 = {:e}: {u} ULP", y[0]);
            worst.1 = worst.1.max(u);
            nonlin::swish_derivative(&[x], beta, &mut y).unwrap();
            let u = ulp_f64(y[0], &swish_derivative_mp(&mp(x), beta));
            assert!(
                u <= d64,
                "swish'({x:e}; {beta:e}) f64 = {:e}: {u} ULP",
                y[0]
            );
            worst.2 = worst.2.max(u);
        }
    }
    // The fuzzer's input itself, against its MPFR value -8.1828719236688819e-241.
    let mut y = [0.0f64];
    nonlin::swish(&[-3.111801051070777e306], 4.044433380242714e-304, &mut y).unwrap();
    assert!(
        (y[0] / -8.182871923668882e-241 - 1.0).abs() < 1e-15,
        "{:e}",
        y[0]
    );
    println!(
        "swish far tail: f32 {:.3}, f64 {:.3}, f64' {:.3} ULP",
        worst.0, worst.1, worst.2
    );
}

#[test]
fn swish_derivative_f32_extreme_beta() {
    // silu'(βx) for β far from 1, x up to the f32 range and ±inf, against the stable f64
    // form (βx exact in f64). Covers the AVX2 backend's f64 evaluation (β != 1) and the
    // f32 form alike; the zero crossing's neighbourhood is left to the sweeps above.
    fn silu_d(z: f64) -> f64 {
        let e = libm::exp(-z.abs());
        let d = 1.0 + e;
        if z < 0.0 {
            e * (d + z) / (d * d)
        } else {
            (d + z * e) / (d * d)
        }
    }
    let xs: Vec<f32> = [
        0.0f32,
        -0.0,
        1e-30,
        -1e-30,
        0.3,
        -0.7,
        5.0,
        -40.0,
        -150.0,
        1e10,
        -1e10,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ]
    .to_vec();
    for beta in [1e-30f32, -1e-20, 3e-5, 0.25, 7.5, -3.0, 1e20, 3.4e38] {
        let mut d = vec![0.0f32; xs.len()];
        nonlin::swish_derivative(&xs, beta, &mut d).unwrap();
        for (&x, &got) in xs.iter().zip(&d) {
            let xc = (x as f64).clamp(f32::MIN as f64, f32::MAX as f64);
            let z = beta as f64 * xc;
            if (z - -1.2784645427610738).abs() < 0.0625 {
                continue;
            }
            let want = silu_d(z);
            let u = ulp_f32(got, want);
            assert!(
                u <= 4.0,
                "swish'({x:e}; {beta:e}) = {got:e}, want {want:e}: {u} ULP"
            );
        }
    }
}
