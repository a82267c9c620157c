//! cross_entropy (index and probability targets), nll_loss and softmax focal loss: values and
//! fused gradients against an independent MPFR implementation of PyTorch's formulas
//! (written here as PyTorch's own test reference is: log_softmax, then nll_loss, then the
//! smoothing term), central differences, the confident-row case, zero-count means, special
//! rows, determinism and errors.

use nonlin::Float;
use nonlin::loss::*;
use nonlin_tests::*;
use rug::Float as Mp;
use rug::ops::Pow;

/// ULP budgets `(f32, f64)` (proposed lines for tests/src/budgets.rs).
const B_CE: (f64, f64) = (2.0, 4.0);
const B_CE_GRAD: (f64, f64) = (4.0, 6.0);
const B_CE_PROBS: (f64, f64) = (4.0, 6.0);
const B_NLL: (f64, f64) = (1.0, 2.0);
const B_FOCAL: (f64, f64) = (4.0, 8.0);

trait Tf: Float + Into<f64> {
    fn ulp(got: Self, want: &Mp) -> f64;
    fn pick(b: (f64, f64)) -> f64;
    fn r(v: f64) -> Self {
        Self::from_f64(v)
    }
}
impl Tf for f32 {
    fn ulp(got: f32, want: &Mp) -> f64 {
        ulp_f32(got, want.to_f64())
    }
    fn pick(b: (f64, f64)) -> f64 {
        b.0
    }
}
impl Tf for f64 {
    fn ulp(got: f64, want: &Mp) -> f64 {
        ulp_f64(got, want)
    }
    fn pick(b: (f64, f64)) -> f64 {
        b.1
    }
}

fn m(v: f64) -> Mp {
    mp(v)
}

/// Exact log_softmax of a row (MPFR), through log1p of the sum without the arg-max.
fn log_softmax_mp(row: &[f64]) -> Vec<Mp> {
    let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let arg = row.iter().position(|&v| v == mx);
    let mut rest = m(0.0);
    for (j, &v) in row.iter().enumerate() {
        if Some(j) != arg {
            rest += Mp::with_val(MPFR_PREC, m(v) - m(mx)).exp();
        }
    }
    let ls = rest.ln_1p();
    row.iter()
        .map(|&v| Mp::with_val(MPFR_PREC, m(v) - m(mx)) - &ls)
        .collect()
}

/// PyTorch's cross_entropy with class-index targets, straightforwardly (MPFR):
/// returns (reduced value for Mean, for Sum, per-row losses, gradient of the Mean,
/// gradient of the Sum).
struct CeRef {
    mean: Mp,
    sum: Mp,
    rows: Vec<Mp>,
    grad_mean: Vec<Mp>,
    grad_sum: Vec<Mp>,
}

fn ce_ref(
    x: &[f64],
    t: &[i64],
    cols: usize,
    w: Option<&[f64]>,
    ignore: Option<i64>,
    eps: f64,
) -> CeRef {
    let wc = |c: usize| w.map_or(1.0, |w| w[c]);
    let c = cols as f64;
    let mut nll_sum = m(0.0);
    let mut smooth_sum = m(0.0);
    let mut denom = m(0.0);
    let mut rows = vec![];
    let mut gsum = vec![];
    for (i, row) in x.chunks(cols).enumerate() {
        let ti = t[i];
        if Some(ti) == ignore {
            rows.push(m(0.0));
            gsum.extend((0..cols).map(|_| m(0.0)));
            continue;
        }
        let k = ti as usize;
        let lp = log_softmax_mp(row);
        // nll_loss term: -w_t logp_t.
        let nll = Mp::with_val(MPFR_PREC, -&lp[k]) * m(wc(k));
        // smoothing term: -Σ_c w_c logp_c (0 * inf = 0 for zero weights).
        let mut sm = m(0.0);
        for (j, l) in lp.iter().enumerate() {
            if wc(j) != 0.0 {
                sm -= Mp::with_val(MPFR_PREC, l * m(wc(j)));
            }
        }
        denom += m(wc(k));
        nll_sum += &nll;
        smooth_sum += &sm;
        let row_loss = Mp::with_val(MPFR_PREC, &nll * m(1.0 - eps)) + sm * m(eps / c);
        rows.push(row_loss);
        // d/dx_j: (1-ε) w_t (p_j - δ) + ε/C (p_j W - w_j).
        let mut wsum = m(0.0);
        for c in 0..cols {
            wsum += m(wc(c));
        }
        for (j, l) in lp.iter().enumerate() {
            let p = Mp::with_val(MPFR_PREC, l.exp_ref());
            let mut g = Mp::with_val(MPFR_PREC, &p * m((1.0 - eps) * wc(k)));
            if j == k {
                // p - 1 = expm1(logp): the exact value, no cancellation in the reference.
                g = Mp::with_val(MPFR_PREC, l.exp_m1_ref()) * m((1.0 - eps) * wc(k));
            }
            g += (p * &wsum - m(wc(j))) * m(eps / c);
            gsum.push(g);
        }
    }
    let sum = Mp::with_val(MPFR_PREC, &nll_sum * m(1.0 - eps))
        + Mp::with_val(MPFR_PREC, &smooth_sum * m(eps / c));
    let (mean, gm) = if denom == 0 {
        (m(0.0), gsum.iter().map(|_| m(0.0)).collect())
    } else {
        (
            Mp::with_val(MPFR_PREC, &sum / &denom),
            gsum.iter()
                .map(|g| Mp::with_val(MPFR_PREC, g / &denom))
                .collect(),
        )
    };
    CeRef {
        mean,
        sum,
        rows,
        grad_mean: gm,
        grad_sum: gsum,
    }
}

