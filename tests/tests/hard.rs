//! hardsigmoid and hardswish with derivatives: within 1 ULP of the formula evaluated exactly
//! (f32 against f64, f64 against MPFR), kinks at ±3 (PyTorch), no overflow for huge inputs,
//! special values, invariants, position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

fn b(name: &str, dtype: &str) -> f64 {
    budgets::budget(name, dtype).unwrap()
}

// ---- exact references ----

fn hardsigmoid_mp(x: &Mp) -> Mp {
    if *x <= -3 {
        mp(0.0)
    } else if *x >= 3 {
        mp(1.0)
    } else {
        Mp::with_val(MPFR_PREC, x + 3u32) / 6u32
    }
}
fn hardswish_mp(x: &Mp) -> Mp {
    if *x <= -3 {
        mp(0.0)
    } else if *x >= 3 {
        x.clone()
    } else {
        Mp::with_val(MPFR_PREC, x + 3u32) * x / 6u32
    }
}
fn hardsigmoid_derivative_mp(x: &Mp) -> Mp {
    if x.is_nan() {
        x.clone()
    } else if *x > -3 && *x < 3 {
        Mp::with_val(MPFR_PREC, 1) / 6u32
    } else {
        mp(0.0)
    }
}
fn hardswish_derivative_mp(x: &Mp) -> Mp {
    if *x < -3 {
        mp(0.0)
    } else if *x > 3 {
        mp(1.0)
    } else {
        (Mp::with_val(MPFR_PREC, x * 2u32) + 3u32) / 6u32
    }
}

/// f64 references for f32 inputs: x + 3 and 2x + 3 are exact in f64 for every f32 x that
/// matters (tiny x lose bits 2^-52 below the result), the product x (x + 3) rounds once at
/// 2^-53: all far below an f32 ULP.
fn hardsigmoid_ref(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x <= -3.0 {
        0.0
    } else if x >= 3.0 {
        1.0
    } else {
        (x + 3.0) / 6.0
    }
}
fn hardswish_ref(x: f64) -> f64 {
    if x.is_nan() || x >= 3.0 {
        x
    } else if x <= -3.0 {
        0.0
    } else {
        x * (x + 3.0) / 6.0
    }
}
fn hardsigmoid_derivative_ref(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x > -3.0 && x < 3.0 {
        1.0 / 6.0
    } else {
        0.0
    }
}
fn hardswish_derivative_ref(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x < -3.0 {
        0.0
    } else if x > 3.0 {
        1.0
    } else {
        (2.0 * x + 3.0) / 6.0
    }
}

fn inputs_f32() -> Vec<Vec<f32>> {
    vec![
        sweep_f32(509),
        // every binade of (-3.5, 3.5), 4.2M values
        range_f32(-3.5, 3.5, 509),
        // every value next to the kinks and next to hardswish's minimum / hardswish''s zero
        range_f32(-3.01, -2.99, 1),
        range_f32(2.99, 3.01, 1),
        range_f32(-1.51, -1.49, 1),
    ]
}

fn measure_all_f32(
    name: &str,
    kernel: impl Fn(&[f32], &mut [f32]) + Copy,
    reference: impl Fn(f64) -> f64 + Copy + Sync,
) {
    let mut worst = Worst::default();
    for xs in inputs_f32() {
        let w = measure_f32(&xs, kernel, reference, |_| false);
        if w.ulp > worst.ulp {
            worst = w;
        }
    }
    assert_within(&format!("{name} f32"), &worst, b(name, "f32"));
}

#[test]
fn hardsigmoid_f32() {
    measure_all_f32(
        "hardsigmoid",
        |x, o| nonlin::hardsigmoid(x, o).unwrap(),
        hardsigmoid_ref,
    );
    measure_all_f32(
        "hardsigmoid_derivative",
        |x, o| nonlin::hardsigmoid_derivative(x, o).unwrap(),
        hardsigmoid_derivative_ref,
    );
}

#[test]
fn hardswish_f32() {
    measure_all_f32(
        "hardswish",
        |x, o| nonlin::hardswish(x, o).unwrap(),
        hardswish_ref,
    );
    measure_all_f32(
        "hardswish_derivative",
        |x, o| nonlin::hardswish_derivative(x, o).unwrap(),
        hardswish_derivative_ref,
    );
}

fn f64_inputs(seed: u64) -> Vec<f64> {
    // log-uniform over every binade up to 2^3, uniform over (-3.5, 3.5)
    sample_f64(1_000_000, -1080, 3, 3.5, seed)
}

