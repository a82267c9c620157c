//! mse, l1, huber, smooth_l1: per-term accuracy (f32 against f64, f64 against MPFR),
//! gradients, kinks (PyTorch conventions), special values, reductions, position
//! independence, errors.

use nonlin::loss::{self, Reduction};
use nonlin_tests::*;
use rug::Float as Mp;

// Budgets in ULP per element term (f32, f64); not yet in tests/src/budgets.rs.
const MSE: f64 = 1.0;
const L1: f64 = 0.5;
const HUBER: f64 = 2.0;
const SMOOTH_L1: f64 = 2.0;
const GRAD: f64 = 1.5;

/// Pairs (x, t) covering equal values, near-equal values (cancellation in x - t), mixed
/// magnitudes, and the branch boundaries of huber/smooth_l1 (|d| = 1 and 0.5).
fn pairs_f64(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut r = Rng::new(seed);
    let mut xs = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    for i in 0..n {
        let t = match i % 4 {
            0 => r.uniform(-4.0, 4.0),
            1 => libm::exp2(r.uniform(-60.0, 60.0)) * if r.unit() < 0.5 { -1.0 } else { 1.0 },
            2 => r.uniform(-1e3, 1e3),
            _ => 0.0,
        };
        let d = match i % 3 {
            0 => r.uniform(-3.0, 3.0),
            1 => libm::exp2(r.uniform(-70.0, 10.0)) * if r.unit() < 0.5 { -1.0 } else { 1.0 },
            _ => [1.0, -1.0, 0.5, -0.5, 0.0][i % 5] * (1.0 + r.uniform(-1e-6, 1e-6)),
        };
        xs.push(t + d);
        ts.push(t);
    }
    (xs, ts)
}

fn to32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

type Kernel32 = fn(&[f32], &[f32], &mut [f32], &mut [f32]);
type Kernel64 = fn(&[f64], &[f64], &mut [f64], &mut [f64]);

fn mse_k32(x: &[f32], t: &[f32], o: &mut [f32], g: &mut [f32]) {
    loss::mse_none_with_grad(x, t, o, g).unwrap()
}
fn mse_k64(x: &[f64], t: &[f64], o: &mut [f64], g: &mut [f64]) {
    loss::mse_none_with_grad(x, t, o, g).unwrap()
}
fn l1_k32(x: &[f32], t: &[f32], o: &mut [f32], g: &mut [f32]) {
    loss::l1_none_with_grad(x, t, o, g).unwrap()
}
fn l1_k64(x: &[f64], t: &[f64], o: &mut [f64], g: &mut [f64]) {
    loss::l1_none_with_grad(x, t, o, g).unwrap()
}
fn huber_k32(x: &[f32], t: &[f32], o: &mut [f32], g: &mut [f32]) {
    loss::huber_none_with_grad(x, t, 1.0, o, g).unwrap()
}
fn huber_k64(x: &[f64], t: &[f64], o: &mut [f64], g: &mut [f64]) {
    loss::huber_none_with_grad(x, t, 1.0, o, g).unwrap()
}
fn sl1_k32(x: &[f32], t: &[f32], o: &mut [f32], g: &mut [f32]) {
    loss::smooth_l1_none_with_grad(x, t, 0.5, o, g).unwrap()
}
fn sl1_k64(x: &[f64], t: &[f64], o: &mut [f64], g: &mut [f64]) {
    loss::smooth_l1_none_with_grad(x, t, 0.5, o, g).unwrap()
}

/// Exact loss and gradient in MPFR for (x, t) (delta = 1 for huber, beta = 0.5 for
/// smooth_l1).
fn exact(kind: &str, x: f64, t: f64) -> (Mp, Mp) {
    let d = Mp::with_val(MPFR_PREC, mp(x) - mp(t));
    let z = Mp::with_val(MPFR_PREC, d.abs_ref());
    let sign = if d > 0 {
        1.0
    } else if d < 0 {
        -1.0
    } else {
        0.0
    };
    match kind {
        "mse" => (
            Mp::with_val(MPFR_PREC, d.square_ref()),
            Mp::with_val(MPFR_PREC, &d * 2u32),
        ),
        "l1" => (z, mp(sign)),
        "huber" => {
            if z < 1 {
                (Mp::with_val(MPFR_PREC, d.square_ref()) / 2u32, d)
            } else {
                (z - 0.5f64, mp(sign))
            }
        }
        _ => {
            if z < 0.5 {
                (
                    Mp::with_val(MPFR_PREC, d.square_ref()),
                    Mp::with_val(MPFR_PREC, &d * 2u32),
                )
            } else {
                (z - 0.25f64, mp(sign))
            }
        }
    }
}