fn gen_x<T: Tf>(rng: &mut Rng, rows: usize, cols: usize, spread: f64) -> Vec<T> {
    (0..rows * cols)
        .map(|_| T::r(rng.uniform(-spread, spread)))
        .collect()
}

fn targets(rng: &mut Rng, rows: usize, cols: usize, ignore: Option<i64>) -> Vec<i64> {
    (0..rows)
        .map(|_| match ignore {
            Some(ig) if rng.unit() < 0.2 => ig,
            _ => (rng.next_u64() % cols as u64) as i64,
        })
        .collect()
}

/// Gradient entries: ULP where the entry is not a cancellation of its terms
/// (|g| >= half their magnitude `scale`), else an absolute bound of `budget` ULPs of `scale`
/// (the documented bound).
fn see_grad<T: Tf>(w: &mut Worst, got: T, want: &Mp, scale: f64, budget: f64) {
    let wv = want.to_f64();
    if wv.abs() >= scale / 2.0 {
        w.see(T::ulp(got, want), wv, got.into(), wv);
    } else {
        let e = (got.into() - wv).abs();
        let tol = budget * scale * libm::ldexp(1.0, 1 - T::MANTISSA_DIGITS as i32) + 1e-300;
        assert!(
            e <= tol,
            "grad cancellation bound: got {:e} want {wv:e} scale {scale:e}",
            got.into()
        );
    }
}

fn ce_suite<T: Tf>() {
    let mut rng = Rng::new(17);
    let (mut wv, mut wr, mut wg) = (Worst::default(), Worst::default(), Worst::default());
    let shapes = [
        (1usize, 64usize),
        (3, 200),
        (8, 100),
        (9, 100),
        (1000, 12),
        (50_000, 1),
    ];
    for &(cols, rows) in &shapes {
        for &(spread, weighted, ignore, eps) in &[
            (5.0, false, None, 0.0),
            (30.0, true, Some(-100i64), 0.0),
            (3.0, false, Some(-1), 0.1),
            (60.0, true, None, 0.25),
            (8.0, true, Some(-100), 1.0),
        ] {
            let x = gen_x::<T>(&mut rng, rows, cols, spread);
            let t = targets(&mut rng, rows, cols, ignore);
            let wts: Vec<T> = (0..cols).map(|_| T::r(rng.uniform(0.1, 3.0))).collect();
            let opts = CrossEntropyOptions {
                weight: if weighted { Some(&wts[..]) } else { None },
                ignore_index: ignore,
                label_smoothing: T::r(eps),
            };
            let x64: Vec<f64> = x.iter().map(|&v| v.into()).collect();
            let w64: Vec<f64> = wts.iter().map(|&v| v.into()).collect();
            let rf = ce_ref(
                &x64,
                &t,
                cols,
                weighted.then_some(&w64[..]),
                ignore,
                T::r(eps).into(),
            );
            let mut g = vec![T::ZERO; x.len()];
            let mean =
                cross_entropy_with_grad(&x, &t, cols, &opts, Reduction::Mean, &mut g).unwrap();
            assert_eq!(
                mean.into().to_bits(),
                cross_entropy(&x, &t, cols, &opts, Reduction::Mean)
                    .unwrap()
                    .into()
                    .to_bits()
            );
            wv.see(
                T::ulp(mean, &rf.mean),
                cols as f64,
                mean.into(),
                rf.mean.to_f64(),
            );
            let sum = cross_entropy(&x, &t, cols, &opts, Reduction::Sum).unwrap();
            wv.see(
                T::ulp(sum, &rf.sum),
                cols as f64,
                sum.into(),
                rf.sum.to_f64(),
            );
            let mut out = vec![T::ZERO; rows];
            let mut gn = vec![T::ZERO; x.len()];
            cross_entropy_none_with_grad(&x, &t, cols, &opts, &mut out, &mut gn).unwrap();
            let mut out2 = vec![T::ZERO; rows];
            cross_entropy_none(&x, &t, cols, &opts, &mut out2).unwrap();
            for i in 0..rows {
                assert_eq!(out[i].into().to_bits(), out2[i].into().to_bits());
                wr.see(
                    T::ulp(out[i], &rf.rows[i]),
                    i as f64,
                    out[i].into(),
                    rf.rows[i].to_f64(),
                );
            }
            let b = T::pick(B_CE_GRAD);
            // The mean's denominator, for the scale of the mean's gradient.
            let wc = |c: usize| if weighted { w64[c] } else { 1.0 };
            let dsum: f64 = t
                .iter()
                .filter(|&&v| Some(v) != ignore)
                .map(|&v| wc(v as usize))
                .sum();
            let e: f64 = T::r(eps).into();
            let wsum: f64 = (0..cols).map(wc).sum();
            for (i, row) in x64.chunks(cols).enumerate() {
                if Some(t[i]) == ignore {
                    for j in 0..cols {
                        assert_eq!(gn[i * cols + j].into(), 0.0);
                        assert_eq!(g[i * cols + j].into(), 0.0);
                    }
                    continue;
                }
                let k = t[i] as usize;
                let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = row.iter().map(|v| (v - mx).exp()).sum();
                let a = (1.0 - e) * wc(k) + e / cols as f64 * wsum;
                for (j, &xj) in row.iter().enumerate() {
                    let p = (xj - mx).exp() / s;
                    // The magnitude of the terms of p_j A - (1-ε) w_t δ - (ε/C) w_j.
                    let scale = p * a
                        + e / cols as f64 * wc(j)
                        + if j == k {
                            (1.0 - e) * wc(k) * (1.0 - p)
                        } else {
                            0.0
                        };
                    let q = i * cols + j;
                    see_grad(&mut wg, gn[q], &rf.grad_sum[q], scale, b);
                    if dsum > 0.0 {
                        see_grad(&mut wg, g[q], &rf.grad_mean[q], scale / dsum, b);
                    }
                }
            }
        }
    }
    let n = T::NAME;
    assert_within(&format!("cross_entropy (mean/sum) {n}"), &wv, T::pick(B_CE));
    assert_within(&format!("cross_entropy_none {n}"), &wr, T::pick(B_CE));
    assert_within(&format!("cross_entropy grad {n}"), &wg, T::pick(B_CE_GRAD));
}

