//! Regressions found by the `losses` and `losses_full` fuzz targets (fuzz/fuzz_targets/).
//! Each test reproduces one finding and checks the fixed behaviour against an independent
//! reference (f64 for f32 kernels, MPFR or exact values for f64 kernels); a finding not yet
//! fixed in `core` would be `#[ignore]`d with the reason, so that the suite stays green and
//! the finding stays visible.

use nonlin::loss::{self, Reduction};
use nonlin_tests::budgets::budget;
use nonlin_tests::*;
use rug::Float as Mp;
use rug::ops::Pow;

/// Huber's linear branch `delta (|d| - delta/2)` was evaluated from `d = pred - target` rounded
/// to the element type; when two finite inputs differ by more than the type's range, `d` was
/// `inf` and the loss `inf`, although with `delta < 1` the exact loss is finite (here
/// `1e-30 * 6.8e38 = 6.8e8`). Fuzz input: seeds/losses/huber_overflowing_diff_f32. Fixed by
/// carrying the difference halved where an input is beyond `MAX / 2`. References: f64 (f32
/// kernel) and MPFR (f64 kernel); where the exact loss is beyond the range, `+inf`.
#[test]
fn huber_finite_inputs_overflowing_difference() {
    let b32 = budget("huber", "f32").unwrap();
    let b64 = budget("huber", "f64").unwrap();
    let (x, t) = ([f32::MAX], [-f32::MAX]);
    let delta = 1e-30f32;
    let dl = delta as f64;
    let want = dl * (2.0 * f32::MAX as f64 - 0.5 * dl);
    let v = loss::huber(&x, &t, delta, Reduction::Sum).unwrap();
    assert!(ulp_f32(v, want) <= b32, "f32: {v:e}, want {want:e}");
    let (mut o, mut g) = ([0.0f32], [0.0f32]);
    loss::huber_none_with_grad(&x, &t, delta, &mut o, &mut g).unwrap();
    assert!(ulp_f32(o[0], want) <= b32, "f32 none: {:e}", o[0]);
    assert_eq!(g[0], delta);

    // f64: exact value by MPFR.
    let (x, t, delta) = ([1e308f64], [-1e308f64], 1e-300f64);
    let d = mp(x[0]) - mp(t[0]);
    let want = mp(delta) * (d - mp(delta) / 2u32);
    let v = loss::huber(&x, &t, delta, Reduction::Sum).unwrap();
    assert!(ulp_f64(v, &want) <= b64, "f64: {v:e}, want {want}");

    // Beyond the range: +inf, never NaN (exact 2 MAX - 1/2).
    let v = loss::huber(&[f64::MAX], &[-f64::MAX], 1.0, Reduction::Sum).unwrap();
    assert_eq!(v, f64::INFINITY);
    // Quadratic piece where d^2 overflows but d^2 / 2 does not (huge delta).
    let (x, t, delta) = ([1.5e154f64], [-1.0e154f64], 1e300f64);
    let d = mp(x[0]) - mp(t[0]);
    let want = Mp::with_val(MPFR_PREC, &d * &d) / 2u32;
    let v = loss::huber(&x, &t, delta, Reduction::Sum).unwrap();
    assert!(ulp_f64(v, &want) <= b64, "f64 quad: {v:e}, want {want}");
}

/// smooth_l1's linear piece `|d| - beta/2`, like huber's, was `inf` for finite inputs whose
/// difference overflows: here `1.5 MAX - MAX/2 = MAX` exactly. Reference: MPFR (f64), f64
/// (f32 kernel).
#[test]
fn smooth_l1_finite_inputs_overflowing_difference() {
    let b = budget("smooth_l1", "f64").unwrap();
    for (x, t) in [(f64::MAX, -0.5 * f64::MAX), (-0.5 * f64::MAX, f64::MAX)] {
        let want = (mp(x) - mp(t)).abs() - mp(f64::MAX) / 2u32;
        let v = loss::smooth_l1(&[x], &[t], f64::MAX, Reduction::Sum).unwrap();
        assert!(ulp_f64(v, &want) <= b, "x {x:e}, t {t:e}: {v:e}");
        let (mut o, mut g) = ([0.0f64], [0.0f64]);
        loss::smooth_l1_none_with_grad(&[x], &[t], f64::MAX, &mut o, &mut g).unwrap();
        assert_eq!((o[0], g[0]), (v, x.signum()));
    }
    let v = loss::smooth_l1(&[f32::MAX], &[-0.5 * f32::MAX], f32::MAX, Reduction::Sum).unwrap();
    let want = 1.5 * f32::MAX as f64 - 0.5 * f32::MAX as f64;
    assert!(
        ulp_f32(v, want) <= budget("smooth_l1", "f32").unwrap(),
        "f32 {v:e}"
    );
    // Beyond the range: +inf.
    let v = loss::smooth_l1(&[f32::MAX], &[-f32::MAX], 1.0, Reduction::Sum).unwrap();
    assert_eq!(v, f32::INFINITY);
}

/// `bce_with_logits` multiplied the per-element weight in after the unweighted terms, which
/// can overflow for finite inputs (`pw * t * softplus(-x)` with `x = -f32::MAX`): a zero
/// weight then gave `0 * inf = NaN` and a small weight `inf`, where the exact loss is 0 or
/// finite. Found by the losses fuzz target (f32, x = -3.4e38, t = 0.25, pw = 96, w = 0).
/// Reference: the f64 product (exact to a rounding here: softplus(-x) = -x exactly in f32's
/// terms, `log1p(e^-|x|) = 0`).
#[test]
fn bce_with_logits_weight_after_overflowing_term() {
    let mut o = [0.0f32; 3];
    let x = [-f32::MAX; 3];
    let t = [0.25f32; 3];
    let w = [0.0f32, 1e-10, 1e-30];
    loss::bce_with_logits_none(&x, &t, Some(&w), Some(&[96.0]), &mut o).unwrap();
    assert_eq!(o[0], 0.0, "weight 0: {:e}", o[0]);
    // Per-term budget plus one rounding for each of the weight and pw t.
    let b = budget("bce_with_logits", "f32").unwrap() + 2.0;
    for i in 1..3 {
        let want = w[i] as f64 * 96.0 * 0.25 * f32::MAX as f64;
        assert!(
            ulp_f32(o[i], want) <= b,
            "weight {:e}: {:e}, want {want:e}",
            w[i],
            o[i]
        );
    }
    // The reduced forms see the same terms.
    let v = loss::bce_with_logits(&x, &t, Some(&w), Some(&[96.0]), Reduction::Sum).unwrap();
    assert!(v.is_finite() && v > 0.0, "{v:e}");
    // A zero weight removes the element also at x = -inf (the limit), NaN still propagates.
    let mut o = [0.0f32; 2];
    loss::bce_with_logits_none(
        &[f32::NEG_INFINITY, f32::NAN],
        &[0.25, 0.25],
        Some(&[0.0, 0.0]),
        None,
        &mut o,
    )
    .unwrap();
    assert_eq!(o[0], 0.0);
    assert!(o[1].is_nan());
    // f64: w = 1e-300, pw t = 1e10, x = -1e300: the unweighted term overflows, the loss is 1e10.
    let mut o = [0.0f64];
    loss::bce_with_logits_none(&[-1e300], &[1.0], Some(&[1e-300]), Some(&[1e10]), &mut o).unwrap();
    let want = mp(1e-300) * mp(1e10) * mp(1e300);
    let b = budget("bce_with_logits", "f64").unwrap() + 2.0;
    assert!(ulp_f64(o[0], &want) <= b, "f64: {:e}", o[0]);
}