const KINDS: [(&str, Kernel32, Kernel64, f64); 4] = [
    ("mse", mse_k32, mse_k64, MSE),
    ("l1", l1_k32, l1_k64, L1),
    ("huber", huber_k32, huber_k64, HUBER),
    ("smooth_l1", sl1_k32, sl1_k64, SMOOTH_L1),
];

#[test]
fn regression_f32_accuracy() {
    let (xs, ts) = pairs_f64(2_000_000, 1);
    let (x32, t32) = (to32(&xs), to32(&ts));
    for (name, k32, _, budget) in KINDS {
        let mut o = vec![0.0f32; x32.len()];
        let mut g = vec![0.0f32; x32.len()];
        k32(&x32, &t32, &mut o, &mut g);
        let mut w = Worst::default();
        let mut wg = Worst::default();
        for i in 0..x32.len() {
            // The f64 reference: exact difference of two f32 values when their exponents
            // are close; MPFR otherwise would be the same to 2^-53.
            let (lv, gv) = exact(name, x32[i] as f64, t32[i] as f64);
            w.see(
                ulp_f32(o[i], lv.to_f64()),
                x32[i] as f64,
                o[i] as f64,
                lv.to_f64(),
            );
            wg.see(
                ulp_f32(g[i], gv.to_f64()),
                x32[i] as f64,
                g[i] as f64,
                gv.to_f64(),
            );
        }
        assert_within(&format!("{name} f32"), &w, budget);
        assert_within(&format!("{name} grad f32"), &wg, GRAD);
    }
}

#[test]
fn regression_f64_mpfr() {
    let (xs, ts) = pairs_f64(1_000_000, 2);
    for (name, _, k64, budget) in KINDS {
        let mut o = vec![0.0f64; xs.len()];
        let mut g = vec![0.0f64; xs.len()];
        k64(&xs, &ts, &mut o, &mut g);
        let mut w = Worst::default();
        let mut wg = Worst::default();
        for i in 0..xs.len() {
            let (lv, gv) = exact(name, xs[i], ts[i]);
            w.see(ulp_f64(o[i], &lv), xs[i], o[i], lv.to_f64());
            wg.see(ulp_f64(g[i], &gv), xs[i], g[i], gv.to_f64());
        }
        assert_within(&format!("{name} f64"), &w, budget);
        assert_within(&format!("{name} grad f64"), &wg, GRAD);
    }
}

#[test]
fn regression_grad_central_difference() {
    let f = |kind: &str, x: f64| exact(kind, x, 0.3).0.to_f64();
    for (name, _, k64, _) in KINDS {
        for i in -300..300 {
            let x = i as f64 * 0.01 + 0.3 + 0.003;
            let (mut o, mut g) = ([0.0f64], [0.0f64]);
            k64(&[x], &[0.3], &mut o, &mut g);
            let fd = central_difference(|v| f(name, v), x);
            approx::assert_relative_eq!(g[0], fd, epsilon = 1e-8, max_relative = 1e-6);
        }
    }
}

