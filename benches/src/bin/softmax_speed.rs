//! Throughput of the softmax family and cross-entropy on f32 `1024 x 1000` rows, with a
//! plain copy and `sigmoid` on the same number of elements in the same run, so that ratios
//! stay comparable on a noisy (shared) machine. Plain `std::time::Instant` timing; each
//! kernel is run repeatedly and the median is reported.
//!
//! Run natively:
//! `RUSTFLAGS='-C target-cpu=native' CARGO_TARGET_DIR=target-native \
//!  cargo run --release -p nonlin-benches --bin softmax_speed`
//! Optional arguments: `ROWS COLS REPS`.

use nonlin::loss::{CrossEntropyOptions, Reduction, cross_entropy, cross_entropy_with_grad};
use std::hint::black_box;
use std::time::Instant;

/// Median and best time in seconds of `reps` runs of `f` (after two warm-up runs).
fn median_secs(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0])
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = args.first().copied().unwrap_or(1024);
    let cols = args.get(1).copied().unwrap_or(1000);
    let reps = args.get(2).copied().unwrap_or(51);
    let n = rows * cols;

    // Logits spread over [-8, 8) from a fixed LCG, and class-index targets.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as u32
    };
    let x: Vec<f32> = (0..n)
        .map(|_| (next() as f32 / (1u32 << 24) as f32) * 16.0 - 8.0)
        .collect();
    let targets: Vec<i64> = (0..rows).map(|_| (next() as usize % cols) as i64).collect();
    let mut out = vec![0.0f32; n];
    let mut grad = vec![0.0f32; n];
    let mut lse = vec![0.0f32; rows];
    let opts = CrossEntropyOptions::<f32>::default();

    let fma = cfg!(target_feature = "fma");
    let avx2 = cfg!(target_feature = "avx2");
    println!(
        "f32, {rows} rows x {cols} cols = {n} elements, median of {reps} runs (avx2 {avx2}, fma {fma})"
    );
    // Median throughput, its ratios to the copy and sigmoid medians of the same run, and
    // the best run's throughput (the least disturbed by other load on the machine).
    let report = |name: &str, (secs, best): (f64, f64), base: Option<(f64, f64)>| {
        let me = n as f64 / secs / 1e6;
        let mb = n as f64 / best / 1e6;
        match base {
            Some((copy, sig)) => println!(
                "{name:<24} {me:9.1} Melem/s   {:6.3} x copy   {:6.3} x sigmoid   (best {mb:7.1})",
                me / copy,
                me / sig
            ),
            None => println!(
                "{name:<24} {me:9.1} Melem/s                                 (best {mb:7.1})"
            ),
        }
        me
    };

    let copy = report(
        "copy_from_slice",
        median_secs(reps, || {
            out.copy_from_slice(black_box(&x));
            black_box(&mut out);
        }),
        None,
    );
    let sig = report(
        "sigmoid",
        median_secs(reps, || {
            let _ = nonlin::sigmoid(black_box(&x), &mut out);
            black_box(&mut out);
        }),
        None,
    );
    let base = Some((copy, sig));
    report(
        "softmax",
        median_secs(reps, || {
            let _ = nonlin::softmax::softmax(black_box(&x), cols, &mut out);
            black_box(&mut out);
        }),
        base,
    );
    report(
        "log_softmax",
        median_secs(reps, || {
            let _ = nonlin::softmax::log_softmax(black_box(&x), cols, &mut out);
            black_box(&mut out);
        }),
        base,
    );
    report(
        "logsumexp",
        median_secs(reps, || {
            let _ = nonlin::softmax::logsumexp(black_box(&x), cols, &mut lse);
            black_box(&mut lse);
        }),
        base,
    );
    // The same rows shifted by their own logsumexp (each entry rounded to f32), so that
    // every result lies near 0, where `M` and `ln S` cancel: the rows that logsumexp
    // computes in f64 lanes rather than in softmax's f32 pass.
    let _ = nonlin::softmax::logsumexp(&x, cols, &mut lse);
    let centred: Vec<f32> = x
        .chunks(cols)
        .zip(&lse)
        .flat_map(|(row, &l)| row.iter().map(move |&v| v - l))
        .collect();
    report(
        "logsumexp, result near 0",
        median_secs(reps, || {
            let _ = nonlin::softmax::logsumexp(black_box(&centred), cols, &mut lse);
            black_box(&mut lse);
        }),
        base,
    );
    report(
        "cross_entropy mean",
        median_secs(reps, || {
            let l = cross_entropy(black_box(&x), &targets, cols, &opts, Reduction::Mean);
            let _ = black_box(l);
        }),
        base,
    );
    report(
        "cross_entropy_with_grad",
        median_secs(reps, || {
            let l = cross_entropy_with_grad(
                black_box(&x),
                &targets,
                cols,
                &opts,
                Reduction::Mean,
                &mut grad,
            );
            let _ = black_box(l);
            black_box(&mut grad);
        }),
        base,
    );
}
