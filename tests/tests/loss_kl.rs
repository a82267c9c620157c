//! kl_div: per-term accuracy (f32 against f64, f64 against MPFR), 0 log 0, log_target,
//! reductions (mean, sum, batchmean), gradients, position independence, errors, and the
//! committed mpmath vectors.

use nonlin::loss::{self, Reduction};
use nonlin_tests::*;
use rug::Float as Mp;

// Budgets: log_target terms in ULP; probability targets: |err| <= KL_ABS * eps * t (|ln t| + |x|)
// plus half an ULP of the result (the documented absolute bound; ln t - x may cancel).
const KL_LOG: f64 = 3.0;
const KL_ABS: f64 = 3.0;

fn kl_mp(x: f64, t: f64, log_target: bool) -> Mp {
    let (xm, tm) = (mp(x), mp(t));
    if log_target {
        if t == f64::NEG_INFINITY {
            return mp(0.0);
        }
        Mp::with_val(MPFR_PREC, tm.clone().exp()) * Mp::with_val(MPFR_PREC, &tm - &xm)
    } else {
        if t == 0.0 {
            return mp(0.0);
        }
        Mp::with_val(
            MPFR_PREC,
            &tm * Mp::with_val(MPFR_PREC, tm.clone().ln() - &xm),
        )
    }
}

fn inputs(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut r = Rng::new(seed);
    let mut x = Vec::with_capacity(n);
    let mut t = Vec::with_capacity(n);
    let mut lt = Vec::with_capacity(n);
    for i in 0..n {
        let p = match i % 4 {
            0 => libm::exp2(r.uniform(-120.0, 0.0)),
            1 => r.unit(),
            2 => 0.0,
            _ => 1.0,
        };
        // inputs near ln p (a matching model: cancellation) and anywhere
        let xi = if i % 3 == 0 && p > 0.0 {
            libm::log(p) * (1.0 + r.uniform(-1e-3, 1e-3))
        } else {
            r.uniform(-90.0, 5.0)
        };
        x.push(xi);
        t.push(p);
        lt.push(r.uniform(-80.0, 3.0));
    }
    (x, t, lt)
}

#[test]
fn kl_f32_accuracy() {
    let (x, t, lt) = inputs(2_000_000, 1);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let t32: Vec<f32> = t.iter().map(|&v| v as f32).collect();
    let lt32: Vec<f32> = lt.iter().map(|&v| v as f32).collect();
    let n = x.len();
    let (mut o, mut g) = (vec![0.0f32; n], vec![0.0f32; n]);
    loss::kl_div_none_with_grad(&x32, &t32, false, &mut o, &mut g).unwrap();
    let mut worst_abs = 0.0f64;
    let mut w_far = Worst::default();
    for i in 0..n {
        let (xi, ti) = (x32[i] as f64, t32[i] as f64);
        let want = if ti == 0.0 {
            0.0
        } else {
            ti * (libm::log(ti) - xi)
        };
        let scale = ti * (libm::log(ti).abs() + xi.abs());
        let allowed = KL_ABS * f32::EPSILON as f64 / 2.0 * scale + ulp_of_f32(want) / 2.0;
        worst_abs = worst_abs.max((o[i] as f64 - want).abs() / allowed.max(f64::MIN_POSITIVE));
        if xi.abs() <= (libm::log(ti) - xi).abs() {
            w_far.see(ulp_f32(o[i], want), xi, o[i] as f64, want);
        }
        assert_eq!(g[i], -t32[i]);
    }
    eprintln!("kl_div f32: max {worst_abs:.3} of the absolute bound");
    assert!(worst_abs <= 1.0);
    assert_within("kl_div f32 (no cancellation)", &w_far, 6.0);
    loss::kl_div_none_with_grad(&x32, &lt32, true, &mut o, &mut g).unwrap();
    let mut w = Worst::default();
    let mut wg = Worst::default();
    for i in 0..n {
        let (xi, ti) = (x32[i] as f64, lt32[i] as f64);
        let want = libm::exp(ti) * (ti - xi);
        w.see(ulp_f32(o[i], want), xi, o[i] as f64, want);
        wg.see(
            ulp_f32(g[i], -libm::exp(ti)),
            ti,
            g[i] as f64,
            -libm::exp(ti),
        );
    }
    assert_within("kl_div log_target f32", &w, KL_LOG);
    assert_within("kl_div log_target grad f32", &wg, 2.0);
}

