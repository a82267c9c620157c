//! bce, bce_with_logits and sigmoid_focal_loss: per-term accuracy (f32 against a stable f64
//! reference, f64 against MPFR), gradients, the tail cases of the issue, special values,
//! weights and pos_weight, reductions, position independence, errors, and the committed
//! mpmath vectors.

use nonlin::loss::{self, Reduction};
use nonlin_tests::*;
use rug::Float as Mp;

// Budgets in ULP per element term (f32, f64). The shared table (tests/src/budgets.rs) has
// no loss entries yet; these are the published numbers of the rustdoc.
const BCE_LOGITS: (f64, f64) = (3.0, 3.0);
const BCE_LOGITS_GRAD: (f64, f64) = (4.0, 4.0);
const BCE: (f64, f64) = (3.0, 3.0);
const BCE_GRAD: (f64, f64) = (3.0, 3.0);
const FOCAL: (f64, f64) = (6.0, 6.0);
const FOCAL_GRAD: (f64, f64) = (8.0, 8.0);
// Soft labels: these plus 2 gamma |ln(1 - p_t)| ULP (gradient: of its terms' scale).
const FOCAL_SOFT: (f64, f64) = (8.0, 8.0);
const FOCAL_GRAD_SOFT: (f64, f64) = (10.0, 10.0);

// ------------------------------------------------------------------ references

fn sp(x: f64) -> f64 {
    // softplus(x) = max(x, 0) + log1p(exp(-|x|))
    x.max(0.0) + libm::log1p(libm::exp(-x.abs()))
}
fn sig(x: f64) -> f64 {
    nonlin::scalar::sigmoid(x)
}
fn bce_logits_ref(x: f64, t: f64) -> f64 {
    let a = if t == 0.0 { 0.0 } else { t * sp(-x) };
    let b = if t == 1.0 { 0.0 } else { (1.0 - t) * sp(x) };
    a + b
}
fn bce_logits_grad_ref(x: f64, t: f64) -> (f64, f64) {
    // (value, scale of the terms)
    let a = (1.0 - t) * sig(x);
    let b = t * sig(-x);
    (a - b, a.abs() + b.abs())
}
fn bce_ref(p: f64, t: f64) -> f64 {
    let lp = libm::log(p).max(-100.0);
    let lq = libm::log1p(-p).max(-100.0);
    -(t * lp + (1.0 - t) * lq)
}
fn bce_grad_ref(p: f64, t: f64) -> f64 {
    (p - t) / (p * (1.0 - p)).max(1e-12)
}
/// ln(1 - p_t) in log space: logaddexp(ln(1-t) + ln σ(x), ln t + ln σ(-x)).
fn focal_lnq(x: f64, t: f64) -> f64 {
    let a = if t == 1.0 {
        f64::NEG_INFINITY
    } else {
        libm::log1p(-t) - sp(-x)
    };
    let b = if t == 0.0 {
        f64::NEG_INFINITY
    } else {
        libm::log(t) - sp(x)
    };
    let m = a.max(b);
    m + libm::log1p(libm::exp(-(a - b).abs()))
}
fn focal_ref(x: f64, t: f64, alpha: f64, gamma: f64) -> f64 {
    let at = if alpha >= 0.0 {
        alpha * t + (1.0 - alpha) * (1.0 - t)
    } else {
        1.0
    };
    let qg = if gamma == 0.0 {
        1.0
    } else {
        libm::exp(gamma * focal_lnq(x, t))
    };
    at * bce_logits_ref(x, t) * qg
}
/// (value, scale) of the focal gradient.
fn focal_grad_ref(x: f64, t: f64, alpha: f64, gamma: f64) -> (f64, f64) {
    let at = if alpha >= 0.0 {
        alpha * t + (1.0 - alpha) * (1.0 - t)
    } else {
        1.0
    };
    let lnq = focal_lnq(x, t);
    let qg = if gamma == 0.0 {
        1.0
    } else {
        libm::exp(gamma * lnq)
    };
    let s = sig(x);
    let sn = sig(-x);
    let a = (1.0 - t) * s - t * sn;
    let a_scale = ((1.0 - t) * s).abs() + (t * sn).abs();
    // σ σ̄ / q = exp(ln σ + ln σ̄ - ln q)
    let r = libm::exp(-sp(-x) - sp(x) - lnq);
    let b = if x.is_infinite() {
        0.0
    } else {
        gamma * bce_logits_ref(x, t) * (1.0 - 2.0 * t) * r
    };
    (at * qg * (a + b), (at * qg * (a_scale + b.abs())).abs())
}

fn mpf(x: f64) -> Mp {
    mp(x)
}
/// -ln σ(x) = ln(1 + e^-x), in MPFR without the rounding of 1 + e^-x.
fn sp_neg_mp(x: &Mp) -> Mp {
    // softplus(-x)
    if *x >= 0 {
        Mp::with_val(MPFR_PREC, -x).exp().ln_1p()
    } else {
        let e = Mp::with_val(MPFR_PREC, x).exp().ln_1p();
        Mp::with_val(MPFR_PREC, -x) + e
    }
}
fn bce_logits_mp(x: f64, t: f64) -> Mp {
    let xm = mpf(x);
    let a = if t == 0.0 {
        mpf(0.0)
    } else {
        Mp::with_val(MPFR_PREC, t) * sp_neg_mp(&xm)
    };
    let b = if t == 1.0 {
        mpf(0.0)
    } else {
        Mp::with_val(MPFR_PREC, 1.0 - mpf(t)) * sp_neg_mp(&Mp::with_val(MPFR_PREC, -&xm))
    };
    a + b
}
fn focal_mp(x: f64, t: f64, alpha: f64, gamma: f64) -> Mp {
    let xm = mpf(x);
    let tm = mpf(t);
    let omt = Mp::with_val(MPFR_PREC, 1.0 - &tm);
    let ls = -sp_neg_mp(&xm); // ln σ(x)
    let lsn = -sp_neg_mp(&Mp::with_val(MPFR_PREC, -&xm)); // ln σ(-x)
    // q = (1 - t) σ(x) + t σ(-x), in log space
    let a = Mp::with_val(MPFR_PREC, omt.clone().ln() + &ls);
    let b = Mp::with_val(MPFR_PREC, tm.clone().ln() + &lsn);
    let lnq = if t == 1.0 {
        b
    } else if t == 0.0 {
        a
    } else {
        let m = if a > b { a.clone() } else { b.clone() };
        let d = Mp::with_val(MPFR_PREC, &a - &b).abs();
        m + Mp::with_val(MPFR_PREC, -d).exp().ln_1p()
    };
    let qg = if gamma == 0.0 {
        mpf(1.0)
    } else {
        Mp::with_val(MPFR_PREC, lnq * gamma).exp()
    };
    let at = if alpha >= 0.0 {
        Mp::with_val(MPFR_PREC, &tm * alpha) + Mp::with_val(MPFR_PREC, &omt * (1.0 - alpha))
    } else {
        mpf(1.0)
    };
    at * bce_logits_mp(x, t) * qg
}
fn bce_mp(p: f64, t: f64) -> Mp {
    let pm = mpf(p);
    let mut lp = pm.clone().ln();
    if lp < -100 {
        lp = mpf(-100.0);
    }
    let mut lq = Mp::with_val(MPFR_PREC, -&pm).ln_1p();
    if lq < -100 {
        lq = mpf(-100.0);
    }
    let omt = Mp::with_val(MPFR_PREC, 1.0 - mpf(t));
    -(Mp::with_val(MPFR_PREC, t) * lp + omt * lq)
}