#[test]
fn hardsigmoid_f64_mpfr() {
    let w = measure_f64(
        &f64_inputs(1),
        |x, o| nonlin::hardsigmoid(x, o).unwrap(),
        hardsigmoid_mp,
        |_| false,
    );
    assert_within("hardsigmoid f64", &w, b("hardsigmoid", "f64"));
    let w = measure_f64(
        &f64_inputs(2),
        |x, o| nonlin::hardsigmoid_derivative(x, o).unwrap(),
        hardsigmoid_derivative_mp,
        |_| false,
    );
    assert_within(
        "hardsigmoid_derivative f64",
        &w,
        b("hardsigmoid_derivative", "f64"),
    );
}

#[test]
fn hardswish_f64_mpfr() {
    let w = measure_f64(
        &f64_inputs(3),
        |x, o| nonlin::hardswish(x, o).unwrap(),
        hardswish_mp,
        |_| false,
    );
    assert_within("hardswish f64", &w, b("hardswish", "f64"));
    let w = measure_f64(
        &f64_inputs(4),
        |x, o| nonlin::hardswish_derivative(x, o).unwrap(),
        hardswish_derivative_mp,
        |_| false,
    );
    assert_within(
        "hardswish_derivative f64",
        &w,
        b("hardswish_derivative", "f64"),
    );
}

#[test]
fn hard_specials_and_kinks() {
    let x = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        -3.0,
        3.0,
        f32::from_bits(1),
        -f32::from_bits(3),
        f32::MAX,
        -5.0,
    ];
    let n = x.len();
    let mut y = vec![0.0f32; n];
    nonlin::hardsigmoid(&x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..7], &[1.0, 0.0, 0.5, 0.5, 0.0, 1.0]);
    assert_eq!(y[7], 0.5);
    nonlin::hardswish(&x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2], 0.0, "hardswish(-inf) = 0 (the limit)");
    assert_eq!(y[3].to_bits(), 0.0f32.to_bits());
    assert_eq!(y[4].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[5].to_bits(), (-0.0f32).to_bits(), "-3 * 0 / 6 = -0.0");
    assert_eq!(y[6], 3.0);
    // Subnormals: x (x+3)/6 = x/2 + x^2/6 is computed as x/2 rounded once; at odd multiples
    // of 2^-149 that is a tie (rounded to even), half an ULP plus x^2/6 from the exact value.
    assert!(ulp_f32(y[7], hardswish_ref(x[7] as f64)) <= 1.0);
    assert!(ulp_f32(y[8], hardswish_ref(x[8] as f64)) <= 1.0);
    assert_eq!(y[7], 0.0);
    assert_eq!(y[8], -f32::from_bits(2));
    assert_eq!(y[9], f32::MAX, "no overflow for huge x");
    assert_eq!(y[10].to_bits(), (-0.0f32).to_bits());

    let mut d = vec![0.0f32; n];
    nonlin::hardsigmoid_derivative(&x, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(
        &d[1..7],
        &[0.0, 0.0, 1.0 / 6.0, 1.0 / 6.0, 0.0, 0.0],
        "0 at ±3"
    );
    nonlin::hardswish_derivative(&x, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(
        &d[1..7],
        &[1.0, 0.0, 0.5, 0.5, -0.5, 1.5],
        "closed [-3, 3] (PyTorch)"
    );
    let next_up = f32::from_bits(3.0f32.to_bits() + 1);
    let below = -next_up;
    nonlin::hardswish_derivative(&[next_up, below, -1.5], &mut d[..3]).unwrap();
    assert_eq!(&d[..3], &[1.0, 0.0, 0.0]);
    // f64 huge values: no overflow.
    let mut z = [0.0f64; 3];
    nonlin::hardswish(&[f64::MAX, -f64::MAX, 1e300], &mut z).unwrap();
    assert_eq!(z[0], f64::MAX);
    assert_eq!(z[1], 0.0);
    assert_eq!(z[2], 1e300);
}

#[test]
fn hard_tiny_subnormal_within_budget() {
    let xs: Vec<f32> = (1..2000u32)
        .map(f32::from_bits)
        .chain((1..2000u32).map(|b| -f32::from_bits(b)))
        .collect();
    let w = measure_f32(
        &xs,
        |x, o| nonlin::hardswish(x, o).unwrap(),
        hardswish_ref,
        |_| false,
    );
    assert_within("hardswish f32 subnormal", &w, b("hardswish", "f32"));
}

#[test]
fn hard_invariants() {
    let xs = range_f32(-10.0, 10.0, 2053);
    let mut y = vec![0.0f32; xs.len()];
    nonlin::hardsigmoid(&xs, &mut y).unwrap();
    assert!(y.iter().all(|&v| (0.0..=1.0).contains(&v)));
    for w in y.windows(2) {
        assert!(w[0] <= w[1], "hardsigmoid must be monotone");
    }
    nonlin::hardswish(&xs, &mut y).unwrap();
    assert!(y.iter().all(|&v| v >= -0.375), "hardswish >= -3/8");
    for (w, xw) in y.windows(2).zip(xs.windows(2)) {
        if xw[0] >= -1.5 {
            assert!(w[0] <= w[1], "hardswish increasing on [-1.5, inf)");
        }
    }
    let mut m = [0.0f32];
    nonlin::hardswish(&[-1.5], &mut m).unwrap();
    assert_eq!(m[0], -0.375);
    // hardswish(x) = x * hardsigmoid(x) within the budgets.
    let mut s = vec![0.0f32; xs.len()];
    nonlin::hardsigmoid(&xs, &mut s).unwrap();
    for i in 0..xs.len() {
        let prod = xs[i] as f64 * s[i] as f64;
        assert!(ulp_f32(y[i], prod) <= 2.5, "x = {}", xs[i]);
    }
}

#[test]
fn hard_derivatives_match_central_difference() {
    for i in -160..160 {
        let x = i as f64 * 0.05 + 0.0125; // never on ±3
        let mut d = [0.0f64; 2];
        nonlin::hardsigmoid_derivative(&[x], &mut d[..1]).unwrap();
        nonlin::hardswish_derivative(&[x], &mut d[1..]).unwrap();
        let f = |k: usize, t: f64| {
            let mut o = [0.0f64];
            if k == 0 {
                nonlin::hardsigmoid(&[t], &mut o).unwrap();
            } else {
                nonlin::hardswish(&[t], &mut o).unwrap();
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
fn hard_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..41).map(|i| i as f32 * 0.25 - 5.0).collect();
    let g: Vec<f32> = (0..41).map(|i| 1.0 + i as f32 * 0.3).collect();
    let mut gi = vec![0.0f32; 41];
    let mut d = vec![0.0f32; 41];
    nonlin::hardsigmoid_backward(&x, &g, &mut gi).unwrap();
    nonlin::hardsigmoid_derivative(&x, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g[i] * d[i]));
    nonlin::hardswish_backward(&x, &g, &mut gi).unwrap();
    nonlin::hardswish_derivative(&x, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g[i] * d[i]));
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let g64: Vec<f64> = g.iter().map(|&v| v as f64).collect();
    let mut gi = vec![0.0f64; 41];
    let mut d = vec![0.0f64; 41];
    nonlin::hardswish_backward(&x64, &g64, &mut gi).unwrap();
    nonlin::hardswish_derivative(&x64, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g64[i] * d[i]));
}