#[test]
fn cross_entropy_f32() {
    ce_suite::<f32>();
}

#[test]
fn cross_entropy_f64() {
    ce_suite::<f64>();
}

/// The confident row: f32 logits [80, 0], target 0.
#[test]
fn confident_row_keeps_relative_accuracy() {
    let want = 1.8048513878454151723e-35;
    let opts = CrossEntropyOptions::default();
    let l = cross_entropy(&[80.0f32, 0.0], &[0], 2, &opts, Reduction::Mean).unwrap();
    assert!(ulp_f32(l, want) <= 1.0, "{l:e}");
    let mut g = [0.0f32; 2];
    cross_entropy_with_grad(&[80.0f32, 0.0], &[0], 2, &opts, Reduction::Mean, &mut g).unwrap();
    assert!(
        ulp_f32(g[0], -want) <= 2.0 && ulp_f32(g[1], want) <= 2.0,
        "{g:?}"
    );
    let l64 = cross_entropy(
        &[80.0f64, 0.0],
        &[0],
        2,
        &Default::default(),
        Reduction::Sum,
    )
    .unwrap();
    assert!((l64 / want - 1.0).abs() < 1e-15);
    // Far beyond: e^-200 is below f32's range but the loss is the subnormal-free 0 only
    // where the exact value rounds to 0.
    let l = cross_entropy(&[100.0f32, 0.0], &[0], 2, &opts, Reduction::Sum).unwrap();
    assert!(ulp_f32(l, (-100.0f64).exp()) <= 1.0, "{l:e}");
    eprintln!("cross_entropy([80, 0], 0) f32 = {l:e}");
}