#[test]
fn regression_kinks_and_specials() {
    let inf = f32::INFINITY;
    let x = [0.0f32, 1.0, inf, -inf, inf, f32::NAN, 2.0, 1.5];
    let t = [0.0f32, 1.0, 0.0, 0.0, inf, 0.0, f32::NAN, 0.5];
    let n = x.len();
    let (mut o, mut g) = (vec![0.0f32; n], vec![0.0f32; n]);
    // l1: sign(0) = 0 (PyTorch).
    loss::l1_none_with_grad(&x, &t, &mut o, &mut g).unwrap();
    assert_eq!(&g[..2], &[0.0, 0.0]);
    assert_eq!((o[2], g[2], o[3], g[3]), (inf, 1.0, inf, -1.0));
    assert!(o[4].is_nan() && o[5].is_nan() && o[6].is_nan() && g[5].is_nan() && g[6].is_nan());
    // mse
    loss::mse_none_with_grad(&x, &t, &mut o, &mut g).unwrap();
    assert_eq!((o[0], g[0]), (0.0, 0.0));
    assert_eq!((o[2], g[2], o[3], g[3]), (inf, inf, inf, -inf));
    assert!(o[4].is_nan() && o[5].is_nan() && o[6].is_nan());
    // huber: inf loss with the finite gradient ±delta; boundary |d| = delta is linear
    // and continuous.
    loss::huber_none_with_grad(&x, &t, 1.0, &mut o, &mut g).unwrap();
    assert_eq!((o[2], g[2], o[3], g[3]), (inf, 1.0, inf, -1.0));
    assert_eq!((o[7], g[7]), (0.5, 1.0));
    assert!(o[4].is_nan() && o[5].is_nan() && g[5].is_nan() && o[6].is_nan());
    // smooth_l1: beta = 0 is l1 (PyTorch), including sign(0) = 0.
    let mut o2 = vec![0.0f32; n];
    let mut g2 = vec![0.0f32; n];
    loss::smooth_l1_none_with_grad(&x, &t, 0.0, &mut o, &mut g).unwrap();
    loss::l1_none_with_grad(&x, &t, &mut o2, &mut g2).unwrap();
    for i in 0..n {
        assert_eq!(o[i].to_bits(), o2[i].to_bits());
        assert_eq!(g[i].to_bits(), g2[i].to_bits());
    }
    loss::smooth_l1_none_with_grad(&x, &t, 1.0, &mut o, &mut g).unwrap();
    assert_eq!((o[2], g[2]), (inf, 1.0));
    assert_eq!((o[7], g[7]), (0.5, 1.0));
    // smooth_l1(beta) = huber(delta = beta) / beta
    let xs: Vec<f64> = (0..100).map(|i| i as f64 * 0.05 - 2.5).collect();
    let ts = vec![0.1f64; 100];
    let mut a = vec![0.0; 100];
    let mut b = vec![0.0; 100];
    loss::smooth_l1_none(&xs, &ts, 0.75, &mut a).unwrap();
    loss::huber_none(&xs, &ts, 0.75, &mut b).unwrap();
    for i in 0..100 {
        approx::assert_relative_eq!(a[i], b[i] / 0.75, max_relative = 4e-16, epsilon = 1e-300);
    }
    // Cancellation in x - t: the term of nearly equal values keeps full accuracy.
    let (x1, t1) = (1.0f32 + f32::EPSILON, 1.0f32);
    let mut o1 = [0.0f32];
    loss::mse_none(&[x1], &[t1], &mut o1).unwrap();
    assert_eq!(o1[0], f32::EPSILON * f32::EPSILON);
}

#[test]
fn regression_reductions() {
    let n = 3 * 4096 + 77;
    let xs: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1013) as f32 * 0.01 - 5.0)
        .collect();
    let ts: Vec<f32> = (0..n)
        .map(|i| ((i * 31) % 97) as f32 * 0.05 - 2.0)
        .collect();
    let mut o = vec![0.0f32; n];
    type R = fn(&[f32], &[f32], Reduction) -> f32;
    type G = fn(&[f32], &[f32], Reduction, &mut [f32]) -> f32;
    type N = fn(&[f32], &[f32], &mut [f32]);
    let cases: [(&str, R, G, N); 4] = [
        (
            "mse",
            |x, t, r| loss::mse(x, t, r).unwrap(),
            |x, t, r, g| loss::mse_with_grad(x, t, r, g).unwrap(),
            |x, t, o| loss::mse_none(x, t, o).unwrap(),
        ),
        (
            "l1",
            |x, t, r| loss::l1(x, t, r).unwrap(),
            |x, t, r, g| loss::l1_with_grad(x, t, r, g).unwrap(),
            |x, t, o| loss::l1_none(x, t, o).unwrap(),
        ),
        (
            "huber",
            |x, t, r| loss::huber(x, t, 1.5, r).unwrap(),
            |x, t, r, g| loss::huber_with_grad(x, t, 1.5, r, g).unwrap(),
            |x, t, o| loss::huber_none(x, t, 1.5, o).unwrap(),
        ),
        (
            "smooth_l1",
            |x, t, r| loss::smooth_l1(x, t, 0.25, r).unwrap(),
            |x, t, r, g| loss::smooth_l1_with_grad(x, t, 0.25, r, g).unwrap(),
            |x, t, o| loss::smooth_l1_none(x, t, 0.25, o).unwrap(),
        ),
    ];
    for (name, red, wg, none) in cases {
        none(&xs, &ts, &mut o);
        let exact: f64 = o.iter().map(|&v| v as f64).sum();
        let s = red(&xs, &ts, Reduction::Sum);
        let m = red(&xs, &ts, Reduction::Mean);
        assert_eq!(s, exact as f32, "{name} sum");
        assert_eq!(m, (exact / n as f64) as f32, "{name} mean");
        // fused forms give the same value, and the gradients of mean and sum differ by 1/N
        let mut gs = vec![0.0f32; n];
        let mut gm = vec![0.0f32; n];
        assert_eq!(
            wg(&xs, &ts, Reduction::Sum, &mut gs).to_bits(),
            s.to_bits(),
            "{name}"
        );
        assert_eq!(
            wg(&xs, &ts, Reduction::Mean, &mut gm).to_bits(),
            m.to_bits(),
            "{name}"
        );
        let inv = (1.0 / n as f64) as f32;
        for i in 0..n {
            assert_eq!(gm[i], gs[i] * inv, "{name} grad {i}");
        }
    }
    // NaN in the data reaches the reduced value.
    let mut xn = xs.clone();
    xn[5000] = f32::NAN;
    assert!(loss::mse(&xn, &ts, Reduction::Mean).unwrap().is_nan());
    assert!(loss::huber(&xn, &ts, 1.0, Reduction::Sum).unwrap().is_nan());
    // empty input
    assert_eq!(loss::l1::<f64>(&[], &[], Reduction::Mean).unwrap(), 0.0);
    assert_eq!(loss::l1::<f64>(&[], &[], Reduction::Sum).unwrap(), 0.0);
}