macro_rules! position_independence {
    ($check:ident, $t:ty) => {{
        $check("hardsigmoid", |x, o| nonlin::hardsigmoid(x, o).unwrap());
        $check("hardsigmoid_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::hardsigmoid_inplace(o)
        });
        $check("hardsigmoid_derivative", |x, o| {
            nonlin::hardsigmoid_derivative(x, o).unwrap()
        });
        $check("hardsigmoid_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::hardsigmoid_backward(x, &g, o).unwrap()
        });
        $check("hardswish", |x, o| nonlin::hardswish(x, o).unwrap());
        $check("hardswish_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::hardswish_inplace(o)
        });
        $check("hardswish_derivative", |x, o| {
            nonlin::hardswish_derivative(x, o).unwrap()
        });
        $check("hardswish_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::hardswish_backward(x, &g, o).unwrap()
        });
    }};
}

#[test]
fn hard_position_independence() {
    position_independence!(check_position_independence_f32, f32);
    position_independence!(check_position_independence_f64, f64);
}

#[test]
fn hard_errors() {
    let mut out = [7.0f32; 2];
    let e = nonlin::hardsigmoid(&[1.0f32; 3], &mut out).unwrap_err();
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
    assert!(nonlin::hardswish(&[1.0f64; 3], &mut [0.0; 4]).is_err());
    assert!(nonlin::hardsigmoid_derivative(&[1.0f64; 3], &mut [0.0; 4]).is_err());
    assert!(nonlin::hardswish_derivative(&[1.0f32; 3], &mut out).is_err());
    let e = nonlin::hardswish_backward(&[1.0f64; 3], &[1.0; 2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::hardsigmoid_backward(&[1.0f64; 3], &[1.0; 3], &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
}