/// PyTorch semantics checked on hand-computed cases.
#[test]
fn semantics() {
    let x = [1.0f64, 2.0, 3.0, 0.5, 0.5, -1.0, 2.0, 0.0, 0.0];
    let lsm = |r: &[f64]| -> Vec<f64> {
        let s: f64 = r.iter().map(|v| v.exp()).sum();
        r.iter().map(|v| v - s.ln()).collect()
    };
    let l: Vec<Vec<f64>> = x.chunks(3).map(lsm).collect();
    let w = [0.5, 2.0, 1.5];
    // Weighted mean divides by the summed target weights of the non-ignored rows.
    let opts = CrossEntropyOptions {
        weight: Some(&w[..]),
        ignore_index: Some(-100),
        label_smoothing: 0.0,
    };
    let got = cross_entropy(&x, &[2, -100, 0], 3, &opts, Reduction::Mean).unwrap();
    let want = (-w[2] * l[0][2] - w[0] * l[2][0]) / (w[2] + w[0]);
    assert!((got - want).abs() < 1e-15, "{got} {want}");
    // Label smoothing: the smoothing term uses the class weights and the same denominator.
    let eps = 0.2;
    let opts = CrossEntropyOptions {
        weight: Some(&w[..]),
        ignore_index: Some(-100),
        label_smoothing: eps,
    };
    let got = cross_entropy(&x, &[2, -100, 0], 3, &opts, Reduction::Mean).unwrap();
    let sm = |r: &[f64]| -> f64 { -(0..3).map(|c| w[c] * r[c]).sum::<f64>() };
    let nll = (-w[2] * l[0][2] - w[0] * l[2][0]) / (w[2] + w[0]);
    let smooth = (sm(&l[0]) + sm(&l[2])) / (w[2] + w[0]);
    let want = (1.0 - eps) * nll + eps / 3.0 * smooth;
    assert!((got - want).abs() < 1e-15, "{got} {want}");
    // Sum, and none: ignored rows are 0.
    let got = cross_entropy(&x, &[2, -100, 0], 3, &opts, Reduction::Sum).unwrap();
    let want_sum =
        (1.0 - eps) * (-w[2] * l[0][2] - w[0] * l[2][0]) + eps / 3.0 * (sm(&l[0]) + sm(&l[2]));
    assert!((got - want_sum).abs() < 1e-14);
    let mut out = [9.0; 3];
    cross_entropy_none(&x, &[2, -100, 0], 3, &opts, &mut out).unwrap();
    assert_eq!(out[1], 0.0);
    assert!((out[0] - ((1.0 - eps) * -w[2] * l[0][2] + eps / 3.0 * sm(&l[0]))).abs() < 1e-15);
    // Zero counted targets: 0, not NaN, and a zero gradient.
    let mut g = [9.0; 9];
    let got = cross_entropy_with_grad(&x, &[-100, -100, -100], 3, &opts, Reduction::Mean, &mut g)
        .unwrap();
    assert_eq!(got, 0.0);
    assert_eq!(g, [0.0; 9]);
    let zw = [0.0, 0.0, 1.0];
    let o2 = CrossEntropyOptions {
        weight: Some(&zw[..]),
        ..Default::default()
    };
    assert_eq!(
        cross_entropy(&x, &[0, 1, 0], 3, &o2, Reduction::Mean).unwrap(),
        0.0
    );
    assert_eq!(
        cross_entropy::<f32>(&[], &[], 3, &Default::default(), Reduction::Mean).unwrap(),
        0.0
    );
    // NaN in the logits still propagates.
    let mut xn = x;
    xn[4] = f64::NAN;
    assert!(
        cross_entropy(&xn, &[2, 1, 0], 3, &Default::default(), Reduction::Mean)
            .unwrap()
            .is_nan()
    );
    let mut g = [0.0; 9];
    cross_entropy_none_with_grad(
        &xn,
        &[2, 1, 0],
        3,
        &Default::default(),
        &mut [0.0; 3],
        &mut g,
    )
    .unwrap();
    assert!(g[3..6].iter().all(|v| v.is_nan()) && g[..3].iter().all(|v| v.is_finite()));
    // label_smoothing = 1: uniform target; gradient p - 1/C.
    let o1 = CrossEntropyOptions {
        label_smoothing: 1.0,
        ..Default::default()
    };
    let mut g = [0.0; 3];
    cross_entropy_with_grad(&x[..3], &[0], 3, &o1, Reduction::Sum, &mut g).unwrap();
    let p: Vec<f64> = l[0].iter().map(|v| v.exp()).collect();
    for c in 0..3 {
        assert!((g[c] - (p[c] - 1.0 / 3.0)).abs() < 1e-15);
    }
    // Masked logits: a -inf class gives weight 0; all -inf gives +inf loss.
    let xm = [0.0, f64::NEG_INFINITY, 0.0];
    let got = cross_entropy(&xm, &[0], 3, &Default::default(), Reduction::Sum).unwrap();
    assert_eq!(got, core::f64::consts::LN_2);
    let got = cross_entropy(&xm, &[1], 3, &Default::default(), Reduction::Sum).unwrap();
    assert_eq!(got, f64::INFINITY);
    let mut g = [0.0; 3];
    let got = cross_entropy_with_grad(
        &[f64::NEG_INFINITY; 3],
        &[1],
        3,
        &Default::default(),
        Reduction::Sum,
        &mut g,
    )
    .unwrap();
    assert_eq!((got, g), (f64::INFINITY, [0.0, -1.0, 0.0]));
    // +inf logits share the probability.
    let got = cross_entropy(
        &[f64::INFINITY, 1.0, f64::INFINITY],
        &[2],
        3,
        &Default::default(),
        Reduction::Sum,
    )
    .unwrap();
    assert_eq!(got, core::f64::consts::LN_2);
}

