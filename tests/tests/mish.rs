//! mish and its derivative: accuracy (f32 against f64, f64 against MPFR), the subnormal
//! tail, the zero crossing of mish' (absolute bound in its neighbourhood, ULP budget
//! outside), special values, invariants, position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

const X1: f64 = -1.1924312145154952;
const X1_LO: f64 = -4.8484829848031044e-17;
const HOOD: f64 = nonlin::MISH_DERIVATIVE_ZERO_NEIGHBOURHOOD;

fn in_hood(x: f64) -> bool {
    (x - X1).abs() < HOOD
}

/// Exact mish in MPFR: x·tanh(ln(1 + e^x)).
fn mish_mp(x: &Mp) -> Mp {
    let sp = Mp::with_val(MPFR_PREC, x.clone().exp()).ln_1p();
    Mp::with_val(MPFR_PREC, x * sp.tanh())
}

/// Exact mish' in MPFR: tanh(sp) + x·sech²(sp)·σ(x) (sech directly: no 1 - tanh²).
fn mish_derivative_mp(x: &Mp) -> Mp {
    let sp = Mp::with_val(MPFR_PREC, x.clone().exp()).ln_1p();
    let t = sp.clone().tanh();
    let sech2 = sp.sech().square();
    let e = Mp::with_val(MPFR_PREC, -x).exp();
    let sig = Mp::with_val(MPFR_PREC, 1) / (e + 1u32);
    let term = Mp::with_val(MPFR_PREC, x * sech2) * sig;
    t + term
}

/// Stable f64 references for the f32 kernels.
fn tanh_sp(x: f64) -> f64 {
    let v = libm::exp(-x.abs());
    if x < 0.0 {
        let n = v * (v + 2.0);
        n / (n + 2.0)
    } else {
        (1.0 + 2.0 * v) / (1.0 + 2.0 * v + 2.0 * v * v)
    }
}
fn mish_ref(x: f64) -> f64 {
    x * tanh_sp(x)
}
/// mish' in f64 without the cancellation at x1: for x < 0, E·g/(n+2)^2 with g from the
/// expansion around x1 (t = x - x1, m = expm1(t)).
fn mish_derivative_ref(x: f64) -> f64 {
    let v = libm::exp(-x.abs());
    if x >= 0.0 {
        let d = 1.0 + 2.0 * v + 2.0 * v * v;
        tanh_sp(x) + x * 4.0 * v * v * (1.0 + v) / (d * d)
    } else {
        let e1 = libm::exp(X1);
        let (a3, a2, a1) = (e1 * e1 * e1, 4.0 * e1 * e1, e1 * (6.0 + 4.0 * X1));
        let t = (x - X1) - X1_LO;
        let m = libm::expm1(t);
        let b = a1 + a2 * (m + 2.0) + a3 * (m * m + 3.0 * m + 3.0);
        let g = m * b + 4.0 * t * (1.0 + v);
        let n = v * (v + 2.0);
        v * g / ((n + 2.0) * (n + 2.0))
    }
}
/// The scale of mish's derivative terms: tanh(sp) + |x|·sech²(sp)·σ(x).
fn scale(x: f64) -> f64 {
    let e = libm::exp(x);
    let n = e * (e + 2.0);
    tanh_sp(x) + x.abs() * 4.0 * e * (1.0 + e) / ((n + 2.0) * (n + 2.0))
}

