//! The deterministic reduction behind every element-wise loss: accuracy of long means
//! against an exact (double-double) reference, bit-reproducibility, and the splitting
//! contract (BLOCK-aligned pieces combined in order reproduce the one-call bits, value and
//! gradient), which `nonlin-parallel` relies on.

use nonlin::loss::{self, Reduction, finish_loss};
use nonlin::reduce::{BLOCK, Dd};
use nonlin_tests::*;

/// f32 data whose MSE terms are known exactly: x - t is exact in f64 and (x - t)^2 is
/// carried exactly as a two-product.
fn data_f32(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut r = Rng::new(seed);
    let x: Vec<f32> = (0..n).map(|_| r.uniform(-1.0, 1.0) as f32).collect();
    let t: Vec<f32> = (0..n).map(|_| r.uniform(-1.0, 1.0) as f32).collect();
    (x, t)
}

/// Exact mean of (x - t)^2 over f32 inputs: the square of each (exact) f64 difference as a
/// two-product, summed in double-double.
fn exact_mse_mean(x: &[f32], t: &[f32]) -> f64 {
    let mut s = Dd::ZERO;
    for (&a, &b) in x.iter().zip(t) {
        let d = a as f64 - b as f64;
        let h = d * d;
        let l = libm::fma(d, d, -h);
        s = s.add_f64(h).add_f64(l);
    }
    // hi/n with the remainder: plenty for a 1e-6 comparison
    (s.hi + s.lo) / x.len() as f64
}

fn check_long_mean(n: usize) {
    let (x, t) = data_f32(n, 42);
    let got = loss::mse(&x, &t, Reduction::Mean).unwrap();
    let want = exact_mse_mean(&x, &t);
    let rel = ((got as f64) - want).abs() / want;
    eprintln!(
        "mse mean over {n} f32 elements: {got:e} vs exact {want:e}, relative error {rel:.3e}"
    );
    assert!(rel <= 1e-6, "{rel}");
    // The f32 result is the rounding of the exact mean of the rounded terms: within one
    // f32 ULP of the exact mean.
    assert!(ulp_f32(got, want) <= 1.0);
    // Fused gradient form gives the same value.
    let mut g = vec![0.0f32; n];
    let got2 = loss::mse_with_grad(&x, &t, Reduction::Mean, &mut g).unwrap();
    assert_eq!(got.to_bits(), got2.to_bits());
    // bce_with_logits over the same data: against the f64 terms summed in double-double.
    let tt: Vec<f32> = t.iter().map(|v| v.abs()).collect();
    let got = loss::bce_with_logits(&x, &tt, None, None, Reduction::Mean).unwrap();
    let mut s = Dd::ZERO;
    for (&a, &b) in x.iter().zip(&tt) {
        let (a, b) = (a as f64, b as f64);
        let sp = |v: f64| v.max(0.0) + libm::log1p(libm::exp(-v.abs()));
        s = s.add_f64(b * sp(-a) + (1.0 - b) * sp(a));
    }
    let want = s.value() / n as f64;
    let rel = ((got as f64) - want).abs() / want;
    eprintln!("bce_with_logits mean over {n} f32 elements: relative error {rel:.3e}");
    assert!(rel <= 1e-6, "{rel}");
}

/// 10^7-element f32 mean within 1e-6 relative (the proxy for the 10^8 case below).
#[test]
fn long_f32_mean_is_accurate() {
    check_long_mean(10_000_000);
}

/// The 10^8-element case of the issue (800 MB of inputs; about a minute). Run with
/// `cargo test -p nonlin-tests --test reduce -- --ignored --nocapture long_f32_mean_1e8`.
#[test]
#[ignore]
fn long_f32_mean_1e8() {
    check_long_mean(100_000_000);
}