#[test]
fn kl_f64_mpfr() {
    let (x, t, lt) = inputs(1_000_000, 2);
    let n = x.len();
    let mut o = vec![0.0f64; n];
    loss::kl_div_none(&x, &t, false, &mut o).unwrap();
    let mut worst_abs = 0.0f64;
    let mut w_far = Worst::default();
    for i in 0..n {
        let want = kl_mp(x[i], t[i], false);
        let wf = want.to_f64();
        let scale = t[i] * (libm::log(t[i]).abs() + x[i].abs());
        let allowed = KL_ABS * f64::EPSILON / 2.0 * scale + f64::EPSILON * wf.abs() / 2.0;
        let err = Mp::with_val(MPFR_PREC, mp(o[i]) - &want).to_f64().abs();
        worst_abs = worst_abs.max(err / allowed.max(f64::MIN_POSITIVE));
        if t[i] > 0.0 && x[i].abs() <= (libm::log(t[i]) - x[i]).abs() {
            w_far.see(ulp_f64(o[i], &want), x[i], o[i], wf);
        }
    }
    eprintln!("kl_div f64: max {worst_abs:.3} of the absolute bound");
    assert!(worst_abs <= 1.0);
    assert_within("kl_div f64 (no cancellation)", &w_far, 6.0);
    loss::kl_div_none(&x, &lt, true, &mut o).unwrap();
    let mut w = Worst::default();
    for i in 0..n {
        let want = kl_mp(x[i], lt[i], true);
        w.see(ulp_f64(o[i], &want), x[i], o[i], want.to_f64());
    }
    assert_within("kl_div log_target f64", &w, KL_LOG);
}

#[test]
fn kl_mpmath_vectors() {
    let text = include_str!("../data/loss/kl.txt");
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<f64> = line
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        let (lt, x, t, val, grad) = (f[0] == 1.0, f[1], f[2], f[3], f[4]);
        let (mut o, mut g) = ([0.0f64], [0.0f64]);
        loss::kl_div_none_with_grad(&[x], &[t], lt, &mut o, &mut g).unwrap();
        let (mut o32, mut g32) = ([0.0f32], [0.0f32]);
        loss::kl_div_none_with_grad(&[x as f32], &[t as f32], lt, &mut o32, &mut g32).unwrap();
        if lt {
            assert!(ulp_f64(g[0], &mp(grad)) <= 1.5, "{line}: grad {}", g[0]);
        } else {
            assert_eq!(g[0], grad, "{line}");
        }
        assert!(ulp_f32(g32[0], grad) <= 2.0, "{line}");
        if lt {
            assert!(ulp_f64(o[0], &mp(val)) <= KL_LOG + 0.5, "{line}: {}", o[0]);
            assert!(ulp_f32(o32[0], val) <= KL_LOG, "{line}: {}", o32[0]);
        } else if t == 0.0 {
            assert_eq!((o[0], o32[0]), (0.0, 0.0), "{line}");
        } else {
            let scale = t * (libm::log(t).abs() + x.abs());
            let bound = KL_ABS * f64::EPSILON / 2.0 * scale + f64::EPSILON * val.abs();
            assert!((o[0] - val).abs() <= bound, "{line}: {}", o[0]);
            let b32 = KL_ABS * f32::EPSILON as f64 / 2.0 * scale + ulp_of_f32(val);
            assert!((o32[0] as f64 - val).abs() <= b32, "{line}: {}", o32[0]);
        }
        n += 1;
    }
    assert!(n > 100);
}

#[test]
fn kl_zero_log_zero_and_specials() {
    let ninf = f32::NEG_INFINITY;
    let x = [ninf, 0.0, -3.0, f32::NAN, -1.0, -1.0];
    let t = [0.0f32, 0.0, 0.0, 0.5, f32::NAN, -0.5];
    let (mut o, mut g) = ([1.0f32; 6], [1.0f32; 6]);
    loss::kl_div_none_with_grad(&x, &t, false, &mut o, &mut g).unwrap();
    assert_eq!(&o[..3], &[0.0, 0.0, 0.0]);
    assert_eq!(&g[..3], &[-0.0, -0.0, -0.0]);
    assert!(o[3].is_nan() && o[4].is_nan() && o[5].is_nan());
    // log_target: t = -inf is a zero probability.
    let t = [ninf, ninf, 0.0, 0.5, f32::NAN, 1.0];
    loss::kl_div_none_with_grad(&x, &t, true, &mut o, &mut g).unwrap();
    assert_eq!(&o[..2], &[0.0, 0.0]);
    assert_eq!(&g[..2], &[-0.0, -0.0]);
    assert_eq!(o[2], 3.0);
    assert!(o[3].is_nan() && o[4].is_nan());
    // input -inf with a positive target: infinite divergence.
    loss::kl_div_none(&[ninf], &[0.5], false, &mut o[..1]).unwrap();
    assert_eq!(o[0], f32::INFINITY);
}

