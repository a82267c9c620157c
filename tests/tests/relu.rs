//! The ReLU family (relu, relu6, leaky_relu, hardtanh, prelu): exactness against the formula
//! evaluated exactly, kinks (PyTorch conventions), signed zeros, special values, invariants,
//! backward passes, the PReLU slope gradient, position independence, errors.

use nonlin_tests::*;

fn b(name: &str, dtype: &str) -> f64 {
    budgets::budget(name, dtype).unwrap()
}

/// The same bits, or both NaN.
fn same32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}
fn same64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn inputs_f32() -> Vec<f32> {
    let mut v = sweep_f32(509);
    v.extend(range_f32(-8.0, 8.0, 1021));
    v.extend([
        0.0, -0.0, 6.0, -6.0, 1.0, -1.0, 0.5, -0.5, 6.000001, 5.999999,
    ]);
    v
}

fn inputs_f64() -> Vec<f64> {
    let mut v = sample_f64(1_000_000, -1080, 1030, 10.0, 21);
    v.extend([0.0, -0.0, 6.0, -6.0, 1.0, -1.0, 0.5, -0.5]);
    v
}

/// Asserts that an f32 kernel equals `reference` bit for bit (NaN for NaN), measures it
/// against the exact value `exact` (an f64 holding the exact result) and holds it to its
/// budget.
fn check_f32(
    name: &str,
    xs: &[f32],
    kernel: impl Fn(&[f32], &mut [f32]),
    reference: impl Fn(f32) -> f32,
    exact: impl Fn(f64) -> f64 + Sync,
) {
    let mut out = vec![0.0f32; xs.len()];
    kernel(xs, &mut out);
    for (&x, &y) in xs.iter().zip(&out) {
        assert!(
            same32(y, reference(x)),
            "{name}({x:e}) = {y:e}, want {:e}",
            reference(x)
        );
    }
    let w = measure_f32(xs, kernel, exact, |_| false);
    assert_within(&format!("{name} f32"), &w, b(name, "f32"));
}

fn check_f64(
    name: &str,
    xs: &[f64],
    kernel: impl Fn(&[f64], &mut [f64]),
    reference: impl Fn(f64) -> f64 + Sync,
) {
    let mut out = vec![0.0f64; xs.len()];
    kernel(xs, &mut out);
    for (&x, &y) in xs.iter().zip(&out) {
        assert!(
            same64(y, reference(x)),
            "{name}({x:e}) = {y:e}, want {:e}",
            reference(x)
        );
    }
    eprintln!("{name} f64: exact (0 ULP) on {} inputs", xs.len());
}

// ---- exactness ----

fn relu_ref(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}
fn hardtanh_ref(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}
fn step(x: f64, inside: bool) -> f64 {
    if x.is_nan() {
        x
    } else if inside {
        1.0
    } else {
        0.0
    }
}

#[test]
fn relu_relu6_hardtanh_exact_f32() {
    let xs = inputs_f32();
    check_f32(
        "relu",
        &xs,
        |x, o| nonlin::relu(x, o).unwrap(),
        relu_ref,
        |x| if x < 0.0 { 0.0 } else { x },
    );
    check_f32(
        "relu_derivative",
        &xs,
        |x, o| nonlin::relu_derivative(x, o).unwrap(),
        |x| step(x as f64, x > 0.0) as f32,
        |x| step(x, x > 0.0),
    );
    check_f32(
        "relu6",
        &xs,
        |x, o| nonlin::relu6(x, o).unwrap(),
        |x| hardtanh_ref(x as f64, 0.0, 6.0) as f32,
        |x| hardtanh_ref(x, 0.0, 6.0),
    );
    check_f32(
        "relu6_derivative",
        &xs,
        |x, o| nonlin::relu6_derivative(x, o).unwrap(),
        |x| step(x as f64, x > 0.0 && x < 6.0) as f32,
        |x| step(x, x > 0.0 && x < 6.0),
    );
    for (lo, hi) in [(-1.0f32, 1.0f32), (-0.25, 3.5), (2.0, 2.0), (-1e30, -1e-30)] {
        let (l, h) = (lo as f64, hi as f64);
        check_f32(
            "hardtanh",
            &xs,
            |x, o| nonlin::hardtanh(x, lo, hi, o).unwrap(),
            |x| hardtanh_ref(x as f64, l, h) as f32,
            |x| hardtanh_ref(x, l, h),
        );
        check_f32(
            "hardtanh_derivative",
            &xs,
            |x, o| nonlin::hardtanh_derivative(x, lo, hi, o).unwrap(),
            |x| step(x as f64, x > lo && x < hi) as f32,
            |x| step(x, x > l && x < h),
        );
    }
}