#[test]
fn mish_f32_sweep() {
    let b = budgets::budget("mish", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::mish(x, o).unwrap();
    let w = measure_f32(&sweep_f32(509), k, mish_ref, |x| x.is_infinite());
    assert_within("mish f32", &w, b);
    let w = measure_f32(&range_f32(-115.0, 30.0, 23), k, mish_ref, |_| false);
    assert_within("mish f32 dense (tail, subnormal)", &w, b);
}

#[test]
fn mish_derivative_f32_sweep() {
    let b = budgets::budget("mish_derivative", "f32").unwrap();
    let k = |x: &[f32], o: &mut [f32]| nonlin::mish_derivative(x, o).unwrap();
    let skip = |x: f64| x.is_infinite() || in_hood(x);
    let w = measure_f32(&sweep_f32(509), k, mish_derivative_ref, skip);
    assert_within("mish_derivative f32", &w, b);
    let w = measure_f32(&range_f32(-115.0, 30.0, 23), k, mish_derivative_ref, skip);
    assert_within(
        "mish_derivative f32 dense (outside x1's neighbourhood)",
        &w,
        b,
    );
}

#[test]
fn mish_derivative_zero_crossing_f32() {
    let xs = range_f32((X1 - HOOD) as f32, (X1 + HOOD) as f32, 1);
    let mut d = vec![0.0f32; xs.len()];
    nonlin::mish_derivative(&xs, &mut d).unwrap();
    let eps = libm::ldexp(1.0, -24);
    let (mut worst_abs, mut worst_ulp) = (0.0f64, 0.0f64);
    for (&x, &v) in xs.iter().zip(&d) {
        let want = mish_derivative_ref(x as f64);
        worst_abs = worst_abs.max(((v as f64) - want).abs() / (eps * scale(x as f64)));
        worst_ulp = worst_ulp.max(ulp_f32(v, want));
    }
    eprintln!(
        "mish_derivative f32 near x1: max |err| = {worst_abs:.3} ε·S (bound 2), max {worst_ulp:.3} ULP"
    );
    assert!(worst_abs <= 2.0);
    let a = (X1 as f32).next_down();
    let b = (X1 as f32).next_up();
    let mut o = [0.0f32; 2];
    nonlin::mish_derivative(&[a, b], &mut o).unwrap();
    assert!(o[0] < 0.0 && o[1] > 0.0, "{o:?}");
}

#[test]
fn mish_f64_mpfr() {
    let xs = sample_f64(1_000_000, -1080, 10, 800.0, 70);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::mish(x, o).unwrap(),
        mish_mp,
        |x| x.is_infinite(),
    );
    assert_within("mish f64", &w, budgets::budget("mish", "f64").unwrap());
}

#[test]
fn mish_derivative_f64_mpfr() {
    let b = budgets::budget("mish_derivative", "f64").unwrap();
    let xs = sample_f64(1_000_000, -1080, 10, 800.0, 71);
    let w = measure_f64(
        &xs,
        |x, o| nonlin::mish_derivative(x, o).unwrap(),
        mish_derivative_mp,
        |x| x.is_infinite() || in_hood(x),
    );
    assert_within("mish_derivative f64", &w, b);
    let mut r = Rng::new(72);
    let xs: Vec<f64> = (0..200_000)
        .map(|i| {
            if i % 2 == 0 {
                r.uniform(X1 - HOOD, X1 + HOOD)
            } else {
                X1 + r.uniform(-1e-9, 1e-9)
            }
        })
        .collect();
    let mut d = vec![0.0f64; xs.len()];
    nonlin::mish_derivative(&xs, &mut d).unwrap();
    let eps = libm::ldexp(1.0, -53);
    let (mut worst_abs, mut worst_ulp) = (0.0f64, 0.0f64);
    for (&x, &v) in xs.iter().zip(&d) {
        let want = mish_derivative_mp(&mp(x));
        let diff = (Mp::with_val(MPFR_PREC, v) - &want).to_f64().abs();
        worst_abs = worst_abs.max(diff / (eps * scale(x)));
        worst_ulp = worst_ulp.max(ulp_f64(v, &want));
    }
    eprintln!(
        "mish_derivative f64 near x1: max |err| = {worst_abs:.3} ε·S (bound 2), max {worst_ulp:.3} ULP"
    );
    assert!(worst_abs <= 2.0);
}

#[test]
fn mish_tails_and_specials() {
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
    nonlin::mish(&x, &mut y).unwrap();
    assert_eq!(y[0].to_bits(), (-0.0f32).to_bits(), "mish(-inf) = -0");
    assert_eq!(y[1], f32::INFINITY);
    assert!(y[2].is_nan());
    assert_eq!(y[3].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[4].to_bits(), 0);
    assert_eq!(y[5], f32::MAX);
    assert_eq!(y[6], 0.0);
    let mut d = [0.0f32; 7];
    nonlin::mish_derivative(&x, &mut d).unwrap();
    assert_eq!(d[0], 0.0);
    assert_eq!(d[1], 1.0);
    assert!(d[2].is_nan());
    assert!((d[3] - 0.6).abs() <= f32::EPSILON);
    assert_eq!(d[5], 1.0);
    assert_eq!(d[6], 0.0);
    for xi in [-88.0f32, -90.0, -95.0, -100.0, -104.0, -106.0] {
        let mut o = [0.0f32];
        nonlin::mish(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0, "mish({xi}) = {}", o[0]);
        assert!(ulp_f32(o[0], mish_ref(xi as f64)) <= 4.0, "mish({xi})");
        nonlin::mish_derivative(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0, "mish'({xi}) = {}", o[0]);
        assert!(ulp_f32(o[0], mish_derivative_ref(xi as f64)) <= 4.0);
    }
    for xi in [-700.0f64, -730.0, -745.0, -750.0] {
        let mut o = [0.0f64];
        nonlin::mish(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0 && ulp_f64(o[0], &mish_mp(&mp(xi))) <= 4.0);
        nonlin::mish_derivative(&[xi], &mut o).unwrap();
        assert!(o[0] < 0.0 && ulp_f64(o[0], &mish_derivative_mp(&mp(xi))) <= 4.0);
    }
    let mut o = [0.0f64; 3];
    nonlin::mish(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN], &mut o).unwrap();
    assert_eq!(o[0], f64::INFINITY);
    assert_eq!(o[1].to_bits(), (-0.0f64).to_bits());
    assert!(o[2].is_nan());
    nonlin::mish_derivative(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN], &mut o).unwrap();
    assert_eq!(&o[..2], &[1.0, 0.0]);
    assert!(o[2].is_nan());
}