/// The weighted mean of `nll_loss` / `cross_entropy` scaled the gradient by `1/D`,
/// `D = sum of the counted targets' weights`, formed in f64: with subnormal f64 class
/// weights `1/D` was `inf`, so the gradient `-w_t / D` (exactly -1 here) came out `-inf`.
/// Found by the losses fuzz target (nll_loss, f64, subnormal weights, Mean). Fixed by
/// scaling the weights and `D` by a power of two (the mean is invariant). References:
/// exact quotients.
#[test]
fn nll_weighted_mean_subnormal_weights() {
    let w = [5e-324f64, 1.0];
    let opts = loss::NllOptions {
        weight: Some(&w),
        ignore_index: None,
    };
    let mut g = [0.0f64; 2];
    let v =
        loss::nll_loss_with_grad(&[-1.0, -2.0], &[0], 2, &opts, Reduction::Mean, &mut g).unwrap();
    assert_eq!(v, 1.0);
    assert_eq!(g, [-1.0, 0.0]);
    // Two rows of subnormal weights 3 and 5 (x 2^-1074): the mean (3 * 0.7 + 5 * 0.9) / 8,
    // gradient -3/8 and -5/8 (the products w logp are not rounded in the subnormal range).
    let tiny = f64::from_bits(1);
    let w = [3.0 * tiny, 5.0 * tiny];
    let opts = loss::NllOptions {
        weight: Some(&w),
        ignore_index: None,
    };
    let mut g = [0.0f64; 4];
    let logp = [-0.7, -1.3, -0.2, -0.9];
    let v = loss::nll_loss_with_grad(&logp, &[0, 1], 2, &opts, Reduction::Mean, &mut g).unwrap();
    let want = (mp(3.0) * mp(0.7) + mp(5.0) * mp(0.9)) / 8u32;
    assert!(
        ulp_f64(v, &want) <= budget("nll_loss", "f64").unwrap(),
        "{v:e}"
    );
    assert_eq!(g, [-3.0 / 8.0, 0.0, 0.0, -5.0 / 8.0]);
    assert_eq!(
        nonlin_parallel::loss::nll_loss(&logp, &[0, 1], 2, &opts, Reduction::Mean).unwrap(),
        v
    );
    // cross_entropy, same weights: rows [0, 0] (p = 1/2): mean ln 2, gradient (p - onehot) w_t / D.
    let copts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: 0.0,
    };
    let x = [0.0f64; 4];
    let v = loss::cross_entropy_with_grad(&x, &[0, 1], 2, &copts, Reduction::Mean, &mut g).unwrap();
    assert!(
        (v - core::f64::consts::LN_2).abs() <= 4.0 * f64::EPSILON,
        "{v:e}"
    );
    let want = [-3.0 / 16.0, 3.0 / 16.0, 5.0 / 16.0, -5.0 / 16.0];
    for (a, b) in g.iter().zip(want) {
        assert!(
            (a - b).abs() <= 4.0 * f64::EPSILON,
            "grad {g:?}, want {want:?}"
        );
    }
    // With label smoothing the smoothing weights scale too: eps = 1/2, C = 2, W = 8 tiny.
    let copts = loss::CrossEntropyOptions {
        label_smoothing: 0.5,
        ..copts
    };
    let v = loss::cross_entropy_with_grad(&x, &[0, 1], 2, &copts, Reduction::Mean, &mut g).unwrap();
    // l_i = ((1-eps) w_t + eps/C W) ln 2, D = 8 tiny: mean = (0.5 * 8 + 0.25 * 8 * 2) / 8 ln 2.
    assert!(
        (v - core::f64::consts::LN_2).abs() <= 4.0 * f64::EPSILON,
        "{v:e}"
    );
    // grad_k = [p_k A - (1-eps) w_t [k = t] - eps/C w_k] / D with A = (1-eps) w_t + eps/C W.
    let (a0, a1) = (0.5 * 3.0 + 0.25 * 8.0, 0.5 * 5.0 + 0.25 * 8.0);
    let want = [
        (0.5 * a0 - 0.5 * 3.0 - 0.25 * 3.0) / 8.0,
        (0.5 * a0 - 0.25 * 5.0) / 8.0,
        (0.5 * a1 - 0.25 * 3.0) / 8.0,
        (0.5 * a1 - 0.5 * 5.0 - 0.25 * 5.0) / 8.0,
    ];
    for (a, b) in g.iter().zip(want) {
        assert!(
            (a - b).abs() <= 8.0 * f64::EPSILON,
            "grad {g:?}, want {want:?}"
        );
    }
}

/// `mse` squared `d + e` (TwoSum of `pred - target`) as `d*d + 2de`; when `2d` or `2de`
/// overflows, `2de` was `±inf` and the square of a finite difference beyond the range came
/// out `-inf` (with FMA) or NaN instead of `+inf`: a negative loss. Found by the losses fuzz
/// target (f32, pred = f32::MAX, target = 0.25). huber and smooth_l1 share the square in
/// their quadratic piece (huge delta / beta): smooth_l1 gave -inf at d = 1.9e214 (f64). The
/// exact squares here are beyond the range: `+inf`.
#[test]
fn mse_square_of_huge_difference() {
    let mut o = [0.0f32];
    loss::mse_none(&[f32::MAX], &[0.25], &mut o).unwrap();
    assert_eq!(o[0], f32::INFINITY);
    let v = loss::mse(&[f64::MAX], &[0.25f64], Reduction::Sum).unwrap();
    assert_eq!(v, f64::INFINITY);
    let mut g = [0.0f64];
    let v = loss::mse_with_grad(&[f64::MAX], &[0.25f64], Reduction::Sum, &mut g).unwrap();
    assert_eq!((v, g[0]), (f64::INFINITY, f64::INFINITY));
    let v = loss::mse(&[-1.9e154f64], &[1.0e154], Reduction::Sum).unwrap();
    assert_eq!(v, f64::INFINITY);
    // Just below the range: the correction 2de is kept (within the 1 ULP budget).
    let (x, t) = (1.3e154f64, -2.0e-3f64);
    let d = mp(x) - mp(t);
    let want = Mp::with_val(MPFR_PREC, &d * &d);
    let v = loss::mse(&[x], &[t], Reduction::Sum).unwrap();
    assert!(ulp_f64(v, &want) <= budget("mse", "f64").unwrap(), "{v:e}");
    let v = loss::smooth_l1(&[1.9e214f64], &[0.0], 1e300, Reduction::Sum).unwrap();
    let want = mp(1.9e214) * mp(1.9e214) / (mp(1e300) * 2u32);
    assert!(
        ulp_f64(v, &want) <= budget("smooth_l1", "f64").unwrap(),
        "{v:e}"
    );
}

/// `cross_entropy_probs` with label smoothing and no class weights: the tail lanes of a row
/// are padded with target 0, and `c_k = (1-ε) t_k + ε/C` gives `ε/C` for each padding lane,
/// which is added to `A = Σ c_k` (the unweighted path has no zero weight to mask it). Loss
/// (`A ln S + B`) and gradient (`p_k A - c_k`) are then wrong. Found by the losses fuzz
/// target (f32, row [16.046875, 0, 0], targets 0, ε = 0.234375: grad[0] = 0.547, exact
/// 0.156).
#[test]
fn cross_entropy_probs_smoothing_padding_lanes() {
    let opts = loss::CrossEntropyOptions {
        weight: None,
        ignore_index: None,
        label_smoothing: 0.5f32,
    };
    let x = [0.0f32, 0.0, 0.0];
    let t = [1.0f32, 0.0, 0.0];
    let mut g = [0.0f32; 3];
    let v = loss::cross_entropy_probs_with_grad(&x, &t, 3, &opts, Reduction::Sum, &mut g).unwrap();
    // c = [0.5 + 1/6, 1/6, 1/6], sum 1, p = 1/3: loss ln 3, grad p - c.
    assert!((v - 3f32.ln()).abs() < 1e-6, "loss {v}");
    let want = [
        1.0 / 3.0 - 2.0 / 3.0,
        1.0 / 3.0 - 1.0 / 6.0,
        1.0 / 3.0 - 1.0 / 6.0,
    ];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "grad {g:?}, want {want:?}");
    }
}

/// `cross_entropy` (f64) with a logit at `f64::MAX` and a tiny label smoothing returned NaN,
/// although the loss is finite (`ε/C Σ (M - x_c)` with `ε = 1.39e-309` is about 0.23): the
/// smoothing sum `Σ_c (M - x_c)` overflows. Found by the losses fuzz target (one row of 16:
/// `[f64::MAX, 0.99934, 3.48e-309, 4.1e-317, 6.3e-321, 0 x 11]`, target 0). Fixed by a
/// wide-exponent evaluation of that sum where the lane sum overflows. Reference: MPFR
/// (`ln S = 0` exactly in any precision here, `e^{-MAX}` being far below 2^-1074).
#[test]
fn cross_entropy_huge_logit_with_smoothing() {
    let mut x = [0.0f64; 16];
    x[0] = f64::MAX;
    x[1] = 0.9993438620584421;
    x[2] = 3.48e-309;
    x[3] = 4.1e-317;
    x[4] = 6.3e-321;
    let eps = 1.39202932208747e-309;
    let opts = loss::CrossEntropyOptions {
        weight: None,
        ignore_index: None,
        label_smoothing: eps,
    };
    let mut sum = Mp::with_val(MPFR_PREC, 0);
    for &v in &x {
        sum += mp(x[0]) - mp(v);
    }
    let want = sum * mp(eps) / 16u32;
    let b = budget("cross_entropy", "f64").unwrap();
    let v = loss::cross_entropy(&x, &[0], 16, &opts, Reduction::Sum).unwrap();
    assert!(ulp_f64(v, &want) <= b, "{v:e}, want {want}");
    let mut g = [0.0f64; 16];
    let v = loss::cross_entropy_with_grad(&x, &[0], 16, &opts, Reduction::Sum, &mut g).unwrap();
    assert!(ulp_f64(v, &want) <= b, "with_grad {v:e}");
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    // The same in f32 (the spread M - x_c overflows f32 in the lanes), with class weights.
    let mut x = [0.0f32; 5];
    x[0] = f32::MAX;
    x[3] = -f32::MAX;
    let w = [1.0f32, 2.0, 0.5, 1e-30, 3.0];
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: 1e-30f32,
    };
    let mut sum = Mp::with_val(MPFR_PREC, 0);
    for (&v, &wc) in x.iter().zip(&w) {
        sum += (mp(x[0] as f64) - mp(v as f64)) * mp(wc as f64);
    }
    let want = (sum * mp(1e-30f32 as f64) / 5u32).to_f64();
    let v = loss::cross_entropy(&x, &[0], 5, &opts, Reduction::Sum).unwrap();
    assert!(
        ulp_f32(v, want) <= budget("cross_entropy", "f32").unwrap(),
        "f32 {v:e}, want {want:e}"
    );
    // W ln S beyond f64 with a tiny ε (losses_full finding: a uniform row of 9, class
    // weights [MAX, MIN_POSITIVE x 8], ε = 4.7e-253): the loss is (ε/9) W ln 9 = 2.06e55.
    let mut w = [f64::MIN_POSITIVE; 9];
    w[0] = f64::MAX;
    let eps = 4.696323200408941e-253;
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: eps,
    };
    let x = [f64::MIN_POSITIVE; 9];
    let v = loss::cross_entropy(&x, &[4], 9, &opts, Reduction::Sum).unwrap();
    let wsum = w.iter().fold(mp(0.0), |a, &v| a + mp(v));
    let ln9 = mp(9.0).ln();
    let want = (mp(1.0) - mp(eps)) * mp(w[4]) * &ln9 + mp(eps) / 9u32 * wsum * &ln9;
    assert!(ulp_f64(v, &want) <= b, "W ln S: {v:e}, want {want}");
}