#[test]
fn relu_relu6_hardtanh_exact_f64() {
    let xs = inputs_f64();
    check_f64(
        "relu",
        &xs,
        |x, o| nonlin::relu(x, o).unwrap(),
        |x| {
            if x < 0.0 { 0.0 } else { x }
        },
    );
    check_f64(
        "relu_derivative",
        &xs,
        |x, o| nonlin::relu_derivative(x, o).unwrap(),
        |x| step(x, x > 0.0),
    );
    check_f64(
        "relu6",
        &xs,
        |x, o| nonlin::relu6(x, o).unwrap(),
        |x| hardtanh_ref(x, 0.0, 6.0),
    );
    check_f64(
        "relu6_derivative",
        &xs,
        |x, o| nonlin::relu6_derivative(x, o).unwrap(),
        |x| step(x, x > 0.0 && x < 6.0),
    );
    check_f64(
        "hardtanh",
        &xs,
        |x, o| nonlin::hardtanh(x, -0.5, 2.0, o).unwrap(),
        |x| hardtanh_ref(x, -0.5, 2.0),
    );
    check_f64(
        "hardtanh_derivative",
        &xs,
        |x, o| nonlin::hardtanh_derivative(x, -0.5, 2.0, o).unwrap(),
        |x| step(x, x > -0.5 && x < 2.0),
    );
}

fn leaky_ref64(x: f64, s: f64) -> f64 {
    if x.is_nan() || x > 0.0 {
        x
    } else {
        let r = x * s;
        if r.is_nan() { 0.0 } else { r }
    }
}

#[test]
fn leaky_relu_correctly_rounded() {
    // f32: x * slope is exact in f64, so rounding it to f32 is the correctly rounded result.
    let xs = inputs_f32();
    for slope in [0.01f32, 0.2, 1.0 / 3.0, -0.5, 0.0, 3.0, 1e-30] {
        let s = slope as f64;
        check_f32(
            "leaky_relu",
            &xs,
            |x, o| nonlin::leaky_relu(x, slope, o).unwrap(),
            |x| leaky_ref64(x as f64, s) as f32,
            |x| leaky_ref64(x, s),
        );
        check_f32(
            "leaky_relu_derivative",
            &xs,
            |x, o| nonlin::leaky_relu_derivative(x, slope, o).unwrap(),
            |x| {
                if x.is_nan() {
                    x
                } else if x > 0.0 {
                    1.0
                } else {
                    slope
                }
            },
            |x| {
                if x.is_nan() {
                    x
                } else if x > 0.0 {
                    1.0
                } else {
                    s
                }
            },
        );
    }
    // f64 against MPFR: the kernel's product must be the correctly rounded one.
    let xs = inputs_f64();
    let slope = 0.01f64;
    let w = measure_f64(
        &xs,
        |x, o| nonlin::leaky_relu(x, slope, o).unwrap(),
        |x| {
            if *x > 0 { x.clone() } else { mp(slope) * x }
        },
        |x| x.is_nan(),
    );
    assert!(w.ulp <= 0.5, "leaky_relu f64 not correctly rounded: {w:?}");
    assert_within("leaky_relu f64", &w, b("leaky_relu", "f64"));
    check_f64(
        "leaky_relu_derivative",
        &xs,
        |x, o| nonlin::leaky_relu_derivative(x, slope, o).unwrap(),
        |x| {
            if x.is_nan() {
                x
            } else if x > 0.0 {
                1.0
            } else {
                slope
            }
        },
    );
}