// ------------------------------------------------------------------ input sets

/// Targets that matter: hard labels, 1/2, the issue's 3e-8, near-1, and a few soft ones.
fn targets_f32() -> Vec<f32> {
    vec![
        0.0,
        1.0,
        0.5,
        3e-8,
        1.0 - f32::EPSILON / 2.0,
        0.1,
        0.9,
        0.3,
        1e-20,
    ]
}

fn logits_f32() -> Vec<f32> {
    let mut v = range_f32(-120.0, 120.0, 16381);
    v.extend(range_f32(-1.0, 1.0, 32749));
    v.extend([
        -17.3f32, 17.3, 88.7, -88.7, 103.9, -103.9, 200.0, -200.0, 1e4, -1e4,
    ]);
    v
}

fn pairs_f32() -> (Vec<f32>, Vec<f32>) {
    let xs = logits_f32();
    let ts = targets_f32();
    let mut px = Vec::with_capacity(xs.len() * ts.len());
    let mut pt = Vec::with_capacity(xs.len() * ts.len());
    for &t in &ts {
        for &x in &xs {
            px.push(x);
            pt.push(t);
        }
    }
    (px, pt)
}

/// f64 pairs for MPFR: n logits (log-uniform magnitudes and uniform in [-60, 60]) with
/// targets cycling through hard, half and random soft labels.
fn pairs_f64(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let xs = sample_f64(n, -60, 10, 60.0, seed);
    let mut r = Rng::new(seed + 100);
    let ts: Vec<f64> = (0..xs.len())
        .map(|i| match i % 5 {
            0 => 0.0,
            1 => 1.0,
            2 => 0.5,
            3 => r.unit(),
            _ => 1e-18,
        })
        .collect();
    (xs, ts)
}

fn measure2_f32(
    xs: &[f32],
    ts: &[f32],
    got: &[f32],
    reference: impl Fn(f64, f64) -> f64,
    mut skip: impl FnMut(f64, f64) -> bool,
) -> Worst {
    let mut w = Worst::default();
    for ((&x, &t), &y) in xs.iter().zip(ts).zip(got) {
        let (x, t) = (x as f64, t as f64);
        if skip(x, t) {
            continue;
        }
        let want = reference(x, t);
        w.see(ulp_f32(y, want), x, y as f64, want);
    }
    w
}

// ------------------------------------------------------------------ bce_with_logits

#[test]
fn bce_with_logits_f32_accuracy() {
    let (xs, ts) = pairs_f32();
    let mut out = vec![0.0f32; xs.len()];
    let mut g = vec![0.0f32; xs.len()];
    loss::bce_with_logits_none_with_grad(&xs, &ts, None, None, &mut out, &mut g).unwrap();
    let w = measure2_f32(&xs, &ts, &out, bce_logits_ref, |x, _| x.abs() > 1e3);
    assert_within("bce_with_logits f32", &w, BCE_LOGITS.0);
    // Gradient: ULP where the two products do not cancel (hard labels: one of them is 0);
    // relative to their scale elsewhere.
    let w = measure2_f32(
        &xs,
        &ts,
        &g,
        |x, t| bce_logits_grad_ref(x, t).0,
        |_, t| t != 0.0 && t != 1.0,
    );
    assert_within(
        "bce_with_logits grad f32 (hard labels)",
        &w,
        BCE_LOGITS_GRAD.0,
    );
    let mut worst = 0.0f64;
    for ((&x, &t), &gi) in xs.iter().zip(&ts).zip(&g) {
        let (v, s) = bce_logits_grad_ref(x as f64, t as f64);
        let e = (gi as f64 - v).abs() / (ulp_of_f32(s) * 1.0);
        worst = worst.max(e);
    }
    eprintln!("bce_with_logits grad f32 (soft labels): max {worst:.3} ULP of the terms' scale");
    assert!(worst <= BCE_LOGITS_GRAD.0);
}

#[test]
fn bce_with_logits_issue_case() {
    // PyTorch f32: 2.4e7 ULP wrong here (max(x,0) - x t + log1p(e^-|x|) form).
    let mut o = [0.0f32];
    loss::bce_with_logits_none(&[-17.3f32], &[3e-8], None, None, &mut o).unwrap();
    let want = bce_logits_ref(-17.3f32 as f64, 3e-8f32 as f64);
    let u = ulp_f32(o[0], want);
    eprintln!(
        "bce_with_logits(-17.3, 3e-8) f32 = {:e} (want {want:e}, {u:.3} ULP)",
        o[0]
    );
    assert!(u <= 1.0, "{u}");
    // The cancelling form, for the record.
    let (x, t) = (-17.3f32, 3e-8f32);
    let bad = x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
    let bad2 =
        (1.0 - t) * x + (-x).max(0.0) + ((-(-x).max(0.0)).exp() + (-x - (-x).max(0.0)).exp()).ln();
    eprintln!(
        "  cancelling forms: {:e} ({:.3e} ULP), PyTorch's: {:e} ({:.3e} ULP)",
        bad,
        ulp_f32(bad, want),
        bad2,
        ulp_f32(bad2, want)
    );
    // Saturated gradient keeps relative accuracy: t = 1, x = 30 → -σ(-30).
    let mut g = [0.0f32];
    loss::bce_with_logits_none_with_grad(&[30.0f32], &[1.0], None, None, &mut o, &mut g).unwrap();
    assert!(ulp_f32(g[0], -sig(-30.0)) <= 2.0, "{}", g[0]);
    assert!(ulp_f32(o[0], sp(-30.0)) <= 2.0, "{}", o[0]);
}

#[test]
fn bce_with_logits_f64_mpfr() {
    let (xs, ts) = pairs_f64(1_000_000, 3);
    let mut out = vec![0.0f64; xs.len()];
    loss::bce_with_logits_none(&xs, &ts, None, None, &mut out).unwrap();
    let mut w = Worst::default();
    for ((&x, &t), &y) in xs.iter().zip(&ts).zip(&out) {
        if !x.is_finite() || x.abs() > 1e300 {
            continue;
        }
        let want = bce_logits_mp(x, t);
        w.see(ulp_f64(y, &want), x, y, want.to_f64());
    }
    assert_within("bce_with_logits f64", &w, BCE_LOGITS.1);
}