/// Gradients against central differences of an f64 implementation of the loss.
#[test]
fn gradient_vs_central_difference() {
    let mut rng = Rng::new(8);
    for &cols in &[1usize, 3, 8, 9, 17] {
        let rows = 3;
        let x: Vec<f64> = (0..rows * cols).map(|_| rng.uniform(-3.0, 3.0)).collect();
        let t: Vec<i64> = vec![0, -100, (cols - 1) as i64];
        let w: Vec<f64> = (0..cols).map(|_| rng.uniform(0.5, 2.0)).collect();
        let pr: Vec<f64> = (0..rows * cols).map(|_| rng.unit()).collect();
        for eps in [0.0, 0.3] {
            let opts = CrossEntropyOptions {
                weight: Some(&w[..]),
                ignore_index: Some(-100),
                label_smoothing: eps,
            };
            let focal = FocalOptions {
                alpha: Some(&w[..]),
                gamma: 0.5 + 3.0 * eps,
                ignore_index: Some(-100),
            };
            for red in [Reduction::Mean, Reduction::Sum] {
                let mut g = vec![0.0; x.len()];
                cross_entropy_with_grad(&x, &t, cols, &opts, red, &mut g).unwrap();
                let mut gp = vec![0.0; x.len()];
                cross_entropy_probs_with_grad(&x, &pr, cols, &opts, red, &mut gp).unwrap();
                let mut gf = vec![0.0; x.len()];
                softmax_focal_loss_with_grad(&x, &t, cols, &focal, red, &mut gf).unwrap();
                let mut gn = vec![0.0; x.len()];
                let nopts = NllOptions {
                    weight: Some(&w[..]),
                    ignore_index: Some(-100),
                };
                nll_loss_with_grad(&x, &t, cols, &nopts, red, &mut gn).unwrap();
                for q in 0..x.len() {
                    let at = |v: f64| {
                        let mut xx = x.clone();
                        xx[q] = v;
                        xx
                    };
                    let n = central_difference(
                        |v| cross_entropy(&at(v), &t, cols, &opts, red).unwrap(),
                        x[q],
                    );
                    assert!(
                        (g[q] - n).abs() < 1e-8,
                        "ce cols {cols} q {q}: {} vs {n}",
                        g[q]
                    );
                    let n = central_difference(
                        |v| cross_entropy_probs(&at(v), &pr, cols, &opts, red).unwrap(),
                        x[q],
                    );
                    assert!(
                        (gp[q] - n).abs() < 1e-8,
                        "ce_probs cols {cols} q {q}: {} vs {n}",
                        gp[q]
                    );
                    let n = central_difference(
                        |v| softmax_focal_loss(&at(v), &t, cols, &focal, red).unwrap(),
                        x[q],
                    );
                    assert!(
                        (gf[q] - n).abs() < 1e-7,
                        "focal cols {cols} q {q}: {} vs {n}",
                        gf[q]
                    );
                    let n = central_difference(
                        |v| nll_loss(&at(v), &t, cols, &nopts, red).unwrap(),
                        x[q],
                    );
                    assert!(
                        (gn[q] - n).abs() < 1e-8,
                        "nll cols {cols} q {q}: {} vs {n}",
                        gn[q]
                    );
                }
            }
        }
    }
}