// ---- prelu ----

fn slopes_for(c: usize) -> Vec<f32> {
    (0..c)
        .map(|i| 0.01 + 0.37 * i as f32 - 0.05 * (i * i % 7) as f32)
        .collect()
}

fn data_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|i| match i % 17 {
            0 => 0.0,
            1 => -0.0,
            2 => -1e-40,
            _ => r.uniform(-50.0, 50.0) as f32,
        })
        .collect()
}

#[test]
fn prelu_matches_leaky_relu_per_channel() {
    for c in [1usize, 2, 3, 5, 8, 13, 33, 64, 129, 200, 300] {
        let slopes = slopes_for(c);
        for rows in [0usize, 1, 2, 7, 40] {
            let x = data_f32(rows * c, c as u64 + rows as u64);
            let mut y = vec![0.0f32; x.len()];
            let mut d = vec![0.0f32; x.len()];
            nonlin::prelu(&x, &slopes, &mut y).unwrap();
            nonlin::prelu_derivative(&x, &slopes, &mut d).unwrap();
            let mut yi = x.clone();
            nonlin::prelu_inplace(&mut yi, &slopes).unwrap();
            for (i, &xi) in x.iter().enumerate() {
                let s = slopes[i % c];
                let want = leaky_ref64(xi as f64, s as f64) as f32;
                assert!(same32(y[i], want), "prelu C={c} i={i}: {} vs {want}", y[i]);
                assert!(same32(yi[i], want), "prelu_inplace C={c} i={i}");
                let dw = if xi > 0.0 { 1.0 } else { s };
                assert!(same32(d[i], dw), "prelu_derivative C={c} i={i}");
            }
        }
    }
    // Budgets (exact: 0 ULP measured) on a sweep, channel count 3.
    let slopes = [0.25f32, -0.1, 0.01];
    let mut xs = sweep_f32(509);
    xs.truncate(xs.len() / 3 * 3);
    let mut out = vec![0.0f32; xs.len()];
    nonlin::prelu(&xs, &slopes, &mut out).unwrap();
    let mut worst = Worst::default();
    let mut dworst = Worst::default();
    let mut d = vec![0.0f32; xs.len()];
    nonlin::prelu_derivative(&xs, &slopes, &mut d).unwrap();
    for (i, (&x, &y)) in xs.iter().zip(&out).enumerate() {
        let s = slopes[i % 3] as f64;
        let want = leaky_ref64(x as f64, s);
        worst.see(ulp_f32(y, want), x as f64, y as f64, want);
        let dw = if x.is_nan() {
            f64::NAN
        } else if x > 0.0 {
            1.0
        } else {
            s
        };
        dworst.see(ulp_f32(d[i], dw), x as f64, d[i] as f64, dw);
    }
    assert_within("prelu f32", &worst, b("prelu", "f32"));
    assert_within(
        "prelu_derivative f32",
        &dworst,
        b("prelu_derivative", "f32"),
    );
    // f64 against MPFR products.
    let xs = sample_f64(999_999, -1080, 1030, 10.0, 5);
    let slopes = [0.25f64, -0.1, 0.013];
    let mut out = vec![0.0f64; xs.len()];
    nonlin::prelu(&xs, &slopes, &mut out).unwrap();
    let mut worst = Worst::default();
    for (i, (&x, &y)) in xs.iter().zip(&out).enumerate() {
        let want = if x.is_nan() || x > 0.0 {
            mp(x)
        } else {
            mp(x) * slopes[i % 3]
        };
        worst.see(ulp_f64(y, &want), x, y, want.to_f64());
    }
    assert_within("prelu f64", &worst, b("prelu", "f64"));
}

/// Exact sum of exact products in MPFR (enough bits for any f32/f64 product sum here).
fn exact_slope_grad(x: &[f64], g: &[f64], c: usize) -> Vec<rug::Float> {
    let mut acc = vec![rug::Float::with_val(4096, 0); c];
    for (i, (&xi, &gi)) in x.iter().zip(g).enumerate() {
        if xi > 0.0 || gi == 0.0 {
            continue;
        }
        let p = rug::Float::with_val(4096, xi) * gi;
        acc[i % c] += p;
    }
    acc
}