/// `smooth_l1`'s quadratic piece `0.5 d^2 / beta` squared first: with a tiny `beta`, `d^2`
/// underflowed (or lost its bits in the subnormal range) although the quotient is a normal
/// or subnormal number that should be computed, not flushed. Found by the losses fuzz
/// target (f64, d = 2.2e-308, loss 1.96e-311 expected, 0 returned). Now `(d / beta) (d/2)`.
/// Reference: MPFR.
#[test]
fn smooth_l1_underflowing_square() {
    let b = budget("smooth_l1", "f64").unwrap();
    // (d, beta): tiny beta (d^2 underflows), the fuzz input, and a huge beta (d^2
    // overflows, d^2 / (2 beta) = 1.37e152; fuzz input d = -4.94e173).
    for (d, beta) in [
        (1e-160f64, 1e-150f64),
        (2.2250738585072014e-308, 1.2627e-305),
        (-4.9369496340718303e173, 8.9e194),
    ] {
        let v = loss::smooth_l1(&[d], &[0.0], beta, Reduction::Sum).unwrap();
        let want = mp(d) * mp(d) / (mp(beta) * 2u32);
        assert!(
            ulp_f64(v, &want) <= b,
            "d {d:e}, beta {beta:e}: {v:e}, want {want}"
        );
    }
    let (d, beta) = (1e-20f32, 1e-10f32);
    let v = loss::smooth_l1(&[d], &[0.0], beta, Reduction::Sum).unwrap();
    let want = (d as f64) * (d as f64) / (2.0 * beta as f64);
    assert!(
        ulp_f32(v, want) <= budget("smooth_l1", "f32").unwrap(),
        "f32 {v:e}"
    );
}

/// `sigmoid_focal_loss`'s gradient formed `gamma * ce * (1 - 2t) * r` with
/// `r = σ(x) σ(-x) / q`; at a finite logit near `-f32::MAX` with `t = 1`, `gamma * ce`
/// overflowed to `inf` while `r` is 0, so the gradient was NaN. Exact: `ce r` is
/// `MAX e^{-MAX}`, 0 to any precision, and the gradient is `-σ(-x) q^γ = -1` (`q = σ(-x)`
/// rounds to 1). Found by the losses fuzz target (f32, x = -3.4028235e38).
#[test]
fn sigmoid_focal_gradient_overflowing_ce() {
    let (mut o, mut g) = ([0.0f32], [0.0f32]);
    loss::sigmoid_focal_loss_none_with_grad(&[-f32::MAX], &[1.0], -1.0, 2.0, &mut o, &mut g)
        .unwrap();
    assert_eq!(g[0], -1.0);
    assert_eq!(o[0], f32::MAX);
    let (mut o, mut g) = ([0.0f64], [0.0f64]);
    loss::sigmoid_focal_loss_none_with_grad(&[-f64::MAX], &[1.0], 0.25, 3.0, &mut o, &mut g)
        .unwrap();
    assert_eq!(g[0], -0.25);
    assert_eq!(o[0], 0.25 * f64::MAX);
}

/// `softmax_focal_loss` evaluates `ln q = ln(1 - p_t)` as `ln(-expm1(log p_t))`: for a
/// target probability below 2^-53, `q` rounds to 1, `ln q` to 0 and the focal factor
/// `q^γ = e^{γ ln q}` to 1, while the exact factor is `e^{-γ p_t}` — e.g. `p_t = e^-80`,
/// `γ = 1e38`: factor `e^-1.8e3 = 0`, loss 0, but 80 is returned (the documented bound
/// `8 + 3 γ |ln q|` ULP is about 5e3 ULP). `ln q = log1p(-p_t)` for small `p_t` keeps it.
/// Found by the losses fuzz target (f64 row [-80, -5e216, -5e216, 1.3e-309], target 0).
#[test]
fn softmax_focal_huge_gamma_tiny_target_probability() {
    let opts = loss::FocalOptions {
        alpha: None,
        gamma: 1e38f64,
        ignore_index: None,
    };
    let x = [
        -80.0f64,
        -4.985717045666698e216,
        -4.985717045666698e216,
        1.28705252599926e-309,
    ];
    let v = loss::softmax_focal_loss(&x, &[0], 4, &opts, Reduction::Sum).unwrap();
    assert!(v < 1e-300, "loss {v:e}, exact e^-1.8e3 * 80 = 0");
    // The same ln q near 1 with a moderate gamma: one ulp of 1 in q becomes ~gamma ULP in
    // the factor; the fuzz target saw 58 ULP (bound 15) on this row with gamma ~ 400.
    let opts = loss::FocalOptions {
        alpha: None,
        gamma: 400.0f64,
        ignore_index: None,
    };
    let x = [0.0f64, 8.0, 1.0, 2.0, 0.0];
    let v = loss::softmax_focal_loss(&x, &[0], 5, &opts, Reduction::Sum).unwrap();
    let m = 8.0f64;
    let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
    let nlp = m + s.ln();
    let pt = (-nlp).exp();
    let want = (400.0 * (-pt).ln_1p()).exp() * nlp;
    assert!(
        (v / want - 1.0).abs() < 15.0 * f64::EPSILON,
        "{v:e}, want {want:e}"
    );
}

/// `cross_entropy_with_grad` (weighted mean) forms the gradient factor `A s / S`
/// (`A = (1-ε) w_t + (ε/C) W`, `s = 1/D`, `S = Σ e^{x_k - M}`) before multiplying it by each
/// `e^{x_k - M}`: where `A / D` exceeds the type's range (tiny counted weights next to huge
/// other weights, with label smoothing), entries `p_k A / D - (ε/C) w_k / D` that are finite
/// (`p_k` tiny) come out `inf`, or NaN where `p_k = 0` (`0 * inf`). The untriaged f64 crash of
/// the `losses_full` fuzz target (smoothing 0.906, class weights 3.4e38 and 1e-300); the
/// fuzz assertion is right (the exact entry is finite). A fix needs the factor carried with
/// a separate binary exponent into the write pass (`softmax::write_factor`'s `2^k` is
/// limited to the type's exponent range), or a scalar wide-range pass for such rows.
/// Reference: exact formula in MPFR.
/// `softmax_focal_loss` formed `p_t = e^{log p_t}` from the rounded `log p_t`, whose
/// rounding (up to `|log p_t|` u: here the `-18.1` of `x_t - M`) became a relative error of
/// `p_t` that the focal exponent `γ ln q ≈ -γ p_t` multiplies (here by 127): up to ~1e3
/// ULP beyond the `3 γ |ln q|` the docs allow. `log p_t` is a double-double; its low part
/// now goes into `p_t`. Found by losses_full (seed 1; its central difference exposed it).
/// Reference: MPFR for the value and the gradient `dℓ/dx_k = -α q G`, `dℓ/dx_j = α p_j G`.
#[test]
fn softmax_focal_huge_gamma_rounded_log_p() {
    let gamma = 9.13099187200055e9f64;
    let x = [-17.3f64, 0.788235294117647];
    let opts = loss::FocalOptions {
        alpha: None,
        gamma,
        ignore_index: None,
    };
    let (mut o, mut g) = ([0.0f64], [0.0f64; 2]);
    loss::softmax_focal_loss_none_with_grad(&x, &[0], 2, &opts, &mut o, &mut g).unwrap();
    // MPFR: lp = x_0 - ln(e^{x_0} + e^{x_1}), q = -expm1(lp), value q^γ (-lp),
    // G = q^γ + γ p_t (-lp) q^{γ-1}.
    // (Owned MPFR values keep MPFR_PREC through each operation.)
    let lse = (mp(x[0]).exp() + mp(x[1]).exp()).ln();
    let lp = mp(x[0]) - lse.clone();
    let q = -lp.clone().exp_m1();
    let pt = lp.clone().exp();
    let nlp = -lp;
    let qg = q.clone().pow(mp(gamma));
    let want = qg.clone() * nlp.clone();
    let qg1 = q.clone().pow(mp(gamma - 1.0));
    let gfac = qg + pt * nlp.clone() * qg1 * mp(gamma);
    let want_g0 = -(q.clone() * gfac.clone());
    let want_g1 = (mp(x[1]) - lse).exp() * gfac;
    // The documented bound: 8 + 3 (γ |ln q| + |γ - 1| |ln q| + |ln(-log p_t)|) ULP, 779 here;
    // the rounded log p_t gave 561 (value) and 506 (gradient) ULP here.
    let lq = q.to_f64().ln().abs();
    let bound = 8.0 + 3.0 * (gamma * lq + (gamma - 1.0) * lq + nlp.to_f64().ln().abs());
    let (uv, u0, u1) = (
        ulp_f64(o[0], &want),
        ulp_f64(g[0], &want_g0),
        ulp_f64(g[1], &want_g1),
    );
    eprintln!("value {uv:.1}, grad {u0:.1} / {u1:.1} ULP (bound {bound:.0})");
    assert!(uv <= bound && u0 <= bound && u1 <= bound);
    // With p_t from the double-double log p_t, what is left is the f64 rounding of
    // γ ln q itself (|γ ln q| = 127 here, ~half an ULP per unit) and a few operations:
    // measured 21 / 62.
    let own = 8.0 + gamma * lq;
    assert!(uv <= own && u0 <= own && u1 <= own, "beyond {own:.0} ULP");
}