/// Probability targets: against MPFR (PyTorch: -Σ w_c t'_c logp_c, mean over rows).
fn probs_suite<T: Tf>() {
    let mut rng = Rng::new(23);
    let (mut wv, mut wg) = (Worst::default(), Worst::default());
    for &(cols, rows) in &[(1usize, 20usize), (3, 100), (8, 50), (9, 50), (1000, 4)] {
        for &(eps, weighted) in &[(0.0, false), (0.15, true)] {
            let x = gen_x::<T>(&mut rng, rows, cols, 10.0);
            // Soft labels: a random distribution per row.
            let mut tp = vec![T::ZERO; x.len()];
            for r in tp.chunks_mut(cols) {
                let raw: Vec<f64> = (0..cols).map(|_| rng.unit()).collect();
                let s: f64 = raw.iter().sum();
                for (d, v) in r.iter_mut().zip(&raw) {
                    *d = T::r(v / s);
                }
            }
            let wts: Vec<T> = (0..cols).map(|_| T::r(rng.uniform(0.1, 3.0))).collect();
            let opts = CrossEntropyOptions {
                weight: if weighted { Some(&wts[..]) } else { None },
                ignore_index: None,
                label_smoothing: T::r(eps),
            };
            let e: f64 = T::r(eps).into();
            let mut g = vec![T::ZERO; x.len()];
            let mean = cross_entropy_probs_with_grad(&x, &tp, cols, &opts, Reduction::Mean, &mut g)
                .unwrap();
            let mut total = m(0.0);
            for (i, row) in x.chunks(cols).enumerate() {
                let r64: Vec<f64> = row.iter().map(|&v| v.into()).collect();
                let lp = log_softmax_mp(&r64);
                let mut a = m(0.0);
                let cs: Vec<Mp> = (0..cols)
                    .map(|c| {
                        let tc: f64 = tp[i * cols + c].into();
                        let wc: f64 = if weighted { wts[c].into() } else { 1.0 };
                        (m(tc) * m(1.0 - e) + m(e / cols as f64)) * m(wc)
                    })
                    .collect();
                for c in 0..cols {
                    total -= Mp::with_val(MPFR_PREC, &cs[c] * &lp[c]);
                    a += &cs[c];
                }
                for c in 0..cols {
                    let p = Mp::with_val(MPFR_PREC, lp[c].exp_ref());
                    let want = (p * &a - &cs[c]) / m(rows as f64);
                    let q = i * cols + c;
                    let scale =
                        (lp[c].to_f64().exp() * a.to_f64()).max(cs[c].to_f64()) / rows as f64;
                    see_grad(&mut wg, g[q], &want, scale, T::pick(B_CE_PROBS));
                }
            }
            let want = total / m(rows as f64);
            wv.see(T::ulp(mean, &want), cols as f64, mean.into(), want.to_f64());
        }
    }
    assert_within(
        &format!("cross_entropy_probs {}", T::NAME),
        &wv,
        T::pick(B_CE_PROBS),
    );
    assert_within(
        &format!("cross_entropy_probs grad {}", T::NAME),
        &wg,
        T::pick(B_CE_PROBS),
    );
}

#[test]
fn cross_entropy_probs_both() {
    probs_suite::<f32>();
    probs_suite::<f64>();
}

fn nll_suite<T: Tf>() {
    let mut rng = Rng::new(29);
    let mut wv = Worst::default();
    for &(cols, rows) in &[(1usize, 50usize), (3, 300), (9, 100), (1000, 10)] {
        let x: Vec<T> = (0..rows * cols)
            .map(|_| T::r(-rng.uniform(0.0, 20.0)))
            .collect();
        let t = targets(&mut rng, rows, cols, Some(-100));
        let wts: Vec<T> = (0..cols).map(|_| T::r(rng.uniform(0.1, 3.0))).collect();
        let opts = NllOptions {
            weight: Some(&wts[..]),
            ignore_index: Some(-100),
        };
        let got = nll_loss(&x, &t, cols, &opts, Reduction::Mean).unwrap();
        let (mut s, mut d) = (m(0.0), m(0.0));
        for (i, &ti) in t.iter().enumerate() {
            if ti == -100 {
                continue;
            }
            let wt: f64 = wts[ti as usize].into();
            let v: f64 = x[i * cols + ti as usize].into();
            s -= m(wt) * m(v);
            d += m(wt);
        }
        let want = if d == 0 { m(0.0) } else { s / d };
        wv.see(T::ulp(got, &want), cols as f64, got.into(), want.to_f64());
    }
    assert_within(&format!("nll_loss {}", T::NAME), &wv, T::pick(B_NLL));
}

#[test]
fn nll_loss_both() {
    nll_suite::<f32>();
    nll_suite::<f64>();
}