#[test]
fn prelu_backward_and_slope_gradient() {
    for c in [1usize, 3, 8, 13, 64, 200] {
        let rows = 997;
        let slopes = slopes_for(c);
        let x = data_f32(rows * c, 77 + c as u64);
        let mut r = Rng::new(c as u64);
        let g: Vec<f32> = (0..x.len())
            .map(|_| r.uniform(-3.0, 3.0) as f32 * 10f32.powi((r.next_u64() % 9) as i32 - 4))
            .collect();
        let mut gi = vec![0.0f32; x.len()];
        let mut gs = vec![0.0f32; c];
        nonlin::prelu_backward(&x, &g, &slopes, &mut gi, &mut gs).unwrap();
        let mut d = vec![0.0f32; x.len()];
        nonlin::prelu_derivative(&x, &slopes, &mut d).unwrap();
        for i in 0..x.len() {
            assert!(same32(gi[i], g[i] * d[i]), "grad_in C={c} i={i}");
        }
        // Slope gradient against the exact sum (f32 products are exact in f64).
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let g64: Vec<f64> = g.iter().map(|&v| v as f64).collect();
        let exact = exact_slope_grad(&x64, &g64, c);
        let mut w = Worst::default();
        for (ch, e) in exact.iter().enumerate() {
            let e64 = e.to_f64();
            w.see(ulp_f32(gs[ch], e64), ch as f64, gs[ch] as f64, e64);
        }
        assert!(w.ulp <= 1.0, "prelu slope gradient f32 C={c}: {w:?}");
        eprintln!(
            "prelu slope gradient f32 C={c}: max {:.3} ULP vs exact sum",
            w.ulp
        );
        // Same bits when the data sit at another offset in memory.
        let mut xo = vec![0.0f32; 3];
        xo.extend(&x);
        let mut go = vec![0.0f32; 3];
        go.extend(&g);
        let mut gi2 = vec![0.0f32; x.len()];
        let mut gs2 = vec![0.0f32; c];
        nonlin::prelu_backward(&xo[3..], &go[3..], &slopes, &mut gi2, &mut gs2).unwrap();
        assert_eq!(
            gs.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            gs2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
    // f64: the products are not exact in f64; the kernel's error-free products and
    // double-f64 accumulation keep the sum within 1 ULP of the exact one, also with heavy
    // cancellation between rows.
    for c in [1usize, 5, 64] {
        let rows = 2001;
        let slopes: Vec<f64> = slopes_for(c).iter().map(|&s| s as f64).collect();
        let mut r = Rng::new(99 + c as u64);
        let x: Vec<f64> = (0..rows * c).map(|_| -r.uniform(0.0, 1.0)).collect();
        let g: Vec<f64> = (0..rows * c)
            .map(|i| {
                let v = r.uniform(0.5, 2.0) * 1e8;
                if i / c % 2 == 0 { v } else { -v }
            })
            .collect();
        let mut gi = vec![0.0f64; x.len()];
        let mut gs = vec![0.0f64; c];
        nonlin::prelu_backward(&x, &g, &slopes, &mut gi, &mut gs).unwrap();
        let exact = exact_slope_grad(&x, &g, c);
        let mut w = Worst::default();
        for (ch, e) in exact.iter().enumerate() {
            let e = rug::Float::with_val(MPFR_PREC, e);
            w.see(ulp_f64(gs[ch], &e), ch as f64, gs[ch], e.to_f64());
        }
        assert!(w.ulp <= 1.0, "prelu slope gradient f64 C={c}: {w:?}");
        eprintln!(
            "prelu slope gradient f64 C={c}: max {:.3} ULP vs exact sum",
            w.ulp
        );
    }
    // NaN in x propagates to its channel's slope gradient; a zero gradient against -inf
    // contributes nothing.
    let x = [f32::NAN, -1.0, f32::NEG_INFINITY, -2.0];
    let g = [1.0f32, 1.0, 0.0, 1.0];
    let mut gi = [0.0f32; 4];
    let mut gs = [0.0f32; 2];
    nonlin::prelu_backward(&x, &g, &[0.5, 0.5], &mut gi, &mut gs).unwrap();
    assert!(gs[0].is_nan());
    assert_eq!(gs[1], -3.0);
    assert!(gi[0].is_nan());
    assert_eq!(gi[2], 0.0);
}

// ---- specials, kinks, invariants ----

#[test]
fn relu_family_specials_and_kinks() {
    let x = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        6.0,
        -f32::from_bits(1),
        f32::from_bits(1),
    ];
    let mut y = [0.0f32; 8];
    nonlin::relu(&x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2].to_bits(), 0.0f32.to_bits());
    assert_eq!(
        y[4].to_bits(),
        (-0.0f32).to_bits(),
        "relu(-0.0) = -0.0 (PyTorch CPU)"
    );
    assert_eq!(y[6].to_bits(), 0.0f32.to_bits());
    assert_eq!(y[7], f32::from_bits(1));
    // NaN payload kept.
    let payload = f32::from_bits(0x7fc0_1234);
    let mut p = [0.0f32];
    nonlin::relu(&[payload], &mut p).unwrap();
    assert_eq!(p[0].to_bits(), payload.to_bits());

    let mut d = [9.0f32; 8];
    nonlin::relu_derivative(&x, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(
        &d[1..],
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0],
        "relu'(0) = 0"
    );

    nonlin::relu6(&x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..4], &[6.0, 0.0, 0.0]);
    assert_eq!(y[4].to_bits(), (-0.0f32).to_bits());
    nonlin::relu6_derivative(&x, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(
        &d[1..6],
        &[0.0, 0.0, 0.0, 0.0, 0.0],
        "relu6'(0) = relu6'(6) = 0"
    );

    nonlin::leaky_relu(&x, 0.01, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2], f32::NEG_INFINITY);
    assert_eq!(y[4].to_bits(), (-0.0f32).to_bits());
    nonlin::leaky_relu(&x, 0.0, &mut y).unwrap();
    assert_eq!(y[2], 0.0, "leaky_relu(-inf, slope 0) = 0 (limit)");
    nonlin::leaky_relu(&x, -2.0, &mut y).unwrap();
    assert_eq!(y[2], f32::INFINITY);
    nonlin::leaky_relu_derivative(&x, 0.01, &mut d).unwrap();
    assert!(d[0].is_nan());
    assert_eq!(d[3], 0.01, "leaky_relu'(0) = slope");
    assert_eq!(d[4], 0.01);
    assert_eq!(
        nonlin::LEAKY_RELU_DEFAULT_SLOPE,
        0.01,
        "PyTorch's default negative_slope"
    );

    nonlin::hardtanh(&x, -1.0, 1.0, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..4], &[1.0, -1.0, 0.0]);
    nonlin::hardtanh_derivative(&[-1.0f32, 1.0, -0.999, f32::NAN], -1.0, 1.0, &mut d[..4]).unwrap();
    assert_eq!(&d[..3], &[0.0, 0.0, 1.0]);
    assert!(d[3].is_nan());

    let mut z = [0.0f32; 2];
    nonlin::prelu_derivative(&[0.0f32, -0.0], &[0.3], &mut z).unwrap();
    assert_eq!(z, [0.3, 0.3], "prelu'(0) = slope");
}