#[test]
fn bce_with_logits_f64_grad() {
    // Against the stable closed form in MPFR-free f64 is not enough for f64: use MPFR
    // sigmoids.
    let (xs, ts) = pairs_f64(200_000, 4);
    let mut out = vec![0.0f64; xs.len()];
    let mut g = vec![0.0f64; xs.len()];
    loss::bce_with_logits_none_with_grad(&xs, &ts, None, None, &mut out, &mut g).unwrap();
    let mut w = Worst::default();
    for ((&x, &t), &gi) in xs.iter().zip(&ts).zip(&g) {
        if !x.is_finite() {
            continue;
        }
        let xm = mpf(x);
        let s = Mp::with_val(MPFR_PREC, 1) / (Mp::with_val(MPFR_PREC, -&xm).exp() + 1u32);
        let sn = Mp::with_val(MPFR_PREC, 1) / (xm.clone().exp() + 1u32);
        let a = Mp::with_val(MPFR_PREC, 1.0 - mpf(t)) * s;
        let b = Mp::with_val(MPFR_PREC, t) * sn;
        let want = Mp::with_val(MPFR_PREC, &a - &b);
        let scale =
            (Mp::with_val(MPFR_PREC, a.abs_ref()) + Mp::with_val(MPFR_PREC, b.abs_ref())).to_f64();
        let u = if t == 0.0 || t == 1.0 {
            ulp_f64(gi, &want)
        } else {
            (gi - want.to_f64()).abs() / (scale * f64::EPSILON / 2.0).max(f64::from_bits(1))
        };
        w.see(u, x, gi, want.to_f64());
    }
    assert_within("bce_with_logits grad f64", &w, BCE_LOGITS_GRAD.1);
}

#[test]
fn bce_with_logits_grad_central_difference() {
    for &t in &[0.0, 1.0, 0.3, 0.95] {
        for i in -200..200 {
            let x = i as f64 * 0.1 + 0.05;
            let mut o = [0.0f64];
            let mut g = [0.0f64];
            loss::bce_with_logits_none_with_grad(
                &[x],
                &[t],
                Some(&[1.5]),
                Some(&[2.5]),
                &mut o,
                &mut g,
            )
            .unwrap();
            let fd = central_difference(|x| 1.5 * (2.5 * t * sp(-x) + (1.0 - t) * sp(x)), x);
            approx::assert_relative_eq!(g[0], fd, epsilon = 1e-9, max_relative = 1e-6);
            // closed form with pos_weight: σ(x)(pw t + 1 - t) - pw t
            let cf = 1.5 * (sig(x) * (2.5 * t + 1.0 - t) - 2.5 * t);
            approx::assert_relative_eq!(g[0], cf, epsilon = 1e-12, max_relative = 1e-9);
        }
    }
}

#[test]
fn bce_with_logits_weights_and_pos_weight() {
    // 3 rows x 4 classes.
    let x: Vec<f64> = (0..12).map(|i| i as f64 * 0.7 - 4.0).collect();
    let t: Vec<f64> = (0..12).map(|i| [0.0, 1.0, 0.25, 1.0][i % 4]).collect();
    let w: Vec<f64> = (0..12).map(|i| 0.5 + i as f64 * 0.1).collect();
    let pw = [1.0, 2.0, 0.5, 3.0];
    let mut o = vec![0.0; 12];
    let mut g = vec![0.0; 12];
    loss::bce_with_logits_none_with_grad(&x, &t, Some(&w), Some(&pw), &mut o, &mut g).unwrap();
    let mut sum = 0.0;
    for i in 0..12 {
        let p = pw[i % 4];
        let want = w[i] * (p * t[i] * sp(-x[i]) + (1.0 - t[i]) * sp(x[i]));
        approx::assert_relative_eq!(o[i], want, max_relative = 1e-14);
        let gw = w[i] * (sig(x[i]) * (p * t[i] + 1.0 - t[i]) - p * t[i]);
        approx::assert_relative_eq!(g[i], gw, max_relative = 1e-12, epsilon = 1e-15);
        sum += want;
    }
    let s = loss::bce_with_logits(&x, &t, Some(&w), Some(&pw), Reduction::Sum).unwrap();
    let m = loss::bce_with_logits(&x, &t, Some(&w), Some(&pw), Reduction::Mean).unwrap();
    approx::assert_relative_eq!(s, sum, max_relative = 1e-14);
    // PyTorch: the mean divides by the element count, not the weight sum.
    approx::assert_relative_eq!(m, sum / 12.0, max_relative = 1e-14);
    // pos_weight broadcasting crosses lane and block boundaries consistently.
    let n = 3 * 4096 + 21; // 3 classes, 4103 rows... must divide
    let n = n - n % 3;
    let xs: Vec<f32> = (0..n)
        .map(|i| ((i * 37) % 101) as f32 * 0.2 - 10.0)
        .collect();
    let ts: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
    let pw3 = [0.5f32, 2.0, 7.0];
    let mut o = vec![0.0f32; n];
    loss::bce_with_logits_none(&xs, &ts, None, Some(&pw3), &mut o).unwrap();
    for i in (0..n).step_by(97) {
        let mut one = [0.0f32];
        loss::bce_with_logits_none(
            &xs[i..i + 1],
            &ts[i..i + 1],
            None,
            Some(&pw3[i % 3..i % 3 + 1]),
            &mut one,
        )
        .unwrap();
        assert_eq!(o[i].to_bits(), one[0].to_bits(), "index {i}");
    }
    let mut gsum = vec![0.0f32; n];
    let total =
        loss::bce_with_logits_with_grad(&xs, &ts, None, Some(&pw3), Reduction::Sum, &mut gsum)
            .unwrap();
    let want: f64 = o.iter().map(|&v| v as f64).sum();
    approx::assert_relative_eq!(total as f64, want, max_relative = 1e-6);
}