#[test]
fn mish_invariants() {
    let grid: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 / 100.0).collect();
    let mut y = vec![0.0f32; grid.len()];
    nonlin::mish(&grid, &mut y).unwrap();
    let mut d = vec![0.0f32; grid.len()];
    nonlin::mish_derivative(&grid, &mut d).unwrap();
    for (i, (&x, &s)) in grid.iter().zip(&y).enumerate() {
        assert!(s >= x.min(0.0) && s <= x.max(0.0), "mish({x}) = {s}");
        assert!(
            s >= -0.30884343,
            "mish is bounded below by mish(x1) = -0.3088434"
        );
        if i > 0 {
            let prev = y[i - 1];
            if (x as f64) <= X1 {
                assert!(s <= prev, "mish must decrease below x1 at {x}");
            } else if (grid[i - 1] as f64) >= X1 {
                assert!(s >= prev, "mish must increase above x1 at {x}");
            }
        }
        if (x as f64) < X1 {
            assert!(d[i] <= 0.0, "mish'({x}) = {}", d[i]);
        } else {
            assert!(d[i] >= 0.0, "mish'({x}) = {}", d[i]);
        }
    }
}

#[test]
fn mish_derivative_matches_central_difference() {
    for i in -400..400 {
        let x = i as f64 * 0.05;
        let mut d = [0.0f64];
        nonlin::mish_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::mish, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-8, max_relative = 1e-6);
    }
}

#[test]
fn mish_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 12.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::mish_backward(&x, &g, &mut gi).unwrap();
    nonlin::mish_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    let x: Vec<f64> = (0..37).map(|i| i as f64 * 0.7 - 12.0).collect();
    let g: Vec<f64> = (0..37).map(|i| 1.0 - i as f64 * 0.125).collect();
    let mut gi = vec![0.0f64; 37];
    let mut d = vec![0.0f64; 37];
    nonlin::mish_backward(&x, &g, &mut gi).unwrap();
    nonlin::mish_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
}

#[test]
fn mish_position_independence() {
    check_position_independence_f32("mish", |x, o| nonlin::mish(x, o).unwrap());
    check_position_independence_f64("mish", |x, o| nonlin::mish(x, o).unwrap());
    check_position_independence_f32("mish_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::mish_inplace(o)
    });
    check_position_independence_f64("mish_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::mish_inplace(o)
    });
    check_position_independence_f32("mish_derivative", |x, o| {
        nonlin::mish_derivative(x, o).unwrap()
    });
    check_position_independence_f64("mish_derivative", |x, o| {
        nonlin::mish_derivative(x, o).unwrap()
    });
    check_position_independence_f32("mish_backward", |x, o| {
        let g: Vec<f32> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::mish_backward(x, &g, o).unwrap()
    });
    check_position_independence_f64("mish_backward", |x, o| {
        let g: Vec<f64> = x.iter().map(|&v| 0.5 - v).collect();
        nonlin::mish_backward(x, &g, o).unwrap()
    });
}

#[test]
fn mish_errors() {
    let mut out = [7.0f32; 3];
    let e = nonlin::mish(&[1.0f32; 3], &mut out[..2]).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    assert_eq!(out, [7.0; 3]);
    let e = nonlin::mish_derivative(&[1.0f64; 3], &mut [0.0; 4]).unwrap_err();
    assert!(e.to_string().contains("`out`"));
    let e = nonlin::mish_backward(&[1.0f64; 3], &[1.0; 2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::mish_backward(&[1.0f64; 3], &[1.0; 3], &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
}