#[test]
fn same_input_same_bits() {
    let (x, t) = data_f32(3 * BLOCK + 123, 7);
    let a = loss::huber(&x, &t, 0.5, Reduction::Mean).unwrap();
    for _ in 0..3 {
        assert_eq!(
            loss::huber(&x, &t, 0.5, Reduction::Mean).unwrap().to_bits(),
            a.to_bits()
        );
    }
    // Unaligned copies of the same data give the same bits (alignment independence).
    let mut xb = vec![0.0f32; x.len() + 1];
    xb[1..].copy_from_slice(&x);
    assert_eq!(
        loss::huber(&xb[1..], &t, 0.5, Reduction::Mean)
            .unwrap()
            .to_bits(),
        a.to_bits()
    );
}

/// Piece boundaries used by the splitting tests: multiples of BLOCK, irregular sizes.
fn splits(n: usize) -> Vec<Vec<usize>> {
    let blocks = n.div_ceil(BLOCK);
    let mut v = vec![vec![n], (1..blocks).map(|b| b * BLOCK).chain([n]).collect()];
    v.push(
        [2 * BLOCK, 3 * BLOCK, 7 * BLOCK]
            .into_iter()
            .filter(|&e| e < n)
            .chain([n])
            .collect(),
    );
    v
}

/// Runs `partial(range, grad_piece) -> Dd` over the pieces in order; returns the combined
/// Dd and the assembled gradient.
fn split_run<T: Copy + Default>(
    n: usize,
    ends: &[usize],
    mut partial: impl FnMut(core::ops::Range<usize>, &mut [T]) -> Dd,
) -> (Dd, Vec<T>) {
    let mut g = vec![T::default(); n];
    let mut total = Dd::ZERO;
    let mut start = 0;
    for &end in ends {
        total = total.add(partial(start..end, &mut g[start..end]));
        start = end;
    }
    (total, g)
}