#[test]
fn bce_with_logits_subnormal_pos_weight_times_target_f32() {
    // f32 pw t = 1e-30 * 1e-15 is below the normal range (rounded to 1.4e-45, 40% off). At
    // x = -87 the other term, (1 - t) softplus(x) = 1.6e-38, is a normal number only 2e5
    // times larger, so the rounded pw t alone put the loss 20 ULP off (a weight of 1e30
    // scales both terms alike). Below x = -87.3 softplus(x) is itself subnormal, a
    // different, documented limit. Reference: the same formula in f64 on the f32 inputs.
    let (pw, t, w) = (1e-30f32, 1e-15f32, 1e30f32);
    for x in [-87.0f32, -86.5, -86.0, -60.0, 0.0, 3.0] {
        // Lanes of 8: the element sits among ordinary ones, which must keep their bits.
        let xs = [x, 1.0, -2.0, x, 0.5, -3.0, x, 2.0, x];
        let ts = [t, 0.5, 0.25, t, 1.0, 0.0, t, 0.75, t];
        let ws = [w, 1.0, 2.0, w, 0.5, 1.0, w, 3.0, w];
        let (mut o, mut g) = ([0.0f32; 9], [0.0f32; 9]);
        loss::bce_with_logits_none_with_grad(&xs, &ts, Some(&ws), Some(&[pw]), &mut o, &mut g)
            .unwrap();
        for i in 0..9 {
            let (xi, ti, wi, pi) = (xs[i] as f64, ts[i] as f64, ws[i] as f64, pw as f64);
            let omt = (1.0 - ts[i]) as f64;
            let want = wi * (pi * ti * sp(-xi) + omt * sp(xi));
            let gw = wi * (omt * sig(xi) - pi * ti * sig(-xi));
            let (e, eg) = (ulp_f32(o[i], want), ulp_f32(g[i], gw));
            assert!(
                e <= BCE_LOGITS.0,
                "x = {xi}, i = {i}: loss {} vs {want:e}: {e} ULP",
                o[i]
            );
            assert!(
                eg <= BCE_LOGITS_GRAD.0,
                "x = {xi}, i = {i}: grad {} vs {gw:e}: {eg} ULP",
                g[i]
            );
            // Each element as a one-element call: the same bits (position independence).
            let (mut o1, mut g1) = ([0.0f32], [0.0f32]);
            loss::bce_with_logits_none_with_grad(
                &xs[i..i + 1],
                &ts[i..i + 1],
                Some(&ws[i..i + 1]),
                Some(&[pw]),
                &mut o1,
                &mut g1,
            )
            .unwrap();
            assert_eq!(o1[0].to_bits(), o[i].to_bits());
            assert_eq!(g1[0].to_bits(), g[i].to_bits());
        }
    }
}

// ------------------------------------------------------------------ bce (probabilities)

fn probs_f32() -> Vec<f32> {
    let mut v = range_f32(0.0, 1.0, 2039);
    v.extend([
        0.0f32,
        1.0,
        1e-45,
        1e-40,
        3.7e-44,
        1.0 - f32::EPSILON / 2.0,
        0.5,
    ]);
    v
}

#[test]
fn bce_f32_accuracy() {
    let ps = probs_f32();
    let mut w = Worst::default();
    let mut wg = Worst::default();
    for &t in &targets_f32() {
        let ts = vec![t; ps.len()];
        let mut o = vec![0.0f32; ps.len()];
        let mut g = vec![0.0f32; ps.len()];
        loss::bce_none_with_grad(&ps, &ts, None, &mut o, &mut g).unwrap();
        let w1 = measure2_f32(&ps, &ts, &o, bce_ref, |_, _| false);
        w.see(w1.ulp, w1.at, w1.got, w1.want);
        // Gradient in ULP away from the 1e-12 floor.
        let w2 = measure2_f32(&ps, &ts, &g, bce_grad_ref, |p, _| p * (1.0 - p) < 1e-12);
        wg.see(w2.ulp, w2.at, w2.got, w2.want);
    }
    assert_within("bce f32", &w, BCE.0);
    assert_within("bce grad f32", &wg, BCE_GRAD.0);
}

#[test]
fn bce_f64_mpfr() {
    let mut r = Rng::new(5);
    let n = 1_000_000;
    let ps: Vec<f64> = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                libm::exp2(r.uniform(-1074.0, 0.0))
            } else {
                1.0 - libm::exp2(r.uniform(-53.0, -1.0))
            }
        })
        .collect();
    let ts: Vec<f64> = (0..n)
        .map(|i| match i % 4 {
            0 => 0.0,
            1 => 1.0,
            2 => 0.5,
            _ => r.unit(),
        })
        .collect();
    let mut o = vec![0.0f64; n];
    let mut g = vec![0.0f64; n];
    loss::bce_none_with_grad(&ps, &ts, None, &mut o, &mut g).unwrap();
    let mut w = Worst::default();
    let mut wg = Worst::default();
    for i in 0..n {
        let want = bce_mp(ps[i], ts[i]);
        w.see(ulp_f64(o[i], &want), ps[i], o[i], want.to_f64());
        let (p, t) = (ps[i], ts[i]);
        if p * (1.0 - p) >= 1e-12 {
            let pm = mpf(p);
            let den = Mp::with_val(MPFR_PREC, &pm * Mp::with_val(MPFR_PREC, 1.0 - &pm));
            let gm = Mp::with_val(MPFR_PREC, &pm - t) / den;
            wg.see(ulp_f64(g[i], &gm), p, g[i], gm.to_f64());
        }
    }
    assert_within("bce f64", &w, BCE.1);
    assert_within("bce grad f64", &wg, BCE_GRAD.1);
}

#[test]
fn bce_clamp_and_specials() {
    let p = [0.0f32, 1.0, 0.0, 1.0, f32::NAN, 0.5];
    let t = [1.0f32, 0.0, 0.0, 1.0, 1.0, f32::NAN];
    let mut o = [0.0f32; 6];
    let mut g = [0.0f32; 6];
    loss::bce_none_with_grad(&p, &t, None, &mut o, &mut g).unwrap();
    assert_eq!(&o[..4], &[100.0, 100.0, 0.0, 0.0]);
    assert!(o[4].is_nan() && o[5].is_nan() && g[4].is_nan() && g[5].is_nan());
    // PyTorch's floor: (p - t) / max(p (1 - p), 1e-12)
    assert_eq!(g[0], (-1.0f32 / 1e-12f32));
    assert_eq!(g[1], 1.0f32 / 1e-12f32);
    assert_eq!((g[2], g[3]), (0.0, 0.0));
    // weights scale the term
    let mut ow = [0.0f64];
    loss::bce_none(&[0.25], &[1.0], Some(&[3.0]), &mut ow).unwrap();
    approx::assert_relative_eq!(ow[0], 3.0 * 4.0f64.ln(), max_relative = 1e-15);
}

#[test]
fn bce_grad_central_difference() {
    for &t in &[0.0, 1.0, 0.3] {
        for i in 1..200 {
            let p = i as f64 / 200.0;
            let mut o = [0.0f64];
            let mut g = [0.0f64];
            loss::bce_none_with_grad(&[p], &[t], None, &mut o, &mut g).unwrap();
            let h = 1e-7;
            let fd = (bce_ref(p + h, t) - bce_ref(p - h, t)) / (2.0 * h);
            approx::assert_relative_eq!(g[0], fd, epsilon = 1e-6, max_relative = 1e-6);
        }
    }
}