#[test]
fn relu_family_invariants() {
    let xs = range_f32(-100.0, 100.0, 4099);
    let mut y = vec![0.0f32; xs.len()];
    for k in 0..4 {
        match k {
            0 => nonlin::relu(&xs, &mut y).unwrap(),
            1 => nonlin::relu6(&xs, &mut y).unwrap(),
            2 => nonlin::leaky_relu(&xs, 0.01, &mut y).unwrap(),
            _ => nonlin::hardtanh(&xs, -2.0, 3.0, &mut y).unwrap(),
        }
        for w in y.windows(2) {
            assert!(w[0] <= w[1], "kernel {k} must be monotone");
        }
    }
    nonlin::relu6(&xs, &mut y).unwrap();
    assert!(y.iter().all(|&v| (0.0..=6.0).contains(&v)));
    // Idempotence: relu(relu(x)) = relu(x).
    let mut z = y.clone();
    nonlin::relu(&xs, &mut y).unwrap();
    nonlin::relu(&y, &mut z).unwrap();
    assert_eq!(y, z);
}

#[test]
fn relu_family_derivatives_match_central_difference() {
    for i in -200..200 {
        let x = i as f64 * 0.05 + 0.0125; // never on a kink
        let cases: [(&dyn Fn(f64) -> f64, f64); 3] = [
            (&|t| nonlin::scalar::leaky_relu(t, 0.2), {
                let mut d = [0.0];
                nonlin::leaky_relu_derivative(&[x], 0.2, &mut d).unwrap();
                d[0]
            }),
            (&nonlin::scalar::relu6, {
                let mut d = [0.0];
                nonlin::relu6_derivative(&[x], &mut d).unwrap();
                d[0]
            }),
            (&|t| nonlin::scalar::hardtanh(t, -1.5, 2.5), {
                let mut d = [0.0];
                nonlin::hardtanh_derivative(&[x], -1.5, 2.5, &mut d).unwrap();
                d[0]
            }),
        ];
        for (f, d) in cases {
            let fd = central_difference(f, x);
            approx::assert_relative_eq!(d, fd, epsilon = 1e-9, max_relative = 1e-6);
        }
    }
}