#[test]
fn blockwise_partials_reproduce_serial_bits_f32() {
    let n = 9 * BLOCK + 1001;
    let (x, t) = data_f32(n, 11);
    let p: Vec<f32> = x.iter().map(|v| (v + 1.0) / 2.0).collect(); // probabilities
    let tp: Vec<f32> = t.iter().map(|v| v.abs()).collect(); // targets in [0, 1]
    let w: Vec<f32> = t.iter().map(|v| 1.0 + v * 0.5).collect();
    let pw = [0.5f32, 2.0, 3.0, 1.0, 0.25, 4.0, 1.5];
    let n = n - n % pw.len();
    let (x, t, p, tp, w) = (&x[..n], &t[..n], &p[..n], &tp[..n], &w[..n]);
    for red in [Reduction::Mean, Reduction::Sum] {
        let s: f32 = if red == Reduction::Mean {
            (1.0 / n as f64) as f32
        } else {
            1.0
        };
        for ends in splits(n) {
            macro_rules! check {
                ($name:expr, $whole:expr, $part:expr) => {{
                    let mut g = vec![0.0f32; n];
                    let v: f32 = $whole(red, &mut g[..]);
                    let (d, gp) = split_run(n, &ends, $part);
                    let v2: f32 = finish_loss(d, n, red);
                    assert_eq!(v.to_bits(), v2.to_bits(), "{} {:?} {:?}", $name, red, ends);
                    for i in 0..n {
                        assert_eq!(g[i].to_bits(), gp[i].to_bits(), "{} grad {i}", $name);
                    }
                }};
            }
            check!(
                "mse",
                |r, g: &mut [f32]| loss::mse_with_grad(x, t, r, g).unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::mse_partial(
                    &x[rg.clone()],
                    &t[rg],
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "l1",
                |r, g: &mut [f32]| loss::l1_with_grad(x, t, r, g).unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::l1_partial(
                    &x[rg.clone()],
                    &t[rg],
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "huber",
                |r, g: &mut [f32]| loss::huber_with_grad(x, t, 0.3, r, g).unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::huber_partial(
                    &x[rg.clone()],
                    &t[rg],
                    0.3,
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "smooth_l1",
                |r, g: &mut [f32]| loss::smooth_l1_with_grad(x, t, 0.3, r, g).unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::smooth_l1_partial(
                    &x[rg.clone()],
                    &t[rg],
                    0.3,
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "bce",
                |r, g: &mut [f32]| loss::bce_with_grad(p, tp, Some(w), r, g).unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::bce_partial(
                    &p[rg.clone()],
                    &tp[rg.clone()],
                    Some(&w[rg]),
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "bce_with_logits",
                |r, g: &mut [f32]| loss::bce_with_logits_with_grad(x, tp, Some(w), Some(&pw), r, g)
                    .unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::bce_with_logits_partial(
                    &x[rg.clone()],
                    &tp[rg.clone()],
                    Some(&w[rg.clone()]),
                    Some(&pw),
                    rg.start,
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "sigmoid_focal_loss",
                |r, g: &mut [f32]| loss::sigmoid_focal_loss_with_grad(x, tp, 0.25, 1.5, r, g)
                    .unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::sigmoid_focal_loss_partial(
                    &x[rg.clone()],
                    &tp[rg],
                    0.25,
                    1.5,
                    s,
                    Some(g)
                )
                .unwrap()
            );
            check!(
                "kl_div",
                |r, g: &mut [f32]| loss::kl_div_with_grad(x, tp, false, r, g).unwrap(),
                |rg: core::ops::Range<usize>, g: &mut [f32]| loss::kl_div_partial(
                    &x[rg.clone()],
                    &tp[rg],
                    false,
                    s,
                    Some(g)
                )
                .unwrap()
            );
        }
    }
    // Value-only partials (no gradient) give the same Dd.
    let whole = loss::mse_partial(x, t, 1.0, None).unwrap();
    let (d, _) = split_run::<f32>(n, &splits(n)[1], |rg, _| {
        loss::mse_partial(&x[rg.clone()], &t[rg], 1.0, None).unwrap()
    });
    assert_eq!(whole, d);
}

#[test]
fn blockwise_partials_reproduce_serial_bits_f64() {
    let n = 5 * BLOCK + 17;
    let mut r = Rng::new(3);
    let x: Vec<f64> = (0..n).map(|_| r.uniform(-30.0, 30.0)).collect();
    let t: Vec<f64> = (0..n).map(|_| r.unit()).collect();
    for ends in splits(n) {
        let mut g = vec![0.0f64; n];
        let v = loss::bce_with_logits_with_grad(
            &x,
            &t,
            None,
            Some(&[1.0, 3.0, 0.5]),
            Reduction::Sum,
            &mut g,
        );
        // 3 does not divide n: refused (the partial accepts pieces of any length).
        assert!(v.is_err());
        let m = n - n % 3;
        let v = loss::bce_with_logits_with_grad(
            &x[..m],
            &t[..m],
            None,
            Some(&[1.0, 3.0, 0.5]),
            Reduction::Mean,
            &mut g[..m],
        )
        .unwrap();
        let ends: Vec<usize> = ends.iter().map(|&e| e.min(m)).collect();
        let s = 1.0 / m as f64;
        let (d, gp) = split_run(m, &ends, |rg, gg| {
            loss::bce_with_logits_partial(
                &x[rg.clone()],
                &t[rg.clone()],
                None,
                Some(&[1.0, 3.0, 0.5]),
                rg.start,
                s,
                Some(gg),
            )
            .unwrap()
        });
        let v2: f64 = finish_loss(d, m, Reduction::Mean);
        assert_eq!(v.to_bits(), v2.to_bits());
        assert_eq!(&g[..m], &gp[..]);
    }
}

#[test]
fn dd_combination_is_the_documented_order() {
    // The block structure is part of the contract: the sum of one element per block equals
    // combining per-block Dd's in order.
    let n = 4 * BLOCK;
    let x: Vec<f64> = (0..n)
        .map(|i| if i % BLOCK == 0 { 1e16 } else { 1.0 })
        .collect();
    let z = vec![0.0f64; n];
    let s = loss::l1(&x, &z, Reduction::Sum).unwrap();
    let mut d = Dd::ZERO;
    for b in 0..4 {
        d = d
            .add(loss::l1_partial(&x[b * BLOCK..(b + 1) * BLOCK], &z[..BLOCK], 1.0, None).unwrap());
    }
    assert_eq!(s, d.value());
    // double-double keeps every 1.0 next to the 1e16 terms
    assert_eq!(s, 4e16 + (n - 4) as f64);
}
