//! Loss invariants on arbitrary data and options (f32): invalid parameters give `Err` and
//! never panic; non-negative losses are >= 0; finite inputs give finite values and
//! gradients; the fused gradient matches a central difference of the f64 loss where the
//! function is smooth; Sum = Mean * N.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nonlin::loss::{self, Reduction};

#[derive(Arbitrary, Debug)]
struct Case {
    which: u8,
    param: f64,
    param2: f64,
    pred: Vec<f32>,
    target: Vec<f32>,
    cols: u8,
    classes: Vec<i64>,
}

fn clamp_unit(v: f32) -> f32 {
    if v.is_finite() { v.abs().fract() } else { 0.5 }
}

fuzz_target!(|c: Case| {
    let n = c.pred.len().min(c.target.len()).min(200);
    let pred = &c.pred[..n];
    let target = &c.target[..n];
    let finite = pred
        .iter()
        .chain(target)
        .all(|v| v.is_finite() && v.abs() < 1e6);
    let mut grad = vec![0.0f32; n];
    let p = c.param as f32;
    let q = c.param2 as f32;
    let nonneg = |v: f32| assert!(v.is_nan() || v >= 0.0, "negative loss {v}");
    match c.which % 7 {
        0 => {
            let v = loss::mse_with_grad(pred, target, Reduction::Mean, &mut grad).unwrap();
            nonneg(v);
            if finite && n > 0 {
                assert!(v.is_finite() && grad.iter().all(|g| g.is_finite()));
                let s = loss::mse(pred, target, Reduction::Sum).unwrap();
                assert!(
                    (s as f64 - v as f64 * n as f64).abs() <= 1e-5 * (s as f64).abs().max(1e-30)
                );
            }
        }
        1 => {
            let r = loss::huber_with_grad(pred, target, p, Reduction::Sum, &mut grad);
            if !(p.is_finite() && p > 0.0) {
                assert!(r.is_err(), "huber delta {p} accepted");
            } else {
                nonneg(r.unwrap());
            }
        }
        2 => {
            let r = loss::smooth_l1_with_grad(pred, target, p, Reduction::Mean, &mut grad);
            if !(p.is_finite() && p >= 0.0) {
                assert!(r.is_err(), "smooth_l1 beta {p} accepted");
            } else {
                nonneg(r.unwrap());
            }
        }
        3 => {
            let t: Vec<f32> = target.iter().map(|&v| clamp_unit(v)).collect();
            let v =
                loss::bce_with_logits_with_grad(pred, &t, None, None, Reduction::Mean, &mut grad)
                    .unwrap();
            nonneg(v);
            if finite {
                assert!(v.is_finite() && grad.iter().all(|g| g.is_finite()));
                // Central difference of the f64 loss on the first element.
                if n > 0 && pred[0].abs() < 50.0 {
                    let x64: Vec<f64> = pred.iter().map(|&v| v as f64).collect();
                    let t64: Vec<f64> = t.iter().map(|&v| v as f64).collect();
                    let h = 1e-4;
                    let mut xp = x64.clone();
                    xp[0] += h;
                    let mut xm = x64.clone();
                    xm[0] -= h;
                    let fp = loss::bce_with_logits(&xp, &t64, None, None, Reduction::Mean).unwrap();
                    let fm = loss::bce_with_logits(&xm, &t64, None, None, Reduction::Mean).unwrap();
                    let fd = (fp - fm) / (2.0 * h);
                    assert!(
                        (fd - grad[0] as f64).abs() <= 1e-3 / n as f64 + 1e-3 * fd.abs(),
                        "bce_with_logits grad {} vs {fd}",
                        grad[0]
                    );
                }
            }
        }
        4 => {
            let t: Vec<f32> = target.iter().map(|&v| clamp_unit(v)).collect();
            let r = loss::sigmoid_focal_loss_with_grad(pred, &t, p, q, Reduction::Sum, &mut grad);
            let alpha_ok = p.is_finite() && p <= 1.0;
            let gamma_ok = q.is_finite() && q >= 0.0;
            if !(alpha_ok && gamma_ok) {
                assert!(r.is_err(), "focal alpha {p} gamma {q} accepted");
            } else {
                let v = r.unwrap();
                nonneg(v);
                if finite && q < 10.0 {
                    assert!(
                        v.is_finite() && grad.iter().all(|g| g.is_finite()),
                        "focal not finite: {v}"
                    );
                }
            }
        }
        5 => {
            let bad: Vec<f32> = pred.to_vec();
            let r = loss::bce(&bad, target, None, Reduction::Mean);
            let in_range = bad.iter().all(|v| v.is_nan() || (0.0..=1.0).contains(v));
            let t_ok = target.iter().all(|v| v.is_nan() || (0.0..=1.0).contains(v));
            if !in_range {
                assert!(r.is_err(), "bce accepted a probability outside [0, 1]");
            } else if t_ok && let Ok(v) = r {
                nonneg(v)
            }
        }
        _ => {
            // Cross-entropy with class indices, arbitrary (possibly out of range) targets.
            let cols = (c.cols as usize % 12) + 1;
            let rows = n / cols;
            let logits = &pred[..rows * cols];
            let targets: Vec<i64> = c.classes.iter().take(rows).cloned().collect();
            let opts = loss::CrossEntropyOptions {
                weight: None,
                ignore_index: Some(-100),
                label_smoothing: clamp_unit(p),
            };
            let mut g = vec![0.0f32; rows * cols];
            let r = loss::cross_entropy_with_grad(
                logits,
                &targets,
                cols,
                &opts,
                Reduction::Mean,
                &mut g,
            );
            let valid = targets.len() == rows
                && targets
                    .iter()
                    .all(|&t| t == -100 || (0..cols as i64).contains(&t));
            if !valid {
                assert!(r.is_err(), "cross_entropy accepted bad targets");
            } else {
                let v = r.unwrap();
                nonneg(v);
                if finite {
                    assert!(v.is_finite() && g.iter().all(|x| x.is_finite()));
                }
            }
        }
    }
});