#[test]
fn relu_family_backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..41).map(|i| i as f32 * 0.5 - 10.0).collect();
    let g: Vec<f32> = (0..41).map(|i| 1.0 + i as f32 * 0.3).collect();
    let mut gi = vec![0.0f32; 41];
    let mut d = vec![0.0f32; 41];
    nonlin::relu_backward(&x, &g, &mut gi).unwrap();
    nonlin::relu_derivative(&x, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g[i] * d[i]));
    nonlin::relu6_backward(&x, &g, &mut gi).unwrap();
    nonlin::relu6_derivative(&x, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g[i] * d[i]));
    nonlin::leaky_relu_backward(&x, &g, 0.01, &mut gi).unwrap();
    nonlin::leaky_relu_derivative(&x, 0.01, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g[i] * d[i]));
    nonlin::hardtanh_backward(&x, &g, -1.0, 2.0, &mut gi).unwrap();
    nonlin::hardtanh_derivative(&x, -1.0, 2.0, &mut d).unwrap();
    assert!((0..41).all(|i| gi[i] == g[i] * d[i]));
}

macro_rules! position_independence {
    ($check:ident, $t:ty) => {{
        $check("relu", |x, o| nonlin::relu(x, o).unwrap());
        $check("relu_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::relu_inplace(o)
        });
        $check("relu_derivative", |x, o| {
            nonlin::relu_derivative(x, o).unwrap()
        });
        $check("relu_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::relu_backward(x, &g, o).unwrap()
        });
        $check("relu6", |x, o| nonlin::relu6(x, o).unwrap());
        $check("relu6_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::relu6_inplace(o)
        });
        $check("relu6_derivative", |x, o| {
            nonlin::relu6_derivative(x, o).unwrap()
        });
        $check("relu6_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::relu6_backward(x, &g, o).unwrap()
        });
        $check("leaky_relu", |x, o| {
            nonlin::leaky_relu(x, 0.01 as $t, o).unwrap()
        });
        $check("leaky_relu_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::leaky_relu_inplace(o, 0.01 as $t).unwrap()
        });
        $check("leaky_relu_derivative", |x, o| {
            nonlin::leaky_relu_derivative(x, 0.01 as $t, o).unwrap()
        });
        $check("leaky_relu_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::leaky_relu_backward(x, &g, 0.01 as $t, o).unwrap()
        });
        $check("hardtanh", |x, o| {
            nonlin::hardtanh(x, -2.0 as $t, 3.0 as $t, o).unwrap()
        });
        $check("hardtanh_inplace", |x, o| {
            o.copy_from_slice(x);
            nonlin::hardtanh_inplace(o, -2.0 as $t, 3.0 as $t).unwrap()
        });
        $check("hardtanh_derivative", |x, o| {
            nonlin::hardtanh_derivative(x, -2.0 as $t, 3.0 as $t, o).unwrap()
        });
        $check("hardtanh_backward", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            nonlin::hardtanh_backward(x, &g, -2.0 as $t, 3.0 as $t, o).unwrap()
        });
        // prelu with one channel fits the harness (any length).
        $check("prelu C=1", |x, o| {
            nonlin::prelu(x, &[0.3 as $t], o).unwrap()
        });
        $check("prelu_inplace C=1", |x, o| {
            o.copy_from_slice(x);
            nonlin::prelu_inplace(o, &[0.3 as $t]).unwrap()
        });
        $check("prelu_derivative C=1", |x, o| {
            nonlin::prelu_derivative(x, &[0.3 as $t], o).unwrap()
        });
        $check("prelu_backward C=1", |x, o| {
            let g = vec![1.5 as $t; x.len()];
            let mut gs = [0.0 as $t];
            nonlin::prelu_backward(x, &g, &[0.3 as $t], o, &mut gs).unwrap()
        });
    }};
}