// ------------------------------------------------------------------ focal

const GAMMAS: [f64; 5] = [0.0, 0.25, 0.5, 2.0, 4.0];

#[test]
fn focal_f32_accuracy() {
    let (xs, ts) = pairs_f32();
    for &gamma in &GAMMAS {
        for &alpha in &[0.25f64, -1.0] {
            let mut o = vec![0.0f32; xs.len()];
            let mut g = vec![0.0f32; xs.len()];
            loss::sigmoid_focal_loss_none_with_grad(
                &xs,
                &ts,
                alpha as f32,
                gamma as f32,
                &mut o,
                &mut g,
            )
            .unwrap();
            let hard = |_: f64, t: f64| t != 0.0 && t != 1.0;
            let w = measure2_f32(&xs, &ts, &o, |x, t| focal_ref(x, t, alpha, gamma), hard);
            assert_within(
                &format!("focal f32 hard (alpha {alpha}, gamma {gamma})"),
                &w,
                FOCAL.0,
            );
            // Soft labels: bound grows with gamma |ln q|.
            let mut worst = 0.0f64;
            for ((&x, &t), &y) in xs.iter().zip(&ts).zip(&o) {
                let (x, t) = (x as f64, t as f64);
                if t == 0.0 || t == 1.0 {
                    continue;
                }
                let u = ulp_f32(y, focal_ref(x, t, alpha, gamma));
                let allowed = FOCAL_SOFT.0 + 2.0 * gamma * focal_lnq(x, t).abs();
                if u / allowed > worst {
                    worst = u / allowed;
                    if worst > 0.9 {
                        eprintln!(
                            "  focal f32 soft {worst:.3}: x {x:e} t {t:e} gamma {gamma} ({u:.2} ULP)"
                        );
                    }
                }
            }
            eprintln!("focal f32 soft (alpha {alpha}, gamma {gamma}): max {worst:.3} of the bound");
            assert!(worst <= 1.0);
            // Gradient: hard labels in ULP.
            let w = measure2_f32(
                &xs,
                &ts,
                &g,
                |x, t| focal_grad_ref(x, t, alpha, gamma).0,
                hard,
            );
            assert_within(
                &format!("focal grad f32 hard (alpha {alpha}, gamma {gamma})"),
                &w,
                FOCAL_GRAD.0,
            );
            let mut worst = 0.0f64;
            for ((&x, &t), &gi) in xs.iter().zip(&ts).zip(&g) {
                let (x, t) = (x as f64, t as f64);
                if t == 0.0 || t == 1.0 {
                    continue;
                }
                let (v, s) = focal_grad_ref(x, t, alpha, gamma);
                let allowed =
                    (FOCAL_GRAD_SOFT.0 + 2.0 * gamma * focal_lnq(x, t).abs()) * ulp_of_f32(s);
                worst = worst.max((gi as f64 - v).abs() / allowed.max(f32::from_bits(1) as f64));
            }
            eprintln!(
                "focal grad f32 soft (alpha {alpha}, gamma {gamma}): max {worst:.3} of the bound"
            );
            assert!(worst <= 1.0);
        }
    }
}

#[test]
fn focal_f64_mpfr() {
    let (xs, ts) = pairs_f64(1_000_000, 6);
    let mut w = Worst::default();
    let mut soft = 0.0f64;
    for (k, &gamma) in GAMMAS.iter().enumerate() {
        // Spread the million inputs over the gammas (each element once).
        let idx: Vec<usize> = (k..xs.len()).step_by(GAMMAS.len()).collect();
        let x: Vec<f64> = idx.iter().map(|&i| xs[i]).collect();
        let t: Vec<f64> = idx.iter().map(|&i| ts[i]).collect();
        let mut o = vec![0.0f64; x.len()];
        loss::sigmoid_focal_loss_none(&x, &t, 0.25, gamma, &mut o).unwrap();
        // (The MPFR references dominate: computed on two threads.)
        let idx: Vec<usize> = (0..x.len()).filter(|&i| x[i].is_finite()).collect();
        let wants = par_map(&idx, |&i| focal_mp(x[i], t[i], 0.25, gamma));
        for (&i, want) in idx.iter().zip(wants) {
            let u = ulp_f64(o[i], &want);
            if t[i] == 0.0 || t[i] == 1.0 {
                w.see(u, x[i], o[i], want.to_f64());
            } else {
                let r = u / (FOCAL_SOFT.1 + 2.0 * gamma * focal_lnq(x[i], t[i]).abs());
                if r > soft {
                    soft = r;
                    eprintln!(
                        "  focal f64 soft: {r:.3} at x {:e} t {:e} gamma {gamma} ({u:.2} ULP)",
                        x[i], t[i]
                    );
                }
            }
        }
    }
    assert_within("focal f64 hard", &w, FOCAL.1);
    eprintln!("focal f64 soft: max {soft:.3} of the bound");
    assert!(soft <= 1.0);
}