/// Focal loss against MPFR: -α_t (1 - p_t)^γ log p_t, incl. saturated rows and γ < 1.
fn focal_suite<T: Tf>() {
    let mut rng = Rng::new(41);
    let (mut wv, mut wg) = (Worst::default(), Worst::default());
    let mut raw = 0.0f64;
    for &(cols, rows, spread) in &[
        (2usize, 300usize, 60.0),
        (3, 200, 10.0),
        (9, 100, 30.0),
        (1000, 4, 5.0),
    ] {
        for &gamma in &[0.0, 0.25, 0.5, 2.0, 5.0] {
            let x = gen_x::<T>(&mut rng, rows, cols, spread);
            let t = targets(&mut rng, rows, cols, None);
            let al: Vec<T> = (0..cols).map(|_| T::r(rng.uniform(0.1, 1.0))).collect();
            let opts = FocalOptions {
                alpha: Some(&al[..]),
                gamma: T::r(gamma),
                ignore_index: None,
            };
            let mut out = vec![T::ZERO; rows];
            let mut g = vec![T::ZERO; x.len()];
            softmax_focal_loss_none_with_grad(&x, &t, cols, &opts, &mut out, &mut g).unwrap();
            for (i, row) in x.chunks(cols).enumerate() {
                let r64: Vec<f64> = row.iter().map(|&v| v.into()).collect();
                let lp = log_softmax_mp(&r64);
                let k = t[i] as usize;
                let a: f64 = al[k].into();
                let q = -Mp::with_val(MPFR_PREC, lp[k].exp_m1_ref());
                let gm = m(gamma);
                let qg = Mp::with_val(MPFR_PREC, (&q).pow(&gm));
                let want = Mp::with_val(MPFR_PREC, -&lp[k]) * &qg * m(a);
                // f64: (1-p)^γ = e^{γ ln q} is evaluated in f64, so the rounding of γ ln q
                // (and of ln(-log p)) adds |γ ln q| + |ln(-lp)| f64 ULPs (documented); the
                // excess over that is held to the budget. f32 is computed in f64: no excess.
                let lq = q.to_f64().ln().abs();
                let lnlp = (-lp[k].to_f64()).ln().abs();
                let excess = if T::MANTISSA_DIGITS == 53 && gamma > 0.0 {
                    3.0 * (gamma * lq + (gamma - 1.0).abs() * lq + lnlp)
                } else {
                    0.0
                };
                if want.to_f64() > 0.0 || out[i].into() != 0.0 {
                    raw = raw.max(T::ulp(out[i], &want));
                    let u = (T::ulp(out[i], &want) - excess).max(0.0);
                    wv.see(u, r64[k], out[i].into(), want.to_f64());
                }
                // G = q^γ + γ p (-lp) q^{γ-1}.
                let pt = Mp::with_val(MPFR_PREC, lp[k].exp_ref());
                let gfac = if q.is_zero() {
                    m(if gamma == 0.0 { 1.0 } else { 0.0 })
                } else {
                    let qg1 = Mp::with_val(MPFR_PREC, (&q).pow(&m(gamma - 1.0)));
                    Mp::with_val(
                        MPFR_PREC,
                        &qg + pt * Mp::with_val(MPFR_PREC, -&lp[k]) * qg1 * m(gamma),
                    )
                };
                for c in 0..cols {
                    let want_g = if c == k {
                        Mp::with_val(MPFR_PREC, &q * &gfac) * m(-a)
                    } else {
                        Mp::with_val(MPFR_PREC, lp[c].exp_ref()) * &gfac * m(a)
                    };
                    let gg = g[i * cols + c];
                    assert!(gg.into().is_finite());
                    let u = (T::ulp(gg, &want_g) - excess).max(0.0);
                    wg.see(u, r64[c], gg.into(), want_g.to_f64());
                }
            }
        }
    }
    eprintln!(
        "softmax_focal_loss {}: raw max {raw:.3} ULP (before the exponent allowance)",
        T::NAME
    );
    assert_within(
        &format!("softmax_focal_loss {}", T::NAME),
        &wv,
        T::pick(B_FOCAL),
    );
    assert_within(
        &format!("softmax_focal_loss grad {}", T::NAME),
        &wg,
        T::pick(B_FOCAL),
    );
}

#[test]
fn focal_both() {
    focal_suite::<f32>();
    focal_suite::<f64>();
}

/// Saturated focal rows with γ < 1: finite values and gradients, relatively accurate.
#[test]
fn focal_saturated() {
    for gamma in [0.1f32, 0.5, 0.9, 1.0, 2.0] {
        let opts = FocalOptions {
            gamma,
            ..Default::default()
        };
        let mut out = [0.0f32];
        let mut g = [0.0f32; 2];
        softmax_focal_loss_none_with_grad(&[50.0f32, 0.0], &[0], 2, &opts, &mut out, &mut g)
            .unwrap();
        let q = (-50.0f64).exp(); // 1 - p ≈ -log p ≈ e^-50
        let want = q.powf(gamma as f64) * q;
        assert!(
            ulp_f32(out[0], want) <= 2.0,
            "gamma {gamma}: {:e} vs {want:e}",
            out[0]
        );
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        if 50.0 * (1.0 + gamma) < 100.0 {
            // The gradient ≈ (1+γ) e^{-50(1+γ)} is within f32's range: not flushed.
            assert!(g[0] < 0.0 && g[1] > 0.0, "{g:?}");
        }
        // Far beyond: the exact gradient (~e^-200(1+γ)) is below f32's range; still finite.
        softmax_focal_loss_none_with_grad(&[200.0f32, 0.0], &[0], 2, &opts, &mut out, &mut g)
            .unwrap();
        assert!(out[0].is_finite() && g.iter().all(|v| v.is_finite()));
    }
}