#[test]
fn relu_family_position_independence() {
    position_independence!(check_position_independence_f32, f32);
    position_independence!(check_position_independence_f64, f64);
}

/// prelu with several channel counts: for every row count and start offset, each element
/// equals a one-element call with its channel's slope, bit for bit (forward, in place,
/// derivative, backward).
fn prelu_position_check<T: nonlin::Float>(pool: &[T], grad: T) {
    for c in [1usize, 2, 3, 5, 8, 13, 64, 129, 300] {
        let slopes: Vec<T> = (0..c)
            .map(|i| T::from_f64(0.01 + 0.11 * i as f64))
            .collect();
        for rows in [0usize, 1, 2, 3, 5] {
            for off in [0usize, 1, 3, 7] {
                let Some(x) = pool.get(off..off + rows * c) else {
                    continue;
                };
                let n = x.len();
                let mut y = vec![T::ZERO; n];
                let mut d = vec![T::ZERO; n];
                let mut gi = vec![T::ZERO; n];
                let mut gs = vec![T::ZERO; c];
                let mut yi = x.to_vec();
                let g = vec![grad; n];
                nonlin::prelu(x, &slopes, &mut y).unwrap();
                nonlin::prelu_inplace(&mut yi, &slopes).unwrap();
                nonlin::prelu_derivative(x, &slopes, &mut d).unwrap();
                nonlin::prelu_backward(x, &g, &slopes, &mut gi, &mut gs).unwrap();
                for i in 0..n {
                    let s = [slopes[i % c]];
                    let (mut y1, mut d1, mut g1, mut gs1) =
                        ([T::ZERO], [T::ZERO], [T::ZERO], [T::ZERO]);
                    nonlin::prelu(&x[i..i + 1], &s, &mut y1).unwrap();
                    nonlin::prelu_derivative(&x[i..i + 1], &s, &mut d1).unwrap();
                    nonlin::prelu_backward(&x[i..i + 1], &[grad], &s, &mut g1, &mut gs1).unwrap();
                    let ctx = format!("prelu {} C={c} rows={rows} off={off} i={i}", T::NAME);
                    assert!(y[i] == y1[0] || (y[i].is_nan() && y1[0].is_nan()), "{ctx}");
                    assert!(
                        yi[i] == y1[0] || (yi[i].is_nan() && y1[0].is_nan()),
                        "{ctx}"
                    );
                    assert!(d[i] == d1[0], "{ctx}");
                    assert!(gi[i] == g1[0], "{ctx}");
                }
            }
        }
    }
}

#[test]
fn prelu_position_independence_many_channels() {
    let mut r = Rng::new(5);
    let pool32: Vec<f32> = (0..1600).map(|_| r.uniform(-12.0, 12.0) as f32).collect();
    let pool64: Vec<f64> = (0..1600).map(|_| r.uniform(-12.0, 12.0)).collect();
    prelu_position_check(&pool32, 1.5f32);
    prelu_position_check(&pool64, 1.5f64);
}