/// `bce_with_grad` multiplied the reduction's scale onto the finished gradient: with
/// `w = f32::MAX`, `p = 9e-4`, `t ≈ 0` the unscaled `w (p - t) / (p (1 - p))` is just above
/// `f32::MAX` (inf), while the mean's gradient (N = 8) is `4.3e37`. Found by losses_full.
/// Now scaled first where the unscaled product overflows. Reference: f64.
#[test]
fn bce_mean_gradient_of_huge_weight() {
    let b = budget("bce", "f32").unwrap();
    let p = [
        0.0009002822916954756f32,
        0.25,
        0.5,
        0.75,
        1.0,
        0.99999994,
        1e-12,
        3.8e-44,
    ];
    let t = [
        3.8e-44f32, 1e-12, 0.99999994, 1.0, 0.42577249, 1.0, 1.0, 0.0,
    ];
    let mut w = [0.0f32; 8];
    w[0] = f32::MAX;
    let mut g = [0.0f32; 8];
    loss::bce_with_grad(&p, &t, Some(&w), Reduction::Mean, &mut g).unwrap();
    let (p0, t0) = (p[0] as f64, t[0] as f64);
    let want = f32::MAX as f64 / 8.0 * (p0 - t0) / (p0 * (1.0 - p0));
    assert!(want < f32::MAX as f64);
    assert!(ulp_f32(g[0], want) <= b, "{:e}, want {want:e}", g[0]);
    // Unscaled (Sum) it is beyond the range: +inf, as the exact value.
    loss::bce_with_grad(&p, &t, Some(&w), Reduction::Sum, &mut g).unwrap();
    assert_eq!(g[0], f32::INFINITY);
    // The other order's failure (the first fix's, found next): a subnormal weight times
    // 1/N flushed to 0 before the large ratio (p - t) / (p (1 - p)) = 1.3e7 multiplied it.
    // The exact 2.2e-39 is subnormal in f32: within its budget of subnormal ULPs.
    let (p, t) = ([0.99999994f32; 8], [0.25f32; 8]);
    let w = [f32::from_bits(1); 8];
    loss::bce_with_grad(&p, &t, Some(&w), Reduction::Mean, &mut g).unwrap();
    let (p0, t0) = (p[0] as f64, t[0] as f64);
    let want = f32::from_bits(1) as f64 / 8.0 * (p0 - t0) / (p0 * (1.0 - p0));
    assert!(ulp_f32(g[0], want) <= b, "{:e}, want {want:e}", g[0]);
}

/// `kl_div` with `log_target` formed `e^t (t - x)` as written: for `t = -MAX`, `x = MAX`
/// (f32) that is `0 * -inf`, a NaN from finite inputs (found by losses_full in CI), and
/// for `t` below the normal range of `e^t` with a huge `|t - x|` the underflowed `e^t` gave
/// 0 where the loss is a normal number. Reference: f64 (f32 kernel), MPFR (f64 kernel);
/// budget 3 ULP per term (the rustdoc's).
#[test]
fn kl_log_target_underflowing_exp_times_huge_difference() {
    let lt = true;
    // f32: -0 (the exact value is below every subnormal), not NaN.
    let (mut o, mut g) = ([9.0f32], [9.0f32]);
    loss::kl_div_none_with_grad(&[f32::MAX], &[-f32::MAX], lt, &mut o, &mut g).unwrap();
    assert_eq!(o[0], 0.0, "{:e}", o[0]);
    assert_eq!(g[0], 0.0);
    // f32: e^-104 = 6.8e-46 rounds to 0 or a one-bit subnormal; times 3e38 it is 2e-7.
    for (x, t) in [
        (-3e38f32, -104.0f32),
        (-f32::MAX, -150.0),
        (1e30, -90.5),
        (-5.0, -100.0),
    ] {
        let want = (t as f64).exp() * (t as f64 - x as f64);
        let mut xs = [0.5f32; 9];
        let mut ts = [-1.0f32; 9];
        for i in 0..9 {
            // Position independence: the same element at every position of a vector of
            // plain neighbours, and alone.
            xs[i] = x;
            ts[i] = t;
            let mut o = [0.0f32; 9];
            loss::kl_div_none(&xs, &ts, lt, &mut o).unwrap();
            let mut one = [0.0f32];
            loss::kl_div_none(&[x], &[t], lt, &mut one).unwrap();
            assert_eq!(o[i].to_bits(), one[0].to_bits(), "position {i}");
            assert!(
                ulp_f32(one[0], want) <= 3.0,
                "x {x:e} t {t}: {:e}, want {want:e}",
                one[0]
            );
            xs[i] = 0.5;
            ts[i] = -1.0;
        }
    }
    // f64 against MPFR: e^-745.5 is below the subnormals; times 1.6e308 it is ~4e-16.
    for (x, t) in [
        (-1.6e308f64, -745.5f64),
        (f64::MAX, -f64::MAX),
        (1e300, -800.25),
    ] {
        let mut o = [0.0f64];
        loss::kl_div_none(&[x], &[t], lt, &mut o).unwrap();
        let want = mp(t).exp() * (mp(t) - mp(x));
        assert!(
            ulp_f64(o[0], &want) <= 3.0,
            "x {x:e} t {t:e}: {:e}, want {want}",
            o[0]
        );
    }
}

/// losses_full, seed 2: `sigmoid_focal_loss` with a soft label within an ULP of 0 and a
/// huge gamma formed `q = 1 - p_t` as `(1 - t) + lo` in one rounded sum, so the carried
/// rounding error of `1 - t` (the whole `-1e-12` of `1 - 1e-12` in f32) was rounded away
/// before the logarithm and `gamma ln q = -3e-3` became 0: 100 instead of 99.705. Now
/// `ln q` comes from a two-part quotient (`focal_ln_q_rest`). Reference: f64; documented
/// bound `8 + 2 gamma |ln q|` ULP.
#[test]
fn sigmoid_focal_soft_label_near_one_minus_ulp() {
    let (x, t, gamma) = (100.0f32, 9.999999960041972e-13f32, 2.951206912e9f32);
    let mut o = [0.0f32];
    loss::sigmoid_focal_loss_none(&[x], &[t], 0.0, gamma, &mut o).unwrap();
    // alpha = 0: alpha_t = 1 - t.
    let r = focal_f64(x, t, gamma);
    let want = (1.0 - t as f64) * r.value;
    let bound = 8.0 + 2.0 * gamma as f64 * r.ln_q.abs();
    assert!(ulp_f32(o[0], want) <= bound, "{:e}, want {want:e}", o[0]);
}

/// f64 reference of the f32 sigmoid focal loss with `alpha_t = 1` for the regression tests
/// below: `ln q = log1p(-p_t)` with `p_t = t σ(x) + (1 - t) σ(-x)` a sum of positive terms
/// (exact to f64 rounding), the value `ce q^γ` and the gradient
/// `q^γ [(σ - t) + γ ce (1 - 2t) σ σ̄ / q]` with the magnitude of its terms.
struct FocalRef {
    value: f64,
    grad: f64,
    grad_scale: f64,
    ln_q: f64,
}

fn focal_f64(x: f32, t: f32, gamma: f32) -> FocalRef {
    let (x, t, gamma) = (x as f64, t as f64, gamma as f64);
    let sp = |z: f64| z.max(0.0) + (-z.abs()).exp().ln_1p();
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (s, sn) = (sig(x), sig(-x));
    let ce = t * sp(-x) + (1.0 - t) * sp(x);
    let ln_q = (-(t * s + (1.0 - t) * sn)).ln_1p();
    let qg = (gamma * ln_q).exp();
    let second = gamma * ce * (1.0 - 2.0 * t) * s * sn / ln_q.exp();
    FocalRef {
        value: ce * qg,
        grad: qg * (((1.0 - t) * s - t * sn) + second),
        grad_scale: qg * (((1.0 - t) * s).abs() + (t * sn).abs() + second.abs()),
        ln_q,
    }
}

/// losses_full (CI, seed 1): `sigmoid_focal_loss` with a soft label and `gamma = 490`
/// rounded `u + v e` to f32 before the logarithm, and `ln(0.865)` turns that half-ULP
/// into 1.8 f32 epsilons of `ln q = -0.163`: 400 ULP off, beyond the `8 + 2 gamma |ln q|`
/// = 167 documented. Reference: f64 (`ln q` through log1p, exact to f64 rounding).
#[test]
fn sigmoid_focal_soft_label_gamma_490() {
    let (x, t, gamma) = (4.015625f32, 0.13725490868091583f32, 490.0f32);
    let mut o = [0.0f32];
    let mut g = [0.0f32];
    loss::sigmoid_focal_loss_none_with_grad(&[x], &[t], -1.0, gamma, &mut o, &mut g).unwrap();
    let r = focal_f64(x, t, gamma);
    let grow = 2.0 * gamma as f64 * r.ln_q.abs();
    assert!(
        ulp_f32(o[0], r.value) <= 8.0 + grow,
        "{:e}, want {:e}",
        o[0],
        r.value
    );
    let err = (g[0] as f64 - r.grad).abs() / ulp_of_f32(r.grad_scale);
    assert!(err <= 10.0 + grow, "grad {:e}, want {:e}", g[0], r.grad);
}