#[test]
fn regression_position_independence() {
    let tf = |x: &[f32]| -> Vec<f32> { x.iter().map(|v| (v * 0.37).floor()).collect() };
    let td = |x: &[f64]| -> Vec<f64> { x.iter().map(|v| (v * 0.37).floor()).collect() };
    for (name, k32, k64, _) in KINDS {
        check_position_independence_f32(name, |x, o| {
            let mut g = vec![0.0; x.len()];
            k32(x, &tf(x), o, &mut g)
        });
        check_position_independence_f64(name, |x, o| {
            let mut g = vec![0.0; x.len()];
            k64(x, &td(x), o, &mut g)
        });
        check_position_independence_f32(name, |x, g| {
            let mut o = vec![0.0; x.len()];
            k32(x, &tf(x), &mut o, g)
        });
        check_position_independence_f64(name, |x, g| {
            let mut o = vec![0.0; x.len()];
            k64(x, &td(x), &mut o, g)
        });
    }
    check_position_independence_f32("mse_none", |x, o| loss::mse_none(x, &tf(x), o).unwrap());
    check_position_independence_f32("l1_none", |x, o| loss::l1_none(x, &tf(x), o).unwrap());
    check_position_independence_f32("huber_none", |x, o| {
        loss::huber_none(x, &tf(x), 2.0, o).unwrap()
    });
    check_position_independence_f64("smooth_l1_none", |x, o| {
        loss::smooth_l1_none(x, &td(x), 2.0, o).unwrap()
    });
}

#[test]
fn regression_errors() {
    use nonlin::Error;
    let mut out = [7.0f32; 2];
    let mut g = [7.0f32; 2];
    let e = loss::mse(&[0.0f32; 2], &[0.0; 3], Reduction::Mean).unwrap_err();
    assert_eq!(
        e,
        Error::LengthMismatch {
            arg: "target",
            expected: 2,
            found: 3
        }
    );
    assert!(e.to_string().contains("`target`"));
    let e = loss::mse_none_with_grad(&[0.0f32; 3], &[0.0; 3], &mut out, &mut g).unwrap_err();
    assert!(e.to_string().contains("`out`"), "{e}");
    let e = loss::l1_with_grad(&[0.0f32; 3], &[0.0; 3], Reduction::Sum, &mut g).unwrap_err();
    assert!(e.to_string().contains("`grad`"), "{e}");
    for d in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let e =
            loss::huber_none_with_grad(&[0.0f32; 2], &[0.0; 2], d, &mut out, &mut g).unwrap_err();
        assert!(e.to_string().contains("`delta`"), "{e}");
        assert!(matches!(e, Error::InvalidParameter { name: "delta", .. }));
    }
    for b in [-0.5f32, f32::NAN, f32::INFINITY] {
        let e = loss::smooth_l1_none_with_grad(&[0.0f32; 2], &[0.0; 2], b, &mut out, &mut g)
            .unwrap_err();
        assert!(
            e.to_string().contains("`beta`") && e.to_string().contains(">= 0"),
            "{e}"
        );
    }
    assert_eq!(out, [7.0; 2], "nothing written on error");
    assert_eq!(g, [7.0; 2], "nothing written on error");
    let e = loss::huber(&[0.0f64], &[0.0], -2.0, Reduction::Sum).unwrap_err();
    assert!(e.to_string().contains("-2"), "{e}");
    let e = loss::mse_partial(&[0.0f32], &[0.0], f32::INFINITY, None).unwrap_err();
    assert!(e.to_string().contains("grad_scale"), "{e}");
}