/// Soft labels with large gamma, where the rounding of `ln q` is multiplied by gamma: the
/// documented `8 + 2 gamma |ln q|` ULP must hold with `q` near 1 (soft labels far below
/// 1/2 on the confident side, `ln q` of order `t + e^-|x|`) and near 1/2. Random logits
/// (uniform in [-100, 100], log-uniform magnitudes, [-8, 8]) against targets uniform, tiny
/// (down to 1e-44, subnormal), within 1e-8 of 1 and in [0, 0.2]. f32 against the f64
/// reference (its own error, `gamma |ln q| 2^-52`, is below 1e-6 of an f32 ULP for the
/// gammas here), value and gradient; f64 against MPFR on a smaller sample.
#[test]
fn focal_soft_labels_large_gamma() {
    let mut r = Rng::new(7);
    let n = 200_000;
    let mut xs = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    for i in 0..n {
        let x = match i % 3 {
            0 => r.uniform(-100.0, 100.0),
            1 => r.uniform(-1.0, 1.0) * 10f64.powf(r.uniform(-6.0, 2.0)),
            _ => r.uniform(-8.0, 8.0),
        };
        let t = match i % 4 {
            0 => r.unit(),
            1 => 10f64.powf(-r.uniform(0.0, 44.0)),
            2 => 1.0 - 10f64.powf(-r.uniform(0.0, 8.0)),
            _ => r.uniform(0.0, 0.2),
        };
        xs.push(x);
        ts.push(t);
    }
    let x32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let t32: Vec<f32> = ts.iter().map(|&v| v as f32).collect();
    for &gamma in &[50.0f64, 490.0, 1e4, 1e6] {
        let mut o = vec![0.0f32; n];
        let mut g = vec![0.0f32; n];
        loss::sigmoid_focal_loss_none_with_grad(&x32, &t32, -1.0, gamma as f32, &mut o, &mut g)
            .unwrap();
        let (mut worst, mut worst_g) = (0.0f64, 0.0f64);
        for i in 0..n {
            let (x, t) = (x32[i] as f64, t32[i] as f64);
            if t == 0.0 || t == 1.0 {
                continue;
            }
            let grow = 2.0 * gamma * focal_lnq(x, t).abs();
            let u = ulp_f32(o[i], focal_ref(x, t, -1.0, gamma));
            worst = worst.max(u / (FOCAL_SOFT.0 + grow));
            let (v, sc) = focal_grad_ref(x, t, -1.0, gamma);
            let allowed = (FOCAL_GRAD_SOFT.0 + grow) * ulp_of_f32(sc);
            let rr = (g[i] as f64 - v).abs() / allowed.max(f32::from_bits(1) as f64);
            if rr > 1.0 {
                eprintln!(
                    "DEBUG x {x:e} t {t:e} g {:e} want {v:e} scale {sc:e} rr {rr}",
                    g[i]
                );
            }
            worst_g = worst_g.max(rr);
        }
        eprintln!(
            "focal f32 soft, gamma {gamma}: value {worst:.3}, gradient {worst_g:.3} of the bound"
        );
        assert!(worst <= 1.0 && worst_g <= 1.0);
    }
    // f64 against MPFR: every 20th input, finite references only.
    let idx: Vec<usize> = (0..n).step_by(20).collect();
    for &gamma in &[50.0f64, 1e4, 1e6] {
        let x: Vec<f64> = idx.iter().map(|&i| xs[i]).collect();
        let t: Vec<f64> = idx.iter().map(|&i| ts[i]).collect();
        let mut o = vec![0.0f64; x.len()];
        loss::sigmoid_focal_loss_none(&x, &t, -1.0, gamma, &mut o).unwrap();
        let wants = par_map(&idx, |&i| focal_mp(xs[i], ts[i], -1.0, gamma));
        let mut worst = 0.0f64;
        for (j, want) in wants.iter().enumerate() {
            if want.is_zero() || want.to_f64() < f64::MIN_POSITIVE {
                continue;
            }
            let u = ulp_f64(o[j], want);
            worst = worst.max(u / (FOCAL_SOFT.1 + 2.0 * gamma * focal_lnq(x[j], t[j]).abs()));
        }
        eprintln!("focal f64 soft, gamma {gamma}: {worst:.3} of the bound");
        assert!(worst <= 1.0);
    }
}

#[test]
fn focal_saturation_and_small_gamma() {
    // Saturated probabilities with gamma < 1: finite, positive, relatively accurate.
    for &(x, t) in &[
        (-100.0f32, 1.0f32),
        (100.0, 0.0),
        (-30.0, 1.0),
        (87.0, 0.0),
        (15.0, 1.0),
        (-200.0, 1.0),
    ] {
        for &gamma in &[0.25f32, 0.5, 0.9] {
            let mut o = [0.0f32];
            let mut g = [0.0f32];
            loss::sigmoid_focal_loss_none_with_grad(&[x], &[t], 0.25, gamma, &mut o, &mut g)
                .unwrap();
            assert!(
                o[0].is_finite() && g[0].is_finite(),
                "x {x} t {t} gamma {gamma}"
            );
            let want = focal_ref(x as f64, t as f64, 0.25, gamma as f64);
            assert!(ulp_f32(o[0], want) <= FOCAL.0, "x {x}: {} vs {want}", o[0]);
            let (gw, _) = focal_grad_ref(x as f64, t as f64, 0.25, gamma as f64);
            assert!(
                ulp_f32(g[0], gw) <= FOCAL_GRAD.0,
                "grad x {x}: {} vs {gw}",
                g[0]
            );
        }
    }
    // x = ±inf: limits, no NaN.
    let x = [
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let t = [1.0f32, 0.0, 0.0, 1.0];
    let mut o = [0.0f32; 4];
    let mut g = [0.0f32; 4];
    loss::sigmoid_focal_loss_none_with_grad(&x, &t, 0.25, 2.0, &mut o, &mut g).unwrap();
    assert_eq!(&o[..2], &[0.0, 0.0]);
    assert_eq!(&o[2..], &[f32::INFINITY, f32::INFINITY]);
    assert_eq!(&g[..2], &[0.0, 0.0]);
    assert_eq!(g[2], 0.75);
    assert_eq!(g[3], -0.25);
}

#[test]
fn focal_grad_central_difference() {
    for &t in &[0.0, 1.0, 0.3] {
        for &gamma in &[0.5, 2.0, 0.0] {
            for i in -120..120 {
                let x = i as f64 * 0.1 + 0.05;
                let mut o = [0.0f64];
                let mut g = [0.0f64];
                loss::sigmoid_focal_loss_none_with_grad(&[x], &[t], 0.25, gamma, &mut o, &mut g)
                    .unwrap();
                let fd = central_difference(|x| focal_ref(x, t, 0.25, gamma), x);
                approx::assert_relative_eq!(g[0], fd, epsilon = 1e-9, max_relative = 1e-6);
            }
        }
    }
}

#[test]
fn focal_matches_torchvision_formula() {
    // Direct torchvision formula in f64 where it is well conditioned.
    for &t in &[0.0, 1.0, 0.2] {
        for i in -40..40 {
            let x = i as f64 * 0.2;
            let p = sig(x);
            let ce = bce_logits_ref(x, t);
            let pt = p * t + (1.0 - p) * (1.0 - t);
            let l = 0.25f64.mul_add(t, 0.75 * (1.0 - t)) * ce * (1.0 - pt).powf(2.0);
            let mut o = [0.0f64];
            loss::sigmoid_focal_loss_none(&[x], &[t], 0.25, 2.0, &mut o).unwrap();
            approx::assert_relative_eq!(o[0], l, max_relative = 1e-12);
        }
    }
}

// ------------------------------------------------------------------ mpmath vectors

/// Committed vectors (scripts/gen_loss_vectors.py, mpmath at 60 digits):
/// `kind x t param value grad` per line.
#[test]
fn mpmath_vectors_binary() {
    let text = include_str!("../data/loss/binary.txt");
    let mut n = 0;
    let mut worst = [0.0f64; 2];
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let kind = f[0];
        let x: f64 = f[1].parse().unwrap();
        let t: f64 = f[2].parse().unwrap();
        let gamma: f64 = f[3].parse().unwrap();
        let val: f64 = f[4].parse().unwrap();
        let grad: f64 = f[5].parse().unwrap();
        let (mut o, mut g) = ([0.0f64], [0.0f64]);
        match kind {
            "bcel" => loss::bce_with_logits_none_with_grad(&[x], &[t], None, None, &mut o, &mut g)
                .unwrap(),
            "focal" => {
                loss::sigmoid_focal_loss_none_with_grad(&[x], &[t], -1.0, gamma, &mut o, &mut g)
                    .unwrap()
            }
            _ => panic!("unknown kind {kind}"),
        }
        let uv = ulp_f64(o[0], &mpf(val));
        let soft = t != 0.0 && t != 1.0;
        // Soft labels: the gradient's two terms cancel near its zero; measure against
        // the terms' scale there (the documented bound).
        let gscale = if kind == "bcel" {
            bce_logits_grad_ref(x, t).1
        } else {
            focal_grad_ref(x, t, -1.0, gamma).1
        };
        let ug = if soft {
            (g[0] - grad).abs() / (gscale * f64::EPSILON / 2.0)
        } else {
            ulp_f64(g[0], &mpf(grad))
        };
        worst[0] = worst[0].max(uv);
        worst[1] = worst[1].max(ug);
        let (bv, bg) = if kind == "bcel" {
            (BCE_LOGITS.1 + 0.5, BCE_LOGITS_GRAD.1 + 0.5)
        } else {
            (FOCAL.1 + 0.5, FOCAL_GRAD.1 + 0.5)
        };
        assert!(uv <= bv, "{line}: value {:e} ({uv} ULP)", o[0]);
        assert!(ug <= bg, "{line}: grad {:e} ({ug} ULP)", g[0]);
        // f32 against the same vectors, where x and t are f32 values.
        if (x as f32) as f64 == x && (t as f32) as f64 == t {
            let (mut o, mut g) = ([0.0f32], [0.0f32]);
            match kind {
                "bcel" => loss::bce_with_logits_none_with_grad(
                    &[x as f32],
                    &[t as f32],
                    None,
                    None,
                    &mut o,
                    &mut g,
                )
                .unwrap(),
                _ => loss::sigmoid_focal_loss_none_with_grad(
                    &[x as f32],
                    &[t as f32],
                    -1.0,
                    gamma as f32,
                    &mut o,
                    &mut g,
                )
                .unwrap(),
            }
            assert!(ulp_f32(o[0], val) <= bv, "{line}: f32 value {:e}", o[0]);
            let ug = if soft {
                (g[0] as f64 - grad).abs() / ulp_of_f32(gscale)
            } else {
                ulp_f32(g[0], grad)
            };
            assert!(ug <= bg, "{line}: f32 grad {:e}", g[0]);
        }
        n += 1;
    }
    eprintln!(
        "mpmath binary vectors: {n} lines, max {:.3} ULP value, {:.3} ULP grad (f64)",
        worst[0], worst[1]
    );
    assert!(n > 50);
}