#[test]
fn relu_family_errors() {
    let mut out = [7.0f32; 3];
    let e = nonlin::leaky_relu(&[1.0f32; 3], f32::NAN, &mut out).unwrap_err();
    assert!(matches!(
        e,
        nonlin::Error::InvalidParameter { name: "slope", .. }
    ));
    assert!(e.to_string().contains("`slope`"), "{e}");
    assert!(nonlin::leaky_relu_inplace(&mut out, f32::INFINITY).is_err());
    assert!(nonlin::leaky_relu_derivative(&[1.0f32; 3], f32::NAN, &mut out).is_err());
    assert!(nonlin::leaky_relu_backward(&[1.0f32; 3], &[1.0; 3], f32::NAN, &mut out).is_err());
    assert_eq!(out, [7.0; 3], "nothing written on error");

    let e = nonlin::hardtanh(&[1.0f32; 3], 2.0, 1.0, &mut out).unwrap_err();
    assert!(matches!(
        e,
        nonlin::Error::InvalidParameter {
            name: "max_val",
            ..
        }
    ));
    assert!(e.to_string().contains("`max_val` = 1"), "{e}");
    let e = nonlin::hardtanh(&[1.0f32; 3], f32::NAN, 1.0, &mut out).unwrap_err();
    assert!(e.to_string().contains("`min_val`"), "{e}");
    let e = nonlin::hardtanh_inplace(&mut out, 0.0, f32::INFINITY).unwrap_err();
    assert!(e.to_string().contains("`max_val`"), "{e}");
    assert!(nonlin::hardtanh_derivative(&[1.0f32; 3], 1.0, -1.0, &mut out).is_err());
    assert!(nonlin::hardtanh_backward(&[1.0f32; 3], &[1.0; 3], 1.0, -1.0, &mut out).is_err());
    assert_eq!(out, [7.0; 3]);

    let e = nonlin::prelu(&[1.0f32; 3], &[], &mut out).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::InvalidShape {
            name: "slopes",
            value: 0,
            len: 3
        }
    );
    let e = nonlin::prelu(&[1.0f32; 3], &[0.1, 0.2], &mut out).unwrap_err();
    assert!(e.to_string().contains("`slopes` = 2"), "{e}");
    assert!(nonlin::prelu_inplace(&mut out, &[0.1, 0.2]).is_err());
    assert!(nonlin::prelu_derivative(&[1.0f32; 3], &[0.1, 0.2], &mut out).is_err());
    let mut gs = [5.0f32; 2];
    assert!(
        nonlin::prelu_backward(&[1.0f32; 3], &[1.0; 3], &[0.1, 0.2], &mut out, &mut gs).is_err()
    );
    assert_eq!(out, [7.0; 3]);
    let e = nonlin::prelu_backward(
        &[1.0f32; 4],
        &[1.0; 4],
        &[0.1, 0.2],
        &mut [0.0; 4],
        &mut gs[..1],
    )
    .unwrap_err();
    assert!(e.to_string().contains("`grad_slopes`"), "{e}");
    let e = nonlin::prelu_backward(&[1.0f32; 4], &[1.0; 3], &[0.1, 0.2], &mut [0.0; 4], &mut gs)
        .unwrap_err();
    assert!(e.to_string().contains("`grad_out`"), "{e}");
    let e = nonlin::prelu_backward(&[1.0f32; 4], &[1.0; 4], &[0.1, 0.2], &mut [0.0; 2], &mut gs)
        .unwrap_err();
    assert!(e.to_string().contains("`grad_in`"), "{e}");
    assert_eq!(gs, [5.0; 2]);
    let e = nonlin::prelu(&[1.0f64; 4], &[0.1, 0.2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("`out`"), "{e}");

    let e = nonlin::relu(&[1.0f32; 3], &mut out[..2]).unwrap_err();
    assert_eq!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 3,
            found: 2
        }
    );
    let e = nonlin::relu6_backward(&[1.0f64; 3], &[1.0; 2], &mut [0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("grad_out"));
    let e = nonlin::relu_backward(&[1.0f64; 3], &[1.0; 3], &mut [0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("grad_in"));
}