/// Row results do not depend on the batch around them (the per-row loss and gradient are
/// bit-identical), and the reduced value is deterministic.
#[test]
fn batch_independence() {
    let mut rng = Rng::new(55);
    for cols in 1..=19usize {
        let rows = 7;
        let x: Vec<f32> = (0..rows * cols)
            .map(|_| rng.uniform(-10.0, 10.0) as f32)
            .collect();
        let t = targets(&mut rng, rows, cols, Some(-100));
        let opts = CrossEntropyOptions {
            ignore_index: Some(-100),
            label_smoothing: 0.1,
            ..Default::default()
        };
        let mut out = vec![0.0f32; rows];
        let mut g = vec![0.0f32; x.len()];
        cross_entropy_none_with_grad(&x, &t, cols, &opts, &mut out, &mut g).unwrap();
        for r in 0..rows {
            let mut o1 = [0.0f32];
            let mut g1 = vec![0.0f32; cols];
            cross_entropy_none_with_grad(
                &x[r * cols..(r + 1) * cols],
                &t[r..r + 1],
                cols,
                &opts,
                &mut o1,
                &mut g1,
            )
            .unwrap();
            assert_eq!(o1[0].to_bits(), out[r].to_bits());
            assert!(
                g1.iter()
                    .zip(&g[r * cols..])
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
        let a = cross_entropy(&x, &t, cols, &opts, Reduction::Sum).unwrap();
        let b = cross_entropy(&x, &t, cols, &opts, Reduction::Sum).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

#[test]
fn errors_name_the_argument() {
    let x = [0.0f32; 6];
    let d = CrossEntropyOptions::default();
    let s = |e: nonlin::Error| e.to_string();
    assert!(s(cross_entropy(&x, &[0, 0], 0, &d, Reduction::Mean).unwrap_err()).contains("cols"));
    assert!(s(cross_entropy(&x, &[0, 0], 4, &d, Reduction::Mean).unwrap_err()).contains("cols"));
    assert!(s(cross_entropy(&x, &[0], 3, &d, Reduction::Mean).unwrap_err()).contains("targets"));
    let e = cross_entropy(&x, &[0, 3], 3, &d, Reduction::Mean).unwrap_err();
    assert!(matches!(
        e,
        nonlin::Error::IndexOutOfRange {
            arg: "targets",
            position: 1,
            index: 3,
            classes: 3
        }
    ));
    let e = cross_entropy(&x, &[-100, 0], 3, &d, Reduction::Mean).unwrap_err();
    assert!(s(e).contains("targets[0]"), "{}", s(e));
    let w = [1.0f32; 2];
    let o = CrossEntropyOptions {
        weight: Some(&w[..]),
        ..Default::default()
    };
    assert!(s(cross_entropy(&x, &[0, 0], 3, &o, Reduction::Mean).unwrap_err()).contains("weight"));
    let wn = [1.0f32, -1.0, 1.0];
    let o = CrossEntropyOptions {
        weight: Some(&wn[..]),
        ..Default::default()
    };
    assert!(s(cross_entropy(&x, &[0, 0], 3, &o, Reduction::Mean).unwrap_err()).contains("weight"));
    for ls in [-0.1f32, 1.5, f32::NAN] {
        let o = CrossEntropyOptions {
            label_smoothing: ls,
            ..Default::default()
        };
        assert!(
            s(cross_entropy(&x, &[0, 0], 3, &o, Reduction::Mean).unwrap_err())
                .contains("label_smoothing")
        );
        assert!(
            s(cross_entropy_probs(&x, &x, 3, &o, Reduction::Mean).unwrap_err())
                .contains("label_smoothing")
        );
    }
    let mut g = [7.0f32; 5];
    assert!(
        s(cross_entropy_with_grad(&x, &[0, 0], 3, &d, Reduction::Mean, &mut g).unwrap_err())
            .contains("grad")
    );
    assert_eq!(g, [7.0; 5], "nothing written on error");
    let mut g6 = [7.0f32; 6];
    assert!(cross_entropy_with_grad(&x, &[0, 9], 3, &d, Reduction::Mean, &mut g6).is_err());
    assert_eq!(g6, [7.0; 6], "nothing written on error");
    assert!(s(cross_entropy_none(&x, &[0, 0], 3, &d, &mut [0.0; 3]).unwrap_err()).contains("out"));
    assert!(
        s(cross_entropy_probs(&x, &x[..5], 3, &d, Reduction::Mean).unwrap_err()).contains("target")
    );
    for gamma in [-0.5f32, f32::NAN, f32::INFINITY] {
        let f = FocalOptions {
            gamma,
            ..Default::default()
        };
        assert!(
            s(softmax_focal_loss(&x, &[0, 0], 3, &f, Reduction::Mean).unwrap_err())
                .contains("gamma")
        );
    }
    let a = [1.0f32; 4];
    let f = FocalOptions {
        alpha: Some(&a[..]),
        ..Default::default()
    };
    assert!(
        s(softmax_focal_loss(&x, &[0, 0], 3, &f, Reduction::Mean).unwrap_err()).contains("alpha")
    );
    let n = NllOptions::<f32>::default();
    assert!(s(nll_loss(&x, &[0, -1], 3, &n, Reduction::Mean).unwrap_err()).contains("targets[1]"));
}