/// losses_full: `sigmoid_focal_loss` at f32 `x = 4.6`, `t = 3e-27`, `gamma = 1e4` has
/// `q^gamma = 1.2e-43`, a subnormal with 7 bits, which the gradient multiplies by a bracket
/// of 457: 0.6% off (found by `focal_soft_labels_large_gamma` in `loss_binary.rs` while
/// fixing the above). `q^gamma` below the normal range is now scaled by `2^K` and the
/// products rounded once at their own magnitude. Reference: f64.
#[test]
fn sigmoid_focal_subnormal_power_times_large_bracket() {
    let (x, t, gamma) = (4.611749649047852f32, 3.0016652407655207e-27f32, 1e4f32);
    let mut o = [0.0f32];
    let mut g = [0.0f32];
    loss::sigmoid_focal_loss_none_with_grad(&[x], &[t], -1.0, gamma, &mut o, &mut g).unwrap();
    let r = focal_f64(x, t, gamma);
    assert!(r.grad > 1e-41 && r.grad < 1e-40, "{:e}", r.grad);
    // One rounding into the subnormals (half a subnormal ULP) plus the documented relative
    // part; before: 214 subnormal ULP.
    let grow = 2.0 * gamma as f64 * r.ln_q.abs();
    let tiny = f32::from_bits(1) as f64;
    let eps = f32::EPSILON as f64;
    let err = (g[0] as f64 - r.grad).abs();
    assert!(
        err <= (10.0 + grow) * eps * r.grad + tiny,
        "grad {:e}, want {:e}",
        g[0],
        r.grad
    );
    let err = (o[0] as f64 - r.value).abs();
    assert!(
        err <= (8.0 + grow) * eps * r.value + tiny,
        "{:e} vs {:e}",
        o[0],
        r.value
    );
}

/// losses_full (seed 1, while fixing the above): with `gamma = 5.3e83` (f64) the exact
/// product `gamma ln q` has a low part of 1e67, which entered `exp_scaled`'s reduction
/// after its argument was clamped at -2000: `inf` instead of `q^gamma = 0`. Exact here:
/// `ln q = ln(0.25 σ(-17.3) + 0.75 σ(17.3)) = -0.29`, so the loss and gradient are 0.
#[test]
fn sigmoid_focal_astronomical_gamma() {
    let mut o = [1.0f64];
    let mut g = [1.0f64];
    let (alpha, gamma) = (0.24936293583581293, 5.256269572531288e83);
    loss::sigmoid_focal_loss_none_with_grad(&[-17.3], &[0.25], alpha, gamma, &mut o, &mut g)
        .unwrap();
    assert_eq!((o[0], g[0]), (0.0, 0.0));
    let mut o = [1.0f32];
    let mut g = [1.0f32];
    loss::sigmoid_focal_loss_none_with_grad(&[-17.3], &[0.25], 0.25, 3e38, &mut o, &mut g).unwrap();
    assert_eq!((o[0], g[0]), (0.0, 0.0));
}

/// losses_full: `cross_entropy` (f32, no smoothing) with class weights of 7.5e20 gave a NaN
/// gradient for a class whose probability underflows: the fast write pass multiplies the
/// stored terms (scaled by 2^-60) by `A e^(r - M) 2^60 / S` in f32 lanes, here 4e38, which
/// became inf, and `0 * inf` NaN. That pass now declines factors above 1 (and beyond
/// `T::MAX`) and the general pass runs. Exact: `p = (1/2, 1/2, e^-7e20)`, gradient `w_0 (p - e_0)`.
#[test]
fn cross_entropy_class_weight_beyond_fast_factor() {
    let w = [
        7.477080170718613e20f32,
        7.477080170718613e20,
        88.72283935546875,
    ];
    let x = [
        7.477080170718613e20f32,
        7.477080170718613e20,
        4.150683222938118e19,
    ];
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: 0.0,
    };
    let mut o = [0.0f32];
    let mut g = [0.0f32; 3];
    loss::cross_entropy_none_with_grad(&x, &[0], 3, &opts, &mut o, &mut g).unwrap();
    let w0 = w[0] as f64;
    assert!(
        ulp_f32(o[0], w0 * core::f64::consts::LN_2) <= 1.0,
        "{:e}",
        o[0]
    );
    assert!(
        ulp_f32(g[0], -0.5 * w0) <= 1.0 && ulp_f32(g[1], 0.5 * w0) <= 1.0,
        "{g:?}"
    );
    assert_eq!(g[2], 0.0);
    let mut gs = [0.0f32; 3];
    loss::cross_entropy_with_grad(&x, &[0], 3, &opts, Reduction::Sum, &mut gs).unwrap();
    assert_eq!(gs, g);
}

/// Exact `cross_entropy` gradient of one row (`D = w_t` for the mean, 1 for the sum) with
/// smoothing `eps`, and the magnitude `p_j A / D` of its probability term:
/// `(p_j A - [j = t](1-ε) w_t - (ε/C) w_j) / D`, `A = (1-ε) w_t + (ε/C) W`. MPFR.
fn ce_grad_mp(x: &[f64], w: &[f64], t: usize, eps: f64, mean: bool) -> Vec<(Mp, Mp)> {
    let m = |v: f64| mp(v);
    let top = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: Mp = x.iter().fold(m(0.0), |acc, &v| acc + (m(v) - m(top)).exp());
    let wsum = w.iter().fold(m(0.0), |acc, &v| acc + m(v));
    let c = x.len() as u32;
    let a = (m(1.0) - m(eps)) * m(w[t]) + m(eps) / c * wsum;
    (0..x.len())
        .map(|j| {
            let pa = (m(x[j]) - m(top)).exp() / &s * &a;
            let hard = if j == t {
                (m(1.0) - m(eps)) * m(w[t])
            } else {
                m(0.0)
            };
            let d = if mean { m(w[t]) } else { m(1.0) };
            let g = (Mp::with_val(MPFR_PREC, &pa - hard) - m(eps) / c * m(w[j])) / &d;
            (g, pa / d)
        })
        .collect()
}

/// The fix above on random rows: a tiny target weight (the mean's denominator) against huge
/// other weights, so that `A / D` is beyond the range, random logits, smoothing and targets
/// (f32 rows include subnormal weights); and sums without smoothing, where the factor is
/// `w_t` itself (found: the f32 fast write pass and the lanes' fixed scale flushed terms
/// whose outputs times a large factor are normal numbers). Every entry within
/// the documented budget of MPFR (of `p_j A / D` where the smoothing term cancels it), `±inf`
/// exactly where the exact value rounds to it; entries where the smoothing term cancels a
/// `p_j A / D` that is itself beyond the range are outside the documented bound and
/// skipped. f64 and f32.
#[test]
fn cross_entropy_gradient_factor_beyond_range_sweep() {
    let mut r = Rng::new(11);
    let mut worst = [0.0f64; 2];
    for case in 0..4000 {
        let f32_case = case % 2 == 1;
        let cols = 2 + (r.next_u64() % 7) as usize;
        let t = (r.next_u64() % cols as u64) as usize;
        // Every third case: the sum without smoothing (the gradient factor is w_t itself,
        // up to 1e38; f32 rows take the fast write pass where it applies).
        let mean = case % 3 != 0;
        let eps = if mean { r.uniform(0.01, 1.0) } else { 0.0 };
        let red = if mean {
            Reduction::Mean
        } else {
            Reduction::Sum
        };
        let (lim, tiny, huge) = if f32_case {
            (80.0, (-44.0, -38.0), (20.0, 38.0))
        } else {
            (600.0, (-320.0, -200.0), (30.0, 307.0))
        };
        let mut x: Vec<f64> = (0..cols).map(|_| r.uniform(-lim, lim)).collect();
        let mut w: Vec<f64> = (0..cols)
            .map(|j| {
                let e = if (j == t && mean) || r.unit() < 0.3 {
                    r.uniform(tiny.0, tiny.1)
                } else {
                    r.uniform(huge.0, huge.1)
                };
                10f64.powf(e)
            })
            .collect();
        let mut eps = eps;
        let mut g = vec![0.0f64; cols];
        if f32_case {
            x.iter_mut().for_each(|v| *v = *v as f32 as f64);
            w.iter_mut().for_each(|v| *v = *v as f32 as f64);
            eps = eps as f32 as f64;
            if w[t] == 0.0 {
                continue;
            }
            let (x32, w32): (Vec<f32>, Vec<f32>) = (
                x.iter().map(|&v| v as f32).collect(),
                w.iter().map(|&v| v as f32).collect(),
            );
            let opts = loss::CrossEntropyOptions {
                weight: Some(&w32),
                ignore_index: None,
                label_smoothing: eps as f32,
            };
            let mut g32 = vec![0.0f32; cols];
            loss::cross_entropy_with_grad(&x32, &[t as i64], cols, &opts, red, &mut g32).unwrap();
            g = g32.iter().map(|&v| v as f64).collect();
        } else {
            let opts = loss::CrossEntropyOptions {
                weight: Some(&w),
                ignore_index: None,
                label_smoothing: eps,
            };
            loss::cross_entropy_with_grad(&x, &[t as i64], cols, &opts, red, &mut g).unwrap();
        }
        let (bud, p, emin) = if f32_case {
            (4.0, 24, -149)
        } else {
            (6.0, 53, -1074)
        };
        let max = if f32_case { f32::MAX as f64 } else { f64::MAX };
        for (j, (want, pa)) in ce_grad_mp(&x, &w, t, eps, mean).iter().enumerate() {
            let wf = want.to_f64();
            let rounds_inf = |v: f64| v.abs() > max || (f32_case && (v as f32).is_infinite());
            let paf = pa.to_f64();
            if rounds_inf(paf) && Mp::with_val(MPFR_PREC, want.abs_ref()) * 2u32 < *pa {
                // The smoothing term cancels a probability term beyond the range: the
                // documented bound is relative to p_j A / D, which says nothing here.
                continue;
            }
            if rounds_inf(wf) {
                assert_eq!(
                    g[j],
                    wf.signum() * f64::INFINITY,
                    "case {case} entry {j} (t {t}, eps {eps}, x {x:?}, w {w:?}): {:e}, want {want}",
                    g[j]
                );
                continue;
            }
            let scale = wf.abs().max(paf.abs());
            let ulp = libm::ldexp(1.0, libm::ilogb(scale).saturating_sub(p - 1).max(emin));
            let err = Mp::with_val(MPFR_PREC, mp(g[j]) - want).abs().to_f64() / ulp;
            let k = usize::from(!f32_case);
            worst[k] = worst[k].max(err);
            assert!(
                err <= bud,
                "case {case} entry {j} (t {t}, eps {eps}, x {x:?}, w {w:?}): {:e}, want {want} ({err} ULP of {scale:e})",
                g[j]
            );
        }
    }
    eprintln!(
        "wide cross-entropy gradient: f32 {:.2}, f64 {:.2} ULP",
        worst[0], worst[1]
    );
}