#[test]
fn kl_reductions_and_grad() {
    let rows = 37;
    let cols = 1000;
    let n = rows * cols;
    let mut r = Rng::new(9);
    let x: Vec<f64> = (0..n).map(|_| r.uniform(-12.0, -0.1)).collect();
    let t: Vec<f64> = (0..n)
        .map(|i| {
            if i % 7 == 0 {
                0.0
            } else {
                r.unit() / cols as f64
            }
        })
        .collect();
    let mut o = vec![0.0; n];
    loss::kl_div_none(&x, &t, false, &mut o).unwrap();
    let exact: f64 = o.iter().sum();
    let s = loss::kl_div(&x, &t, false, Reduction::Sum).unwrap();
    let m = loss::kl_div(&x, &t, false, Reduction::Mean).unwrap();
    let b = loss::kl_div_batchmean(&x, &t, false, rows).unwrap();
    approx::assert_relative_eq!(s, exact, max_relative = 1e-14);
    approx::assert_relative_eq!(m, exact / n as f64, max_relative = 1e-14);
    approx::assert_relative_eq!(b, exact / rows as f64, max_relative = 1e-14);
    let mut g = vec![0.0; n];
    let bg = loss::kl_div_batchmean_with_grad(&x, &t, false, rows, &mut g).unwrap();
    assert_eq!(bg.to_bits(), b.to_bits());
    for i in 0..n {
        assert_eq!(g[i], -t[i] * (1.0 / rows as f64));
    }
    let mg = loss::kl_div_with_grad(&x, &t, true, Reduction::Mean, &mut g).unwrap();
    assert_eq!(
        mg.to_bits(),
        loss::kl_div(&x, &t, true, Reduction::Mean)
            .unwrap()
            .to_bits()
    );
    // central difference (the loss is linear in x)
    for i in (0..n).step_by(997) {
        let f = |v: f64| {
            let mut xx = x[i..i + 1].to_vec();
            xx[0] = v;
            loss::kl_div(&xx, &t[i..i + 1], true, Reduction::Sum).unwrap()
        };
        let fd = central_difference(f, x[i]);
        approx::assert_relative_eq!(g[i] * n as f64, fd, max_relative = 1e-6, epsilon = 1e-12);
    }
    // NaN reaches the reduced value
    let mut xn = x.clone();
    xn[123] = f64::NAN;
    assert!(
        loss::kl_div(&xn, &t, false, Reduction::Sum)
            .unwrap()
            .is_nan()
    );
}

#[test]
fn kl_position_independence() {
    let tf = |x: &[f32]| -> Vec<f32> { x.iter().map(|v| (v.abs() * 0.07).fract()).collect() };
    let td = |x: &[f64]| -> Vec<f64> { x.iter().map(|v| (v.abs() * 0.07).fract()).collect() };
    for lt in [false, true] {
        check_position_independence_f32("kl_div_none", |x, o| {
            loss::kl_div_none(x, &tf(x), lt, o).unwrap()
        });
        check_position_independence_f64("kl_div_none", |x, o| {
            loss::kl_div_none(x, &td(x), lt, o).unwrap()
        });
        check_position_independence_f32("kl_div_none_with_grad", |x, o| {
            let mut g = vec![0.0; x.len()];
            loss::kl_div_none_with_grad(x, &tf(x), lt, o, &mut g).unwrap()
        });
        check_position_independence_f64("kl_div_none_with_grad (grad)", |x, g| {
            let mut o = vec![0.0; x.len()];
            loss::kl_div_none_with_grad(x, &td(x), lt, &mut o, g).unwrap()
        });
    }
}

#[test]
fn kl_errors() {
    use nonlin::Error;
    let mut out = [7.0f32; 2];
    let mut g = [7.0f32; 2];
    let e = loss::kl_div(&[0.0f32; 2], &[0.0; 1], false, Reduction::Sum).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { arg: "target", .. }));
    let e = loss::kl_div_none_with_grad(&[0.0f32; 2], &[0.0; 2], false, &mut out[..1], &mut g)
        .unwrap_err();
    assert!(e.to_string().contains("`out`"), "{e}");
    let e = loss::kl_div_batchmean(&[0.0f32; 6], &[0.0; 6], false, 4).unwrap_err();
    assert!(
        e.to_string().contains("`batch`") && e.to_string().contains('4'),
        "{e}"
    );
    let e =
        loss::kl_div_batchmean_with_grad(&[0.0f32; 2], &[0.0; 2], false, 0, &mut g).unwrap_err();
    assert!(e.to_string().contains("`batch`"), "{e}");
    assert_eq!(out, [7.0; 2]);
    assert_eq!(g, [7.0; 2]);
}