// ------------------------------------------------------------------ invariants, reductions

#[test]
fn binary_nan_propagation_and_reductions() {
    let x = [0.5f32, f32::NAN, -2.0];
    let t = [1.0f32, 0.0, 0.0];
    assert!(
        loss::bce_with_logits(&x, &t, None, None, Reduction::Mean)
            .unwrap()
            .is_nan()
    );
    assert!(
        loss::sigmoid_focal_loss(&x, &t, 0.25, 2.0, Reduction::Sum)
            .unwrap()
            .is_nan()
    );
    assert!(
        loss::bce(&[0.5f32, f32::NAN], &[1.0, 0.0], None, Reduction::Sum)
            .unwrap()
            .is_nan()
    );
    let tn = [1.0f32, f32::NAN, 0.0];
    let xs = [0.5f32, 0.5, -2.0];
    assert!(
        loss::bce_with_logits(&xs, &tn, None, None, Reduction::Sum)
            .unwrap()
            .is_nan()
    );
    let wn = [1.0f32, f32::NAN, 1.0];
    assert!(
        loss::bce_with_logits(&xs, &t, Some(&wn), None, Reduction::Sum)
            .unwrap()
            .is_nan()
    );

    // Sum = N * Mean (up to the final rounding) and the gradients differ by exactly 1/N
    // where 1/N is a power of two.
    let n = 4096 * 2 + 64; // 8256 elements
    let xs: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 * 0.02 - 10.0)
        .collect();
    let ts: Vec<f64> = (0..n).map(|i| ((i * 31) % 17) as f64 / 16.0).collect();
    let mut gs = vec![0.0; n];
    let mut gm = vec![0.0; n];
    let s = loss::bce_with_logits_with_grad(&xs, &ts, None, None, Reduction::Sum, &mut gs).unwrap();
    let m =
        loss::bce_with_logits_with_grad(&xs, &ts, None, None, Reduction::Mean, &mut gm).unwrap();
    approx::assert_relative_eq!(s / n as f64, m, max_relative = 2.0 * f64::EPSILON);
    let inv = 1.0 / n as f64;
    for i in 0..n {
        approx::assert_relative_eq!(gm[i], gs[i] * inv, max_relative = 2.0 * f64::EPSILON);
    }
    let mut gf = vec![0.0; n];
    let fs =
        loss::sigmoid_focal_loss_with_grad(&xs, &ts, 0.25, 2.0, Reduction::Sum, &mut gf).unwrap();
    let fm = loss::sigmoid_focal_loss(&xs, &ts, 0.25, 2.0, Reduction::Mean).unwrap();
    approx::assert_relative_eq!(fs / n as f64, fm, max_relative = 2.0 * f64::EPSILON);
    let mut o = vec![0.0; n];
    loss::sigmoid_focal_loss_none(&xs, &ts, 0.25, 2.0, &mut o).unwrap();
    let exact: f64 = o.iter().sum();
    approx::assert_relative_eq!(fs, exact, max_relative = 1e-13);
    // empty: mean 0, sum 0
    assert_eq!(
        loss::bce_with_logits::<f32>(&[], &[], None, None, Reduction::Mean).unwrap(),
        0.0
    );
}