/// losses_full (f64, found after the fix below): `cross_entropy` with two class weights of
/// `f64::MAX` (their sum `W` is inf) and smoothing 1e-300: the loss and the gradient of
/// the row are finite (`(ε/C) W` is 2.4e7), but `W ln S` became `inf * 0` (NaN) in the
/// loss's wide smoothing sum and `A = (1-ε) w_t + (ε/C) W` inf in the gradient. Both now
/// sum the classes' own terms. Reference: MPFR.
#[test]
fn cross_entropy_class_weights_summing_beyond_max() {
    let mut x = [-17.3f64; 15];
    x[9] = 62.84375;
    x[10] = 1e-300;
    x[11] = 3.720075976020836e-44;
    x[12..].fill(1e-300);
    let mut w = [1e-300f64; 15];
    w[3] = 709.782712893384;
    w[4] = 0.24975967040512703;
    w[5] = f64::MAX;
    w[6] = f64::MAX;
    w[11] = 0.0;
    let eps = 1e-300;
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: eps,
    };
    let mut g = [0.0f64; 15];
    let l = loss::cross_entropy_with_grad(&x, &[0], 15, &opts, Reduction::Sum, &mut g).unwrap();
    let m = |v: f64| mp(v);
    let top = m(62.84375);
    let s: Mp = x.iter().fold(m(0.0), |acc, &v| acc + (m(v) - &top).exp());
    let ln_s = s.clone().ln();
    let nll = |j: usize| Mp::with_val(MPFR_PREC, &top - m(x[j])) + &ln_s;
    let ec = m(eps) / 15u32;
    let mut want = (m(1.0) - m(eps)) * m(w[0]) * nll(0);
    for (j, &wj) in w.iter().enumerate() {
        want += Mp::with_val(MPFR_PREC, &ec * m(wj)) * nll(j);
    }
    assert!(
        ulp_f64(l, &want) <= budget("cross_entropy", "f64").unwrap(),
        "loss {l:e}, want {want}"
    );
    let wsum = w.iter().fold(m(0.0), |acc, &v| acc + m(v));
    let a = (m(1.0) - m(eps)) * m(w[0]) + Mp::with_val(MPFR_PREC, &ec * wsum);
    for j in 0..15 {
        let p = (m(x[j]) - &top).exp() / &s;
        let hard = if j == 0 {
            (m(1.0) - m(eps)) * m(w[0])
        } else {
            m(0.0)
        };
        let gw = Mp::with_val(MPFR_PREC, p * &a) - hard - Mp::with_val(MPFR_PREC, &ec * m(w[j]));
        assert!(
            ulp_f64(g[j], &gw) <= budget("cross_entropy_grad", "f64").unwrap(),
            "grad[{j}] = {:e}, want {gw}",
            g[j]
        );
    }
}

/// losses_full (f64): `cross_entropy` mean gradient with class weights of 3.4e38 and
/// 1e-300 and smoothing 0.906: the factor `A / D` (1.5e338) overflows before the
/// probabilities scale it, so entries whose exact value is in range (4e295, 5.7e294) came
/// out inf. Such rows now take a scalar path that forms `p_j A / D` as
/// `e^{x_j - M} (A / D / S)` with the factor as mantissa and exponent, rounded once. The
/// same in f32 (weights 3e38 and a subnormal 1e-40: `A / D` = 1.4e78). Reference: MPFR,
/// every entry (the ones beyond the range are ±inf, exactly what they round to).
#[test]
fn cross_entropy_mean_gradient_factor_overflow() {
    let x = [100.0f64, 0.0, -100.0, 2.0];
    let w = [f32::MAX as f64, 1e-300, f32::MAX as f64, 1e-300];
    let eps = 0.906f64;
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: eps,
    };
    let mut g = [0.0f64; 4];
    loss::cross_entropy_with_grad(&x, &[1], 4, &opts, Reduction::Mean, &mut g).unwrap();
    let bud = budget("cross_entropy_grad", "f64").unwrap();
    for (j, (want, _)) in ce_grad_mp(&x, &w, 1, eps, true).iter().enumerate() {
        assert!(
            ulp_f64(g[j], want) <= bud,
            "f64 grad[{j}] = {:e}, want {want}",
            g[j]
        );
    }
    assert!(g[1].is_finite() && g[3].is_finite());
    // f32: weights 3e38 and 1e-40 (subnormal), the same logits.
    let x32 = x.map(|v| v as f32);
    let w32 = [3e38f32, 1e-40, 3e38, 1e-40];
    let eps32 = 0.906f32;
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w32),
        ignore_index: None,
        label_smoothing: eps32,
    };
    let mut g = [0.0f32; 4];
    loss::cross_entropy_with_grad(&x32, &[1], 4, &opts, Reduction::Mean, &mut g).unwrap();
    let w64 = w32.map(|v| v as f64);
    let bud = budget("cross_entropy_grad", "f32").unwrap();
    for (j, (want, _)) in ce_grad_mp(&x, &w64, 1, eps32 as f64, true)
        .iter()
        .enumerate()
    {
        let u = ulp_f32(g[j], want.to_f64());
        assert!(
            u <= bud,
            "f32 grad[{j}] = {:e}, want {want} ({u} ULP)",
            g[j]
        );
    }
    assert!(g[3].is_finite());
}

/// `losses_full` (a region it used to skip): f32 `cross_entropy_probs` rows whose spread
/// `M - x_c` or weighted targets `c_k = w_k t_k` exceed `f32::MAX`. The lanes formed
/// `M - x_c` and `c_k` in f32: a spread of 6e38 gave an infinite loss for a finite one, and
/// `c_k = 6e38` at the maximum (where `M - x_k = 0`) gave NaN (`inf * 0`). Such rows are now
/// computed in f64; checked against f64 references (exact here: `ln S` is 0 or a plain
/// `ln(1 + e^-1)`).
#[test]
fn cross_entropy_probs_rows_beyond_f32_range() {
    let bud = budget("cross_entropy_probs", "f32").unwrap();
    let bud_g = budget("cross_entropy_probs_grad", "f32").unwrap();
    let opts = loss::CrossEntropyOptions::<f32>::default();
    // Spread 6e38: loss = 1e-10 (3e38 + 3e38) + 0.5 (3e38 - 0), every ln S term 0.
    let x = [3.0e38f32, -3.0e38, 0.0];
    let t = [0.5f32, 1e-10, 0.5];
    let mut g = [0.0f32; 3];
    let l = loss::cross_entropy_probs_with_grad(&x, &t, 3, &opts, Reduction::Sum, &mut g).unwrap();
    let (m, t64) = (3.0e38f64, t.map(f64::from));
    let want = t64[1] * (m + 3.0e38) + t64[2] * m;
    assert!(ulp_f32(l, want) <= bud, "loss {l:e}, want {want:e}");
    // grad_k = p_k A - t_k with p = (1, 0, 0) and A = Σ t.
    let a: f64 = t64.iter().sum();
    for (k, want) in [a - t64[0], -t64[1], -t64[2]].into_iter().enumerate() {
        assert!(
            ulp_f32(g[k], want) <= bud_g,
            "grad[{k}] {:e}, want {want:e}",
            g[k]
        );
    }
    // A weighted target of 6e38 at the row's maximum: loss = 6e38 ln(1 + e^-1).
    let w = [3.0e38f32, 1.0];
    let opts = loss::CrossEntropyOptions {
        weight: Some(&w),
        ..Default::default()
    };
    let (x, t) = ([1.0f32, 0.0], [2.0f32, 0.0]);
    let l =
        loss::cross_entropy_probs_with_grad(&x, &t, 2, &opts, Reduction::Sum, &mut g[..2]).unwrap();
    let c0 = 2.0 * 3.0e38f64;
    let ln_s = libm::log1p(libm::exp(-1.0));
    assert!(
        ulp_f32(l, c0 * ln_s) <= bud,
        "loss {l:e}, want {:e}",
        c0 * ln_s
    );
    let p0 = 1.0 / (1.0 + libm::exp(-1.0));
    for (k, want) in [p0 * c0 - c0, (1.0 - p0) * c0].into_iter().enumerate() {
        assert!(
            ulp_f32(g[k], want) <= bud_g,
            "grad[{k}] {:e}, want {want:e}",
            g[k]
        );
    }
}