#[test]
fn binary_position_independence() {
    // Targets derived from each value, so that a one-element call sees the same pair.
    let tf = |x: &[f32]| -> Vec<f32> {
        x.iter()
            .map(|v| [0.0, 1.0, 0.3][(v.to_bits() % 3) as usize])
            .collect()
    };
    let td = |x: &[f64]| -> Vec<f64> {
        x.iter()
            .map(|v| [0.0, 1.0, 0.3][(v.to_bits() % 3) as usize])
            .collect()
    };
    macro_rules! pi {
        ($name:expr, $f:expr, $g:expr) => {
            check_position_independence_f32($name, |x, o| $f(x, &tf(x), o));
            check_position_independence_f64($name, |x, o| $g(x, &td(x), o));
        };
    }
    pi!(
        "bce_with_logits_none",
        |x: &[f32], t: &[f32], o: &mut [f32]| loss::bce_with_logits_none(x, t, None, None, o)
            .unwrap(),
        |x: &[f64], t: &[f64], o: &mut [f64]| loss::bce_with_logits_none(x, t, None, None, o)
            .unwrap()
    );
    pi!(
        "bce_with_logits_none_with_grad (grad)",
        |x: &[f32], t: &[f32], o: &mut [f32]| {
            let mut v = vec![0.0; x.len()];
            loss::bce_with_logits_none_with_grad(x, t, None, None, &mut v, o).unwrap()
        },
        |x: &[f64], t: &[f64], o: &mut [f64]| {
            let mut v = vec![0.0; x.len()];
            loss::bce_with_logits_none_with_grad(x, t, None, None, &mut v, o).unwrap()
        }
    );
    pi!(
        "bce_with_logits_none weighted",
        |x: &[f32], t: &[f32], o: &mut [f32]| {
            let w: Vec<f32> = x.iter().map(|v| 1.0 + v.abs()).collect();
            loss::bce_with_logits_none(x, t, Some(&w), Some(&[2.0]), o).unwrap()
        },
        |x: &[f64], t: &[f64], o: &mut [f64]| {
            let w: Vec<f64> = x.iter().map(|v| 1.0 + v.abs()).collect();
            loss::bce_with_logits_none(x, t, Some(&w), Some(&[2.0]), o).unwrap()
        }
    );
    pi!(
        "sigmoid_focal_loss_none",
        |x: &[f32], t: &[f32], o: &mut [f32]| loss::sigmoid_focal_loss_none(x, t, 0.25, 1.5, o)
            .unwrap(),
        |x: &[f64], t: &[f64], o: &mut [f64]| loss::sigmoid_focal_loss_none(x, t, 0.25, 1.5, o)
            .unwrap()
    );
    pi!(
        "sigmoid_focal_loss_none_with_grad (grad)",
        |x: &[f32], t: &[f32], o: &mut [f32]| {
            let mut v = vec![0.0; x.len()];
            loss::sigmoid_focal_loss_none_with_grad(x, t, 0.25, 1.5, &mut v, o).unwrap()
        },
        |x: &[f64], t: &[f64], o: &mut [f64]| {
            let mut v = vec![0.0; x.len()];
            loss::sigmoid_focal_loss_none_with_grad(x, t, 0.25, 1.5, &mut v, o).unwrap()
        }
    );
    pi!(
        "bce_none",
        |x: &[f32], t: &[f32], o: &mut [f32]| {
            let p: Vec<f32> = x.iter().map(|v| sig(*v as f64) as f32).collect();
            loss::bce_none(&p, t, None, o).unwrap()
        },
        |x: &[f64], t: &[f64], o: &mut [f64]| {
            let p: Vec<f64> = x.iter().map(|v| sig(*v)).collect();
            loss::bce_none(&p, t, None, o).unwrap()
        }
    );
    pi!(
        "bce_none_with_grad (grad)",
        |x: &[f32], t: &[f32], o: &mut [f32]| {
            let p: Vec<f32> = x.iter().map(|v| sig(*v as f64) as f32).collect();
            let mut v = vec![0.0; x.len()];
            loss::bce_none_with_grad(&p, t, None, &mut v, o).unwrap()
        },
        |x: &[f64], t: &[f64], o: &mut [f64]| {
            let p: Vec<f64> = x.iter().map(|v| sig(*v)).collect();
            let mut v = vec![0.0; x.len()];
            loss::bce_none_with_grad(&p, t, None, &mut v, o).unwrap()
        }
    );
}

#[test]
fn binary_errors() {
    use nonlin::Error;
    let mut out = [7.0f32; 2];
    let mut g = [7.0f32; 2];
    let e = loss::bce_with_logits_none(&[0.0f32; 2], &[0.0; 3], None, None, &mut out).unwrap_err();
    assert!(
        matches!(e, Error::LengthMismatch { arg: "target", .. }),
        "{e}"
    );
    let e = loss::bce_with_logits_none(&[0.0f32; 2], &[0.0; 2], Some(&[1.0]), None, &mut out)
        .unwrap_err();
    assert!(e.to_string().contains("`weight`"), "{e}");
    let e = loss::bce_with_logits_none(&[0.0f32; 2], &[0.0; 2], None, Some(&[1.0; 3]), &mut out)
        .unwrap_err();
    assert!(e.to_string().contains("pos_weight"), "{e}");
    let e = loss::bce_with_logits(&[0.0f32; 2], &[0.0; 2], None, Some(&[]), Reduction::Sum)
        .unwrap_err();
    assert!(e.to_string().contains("pos_weight"), "{e}");
    let e = loss::bce_with_logits_none_with_grad(
        &[0.0f32; 2],
        &[0.0; 2],
        None,
        None,
        &mut out,
        &mut g[..1],
    )
    .unwrap_err();
    assert!(e.to_string().contains("`grad`"), "{e}");
    let e = loss::bce_none(&[0.5f32, 1.25], &[0.0; 2], None, &mut out).unwrap_err();
    assert!(
        e.to_string().contains("`pred`") && e.to_string().contains("1.25"),
        "{e}"
    );
    let e = loss::bce(&[-0.0f32, -1e-30], &[0.0; 2], None, Reduction::Sum).unwrap_err();
    assert!(e.to_string().contains("pred"), "{e}");
    let e = loss::bce_with_grad(
        &[0.5f32, 0.5],
        &[0.0; 2],
        Some(&[1.0; 3]),
        Reduction::Sum,
        &mut g,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`weight`"), "{e}");
    let e = loss::sigmoid_focal_loss(&[0.0f32], &[0.0], 0.25, -0.5, Reduction::Sum).unwrap_err();
    assert!(
        e.to_string().contains("`gamma`") && e.to_string().contains("-0.5"),
        "{e}"
    );
    let e = loss::sigmoid_focal_loss(&[0.0f32], &[0.0], 1.5, 2.0, Reduction::Sum).unwrap_err();
    assert!(e.to_string().contains("`alpha`"), "{e}");
    let e = loss::sigmoid_focal_loss(&[0.0f32], &[0.0], f32::NAN, 2.0, Reduction::Sum).unwrap_err();
    assert!(e.to_string().contains("`alpha`"), "{e}");
    let e = loss::sigmoid_focal_loss_none_with_grad(
        &[0.0f32; 2],
        &[0.0; 2],
        0.25,
        f32::INFINITY,
        &mut out,
        &mut g,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`gamma`"), "{e}");
    assert_eq!(out, [7.0; 2], "nothing written on error");
    assert_eq!(g, [7.0; 2], "nothing written on error");
    // negative alpha disables the weighting (torchvision), not an error.
    assert!(loss::sigmoid_focal_loss(&[0.0f32], &[0.0], -1.0, 2.0, Reduction::Sum).is_ok());
    let e = loss::bce_with_logits_partial(&[0.0f32], &[0.0], None, None, 0, f32::NAN, None)
        .unwrap_err();
    assert!(e.to_string().contains("grad_scale"), "{e}");
}