/// `losses_full` (seed 5): f32 `bce_with_logits` with a negative `pos_weight` and a weight
/// of `-f32::MAX` (`x = 2, t = 0.25, pw = -103.97`): both weighted terms overflowed with
/// opposite signs and their sum was NaN; the exact loss is `5.8e38`, `+inf` in f32. Where
/// the two overflowing terms cancel into range (`x = 1, t = 0.2, pw = -20`: `6.9e37`), the
/// result is finite; the terms carry their f32 softplus roundings, so the bound is taken
/// relative to the terms, `4 * 2^-24 * (|A| + |B|)`.
#[test]
fn bce_with_logits_opposite_overflowing_terms() {
    let mut o = [0.0f32; 9];
    let cases: [(f32, f32, f32); 2] = [(2.0, 0.25, -103.97207), (1.0, 0.2, -20.0)];
    for (x, t, pw) in cases {
        let w = -f32::MAX;
        loss::bce_with_logits_none(&[x; 9], &[t; 9], Some(&[w; 9]), Some(&[pw]), &mut o).unwrap();
        let (x, t, w, pw) = (x as f64, t as f64, w as f64, pw as f64);
        let spn = libm::log1p(libm::exp(-x));
        let (a, b) = (w * pw * t * spn, w * (1.0 - t) * (x + spn));
        let want = a + b;
        for &v in &o {
            if want.abs() > f32::MAX as f64 {
                assert_eq!(v, f32::INFINITY.copysign(want as f32), "want {want:e}");
            } else {
                let tol = 4.0 * libm::ldexp(1.0, -24) * (a.abs() + b.abs());
                assert!((v as f64 - want).abs() <= tol, "{v:e}, want {want:e}");
            }
        }
    }
}

/// f32 `cross_entropy` with label smoothing and a class weight near `f32::MAX` in a mean:
/// the smoothing factor `(ε/C) / D` (here `1.5e-41`, with `D = 40 + 3 MAX`) went to the
/// lanes as an f32 subnormal with few significant bits, and its product with the weight
/// `MAX` is a normal gradient entry: `-3.4732e-3` for `-3.4734e-3` (900 ULP). Fuzz input:
/// `fuzz/seeds/losses_full/ce_smoothing_factor_subnormal_f32`. Fixed by taking such rows
/// through the wide (f64) gradient path. Reference: MPFR of
/// `(p_j A - [j = t] (1 - ε) w_t - (ε/C) w_j) / D` with `A = (1 - ε) w_t + (ε/C) W`.
#[test]
fn cross_entropy_smoothing_factor_below_normal_range() {
    use nonlin::loss::CrossEntropyOptions;
    let b = budget("cross_entropy_grad", "f32").unwrap();
    let mut worst = 0.0f64;
    for big in [f32::MAX, 1e38, 3e37] {
        for eps in [0.046_890_974f32, 0.3, 1.0] {
            for rows in [[0.0f32, 0.0, 0.0], [1.5, -2.0, 0.25]] {
                let x: Vec<f32> = rows.iter().cycle().take(12).copied().collect();
                let targets = [0i64, 2, 2, 2];
                let w = [40.046875f32, 0.0, big];
                let opts = CrossEntropyOptions {
                    weight: Some(&w),
                    ignore_index: None,
                    label_smoothing: eps,
                };
                let mut g = [0.0f32; 12];
                loss::cross_entropy_with_grad(&x, &targets, 3, &opts, Reduction::Mean, &mut g)
                    .unwrap();
                let m = |v: f32| mp(f64::from(v));
                let wsum = m(w[0]) + m(w[1]) + m(w[2]);
                let d = targets
                    .iter()
                    .fold(m(0.0), |acc, &t| acc + m(w[t as usize]));
                let e = m(eps);
                for (u, &t) in targets.iter().enumerate() {
                    let row = &x[u * 3..u * 3 + 3];
                    let s = row.iter().fold(m(0.0), |acc, &v| acc + m(v).exp());
                    let k = t as usize;
                    let a = (m(1.0) - e.clone()) * m(w[k]) + e.clone() / 3u32 * &wsum;
                    for j in 0..3 {
                        let p = m(row[j]).exp() / &s;
                        let hard = if j == k {
                            (m(1.0) - e.clone()) * m(w[k])
                        } else {
                            m(0.0)
                        };
                        let want = (p * &a - hard - e.clone() / 3u32 * m(w[j])) / &d;
                        let got = g[u * 3 + j];
                        let ulps = ulp_f32(got, want.to_f64());
                        worst = worst.max(ulps);
                        assert!(
                            ulps <= b,
                            "big {big:e} eps {eps} row {u} entry {j}: {got:e}, want {want} ({ulps:.1} ULP)"
                        );
                    }
                }
            }
        }
    }
    eprintln!("cross_entropy smoothing factor below the normal range: max {worst:.2} ULP");
}

/// f64 `cross_entropy` target entry `(1 - ε) w_t (p_t - 1) + (ε/C)(p_t W - w_t)` with `p_t`
/// below the normal range (`e^-727 = 1.3e-316`) and `p_t W` a normal number (`W = 3.4e38`):
/// `p_t` rounded to a subnormal made the entry `1.45419738614e-278` for
/// `1.45419739366e-278` (5e-9, 2e7 ULP). Fuzz input (`losses_full`, seed 26):
/// `fuzz/seeds/losses_full/ce_target_entry_subnormal_p_f64`. Fixed by forming `p_t W` as
/// `e^{log p_t + e ln 2} m` for `W = m 2^e`. Reference: MPFR; the budget of the gradient.
#[test]
fn cross_entropy_target_entry_subnormal_probability() {
    use nonlin::loss::CrossEntropyOptions;
    let b = budget("cross_entropy_grad", "f64").unwrap();
    let mut worst = 0.0f64;
    for x0 in [-17.3f64, -5.0, -30.25] {
        for big in [3.4028234663852886e38f64, 1e300, 1e100] {
            let x = [x0, 709.782712893384];
            let w = [2.2250738585072014e-308f64, big];
            let eps = 0.5009842069123369f64;
            let opts = CrossEntropyOptions {
                weight: Some(&w),
                ignore_index: None,
                label_smoothing: eps,
            };
            let (mut o, mut g) = ([0.0f64], [0.0f64; 2]);
            loss::cross_entropy_none_with_grad(&x, &[0], 2, &opts, &mut o, &mut g).unwrap();
            let m = mp;
            let top = m(x[1]);
            let s = (m(x[0]) - &top).exp() + m(1.0);
            let p0 = (m(x[0]) - &top).exp() / &s;
            let wsum = m(w[0]) + m(w[1]);
            let e = m(eps);
            let a = (m(1.0) - e.clone()) * m(w[0]) + e.clone() / 2u32 * &wsum;
            let want = p0 * a - (m(1.0) - e.clone()) * m(w[0]) - e / 2u32 * m(w[0]);
            let u = ulp_f64(g[0], &want);
            worst = worst.max(u);
            assert!(
                u <= b,
                "x0 {x0} W {big:e}: {:e}, want {want} ({u:.1} ULP)",
                g[0]
            );
        }
    }
    eprintln!("cross_entropy target entry with a subnormal p_t: max {worst:.2} ULP");
}

/// f64 `cross_entropy` with a subnormal label smoothing `ε = 2.7e-311` and a class weight of
/// `MAX`: the smoothing term `(ε/C) W ln S` is a normal `1.7e-3`, but `ε/C` was rounded in
/// the subnormal range first (1.8e-13 relative off, 800 ULP). Fuzz input (`losses_full`,
/// seed 28): `fuzz/seeds/losses_full/ce_subnormal_smoothing_f64`. Fixed by forming
/// `(ε v)/C` where `ε/C` is not a normal number. Reference: MPFR.
#[test]
fn cross_entropy_subnormal_label_smoothing() {
    use nonlin::loss::CrossEntropyOptions;
    let b = budget("cross_entropy", "f64").unwrap();
    let tiny = 2.2250738585072014e-308f64;
    for eps in [2.699176955792e-311f64, 3e-320, 1.5e-309] {
        let x = [tiny, tiny];
        let w = [tiny, f64::MAX];
        let opts = CrossEntropyOptions {
            weight: Some(&w),
            ignore_index: None,
            label_smoothing: eps,
        };
        let v = loss::cross_entropy(&x, &[0], 2, &opts, Reduction::Sum).unwrap();
        // Both entries equal: p = 1/2, -log p = ln 2 for each.
        let ln2 = Mp::with_val(MPFR_PREC, rug::float::Constant::Log2);
        let e = mp(eps);
        let want =
            (mp(1.0) - e.clone()) * mp(w[0]) * &ln2 + e / 2u32 * (mp(w[0]) + mp(w[1])) * &ln2;
        let u = ulp_f64(v, &want);
        assert!(u <= b, "eps {eps:e}: {v:e}, want {want} ({u:.1} ULP)");
    }
}

/// `bce_with_logits_with_grad` multiplied the reduction's scale onto the finished gradient
/// `w [(1 - t) σ(x) - pw t σ(-x)]`: for f32 `x = 0`, `t = 0.011764706`, `pw = -103.97208`,
/// `w = -MAX` that product is `-3.8e38` (`-inf`), while the mean's gradient over N = 19 is
/// `-2.0e37`. Found by losses_full in CI (seed 1). Now scaled first where the unscaled
/// product overflows, as `bce_with_grad`. References: f64 (f32 kernel), MPFR (f64 kernel).
#[test]
fn bce_with_logits_mean_gradient_of_huge_weight() {
    let b = budget("bce_with_logits_grad", "f32").unwrap();
    let n = 19;
    let (x, t) = (vec![0.0f32; n], vec![0.011764706f32; n]);
    let mut w = vec![0.0f32; n];
    w[2] = -f32::MAX;
    let pw = [-103.97208f32];
    let mut g = vec![0.0f32; n];
    loss::bce_with_logits_with_grad(&x, &t, Some(&w), Some(&pw), Reduction::Mean, &mut g).unwrap();
    // σ(0) = 1/2 exactly.
    let (t0, p0) = (t[2] as f64, pw[0] as f64);
    let want = w[2] as f64 / n as f64 * ((1.0 - t0) * 0.5 - p0 * t0 * 0.5);
    assert!(want.abs() < f32::MAX as f64);
    assert!(ulp_f32(g[2], want) <= b, "{:e}, want {want:e}", g[2]);
    assert!(g.iter().enumerate().all(|(i, &v)| i == 2 || v == 0.0));
    // Unscaled (Sum) it is beyond the range: -inf, as the exact value.
    loss::bce_with_logits_with_grad(&x, &t, Some(&w), Some(&pw), Reduction::Sum, &mut g).unwrap();
    assert_eq!(g[2], f32::NEG_INFINITY);

    // f64, the same shape at the top of its range; MPFR reference.
    let b = budget("bce_with_logits_grad", "f64").unwrap();
    let (x, t) = (vec![0.0f64; n], vec![0.011764706f64; n]);
    let mut w = vec![0.0f64; n];
    w[2] = -f64::MAX;
    let pw = [-103.97208f64];
    let mut g = vec![0.0f64; n];
    loss::bce_with_logits_with_grad(&x, &t, Some(&w), Some(&pw), Reduction::Mean, &mut g).unwrap();
    let (t0, p0) = (mp(t[2]), mp(pw[0]));
    let inner = (mp(1.0) - t0.clone()) / 2u32 - p0 * t0 / 2u32;
    let want = mp(w[2]) / n as u32 * inner;
    assert!(ulp_f64(g[2], &want) <= b, "{:e}, want {want}", g[2]);
}

/// The same subnormal `ε/C` as `cross_entropy_subnormal_label_smoothing`, in the places that
/// fix left: the `cross_entropy` gradient (the smoothing entry `(ε/C) w_j` of a class weight
/// of `MAX` is a normal `2.4e-3`, but `ε/C` was rounded in the subnormal range first), and
/// `cross_entropy_probs`, whose smoothed targets `w_c ((1-ε) t_c + ε/C)` rounded it the same
/// way: in f64 before a weight of `MAX`, and in the f32 lanes (f32 `ε = 1e-40` over `C = 2`)
/// before a spread of `3e38` made `(ε/C) (M - x_c)` the whole loss, `0.015`. Now formed as
/// `(ε v)/C` there, and f32 rows with such an `ε/C` go to the f64 path. Reference: MPFR
/// (f64), f64 (f32, where every quantity below is exact or one rounding).
#[test]
fn subnormal_label_smoothing_in_gradient_and_probability_targets() {
    use nonlin::loss::CrossEntropyOptions;
    let tiny = f64::MIN_POSITIVE;
    let ln_s = |x: &[f64]| {
        let m = x.iter().cloned().fold(f64::MIN, f64::max);
        let s = x.iter().fold(mp(0.0), |s, &v| s + (mp(v) - mp(m)).exp());
        (m, s)
    };
    for eps in [2.699176955792e-311f64, 3e-320, 1.5e-309] {
        // cross_entropy gradient: row [0, -30], target 0, weights [tiny, MAX].
        let b = budget("cross_entropy_grad", "f64").unwrap();
        let (x, w) = ([0.0f64, -30.0], [tiny, f64::MAX]);
        let opts = CrossEntropyOptions {
            weight: Some(&w),
            ignore_index: None,
            label_smoothing: eps,
        };
        let mut g = [0.0f64; 2];
        loss::cross_entropy_with_grad(&x, &[0], 2, &opts, Reduction::Sum, &mut g).unwrap();
        let (m, s) = ln_s(&x);
        let e = mp(eps);
        let a = (mp(1.0) - e.clone()) * mp(w[0]) + e.clone() / 2u32 * (mp(w[0]) + mp(w[1]));
        let p1 = (mp(x[1]) - mp(m)).exp() / s.clone();
        let want = p1 * a - e.clone() / 2u32 * mp(w[1]);
        let u = ulp_f64(g[1], &want);
        assert!(
            u <= b,
            "grad, eps {eps:e}: {:e}, want {want} ({u:.1} ULP)",
            g[1]
        );

        // cross_entropy_probs f64: row [tiny, tiny] (p = 1/2), targets [1, 0], same weights.
        let b = budget("cross_entropy_probs", "f64").unwrap();
        let bg = budget("cross_entropy_probs_grad", "f64").unwrap();
        let (x, t) = ([tiny, tiny], [1.0f64, 0.0]);
        let v = loss::cross_entropy_probs(&x, &t, 2, &opts, Reduction::Sum).unwrap();
        let c0 = mp(w[0]) * (mp(1.0) - e.clone() / 2u32);
        let c1 = mp(w[1]) * e.clone() / 2u32;
        let ln2 = Mp::with_val(MPFR_PREC, rug::float::Constant::Log2);
        let want = (c0.clone() + c1.clone()) * &ln2;
        let u = ulp_f64(v, &want);
        assert!(
            u <= b,
            "probs, eps {eps:e}: {v:e}, want {want} ({u:.1} ULP)"
        );
        // Gradient entry 1: p_1 A - c_1 with A = c_0 + c_1 and p_1 = 1/2.
        let mut g = [0.0f64; 2];
        loss::cross_entropy_probs_with_grad(&x, &t, 2, &opts, Reduction::Sum, &mut g).unwrap();
        let want = (c0 + c1.clone()) / 2u32 - c1;
        let u = ulp_f64(g[1], &want);
        assert!(
            u <= bg,
            "probs grad, eps {eps:e}: {:e}, want {want} ({u:.1} ULP)",
            g[1]
        );
    }
}

/// The f32 lanes' half of `subnormal_label_smoothing_in_gradient_and_probability_targets`:
/// `cross_entropy_probs` without weights, row `[1.5e38, -1.5e38]`, targets `[1, 0]`. `S = 1 +
/// e^-3e38` (`ln S = 0` at any precision), so the loss is `(ε/2) 3e38` and the gradient
/// `[ε/2, -ε/2]` (`p = [1, 0]`, `A = 1`), exact in f64 from the f32 inputs. Entry 0 is
/// `p_0 A - c_0`, a cancellation of two terms near 1: its documented bound is relative to
/// `p_0 A = 1`.
#[test]
fn subnormal_label_smoothing_f32_probability_targets() {
    use nonlin::loss::CrossEntropyOptions;
    let b = budget("cross_entropy_probs", "f32").unwrap();
    let bg = budget("cross_entropy_probs_grad", "f32").unwrap();
    let (x, t) = ([1.5e38f32, -1.5e38], [1.0f32, 0.0]);
    for eps in [1e-40f32, 3e-39, 1e-45, f32::from_bits(0x0001_1001)] {
        let opts = CrossEntropyOptions {
            weight: None,
            ignore_index: None,
            label_smoothing: eps,
        };
        let mut g = [0.0f32; 2];
        let v =
            loss::cross_entropy_probs_with_grad(&x, &t, 2, &opts, Reduction::Sum, &mut g).unwrap();
        let half = eps as f64 / 2.0;
        let want = half * (x[0] as f64 - x[1] as f64);
        assert!(
            ulp_f32(v, want) <= b,
            "f32 probs, eps {eps:e}: {v:e}, want {want:e}"
        );
        let unit = f32::EPSILON as f64;
        assert!(
            (g[0] as f64 - half).abs() <= bg * unit,
            "eps {eps:e}: {:e}",
            g[0]
        );
        assert!(
            ulp_f32(g[1], -half) <= bg,
            "eps {eps:e}: {:e}, want {:e}",
            g[1],
            -half
        );
    }
}

/// f64 `cross_entropy` mean gradient with `ε = 2.7e-311` and class weights `[tiny, MAX]`:
/// the lanes' smoothing factor `(ε/C) / D` underflowed to 0 (`D = MAX`), so the entry lost
/// its smoothing term `-(ε/C) w_1 / D`, the larger one, and came out `+6.7e-312` where the
/// exact value is `-6.7e-312`. Found by losses_full (seed 1, after the bce_with_logits
/// fix): `fuzz/seeds/losses_full/ce_smoothing_factor_underflow_f64`. Such rows now take the
/// wide gradient path, as rows with a subnormal factor did already. Reference: MPFR.
#[test]
fn cross_entropy_smoothing_factor_underflowing_to_zero() {
    use nonlin::loss::CrossEntropyOptions;
    let b = budget("cross_entropy_grad", "f64").unwrap();
    let tiny = f64::MIN_POSITIVE;
    let eps = 2.699176955792e-311f64;
    let w = [tiny, f64::MAX];
    let opts = CrossEntropyOptions {
        weight: Some(&w),
        ignore_index: None,
        label_smoothing: eps,
    };
    let x = [tiny; 8];
    let targets = [1i64, 0, 0, 0];
    let mut g = [0.0f64; 8];
    loss::cross_entropy_with_grad(&x, &targets, 2, &opts, Reduction::Mean, &mut g).unwrap();
    let e = mp(eps);
    let d = mp(w[1]) + mp(w[0]) * 3u32;
    let a_of =
        |t: usize| (mp(1.0) - e.clone()) * mp(w[t]) + e.clone() / 2u32 * (mp(w[0]) + mp(w[1]));
    // Every row's p = [1/2, 1/2]; entry (row, k) = (p_k A - (1-ε) w_t δ_kt - (ε/2) w_k) / D.
    for (r, &t) in targets.iter().enumerate() {
        let t = t as usize;
        for k in 0..2 {
            let mut want = a_of(t) / 2u32 - e.clone() / 2u32 * mp(w[k]);
            if k == t {
                want -= (mp(1.0) - e.clone()) * mp(w[t]);
            }
            let want = want / d.clone();
            let got = g[2 * r + k];
            let u = ulp_f64(got, &want);
            assert!(
                u <= b,
                "entry ({r}, {k}): {got:e}, want {want} ({u:.1} ULP)"
            );
        }
    }
}
